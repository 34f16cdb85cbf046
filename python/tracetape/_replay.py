"""Replay from Python: ``tracetape.open(path)`` and the interactive prompt."""

from __future__ import annotations

import numbers
import os
import sys
import warnings
from typing import Dict, List, Optional, Tuple, Union

from tracetape import _core


class Tape:
    """A tape opened for replay. ``len(tape)`` is its number of events.

    The cursor starts at event 0 and moves with the methods below; each move
    returns True if it moved and False at either end of the tape.
    """

    def __init__(self, path: str):
        self.path = os.fspath(path)
        self._engine = _core.Engine(self.path)

    def __len__(self) -> int:
        return len(self._engine)

    def __repr__(self) -> str:
        return f"<tracetape.Tape {self.path!r} events={len(self)} at={self.position}>"

    # -- what the tape is ----------------------------------------------------
    @property
    def complete(self) -> bool:
        """False when the recording did not end cleanly (see ``tail_status``)."""
        return self._engine.complete

    @property
    def tail_status(self) -> str:
        return self._engine.tail_status

    @property
    def header(self) -> dict:
        return self._engine.header

    def source(self, file: str) -> Optional[List[str]]:
        """The embedded source lines of a recorded file."""
        return self._engine.source(file)

    # -- where the cursor is -------------------------------------------------
    @property
    def position(self) -> int:
        return self._engine.position

    def state(self) -> dict:
        """The event under the cursor: index, thread, kind, value, changed
        names and the stack (outermost first), each frame with its locals."""
        return self._engine.state()

    @property
    def frame(self) -> dict:
        return self.state()["stack"][-1]

    @property
    def locals(self) -> Dict[str, str]:
        return self.frame["locals"]

    @property
    def line(self) -> int:
        return self.frame["line"]

    @property
    def kind(self) -> str:
        return self.state()["kind"]

    def eval(self, expression: str, up: int = 0) -> str:
        """Evaluates an expression over captured values (``accounts['ann'].balance``)."""
        return self._engine.eval(expression, up)

    # -- moving --------------------------------------------------------------
    def goto(self, where: Union[int, str]) -> None:
        """Moves to an event number, 'start', 'end' or 'exception'."""
        if where == "start":
            where = 0
        elif where == "end":
            where = len(self) - 1
        elif where == "exception":
            event = self._engine.exception_event()
            if event is None:
                raise LookupError("no exception was recorded")
            where = event
        elif (isinstance(where, (str, bool)) or not isinstance(where, numbers.Integral)
              or not 0 <= int(where) < len(self)):
            raise ValueError(f"goto wants an event number from 0 to {len(self) - 1}, 'start', 'end' or "
                             f"'exception', not {where!r}")
        self._engine.goto(int(where))

    # As the prompt's (pdb's): step stops at every event of the thread, a
    # return included (pdb's ``--Return--``). next, finish and their reverse
    # twins act on the frame ``up`` levels above the event's own (pdb's
    # ``up``): next stops at its lines, exceptions and end (its return going
    # forward, its call going back), or once it has ended, its callers'.
    # ``frame_ends=False``: an IDE's steps (the dap command's), which stop
    # at no return, nor at next's frame's call going back.
    def step(self, *, frame_ends: bool = True) -> bool:
        return self._engine.step(True, frame_ends=frame_ends)

    def step_back(self, *, frame_ends: bool = True) -> bool:
        return self._engine.step(False, frame_ends=frame_ends)

    def next(self, up: int = 0, *, frame_ends: bool = True) -> bool:
        return self._engine.next(True, up, frame_ends=frame_ends)

    def next_back(self, up: int = 0, *, frame_ends: bool = True) -> bool:
        return self._engine.next(False, up, frame_ends=frame_ends)

    def finish(self, up: int = 0) -> bool:
        return self._engine.finish(True, up)

    def finish_back(self, up: int = 0) -> bool:
        return self._engine.finish(False, up)

    def cont(self) -> str:
        """Runs to the next breakpoint or watch hit; returns what stopped it."""
        return self._engine.cont(True)

    def cont_back(self) -> str:
        return self._engine.cont(False)

    # -- breakpoints and watches ---------------------------------------------
    def breakpoint(self, spec: str, condition: str = "", temporary: bool = False) -> int:
        """``file.py:LINE``, ``LINE`` or a function name; returns its number.
        A breakpoint nothing on the tape can reach warns (RuntimeWarning)."""
        number = self._engine.add_breakpoint(spec, condition, temporary)
        note = self._engine.breakpoint_note(number)
        if note:
            warnings.warn(f"breakpoint {number} at {spec}: {note}", RuntimeWarning, stacklevel=2)
        return number

    def clear(self, number: int) -> None:
        self._engine.clear_breakpoint(number)

    def watch(self, name: str, up: int = 0) -> int:
        return self._engine.add_watch(name, up)

    def unwatch(self, number: int) -> None:
        self._engine.clear_watch(number)

    def catch(self, raised: bool = True, uncaught: bool = False) -> None:
        """Makes cont() and cont_back() also stop where an exception was raised:
        every one (``raised``; not again as it unwinds, nor the iteration
        protocol's StopIteration), or the one that ended the run (``uncaught``).
        ``catch(False)`` stops catching."""
        self._engine.set_exception_stops(raised, uncaught)

    def when(self, name: str, up: int = 0) -> List[Tuple[int, str]]:
        """The events of the current frame (or the one ``up`` levels above it)
        where ``name`` changed, with its new value; first, for a frame that
        began before the recording, the value it held when first seen."""
        return self._engine.when(name, up)


def open(path: str) -> Tape:  # noqa: A001 - the documented API name
    """Opens a tape for replay. Raises FileNotFoundError, or ValueError for a
    file that is not a readable tape."""
    return Tape(path)


def interactive(path: str, goto: Optional[str]) -> int:
    """The `tracetape replay` prompt, with line editing and history."""
    try:
        session = _core.ReplaySession(path)
    except (ValueError, OSError) as e:
        print(f"tracetape: error: {e}", file=sys.stderr)
        return 1
    if not session.complete:
        print(f"tracetape: warning: incomplete tape ({session.tail_status}); replaying what was recorded",
              file=sys.stderr)
    try:
        import readline  # noqa: F401 - line editing and history for input()

        history = os.path.join(os.path.expanduser("~"), ".tracetape_history")
        try:
            readline.read_history_file(history)
        except OSError:
            pass
        import atexit

        atexit.register(lambda: _save_history(readline, history))
    except ImportError:
        pass
    if goto:
        text, ok = session.goto(goto)
        sys.stdout.write(text)
        if not ok:
            return 2
    else:
        sys.stdout.write(session.start())
    while True:
        try:
            line = input(session.prompt())
        except EOFError:
            print()
            return 0
        except KeyboardInterrupt:
            print()
            continue
        text, go_on = session.execute(line)
        sys.stdout.write(text)
        if not go_on:
            return 0


def _save_history(readline, path: str) -> None:
    try:
        readline.set_history_length(1000)
        readline.write_history_file(path)
    except OSError:
        pass
