"""Four threads switching the GIL as often as the interpreter allows, in the
middle of calls, lines and returns, and around explicit releases (sleep(0)).

The recorder decides at every event which thread runs (from the GIL's holder
on 3.12+); a wrong decision files an event under another thread's stack.
Each thread's own events are deterministic (no shared state it could
observe), so its sequence is the same whatever the interleaving. Thread
objects are never held in a recorded local (their __dict__ holds thread ids).
"""
# e2e-threads: yes
import sys
import threading
import time
import types

THREADS, RESULTS, READY = 0, 1, 2  # what a box, a cell holding (threads, results, events), holds


def mix(a, b):
    total = a
    for k in range(b):
        total = (total * 31 + k) % 1009
    return total


def descend(depth, seed):
    if depth == 0:
        return mix(seed, 5)
    left = descend(depth - 1, seed + 1)
    if depth % 2 == 0:
        time.sleep(0)  # releases the GIL: another thread may run
    right = descend(depth - 1, left)
    return (left + right) % 997


def worker(index, rounds, box):
    box.cell_contents[READY][index].set()  # started: threads are numbered by their first event
    acc = index
    for r in range(rounds):
        acc = (acc + descend(4, acc + r)) % 10007
    box.cell_contents[RESULTS][index] = acc


def main():
    sys.setswitchinterval(1e-6)
    box = types.CellType(([], [None] * 4, [threading.Event() for _ in range(4)]))
    for i in range(4):
        box.cell_contents[THREADS].append(threading.Thread(target=worker, args=(i, 6 + i, box)))
        box.cell_contents[THREADS][i].start()
        box.cell_contents[READY][i].wait()
    list(map(threading.Thread.join, box.cell_contents[THREADS]))
    results = list(box.cell_contents[RESULTS])
    print(results)


main()
