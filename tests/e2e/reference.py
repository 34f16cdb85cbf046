"""Reference recorder: the pure-Python twin of `tracetape record` + `dump --format jsonl`.

    python tests/e2e/reference.py -o OUT.jsonl [--include DIR]... [--locals all|args|none]
                                  SCRIPT [ARGS...]

Runs SCRIPT as `python SCRIPT ARGS` would (fresh `__main__` module, sys.argv, sys.path[0],
exit status, traceback of an uncaught exception) under sys.settrace and
threading.settrace, and writes one JSON object per recorded event, in the format of
`tracetape dump --format jsonl` (shared/DESIGN.md section 2):

    {"i", "thread", "kind", "file", "func", "qualname", "line", "depth", "locals",
     "value" (return and exception events only)}

Only frames whose co_filename lies under an --include directory (default: the
script's directory) are recorded; filenames starting with '<' and this recorder's own
files never are. Events follow sys.settrace exactly: `call` for each new recorded frame
and each generator resume, `line`, `return` (value: the return value, None when
unwinding by an exception) and `exception`. Values are rendered by render_reference
(docs/RENDERING.md).

A known limit of any sys.settrace oracle, to keep in mind when writing samples: on
3.10-3.12 the trace trampoline keeps a snapshot of each traced frame's locals
(frame.f_locals) until the frame's next event. An object whose last reference was a
local that is deleted or rebound therefore lives until then, and its finaliser (a
suspended generator's `finally`, a `__del__`, a weakref callback) runs inside the
trampoline, untraced. The C++ recorder does not delay it. Samples release such objects
through a container (`holder.clear()`), never through `del local`.
"""

import builtins
import importlib.machinery
import json
import os
import sys
import threading
import traceback
import types

import _thread

import render_reference

_OWN_FILES = frozenset(
    os.path.normcase(os.path.abspath(f))
    for f in (__file__, render_reference.__file__))


_CO_OPTIMIZED = 0x0001


class _FrameTracer:
    """The local trace function of one recorded frame activation (call to return).

    NAMESPACE is the locals mapping of a module or class body, taken once at its
    `call` event and read directly afterwards. Reading frame.f_locals of such a frame
    later is not neutral on 3.12: while an inlined comprehension runs, the trace
    trampoline's write-back (PyFrame_LocalsToFast) rebinds the comprehension's hidden
    variable to None with "RuntimeWarning: assigning None to unbound local". At the
    `call` event no hidden variable is bound, so that one read is harmless.
    """

    __slots__ = ("recorder", "depth", "namespace")

    def __init__(self, recorder, depth, namespace):
        self.recorder = recorder
        self.depth = depth
        self.namespace = namespace

    def __call__(self, frame, event, arg):
        rec = self.recorder
        try:
            if event == "line":
                rec.emit(frame, "line", self.depth, self.namespace)
            elif event == "return":
                value = rec.renderer.render_return(frame.f_code.co_name, arg)
                rec.emit(frame, "return", self.depth, self.namespace, value)
            elif event == "exception":
                exc = arg[1]
                if exc is None:  # not normalised: render the type alone
                    exc = arg[0]()
                rec.emit(frame, "exception", self.depth, self.namespace,
                         rec.renderer.render_exception(exc))
        except BaseException:
            rec.errors.append(traceback.format_exc())
        return self


class Recorder:
    def __init__(self, include_dirs, locals_mode, renderer):
        self.include_dirs = [os.path.normcase(os.path.abspath(d)) for d in include_dirs]
        self.locals_mode = locals_mode
        self.renderer = renderer
        self.events = []
        self.errors = []
        self._lock = threading.Lock()
        self._tls = _thread._local()
        self._next_thread = 0
        self._file_cache = {}

    def is_recorded(self, filename):
        cached = self._file_cache.get(filename)
        if cached is None:
            cached = self._file_cache[filename] = self._decide(filename)
        return cached

    def _decide(self, filename):
        if not filename or filename.startswith("<"):
            return False
        path = os.path.normcase(os.path.abspath(filename))
        if path in _OWN_FILES:
            return False
        return any(path.startswith(d + os.sep) for d in self.include_dirs)

    def global_trace(self, frame, event, arg):
        """sys.settrace's global function: only 'call' events arrive here."""
        try:
            if event != "call" or not self.is_recorded(frame.f_code.co_filename):
                return None
            # depth = recorded frames on this thread's stack, this one included: one
            # more than the nearest recorded ancestor's (whose f_trace is its tracer).
            depth = 1
            back = frame.f_back
            while back is not None:
                tracer = back.f_trace
                if type(tracer) is _FrameTracer and tracer.recorder is self:
                    depth = tracer.depth + 1
                    break
                back = back.f_back
            namespace = None
            if not frame.f_code.co_flags & _CO_OPTIMIZED:
                namespace = frame.f_locals  # module globals or class namespace
            self.emit(frame, "call", depth, namespace)
            return _FrameTracer(self, depth, namespace)
        except BaseException:
            self.errors.append(traceback.format_exc())
            return None

    def _thread_number(self):
        number = getattr(self._tls, "number", None)
        if number is None:
            with self._lock:
                number = self._next_thread
                self._next_thread += 1
            self._tls.number = number
        return number

    def emit(self, frame, kind, depth, namespace, value=None):
        code = frame.f_code
        thread = self._thread_number()
        if self.locals_mode == "none":
            items = ()
        elif namespace is not None:
            items = list(namespace.items())
        else:
            items = list(frame.f_locals.items())
        local_vars = self.renderer.capture_locals(code, items, self.locals_mode)
        event = {
            "i": None,
            "thread": thread,
            "kind": kind,
            "file": code.co_filename,
            "func": code.co_name,
            "qualname": getattr(code, "co_qualname", code.co_name),
            "line": frame.f_lineno,
            "depth": depth,
            "locals": local_vars,
        }
        if kind == "return" or kind == "exception":
            event["value"] = value
        with self._lock:
            event["i"] = len(self.events)
            self.events.append(event)


_USAGE = ("usage: reference.py -o OUT.jsonl [--include DIR]... [--locals all|args|none]"
          " [--redact REGEX]... [--] SCRIPT [ARGS...]")


class _Options:
    output = None
    locals_mode = "all"

    def __init__(self):
        self.include = []
        self.redact = []
        self.script = None
        self.args = []


def _parse_args(argv):
    """Options come before SCRIPT; everything after SCRIPT is the program's, verbatim."""
    opts = _Options()
    takes_value = {"-o": "output", "--output": "output", "--include": "include",
                   "--locals": "locals_mode", "--redact": "redact"}
    position = 0
    while position < len(argv):
        arg = argv[position]
        if arg == "--":
            position += 1
            break
        if arg in ("-h", "--help"):
            print(_USAGE)
            sys.exit(0)
        if not arg.startswith("-") or arg == "-":
            break
        name, eq, value = arg.partition("=")
        if name not in takes_value:
            sys.exit("%s\nreference.py: unknown option %s" % (_USAGE, arg))
        if not eq:
            position += 1
            if position == len(argv):
                sys.exit("%s\nreference.py: %s needs a value" % (_USAGE, arg))
            value = argv[position]
        field = takes_value[name]
        if isinstance(getattr(opts, field), list):
            getattr(opts, field).append(value)
        else:
            setattr(opts, field, value)
        position += 1
    if position >= len(argv) or opts.output is None:
        sys.exit(_USAGE)
    if opts.locals_mode not in ("all", "args", "none"):
        sys.exit("%s\nreference.py: --locals must be all, args or none" % _USAGE)
    opts.script = argv[position]
    opts.args = argv[position + 1:]
    return opts


def _strip_own_frames(tb):
    while tb is not None and os.path.normcase(tb.tb_frame.f_code.co_filename) in _OWN_FILES:
        tb = tb.tb_next
    return tb


def _join_other_threads():
    """What the interpreter does after __main__ ends: wait for non-daemon threads."""
    main = threading.main_thread()
    for t in threading.enumerate():
        if t is not main and not t.daemon and t.is_alive():
            t.join()


def main(argv=None):
    opts = _parse_args(sys.argv[1:] if argv is None else argv)
    output = os.path.abspath(opts.output)
    script_path = os.path.abspath(opts.script)
    include = opts.include or [os.path.dirname(script_path)]

    with open(script_path, "rb") as f:
        source = f.read()
    try:
        code = compile(source, script_path, "exec", dont_inherit=True)
    except SyntaxError as exc:  # reported as `python SCRIPT` reports it
        sys.excepthook(type(exc), exc.with_traceback(None), None)
        return 1

    # The same __main__ as `python SCRIPT`.
    module = types.ModuleType("__main__")
    module.__dict__.update({
        "__file__": script_path,
        "__cached__": None,
        "__builtins__": builtins,
        "__annotations__": {},
        "__loader__": importlib.machinery.SourceFileLoader("__main__", script_path),
    })
    this_module = sys.modules["__main__"]  # keep this module alive
    sys.modules["__main__"] = module
    sys.argv = [opts.script] + list(opts.args)
    sys.path[0] = os.path.dirname(os.path.realpath(script_path))

    renderer = render_reference.Renderer(redact=opts.redact)
    recorder = Recorder(include, opts.locals_mode, renderer)
    failure = None
    threading.settrace(recorder.global_trace)
    sys.settrace(recorder.global_trace)
    try:
        exec(code, module.__dict__)
    except BaseException as e:  # SystemExit included: handled below like Python does
        failure = e
    finally:
        sys.settrace(None)
    try:
        _join_other_threads()
    finally:
        threading.settrace(None)

    with open(output, "w", encoding="utf-8") as f:
        for event in recorder.events:
            f.write(json.dumps(event, ensure_ascii=True))
            f.write("\n")
    if recorder.errors:
        sys.stdout.flush()
        sys.stderr.write("reference.py: INTERNAL ERROR in the trace function "
                         "(%d times); first:\n%s" % (len(recorder.errors),
                                                      recorder.errors[0]))
        sys.stderr.flush()
        os._exit(99)

    del this_module
    if failure is None:
        return 0
    if isinstance(failure, SystemExit):
        raise failure
    tb = _strip_own_frames(failure.__traceback__)
    failure.__traceback__ = tb
    sys.excepthook(type(failure), failure, tb)
    return 1


if __name__ == "__main__":
    sys.exit(main())
