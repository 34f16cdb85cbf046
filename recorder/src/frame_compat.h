// The one place that knows how each CPython version lays out frames and code
// objects. Every PY_VERSION_HEX branch of the recorder lives here and in
// frame_compat.cc, compiled with Py_BUILD_CORE (3.11+ keeps the fast-locals
// array in the internal _PyInterpreterFrame); gil_compat.c, also compiled
// with it, finds the GIL.
#ifndef TRACETAPE_RECORDER_FRAME_COMPAT_H_
#define TRACETAPE_RECORDER_FRAME_COMPAT_H_

#include <Python.h>
#include <frameobject.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace tracetape::recorder::compat {

struct LocalSlot {
  int index;        // into the fast-locals array
  PyObject* name;   // borrowed from the code object
  bool cell;        // the slot holds a cell (cell or free variable): read through it
  bool arg;         // a parameter
};

// A running frame's identity: on 3.11+ the interpreter's own frame record
// (the same whether reached through a frame object or through the thread
// state, so the sys.monitoring hook needs no frame object), on 3.10 the frame
// object. Compared, and read through the functions below while it runs.
using FrameKey = const void*;
// A frame object's key and code, and its line, read inline for the trace
// function's per-event path: on 3.11+ through the internal structs, at
// offsets checked against them in frame_compat.cc (PyFrameObject: the
// object header, f_back, f_frame, f_trace, f_lineno; _PyInterpreterFrame:
// f_code after four pointers on 3.11, f_code or f_executable first after).
#if PY_VERSION_HEX >= 0x030B0000
constexpr size_t kFrameKeyOffset = sizeof(PyObject) + sizeof(void*);
constexpr size_t kFrameLinenoOffset = sizeof(PyObject) + 3 * sizeof(void*);
constexpr size_t kKeyCodeOffset = PY_VERSION_HEX >= 0x030C0000 ? 0 : 4 * sizeof(void*);
inline FrameKey KeyOf(PyFrameObject* frame) {
  FrameKey key;
  std::memcpy(&key, reinterpret_cast<const char*>(frame) + kFrameKeyOffset, sizeof(key));
  return key;
}
// The code a running frame's key runs (3.13: its f_executable, a code
// object for every complete frame).
inline PyObject* KeyCode(FrameKey key) {
  PyObject* code;
  std::memcpy(&code, static_cast<const char*>(key) + kKeyCodeOffset, sizeof(code));
  return code;
}
inline PyCodeObject* FrameCode(PyFrameObject* frame) {
  return reinterpret_cast<PyCodeObject*>(KeyCode(KeyOf(frame)));
}
// PyFrame_GetLineNumber(frame), whose first test is f_lineno > 0 (set by
// CPython around each trace function call) on 3.11 to 3.13.
inline int FrameLine(PyFrameObject* frame) {
  int line;
  std::memcpy(&line, reinterpret_cast<const char*>(frame) + kFrameLinenoOffset, sizeof(line));
  return line > 0 ? line : PyFrame_GetLineNumber(frame);
}
// FrameLine where CPython set f_lineno, without a call: 0 where it did not.
inline int TracedFrameLine(PyFrameObject* frame) {
  int line;
  std::memcpy(&line, reinterpret_cast<const char*>(frame) + kFrameLinenoOffset, sizeof(line));
  return line > 0 ? line : 0;
}
#else
inline FrameKey KeyOf(PyFrameObject* frame) { return frame; }
inline PyObject* KeyCode(FrameKey key) {
  return reinterpret_cast<PyObject*>(reinterpret_cast<const PyFrameObject*>(key)->f_code);
}
inline PyCodeObject* FrameCode(PyFrameObject* frame) { return frame->f_code; }
inline int FrameLine(PyFrameObject* frame) { return PyFrame_GetLineNumber(frame); }
// 3.10's call_trace sets f_lineno before every trace function call (what
// PyFrame_GetLineNumber returns once f_trace is set).
inline int TracedFrameLine(PyFrameObject* frame) { return frame->f_lineno > 0 ? frame->f_lineno : 0; }
#endif
// The frame running on `tstate`, as PyThreadState_GetFrame would find it,
// without creating a frame object (3.12+; NULL before, and if none).
FrameKey CurrentFrameKey(PyThreadState* tstate);
// The key of the frame a running frame returns to, as frame.f_back would
// find it (on 3.11+ without making a frame object): NULL for none. A
// generator or coroutine that throw() runs through delegating frames (yield
// from, await) returns to the innermost of them. On 3.10, a generator's
// frame that is not running has none.
FrameKey CallerKey(FrameKey key);
// A generator's or coroutine's frame that yielded and has not run since, as
// a frame that delegates (yield from, await) is while throw() runs the frame
// it delegates to (its last instruction a yield; a frame that runs is at a
// SEND or a call).
bool SuspendedAtYield(PyFrameObject* frame);
// The frame the thread is running, as the thread state holds it: what
// CurrentFrameKey finds inside a sys.monitoring callback of a Python event,
// which an instruction of that (complete) frame raised, in a few
// instructions (CurrentFrameKey skips frames still being set up, a call
// into a separately compiled function). For the callbacks' fast paths,
// whose keys are checked against the shadow stack. 3.12+.
inline FrameKey RunningFrameKey(PyThreadState* tstate) {
#if PY_VERSION_HEX >= 0x030D0000
  return tstate->current_frame;
#elif PY_VERSION_HEX >= 0x030C0000
  return tstate->cframe->current_frame;
#else
  (void)tstate;
  return nullptr;
#endif
}
// Where a running frame's fast-locals array starts, from its key: checked
// against the internal struct (frame_compat.cc), so that the per-event path
// reads it inline, without a call into the Py_BUILD_CORE translation unit.
#if PY_VERSION_HEX >= 0x030B0000
// _PyInterpreterFrame: eight pointers, then an int and (3.11) a bool and a
// char or (3.12, 3.13) a uint16_t and a char, padded to the pointer array.
constexpr size_t kFastLocalsOffset = 9 * sizeof(void*);
#else
constexpr size_t kFastLocalsOffset = offsetof(PyFrameObject, f_localsplus);
#endif
inline PyObject** KeyFastLocals(FrameKey key) {
  return reinterpret_cast<PyObject**>(static_cast<char*>(const_cast<void*>(key)) + kFastLocalsOffset);
}
PyObject* KeyLocalsMapping(FrameKey key);  // borrowed, or NULL
int KeyLine(FrameKey key);                 // the line it is at

// The fast-locals array (locals, then cells, then free variables).
PyObject** FrameFastLocals(PyFrameObject* frame);
// The locals mapping of a module or class body (borrowed), or NULL.
PyObject* FrameLocalsMapping(PyFrameObject* frame);

// The slots that frame.f_locals would show for a function frame, in order. A
// 3.10 parameter that is also a cell appears once, as the cell.
std::vector<LocalSlot> CodeSlots(PyCodeObject* code);
bool CodeIsFunction(PyCodeObject* code);  // CO_OPTIMIZED: fast locals, not a dict
PyObject* CodeQualname(PyCodeObject* code);  // borrowed

// co_extra storage for the per-code decision cache.
Py_ssize_t RequestCodeExtraIndex(freefunc free);
void* GetCodeExtra(PyCodeObject* code, Py_ssize_t index);
// GetCodeExtra read in place, without the call: co_extra points to the
// interpreter's _PyCodeObjectExtra (internal/pycore_code.h, the same from
// 3.6 to 3.13: the slot count, then the slots), or is NULL.
inline void* PeekCodeExtra(PyCodeObject* code, Py_ssize_t index) {
  const auto* extra = static_cast<const char*>(code->co_extra);
  if (extra == nullptr) return nullptr;
  Py_ssize_t size;
  std::memcpy(&size, extra, sizeof(size));
  if (index < 0 || index >= size) return nullptr;
  void* slot;
  std::memcpy(&slot, extra + sizeof(Py_ssize_t) + static_cast<size_t>(index) * sizeof(void*), sizeof(slot));
  return slot;
}
bool SetCodeExtra(PyCodeObject* code, Py_ssize_t index, void* value);

// The small accessors of the per-event path are inline: public fields and
// API only, the same in this file's Py_BUILD_CORE translation unit.
inline uint64_t ThreadStateId(PyThreadState* tstate) { return tstate->id; }
// A monitoring callback's line or instruction offset (an int below 2**30):
// one digit or zero, read straight from the 3.12+ layout
// (cpython/longintrepr.h); -1 for anything else (before 3.12, always).
inline long SmallIntArg(PyObject* v) {
#if PY_VERSION_HEX >= 0x030C0000
  if (!PyLong_CheckExact(v)) return -1;
  const auto* l = reinterpret_cast<const PyLongObject*>(v);
  // Bits 0-1: the sign (0 positive, 1 zero); bit 2 is reserved (an
  // immortality flag from 3.14); the digit count above them. One positive
  // digit (tag 8) or zero (tag 1, whose digit is 0: _PyLong_New and the
  // small ints set it) in one compare: tag | 9 == 9 (tags 0 and 9, zero
  // digits positive and one digit of sign zero, are never made).
  static_assert(_PyLong_NON_SIZE_BITS == 3, "the lv_tag layout of 3.12 and 3.13");
  const uintptr_t tag = l->long_value.lv_tag & ~uintptr_t{4};
  if (__builtin_expect((tag | 9) == 9, 1)) return static_cast<long>(l->long_value.ob_digit[0]);
#else
  (void)v;
#endif
  return -1;
}
// The thread state is its OS thread's current one: PyThreadState_Swap()
// and releasing the GIL deactivate it (3.12+). Before 3.12, true: the
// only thread state it is asked about is the runtime's current one
// (tracetape_gil_holder_slot).
inline bool ThreadStateActive(PyThreadState* tstate) {
#if PY_VERSION_HEX >= 0x030C0000
  return tstate->_status.active;
#else
  (void)tstate;
  return true;
#endif
}
// A dict's version tag (PEP 509): changes at every change of the dict, and a
// value is never given twice in a process.
inline uint64_t DictVersion(PyObject* dict) {
  // Deprecated for extensions in 3.12 (PEP 699) but kept, and still bumped
  // by every mutation through 3.13, the last version this file supports.
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
  return reinterpret_cast<PyDictObject*>(dict)->ma_version_tag;
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
}
// Whether DictVersion(dict) changes at every change of `dict`, the __dict__
// of an instance. Not on 3.13 while the dict shares the instance's inline
// values: attribute stores then write the values without a new version.
inline bool InstanceDictVersioned(PyObject* dict) {
#if PY_VERSION_HEX >= 0x030D0000
  return reinterpret_cast<PyDictObject*>(dict)->ma_values == nullptr;
#else
  (void)dict;
  return true;
#endif
}
// 3.13: a __dict__ sharing an instance's inline values (a split table,
// which attribute stores change without a new version): its entries as
// PyDict_Next gives them, keys[i] and values[i] for i < the count returned,
// read without a call per entry. -1 if `dict` is not an exact dict with a
// split table, or has more than `max` entries; always -1 before 3.13.
Py_ssize_t SplitEntries(PyObject* dict, PyObject** keys, PyObject** values, Py_ssize_t max);
// Whether SplitEntries would give exactly these n keys and values (false
// where it declines), read in place.
bool SplitEntriesAre(PyObject* dict, PyObject* const* keys, PyObject* const* values, Py_ssize_t n);
// 3.11+: the attributes of an instance kept in its inline values (a class
// with a managed dict, whose __dict__ nothing has asked for yet), as
// PyDict_Next would give them from the __dict__ that asking would make:
// keys[i] and values[i] for i < the count returned, read in place. Asking
// for the __dict__ (_PyObject_GetDictPtr) makes one for good, after which
// the program's attribute accesses on it take a slower path (the
// object-heavy bench body runs 1.3x slower untraced on 3.13) and, on 3.13,
// the dict, sharing the values, has no usable version anyway; reading them
// here leaves the instance as it is. -1 if v's attributes are not there
// (another kind of object, a __dict__ made, more than `max`), before 3.11,
// and until CheckInlineAttrs has found the layout read right. (On 3.11 and
// 3.12 a __dict__ made from inline values has a version that changes at
// every store, cheaper to compare than the values: the renderer used to ask
// for it where renderings are compared, until it measured the price the
// program paid for it, every access to that instance's attributes left
// unspecialized; see InstanceDict.) With `shape`: what InlineAttrsAre
// compares.
struct InlineShape {
  // User-provided: made in place (BuildGuards' emplace_back), the arrays
  // are not zeroed first, as value-initialization would (a `rep stos` of
  // 300 bytes); InlineAttrs fills what InlineAttrsAre reads.
  InlineShape() {}
  const void* keys = nullptr;  // the class's shared keys, which the values follow
  // The words holding the count and the insertion order (as many as cover
  // them), then the values array up to the last index used. (Inline values
  // hold at most 30 attributes: SHARED_KEYS_MAX_SIZE.)
  uint8_t head_words = 0;
  uint8_t slots = 0;
  uint64_t head[5];
  PyObject* values[32];
  // Where InlineAttrs read them, so that InlineAttrsAre compares them in
  // place without decoding the layout again: the object's words that say
  // its attributes are still in those values (InlineWord), each head
  // word's address, and the values'.
  uintptr_t words[2];
  const uint8_t* head_at[5];
  PyObject* const* values_at;
};
Py_ssize_t InlineAttrs(PyObject* v, PyObject** keys, PyObject** values, Py_ssize_t max,
                       InlineShape* shape = nullptr);
// 3.11+: decides, once (with the GIL), whether inline values are read in
// place: they are if a probe instance's read the same as the __dict__ the
// interpreter makes from them (the layouts of 3.11 and 3.12 are read here
// without the headers that define them). Until then, and if not, InlineAttrs
// and HasInlineAttrs find none. Renderer calls it.
void CheckInlineAttrs();
// Whether InlineAttrs would read v's attributes in place (not whether each
// entry is well formed: InlineAttrs checks those).
#if PY_VERSION_HEX >= 0x030B0000
bool HasInlineAttrs(PyObject* v);
#else
inline bool HasInlineAttrs(PyObject*) { return false; }
#endif
// The words of an instance (3.11+, a class with inline values) that say
// whether its attributes are still in the inline values InlineAttrs read:
// 3.11, the values' address and the managed dict's (null until one is
// made), four and three words before the object; 3.12, the values'
// address less one (odd), three before, which becomes the dict's once one
// is made; 3.13, the managed dict's (null), three before (the values are
// in the object, their validity in a head word). CheckInlineAttrs confirms
// them on a probe instance.
#if PY_VERSION_HEX >= 0x030C0000
inline constexpr int kInlineWords = 1;
#else
inline constexpr int kInlineWords = 2;
#endif
inline uintptr_t InlineWord(PyObject* v, int i) { return reinterpret_cast<const uintptr_t*>(v)[-3 - i]; }
// Whether v, of the class `shape` was taken from (its guard compared it
// first), still has the inline values InlineAttrs read into `shape`,
// unchanged: the same class keys, the same words saying no __dict__ was
// made (so the values are where they were, and alive), the same head words
// (the count and the order of indices in the keys: the same names, as a
// class's shared keys only grow) and the same value objects. False where
// InlineAttrs would decline. Compared where they were read: no layout is
// decoded, no call made (an instance guard runs at every event that shows
// the instance).
__attribute__((always_inline)) inline bool InlineAttrsAre(PyObject* v, const InlineShape& shape) {
#if PY_VERSION_HEX >= 0x030B0000
  if (reinterpret_cast<PyHeapTypeObject*>(Py_TYPE(v))->ht_cached_keys != shape.keys) return false;
  for (int i = 0; i < kInlineWords; ++i) {
    if (InlineWord(v, i) != shape.words[i]) return false;
  }
  for (size_t i = 0; i < shape.head_words; ++i) {
    uint64_t word;
    std::memcpy(&word, shape.head_at[i], sizeof(word));
    if (word != shape.head[i]) return false;
  }
  for (size_t i = 0; i < shape.slots; ++i) {
    if (shape.values_at[i] != shape.values[i]) return false;
  }
  return true;
#else
  (void)v, (void)shape;
  return false;
#endif
}
// The next item of a set or frozenset (of any subclass), in its iterator's
// order, from *pos (0 to start): the set's table read in place, with no
// iterator object made and no call per item, as _PySet_NextEntry reads it
// (internal from 3.13): a slot is skipped if empty or deleted, and a
// deleted one has the dummy key with hash -1, which no object's hash is.
// False past the last.
inline bool SetNext(PyObject* set, Py_ssize_t* pos, PyObject** item) {
  auto* so = reinterpret_cast<PySetObject*>(set);
  const Py_ssize_t mask = so->mask;
  const setentry* table = so->table;
  Py_ssize_t i = *pos;
  while (i <= mask && (table[i].key == nullptr || table[i].hash == -1)) ++i;
  *pos = i + 1;
  if (i > mask) return false;
  *item = table[i].key;
  return true;
}
// PyErr_Occurred() for a thread state at hand (no thread-local lookup).
inline bool ErrorPending(PyThreadState* tstate) {
#if PY_VERSION_HEX >= 0x030C0000
  return tstate->current_exception != nullptr;
#else
  return tstate->curexc_type != nullptr;
#endif
}
// The value of an int object that fits a long (line numbers and bytecode
// offsets of sys.monitoring callbacks), without a call for small ones; -1
// with an exception set if it is not an int.
inline long SmallLong(PyObject* v) {
#if PY_VERSION_HEX >= 0x030C0000
  if (PyLong_CheckExact(v) && PyUnstable_Long_IsCompact(reinterpret_cast<PyLongObject*>(v))) {
    return static_cast<long>(PyUnstable_Long_CompactValue(reinterpret_cast<PyLongObject*>(v)));
  }
#endif
  return PyLong_AsLong(v);
}
bool IsFinalizing();

// Installs or removes the C trace function on this thread or, where the
// interpreter allows it (3.12+), on every thread. `obj` is what
// sys.gettrace() then returns.
void SetTrace(Py_tracefunc func, PyObject* obj, bool all_threads);
// What sys.gettrace() returns on `tstate` (borrowed), and its C function.
inline PyObject* TraceObject(PyThreadState* tstate) { return tstate->c_traceobj; }
inline Py_tracefunc TraceFunc(PyThreadState* tstate) { return tstate->c_tracefunc; }
// frame.f_trace = obj: the local trace function that sys.settrace's
// trampoline calls for the frame's line, return and exception events. A C
// trace function never needs it; it lets `obj` hear of the frame again after
// a Python-level sys.settrace(obj).
void SetFrameTrace(PyFrameObject* frame, PyObject* obj);
// SetFrameTrace(frame, obj) where frame.f_trace is NULL (a new frame's) or
// obj already (a resumed generator's), inline, without a call: false,
// having done nothing, where it is another.
#if PY_VERSION_HEX >= 0x030B0000
constexpr size_t kFrameTraceOffset = sizeof(PyObject) + 2 * sizeof(void*);
inline bool SetUnsetFrameTrace(PyFrameObject* frame, PyObject* obj) {
  char* field = reinterpret_cast<char*>(frame) + kFrameTraceOffset;
  PyObject* old;
  std::memcpy(&old, field, sizeof(old));
  if (old == obj) return true;
  if (old != nullptr) return false;
  Py_INCREF(obj);
  std::memcpy(field, &obj, sizeof(obj));
  return true;
}
#else
inline bool SetUnsetFrameTrace(PyFrameObject* frame, PyObject* obj) {
  if (frame->f_trace == obj) return true;
  if (frame->f_trace != nullptr) return false;
  Py_INCREF(obj);
  frame->f_trace = obj;
  return true;
}
#endif
bool CanTraceAllThreads();

}  // namespace tracetape::recorder::compat

#endif  // TRACETAPE_RECORDER_FRAME_COMPAT_H_
