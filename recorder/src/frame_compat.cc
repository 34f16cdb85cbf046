#define Py_BUILD_CORE 1
#include "frame_compat.h"

#if PY_VERSION_HEX >= 0x030B0000
#include <internal/pycore_frame.h>
#endif
#if PY_VERSION_HEX >= 0x030D0000
#include <internal/pycore_dict.h>
#include <internal/pycore_setobject.h>
#endif

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>

#if PY_VERSION_HEX < 0x030A0000 || PY_VERSION_HEX >= 0x030E0000
#error "tracetape supports CPython 3.10 to 3.13"
#endif

namespace tracetape::recorder::compat {

#if PY_VERSION_HEX >= 0x030B0000
namespace {
// Local kinds (Include/internal/pycore_code.h).
constexpr unsigned char kFastLocal = 0x20;
constexpr unsigned char kFastCell = 0x40;
constexpr unsigned char kFastFree = 0x80;
}  // namespace
#endif

#if PY_VERSION_HEX >= 0x030B0000
static_assert(offsetof(PyFrameObject, f_frame) == kFrameKeyOffset, "see KeyOf");
static_assert(offsetof(PyFrameObject, f_lineno) == kFrameLinenoOffset, "see FrameLine");
static_assert(offsetof(PyFrameObject, f_trace) == kFrameTraceOffset, "see SetUnsetFrameTrace");
#if PY_VERSION_HEX >= 0x030D0000
static_assert(offsetof(_PyInterpreterFrame, f_executable) == kKeyCodeOffset, "see FrameCode");
#else
static_assert(offsetof(_PyInterpreterFrame, f_code) == kKeyCodeOffset, "see FrameCode");
#endif
#endif

Py_ssize_t SplitEntries(PyObject* dict, PyObject** keys, PyObject** values, Py_ssize_t max) {
#if PY_VERSION_HEX >= 0x030D0000
  // What _PyDict_Next walks in a split table: ma_used entries, in the
  // values' insertion order, each a key of the shared keys and its value.
  auto* mp = reinterpret_cast<PyDictObject*>(dict);
  PyDictValues* v = mp->ma_values;
  if (v == nullptr || !PyDict_CheckExact(dict)) return -1;
  Py_ssize_t n = mp->ma_used;
  if (n < 0 || n > max || n > v->size) return -1;
  const uint8_t* order = get_insertion_order_array(v);
  PyDictUnicodeEntry* entries = DK_UNICODE_ENTRIES(mp->ma_keys);
  for (Py_ssize_t i = 0; i < n; ++i) {
    uint8_t ix = order[i];
    keys[i] = entries[ix].me_key;
    values[i] = v->values[ix];
  }
  return n;
#else
  (void)dict, (void)keys, (void)values, (void)max;
  return -1;
#endif
}

#if PY_VERSION_HEX >= 0x030D0000
namespace {
// v's inline values, if its attributes are kept there (no __dict__ made),
// and the shared keys they index (its class's); else null.
PyDictValues* InlineValues(PyObject* v, PyDictKeysObject** keys) {
  PyTypeObject* t = Py_TYPE(v);
  if (!(t->tp_flags & Py_TPFLAGS_INLINE_VALUES) || !(t->tp_flags & Py_TPFLAGS_MANAGED_DICT) ||
      !(t->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
    return nullptr;
  }
  if (_PyObject_GetManagedDict(v) != nullptr) return nullptr;  // a __dict__ made: it answers
  PyDictValues* values = _PyObject_InlineValues(v);
  if (!values->valid) return nullptr;
  *keys = reinterpret_cast<PyHeapTypeObject*>(t)->ht_cached_keys;
  return *keys != nullptr ? values : nullptr;
}
// The words that hold the count and the order of `count` attributes, and
// the validity flag, all within the values' space in the object: a header
// word (capacity, count, embedded, valid) before the values, and the order
// bytes after them, in whole words (_PyInlineValuesSize). Bytes past the
// count are compared too: they change only when an attribute is added or
// deleted, which changes the count as well.
inline size_t HeadWords(PyDictValues* values, Py_ssize_t count, uint64_t* out) {
  size_t n = 0;
  std::memcpy(&out[n++], values, sizeof(uint64_t));
  const uint8_t* order = get_insertion_order_array(values);
  for (Py_ssize_t at = 0; at < count; at += 8) std::memcpy(&out[n++], order + at, sizeof(uint64_t));
  return n;
}
}  // namespace
#endif

Py_ssize_t InlineAttrs(PyObject* v, PyObject** keys, PyObject** values, Py_ssize_t max, InlineShape* shape) {
#if PY_VERSION_HEX >= 0x030D0000
  PyDictKeysObject* dk = nullptr;
  PyDictValues* iv = InlineValues(v, &dk);
  if (iv == nullptr) return -1;
  const Py_ssize_t n = iv->size;
  const uint8_t* order = get_insertion_order_array(iv);
  constexpr Py_ssize_t kShapeMax = sizeof(InlineShape::values) / sizeof(PyObject*);
  static_assert(sizeof(InlineShape::head) / sizeof(uint64_t) >= 1 + (kShapeMax + 7) / 8, "head words");
  if (n > max || (shape != nullptr && n > kShapeMax)) return -1;
  if (shape != nullptr) shape->slots = 0;
  PyDictUnicodeEntry* entries = DK_UNICODE_ENTRIES(dk);
  for (Py_ssize_t i = 0; i < n; ++i) {
    const Py_ssize_t ix = order[i];
    if (ix >= dk->dk_nentries || entries[ix].me_key == nullptr || iv->values[ix] == nullptr) return -1;
    if (keys != nullptr) {
      keys[i] = entries[ix].me_key;
      values[i] = iv->values[ix];
    }
    if (shape != nullptr) {
      if (ix >= kShapeMax) return -1;
      shape->slots = std::max<uint8_t>(shape->slots, static_cast<uint8_t>(ix + 1));
    }
  }
  if (shape != nullptr) {
    shape->keys = dk;
    shape->head_words = static_cast<uint8_t>(HeadWords(iv, n, shape->head));
    std::memcpy(shape->values, iv->values, shape->slots * sizeof(PyObject*));
  }
  return n;
#else
  (void)v, (void)keys, (void)values, (void)max, (void)shape;
  return -1;
#endif
}

#if PY_VERSION_HEX >= 0x030D0000
bool HasInlineAttrs(PyObject* v) {
  PyDictKeysObject* dk = nullptr;
  return InlineValues(v, &dk) != nullptr;
}
#endif

bool InlineAttrsAre(PyObject* v, const InlineShape& shape) {
#if PY_VERSION_HEX >= 0x030D0000
  PyDictKeysObject* dk = nullptr;
  PyDictValues* iv = InlineValues(v, &dk);
  // The same keys: the same capacity, within which both reads stay.
  if (iv == nullptr || dk != shape.keys) return false;
  uint64_t head[5];
  const size_t words = HeadWords(iv, iv->size, head);
  if (words != shape.head_words) return false;
  for (size_t i = 0; i < words; ++i) {
    if (head[i] != shape.head[i]) return false;
  }
  PyObject* const* values = iv->values;
  for (size_t i = 0; i < shape.slots; ++i) {
    if (values[i] != shape.values[i]) return false;
  }
  return true;
#else
  (void)v, (void)shape;
  return false;
#endif
}

bool SplitEntriesAre(PyObject* dict, PyObject* const* keys, PyObject* const* values, Py_ssize_t n) {
#if PY_VERSION_HEX >= 0x030D0000
  auto* mp = reinterpret_cast<PyDictObject*>(dict);
  PyDictValues* v = mp->ma_values;
  if (v == nullptr || !PyDict_CheckExact(dict) || mp->ma_used != n || n > v->size) return false;
  const uint8_t* order = get_insertion_order_array(v);
  PyDictUnicodeEntry* entries = DK_UNICODE_ENTRIES(mp->ma_keys);
  for (Py_ssize_t i = 0; i < n; ++i) {
    uint8_t ix = order[i];
    if (entries[ix].me_key != keys[i] || v->values[ix] != values[i]) return false;
  }
  return true;
#else
  (void)dict, (void)keys, (void)values, (void)n;
  return false;
#endif
}

FrameKey CurrentFrameKey(PyThreadState* tstate) {
#if PY_VERSION_HEX >= 0x030C0000
  return _PyThreadState_GetFrame(tstate);  // the first complete frame
#else
  (void)tstate;
  return nullptr;
#endif
}

#if PY_VERSION_HEX >= 0x030B0000
namespace {
_PyInterpreterFrame* Interp(FrameKey key) { return static_cast<_PyInterpreterFrame*>(const_cast<void*>(key)); }
}  // namespace

static_assert(offsetof(_PyInterpreterFrame, localsplus) == kFastLocalsOffset, "see KeyFastLocals");
PyObject* KeyLocalsMapping(FrameKey key) { return Interp(key)->f_locals; }
int KeyLine(FrameKey key) {
#if PY_VERSION_HEX >= 0x030C0000
  return PyUnstable_InterpreterFrame_GetLine(Interp(key));
#else
  _PyInterpreterFrame* f = Interp(key);
  return PyCode_Addr2Line(f->f_code, _PyInterpreterFrame_LASTI(f) * static_cast<int>(sizeof(_Py_CODEUNIT)));
#endif
}
#else
namespace {
PyFrameObject* Object(FrameKey key) { return static_cast<PyFrameObject*>(const_cast<void*>(key)); }
}  // namespace

PyObject* KeyLocalsMapping(FrameKey key) { return Object(key)->f_locals; }
int KeyLine(FrameKey key) { return PyFrame_GetLineNumber(Object(key)); }
#endif

PyObject** FrameFastLocals(PyFrameObject* frame) { return KeyFastLocals(KeyOf(frame)); }
PyObject* FrameLocalsMapping(PyFrameObject* frame) { return KeyLocalsMapping(KeyOf(frame)); }

bool CodeIsFunction(PyCodeObject* code) { return (code->co_flags & CO_OPTIMIZED) != 0; }

PyObject* CodeQualname(PyCodeObject* code) {
#if PY_VERSION_HEX >= 0x030B0000
  return code->co_qualname;
#else
  return code->co_name;
#endif
}

std::vector<LocalSlot> CodeSlots(PyCodeObject* code) {
  std::vector<LocalSlot> slots;
  int nargs = code->co_argcount + code->co_kwonlyargcount + ((code->co_flags & CO_VARARGS) ? 1 : 0) +
              ((code->co_flags & CO_VARKEYWORDS) ? 1 : 0);
#if PY_VERSION_HEX >= 0x030B0000
  PyObject* names = code->co_localsplusnames;
  const char* kinds = PyBytes_AS_STRING(code->co_localspluskinds);
  Py_ssize_t n = PyTuple_GET_SIZE(names);
  for (Py_ssize_t i = 0; i < n; ++i) {
    auto kind = static_cast<unsigned char>(kinds[i]);
    LocalSlot s;
    s.index = static_cast<int>(i);
    s.name = PyTuple_GET_ITEM(names, i);
    s.cell = (kind & (kFastCell | kFastFree)) != 0;
    s.arg = i < nargs && (kind & kFastLocal) != 0;
    slots.push_back(s);
  }
#else
  // 3.10: varnames, then cellvars, then freevars. A parameter that is also a
  // cell variable is moved into its cell when the frame is created, and
  // f_locals shows the cell: keep only the cell slot for that name.
  Py_ssize_t nlocals = code->co_nlocals;
  Py_ssize_t ncells = PyTuple_GET_SIZE(code->co_cellvars);
  Py_ssize_t nfree = PyTuple_GET_SIZE(code->co_freevars);
  std::unordered_map<std::string, size_t> cell_names;
  for (Py_ssize_t i = 0; i < ncells; ++i) {
    cell_names.emplace(PyUnicode_AsUTF8(PyTuple_GET_ITEM(code->co_cellvars, i)), i);
  }
  for (Py_ssize_t i = 0; i < nlocals; ++i) {
    PyObject* name = PyTuple_GET_ITEM(code->co_varnames, i);
    const char* utf8 = PyUnicode_AsUTF8(name);
    if (utf8 && cell_names.count(utf8)) continue;
    slots.push_back(LocalSlot{static_cast<int>(i), name, false, i < nargs});
  }
  for (Py_ssize_t i = 0; i < ncells; ++i) {
    PyObject* name = PyTuple_GET_ITEM(code->co_cellvars, i);
    bool arg = false;
    for (Py_ssize_t a = 0; a < nargs && a < nlocals; ++a) {
      if (PyUnicode_Compare(PyTuple_GET_ITEM(code->co_varnames, a), name) == 0) arg = true;
    }
    slots.push_back(LocalSlot{static_cast<int>(nlocals + i), name, true, arg});
  }
  for (Py_ssize_t i = 0; i < nfree; ++i) {
    slots.push_back(
        LocalSlot{static_cast<int>(nlocals + ncells + i), PyTuple_GET_ITEM(code->co_freevars, i), true, false});
  }
  PyErr_Clear();
#endif
  return slots;
}

Py_ssize_t RequestCodeExtraIndex(freefunc free) {
#if PY_VERSION_HEX >= 0x030C0000
  return PyUnstable_Eval_RequestCodeExtraIndex(free);
#else
  return _PyEval_RequestCodeExtraIndex(free);
#endif
}

void* GetCodeExtra(PyCodeObject* code, Py_ssize_t index) {
  void* extra = nullptr;
#if PY_VERSION_HEX >= 0x030C0000
  if (PyUnstable_Code_GetExtra(reinterpret_cast<PyObject*>(code), index, &extra) != 0) {
#else
  if (_PyCode_GetExtra(reinterpret_cast<PyObject*>(code), index, &extra) != 0) {
#endif
    PyErr_Clear();
    return nullptr;
  }
  return extra;
}

bool SetCodeExtra(PyCodeObject* code, Py_ssize_t index, void* value) {
#if PY_VERSION_HEX >= 0x030C0000
  if (PyUnstable_Code_SetExtra(reinterpret_cast<PyObject*>(code), index, value) != 0) {
#else
  if (_PyCode_SetExtra(reinterpret_cast<PyObject*>(code), index, value) != 0) {
#endif
    PyErr_Clear();
    return false;
  }
  return true;
}


bool IsFinalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

bool CanTraceAllThreads() { return PY_VERSION_HEX >= 0x030C0000; }

void SetTrace(Py_tracefunc func, PyObject* obj, bool all_threads) {
#if PY_VERSION_HEX >= 0x030C0000
  if (all_threads) {
    PyEval_SetTraceAllThreads(func, obj);
    return;
  }
#else
  (void)all_threads;
#endif
  PyEval_SetTrace(func, obj);
}

void SetFrameTrace(PyFrameObject* frame, PyObject* obj) {
  if (frame->f_trace == obj) return;
  Py_XINCREF(obj);
  Py_XSETREF(frame->f_trace, obj);
}

}  // namespace tracetape::recorder::compat
