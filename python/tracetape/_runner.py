"""Runs a program the way the `python` command would, under the recorder."""

from __future__ import annotations

import builtins
import importlib.machinery
import os
import runpy
import sys
import threading
import traceback
import types
import zipfile

from tracetape import _core, _recording
from tracetape.cli import replay_hint


def _exit_status(code) -> int:
    """sys.exit semantics: None is 0, an int is itself, anything else is
    printed and gives 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    try:
        print(code, file=sys.stderr)
    except Exception:
        pass
    return 1


def _join_threads() -> None:
    """What interpreter shutdown does first: wait for non-daemon threads, so
    their events are recorded too. This thread's own calls into threading
    are not the program's: they are not recorded, even with the standard
    library in scope (a signal handler of the program's that runs meanwhile
    is)."""
    _core._quiet_thread()
    me = threading.current_thread()
    for t in threading.enumerate():
        if t is not me and not t.daemon and t.is_alive():
            t.join()


def _print_exception(exc: BaseException) -> None:
    """What the interpreter does with an uncaught exception: sys.excepthook
    (the program may have installed its own), without the runner's frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    try:
        sys.excepthook(type(exc), exc.with_traceback(tb), tb)
    except BaseException:
        try:
            traceback.print_exception(type(exc), exc, tb)
        except Exception:
            pass  # no stderr left to print to (the program closed it)


def _usable(stream) -> bool:
    return stream is not None and not getattr(stream, "closed", False)


def _flush(stream) -> None:
    """Flushes a standard stream as the interpreter does at exit: one that the
    program closed (or set to None) is left alone, a failing one ignored."""
    try:
        if _usable(stream):
            stream.flush()
    except Exception:
        pass


def _say(message: str) -> None:
    """tracetape's own line, on the program's sys.stderr, else (closed,
    failing) on the process's."""
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if _usable(stream):
                print(message, file=stream)
                stream.flush()
                return
        except Exception:
            continue


def _main_of(where: str):
    """The code and module attributes of `python DIR_OR_ZIP`'s __main__.py
    (a zipapp, a directory): found through the path hooks, as the interpreter
    finds it with DIR_OR_ZIP as sys.path[0]; None if there is none."""
    spec = importlib.machinery.PathFinder.find_spec("__main__", [where])
    if spec is None or spec.loader is None:
        return None
    code = spec.loader.get_code("__main__")
    return code, {"__file__": spec.origin, "__cached__": spec.cached, "__loader__": spec.loader,
                  "__package__": "", "__spec__": spec}


def _launcher_files() -> list:
    """The files of the frames below the runner that are not tracetape's: the
    console script (`bin/tracetape`) or a wrapper that called the CLI. They
    are not the program: never recorded (else their frame would sit at depth
    1 under every recorded frame)."""
    package = os.path.dirname(os.path.abspath(_recording.__file__)) + os.sep
    files = []
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(package) and os.path.isfile(name) and name not in files:
            files.append(name)
        frame = frame.f_back
    return files


def _interrupted() -> KeyboardInterrupt:
    """What record_program raises after the program ended by an uncaught
    KeyboardInterrupt (its traceback printed, its tape finished): out of the
    entry point, the interpreter then shuts down as after any uncaught
    KeyboardInterrupt (threads joined, atexit handlers run, files closed) and
    ends the process by SIGINT, so that a parent (a shell) sees it killed by
    the signal. An exact KeyboardInterrupt (CPython checks the type, not a
    subclass); sys.excepthook is wrapped to print nothing more for it."""
    e = KeyboardInterrupt()
    e.tracetape_reported = True
    hook = sys.excepthook

    def excepthook(kind, value, tb):
        if getattr(value, "tracetape_reported", False):
            return
        hook(kind, value, tb)

    sys.excepthook = excepthook
    return e


def _fresh_main():
    """A `__main__` module as the interpreter makes it at start-up, before it
    runs a script, `-c` or `-m` in it: the same names in the same order
    (`__annotations__` an empty dict, `__builtins__` the module); the caller
    adds the loader and `__file__` of what it runs."""
    main = types.ModuleType("__main__")
    if sys.version_info < (3, 14):
        main.__dict__["__annotations__"] = {}
    main.__dict__["__builtins__"] = builtins
    return main


def record_program(opts, target, prog_args) -> int:
    kind, what = target
    launcher = _launcher_files()
    pseudo = []
    main_attrs = {}
    if kind == "script" and (os.path.isdir(what) or zipfile.is_zipfile(what)):
        # A directory or zip archive with a __main__.py (a zipapp), run as
        # python runs it: itself as sys.path[0], its __main__ as the program.
        path0 = os.path.abspath(what)
        try:
            found = _main_of(path0)
        except (SyntaxError, ValueError) as e:
            traceback.print_exception(type(e), e, None)
            return 1
        except (ImportError, OSError) as e:
            print(f"tracetape record: error: cannot read {what!r}: {e}", file=sys.stderr)
            return 2
        if found is None:
            print(f"tracetape record: error: can't find '__main__' module in {what!r}", file=sys.stderr)
            return 1
        code, main_attrs = found
        argv = [what] + prog_args
        stem = os.path.splitext(os.path.basename(path0))[0]
    elif kind == "script":
        script = os.path.abspath(what)
        main_attrs = {"__file__": script, "__cached__": None,
                      "__loader__": importlib.machinery.SourceFileLoader("__main__", script)}
        try:
            with open(script, "rb") as f:
                source = f.read()
        except OSError as e:
            print(f"tracetape record: error: cannot open {what!r}: {e.strerror}", file=sys.stderr)
            return 2
        try:
            code = compile(source, script, "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as e:
            traceback.print_exception(type(e), e, None)
            return 1
        argv = [what] + prog_args
        stem = os.path.splitext(os.path.basename(what))[0]
        # As `python` does: __file__ keeps the path given (a symlink stays a
        # symlink), sys.path[0] is the directory of the file it resolves to.
        path0 = os.path.dirname(os.path.realpath(script))
    elif kind == "module":
        argv = [what] + prog_args  # runpy replaces argv[0] with the module's file
        stem = what.rsplit(".", 1)[-1]
        path0 = os.getcwd()
    else:
        code = compile(what, "<string>", "exec", dont_inherit=True)
        main_attrs = {"__loader__": importlib.machinery.BuiltinImporter}
        pseudo = [("<string>", what)]
        argv = ["-c"] + prog_args
        stem = "c"
        path0 = ""

    path = opts["output"] or _recording.default_tape_path(stem)
    sys.argv = argv
    sys.path[0:1] = [path0] if sys.path else [path0]
    try:
        _recording.start(
            path,
            include=opts["include"],
            exclude=opts["exclude"],
            locals=opts["locals"],
            redact=opts["redact"],
            source=opts["source"],
            ring_mb=opts["ring"],
            pseudo_files=pseudo,
            argv=argv,
            never_record=launcher,
        )
    except (ValueError, OSError) as e:
        print(f"tracetape record: error: {e}", file=sys.stderr)
        return 2

    status = 0
    pending = None
    not_run = False
    try:
        if kind == "module":
            # What `python -m` runs (the same traceback frames, the same
            # "No module named X" exit), in a fresh __main__.
            main = _fresh_main()
            sys.modules["__main__"] = main
            run_as_main = getattr(runpy, "_run_module_as_main", None)
            if run_as_main is not None:
                run_as_main(what, alter_argv=True)
            else:
                runpy.run_module(what, run_name="__main__", alter_sys=True)
        else:
            main = _fresh_main()
            main.__dict__.update(main_attrs)
            sys.modules["__main__"] = main
            exec(code, main.__dict__)
        _join_threads()
    except SystemExit as e:
        _join_threads()
        status = _exit_status(e.code)
        # runpy's own refusal (`No module named X`, a package without
        # __main__): no program ran, nothing to say about the scope.
        not_run = kind == "module" and isinstance(e.code, str) and e.code.startswith(f"{sys.executable}: ")
    except BaseException as e:  # the program's uncaught exception
        pending = e
        status = 130 if isinstance(e, KeyboardInterrupt) else 1
        # What the interpreter does with it: print it, then wait for the
        # program's threads, which run on and are recorded to their end (a
        # second Ctrl-C stops the wait, as it stops the interpreter's).
        _core._quiet_thread()
        _flush(sys.stdout)
        _print_exception(e)
        try:
            _join_threads()
        except KeyboardInterrupt:
            pass
    finally:
        try:
            written = _recording.stop(status)
            err = None
        except OSError as e:
            written, err = path, e
    _flush(sys.stdout)
    if err is not None:
        _say(f"tracetape: error: the tape {written} is incomplete: {err}")
    else:
        _say(f"tracetape: recorded to {written}; replay it with: {replay_hint(written)}")
        if _recording.last_event_count() == 0 and not _recording.hook_was_taken() and not not_run:
            _say(f"tracetape: warning: the tape holds no events: {_recording.out_of_scope_note(opts['include'])}")
    if isinstance(pending, KeyboardInterrupt):
        _flush(sys.stdout)
        _flush(sys.stderr)
        raise _interrupted()
    return status
