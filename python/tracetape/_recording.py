"""The recording front end: options, scope, process hooks around the C++ core."""

from __future__ import annotations

import atexit
import glob
import os
import platform
import site
import sys
import sysconfig
import threading
import time
from typing import Iterable, Optional, Sequence, Tuple

from tracetape import _core

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_backend = None  # the running (or last) recording's hook backend
_hook_was_taken = False  # see hook_was_taken()
_GLOB_CHARS = set("*?[")


def _loader_source(path: str) -> Optional[str]:
    """The source of a recorded file that is not on disk as such: a module
    imported from a zip archive (a zipapp, an egg), whose text its
    zipimporter holds. The recorder calls this once per such file (see
    _core.set_source_finder). Only the standard library's zipimporter is
    asked, and modules are read without attribute lookups: no program code
    runs."""
    import types
    import zipimport

    for module in list(sys.modules.values()):
        if not isinstance(module, types.ModuleType):
            continue
        attrs = object.__getattribute__(module, "__dict__")
        loader = attrs.get("__loader__")
        if attrs.get("__file__") == path and type(loader) is zipimport.zipimporter:
            try:
                text = loader.get_source(attrs.get("__name__"))
            except Exception:
                return None
            return text if isinstance(text, str) else None
    return None


_core.set_source_finder(_loader_source)
_fork_hook_installed = False
_saved = {}
_release_at_exit = False  # stop(keep_hook=True) registered release_hook with atexit
_BACKENDS = ("auto", "settrace", "monitoring")


def resolve_backend(backend: Optional[str] = None) -> str:
    """The hook backend to use: ``settrace`` (a C trace function) or
    ``monitoring`` (sys.monitoring, CPython 3.12+). ``auto`` (the default, or
    the TRACETAPE_BACKEND environment variable) picks ``monitoring`` where it
    exists."""
    what = "backend"
    if backend is None:
        backend = os.environ.get("TRACETAPE_BACKEND", "") or "auto"
        what = "TRACETAPE_BACKEND"
    if backend not in _BACKENDS:
        raise ValueError(f"{what} must be one of {', '.join(_BACKENDS)}, not {backend!r}")
    has_monitoring = hasattr(sys, "monitoring")
    if backend == "auto":
        return "monitoring" if has_monitoring else "settrace"
    if backend == "monitoring" and not has_monitoring:
        raise ValueError(f"{what}: the monitoring backend needs CPython 3.12 or later "
                         f"(this is {platform.python_version()})")
    return backend


def default_tape_path(stem: Optional[str] = None) -> str:
    """``<script-stem>.<pid>.tape`` in the current directory."""
    if stem is None:
        argv0 = sys.argv[0] if sys.argv and sys.argv[0] not in ("", "-c", "-m") else "python"
        stem = os.path.splitext(os.path.basename(argv0))[0] or "python"
    return os.path.abspath(f"{stem}.{os.getpid()}.tape")


_exclude_dirs_cache: dict = {}


def _default_exclude_dirs() -> list:
    """The directories left out by default: the standard library's, the
    installed packages' and tracetape's own. Worked out once per prefix (a
    quarter of a millisecond each time: ``pytest --tape`` starts a recording
    per test)."""
    key = (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, site.ENABLE_USER_SITE,
           os.environ.get("PYTHONUSERBASE"), os.environ.get("HOME"))
    cached = _exclude_dirs_cache.get(key)
    if cached is None:
        cached = _exclude_dirs_cache[key] = _find_default_exclude_dirs()
    return list(cached)


def _find_default_exclude_dirs() -> list:
    dirs = set()
    paths = sysconfig.get_paths()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(key):
            dirs.add(paths[key])
    try:
        dirs.update(site.getsitepackages())
    except AttributeError:  # virtualenv's old site.py
        pass
    try:
        dirs.add(site.getusersitepackages())
    except AttributeError:
        pass
    dirs.add(_PACKAGE_DIR)
    out = set()
    for d in dirs:
        out.add(os.path.abspath(d))
        out.add(os.path.realpath(d))
    return sorted(out)


def _normalize_globs(patterns: Iterable[str]) -> list:
    """Relative patterns are taken from the current directory; a plain directory
    name means every file below it."""
    out = []
    for p in patterns:
        if not p:
            raise ValueError("empty --include/--exclude pattern")
        expanded = os.path.expanduser(p)
        if not expanded.startswith(("/", "*")):
            expanded = os.path.join(os.getcwd(), expanded)
        if expanded.startswith("/"):
            # `.`, `..` and doubled slashes out (`--include .` is the current
            # directory): code objects name their files without them.
            expanded = os.path.normpath(expanded)
        if not (set(expanded) & _GLOB_CHARS) and os.path.isdir(expanded):
            expanded = expanded.rstrip("/") + "/*"
        out.append(expanded)
    return out


def start(
    path: Optional[str] = None,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    locals: str = "all",
    redact: Sequence[str] = (),
    source: bool = True,
    ring_mb: float = 32,
    pseudo_files: Sequence[Tuple[str, str]] = (),
    argv: Optional[Sequence[str]] = None,
    metadata: Optional[dict] = None,
    backend: Optional[str] = None,
    never_record: Sequence[str] = (),
) -> str:
    """Start recording this process into ``path`` (default ``<script>.<pid>.tape``).

    ``never_record``: files (exact paths) left out whatever the globs say, as
    tracetape's own code is: the launcher of ``tracetape record`` (a console
    script), which is not the program.

    ``backend`` is ``auto`` (default), ``settrace`` or ``monitoring``; see
    :func:`resolve_backend`.

    Returns the tape's absolute path. Raises ValueError for bad options and
    OSError if the tape cannot be created.
    """
    global _fork_hook_installed
    if _core.is_recording():
        raise ValueError(f"a recording is already running (to {_core.recording_path()})")
    if locals not in ("all", "args", "none"):
        raise ValueError(f"locals must be 'all', 'args' or 'none', not {locals!r}")
    backend = resolve_backend(backend)
    path = os.path.abspath(path) if path else default_tape_path()
    include = _normalize_globs(include)
    # tracetape's own code is never recorded, whatever the globs say.
    user_exclude = _normalize_globs(exclude)
    exclude = user_exclude + [_PACKAGE_DIR + "/*"] + [glob.escape(os.path.abspath(f)) for f in never_record]
    options = [
        ("include", ",".join(include)),
        ("exclude", ",".join(user_exclude)),
        ("locals", locals),
        ("redact", ",".join(redact)),
        ("source", "yes" if source else "no"),
        ("ring_mb", f"{ring_mb:g}"),
    ] + [(str(k), str(v)) for k, v in (metadata or {}).items()]
    metadata = [
        ("writer_version", "tracetape " + _version()),
        ("python_version", sys.version),
        ("python_implementation", sys.implementation.name),
        ("platform", f"{sys.platform} {platform.machine()}"),
        ("executable", sys.executable or ""),
        ("cwd", os.getcwd()),
        ("start_time_ns", str(time.time_ns())),
        ("pid", str(os.getpid())),
        ("hook_backend", backend),
    ]
    global _backend
    _backend = backend
    previous = sys.gettrace() if backend == "settrace" else None
    if previous is not None:
        print(
            f"tracetape: warning: replacing the active trace function {previous!r}",
            file=sys.stderr,
        )
    _core.start(
        path=path,
        include=include,
        exclude=exclude,
        default_exclude_dirs=_default_exclude_dirs(),
        pseudo_files=list(pseudo_files),
        locals=locals,
        redact=list(redact),
        embed_source=source,
        ring_mb=float(ring_mb),
        metadata=metadata,
        argv=list(sys.argv if argv is None else argv),
        options=options,
        thread_registry=threading._active,  # ident -> Thread, to name threads
    )
    if backend == "settrace":
        # New threads install the C hook from their bootstrap (sys.monitoring
        # covers every thread by itself).
        _set_thread_hook(_core._thread_trace)
    if not _fork_hook_installed and hasattr(os, "register_at_fork"):
        os.register_at_fork(
            before=_core._before_fork,
            after_in_parent=_core._after_fork_parent,
            after_in_child=_core._after_fork_child,
        )
        _fork_hook_installed = True
    _install_exit_guards()
    return path


def _set_thread_hook(func) -> None:
    """threading.settrace(func) without calling threading.py's code, which a
    recording that has the standard library in scope would record as the
    program's (on 3.10 to 3.13 it only sets this global)."""
    if hasattr(threading, "_trace_hook"):
        threading._trace_hook = func
    else:
        threading.settrace(func)


def stop(exit_status: int = 0, *, discard: bool = False, keep_hook: bool = False) -> Optional[str]:
    """Stop recording, finish the tape and return its path (None if idle).

    Raises OSError if the tape could not be written completely.

    ``discard=True``: the tape is not wanted after all (``pytest --tape``'s
    passing test): it is removed instead of finished, without compressing or
    syncing what is left, and no error is raised; the path is returned all
    the same.

    ``keep_hook=True``: another recording with the same options follows soon
    (``pytest --tape``'s next test). With the ``sys.monitoring`` backend
    (3.12+) the hook then stays installed, idle, so that the next
    :func:`start` with the same scope takes it back as it is;
    installing it again made CPython re-instrument every function the program
    ran next. Meanwhile the idle hook is still called: at each line of the
    functions an earlier recording recorded, at each start of a function no
    recording has seen yet, and at each exception raised. It goes at
    :func:`release_hook`, at a recording with another scope or backend, or
    that switches between ``locals="none"`` and capturing locals, and at exit.
    """
    global _release_at_exit
    global _hook_was_taken
    if not _core.is_recording():
        return None
    handle = _core._trace_handle()
    _hook_was_taken = (handle is not None and _backend == "settrace" and sys.gettrace() is not handle
                       and not _core._thread_paused())
    _set_thread_hook(None)
    if keep_hook and not _release_at_exit:
        atexit.register(_core.release_hook)
        _release_at_exit = True
    try:
        return _core.stop(exit_status, discard, keep_hook)
    finally:
        # After: a SIGTERM while the tape is being finished waits for it.
        _remove_exit_guards()


def release_hook() -> None:
    """Remove the idle hook that ``stop(keep_hook=True)`` left (no-op while
    recording, or if there is none)."""
    _core.release_hook()


def hook_was_taken() -> bool:
    """True if, when the last recording stopped, another trace function held
    the hook (settrace backend): the program's calls since were not recorded."""
    return _hook_was_taken


def is_recording() -> bool:
    return _core.is_recording()


def recording_path() -> Optional[str]:
    """The tape the running recording writes (None if idle)."""
    return _core.recording_path() if _core.is_recording() else None


def last_event_count() -> int:
    """The events the tape of the last :func:`stop` holds."""
    return _core.last_event_count()


def out_of_scope_note(include: Sequence[str] = ()) -> str:
    """Why a tape can hold no events, and what to do about it."""
    if include:
        return "no code that ran matched --include"
    return ("all the code that ran is out of the default scope (the standard library, "
            "site-packages and tracetape are left out); --include GLOB records it")


class record:
    """Context manager: ``with tracetape.record("out.tape", include=[...]):``.

    Takes the keyword arguments of :func:`start`. ``path`` is the tape's path
    once entered.
    """

    def __init__(self, path: Optional[str] = None, **options):
        self._requested = path
        self._options = options
        self.path: Optional[str] = None

    def __enter__(self) -> "record":
        self.path = start(self._requested, **self._options)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        stop(1 if exc_type is not None else 0)


def _version() -> str:
    from tracetape import __version__

    return __version__


# -- process exits that would otherwise lose the end of the tape --------------

def _atexit_stop() -> None:
    if _core.is_recording():
        stop(0)


def _install_exit_guards() -> None:
    atexit.register(_atexit_stop)
    real_exit = os._exit

    def _exit_after_stop(status):
        try:
            stop(status if isinstance(status, int) else 1)
        finally:
            real_exit(status)

    _saved["os._exit"] = real_exit
    os._exit = _exit_after_stop
    # SIGTERM with the default action would kill the process before the tape
    # is finished: a C handler has the writer thread finish it, then die of
    # the same signal. Not a Python handler: those run only between bytecodes
    # of the main thread (a long C call delayed the death by seconds), a
    # forked child loses one that arrives before CPython's after-fork reset
    # (a multiprocessing Pool's terminate() then hung), and the program would
    # see it in signal.getsignal().
    if _core._install_term_guard():
        _saved["sigterm"] = True


def _remove_exit_guards() -> None:
    atexit.unregister(_atexit_stop)
    real_exit = _saved.pop("os._exit", None)
    if real_exit is not None:
        os._exit = real_exit
    if _saved.pop("sigterm", False):
        _core._remove_term_guard()
