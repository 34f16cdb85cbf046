#define Py_BUILD_CORE 1
#include "frame_compat.h"

#if PY_VERSION_HEX >= 0x030B0000
#include <internal/pycore_frame.h>
#endif
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 || PY_VERSION_HEX >= 0x030D0000
#include <internal/pycore_dict.h>
#endif
#if PY_VERSION_HEX >= 0x030D0000
#include <internal/pycore_setobject.h>
#endif

#include <opcode.h>

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

#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
// 3.12's internal/pycore_dict.h includes its runtime's state, whose C11
// atomics C++ cannot compile: the layouts read here, from that header.
// CheckInlineAttrs compares what they read with a __dict__ at start-up.
namespace {
struct _dictvalues {
  PyObject* values[1];
};
typedef struct _dictvalues PyDictValues;
struct PyDictKeysObject {
  Py_ssize_t dk_refcnt;
  uint8_t dk_log2_size;
  uint8_t dk_log2_index_bytes;
  uint8_t dk_kind;
  uint32_t dk_version;
  Py_ssize_t dk_usable;
  Py_ssize_t dk_nentries;
  char dk_indices[8];
};
struct PyDictUnicodeEntry {
  PyObject* me_key;
  PyObject* me_value;
};
constexpr uint8_t DICT_KEYS_GENERAL = 0;
inline bool DK_IS_UNICODE(const PyDictKeysObject* dk) { return dk->dk_kind != DICT_KEYS_GENERAL; }
inline PyDictUnicodeEntry* DK_UNICODE_ENTRIES(PyDictKeysObject* dk) {
  return reinterpret_cast<PyDictUnicodeEntry*>(dk->dk_indices + (size_t{1} << dk->dk_log2_index_bytes));
}
}  // namespace
#endif

#if PY_VERSION_HEX >= 0x030B0000
namespace {
// Whether inline values are read in place: CheckInlineAttrs found them read
// as the interpreter's own __dict__ gives them (1), or not (0), or has not
// run yet (-1). Until 1, InlineValues gives nothing: an instance's __dict__
// is asked for, as before 3.13 it always was.
int g_inline_state = -1;
// v's inline values, if its attributes are kept there (no __dict__ made),
// and the shared keys they index (its class's); else null.
#if PY_VERSION_HEX >= 0x030D0000
PyDictValues* InlineValues(PyObject* v, PyDictKeysObject** keys) {
  if (g_inline_state != 1) return nullptr;
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
// How many attributes, and the index in the keys of the i-th (insertion
// order): a count byte in the values' header, the order bytes after them.
inline Py_ssize_t InlineCount(PyDictValues* values) { return values->size; }
inline uint8_t InlineOrder(PyDictValues* values, Py_ssize_t i) { return get_insertion_order_array(values)[i]; }
inline bool InlineCountFits(PyDictValues* values, Py_ssize_t count) { return count <= values->capacity; }
// The words that hold the count and the order of `count` attributes, and
// the validity flag, all within the values' space in the object: a header
// word (capacity, count, embedded, valid) before the values, and the order
// bytes after them, in whole words (_PyInlineValuesSize). Bytes past the
// count are compared too: they change only when an attribute is added or
// deleted, which changes the count as well. HeadWordCount: how many (0 if
// more than InlineShape::head holds: inline values hold at most 30
// attributes); HeadWordAt: where the i-th is. Read one word at a time, never copied
// as a block: GCC made a variable-length copy of them `rep movsq`, whose
// start-up cost (which callgrind counts as one instruction) made full
// recording of object-heavy 22% slower on 3.13, where every instance
// guard reads them.
inline size_t HeadWordCount(PyDictValues*, Py_ssize_t count) {
  constexpr Py_ssize_t kOrderWords = sizeof(InlineShape::head) / sizeof(uint64_t) - 1;
  if (count < 0 || count > 8 * kOrderWords) return 0;
  return 1 + static_cast<size_t>(count + 7) / 8;
}
inline const uint8_t* HeadWordAt(PyDictValues* values, size_t i) {
  return i == 0 ? reinterpret_cast<const uint8_t*>(values) : get_insertion_order_array(values) + 8 * (i - 1);
}
#else
// 3.11 and 3.12: the values are an array of their own, which the object
// points to (3.11: the word 4 before it, next to the managed dict's; 3.12:
// a tagged pointer, 3 words before, that is the dict's once one is made).
PyDictValues* InlineValues(PyObject* v, PyDictKeysObject** keys) {
  if (g_inline_state != 1) return nullptr;
  PyTypeObject* t = Py_TYPE(v);
  if (!(t->tp_flags & Py_TPFLAGS_MANAGED_DICT) || !(t->tp_flags & Py_TPFLAGS_HEAPTYPE)) return nullptr;
  // (internal/pycore_object.h, which C++ cannot include: its atomics are
  // C11's.)
#if PY_VERSION_HEX >= 0x030C0000
  // _PyObject_DictOrValuesPointer: the values' address less one (odd), or
  // the dict's (even, or null).
  char* dorv = reinterpret_cast<char**>(v)[-3];
  if ((reinterpret_cast<uintptr_t>(dorv) & 1) == 0) return nullptr;  // a __dict__ made (or none): it answers
  auto* values = reinterpret_cast<PyDictValues*>(dorv + 1);
#else
  // _PyObject_ValuesPointer and _PyObject_ManagedDictPointer.
  PyDictValues* values = reinterpret_cast<PyDictValues**>(v)[-4];
  if (values == nullptr || reinterpret_cast<PyObject**>(v)[-3] != nullptr) return nullptr;
#endif
  auto* dk = reinterpret_cast<PyDictKeysObject*>(reinterpret_cast<PyHeapTypeObject*>(t)->ht_cached_keys);
  if (values == nullptr || dk == nullptr || !DK_IS_UNICODE(dk)) return nullptr;
  *keys = dk;
  return values;
}
// Before the values, from the last byte down: the prefix's size in bytes,
// the count, then the order, one byte per attribute
// (_PyDictValues_AddToInsertionOrder).
inline Py_ssize_t InlineCount(PyDictValues* values) { return reinterpret_cast<const uint8_t*>(values)[-2]; }
inline uint8_t InlineOrder(PyDictValues* values, Py_ssize_t i) {
  return reinterpret_cast<const uint8_t*>(values)[-3 - i];
}
// Whether the prefix holds the order of `count` attributes.
inline bool InlineCountFits(PyDictValues* values, Py_ssize_t count) {
  return static_cast<size_t>(count) + 2 <= reinterpret_cast<const uint8_t*>(values)[-1];
}
// The words of that prefix (the capacity of the class's keys, at most 30,
// plus 2, rounded up to a word: at most 4): the count and the order of
// every attribute. Bytes past the count are compared too: they change only
// when an attribute is added or deleted, which changes the count as well.
// HeadWordCount: how many (0 if the prefix is not so laid out); HeadWordAt:
// the i-th, read as the 3.13 ones are.
inline size_t HeadWordCount(PyDictValues* values, Py_ssize_t count) {
  const size_t prefix = reinterpret_cast<const uint8_t*>(values)[-1];
  if (prefix % sizeof(uint64_t) != 0 || prefix > 4 * sizeof(uint64_t) ||
      static_cast<size_t>(count) + 2 > prefix) {
    return 0;
  }
  return prefix / sizeof(uint64_t);
}
inline const uint8_t* HeadWordAt(PyDictValues* values, size_t i) {
  const uint8_t* end = reinterpret_cast<const uint8_t*>(values);
  const size_t prefix = end[-1];
  return end - prefix + 8 * i;
}
#endif
}  // namespace
#endif

Py_ssize_t InlineAttrs(PyObject* v, PyObject** keys, PyObject** values, Py_ssize_t max, InlineShape* shape) {
#if PY_VERSION_HEX >= 0x030B0000
  PyDictKeysObject* dk = nullptr;
  PyDictValues* iv = InlineValues(v, &dk);
  if (iv == nullptr) return -1;
  const Py_ssize_t n = InlineCount(iv);
  constexpr Py_ssize_t kShapeMax = sizeof(InlineShape::values) / sizeof(PyObject*);
  static_assert(sizeof(InlineShape::head) / sizeof(uint64_t) >= 1 + (kShapeMax + 7) / 8, "head words");
  if (n > max || (shape != nullptr && n > kShapeMax) || !InlineCountFits(iv, n)) return -1;
  if (shape != nullptr) shape->slots = 0;
  PyDictUnicodeEntry* entries = DK_UNICODE_ENTRIES(dk);
  for (Py_ssize_t i = 0; i < n; ++i) {
    const Py_ssize_t ix = InlineOrder(iv, i);
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
    const size_t words = HeadWordCount(iv, n);
    if (words == 0) return -1;
    shape->head_words = static_cast<uint8_t>(words);
    for (size_t i = 0; i < words; ++i) {
      shape->head_at[i] = HeadWordAt(iv, i);
      std::memcpy(&shape->head[i], shape->head_at[i], sizeof(uint64_t));
    }
    for (int i = 0; i < kInlineWords; ++i) shape->words[i] = InlineWord(v, i);
    shape->values_at = iv->values;
    // (Not a memcpy of slots words: GCC makes that `rep movsq`.)
    for (size_t i = 0; i < shape->slots; i += 2) {
      shape->values[i] = iv->values[i];
      if (i + 1 < shape->slots) shape->values[i + 1] = iv->values[i + 1];
    }
  }
  return n;
#else
  (void)v, (void)keys, (void)values, (void)max, (void)shape;
  return -1;
#endif
}

#if PY_VERSION_HEX >= 0x030B0000
bool HasInlineAttrs(PyObject* v) {
  PyDictKeysObject* dk = nullptr;
  return InlineValues(v, &dk) != nullptr;
}
#endif

namespace {
#if PY_VERSION_HEX >= 0x030B0000
// The probe of CheckInlineAttrs: attributes added, one deleted, one
// rebound, read in place and compared with the __dict__ that asking for it
// then makes.
bool InlineAttrsReadRight() {
  PyObject* ns = PyDict_New();
  PyObject* cls = ns ? PyObject_CallFunction(reinterpret_cast<PyObject*>(&PyType_Type), "s(O)O",
                                             "_tracetape_layout_probe", &PyBaseObject_Type, ns)
                     : nullptr;
  Py_XDECREF(ns);
  PyObject* obj = cls ? PyObject_CallNoArgs(cls) : nullptr;
  Py_XDECREF(cls);
  if (obj == nullptr) return false;
  bool ok = true;
  const char* const names[] = {"a", "b", "c", "d", "e"};
  for (int i = 0; i < 5 && ok; ++i) {
    PyObject* value = PyLong_FromLong(1000 + i);
    ok = value != nullptr && PyObject_SetAttrString(obj, names[i], value) == 0;
    Py_XDECREF(value);
  }
  ok = ok && PyObject_SetAttrString(obj, "b", nullptr) == 0 && PyObject_SetAttrString(obj, "d", Py_None) == 0;
  PyObject* keys[8];
  PyObject* values[8];
  InlineShape shape;
  const Py_ssize_t n = ok ? InlineAttrs(obj, keys, values, 8, &shape) : -1;
  ok = n == 4 && HasInlineAttrs(obj) && InlineAttrsAre(obj, shape);
  if (ok) {
    // A rebinding is seen; the same binding again is not a change.
    PyObject* before = values[0];
    Py_INCREF(before);
    PyObject* other = PyLong_FromLong(2000);
    ok = other != nullptr && PyObject_SetAttrString(obj, "a", other) == 0 && !InlineAttrsAre(obj, shape) &&
         PyObject_SetAttrString(obj, "a", before) == 0 && InlineAttrsAre(obj, shape);
    Py_XDECREF(other);
    Py_DECREF(before);
  }
  if (ok) {
    // An attribute added is seen (the count). (Deleted again, the order
    // byte it left past the count may differ from the one the shape read:
    // a change seen where there is none, which costs a rendering only.)
    ok = PyObject_SetAttrString(obj, "f", Py_None) == 0 && !InlineAttrsAre(obj, shape) &&
         PyObject_SetAttrString(obj, "f", nullptr) == 0;
  }
  PyObject* dict = ok ? PyObject_GenericGetDict(obj, nullptr) : nullptr;  // makes it
  if (dict != nullptr) {
    Py_ssize_t pos = 0, i = 0;
    PyObject *k, *v;
    ok = PyDict_Size(dict) == n;
    while (ok && PyDict_Next(dict, &pos, &k, &v)) {
      ok = i < n && k == keys[i] && v == values[i];
      ++i;
    }
    // From now on its __dict__ answers: the shape no longer holds.
    ok = ok && i == n && !HasInlineAttrs(obj) && !InlineAttrsAre(obj, shape);
    Py_DECREF(dict);
  } else {
    ok = false;
  }
  Py_DECREF(obj);
  return ok;
}
#endif
}  // namespace

void CheckInlineAttrs() {
#if PY_VERSION_HEX >= 0x030B0000
  if (g_inline_state >= 0) return;
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  g_inline_state = 1;  // for the probe's reads
  g_inline_state = InlineAttrsReadRight() ? 1 : 0;
  PyErr_Clear();
  PyErr_Restore(type, value, traceback);
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

bool SuspendedAtYield(PyFrameObject* frame) {
  PyCodeObject* code = PyFrame_GetCode(frame);  // a new reference
#if PY_VERSION_HEX >= 0x030B0000
  const int lasti = PyFrame_GetLasti(frame);  // bytes; -1 before the first instruction
  PyObject* bytes = PyCode_GetCode(code);      // a new reference: base opcodes (not specialized or instrumented)
#else
  const int lasti = frame->f_lasti * static_cast<int>(sizeof(_Py_CODEUNIT));
  PyObject* bytes = code->co_code;
  Py_XINCREF(bytes);
#endif
  bool at = false;
  if (bytes != nullptr && PyBytes_Check(bytes) && lasti >= 0) {
    const auto* b = reinterpret_cast<const unsigned char*>(PyBytes_AS_STRING(bytes));
    const Py_ssize_t n = PyBytes_GET_SIZE(bytes);
#if PY_VERSION_HEX >= 0x030D0000
    at = lasti > 0 && lasti < n && b[lasti] == RESUME;  // the yield done, its RESUME next
#elif PY_VERSION_HEX >= 0x030B0000
    at = lasti < n && b[lasti] == YIELD_VALUE;
#else
    at = lasti + 2 < n && b[lasti + 2] == YIELD_FROM;  // YIELD_FROM steps back to yield again
#endif
  }
  Py_XDECREF(bytes);
  Py_DECREF(code);
  if (PyErr_Occurred()) PyErr_Clear();
  return at;
}

FrameKey CallerKey(FrameKey key) {
#if PY_VERSION_HEX >= 0x030B0000
  _PyInterpreterFrame* f = static_cast<_PyInterpreterFrame*>(const_cast<void*>(key))->previous;
  while (f != nullptr && _PyFrame_IsIncomplete(f)) f = f->previous;  // 3.12+: C entry frames too
  return f;
#else
  return reinterpret_cast<PyFrameObject*>(const_cast<void*>(key))->f_back;
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
