"""Three threads doing deterministic work, started and joined by the main thread.

The workers share no state that any of them could observe while the others run: each
writes only its own item of a list held in a cell (rendered opaquely), so
every thread's own events are the same whatever the interleaving. Thread objects are
never held in a recorded local (their __dict__ holds thread ids).
"""
# e2e-threads: yes
import threading
import types

THREADS, RESULTS = 0, 1  # what a box, a cell holding (threads, results), holds


def collatz_steps(n):
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def work(index, limit):
    best = (0, 0)
    for start in range(1, limit):
        steps = collatz_steps(start + index)
        if steps > best[0]:
            best = (steps, start + index)
    return best


def worker(index, limit, box):
    result = work(index, limit)
    box.cell_contents[RESULTS][index] = result


def main():
    box = types.CellType(([], [None] * 3))
    box.cell_contents[THREADS].extend([threading.Thread(target=worker, args=(i, 12 + 3 * i, box))
                                       for i in range(3)])
    list(map(threading.Thread.start, box.cell_contents[THREADS]))
    list(map(threading.Thread.join, box.cell_contents[THREADS]))
    results = list(box.cell_contents[RESULTS])
    print(results)


main()
