"""Generators and coroutines resumed after their locals changed while they were suspended:
a list and an instance mutated by the caller, a cell rebound by a closure, a redacted local,
more suspended generators at once than tracetape keeps the state of, and a generator that
another thread resumes in between (its state kept on the first thread is then stale; the
thread is held by a cell, rendered opaquely, as in threads.py: its __dict__ holds thread ids)."""
# e2e-threads: yes
import threading
import types


def resume_elsewhere(g):
    holder = types.CellType(threading.Thread(target=lambda: print(next(g))))
    holder.cell_contents.start()
    holder.cell_contents.join()


class Box:
    def __init__(self, label):
        self.label = label
        self.items = []


def watcher(shared, box):
    seen = 0
    token = "s3cret-" + box.label
    while True:
        seen += 1
        yield len(shared), len(box.items)
        if seen > 4:
            return seen


def counter():
    count = 0

    def bump():
        nonlocal count
        count += 10

    while count < 30:
        yield bump


def slow_squares(n, tag):
    total = 0
    for i in range(n):
        total += i * i
        yield tag, total


def main():
    shared = [1, 2]
    box = Box("b")
    w = watcher(shared, box)
    print(next(w))
    shared.append(3)            # while suspended: the list grows
    print(next(w))
    box.items.append("x")       # while suspended: an attribute's list grows
    box.label = "renamed"       # and an attribute is rebound
    print(next(w))
    shared[0] = "first"
    print(next(w), next(w, None))

    c = counter()
    for bump in c:
        bump()                  # while suspended: the cell `count` is rebound

    # 80 generators suspended at once, resumed round-robin.
    gens = [slow_squares(3, k) for k in range(80)]
    results = []
    for _ in range(3):
        for g in gens:
            results.append(next(g))
    print(len(results), results[-1])

    # Resumed on the main thread, then on another, then on the main thread again.
    items = ["a"]
    g = watcher(items, Box("t"))
    print(next(g))
    items.append("b")
    resume_elsewhere(g)
    items.append("c")
    print(next(g))


main()
