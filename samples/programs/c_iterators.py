"""Locals holding the iterators of C types (rule 13 of docs/RENDERING.md: opaque,
`<T object>`), among them one whose type CPython has not readied yet: on 3.11
the iterator of code.co_positions() has no MRO until something asks for one."""


def iterators(code):
    lines = code.co_lines()
    positions = code.co_positions() if hasattr(code, "co_positions") else None
    first = next(lines)
    keys = iter({"a": 1, "b": 2})
    pairs = zip("ab", range(2))
    backwards = reversed([1, 2, 3])
    counted = enumerate("xy")
    return first, next(keys), next(pairs), next(backwards), next(counted), positions is None


def main():
    print(iterators(iterators.__code__))
    print(iterators(main.__code__)[0][2] > 0)


main()
