"""Values past the rendering bounds: long strings, big ints, many items, deep, wide."""


def strings():
    short = "s" * 200
    long = "L" * 250
    long_bytes = bytes(range(256))
    unicode_text = "é" * 150 + "中" * 100
    quotes = "it's \"quoted\"\n\ttab" * 3
    escaped = "\x00\x7f\u200b\U0001f600" * 60
    return len(short) + len(long) + len(long_bytes) + len(unicode_text) + len(quotes) + len(escaped)


def numbers():
    big = 2 ** 3999
    bigger = 2 ** 4000
    negative = -(2 ** 5000)
    just_below = -(2 ** 3999) + 1
    fraction = 1 / 3
    special = [float("inf"), float("-inf"), float("nan"), -0.0, 1e300, 1e-300]
    complex_value = complex(1.5, -2)
    return big.bit_length() + bigger.bit_length() + negative.bit_length() + len(special)


def items():
    thirty = list(range(30))
    thirty_one = list(range(31))
    many = list(range(100))
    tuple_many = tuple(range(40))
    dict_many = {"key%02d" % k: k for k in range(35)}
    set_many = set(range(50))
    frozen_many = frozenset(range(45))
    return len(thirty) + len(thirty_one) + len(many) + len(tuple_many) + len(dict_many) + len(set_many) + len(frozen_many)


def totals():
    wide = ["w%03d" % k + "-" * 40 for k in range(30)]
    wide_unicode = ["中文字符" * 10 for _ in range(12)]
    wide_accents = ["ée" * 30 for _ in range(20)]
    grid = [[[[k] * 30] * 30] * 30 for k in range(30)]
    deep_wide = {"level%d" % k: [[["x" * 50] * 5] * 5] * 5 for k in range(5)}
    return len(wide) + len(wide_unicode) + len(wide_accents) + len(grid) + len(deep_wide)


def int_kinds():
    # One local rebound across int sizes and other kinds. An int of one digit
    # (a word for the recorder) is compared and sent as its word, any other
    # value as its text; a change between the two is still a change, and an
    # equal value in another object is not.
    big = 2 ** 40
    x = 5
    x = big
    x = big + 0
    x = 5
    x = big
    x = True
    x = -3
    x = 5.0
    x = -(2 ** 30) + 1
    x = -(2 ** 30)
    x = 2 ** 64
    x = 0
    y = x
    del x
    x = -1
    return y + x


def main():
    print(strings(), numbers(), items(), totals(), int_kinds())


main()
