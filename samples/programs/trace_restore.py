"""Code that saves the trace function and gives it back, as doctest's runner, pdb
and debuggers do (`saved = sys.gettrace()` ... `sys.settrace(saved)`), in the
middle of a recorded run. The recording must go on after the restore, with the
events of the frames that were running then: with a C trace function, that
restore installs CPython's Python-level trampoline in its place."""
import doctest
import sys


def double(x):
    """
    >>> double(2)
    4
    >>> [double(i) for i in range(3)]
    [0, 2, 4]
    """
    return x * 2


def given_back_at_once():
    # (Never bound to a local: the reference's trace function is not tracetape's.)
    sys.settrace(sys.gettrace())
    # The next events of this frame come through the trampoline first.
    total = 10
    total += 1
    return total


def given_back_deeper(n):
    if n == 0:
        sys.settrace(sys.gettrace())
        return 0
    below = given_back_deeper(n - 1)
    # The callers' frames go on after the restore, down the stack.
    return below + n


def doctests():
    # DocTestRunner.run saves sys.gettrace() and restores it when it is done.
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(verbose=False)
    for test in finder.find(double, "double", globs={"double": double}):
        runner.run(test, out=lambda text: None)
    failed, tried = runner.failures, runner.tries
    after = double(failed + tried)
    return failed, tried, after


def restores_in_a_loop(rounds):
    seen = []
    for i in range(rounds):
        sys.settrace(sys.gettrace())
        seen.append(double(i))
    return seen


def main():
    a = given_back_at_once()
    b = given_back_deeper(3)
    c = doctests()
    d = restores_in_a_loop(3)
    print(a, b, c, d)


main()
