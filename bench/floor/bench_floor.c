/* The recording cost floor: hooks that receive every event a recorder needs
 * and do nothing with it.
 *
 *   settrace()    an empty Py_tracefunc installed with PyEval_SetTrace
 *                 (call, line, return, exception events; this thread only),
 *                 which a save and restore of sys.gettrace() keeps installed
 *                 (see TraceHandle).
 *   monitoring()  3.12+: one callable registered with sys.monitoring on a free
 *                 tool id for PY_START, PY_RESUME, PY_RETURN, PY_YIELD,
 *                 PY_UNWIND, PY_THROW, LINE and RAISE, enabled globally.
 *                 The callable is an instance of a static type called through
 *                 vectorcall that returns None (never DISABLE: a recorder must
 *                 see every event of the code it records). JUMP has a callable
 *                 of its own that does what CPython's settrace shim does
 *                 (Python/legacy_tracing.c), since a recorder needs only the
 *                 jumps that settrace reports (a loop that stays on one line):
 *                 DISABLE for a forward jump or one to another line, None for
 *                 the rest.
 *   stop()        removes whichever hook is installed.
 *
 * Built by bench/run.py for each bench venv; see bench/README.md. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <string.h>

static int EmptyTrace(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg) {
  (void)obj; (void)frame; (void)what; (void)arg;
  return 0;
}

/* What sys.gettrace() returns under the settrace floor: a builtin function.
 * Code that saves the trace function and gives it back (doctest's runner,
 * pdb: `saved = sys.gettrace()` ... `sys.settrace(saved)`) installs CPython's
 * Python-level trampoline with it, which calls it at the next call event: it
 * then installs the empty C function again. Without it, the floor of a test
 * suite that runs doctests would stop tracing at the first one (as any C
 * tracer installed with a NULL object does), and be cheaper than it is. */
static PyObject *trace_handle = NULL;

static PyObject *TraceHandle(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
  (void)self; (void)args; (void)nargs;
  if (PyThreadState_Get()->c_traceobj == trace_handle) PyEval_SetTrace(EmptyTrace, trace_handle);
  Py_RETURN_NONE;
}

static PyMethodDef trace_handle_def = {"bench_floor_trace", (PyCFunction)(void (*)(void))TraceHandle,
                                       METH_FASTCALL, "the floor's trace function, as sys.gettrace() shows it"};

static PyObject *Settrace(PyObject *self, PyObject *unused) {
  (void)self; (void)unused;
  if (trace_handle == NULL) {
    trace_handle = PyCFunction_NewEx(&trace_handle_def, NULL, NULL);
    if (trace_handle == NULL) return NULL;
  }
  PyEval_SetTrace(EmptyTrace, trace_handle);
  Py_RETURN_NONE;
}

#if PY_VERSION_HEX >= 0x030C0000
typedef struct {
  PyObject_HEAD
  vectorcallfunc vectorcall;
} EmptyCallback;

static PyObject *EmptyCallbackCall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                   PyObject *kwnames) {
  (void)callable; (void)args; (void)nargsf; (void)kwnames;
  Py_RETURN_NONE;
}

/* sys.monitoring.DISABLE, held once the monitoring floor is installed. */
static PyObject *disable = NULL;

/* JUMP(code, from, to): a recorder needs only a backward jump that stays on
 * one line (settrace reports every iteration of such a loop); any other jump
 * location is switched off at its first event. The last location found to
 * stay on its line is remembered, so that a one-line loop pays for the line
 * lookups once, not at every iteration. */
static PyObject *JumpCallbackCall(PyObject *callable, PyObject *const *args, size_t nargsf,
                                  PyObject *kwnames) {
  static PyObject *same_code = NULL; /* borrowed: compared, never dereferenced */
  static long same_from = -1, same_to = -1;
  (void)callable; (void)kwnames;
  if (PyVectorcall_NARGS(nargsf) < 3) Py_RETURN_NONE;
  long from = PyLong_AsLong(args[1]);
  long to = PyLong_AsLong(args[2]);
  if ((from == -1 || to == -1) && PyErr_Occurred()) return NULL;
  if (to > from) return Py_NewRef(disable);
  if (args[0] == same_code && from == same_from && to == same_to) Py_RETURN_NONE;
  if (!PyCode_Check(args[0])) Py_RETURN_NONE;
  PyCodeObject *code = (PyCodeObject *)args[0];
  if (PyCode_Addr2Line(code, (int)from) != PyCode_Addr2Line(code, (int)to)) return Py_NewRef(disable);
  same_code = args[0];
  same_from = from;
  same_to = to;
  Py_RETURN_NONE;
}

static PyTypeObject EmptyCallbackType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "bench_floor.EmptyCallback",
    .tp_basicsize = sizeof(EmptyCallback),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_vectorcall_offset = offsetof(EmptyCallback, vectorcall),
    .tp_call = PyVectorcall_Call,
};

static int tool_id = -1;

/* Calls sys.monitoring.NAME(*args) and returns its result (new reference). */
static PyObject *CallMonitoring(const char *name, const char *format, ...) {
  PyObject *monitoring = PySys_GetObject("monitoring"); /* borrowed */
  if (monitoring == NULL) {
    PyErr_SetString(PyExc_RuntimeError, "sys.monitoring is missing");
    return NULL;
  }
  PyObject *func = PyObject_GetAttrString(monitoring, name);
  if (func == NULL) return NULL;
  va_list va;
  va_start(va, format);
  PyObject *args = Py_VaBuildValue(format, va);
  va_end(va);
  PyObject *result = NULL;
  if (args != NULL) result = PyObject_CallObject(func, args);
  Py_XDECREF(args);
  Py_DECREF(func);
  return result;
}

static PyObject *Monitoring(PyObject *self, PyObject *unused) {
  (void)self; (void)unused;
  if (tool_id >= 0) Py_RETURN_NONE;
  /* Tool ids 0-5 are free for tools; take the first one nobody holds. */
  for (int id = 5; id >= 0 && tool_id < 0; --id) {
    PyObject *r = CallMonitoring("use_tool_id", "(is)", id, "bench-floor");
    if (r != NULL) {
      Py_DECREF(r);
      tool_id = id;
    } else if (PyErr_ExceptionMatches(PyExc_ValueError)) {
      PyErr_Clear();
    } else {
      return NULL;
    }
  }
  if (tool_id < 0) {
    PyErr_SetString(PyExc_RuntimeError, "no free sys.monitoring tool id");
    return NULL;
  }
  PyObject *monitoring = PySys_GetObject("monitoring"); /* borrowed */
  if (disable == NULL) {
    disable = monitoring ? PyObject_GetAttrString(monitoring, "DISABLE") : NULL;
    if (disable == NULL) return NULL;
  }
  EmptyCallback *cb = PyObject_New(EmptyCallback, &EmptyCallbackType);
  if (cb == NULL) return NULL;
  cb->vectorcall = EmptyCallbackCall;
  /* The same type: what an instance does is its own vectorcall pointer. */
  EmptyCallback *jump = PyObject_New(EmptyCallback, &EmptyCallbackType);
  if (jump == NULL) {
    Py_DECREF(cb);
    return NULL;
  }
  jump->vectorcall = JumpCallbackCall;
  static const char *const kEvents[] = {"PY_START", "PY_RESUME", "PY_RETURN", "PY_YIELD",
                                        "PY_UNWIND", "PY_THROW", "LINE", "JUMP", "RAISE"};
  PyObject *events = PyObject_GetAttrString(monitoring, "events");
  if (events == NULL) {
    Py_DECREF(cb);
    Py_DECREF(jump);
    return NULL;
  }
  long mask = 0;
  for (size_t i = 0; i < sizeof(kEvents) / sizeof(kEvents[0]); ++i) {
    PyObject *ev = PyObject_GetAttrString(events, kEvents[i]);
    if (ev == NULL) goto fail;
    long bit = PyLong_AsLong(ev);
    Py_DECREF(ev);
    if (bit == -1 && PyErr_Occurred()) goto fail;
    PyObject *handler = strcmp(kEvents[i], "JUMP") == 0 ? (PyObject *)jump : (PyObject *)cb;
    PyObject *r = CallMonitoring("register_callback", "(ilO)", tool_id, bit, handler);
    if (r == NULL) goto fail;
    Py_DECREF(r);
    mask |= bit;
  }
  Py_DECREF(events);
  Py_DECREF(cb); /* sys.monitoring holds the references it needs */
  Py_DECREF(jump);
  PyObject *r = CallMonitoring("set_events", "(il)", tool_id, mask);
  if (r == NULL) return NULL;
  Py_DECREF(r);
  Py_RETURN_NONE;
fail:
  Py_DECREF(events);
  Py_DECREF(cb);
  Py_DECREF(jump);
  return NULL;
}
#endif

static PyObject *Stop(PyObject *self, PyObject *unused) {
  (void)self; (void)unused;
  PyEval_SetTrace(NULL, NULL);
#if PY_VERSION_HEX >= 0x030C0000
  if (tool_id >= 0) {
    PyObject *r = CallMonitoring("set_events", "(ii)", tool_id, 0);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    r = CallMonitoring("free_tool_id", "(i)", tool_id);
    if (r == NULL) return NULL;
    Py_DECREF(r);
    tool_id = -1;
  }
#endif
  Py_RETURN_NONE;
}

static PyMethodDef kMethods[] = {
    {"settrace", Settrace, METH_NOARGS, "Install an empty C trace function (PyEval_SetTrace)."},
#if PY_VERSION_HEX >= 0x030C0000
    {"monitoring", Monitoring, METH_NOARGS,
     "Register empty sys.monitoring callbacks for the events a recorder needs."},
#endif
    {"stop", Stop, METH_NOARGS, "Remove the installed hook."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef kModule = {
    PyModuleDef_HEAD_INIT, "bench_floor", "Empty hooks: the cost floor of recording.", -1,
    kMethods,
};

PyMODINIT_FUNC PyInit_bench_floor(void) {
#if PY_VERSION_HEX >= 0x030C0000
  if (PyType_Ready(&EmptyCallbackType) < 0) return NULL;
#endif
  return PyModule_Create(&kModule);
}
