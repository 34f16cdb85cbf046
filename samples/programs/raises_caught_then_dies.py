"""An exception raised in a callee and caught by its caller, then one that ends the run
(exit status 1): where exceptions were raised, not where they unwind (the replay's catch,
the DAP adapter's exception filters)."""
# e2e-exit: 1


def parse(s):
    return int(s)


def main():
    out = []
    for s in ["1", "x", "3"]:
        try:
            out.append(parse(s))
        except ValueError:
            out.append(None)
    raise KeyError("done")


main()
