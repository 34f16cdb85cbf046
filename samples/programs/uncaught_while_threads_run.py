"""The main module ends with an uncaught exception while a thread it started
still runs: the interpreter prints the traceback, then waits for the thread
(non-daemon), whose events are the program's to the end."""
# e2e-exit: 1

import threading
import time


def worker(rounds):
    time.sleep(0.2)  # the main module has raised by now
    total = 0
    for i in range(rounds):
        total += i * i
    print("worker done", total, flush=True)
    return total


def start():
    # Not bound to a local: a Thread renders its ident, another at each run.
    threading.Thread(target=worker, args=(12,), name="worker").start()


start()
raise RuntimeError("the main module fails while its worker runs")
