"""A function with many locals, and every kind of parameter."""


def many(seed):
    v00 = seed
    v01 = v00 + 1
    v02 = v01 * 2
    v03 = v02 - 3
    v04 = str(v03)
    v05 = [v00, v01]
    v06 = {"a": v02}
    v07 = (v03,)
    v08 = v04 * 2
    v09 = v05 + [v06]
    v10 = len(v09)
    v11 = v10 ** 2
    v12 = v11 % 7
    v13 = float(v12)
    v14 = v13 / 4
    v15 = None
    v16 = True
    v17 = not v16
    v18 = b"bytes"
    v19 = v18.upper()
    v20 = {v00, v01, v02}
    v21 = frozenset(v20)
    v22 = sorted(v21)
    v23 = v22[::-1]
    v24 = sum(v23)
    v25 = v24 // 3
    v26 = divmod(v25, 4)
    v27 = max(v26)
    v28 = min(v26)
    v29 = v27 - v28
    v30 = [v29] * 3
    v31 = dict(enumerate(v30))
    v32 = list(v31)
    v33 = "-".join(map(str, v32))
    v34 = v33.split("-")
    v35 = len(v34)
    v36 = v35 * v00
    v37 = (v36, v35, v34)
    v38 = {"nested": v37}
    v39 = v38["nested"][0]
    return v39


def params(a, b=2, *rest, c, d=4, **extra):
    a += 1
    rest = rest + (a,)
    extra["seen"] = True
    local_only = a + b + c + d
    return local_only, rest, extra


def positional_only(x, y, /, z=3):
    x, y = y, x
    return x - y + z


def main():
    print(many(3))
    print(params(1, 2, 5, 6, c=3, e=9))
    print(params(0, c=1))
    print(positional_only(10, 20))


main()
