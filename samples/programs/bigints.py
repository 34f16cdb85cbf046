"""Ints past a machine word, rendered as int.__repr__ gives them (up to 4000 bits; the text is
then cut at max_total like any other): powers of ten and their neighbours (where a base-10**9
chunk fills up or gains a leading zero), both signs, int subclasses, and random sizes."""

import enum
import random


class Big(enum.IntEnum):
    HUGE = 10 ** 30


def edges():
    values = [2 ** 63, -(2 ** 63) - 1, 2 ** 64, -(2 ** 64), 2 ** 64 - 1, 10 ** 18, 10 ** 19]
    for k in (9, 18, 19, 27, 36, 45, 90, 300, 1000):
        values += [10 ** k, 10 ** k - 1, 10 ** k + 1, -(10 ** k), 10 ** k * 7 + 10 ** (k // 2)]
    values += [2 ** 3999, -(2 ** 3999) + 1, 2 ** 3999 + 10 ** 500, Big.HUGE]
    for n in values:  # each value is a local at one line event
        pass
    return len(values)


def sizes(count):
    rng = random.Random(42)
    for _ in range(count):
        n = rng.getrandbits(rng.randint(64, 4000)) * rng.choice((1, -1))
    return count


print(edges(), sizes(300))
