"""A worker thread dies of an uncaught exception; the main thread goes on, catches an
exception of its own and ends normally (exit status 0). No exception ended the run, so
`goto exception` in the replayer is where the last one, the main thread's, was raised.

The threads share no state, and the thread object lives only in a cell (rendered
opaquely, `<cell object>`): its __dict__ holds thread ids."""
# e2e-threads: yes
import threading
import types

Box = types.CellType  # an opaque box: a cell


def worker(label):
    message = label + " failed"
    raise RuntimeError(message)  # replay-marker: worker-raise


def run_worker(label):
    box = Box()
    box.cell_contents = threading.Thread(target=worker, args=(label,))
    box.cell_contents.start()
    box.cell_contents.join()


def parse(text):
    return int(text)  # replay-marker: parse-raise


def main():
    # A builtin as the hook: the dead thread's traceback is not printed, and the hook's
    # argument (which holds the thread) is never a recorded local.
    threading.excepthook = bool
    run_worker("worker")
    try:
        parse("twelve")
    except ValueError as exc:
        print("main caught:", exc)
    print("done")


main()
