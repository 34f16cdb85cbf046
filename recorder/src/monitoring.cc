#include "monitoring.h"

#include <cstddef>
#include <unordered_set>

namespace tracetape::recorder::monitoring {
namespace {

constexpr const char* kEventNames[kEventCount] = {
    "PY_START", "PY_RESUME", "PY_RETURN", "PY_YIELD", "LINE", "JUMP", "RAISE", "PY_UNWIND", "PY_THROW", "STOP_ITERATION",
};

// The tool ids tried, in order: the two without a conventional owner first,
// then DEBUGGER and PROFILER. COVERAGE (1) and OPTIMIZER (5) are left to them.
constexpr int kToolIds[] = {3, 4, 0, 2};

// A registered callback: its vectorcall is the hook's Handler itself.
struct Callback {
  PyObject_HEAD
  vectorcallfunc vectorcall;
};

PyTypeObject g_callback_type;
bool g_type_ready = false;

int g_tool = -1;
PyObject* g_monitoring = nullptr;   // the sys.monitoring module
PyObject* g_disable = nullptr;      // sys.monitoring.DISABLE
uint32_t g_event_bits[kEventCount];  // our Event -> sys.monitoring.events.X (one bit)
std::vector<PyObject*> g_codes;     // code objects with local events (strong)
std::unordered_set<PyObject*> g_code_set;  // the same, to keep each once
std::string g_scope;                // the scope of the installed recording
bool g_disabled = false;            // some location answered DISABLE...
std::string g_disabled_scope;       // ...under this scope
bool g_parked = false;              // installed, no recording (Park)
const std::array<Handler, kEventCount>* g_handlers = nullptr;  // the installed ones
uint32_t g_global_events = 0;

bool ReadyType() {
  if (g_type_ready) return true;
  PyTypeObject& t = g_callback_type;
  Py_SET_TYPE(&t, &PyType_Type);
  Py_SET_REFCNT(&t, 1);
  t.tp_name = "tracetape._core.MonitoringCallback";
  t.tp_basicsize = sizeof(Callback);
  t.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_DISALLOW_INSTANTIATION;
  t.tp_vectorcall_offset = offsetof(Callback, vectorcall);
  t.tp_call = PyVectorcall_Call;
  t.tp_dealloc = [](PyObject* o) { PyObject_Free(o); };
  if (PyType_Ready(&t) != 0) return false;
  g_type_ready = true;
  return true;
}

// Calls sys.monitoring.<name>(args...); returns the new reference or NULL
// with the Python error cleared into *error.
PyObject* Call(const char* name, PyObject* args, std::string* error) {
  PyObject* fn = PyObject_GetAttrString(g_monitoring, name);
  PyObject* result = fn ? PyObject_CallObject(fn, args) : nullptr;
  Py_XDECREF(fn);
  Py_XDECREF(args);
  if (result == nullptr) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    if (error) {
      PyObject* s = value ? PyObject_Str(value) : nullptr;
      const char* utf8 = s ? PyUnicode_AsUTF8(s) : nullptr;
      *error = std::string("sys.monitoring.") + name + ": " + (utf8 ? utf8 : "failed");
      Py_XDECREF(s);
    }
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    PyErr_Clear();
  }
  return result;
}

bool CallOk(const char* name, PyObject* args, std::string* error = nullptr) {
  PyObject* r = Call(name, args, error);
  Py_XDECREF(r);
  return r != nullptr;
}

uint32_t ToMonitoringMask(uint32_t events) {
  uint32_t mask = 0;
  for (int e = 0; e < kEventCount; ++e) {
    if (events & (1u << e)) mask |= g_event_bits[e];
  }
  return mask;
}

// The tool id is still tracetape's: the program did not free it
// (sys.monitoring.free_tool_id) while the hook was parked.
bool ToolIsOurs() {
  PyObject* name = Call("get_tool", Py_BuildValue("(i)", g_tool), nullptr);
  bool ours = name != nullptr && PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "tracetape") == 0;
  Py_XDECREF(name);
  return ours;
}

bool ToolIsFree() {
  PyObject* name = Call("get_tool", Py_BuildValue("(i)", g_tool), nullptr);
  bool free = name == Py_None;
  Py_XDECREF(name);
  return free;
}

// The parked tool is as Install left it: its id, and its events.
bool StillOurs() {
  if (!ToolIsOurs()) return false;
  PyObject* events = Call("get_events", Py_BuildValue("(i)", g_tool), nullptr);
  bool ours = events != nullptr && PyLong_Check(events) && PyLong_AsUnsignedLong(events) == ToMonitoringMask(g_global_events);
  if (PyErr_Occurred()) PyErr_Clear();
  Py_XDECREF(events);
  return ours;
}

}  // namespace

bool Available() { return PySys_GetObject("monitoring") != nullptr; }

bool Installed() { return g_tool >= 0; }

int ToolId() { return g_tool; }

PyObject* Disable() {
  if (!g_disabled) {
    g_disabled = true;
    g_disabled_scope = g_scope;
  }
  Py_INCREF(g_disable);
  return g_disable;
}

Status Install(const std::array<Handler, kEventCount>& handlers, uint32_t global_events, const std::string& scope) {
  if (g_parked) {
    if (&handlers == g_handlers && global_events == g_global_events && scope == g_scope && StillOurs()) {
      g_parked = false;
      return Status::Ok();
    }
    Uninstall();
  }
  if (Installed()) return Status::InvalidArgument("the sys.monitoring hook is already installed");
  PyObject* mon = PySys_GetObject("monitoring");  // borrowed
  if (mon == nullptr) return Status::Unsupported("sys.monitoring needs CPython 3.12 or later");
  if (!ReadyType()) {
    PyErr_Clear();
    return Status::Internal("cannot create the monitoring callback type");
  }
  Py_INCREF(mon);
  g_monitoring = mon;
  PyObject* events = PyObject_GetAttrString(mon, "events");
  for (int e = 0; e < kEventCount; ++e) {
    PyObject* n = events ? PyObject_GetAttrString(events, kEventNames[e]) : nullptr;
    long v = n ? PyLong_AsLong(n) : -1;
    Py_XDECREF(n);
    if (v <= 0 || v > 0x7fffffff || (v & (v - 1)) != 0) {
      Py_XDECREF(events);
      PyErr_Clear();
      Py_CLEAR(g_monitoring);
      return Status::Unsupported(std::string("sys.monitoring.events has no ") + kEventNames[e]);
    }
    g_event_bits[e] = static_cast<uint32_t>(v);
  }
  Py_XDECREF(events);
  g_disable = PyObject_GetAttrString(mon, "DISABLE");
  if (g_disable == nullptr) {
    PyErr_Clear();
    Py_CLEAR(g_monitoring);
    return Status::Unsupported("sys.monitoring has no DISABLE");
  }

  int tool = -1;
  for (int id : kToolIds) {
    if (CallOk("use_tool_id", Py_BuildValue("(is)", id, "tracetape"))) {
      tool = id;
      break;
    }
  }
  if (tool < 0) {
    Py_CLEAR(g_disable);
    Py_CLEAR(g_monitoring);
    return Status::Unsupported("no sys.monitoring tool id is free (3, 4, 0 and 2 are in use)");
  }
  g_tool = tool;
  g_scope = scope;
  std::string error;
  if (g_disabled && g_disabled_scope != scope) {
    if (!CallOk("restart_events", PyTuple_New(0), &error)) {
      Uninstall();
      return Status::Internal(error);
    }
    g_disabled = false;
  }
  for (int e = 0; e < kEventCount; ++e) {
    auto* cb = PyObject_New(Callback, &g_callback_type);
    if (cb == nullptr) {
      PyErr_Clear();
      Uninstall();
      return Status::Internal("cannot create a monitoring callback");
    }
    cb->vectorcall = handlers[e];
    bool ok = CallOk("register_callback", Py_BuildValue("(iIN)", tool, g_event_bits[e], cb), &error);
    if (!ok) {
      Uninstall();
      return Status::Internal(error);
    }
  }
  if (!CallOk("set_events", Py_BuildValue("(iI)", tool, ToMonitoringMask(global_events)), &error)) {
    Uninstall();
    return Status::Internal(error);
  }
  g_handlers = &handlers;
  g_global_events = global_events;
  return Status::Ok();
}

void Park() {
  if (!Installed()) return;
  g_parked = true;
  // Code objects only this holds (a test's generated module, gone) are let
  // go now rather than when the hook is released.
  size_t kept = 0;
  for (PyObject* code : g_codes) {
    if (Py_REFCNT(code) > 1) {
      g_codes[kept++] = code;
    } else {
      g_code_set.erase(code);
      Py_DECREF(code);
    }
  }
  g_codes.resize(kept);
}

bool Parked() { return g_parked; }

Status EnableCode(PyCodeObject* code, uint32_t local_events) {
  if (!Installed()) return Status::InvalidArgument("the sys.monitoring hook is not installed");
  std::string error;
  if (!CallOk("set_local_events", Py_BuildValue("(iOI)", g_tool, code, ToMonitoringMask(local_events)), &error)) {
    return Status::Internal(error);
  }
  // (A parked hook's code objects are enabled again by the next recording:
  // CPython returns at once when their events are unchanged.)
  if (g_code_set.insert(reinterpret_cast<PyObject*>(code)).second) {
    Py_INCREF(code);
    g_codes.push_back(reinterpret_cast<PyObject*>(code));
  }
  return Status::Ok();
}

void SilenceAll() {
  if (!Installed()) return;
  g_handlers = nullptr;  // never taken back as it is
  CallOk("set_events", Py_BuildValue("(iI)", g_tool, 0u));
  for (PyObject* code : g_codes) CallOk("set_local_events", Py_BuildValue("(iOI)", g_tool, code, 0u));
}

void Uninstall() {
  if (!Installed()) return;
  // A parked id the program freed: CPython (3.12, 3.13) leaves its events on
  // and our callbacks registered, so it is claimed again to switch them off;
  // unless another tool holds it now, when it is only forgotten here.
  const bool ours = !g_parked || ToolIsOurs() ||
                    (ToolIsFree() && CallOk("use_tool_id", Py_BuildValue("(is)", g_tool, "tracetape")));
  // Events off first: a callback must not run while we take things apart.
  if (ours) SilenceAll();
  for (PyObject* code : g_codes) Py_DECREF(code);
  g_codes.clear();
  g_code_set.clear();
  g_parked = false;
  g_handlers = nullptr;
  if (!ours) {
    g_tool = -1;
    Py_CLEAR(g_disable);
    Py_CLEAR(g_monitoring);
    return;
  }
  for (int e = 0; e < kEventCount; ++e) {
    CallOk("register_callback", Py_BuildValue("(iIO)", g_tool, g_event_bits[e], Py_None));
  }
  CallOk("free_tool_id", Py_BuildValue("(i)", g_tool));
  g_tool = -1;
  Py_CLEAR(g_disable);
  Py_CLEAR(g_monitoring);
}

}  // namespace tracetape::recorder::monitoring
