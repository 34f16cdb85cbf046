"""Floats and complex numbers, rendered as float.__repr__ and complex.__repr__ give them: the
shortest digits that read back as the value, in fixed or exponent form by CPython's rule
(exponent below 1e-4 and from 1e16), ".0" on integral floats (not on a complex's parts).
Where the two forms meet, the extremes, signed zeros, NaN and infinities, and random bit
patterns."""

import random
import struct


def edges():
    values = [0.0, -0.0, 0.1, 0.2, 0.1 + 0.2, 1 / 3, 2 / 3, 100.0, 2.675, 4.35, 123.456,
              1e15, 9999999999999998.0, 1e16, 1234567890123456.0, 12345678901234567.0,
              9007199254740993.0, 1e21, 1e22, 1e23, 1e100, -1e300,
              1e-4, 0.0001, 9.999e-5, 1e-5, 0.00001, 1e-7, 1e-100,
              5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308,
              1.7976931348623157e308, float("inf"), float("-inf"), float("nan")]
    for exponent in range(-325, 310, 7):
        for mantissa in ("1", "9.999999999999999", "5", "1.5", "2.5"):
            values.append(float(mantissa + "e" + str(exponent)))
    for x in values:  # each value is a local at one line event
        pass
    return len(values)


def bit_patterns(n):
    rng = random.Random(20261205)
    for _ in range(n):
        x = struct.unpack("<d", struct.pack("<Q", rng.getrandbits(64)))[0]
        y = rng.uniform(-1e6, 1e6)
        z = round(rng.uniform(0, 1000), rng.randint(0, 6))
    return n


def complexes(n):
    nan, inf = float("nan"), float("inf")
    values = [2j, -2j, 0j, -0j, complex(0.0, -0.0), complex(-0.0, 0.0), complex(-0.0, -0.0),
              complex(1.5, -2), complex(1, 1), complex(100.0, 0.5), complex(1e16, 1e-5),
              complex(-1e-300, 1e300), complex(nan, 1), complex(1, nan), complex(-nan, -nan),
              complex(-inf, inf), complex(1, -inf), complex(0.0, inf), complex(5e-324, -5e-324)]
    rng = random.Random(5)
    for _ in range(n):
        values.append(complex(*struct.unpack("<dd", struct.pack("<QQ", rng.getrandbits(64),
                                                                   rng.getrandbits(64)))))
        values.append(complex(rng.uniform(-10, 10), round(rng.uniform(-10, 10), rng.randint(0, 3))))
    for c in values:  # each value is a local at one line event
        pass
    return len(values)


print(edges(), bit_patterns(400), complexes(200))
