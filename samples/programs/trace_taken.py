"""Another trace function holds the hook for a while (a profiler, a coverage
tool, a debugger's own), then the saved one is given back. Meanwhile the frames
recorded before it took over go on calling their local trace function (their
f_trace) for their line and return events, as sys.settrace defines it: those
events are recorded. No recorded function is called during the gap (the
sys.monitoring backend would see its call, a trace function would not)."""
import sys


def quiet(frame, event, arg):
    # Traces nothing: the frames it is asked about get no local trace function.
    return None


def inner(n):
    return n * 2


def take():
    # Kept on a function (a function renders as its name): the trace functions
    # of tracetape and of the reference recorder are different objects.
    take.saved = sys.gettrace()
    sys.settrace(quiet)
    size = len("abc")
    return size


def gap_across_frames():
    a = take()
    b = a + 1
    c = sorted([b, a])
    sys.settrace(take.saved)
    d = inner(b)
    return c, d


def gap_in_a_loop(rounds):
    total = 0
    for i in range(rounds):
        take.saved = sys.gettrace()
        sys.settrace(quiet)
        total += max(i, 1)
        sys.settrace(take.saved)
        total += inner(i)
    return total


print(gap_across_frames(), gap_in_a_loop(3))
