#include "render.h"

#include "frame_compat.h"
#include <datetime.h>
#include <structmember.h>  // PyMemberDef before 3.12
#include "tracetape/recorder/hook.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_map>

namespace tracetape::recorder {
namespace {

// Short name of a type: __name__ (tp_name after its last dot).
std::string_view TypeName(PyTypeObject* t) {
  const char* n = t->tp_name;
  const char* dot = std::strrchr(n, '.');
  return dot ? dot + 1 : n;
}

// An instance of a class whose instances are laid out as object's: no
// builtin (int, str, list, dict, set, exception, type, module...) among its
// bases, which is what Renderer::Value asks of each before Instance.
bool PlainInstanceType(PyTypeObject* t) {
  while (t != nullptr && (t->tp_flags & Py_TPFLAGS_HEAPTYPE)) t = t->tp_base;
  return t == &PyBaseObject_Type;
}

// The held name an entry of a class records: a heap type's __name__ (which
// also sets tp_name); none for a static type, whose name never changes.
PyObject* HeapName(PyTypeObject* t) {
  return (t->tp_flags & Py_TPFLAGS_HEAPTYPE) ? reinterpret_cast<PyHeapTypeObject*>(t)->ht_name : nullptr;
}

// Whether the program could tell that the recorder holds a reference to an
// instance of t: a finalizer (__del__) it would delay, or a weak reference
// it would keep alive. Exact scalars have neither.
bool HoldingObservable(PyTypeObject* t) {
  return t->tp_finalize != nullptr || t->tp_del != nullptr || t->tp_weaklistoffset != 0;
}

// Whether t is the class bound as `attr` in the loaded module `module`,
// found (into *found) once a type named `tp_name` is met: the recorder
// imports nothing. Under the GIL; the module's class lives for ever.
bool IsBoundClass(PyTypeObject* t, PyTypeObject** found, const char* tp_name, const char* module,
                  const char* attr) {
  if (t == *found) return true;
  if (*found != nullptr || std::strcmp(t->tp_name, tp_name) != 0) return false;
  PyObject* name = PyUnicode_FromString(module);
  PyObject* mod = name ? PyImport_GetModule(name) : nullptr;  // sys.modules only
  Py_XDECREF(name);
  PyObject* cls = (mod && PyModule_Check(mod)) ? PyObject_GetAttrString(mod, attr) : nullptr;
  Py_XDECREF(mod);
  if (cls == nullptr) PyErr_Clear();
  if (cls != nullptr && PyType_Check(cls)) *found = reinterpret_cast<PyTypeObject*>(cls);  // kept
  else Py_XDECREF(cls);
  return t == *found;
}

// Whether t is collections.deque (a static type before 3.12, a heap one
// since), as bound in the `_collections` module.
bool IsDeque(PyTypeObject* t) {
  static PyTypeObject* deque = nullptr;
  return IsBoundClass(t, &deque, "collections.deque", "_collections", "deque");
}

// Whether t is os._Environ (the class of os.environ and os.environb).
bool IsEnviron(PyTypeObject* t) {
  static PyTypeObject* environ = nullptr;
  return IsBoundClass(t, &environ, "_Environ", "os", "_Environ");
}

// collections.deque's object as _collectionsmodule.c lays it out (3.10 to
// 3.13: blocks of 64 item slots, linked both ways; the fields used here come
// first). Not a public structure: the renderer reads it only once it has
// seen it agree with the deque's own iterator (DequeLayout), and compares
// deques through it only then.
namespace dq {
constexpr Py_ssize_t kBlockLen = 64;
struct Block {
  Block* left;
  PyObject* data[kBlockLen];
  Block* right;
};
struct Object {
  PyObject_VAR_HEAD
  Block* leftblock;
  Block* rightblock;
  Py_ssize_t leftindex;
  Py_ssize_t rightindex;
  size_t state;
  Py_ssize_t maxlen;  // -1: none
};
// The items from the left, in order; the caller reads at most Py_SIZE.
class Cursor {
 public:
  explicit Cursor(PyObject* d)
      : block_(reinterpret_cast<Object*>(d)->leftblock), index_(reinterpret_cast<Object*>(d)->leftindex) {}
  PyObject* Next() {
    PyObject* item = block_->data[index_];
    if (++index_ == kBlockLen) {
      block_ = block_->right;
      index_ = 0;
    }
    return item;
  }

 private:
  Block* block_;
  Py_ssize_t index_;
};
inline Py_ssize_t MaxLen(PyObject* d) { return reinterpret_cast<Object*>(d)->maxlen; }
// 1: the layout read the items and maxlen the iterator and `maxlen` gave;
// -1: it did not (never read again); 0: not yet seen on a non-empty deque.
int layout = 0;
// The same for maxlen alone, which any deque proves: an empty one (a
// work queue idle between uses) is compared by it and its length, and was
// rendered anew at every event while no deque had held an item yet.
int maxlen_layout = 0;
}  // namespace dq

// The __slots__ of an instance's classes, as CPython lays them out: for
// each class of its MRO from the base down that declares __slots__, its
// writable object members (T_OBJECT_EX: what a __slots__ entry makes), in
// tp_members order (the names sorted), dunder names left out. f(member) returns false to
// stop; Slots returns false if it was stopped.
bool IsDunder(std::string_view s);

// Whether a heap class's own dict binds __slots__: a class statement (or
// type()) with __slots__, not a C class's members. (A dict lookup with a
// str key: no program code.)
bool DeclaresSlots(PyTypeObject* c) {
  static PyObject* const key = PyUnicode_InternFromString("__slots__");
  PyObject* dict = c->tp_dict;
  if (key == nullptr || dict == nullptr || !PyDict_Check(dict)) return false;
  PyObject* found = PyDict_GetItemWithError(dict, key);
  if (found == nullptr) PyErr_Clear();
  return found != nullptr;
}

template <typename F>
bool ForEachSlotUncached(PyTypeObject* t, F&& f) {
  constexpr int kObjectEx = 16;  // T_OBJECT_EX, Py_T_OBJECT_EX from 3.12
  constexpr int kReadOnly = 1;   // READONLY, Py_READONLY
  PyObject* mro = t->tp_mro;
  if (mro == nullptr || !PyTuple_Check(mro)) return true;
  for (Py_ssize_t i = PyTuple_GET_SIZE(mro) - 1; i >= 0; --i) {
    auto* c = reinterpret_cast<PyTypeObject*>(PyTuple_GET_ITEM(mro, i));
    if (!(c->tp_flags & Py_TPFLAGS_HEAPTYPE) || c->tp_members == nullptr || !DeclaresSlots(c)) continue;
    for (const PyMemberDef* m = c->tp_members; m->name != nullptr; ++m) {
      if (m->type != kObjectEx || (m->flags & kReadOnly) || IsDunder(m->name)) continue;
      if (!f(m)) return false;
    }
  }
  return true;
}

// The members ForEachSlot visits for a class, kept for the class's version
// tag: the walk of a slotted instance (an `_iterinfo`, an attrs class with
// slots=True, packaging's marker nodes) compared at every event of a frame
// that shows it looked its MRO's dicts up and measured every member's name
// each time. CPython gives a class a new tag whenever it changes (its bases,
// a class attribute such as __slots__ itself) and never reuses one, so a
// class at a reused address cannot match either. A class without a valid
// tag is not kept.
struct SlotLayout {
  unsigned int tag = 0;
  std::vector<const PyMemberDef*> members;
  std::vector<Py_ssize_t> offsets;  // members[i]->offset: what the walk reads
  // The members' names, copied (a freed class's PyMemberDef names are
  // gone), and a number unique in the process for these names at these
  // offsets: a new class at a freed one's address, its instances too, is
  // compared by it (its name object may well be the same: a class made by
  // a factory), and one with other slots is then told apart. Another tag
  // with the same members keeps the number.
  std::vector<std::string> names;
  uint64_t generation = 0;
  // Each member's redaction, decided by the Redactor `redactor_id` (0: not
  // yet): asked of the Redactor, a hash of the name at each slot rendered.
  uint64_t redactor_id = 0;
  std::vector<uint8_t> redact;
};

unsigned int ValidVersionTag(PyTypeObject* t) {
#if PY_VERSION_HEX >= 0x030C0000
  // 3.12+: 0 is "none"; one is assigned on demand (no program code runs).
  if (t->tp_version_tag == 0 && !PyUnstable_Type_AssignVersionTag(t)) return 0;
  return t->tp_version_tag;
#else
  // 3.10/3.11: a changed class keeps its number but loses the flag.
  return PyType_HasFeature(t, Py_TPFLAGS_VALID_VERSION_TAG) ? t->tp_version_tag : 0;
#endif
}

// t's layout (null for a class without a valid tag, which ForEachSlot
// works out each time). One per class address, never freed and rebuilt in
// place only when the class at that address has another tag: a walk that
// holds a layout while it meets another slotted class inside (which may be
// looked up, or made, meanwhile) keeps a valid one, since its own class
// lives while the walk reads its instance, and nothing changes a class
// during a walk (no program code runs). A small direct-mapped table in
// front keeps the lookup off the hash map.
__attribute__((noinline)) SlotLayout* FindSlotLayout(PyTypeObject* t, unsigned int tag) {
  static auto* const all = new std::unordered_map<PyTypeObject*, SlotLayout>();
  static uint64_t generations = 0;
  SlotLayout& c = (*all)[t];
  if (c.tag != tag) {
    std::vector<std::string> names_before;
    names_before.swap(c.names);
    std::vector<Py_ssize_t> offsets_before;
    offsets_before.swap(c.offsets);
    c.members.clear();
    c.redactor_id = 0;
    ForEachSlotUncached(t, [&](const PyMemberDef* m) {
      c.members.push_back(m);
      c.offsets.push_back(m->offset);
      c.names.emplace_back(m->name);
      return true;
    });
    if (c.generation == 0 || c.names != names_before || c.offsets != offsets_before) c.generation = ++generations;
    c.tag = tag;
  }
  return &c;
}

struct SlotLayoutSlot {
  PyTypeObject* type = nullptr;
  unsigned int tag = 0;
  SlotLayout* layout = nullptr;
};
SlotLayoutSlot g_slot_layouts[64];

inline SlotLayout* SlotLayoutOf(PyTypeObject* t) {
  const unsigned int tag = ValidVersionTag(t);
  if (tag == 0) return nullptr;
  SlotLayoutSlot& s = g_slot_layouts[(reinterpret_cast<uintptr_t>(t) * 0x9E3779B97F4A7C15ull) >> 58];
  if (s.type != t || s.tag != tag) {
    s.layout = FindSlotLayout(t, tag);
    s.type = t;
    s.tag = tag;
  }
  return s.layout;
}

template <typename F>
bool ForEachSlot(PyTypeObject* t, F&& f) {
  const SlotLayout* layout = SlotLayoutOf(t);
  if (layout == nullptr) return ForEachSlotUncached(t, std::forward<F>(f));
  // By index: f may render a value, whose allocations may run a collection,
  // and so a finalizer that changes t (its layout is then made again, the
  // same members in a new vector).
  for (size_t i = 0; i < layout->members.size(); ++i) {
    if (!f(layout->members[i])) return false;
  }
  return true;
}

inline PyObject* SlotValue(PyObject* v, const PyMemberDef* m) {
  return *reinterpret_cast<PyObject**>(reinterpret_cast<char*>(v) + m->offset);
}

// Whether Renderer::Value renders instances of t with Instance: none of the
// types with a branch of their own is among its bases.
bool InstanceRoute(PyTypeObject* t) {
  if (PlainInstanceType(t)) return true;
  static PyTypeObject* const kOwnBranch[] = {
      &PyType_Type,    &PyFunction_Type, &PyModule_Type, &PyLong_Type,  &PyFloat_Type,
      &PyUnicode_Type, &PyBytes_Type,    &PyList_Type,   &PyTuple_Type, &PyDict_Type,
      &PySet_Type,     &PyFrozenSet_Type, reinterpret_cast<PyTypeObject*>(PyExc_BaseException)};
  for (PyTypeObject* b : kOwnBranch) {
    if (PyType_IsSubtype(t, b)) return false;
  }
  return t != &PyComplex_Type && t != Py_TYPE(Py_None);
}

// An instance's __dict__ as _PyObject_GetDictPtr reads it (a new reference),
// or null; *unfilled if its dict slot holds none yet. A missing dict is not
// made: a C class may behave differently once it has one (functools.partial
// stops flattening a partial of a partial). An instance whose attributes are
// inline values (compat::InlineAttrs, 3.11+) is returned itself (a new
// reference) and read in place by Items: asking for its __dict__ would make
// one from them for good, a split table, on which CPython specializes no
// attribute access (SPEC_FAIL_ATTR_SPLIT_DICT): every later load and store
// of that instance's attributes, recorded code or not, would take the
// generic path for the rest of the run (3.12: a loop of them in excluded
// code ran 3.3x slower once a recorded function had shown the instance).
PyObject* InstanceDict(PyObject* v, bool* unfilled) {
  *unfilled = false;
  if (compat::HasInlineAttrs(v)) {
    Py_INCREF(v);
    return v;
  }
  PyObject** slot = _PyObject_GetDictPtr(v);
  if (slot == nullptr) {
    PyErr_Clear();
    return nullptr;
  }
  if (*slot == nullptr) {
    PyErr_Clear();
    *unfilled = true;
    return nullptr;
  }
  Py_INCREF(*slot);
  return *slot;
}

// Interned keys, made once (with the GIL).
PyObject* ModuleKey() {
  static PyObject* const key = PyUnicode_InternFromString("__module__");
  return key;
}
PyObject* NameKey() {
  static PyObject* const key = PyUnicode_InternFromString("__name__");
  return key;
}

// The str a module's __name__ is bound to (borrowed), or null: what
// PyModule_GetName reads.
PyObject* ModuleNameObject(PyObject* m) {
  PyObject* d = PyModule_GetDict(m);
  PyObject* name = (d && NameKey()) ? PyDict_GetItemWithError(d, NameKey()) : nullptr;
  if (!name) {
    PyErr_Clear();
    return nullptr;
  }
  return PyUnicode_CheckExact(name) ? name : nullptr;
}

bool IsDunder(std::string_view s) {
  return s.size() >= 4 && s.compare(0, 2, "__") == 0 && s.compare(s.size() - 2, 2, "__") == 0;
}

// A reference held for the duration of a rendering step: the containers we
// walk cannot be freed under us even if an allocation triggers a collection.
struct Ref {
  explicit Ref(PyObject* o) : o(o) { Py_XINCREF(o); }
  ~Ref() { Py_XDECREF(o); }
  PyObject* o;
};

// The items of a dict, or an instance's attributes (`dict` from
// InstanceDict: its __dict__, or the instance itself when they are inline
// values), in PyDict_Next's order. A split table or inline values are read
// at once, in place; with `hold`, their keys and values are held until the
// end (a rendering step in between may allocate).
class Items {
 public:
#if PY_VERSION_HEX >= 0x030B0000
  Items(PyObject* owner, PyObject* dict, bool hold = false) : dict_(dict), hold_(hold) {
    if (dict == owner && !PyDict_Check(dict)) {
      n_ = compat::InlineAttrs(owner, keys_, values_, kMax);
      if (n_ < 0) {
        ok_ = false;  // not as HasInlineAttrs found them: nothing is read
        n_ = 0;
      }
    } else {
#if PY_VERSION_HEX >= 0x030D0000
      n_ = compat::SplitEntries(dict, keys_, values_, kMax);
#endif
    }
    if (hold_) {
      for (Py_ssize_t i = 0; i < n_; ++i) {
        Py_INCREF(keys_[i]);
        Py_INCREF(values_[i]);
      }
    }
  }
  ~Items() {
    if (hold_) {
      for (Py_ssize_t i = 0; i < n_; ++i) {
        Py_DECREF(keys_[i]);
        Py_DECREF(values_[i]);
      }
    }
  }
  Items(const Items&) = delete;
  Items& operator=(const Items&) = delete;
  // False if inline values could not be read (then Next gives nothing).
  bool ok() const { return ok_; }
  // Borrowed: the next key and value, or false past the last.
  bool Next(PyObject** key, PyObject** value) {
    if (n_ < 0) return PyDict_Next(dict_, &pos_, key, value) != 0;
    if (pos_ >= n_) return false;
    *key = keys_[pos_];
    *value = values_[pos_];
    ++pos_;
    return true;
  }

 private:
  static constexpr Py_ssize_t kMax = SharedRendering::kMaxSplit;
  PyObject* dict_;
  bool hold_;
  bool ok_ = true;
  Py_ssize_t n_ = -1;  // -1: PyDict_Next
  Py_ssize_t pos_ = 0;
  PyObject* keys_[kMax];
  PyObject* values_[kMax];
#else
  // Before 3.13 no inline values are read in place and no split table is
  // read at once (SplitEntries): PyDict_Next.
  Items(PyObject*, PyObject* dict, bool = false) : dict_(dict) {}
  bool ok() const { return true; }
  bool Next(PyObject** key, PyObject** value) { return PyDict_Next(dict_, &pos_, key, value) != 0; }

 private:
  PyObject* dict_;
  Py_ssize_t pos_ = 0;
#endif
};

// Whether `dict`, from InstanceDict(v), is v's inline values (v itself).
inline bool InlineOf(PyObject* v, PyObject* dict) { return dict == v; }

}  // namespace

namespace {

// Appends the text of a builtin type's repr slot applied to v (C code of
// that type: no user hook runs), or `fallback` if it fails.
void AppendSlotRepr(reprfunc repr, PyObject* v, const char* fallback, std::string* out) {
  PyObject* r = v ? repr(v) : nullptr;
  if (!r) {
    PyErr_Clear();
    out->append(fallback);
    return;
  }
  out->append(Utf8(r));
  Py_DECREF(r);
}

// PyOS_double_to_string(d, 'r', 0, flags) for the flags float.__repr__ and
// complex.__repr__ use: the shortest digits that read back as d, laid out as
// CPython's format_float_short does for 'r' (exponent form below 1e-4 and
// from 1e16, at least two exponent digits; ".0" on an integral value with
// add_dot_0; a '+' on a positive value with sign; NaN without its sign). The
// digits come from std::to_chars, which gives the same shortest round-trip
// digits (the closest to d among them) as CPython's dtoa mode 0 without its
// bignum arithmetic and allocations: about a tenth of the instructions. The
// end-to-end tests compare the two.
void AppendDouble(double d, bool add_dot_0, bool sign, std::string* out) {
  if (std::isnan(d)) {
    out->append(sign ? "+nan" : "nan");
    return;
  }
  if (std::isinf(d)) {
    out->append(d < 0 ? "-inf" : sign ? "+inf" : "inf");
    return;
  }
  // "-d.dddde+XX" or "de-XX": the digits, and the exponent of the first.
  char sci[40];
  auto res = std::to_chars(sci, sci + sizeof(sci), d, std::chars_format::scientific);
  if (res.ec != std::errc()) {
    int flags = (add_dot_0 ? Py_DTSF_ADD_DOT_0 : 0) | (sign ? Py_DTSF_SIGN : 0);
    char* s = PyOS_double_to_string(d, 'r', 0, flags, nullptr);
    if (!s) {
      PyErr_Clear();
      out->append("<float>");
      return;
    }
    out->append(s);
    PyMem_Free(s);
    return;
  }
  const char* p = sci;
  const char* end = res.ptr;
  if (*p == '-') {
    out->push_back('-');
    ++p;
  } else if (sign) {
    out->push_back('+');
  }
  char digits[24];
  size_t n = 0;
  for (; p < end && *p != 'e'; ++p) {
    if (*p != '.' && n < sizeof(digits)) digits[n++] = *p;
  }
  int exp10 = 0;
  std::from_chars(p + 1 + (p[1] == '+'), end, exp10);
  // CPython's decpt: the value is 0.DIGITS times 10**decpt.
  const int decpt = exp10 + 1;
  if (decpt <= -4 || decpt > 16) {
    // Exponent form: d[.ddd]e+XX.
    out->push_back(digits[0]);
    if (n > 1) {
      out->push_back('.');
      out->append(digits + 1, n - 1);
    }
    char e[8];
    int x = decpt - 1;
    out->push_back('e');
    out->push_back(x < 0 ? '-' : '+');
    if (x < 0) x = -x;
    auto r = std::to_chars(e, e + sizeof(e), x);
    if (r.ptr - e < 2) out->push_back('0');
    out->append(e, static_cast<size_t>(r.ptr - e));
  } else if (decpt <= 0) {
    out->append("0.");
    out->append(static_cast<size_t>(-decpt), '0');
    out->append(digits, n);
  } else if (static_cast<size_t>(decpt) < n) {
    out->append(digits, static_cast<size_t>(decpt));
    out->push_back('.');
    out->append(digits + decpt, n - static_cast<size_t>(decpt));
  } else {
    out->append(digits, n);
    out->append(static_cast<size_t>(decpt) - n, '0');
    if (add_dot_0) out->append(".0");
  }
}

// float.__repr__.
void AppendFloat(double d, std::string* out) { AppendDouble(d, true, false, out); }

// complex.__repr__: the imaginary part alone when the real part is +0.0,
// else both in parentheses, the imaginary part signed.
void AppendComplex(Py_complex c, std::string* out) {
  if (c.real == 0.0 && std::copysign(1.0, c.real) == 1.0) {
    AppendDouble(c.imag, false, false, out);
    out->push_back('j');
    return;
  }
  out->push_back('(');
  AppendDouble(c.real, false, false, out);
  AppendDouble(c.imag, false, true, out);
  out->append("j)");
}

}  // namespace

std::string_view Utf8View(PyObject* s) {
  // An ASCII str's characters are its UTF-8 (what the call below returns).
  if (PyUnicode_Check(s) && PyUnicode_IS_COMPACT_ASCII(s)) {
    return std::string_view(static_cast<const char*>(PyUnicode_DATA(s)), static_cast<size_t>(PyUnicode_GET_LENGTH(s)));
  }
  Py_ssize_t n = 0;
  const char* p = PyUnicode_AsUTF8AndSize(s, &n);
  if (!p) {
    PyErr_Clear();
    return std::string_view();
  }
  return std::string_view(p, static_cast<size_t>(n));
}

std::string Utf8(PyObject* s) {
  Py_ssize_t n = 0;
  const char* p = PyUnicode_AsUTF8AndSize(s, &n);
  if (!p) {
    PyErr_Clear();
    return std::string();
  }
  return std::string(p, static_cast<size_t>(n));
}

bool Renderer::HeldTupleItems(PyObject* v) {
  const Py_ssize_t n = PyTuple_GET_SIZE(v);
  if (n > kHeldTupleItems) return false;
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (!IsImmutableScalar(PyTuple_GET_ITEM(v, i))) return false;
  }
  return true;
}

namespace {
// Released shared renderings, kept with their entries' room for the next
// (under the GIL, as everything here).
std::vector<SharedRendering*>& SpareShared() {
  static std::vector<SharedRendering*> spare;
  return spare;
}
constexpr size_t kMaxSpareShared = 1024;

SharedRendering* NewShared() {
  auto& spare = SpareShared();
  if (spare.empty()) return new SharedRendering();
  SharedRendering* s = spare.back();
  spare.pop_back();
  return s;
}

void Unref(SharedRendering* s) {
  if (--s->refs > 0) return;
  s->fp.Clear();  // drops its references (and the shared renderings it holds)
  s->guards.clear();
  s->ReleaseSplit();
  s->ReleaseAttrs();
  s->guarded = false;
  s->dicts_watched = false;
  s->watch_worth = false;
  s->cyclic = false;
  s->ancestors_count = 0;
  s->epoch = 0;
  auto& spare = SpareShared();
  if (spare.size() < kMaxSpareShared) {
    spare.push_back(s);
  } else {
    delete s;
  }
}
}  // namespace

void Fingerprint::Release() {
  for (auto& e : entries_) {
    if (e.size == kScalar) Py_DECREF(e.obj);
    else if (e.size == kShared) Unref(e.shared);
    else if (HoldsName(e.size)) {
      Py_XDECREF(e.type_name);
      if (e.size == kClass) Py_XDECREF(e.dict);  // its __module__
    }
  }
  entries_.clear();
  objs_.clear();
}

void Renderer::ReleaseCaches() {
  scratch_.Clear();
  for (auto& c : top_cache_) {
    if (c.shared) Unref(c.shared);
    c.shared = nullptr;
    c.obj = nullptr;
  }
  for (auto& c : render_cache_) {
    if (c.shared) Unref(c.shared);
    c.shared = nullptr;
    c.obj = nullptr;
  }
  for (auto& n : name_cache_) Py_CLEAR(n.name);
  for (SharedRendering* s : SpareShared()) delete s;
  SpareShared().clear();
}

bool Renderer::SecretKey(PyObject* key) {
  if (PyUnicode_Check(key)) return ShouldRedactName(key, Utf8View(key));
  // os.environ's own mapping (_data) has bytes keys: read as UTF-8 text.
  if (PyBytes_Check(key)) {
    return ShouldRedactName(key, std::string_view(PyBytes_AS_STRING(key), static_cast<size_t>(PyBytes_GET_SIZE(key))));
  }
  return false;
}

bool Renderer::ShouldRedactName(PyObject* name, std::string_view text) {
  if (name_cache_.empty()) name_cache_.resize(kNameCacheSize);
  // Attribute names are interned strings: one object per name.
  CachedName& c = name_cache_[(reinterpret_cast<uintptr_t>(name) >> 4) % kNameCacheSize];
  if (c.name == name) return c.redact;
  bool redact = redactor_->ShouldRedact(text);
  Py_INCREF(name);
  Py_XSETREF(c.name, name);
  c.redact = redact;
  return redact;
}

void Renderer::Render(PyObject* v, std::string* out) {
  // A value rendered once (a return value): fingerprinted all the same,
  // into scratch, so that the instances and dicts in it are taken from the
  // caches when unchanged. A scalar has nothing to take.
  if (IsImmutableScalar(v)) return Render(v, out, nullptr);
  // The caches' "unchanged as of this event" is stale: the program may have
  // run since the last capture (with --locals none, there is none).
  NextEpoch();
  Render(v, out, &scratch_);
  scratch_.Clear();
}

void Renderer::Render(PyObject* v, std::string* out, Fingerprint* fp) {
  out->clear();
#if PY_VERSION_HEX >= 0x030C0000
  // The most frequent value (returned by calls): an int that fits a word,
  // which no limit can cut.
  if (fp == nullptr && PyLong_CheckExact(v) && PyUnstable_Long_IsCompact(reinterpret_cast<PyLongObject*>(v))) {
    Int(v, out);
    return;
  }
#endif
  start_ = 0;
  deepest_ = 0;
  active_.clear();
  fp_ = fp;
  if (fp_) fp_->Clear();
  Value(v, 0, out);
  Finish(out);
  if (fp_ && !fp_->valid_) fp_->Clear();
  if (fp_) fp_->valid_ = !fp_->entries_.empty();
  if (fp_ && fp_->valid_) Rendered(fp_);
  fp_ = nullptr;
}

void Renderer::Record(PyObject* v, Py_ssize_t size) {
  if (!fp_ || !fp_->valid_) return;
  if (size == Fingerprint::kScalar) Py_INCREF(v);
  Fingerprint::Entry e{v, size, 0};
  if (size >= 0) e.type = Py_TYPE(v);  // a container: its exact type
  fp_->Push(e);
}

void Renderer::RecordInstance(PyObject* v, PyObject* dict, bool versioned) {
  if (!fp_ || !fp_->valid_) return;
  Fingerprint::Entry e{v, Fingerprint::kInstance, 0};
  e.dict = dict;
  e.version = versioned ? compat::DictVersion(dict) : 0;
  e.type = Py_TYPE(v);
  e.type_name = HeapName(Py_TYPE(v));
  Py_XINCREF(e.type_name);
  fp_->Push(e);
}

void Renderer::RecordNamed(PyObject* v, Py_ssize_t kind, PyTypeObject* type, PyObject* name) {
  if (!fp_ || !fp_->valid_) return;
  Fingerprint::Entry e{v, kind, 0};
  e.type = type;
  e.type_name = name;
  Py_XINCREF(name);
  fp_->Push(e);
}

namespace {

// Walks a value in the order Renderer::Value visited it, comparing
// identities against a fingerprint's entries. A rendering that outgrew its
// length budget was cut at entry `cut`: what comes after cannot change the
// text (Finish keeps only the bytes already written), so reaching it with
// everything before unchanged ends the walk as unchanged (`done`).
// The object bound to __module__ in a heap class's dict (borrowed), or
// null: a lookup in an exact dict by an interned str, which runs no program
// code.
PyObject* ClassModule(PyObject* dict) {
  if (dict == nullptr || !PyDict_CheckExact(dict) || ModuleKey() == nullptr) return nullptr;
  PyObject* mod = PyDict_GetItemWithError(dict, ModuleKey());
  if (mod == nullptr) PyErr_Clear();
  return mod;
}

class Walk {
 public:
  explicit Walk(const Fingerprint& f)
      : f_(f),
        entries_(f.entries().data()),
        count_(f.entries().size()),
        end_(std::min(f.cut(), count_)),
        cut_(f.cut() != std::string::npos) {}
  bool Same(PyObject* v);
  // All entries compared, or the rest cannot matter.
  bool Complete() const { return done_ || idx_ == count_; }
  // v (the object s was rendered from) still renders to s's text: compared
  // once per event, then remembered.
  __attribute__((always_inline)) static bool SharedSame(SharedRendering* s, PyObject* v) {
    if (s->epoch == Renderer::epoch()) return s->same;
    if (s->watch_worth) return WatchedSharedSame(s, v);
    bool same;
    if (s->guarded) {
      same = GuardsHold(*s);
    } else {
      Walk walk(s->fp);
      same = walk.Same(v) && walk.Complete();
    }
    s->epoch = Renderer::epoch();
    s->same = same;
    return same;
  }
  // The same, for a rendering whose fingerprint's Watch is worth trying.
  __attribute__((noinline)) static bool WatchedSharedSame(SharedRendering* s, PyObject* v) {
    bool same;
    if (Renderer::WatchedSame(s->fp, v)) {
      same = true;  // no watched dict changed since it was last found unchanged
    } else if (s->guarded) {
      same = GuardsHold(*s);
    } else {
      Walk walk(s->fp);
      same = walk.Same(v) && walk.Complete();
    }
    if (same) s->fp.Verified(Renderer::dict_mods());  // no program code runs during a capture
    s->epoch = Renderer::epoch();
    s->same = same;
    return same;
  }
  // s's guards: their answer, but where a truncated dict's fails (its
  // version changes with items it does not show), the walk's.
  static bool GuardsHold(SharedRendering& s);
  // A guard with `limited`: whether v, of class t, still renders as its
  // entry did.
  static bool LimitedHolds(const SharedRendering& s, const SharedRendering::Guard& g, PyObject* v, PyTypeObject* t);
  // That walk, of the object s was rendered from (its first entry's, which
  // every caller of SharedSame has just found alive there): if it finds
  // the rendering unchanged, the truncated dicts' guards take their
  // versions now, vouched for as of this walk.
  static bool WalkInstead(SharedRendering& s);
  // A container's length as its rendering shows it: the same, or for one
  // truncated (Fingerprint::Entry), any length past its visited items.
  static bool LengthShows(Py_ssize_t n, const Fingerprint::Entry& e) {
    return n == e.size || (e.truncated && n > static_cast<Py_ssize_t>(e.children));
  }
  static bool IdentitiesHold(const Fingerprint& fp, const std::vector<Fingerprint::Identity>& identities,
                             PyObject* v);
  // Same's answer for an entry whose text is a name, v of class t: a
  // kOpaque, kFunction, kClass or kModule one, or a kInstance one rendered
  // with its dict slot unfilled.
  static bool NamedSame(PyObject* v, PyTypeObject* t, const Fingerprint::Entry& e);

 private:
  bool Children(uint32_t children);
  // A slotted instance of e's class (checked), whose ForEachSlot members
  // are at `offsets`: each visited slot holding what it held, then whether
  // a set one follows as before.
  bool SlotsSame(PyObject* v, const Fingerprint::Entry& e, const Py_ssize_t* offsets, size_t n);
  // The same for a class without a valid version tag (no layout kept).
  __attribute__((noinline, cold)) bool UntaggedSlotsSame(PyObject* v, const Fingerprint::Entry& e);
  // `children` items of a sequence, each from next(&item) (false: none
  // left), compared in order with the entries that follow: a held scalar
  // item inline (the common case: unchanged iff the same object), anything
  // else by Same.
  template <typename Next>
  bool ItemsSame(uint32_t children, Next&& next) {
    for (uint32_t i = 0; i < children; ++i) {
      if (idx_ >= end_) return Stop();
      PyObject* item;
      if (!next(&item)) return false;
      if (entries_[idx_].size == Fingerprint::kScalar) {
        if (entries_[idx_].obj != item) return false;
        ++idx_;
        continue;
      }
      if (!Same(item)) return false;
      if (done_) return true;
    }
    return true;
  }
  // e (just consumed) is a list or tuple whose visited items each made one
  // entry, all held scalars (FlatItems) or all shared renderings
  // (SharedItems: a list of instances): the same container, of the same
  // length, holding the same objects up to the cut (the rest is past it
  // only if it was cut), and for shared renderings, each still rendering as
  // its own. The walk's answer without its dispatch or a call per item: a
  // short run (a pair, a row) is compared in a loop, a long one by memcmp.
  template <bool kShared>
  __attribute__((always_inline)) bool ItemsSameAt(PyObject* v, const Fingerprint::Entry& e) {
    if (Py_TYPE(v) != e.type) return false;
    const bool list = PyList_Check(v);
    const Py_ssize_t n = list ? PyList_GET_SIZE(v) : PyTuple_GET_SIZE(v);
    const uint32_t children = e.children;
    if (!LengthShows(n, e) || static_cast<Py_ssize_t>(children) > n) return false;
    PyObject* const* items =
        list ? reinterpret_cast<PyListObject*>(v)->ob_item : reinterpret_cast<PyTupleObject*>(v)->ob_item;
    const size_t k = idx_;
    const size_t run = std::min<size_t>(children, end_ > k ? end_ - k : 0);
    if (run < children && !cut_) return false;
    PyObject* const* held = f_.objs().data() + k;
    if (kShared || run <= 8) {
      for (size_t i = 0; i < run; ++i) {
        if (items[i] != held[i]) return false;
      }
    } else if (std::memcmp(items, held, run * sizeof(PyObject*)) != 0) {
      return false;
    }
    if constexpr (kShared) {
      // Each item is alive (the list holds it) and the object its rendering
      // was made from: its check reads it.
      for (size_t i = 0; i < run; ++i) {
        if (!SharedSame(entries_[k + i].shared, items[i])) return false;
      }
    }
    idx_ = k + run;
    if (run < children) done_ = true;  // the rest is past the cut
    return true;
  }
  bool FlatItems(PyObject* v, const Fingerprint::Entry& e) { return ItemsSameAt<false>(v, e); }
  bool SharedItems(PyObject* v, const Fingerprint::Entry& e) { return ItemsSameAt<true>(v, e); }
  // At the end of what is compared (idx_ >= end_): the cut, where the rest
  // is the same (done), or the last entry, where a walk wanting more has
  // found a change.
  bool Stop() {
    done_ = cut_;
    return cut_;
  }
  const Fingerprint& f_;
  const Fingerprint::Entry* entries_;
  size_t count_;
  size_t end_;  // the cut, or count_
  bool cut_;
  size_t idx_ = 0;
  bool done_ = false;
};

// The `children` items of a dict or instance whose dict has not changed
// since the rendering (same version): each entry's object is still the one
// bound there, so only what those objects hold can differ. Held scalars and
// fixed texts are skipped without looking at the dict.
bool Walk::Children(uint32_t children) {
  for (uint32_t i = 0; i < children; ++i) {
    if (idx_ >= end_) return Stop();
    const auto& c = entries_[idx_];
    if (c.size == Fingerprint::kScalar || c.size == Fingerprint::kFixed || c.size == Fingerprint::kRedacted) {
      ++idx_;
      continue;
    }
    if (c.scalar_items) {
      // Same's first case without the call (a dict of lists, or rows).
      ++idx_;
      if (!FlatItems(c.obj, c)) return false;
      if (done_) return true;
      continue;
    }
    if (!Same(c.obj)) return false;
    if (done_) return true;
  }
  return true;
}

bool Walk::NamedSame(PyObject* v, PyTypeObject* t, const Fingerprint::Entry& e) {
  switch (e.size) {
    case Fingerprint::kOpaque:
      // `<T object>`: the same class under the same name, still without a
      // __dict__ and still rendered by Instance (a heap class at a reused
      // address could be another kind; a static one lives for ever).
      return t == e.type && HeapName(t) == e.type_name && t->tp_dictoffset == 0 &&
             (e.type_name == nullptr || InstanceRoute(t));
    case Fingerprint::kFunction:
      return t == &PyFunction_Type && reinterpret_cast<PyFunctionObject*>(v)->func_qualname == e.type_name;
    case Fingerprint::kClass: {
      // `<class 'MODULE.QUALNAME'>`: the same __qualname__ object, and the
      // same __module__ object bound in its dict (both held). While that
      // dict is at the version rendered (unique: another dict at its
      // address has another) nothing in it changed; when it is not, a
      // class attribute was set (a class being built, attrs' and
      // dataclasses' way), and __module__ is looked up again.
      if (!PyType_Check(v) || !(reinterpret_cast<PyTypeObject*>(v)->tp_flags & Py_TPFLAGS_HEAPTYPE)) return false;
      auto* c = reinterpret_cast<PyHeapTypeObject*>(v);
      if (c->ht_qualname != e.type_name) return false;
      PyObject* dict = c->ht_type.tp_dict;
      return compat::DictVersion(dict) == e.version || ClassModule(dict) == e.dict;
    }
    case Fingerprint::kModule:
      return PyModule_Check(v) && ModuleNameObject(v) == e.type_name;
    case Fingerprint::kSubclass:
      // `T(base value)`: the same class under the same name (the base
      // value's own entry follows).
      return t == e.type && HeapName(t) == e.type_name;
    case Fingerprint::kInstance: {
      // Rendered with its dict slot unfilled (`T()`, e.dict null): of the
      // same class under the same name, unchanged while it is.
      if (t != e.type || HeapName(t) != e.type_name) return false;
      bool unfilled = false;
      Py_XDECREF(InstanceDict(v, &unfilled));
      return unfilled;
    }
    default:
      return false;
  }
}

bool Walk::Same(PyObject* v) {
  if (idx_ >= end_) return Stop();
  const auto& e = entries_[idx_++];
  if (e.obj != v) {
    // A redacted value shows `<redacted>` whatever it is: a secret attribute
    // or item bound anew (jmespath's Parser's `_tokens`, at each expression)
    // left its holder rendered anew at every event. A function's text and an
    // opaque object's name its kind, not the object (a closure made at each
    // call, a sentinel `object()`): their checks below read v alone.
    if (e.size == Fingerprint::kRedacted) return true;
    if (e.size != Fingerprint::kFunction && e.size != Fingerprint::kOpaque) return false;
  }
  // A held immutable scalar, or a value whose text does not depend on it.
  if (e.size == Fingerprint::kScalar || e.size == Fingerprint::kFixed || e.size == Fingerprint::kRedacted) return true;
  // The most frequent container (a dict of lists, a list of tuples...).
  if (e.scalar_items) return FlatItems(v, e);
  if (e.shared_items) return SharedItems(v, e);
  PyTypeObject* t = Py_TYPE(v);
  switch (e.size) {
    case Fingerprint::kOpaque:
    case Fingerprint::kFunction:
    case Fingerprint::kClass:
    case Fingerprint::kModule:
      return NamedSame(v, t, e);
    case Fingerprint::kException: {
      // The same class under the same name, and args (perhaps another
      // tuple) of the same length holding the same items.
      if (t != e.type || HeapName(t) != e.type_name || !PyExceptionInstance_Check(v)) return false;
      PyObject* args = reinterpret_cast<PyBaseExceptionObject*>(v)->args;
      if (args == nullptr || !PyTuple_Check(args) || static_cast<uint64_t>(PyTuple_GET_SIZE(args)) != e.version) {
        return false;
      }
      for (uint32_t i = 0; i < e.children; ++i) {
        if (!Same(PyTuple_GET_ITEM(args, i))) return false;
        if (done_) return true;
      }
      return true;
    }
    case Fingerprint::kShared:
      return SharedSame(e.shared, v);
    case Fingerprint::kSlots: {
      // The same class under the same name (the same slots), each slot
      // walked past holding what it held (or still unset), then whether a
      // set slot follows the visited ones as before.
      // (And the same slots: a class made at a freed one's address may have
      // its name object, and other slots.)
      if (t != e.type || HeapName(t) != e.type_name) return false;
      if (const SlotLayout* layout = SlotLayoutOf(t)) {
        return layout->generation == e.version && SlotsSame(v, e, layout->offsets.data(), layout->offsets.size());
      }
      return e.version == 0 && UntaggedSlotsSame(v, e);
    }
    case Fingerprint::kLimited:
      // Still of the class it was (and for an instance, under the same
      // name): the same brackets. (An instance's class decides that it is
      // rendered by Instance, with a dict slot.)
      return t == e.type && (!e.more || HeapName(t) == e.type_name);
    case Fingerprint::kSubclass:
      // The same class under the same name (a reassigned __class__ or
      // __name__ is seen), then the base value: its own entry follows.
      if (t != e.type || HeapName(t) != e.type_name) return false;
      return Same(v);
    default:
      break;
  }
  if (e.size == Fingerprint::kInstance) {
    // Same class, same __dict__ at the same version: the same attributes
    // bound to the same objects. Only what those objects hold may differ.
    if (e.dict == nullptr) return NamedSame(v, t, e);
    if (t != e.type || HeapName(t) != e.type_name) return false;
    bool unfilled = false;
    PyObject* dict = InstanceDict(v, &unfilled);
    if (dict == nullptr) return false;
    if (dict != e.dict) {
      Py_DECREF(dict);
      return false;
    }
    if (e.version != 0) {
      bool same = compat::DictVersion(dict) == e.version;
      Py_DECREF(dict);  // v keeps it alive
      // The attributes the rendering visited, in its order (Renderer::Instance).
      return same && Children(e.children);
    }
    // No usable version: walk the attributes as Renderer::Instance did, each
    // name and value by identity, then whether any was left out after them.
    Ref hold(dict);
    Py_DECREF(dict);
    // Inline values, or a split table (3.13: a __dict__ sharing them), are
    // read in place, in the order PyDict_Next would give (no program code
    // runs during the walk).
    Items items(v, dict);
    if (!items.ok()) return false;
    auto next = [&](PyObject** k, PyObject** val) { return items.Next(k, val); };
    PyObject *key, *value;
    for (uint32_t i = 0; i < e.children;) {
      if (idx_ >= end_) return Stop();
      if (!next(&key, &value)) return false;
      const Fingerprint::Entry& name = entries_[idx_];
      if (name.obj == key && name.size == Fingerprint::kScalar) {
        // The name rendered here (a rendered name is never a dunder one).
        ++idx_;
      } else {
        if (!PyUnicode_Check(key) || IsDunder(Utf8View(key))) continue;
        if (!Same(key)) return false;
        if (done_) return true;
      }
      if (idx_ < end_ && entries_[idx_].size == Fingerprint::kScalar) {
        // A held scalar value: unchanged iff the same object.
        if (entries_[idx_].obj != value) return false;
        ++idx_;
      } else {
        if (!Same(value)) return false;
        if (done_) return true;
      }
      ++i;
    }
    if (cut_ && idx_ >= end_) return Stop();
    bool more = false;
    while (!more && next(&key, &value)) {
      more = PyUnicode_Check(key) && !IsDunder(Utf8View(key));
    }
    return more == e.more;
  }
  // A container at the address of another kind of container, made since:
  // not the one rendered.
  // (A subclass's container entry has its class: its kSubclass entry,
  // just compared, comes first.)
  if (t != e.type) return false;
  if (PyList_Check(v) || PyTuple_Check(v)) {
    bool list = PyList_Check(v);
    Py_ssize_t n = list ? PyList_GET_SIZE(v) : PyTuple_GET_SIZE(v);
    if (!LengthShows(n, e) || static_cast<Py_ssize_t>(e.children) > n) return false;
    PyObject* const* items = list ? reinterpret_cast<PyListObject*>(v)->ob_item
                                  : reinterpret_cast<PyTupleObject*>(v)->ob_item;
    Py_ssize_t i = 0;
    return ItemsSame(e.children, [&](PyObject** item) {
      *item = items[i++];
      return true;
    });
  }
  if (PyDict_Check(v)) {
    if (!LengthShows(PyDict_GET_SIZE(v), e)) return false;
    // Keys then values, per item visited.
    if (e.version != 0 && compat::DictVersion(v) == e.version) return Children(2 * e.children);
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    for (uint32_t i = 0; i < e.children; ++i) {
      if (idx_ >= end_) return Stop();
      if (!PyDict_Next(v, &pos, &key, &value)) return false;
      if (!Same(key)) return false;
      if (done_) return true;
      if (!Same(value)) return false;
      if (done_) return true;
    }
    return true;
  }
  if (PyAnySet_Check(v)) {
    // The same items in the same order: the set's table, read as
    // Renderer::Set reads it (never a subclass's __iter__, the program's).
    if (!LengthShows(PySet_GET_SIZE(v), e)) return false;
    Py_ssize_t pos = 0;
    // Borrowed: no program code runs during the walk to drop them.
    return ItemsSame(e.children, [&](PyObject** item) { return compat::SetNext(v, &pos, item); });
  }
  if (t == &PyByteArray_Type) {
    // The same length, and the bytes shown the same as the copy held.
    if (PyByteArray_GET_SIZE(v) != e.size) return false;
    if (idx_ >= end_) return Stop();
    PyObject* copy = entries_[idx_++].obj;
    const Py_ssize_t shown = PyBytes_GET_SIZE(copy);
    return std::memcmp(PyByteArray_AS_STRING(v), PyBytes_AS_STRING(copy), static_cast<size_t>(shown)) == 0;
  }
  if (IsDeque(t)) {
    // The same maxlen, then the same items in order, read in place (no
    // program code runs during the walk to change it). Until the layout is
    // proven (for maxlen, then for items if any are compared), any deque is
    // taken as changed: rendered again and compared by its text.
    if (dq::maxlen_layout != 1 || (e.children > 0 && dq::layout != 1) || !LengthShows(Py_SIZE(v), e)) return false;
    if (idx_ >= end_) return Stop();
    PyObject* held = entries_[idx_++].obj;
    const Py_ssize_t maxlen = dq::MaxLen(v);
    if (held == Py_None ? maxlen != -1 : (maxlen == -1 || PyLong_AsSsize_t(held) != maxlen)) return false;
    dq::Cursor cursor(v);
    return ItemsSame(e.children, [&](PyObject** item) {
      *item = cursor.Next();
      return true;
    });
  }
  return false;
}

bool Walk::SlotsSame(PyObject* v, const Fingerprint::Entry& e, const Py_ssize_t* offsets, size_t n) {
  const uint32_t children = e.children;
  if (children > n) return false;
  auto slot = [&](size_t k) { return *reinterpret_cast<PyObject**>(reinterpret_cast<char*>(v) + offsets[k]); };
  for (uint32_t k = 0; k < children; ++k) {
    if (idx_ >= end_) return Stop();
    PyObject* value = slot(k);
    const Fingerprint::Entry& c = entries_[idx_];
    if (c.size == Fingerprint::kScalar || c.size == Fingerprint::kFixed || c.size == Fingerprint::kRedacted) {
      // (kFixed: unset, with no object, or a built-in class; kRedacted: set
      // to anything.)
      if (c.obj != value && !(c.size == Fingerprint::kRedacted && value != nullptr)) return false;
      ++idx_;
      continue;
    }
    // Unset now (deleted), where it held a value of another kind: changed.
    // (Same reads the object of a function's or opaque entry.)
    if (value == nullptr || !Same(value)) return false;
    if (done_) return true;
  }
  // The rendering was cut right after them: what follows is not shown.
  if (cut_ && idx_ >= end_) return Stop();
  bool more = false;
  for (size_t k = children; k < n && !more; ++k) more = slot(k) != nullptr;
  return more == e.more;
}

bool Walk::UntaggedSlotsSame(PyObject* v, const Fingerprint::Entry& e) {
  std::vector<Py_ssize_t> offsets;
  ForEachSlotUncached(Py_TYPE(v), [&](const PyMemberDef* m) {
    offsets.push_back(m->offset);
    return true;
  });
  return SlotsSame(v, e, offsets.data(), offsets.size());
}

bool Walk::GuardsHold(SharedRendering& s) {
  for (const SharedRendering::Guard& g : s.guards) {
    PyObject* v = g.obj;
    if (g.shared) {
      if (!SharedSame(g.shared, v)) return g.walk_on_fail && WalkInstead(s);
      continue;
    }
    PyTypeObject* t = Py_TYPE(v);
    if (t != g.type) {
      // (A limited guard has no `type`: it is checked here, off the path
      // of the others.)
      if (g.limited == SharedRendering::Guard::kNotLimited) return false;
      if (!LimitedHolds(s, g, v, t)) return g.walk_on_fail && WalkInstead(s);
      continue;
    }
    if (g.dict == nullptr) {
      if (g.items < 0) {
        // A dict: Same's dict branch, whose version vouches for its items.
        if (PyDict_GET_SIZE(v) != g.size || compat::DictVersion(v) != g.version) {
          return g.walk_on_fail && WalkInstead(s);
        }
        continue;
      }
      // A list, tuple or set of held scalars: the same length, and the
      // items shown, in order, the same objects (as Walk::Same compares it).
      PyObject* const* held = (g.apart ? s.items_apart.data() : s.fp.objs().data()) + g.items_at;
      const size_t n = static_cast<size_t>(g.items);
      if (PyList_Check(v) || PyTuple_Check(v)) {
        const bool list = PyList_Check(v);
        const Py_ssize_t size = list ? PyList_GET_SIZE(v) : PyTuple_GET_SIZE(v);
        if (size != g.size && !(g.truncated && size > g.items)) return g.walk_on_fail && WalkInstead(s);
        PyObject* const* items =
            list ? reinterpret_cast<PyListObject*>(v)->ob_item : reinterpret_cast<PyTupleObject*>(v)->ob_item;
        if (!SameObjects(items, held, n)) return g.walk_on_fail && WalkInstead(s);
        continue;
      }
      const Py_ssize_t size = PySet_GET_SIZE(v);
      if (size != g.size && !(g.truncated && size > g.items)) return g.walk_on_fail && WalkInstead(s);
      Py_ssize_t pos = 0;
      for (size_t k = 0; k < n; ++k) {
        PyObject* item;  // borrowed: no program code runs meanwhile
        if (!compat::SetNext(v, &pos, &item) || item != held[k]) return g.walk_on_fail && WalkInstead(s);
      }
      continue;
    }
    // An instance: Same's kInstance branch, at a version. The same object
    // of the same class keeps its dict where it did.
    if (HeapName(t) != g.name) return false;
#if PY_VERSION_HEX >= 0x030B0000
    if (g.slot == nullptr) {
      // Inline values, still without a __dict__: the same keys bound to the
      // same objects, in order.
      if (!compat::InlineAttrsAre(v, s.shapes[g.shape])) return g.walk_on_fail && WalkInstead(s);
      continue;
    }
#endif
    if (*g.slot != g.dict) return false;
    if (g.split < 0) {
      if (compat::DictVersion(g.dict) != g.version) return g.walk_on_fail && WalkInstead(s);
      continue;
    }
    // A split table: the same keys bound to the same objects, in order.
    if (!compat::SplitEntriesAre(g.dict, s.split_keys.data() + g.split_at, s.split_values.data() + g.split_at,
                                 g.split)) {
      return g.walk_on_fail && WalkInstead(s);
    }
  }
  return true;
}

bool Walk::LimitedHolds(const SharedRendering& s, const SharedRendering::Guard& g, PyObject* v, PyTypeObject* t) {
  if (g.limited == SharedRendering::Guard::kLimitedEntry) return NamedSame(v, t, s.fp.entries()[g.items_at]);
  // A cycle or the depth limit: the class it had (in `dict`), and for an
  // instance that class's name.
  return reinterpret_cast<PyObject*>(t) == g.dict &&
         (g.limited != SharedRendering::Guard::kLimitedNamed || HeapName(t) == g.name);
}

__attribute__((noinline, cold)) bool Walk::WalkInstead(SharedRendering& s) {
  Walk walk(s.fp);
  if (!walk.Same(s.fp.objs()[0]) || !walk.Complete()) return false;
  if (s.rebinds) return true;
  // Every object of the rendering up to its cut (a whole value kept by
  // ReuseTop may have one) was just found where it was, and what lies past
  // the cut cannot change its text: the guarded dicts and instances are
  // alive, and render as they did. Their guards take them as they are now
  // (a split table's, a list's or set's, and a shared rendering's keep
  // theirs, and fail again to the walk).
  for (SharedRendering::Guard& g : s.guards) {
    if (!g.walk_on_fail || g.shared != nullptr || g.items >= 0 || g.limited != SharedRendering::Guard::kNotLimited) {
      continue;
    }
    if (g.dict == nullptr) {
      g.size = PyDict_GET_SIZE(g.obj);
      g.version = compat::DictVersion(g.obj);
    } else if (g.slot == nullptr) {
#if PY_VERSION_HEX >= 0x030B0000
      compat::InlineShape now;
      if (compat::InlineAttrs(g.obj, nullptr, nullptr, SharedRendering::kMaxSplit, &now) == g.split) {
        s.shapes[g.shape] = now;
      }
#endif
    } else if (g.split < 0) {
      g.version = compat::DictVersion(g.dict);
    }
  }
  return true;
}

bool Walk::IdentitiesHold(const Fingerprint& fp, const std::vector<Fingerprint::Identity>& identities,
                          PyObject* v) {
  if (fp.entries().empty() || fp.entries()[0].obj != v) return false;
  for (const Fingerprint::Identity& id : identities) {
    // In pre-order: an object is looked at only once what holds it is
    // known unchanged (so it is alive).
    if (id.type != nullptr) {
      PyTypeObject* t = Py_TYPE(id.obj);
      if (t != id.type || HeapName(t) != id.name) return false;
      if (id.instance) {
        // Its class unchanged, its __dict__ made already (id.dict): read
        // where it is, making nothing.
        PyObject** slot = _PyObject_GetDictPtr(id.obj);
        if (slot == nullptr) {
          PyErr_Clear();
          return false;
        }
        if (*slot != id.dict) return false;
      }
    }
    if (id.version != 0 && compat::DictVersion(id.dict) != id.version) return false;
  }
  return true;
}

// Whether entries[i] is a list, tuple, set or frozenset (exact types) whose
// items shown are all held scalars (or for a list or tuple, all shared
// renderings), their entries right after it: checked by a guard of its own
// (SharedRendering::Guard::items).
bool FlatGuardable(const std::vector<Fingerprint::Entry>& entries, size_t count, size_t i) {
  const Fingerprint::Entry& e = entries[i];
  if (e.size < 0 || e.children > static_cast<uint64_t>(e.size) || i + 1 + e.children > count) return false;
  if (e.type == &PyList_Type || e.type == &PyTuple_Type) return e.scalar_items || e.shared_items;
  if (e.type != &PySet_Type && e.type != &PyFrozenSet_Type) return false;
  for (size_t k = i + 1; k <= i + e.children; ++k) {
    if (entries[k].size != Fingerprint::kScalar) return false;
  }
  return true;
}

// The guards of a shared rendering, if it can have them (see Guard).
void BuildGuards(SharedRendering* s) {
  s->guards.clear();
  s->ReleaseSplit();
  s->guarded = false;
  s->rebinds = false;
  // Not guardable: the walk compares it (guards built so far are dropped).
  auto unguarded = [s] {
    s->guards.clear();
    s->ReleaseSplit();
  };
  const std::vector<Fingerprint::Entry>& entries = s->fp.entries();
  // Up to the cut, if it has one (a whole value kept by ReuseTop): what
  // lies past it cannot change the text, and may not even be alive when
  // the guards are read.
  const size_t count = std::min(entries.size(), s->fp.cut());
  // A redacted value bound anew changes no text, but the version or shape
  // of what holds it: its failed guards leave the answer to the walk. So
  // does a function or an opaque object bound anew (rebinds).
  bool redacts = false;
  bool rebinds = false;
  for (size_t i = 0; i < count; ++i) {
    const Fingerprint::Entry& e = entries[i];
    if (e.size == Fingerprint::kScalar || e.size == Fingerprint::kFixed) continue;
    if (e.size == Fingerprint::kRedacted) {
      redacts = true;
      continue;
    }
    SharedRendering::Guard g{e.obj};
    if (e.size == Fingerprint::kShared) {
      const SharedRendering* nested = e.shared;
      if (nested->guarded && nested->guards.size() == 1 && nested->guards[0].shared == nullptr &&
          nested->guards[0].split < 0 && nested->guards[0].items < 0 &&
          nested->guards[0].limited == SharedRendering::Guard::kNotLimited) {
        // A shared rendering checked by one guard of its own (a dict, or an
        // instance of versioned __dict__: tags={...} on an instance): that
        // guard, copied, in its place (its entries follow none of ours).
        // Checked after what holds it (pre-order), it reads a live object.
        g = nested->guards[0];
      } else {
        g.shared = e.shared;
      }
    } else if (e.size == Fingerprint::kInstance && e.dict != nullptr) {
      g.type = e.type;
      g.name = e.type_name;
      g.dict = e.dict;
      g.version = e.version;
      const bool inline_attrs = InlineOf(e.obj, e.dict);
      if (!inline_attrs) {
        // Just rendered from it: its dict is where e.dict was read from.
        g.slot = _PyObject_GetDictPtr(e.obj);
        if (g.slot == nullptr || *g.slot != e.dict) {
          PyErr_Clear();
          return unguarded();
        }
      }
      if (e.version == 0) {
        // No version (inline values, or a split table on 3.13): its
        // entries as they are now, when it was just rendered (no program
        // code ran since). Inline values: no slot (InlineAttrsAre checks
        // that no __dict__ was made since).
        if (inline_attrs) {
          // Its shape alone (compat::InlineAttrsAre), made where it is
          // kept (a copy of its 300 bytes was a `rep movsq`).
          s->shapes.emplace_back();
          Py_ssize_t n = compat::InlineAttrs(e.obj, nullptr, nullptr, SharedRendering::kMaxSplit, &s->shapes.back());
          if (n < 0) return unguarded();
          g.shape = static_cast<int32_t>(s->shapes.size() - 1);
          g.split = n;  // (no version; its keys and values are the shape's)
        } else {
          PyObject* keys[SharedRendering::kMaxSplit];
          PyObject* values[SharedRendering::kMaxSplit];
          Py_ssize_t n = compat::SplitEntries(e.dict, keys, values, SharedRendering::kMaxSplit);
          if (n < 0) return unguarded();
          g.split = n;
          g.split_at = s->split_keys.size();
          for (Py_ssize_t i = 0; i < n; ++i) {
            Py_INCREF(keys[i]);
            s->split_keys.push_back(keys[i]);
            s->split_values.push_back(values[i]);
          }
        }
      }
    } else if (e.size >= 0 && e.type != nullptr && PyType_IsSubtype(e.type, &PyDict_Type)) {
      if (e.version == 0) return unguarded();
      g.type = e.type;
      g.size = e.size;
      g.version = e.version;
      g.walk_on_fail = e.truncated;
    } else if (e.size == Fingerprint::kLimited) {
      // A cycle, or the depth limit (a whole value's): its class, and an
      // instance's class's name, as the walk compares (Walk::LimitedHolds;
      // the class in `dict`, as a limited guard has no `type`).
      g.dict = reinterpret_cast<PyObject*>(e.type);
      g.name = e.type_name;
      g.limited = e.more ? SharedRendering::Guard::kLimitedNamed : SharedRendering::Guard::kLimitedType;
    } else if (FlatGuardable(entries, count, i)) {
      // Its items' entries follow (held scalars: skipped above).
      g.type = e.type;
      g.size = e.size;
      g.items = static_cast<int32_t>(e.children);
      g.items_at = static_cast<uint32_t>(i + 1);
      g.truncated = e.truncated;
    } else if (e.size >= 0 && e.type != nullptr &&
               (PyType_IsSubtype(e.type, &PyList_Type) || PyType_IsSubtype(e.type, &PyTuple_Type)) &&
               Py_TYPE(e.obj) == e.type && e.children <= static_cast<uint64_t>(e.size) &&
               static_cast<Py_ssize_t>(e.children) <= Py_SIZE(e.obj)) {
      // Items of other kinds (lists, instances and scalars...): the items
      // it showed, as they are now (just rendered: no program code ran
      // since), kept apart; their entries follow among their own.
      g.type = e.type;
      g.size = e.size;
      g.items = static_cast<int32_t>(e.children);
      g.items_at = static_cast<uint32_t>(s->items_apart.size());
      g.apart = true;
      g.truncated = e.truncated;
      PyObject* const* items = PyList_Check(e.obj) ? reinterpret_cast<PyListObject*>(e.obj)->ob_item
                                                   : reinterpret_cast<PyTupleObject*>(e.obj)->ob_item;
      s->items_apart.insert(s->items_apart.end(), items, items + e.children);
    } else if ((e.size == Fingerprint::kInstance && e.dict == nullptr) || e.size == Fingerprint::kOpaque ||
               e.size == Fingerprint::kFunction || e.size == Fingerprint::kClass || e.size == Fingerprint::kModule ||
               e.size == Fingerprint::kSubclass) {
      // A text that is a name: its entry's check (Walk::NamedSame). The
      // walk takes a function or an opaque object bound anew for the same
      // text (a closure made at each call, a sentinel): where a guard
      // fails, it decides.
      g.limited = SharedRendering::Guard::kLimitedEntry;
      g.items_at = static_cast<uint32_t>(i);
      rebinds = rebinds || e.size == Fingerprint::kFunction || e.size == Fingerprint::kOpaque;
    } else {
      return unguarded();  // a set of other items, a subclass's value, an exception...
    }
    s->guards.push_back(g);
  }
  if (redacts) {
    for (SharedRendering::Guard& g : s->guards) {
      if (g.shared == nullptr && g.items < 0) g.walk_on_fail = true;  // a dict's or an instance's
    }
  }
  if (rebinds) {
    for (SharedRendering::Guard& g : s->guards) g.walk_on_fail = true;
  }
  s->rebinds = rebinds;
  s->guarded = true;
}

}  // namespace

void Renderer::WatchAll(Fingerprint* fp) {
  const uint64_t bit = uint64_t{1} << dict_watcher_;
  const size_t end = std::min(fp->entries_.size(), fp->cut_);
  for (size_t i = 0; i < end; ++i) {
    Fingerprint::Entry& e = fp->entries_[i];
    if (e.size == Fingerprint::kShared) {
      WatchShared(e.shared);
    } else if (e.version != 0 && (e.size >= 0 || (e.size == Fingerprint::kInstance && e.dict != nullptr))) {
      // A dict, or an instance's __dict__ (a version is read from nothing
      // else): just rendered, or held by what was just found unchanged.
      Watch(e.size >= 0 ? e.obj : e.dict);
      e.version |= bit;
    }
  }
}

void Renderer::WatchShared(SharedRendering* s) {
  if (s->dicts_watched) return;
  s->dicts_watched = true;
  WatchAll(&s->fp);
  GuardsWatched(s);
}

void Renderer::GuardsWatched(SharedRendering* s) {
  const uint64_t bit = uint64_t{1} << dict_watcher_;
  for (SharedRendering::Guard& g : s->guards) {
    if (g.shared == nullptr && g.split < 0 && g.version != 0) g.version |= bit;  // WatchAll watched its dict
  }
}

void Renderer::RenderedShared(SharedRendering* s) {
  Rendered(&s->fp, s->guarded ? s->guards.size() : 0);
  s->watch_worth = s->fp.watch_ && s->fp.watch_->worth;
  if (s->watch_worth) {
    // Rendered watched the dicts of its own entries (WatchAll), whose
    // versions now carry the watcher's bit: so do its guards', as a nested
    // one's do (WatchShared). (Without it, each such dict's guard failed at
    // every check, and the value was rendered anew.)
    s->dicts_watched = true;
    GuardsWatched(s);
  }
}

bool Renderer::WatchedSameSlow(const Fingerprint& fp, PyObject* v) {
  Fingerprint::Watch* w = fp.watch_.get();
  if (w->watched == Fingerprint::kWatchedUnknown) {
    w->identities.clear();
    w->watched = ComputeWatched(fp, false, &w->identities) ? Fingerprint::kWatchedYes : Fingerprint::kWatchedNo;
  }
  return w->watched == Fingerprint::kWatchedYes && Walk::IdentitiesHold(fp, w->identities, v);
}

// From the entries up to the cut (past it, nothing changes the text). Reads
// no object: decided when first needed, when some may be gone (a check
// finds that first).
bool Renderer::ComputeWatched(const Fingerprint& fp, bool nested, std::vector<Fingerprint::Identity>* out) {
  if (dict_watcher_ < 0 || !fp.valid_ || fp.entries_.empty()) return false;
  const Fingerprint::Watch* w = fp.watch_.get();
  if (w != nullptr && w->worth && w->watched != Fingerprint::kWatchedUnknown) {
    if (w->watched != Fingerprint::kWatchedYes) return false;
    PyObject* const root = fp.entries_[0].obj;
    for (const Fingerprint::Identity& id : w->identities) {
      if (nested && id.type == nullptr && id.dict == root) continue;
      out->push_back(id);
    }
    return true;
  }
  const auto& entries = fp.entries_;
  PyObject* const root = entries[0].obj;
  const size_t end = std::min(entries.size(), fp.cut_);
  for (size_t i = 0; i < end; ++i) {
    const Fingerprint::Entry& e = entries[i];
    Fingerprint::Identity id{e.obj};
    switch (e.size) {
      case Fingerprint::kScalar:
      case Fingerprint::kFixed:
      case Fingerprint::kRedacted:
        continue;
      case Fingerprint::kShared:
        // Its identities, but for its own dict's version where its
        // container holds it (not the root).
        if (!ComputeWatched(e.shared->fp, nested || e.obj != root, out)) return false;
        continue;
      case Fingerprint::kSubclass:
        id.type = e.type;
        id.name = e.type_name;
        break;
      case Fingerprint::kLimited:
        // Past the depth limit or met in a cycle: its class (and that
        // class's name, which the walk compares only for an instance:
        // another name here is taken for a change the walk would not see).
        // What holds it is unchanged, so it is still bound there.
        id.type = e.type;
        id.name = e.more ? e.type_name : HeapName(e.type);
        break;
      case Fingerprint::kInstance:
        // Its __dict__ watched when its version was read; not inline values
        // (3.13), which change without a dict change.
        if (e.dict == nullptr || InlineOf(e.obj, e.dict) || !WatchedVersion(e.version)) return false;
        id.type = e.type;
        id.name = e.type_name;
        id.instance = true;
        id.dict = e.dict;
        id.version = e.version;
        break;
      default:
        // A dict (only a dict's version is read after Watch; a subclass's
        // class is its kSubclass entry's). Only the root's own version is
        // compared, and not when it is nested: a nested dict is held by its
        // unchanged container.
        if (e.size < 0 || !WatchedVersion(e.version)) return false;
        if (nested || e.obj != root) continue;
        id.dict = e.obj;
        id.version = e.version;
        break;
    }
    out->push_back(id);
  }
  return true;
}

#if PY_VERSION_HEX >= 0x030C0000
int Renderer::OnDictChange(PyDict_WatchEvent event, PyObject*, PyObject*, PyObject*) {
  // A dict freed is not a change: nothing rendered holds it unless its
  // container changed first (or, the root, its version is compared).
  if (event != PyDict_EVENT_DEALLOCATED) ++dict_mods_;
  return 0;
}
#endif

void Renderer::WatchDicts() {
#if PY_VERSION_HEX >= 0x030C0000
  if (dict_watchers_users_++ > 0) return;
  dict_watcher_ = PyDict_AddWatcher(&Renderer::OnDictChange);
  if (dict_watcher_ < 0) PyErr_Clear();  // none left: renderings are compared as before
#endif
}

void Renderer::UnwatchDicts() {
#if PY_VERSION_HEX >= 0x030C0000
  if (--dict_watchers_users_ > 0 || dict_watcher_ < 0) return;
  // The dicts watched keep the watcher's bit; with the watcher cleared,
  // their changes call nothing. (After the interpreter is gone, so is it.)
  if (Py_IsInitialized() && PyDict_ClearWatcher(dict_watcher_) < 0) PyErr_Clear();
  dict_watcher_ = -1;
#endif
}

bool Renderer::RenderCached(PyObject* v, std::string* out, Fingerprint* fp) {
  if (render_cache_.empty()) return false;
  // Where Value sends it: Dict, or Instance with a dict slot or slots (at
  // depth 0, never past the depth limit, nor in a cycle), each of which
  // looks it up in the cache first (ReuseCached), as here. (An instance of
  // another plain class is never kept: none is found for it.)
  PyTypeObject* t = Py_TYPE(v);
  if (t != &PyDict_Type && !PlainInstanceType(t)) return false;
  CachedRendering* ways = &render_cache_[2 * ((reinterpret_cast<uintptr_t>(v) >> 4) % (kRenderCacheSize / 2))];
  const int way = ways[1].obj == v ? 1 : ways[0].obj == v ? 0 : -1;
  if (way < 0) return false;
  CachedRendering* slot = &ways[way];
  if (slot->shared == nullptr || slot->reach > limits_.max_depth ||
      (slot->shared->cyclic && slot->shared->ancestors_count != 0) || !Walk::SharedSame(slot->shared, v)) {
    return false;
  }
  ways[0].recent = static_cast<uint8_t>(way);
  out->assign(slot->shared->text);  // within the length budget (StoreCached)
  fp->Clear();
  fp_ = fp;
  PushShared(v, slot->shared);
  fp_ = nullptr;
  return true;
}

bool Renderer::UnchangedWalk(PyObject* v, const Fingerprint& fp) {
  if (!fp.valid()) return false;
  if (fp.objs_.size() == 1 && fp.cut_ == std::string::npos && fp.entries_[0].size == Fingerprint::kShared) {
    // A local bound to an instance or dict kept by a shared rendering (the
    // most frequent non-scalar local): the walk's one step, without it.
    // (Its own Watch is never worth it: the shared rendering's check tries
    // one first.)
    return fp.objs_[0] == v && Walk::SharedSame(fp.entries_[0].shared, v);
  }
  const Fingerprint::Watch* w = fp.watch_.get();
  const bool worth = w != nullptr && w->worth;
  if (worth && WatchedSame(fp, v)) return true;
  Walk walk(fp);
  if (!walk.Same(v) || !walk.Complete()) return false;
  if (worth) fp.Verified(dict_mods_);  // no program code runs during a capture
  return true;
}

void Renderer::Finish(std::string* out) {
  if (out->size() - start_ <= limits_.max_total) return;
  size_t cut = start_ + limits_.max_total;
  // Never cut inside a UTF-8 sequence.
  while (cut > start_ && (static_cast<unsigned char>((*out)[cut]) & 0xc0) == 0x80) --cut;
  out->resize(cut);
  out->append("...");
}

bool Renderer::Active(PyObject* v) const { return std::find(active_.begin(), active_.end(), v) != active_.end(); }

void Renderer::Str(PyObject* s, std::string* out) {
  Py_ssize_t len = PyUnicode_GET_LENGTH(s);
  bool cut = static_cast<size_t>(len) > limits_.max_string;
  Py_ssize_t n = cut ? static_cast<Py_ssize_t>(limits_.max_string) : len;
  if (PyUnicode_IS_ASCII(s)) {
    // Fast path: str.__repr__ for ASCII text, done by hand.
    const char* p = reinterpret_cast<const char*>(PyUnicode_1BYTE_DATA(s));
    bool has_single = std::memchr(p, '\'', static_cast<size_t>(n)) != nullptr;
    bool has_double = std::memchr(p, '"', static_cast<size_t>(n)) != nullptr;
    char quote = (has_single && !has_double) ? '"' : '\'';
    out->push_back(quote);
    // The run before the first character that needs an escape, at once.
    Py_ssize_t plain = 0;
    while (plain < n) {
      char c = p[plain];
      if (c == quote || c == '\\' || c < 0x20 || c == 0x7f) break;
      ++plain;
    }
    out->append(p, static_cast<size_t>(plain));
    for (Py_ssize_t i = plain; i < n; ++i) {
      char c = p[i];
      if (c == quote || c == '\\') {
        out->push_back('\\');
        out->push_back(c);
      } else if (c == '\t') {
        out->append("\\t");
      } else if (c == '\n') {
        out->append("\\n");
      } else if (c == '\r') {
        out->append("\\r");
      } else if (c < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
        out->append(buf);
      } else {
        out->push_back(c);
      }
    }
    out->push_back(quote);
  } else {
    // str.__repr__ is C code with no user hooks; only the slice is allocated.
    PyObject* part = cut ? PyUnicode_Substring(s, 0, n) : (Py_INCREF(s), s);
    AppendSlotRepr(PyUnicode_Type.tp_repr, part, "<str>", out);
    Py_XDECREF(part);
  }
  if (cut) out->append("...");
}

void Renderer::Bytes(const char* p, Py_ssize_t len, std::string* out) {
  bool cut = static_cast<size_t>(len) > limits_.max_string;
  Py_ssize_t n = cut ? static_cast<Py_ssize_t>(limits_.max_string) : len;
  bool has_single = std::memchr(p, '\'', static_cast<size_t>(n)) != nullptr;
  bool has_double = std::memchr(p, '"', static_cast<size_t>(n)) != nullptr;
  char quote = (has_single && !has_double) ? '"' : '\'';
  out->push_back('b');
  out->push_back(quote);
  for (Py_ssize_t i = 0; i < n; ++i) {
    auto c = static_cast<unsigned char>(p[i]);
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\r') {
      out->append("\\r");
    } else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out->append(buf);
    } else {
      out->push_back(static_cast<char>(c));
    }
  }
  out->push_back(quote);
  if (cut) out->append("...");
}

namespace {

// int.__repr__ of an int of at most 4000 bits, computed as CPython's
// long_to_decimal_string does (its magnitude in base 10**9, folding in the
// PyLong_SHIFT-bit digits from the most significant down), without its
// signal check at every digit (a third of its instructions on ints of a few
// hundred bits) and without a str object. False, having written nothing, if
// v's digits are not laid out as read here.
bool AppendDecimal(PyObject* v, std::string* out) {
#if PyLong_SHIFT != 30
  (void)v;
  (void)out;
  return false;
#else
  const digit* d;
  Py_ssize_t n;
  bool negative;
#if PY_VERSION_HEX >= 0x030C0000
  auto* lv = reinterpret_cast<PyLongObject*>(v);
  const uintptr_t tag = lv->long_value.lv_tag;
  n = static_cast<Py_ssize_t>(tag >> _PyLong_NON_SIZE_BITS);
  negative = (tag & _PyLong_SIGN_MASK) == 2;
  d = lv->long_value.ob_digit;
#else
  const Py_ssize_t size = Py_SIZE(v);
  negative = size < 0;
  n = negative ? -size : size;
  d = reinterpret_cast<PyLongObject*>(v)->ob_digit;
#endif
  constexpr Py_ssize_t kMaxDigits = 4000 / 30 + 1;
  if (n <= 0 || n > kMaxDigits) return false;
  constexpr uint32_t kBase = 1000000000;  // 10**9 < 2**30: each fits a digit
  // 30 bits make at most 30 * log10(2) / 9 + 1 base-10**9 digits per digit.
  uint32_t dec[kMaxDigits + kMaxDigits / 99 + 2];
  size_t m = 0;
  for (Py_ssize_t i = n; --i >= 0;) {
    uint32_t hi = d[i];
    for (size_t j = 0; j < m; ++j) {
      uint64_t z = static_cast<uint64_t>(dec[j]) << 30 | hi;
      hi = static_cast<uint32_t>(z / kBase);
      dec[j] = static_cast<uint32_t>(z - static_cast<uint64_t>(hi) * kBase);
    }
    while (hi != 0) {
      dec[m++] = hi % kBase;
      hi /= kBase;
    }
  }
  if (m == 0) dec[m++] = 0;
  // Written in place: the sign, the top chunk's digits, then 9 per chunk.
  char top[16];
  auto res = std::to_chars(top, top + sizeof(top), dec[m - 1]);
  const size_t top_len = static_cast<size_t>(res.ptr - top);
  const size_t at = out->size();
  out->resize(at + (negative ? 1 : 0) + top_len + 9 * (m - 1));
  char* p = out->data() + at;
  if (negative) *p++ = '-';
  std::memcpy(p, top, top_len);
  p += top_len;
  for (size_t j = m - 1; j-- > 0; p += 9) {
    uint32_t x = dec[j];
    for (int k = 8; k >= 0; --k) {
      p[k] = static_cast<char>('0' + x % 10);
      x /= 10;
    }
  }
  return true;
#endif
}

}  // namespace

void Renderer::Int(PyObject* v, std::string* out) {
  {
    char buf[24];
    size_t n = CompactIntText(v, buf);
    if (n > 0) {
      out->append(buf, n);
      return;
    }
  }
  int overflow = 0;
  long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
  if (!overflow && !(x == -1 && PyErr_Occurred())) {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof(buf), x);
    out->append(buf, static_cast<size_t>(res.ptr - buf));
    return;
  }
  PyErr_Clear();
  size_t bits = _PyLong_NumBits(v);
  if (bits == static_cast<size_t>(-1)) {
    PyErr_Clear();
    out->append("<int>");
    return;
  }
  if (bits > 4000) {
    out->append("<int with " + std::to_string(bits) + " bits>");
    return;
  }
  if (AppendDecimal(v, out)) return;
  AppendSlotRepr(PyLong_Type.tp_repr, v, "<int>", out);  // int.__repr__, whatever the subclass
}

bool Renderer::Scalar(PyObject* v, std::string* out) {
  PyTypeObject* t = Py_TYPE(v);
  if (v == Py_None) {
    out->append("None");
  } else if (t == &PyBool_Type) {
    out->append(v == Py_True ? "True" : "False");
  } else if (t == &PyLong_Type) {
    Int(v, out);
  } else if (t == &PyUnicode_Type) {
    Str(v, out);
  } else if (t == &PyFloat_Type) {
    AppendFloat(PyFloat_AS_DOUBLE(v), out);
  } else if (t == &PyBytes_Type) {
    Bytes(PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v), out);
  } else if (t == &PyComplex_Type) {
    AppendComplex(reinterpret_cast<PyComplexObject*>(v)->cval, out);
  } else {
    return false;
  }
  return true;
}

inline bool Renderer::Limited(PyObject* v, int depth, PyTypeObject* named, std::string_view cut,
                              std::string* out) {
  const bool deep = depth > limits_.max_depth;
  if (!deep && !Active(v)) return false;
  // A cycle's text, as the depth limit's, is the brackets; which object
  // closes it depends on the containers around it, so the renderings that
  // hold it are kept with those (cycles_: StoreCached, AncestorsMatch).
  // The whole value's walk compares the same path.
  if (!deep) ++cycles_;
  RecordLimited(v, depth, named != nullptr);
  if (named != nullptr) out->append(TypeName(named));
  out->append(cut);
  return true;
}

void Renderer::Sequence(PyObject* v, PyTypeObject* base, int depth, std::string* out) {
  bool is_list = base == &PyList_Type;
  const char* open = is_list ? "[" : "(";
  const char* close = is_list ? "]" : ")";
  if (Limited(v, depth, nullptr, is_list ? "[...]" : "(...)", out)) return;
  Ref hold(v);
  // A tuple held whole (HeldTuple): one held entry, and its items rendered
  // without any (fingerprinting paused); if its text ran past the length
  // budget, the cut comes right after that entry.
  Fingerprint* const paused = fp_ && fp_->valid_ && !is_list && HeldTuple(v) ? fp_ : nullptr;
  if (paused) {
    Record(v, Fingerprint::kScalar);
    fp_ = nullptr;
  }
  active_.push_back(v);
  deepest_ = std::max(deepest_, depth);
  out->append(open);
  Py_ssize_t n = is_list ? PyList_GET_SIZE(v) : PyTuple_GET_SIZE(v);
  size_t fp_index = fp_ ? fp_->entries_.size() : 0;
  Record(v, n);  // a subclass's: after its kSubclass entry (Value)
  uint32_t visited = 0;
  bool truncated = false;
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (i > 0) out->append(", ");
    if (static_cast<size_t>(i) >= limits_.max_items || Over(*out)) {
      out->append("...");
      truncated = true;
      break;
    }
    // Re-read the size each time: nothing here runs user code, but stay safe.
    if (is_list && i >= PyList_GET_SIZE(v)) break;
    PyObject* item = is_list ? PyList_GET_ITEM(v, i) : PyTuple_GET_ITEM(v, i);
    Ref hold_item(item);
    Value(item, depth + 1, out);
    ++visited;
  }
  if (fp_ && fp_->valid_ && fp_index < fp_->entries_.size()) {
    Fingerprint::Entry& e = fp_->entries_[fp_index];
    e.children = visited;
    e.truncated = truncated;
    // Exactly one entry per item, all held scalars: a flat run of objs().
    bool flat = fp_->entries_.size() == fp_index + 1 + visited;
    for (size_t j = fp_index + 1; flat && j < fp_->entries_.size(); ++j) {
      flat = fp_->entries_[j].size == Fingerprint::kScalar;
    }
    e.scalar_items = flat;
    bool shared = !flat && visited > 0 && fp_->entries_.size() == fp_index + 1 + visited;
    for (size_t j = fp_index + 1; shared && j < fp_->entries_.size(); ++j) {
      shared = fp_->entries_[j].size == Fingerprint::kShared;
    }
    e.shared_items = shared;
  }
  if (!is_list && n == 1) out->append(",");
  out->append(close);
  active_.pop_back();
  if (paused) {
    fp_ = paused;
    if (fp_->cut_ == std::string::npos && out->size() > start_ + limits_.max_total) fp_->cut_ = fp_->entries_.size();
  }
}

void Renderer::Dict(PyObject* v, int depth, std::string* out) {
  if (Limited(v, depth, nullptr, "{...}", out)) return;
  Ref hold(v);
  bool exact = Py_TYPE(v) == &PyDict_Type;
  bool hit = false;
  CachedRendering* cached = exact ? ReuseCached(v, depth, out, &hit) : nullptr;
  if (hit) return;
  SharedRendering* prev = HoldPrevious(cached, v);
  const size_t attrs_base = attr_scratch_.size();
  const int outer_deepest = deepest_;
  const uint64_t cycles_at = cycles_;
  deepest_ = depth;
  size_t text_start = out->size();
  active_.push_back(v);
  size_t fp_index = fp_ ? fp_->entries_.size() : 0;
  size_t i = 0;
  bool whole = true;  // every item visited, each key an immutable scalar
  bool truncated = false;
  if (prev == nullptr || !fp_ || !fp_->valid_ || !SpliceItems(v, v, false, false, *prev, depth, out, &i)) {
    out->append("{");
    RecordDict(v);  // a heap subclass's: after its kSubclass entry (Value)
    Py_ssize_t pos = 0;
    PyObject* key;
    PyObject* value;
    while (PyDict_Next(v, &pos, &key, &value)) {
      if (i > 0) out->append(", ");
      if (i >= limits_.max_items || Over(*out)) {
        out->append("...");
        whole = false;
        truncated = true;
        break;
      }
      ++i;
      Ref hk(key), hv(value);
      whole = whole && IsImmutableScalar(key);
      Value(key, depth + 1, out);
      out->append(": ");
      ItemValue(key, value, SecretKey(key), depth, out);
    }
  }
  if (fp_ && fp_->valid_ && fp_index < fp_->entries_.size()) {
    fp_->entries_[fp_index].children = static_cast<uint32_t>(i);
    fp_->entries_[fp_index].truncated = truncated;
  }
  out->append("}");
  active_.pop_back();
  StoreCached(cached, v, deepest_ - depth, cycles_at, fp_index, text_start, *out,
              whole ? attrs_base : std::string::npos);
  DropAttrs(attrs_base);
  if (prev != nullptr) Unref(prev);
  deepest_ = std::max(outer_deepest, deepest_);
}

void Renderer::Set(PyObject* v, PyTypeObject* base, int depth, std::string* out) {
  bool frozen = base == &PyFrozenSet_Type;
  Py_ssize_t n = PySet_GET_SIZE(v);
  // Past the depth limit (or in a cycle) a set of either kind, even an
  // empty one, is `{...}` (docs/RENDERING.md rule 6): its text depends on
  // its depth, so a rendering that holds it reaches its level.
  if (Limited(v, depth, nullptr, "{...}", out)) return;
  deepest_ = std::max(deepest_, depth);
  if (n == 0) {
    Record(v, 0);
    out->append(frozen ? "frozenset()" : "set()");
    return;
  }
  if (frozen) out->append("frozenset(");
  {
    Ref hold(v);
    active_.push_back(v);
    size_t fp_index = fp_ ? fp_->entries_.size() : 0;
    Record(v, n);
    // The set's table in its iterator's order, read in place: rendering
    // runs no program code, so the set cannot change meanwhile.
    out->append("{");
    size_t i = 0;
    bool truncated = false;
    Py_ssize_t pos = 0;
    PyObject* item;
    while (compat::SetNext(v, &pos, &item)) {
      if (i > 0) out->append(", ");
      if (i >= limits_.max_items || Over(*out)) {
        out->append("...");
        truncated = true;
        break;
      }
      ++i;
      Ref hold_item(item);
      Value(item, depth + 1, out);
    }
    out->append("}");
    if (fp_ && fp_->valid_ && fp_index < fp_->entries_.size()) {
      fp_->entries_[fp_index].children = static_cast<uint32_t>(i);
      fp_->entries_[fp_index].truncated = truncated;
    }
    active_.pop_back();
  }
  if (frozen) out->append(")");
}

void Renderer::Instance(PyObject* v, int depth, std::string* out) {
  PyTypeObject* t = Py_TYPE(v);
  // (Its class's name, TypeName(t), is only looked up where it is written:
  // a reused rendering has it already.)
  if (t->tp_dictoffset == 0) {
    // (A deque is a plain heap class from 3.12: it reaches here.)
    if (IsDeque(t)) return Deque(v, depth, out);
    if (t->tp_flags & Py_TPFLAGS_HEAPTYPE) {
      bool slotted = false;
      ForEachSlot(t, [&](const PyMemberDef*) { return !(slotted = true); });
      if (slotted) return Slotted(v, depth, out);
    }
    // Its text is its class's name.
    RecordNamed(v, Fingerprint::kOpaque, t, HeapName(t));
    out->append("<").append(TypeName(t)).append(" object>");
    return;
  }
  if (IsEnviron(t)) {
    // The environment is not recorded (rule 12): a text of its class alone,
    // unchanged while the object keeps it (a kLimited entry without a name).
    RecordNamed(v, Fingerprint::kLimited, t, nullptr);
    out->append("environ(<not recorded>)");
    return;
  }
  if (Limited(v, depth, t, "(...)", out)) return;
  // Its dict slot, read directly: no descriptor of the class is consulted.
  bool unfilled = false;
  PyObject* dict = InstanceDict(v, &unfilled);
  if (unfilled) {
    // No attribute yet: an empty dict, not made. Its text still depends on
    // its depth (deeper than the limit, it is `T(...)`): a rendering that
    // holds it reaches its level.
    deepest_ = std::max(deepest_, depth);
    RecordInstance(v, nullptr, false);
    out->append(TypeName(t)).append("()");
    return;
  }
  const bool inline_attrs = InlineOf(v, dict);
  if (!dict || (!inline_attrs && !PyDict_Check(dict))) {
    Py_XDECREF(dict);
    Invalidate();
    out->append("<").append(TypeName(t)).append(" object>");
    return;
  }
  Ref hold(v);
  bool hit = false;
  CachedRendering* cached = ReuseCached(v, depth, out, &hit);
  // At depth 0 (a whole value, or an exception's argument after its
  // class's name), a rendering kept from a whole value holds (ReuseTop).
  const bool top = !hit && depth == 0 && fp_ != nullptr && fp_->valid_;
  if (hit || (top && ReuseTop(v, out))) {
    Py_DECREF(dict);
    return;
  }
  // The whole value (a local's, or a return value's), not a part of one.
  const bool whole = top && out->size() == start_ && fp_->entries_.empty();
  SharedRendering* prev = HoldPrevious(cached, v);
  const size_t attrs_base = attr_scratch_.size();
  const int outer_deepest = deepest_;
  const uint64_t cycles_at = cycles_;
  deepest_ = depth;
  size_t text_start = out->size();
  active_.push_back(v);
  size_t fp_index = fp_ ? fp_->entries_.size() : 0;
  // Inline values have no version: compared as a split table is.
  bool exact = inline_attrs || Py_TYPE(dict) == &PyDict_Type;
  bool versioned = exact && !inline_attrs && compat::InstanceDictVersioned(dict) && compat::DictVersion(dict) != 0;
  size_t i = 0;
  bool more = false;
  bool exact_names = true;  // held by the attrs kept: no str subclass, which could have a finalizer
  if (prev == nullptr || !exact || !fp_ || !fp_->valid_ ||
      !SpliceItems(v, dict, true, versioned, *prev, depth, out, &i)) {
    out->append(TypeName(t));
    out->append("(");
    if (exact) RecordInstance(v, dict, versioned);
    else if (fp_) fp_->valid_ = false;
    Items items(v, dict, /*hold=*/true);
    if (!items.ok()) {
      // Inline values not as CPython keeps them (never seen): nothing read,
      // shown as past the depth limit, and rendered again next time.
      Invalidate();
      out->append("...");
    }
    PyObject* key;
    PyObject* value;
    while (items.Next(&key, &value)) {
      if (!PyUnicode_Check(key)) continue;
      std::string_view k = Utf8View(key);
      if (IsDunder(k)) continue;
      if (i > 0) out->append(", ");
      if (i >= limits_.max_items || Over(*out)) {
        out->append("...");
        more = true;
        break;
      }
      ++i;
      exact_names = exact_names && PyUnicode_CheckExact(key);
      if (!versioned) Record(key, Fingerprint::kScalar);  // an exact str: held
      out->append(k);
      out->append("=");
      Ref hv(value);
      ItemValue(key, value, ShouldRedactName(key, k), depth, out);
    }
  }
  if (fp_ && fp_->valid_ && fp_index < fp_->entries_.size()) {
    fp_->entries_[fp_index].children = static_cast<uint32_t>(i);
    fp_->entries_[fp_index].more = more;
  }
  out->append(")");
  active_.pop_back();
  Py_DECREF(dict);
  StoreCached(cached, v, deepest_ - depth, cycles_at, fp_index, text_start, *out,
              more || !exact_names ? std::string::npos : attrs_base);
  if (whole && (fp_->cut_ != std::string::npos || deepest_ > limits_.max_depth) && fp_->valid_) StoreTop(v, *out);
  DropAttrs(attrs_base);
  if (prev != nullptr) Unref(prev);
  deepest_ = std::max(outer_deepest, deepest_);
}

Renderer::CachedRendering* Renderer::ReuseCached(PyObject* v, int depth, std::string* out, bool* hit) {
  *hit = false;
  if (!fp_ || !fp_->valid_) return nullptr;
  if (render_cache_.empty()) render_cache_.resize(kRenderCacheSize);
  // Two ways per set: v's if it has one, else the one used less recently.
  CachedRendering* ways = &render_cache_[2 * ((reinterpret_cast<uintptr_t>(v) >> 4) % (kRenderCacheSize / 2))];
  int way = ways[1].obj == v ? 1 : ways[0].obj == v ? 0 : 1 - ways[0].recent;
  ways[0].recent = static_cast<uint8_t>(way);
  CachedRendering* slot = &ways[way];
  // A text that runs past the length budget here is still right: the budget
  // is only checked between items, so rendering anew would also run past
  // it, and Finish cuts both at the same byte.
  if (slot->obj == v && slot->shared != nullptr && depth + slot->reach <= limits_.max_depth &&
      AncestorsMatch(slot->shared) && Walk::SharedSame(slot->shared, v)) {
    out->append(slot->shared->text);
    deepest_ = std::max(deepest_, depth + slot->reach);
    NoteReused(slot->shared);
    PushShared(v, slot->shared);
    *hit = true;
  }
  return slot;
}

Renderer::CachedRendering* Renderer::TopSlot(PyObject* v) {
  if (top_cache_.empty()) top_cache_.resize(kTopCacheSize);
  auto k = reinterpret_cast<uintptr_t>(v);
  return &top_cache_[((k >> 4) ^ (k >> 12)) % kTopCacheSize];
}

__attribute__((noinline)) bool Renderer::ReuseTop(PyObject* v, std::string* out) {
  CachedRendering* slot = TopSlot(v);
  if (slot->obj != v || slot->shared == nullptr || !Walk::SharedSame(slot->shared, v)) return false;
  // The text as rendering v anew here would write it, before Finish cuts
  // it (at the same byte, as it would a new one). Kept from the start of
  // a value, it is right after other text too: rendering anew here, the
  // budget would run out no later, and only ever past the byte where
  // Finish cuts both; until then the two are the same bytes.
  out->append(slot->shared->text);
  PushShared(v, slot->shared);
  return true;
}

__attribute__((noinline)) void Renderer::StoreTop(PyObject* v, const std::string& out) {
  // Only a rendering that render_cache_ does not keep (else its entry is
  // already a shared one): cut, or that met the depth limit (right at depth
  // 0 only: the same path to each).
  if (!fp_->valid_ || (fp_->cut_ == std::string::npos && deepest_ <= limits_.max_depth) || fp_->entries_.empty() ||
      fp_->entries_[0].obj != v ||
      (fp_->entries_[0].size != Fingerprint::kInstance && fp_->entries_[0].size != Fingerprint::kSlots)) {
    return;
  }
  // v's entries move (with their references) to a shared rendering, cut
  // where this one was; the fingerprint and the slot then hold it.
  SharedRendering* s = NewShared();
  s->fp.entries_.swap(fp_->entries_);
  s->fp.objs_.swap(fp_->objs_);
  s->fp.valid_ = true;
  s->fp.cut_ = fp_->cut_;
  fp_->entries_.clear();
  fp_->objs_.clear();
  fp_->cut_ = std::string::npos;
  // Guarded if it can be. A cut one's guards also compare what lies past
  // the cut (an instance's every attribute, a dict's every item): any that
  // fails leaves the answer to the walk, which stops at the cut, and then
  // takes the objects as they are now (Walk::WalkInstead).
  BuildGuards(s);
  if (s->guarded && s->fp.cut_ != std::string::npos) {
    for (SharedRendering::Guard& g : s->guards) g.walk_on_fail = true;
  }
  RenderedShared(s);
  s->epoch = epoch_;  // just rendered: the same for the rest of this event
  s->same = true;
  s->text = out;
  PushShared(v, s);
  CachedRendering* slot = TopSlot(v);
  if (slot->shared) Unref(slot->shared);
  ++s->refs;
  slot->shared = s;
  slot->obj = v;
}

void Renderer::PushShared(PyObject* v, SharedRendering* s) {
  Fingerprint::Entry e{v, Fingerprint::kShared, 0};
  e.shared = s;
  ++s->refs;
  fp_->Push(e);
}

void Renderer::StoreCached(CachedRendering* slot, PyObject* v, int reach, uint64_t cycles_at, size_t fp_index,
                           size_t text_start, const std::string& out, size_t attrs_base) {
  // Still valid, the depth limit not met, and the budget never ran out (the
  // text so far fits it, and it only grows). A rendering that met a cycle
  // is kept with the containers around it (not too many to keep).
  const bool cyclic = cycles_ != cycles_at;
  if (slot == nullptr || !fp_->valid_ || fp_->cut_ != std::string::npos || out.size() > start_ + limits_.max_total ||
      deepest_ > limits_.max_depth ||  // met the depth limit (right at this depth only)
      fp_index >= fp_->entries_.size() || fp_->entries_[fp_index].obj != v ||
      (cyclic && active_.size() > SharedRendering::kMaxAncestors)) {
    return;
  }
  // v's entries move (with their references) to a shared rendering, which
  // the fingerprint then holds in their place, as does the slot.
  SharedRendering* s = NewShared();
  Fingerprint& own = s->fp;
  if (fp_index == 0) {
    // The whole value is v (a local bound to it): its entries move without
    // a copy, and the fingerprint keeps the shared rendering's empty room (a
    // new or spare one's entries are cleared).
    own.entries_.swap(fp_->entries_);
    own.objs_.swap(fp_->objs_);
  } else {
    own.entries_.assign(fp_->entries_.begin() + static_cast<std::ptrdiff_t>(fp_index), fp_->entries_.end());
    own.objs_.assign(fp_->objs_.begin() + static_cast<std::ptrdiff_t>(fp_index), fp_->objs_.end());
    fp_->entries_.resize(fp_index);
    fp_->objs_.resize(fp_index);
  }
  own.valid_ = true;
  own.cut_ = std::string::npos;
  s->cyclic = cyclic;
  s->ancestors_count = cyclic ? static_cast<uint8_t>(active_.size()) : 0;
  if (cyclic) std::copy(active_.begin(), active_.end(), s->ancestors);
  BuildGuards(s);
  RenderedShared(s);
  // Just rendered: the same for the rest of this event.
  s->epoch = epoch_;
  s->same = true;
  PushShared(v, s);
  if (slot->shared) Unref(slot->shared);
  ++s->refs;
  slot->shared = s;
  slot->obj = v;
  slot->reach = reach;
  s->text.assign(out, text_start, std::string::npos);
  if (attrs_base == 0 && fp_index == 0 && text_start == 0) {
    // v's attributes are all there is, their positions v's own already:
    // they move, with the references to their keys that DropAttrs would
    // have dropped (the scratch keeps the shared rendering's empty room).
    s->attrs.swap(attr_scratch_);
  } else if (attrs_base < attr_scratch_.size()) {
    // Positions from v's own: its first entry and first byte.
    s->attrs.assign(attr_scratch_.begin() + static_cast<std::ptrdiff_t>(attrs_base), attr_scratch_.end());
    for (SharedRendering::Attr& a : s->attrs) {
      Py_INCREF(a.key);
      a.entry -= static_cast<uint32_t>(fp_index);
      a.begin -= static_cast<uint32_t>(text_start);
    }
  }
}

SharedRendering* Renderer::HoldPrevious(CachedRendering* cached, PyObject* v) {
  if (cached == nullptr || cached->obj != v || cached->shared == nullptr || cached->shared->attrs.empty()) {
    return nullptr;
  }
  ++cached->shared->refs;
  return cached->shared;
}

void Renderer::ItemValue(PyObject* key, PyObject* value, bool redacted, int depth, std::string* out) {
  const size_t entry = fp_ ? fp_->entries_.size() : 0;
  const size_t begin = out->size();
  int reach = 0;
  if (redacted) {
    out->append(kRedacted);
    Record(value, Fingerprint::kRedacted);
  } else {
    // How deep this value's rendering went, apart from the others'.
    const int others = deepest_;
    deepest_ = depth;
    Value(value, depth + 1, out);
    reach = deepest_ - depth;
    deepest_ = std::max(others, deepest_);
  }
  const size_t entries = fp_ ? fp_->entries_.size() - entry : 0;
  PushAttr({key, value, static_cast<uint32_t>(entry), static_cast<uint32_t>(entries), static_cast<uint32_t>(begin),
            static_cast<uint32_t>(out->size() - begin), reach, redacted});
}

void Renderer::RecordDict(PyObject* v) {
  Record(v, PyDict_GET_SIZE(v));
  if (fp_ && fp_->valid_ && compat::InstanceDictVersioned(v)) fp_->entries_.back().version = compat::DictVersion(v);
}

bool Renderer::SpliceItems(PyObject* v, PyObject* dict, bool instance, bool versioned, const SharedRendering& prev,
                           int depth, std::string* out, size_t* count) {
  const size_t n = prev.attrs.size();
  const Fingerprint::Entry& head = prev.fp.entries_[0];
  PyTypeObject* t = Py_TYPE(v);
  if (n == 0 || n > kMaxSplice || head.obj != v || head.children != n || head.type != t ||
      prev.text.size() < 2 || prev.text.back() != (instance ? ')' : '}')) {
    return false;
  }
  if (instance) {
    // The same class name, nothing left out, and names recorded as entries
    // exactly when they are now (no version: see Fingerprint::Entry).
    if (head.size != Fingerprint::kInstance || head.more || head.type_name != HeapName(t) ||
        (head.version == 0) == versioned) {
      return false;
    }
  } else if (head.size != static_cast<Py_ssize_t>(n) || PyDict_GET_SIZE(v) != head.size) {
    return false;  // every item was visited, and there are as many now
  }
  // The visible names or keys, in order, must be prev's (held there: the
  // same objects). A key is an immutable scalar (so its text is the same),
  // as the entries copied with it assume. Nothing is appended before this
  // is known.
  PyObject* values[kMaxSplice];
  Items items(instance ? v : nullptr, dict);
  if (!items.ok()) return false;
  PyObject *key, *value;
  size_t j = 0;
  while (items.Next(&key, &value)) {
    if (j < n && key == prev.attrs[j].key) {
      values[j++] = value;
      continue;
    }
    if (instance && (!PyUnicode_Check(key) || IsDunder(Utf8View(key)))) continue;
    return false;  // a name added, removed or moved
  }
  if (j != n) return false;
  for (size_t i = 0; i < n; ++i) Py_INCREF(values[i]);  // rendering runs no user code, but stay safe
  if (instance) RecordInstance(v, dict, versioned);
  else RecordDict(v);
  size_t run_text = 0, run_entry = 1, run_attr = 0;  // entry 0 is v's own, recorded anew
  for (size_t i = 0; i < n; ++i) {
    const SharedRendering::Attr& a = prev.attrs[i];
    PyObject* now = values[i];
    if (a.value == now && a.entries == 1) {
      // What Value would find: a held scalar is the same object, a fixed
      // text does not depend on it, and a shared rendering is compared as
      // ReuseCached compares it (where Instance or Dict would look it up).
      // Each within the depth it was rendered to: a held tuple's text is
      // `(...)` past the limit (a scalar's reach is 0).
      const Fingerprint::Entry& e = prev.fp.entries_[a.entry];
      if ((e.size == Fingerprint::kScalar || e.size == Fingerprint::kFixed || e.size == Fingerprint::kRedacted) &&
          (a.reach == 0 || depth + a.reach <= limits_.max_depth)) {
        continue;
      }
      if (e.size == Fingerprint::kShared && depth + a.reach <= limits_.max_depth && !Active(now) &&
          AncestorsMatch(e.shared) && Walk::SharedSame(e.shared, now)) {
        NoteReused(e.shared);
        continue;
      }
    }
    CopyRun(prev, run_text, a.begin, run_entry, a.entry, run_attr, i, depth, out);
    ItemValue(a.key, now, a.redacted, depth, out);
    run_text = a.begin + a.length;
    run_entry = a.entry + a.entries;
    run_attr = i + 1;
  }
  // The rest, up to the closing bracket (the caller appends it).
  CopyRun(prev, run_text, prev.text.size() - 1, run_entry, prev.fp.entries_.size(), run_attr, n, depth, out);
  for (size_t i = 0; i < n; ++i) Py_DECREF(values[i]);
  *count = n;
  return true;
}

void Renderer::CopyRun(const SharedRendering& prev, size_t t0, size_t t1, size_t e0, size_t e1, size_t a0,
                       size_t a1, int depth, std::string* out) {
  const size_t text_at = out->size();
  const size_t entry_at = fp_ ? fp_->entries_.size() : 0;
  out->append(prev.text.data() + t0, t1 - t0);
  if (fp_ && fp_->valid_ && e1 > e0) {
    const auto& entries = prev.fp.entries_;
    const auto& objs = prev.fp.objs_;
    fp_->entries_.insert(fp_->entries_.end(), entries.begin() + static_cast<std::ptrdiff_t>(e0),
                         entries.begin() + static_cast<std::ptrdiff_t>(e1));
    fp_->objs_.insert(fp_->objs_.end(), objs.begin() + static_cast<std::ptrdiff_t>(e0),
                      objs.begin() + static_cast<std::ptrdiff_t>(e1));
    // The references Fingerprint::Release drops, taken for the copies.
    for (size_t k = e0; k < e1; ++k) {
      const Fingerprint::Entry& c = entries[k];
      if (c.size == Fingerprint::kScalar) Py_INCREF(c.obj);
      else if (c.size == Fingerprint::kShared) ++c.shared->refs;
      else if (Fingerprint::HoldsName(c.size)) {
        Py_XINCREF(c.type_name);
        if (c.size == Fingerprint::kClass) Py_XINCREF(c.dict);
      }
    }
  }
  for (size_t i = a0; i < a1; ++i) {
    SharedRendering::Attr a = prev.attrs[i];
    a.entry = static_cast<uint32_t>(a.entry - e0 + entry_at);
    a.begin = static_cast<uint32_t>(a.begin - t0 + text_at);
    deepest_ = std::max(deepest_, depth + a.reach);
    PushAttr(a);
  }
}

void Renderer::Value(PyObject* v, int depth, std::string* out) {
  // Past the budget: nothing from here on is kept (Over marked the cut).
  if (Over(*out)) return;
  if (Scalar(v, out)) {
    if (fp_) Record(v, -1);
    return;
  }
  PyTypeObject* t = Py_TYPE(v);
  if (PlainInstanceType(t)) return Instance(v, depth, out);
  // Exact lists, tuples and dicts, instances and `<T object>`s (Instance),
  // functions, classes and modules are fingerprinted; anything else makes
  // the rendering's fingerprint invalid.
  if (t == &PyList_Type || t == &PyTuple_Type) return Sequence(v, t, depth, out);
  if (t == &PyDict_Type) return Dict(v, depth, out);
  if (t == &PySet_Type || t == &PyFrozenSet_Type) return Set(v, t, depth, out);
  if (PyType_Check(v)) return Class(v, out);
  if (PyFunction_Check(v)) {
    PyObject* qualname = reinterpret_cast<PyFunctionObject*>(v)->func_qualname;
    out->append("<function ").append(Utf8View(qualname)).append(">");
    RecordNamed(v, Fingerprint::kFunction, nullptr, qualname);
    return;
  }
  if (PyModule_Check(v)) return Module(v, out);
  // Subclasses of the builtins: the base value, wrapped in the class name.
  PyTypeObject* base = nullptr;
  if (PyLong_Check(v)) base = &PyLong_Type;
  else if (PyFloat_Check(v)) base = &PyFloat_Type;
  else if (PyUnicode_Check(v)) base = &PyUnicode_Type;
  else if (PyBytes_Check(v)) base = &PyBytes_Type;
  else if (PyList_Check(v)) base = &PyList_Type;
  else if (PyTuple_Check(v)) base = &PyTuple_Type;
  else if (PyDict_Check(v)) base = &PyDict_Type;
  else if (PyFrozenSet_Check(v)) base = &PyFrozenSet_Type;
  else if (PyAnySet_Check(v)) base = &PySet_Type;
  if (base) {
    // Fingerprinted: the class and its name (a static dict subclass,
    // defaultdict or OrderedDict, by its dict entry's exact type alone: its
    // name never changes), then the base value as an exact one of its kind
    // would be. An int, float, str or bytes cannot change: it is held, as an
    // exact one is, unless holding it could be seen (see HoldingObservable).
    bool scalar = base == &PyLong_Type || base == &PyFloat_Type || base == &PyUnicode_Type || base == &PyBytes_Type;
    if (scalar && HoldingObservable(t)) {
      Invalidate();
    } else if (base != &PyDict_Type || (t->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
      RecordNamed(v, Fingerprint::kSubclass, t, HeapName(t));
    }
    if (scalar) Record(v, Fingerprint::kScalar);
    out->append(TypeName(t));
    out->append("(");
    if (base == &PyLong_Type) {
      Int(v, out);
    } else if (base == &PyFloat_Type) {
      AppendFloat(PyFloat_AS_DOUBLE(v), out);
    } else if (base == &PyUnicode_Type) {
      Str(v, out);
    } else if (base == &PyBytes_Type) {
      Bytes(PyBytes_AS_STRING(v), PyBytes_GET_SIZE(v), out);
    } else if (base == &PyList_Type || base == &PyTuple_Type) {
      Sequence(v, base, depth, out);
    } else if (base == &PyDict_Type) {
      Dict(v, depth, out);
    } else {
      Set(v, base, depth, out);
    }
    out->append(")");
    return;
  }
  if (PyExceptionInstance_Check(v)) {
    std::string_view name = TypeName(t);
    PyObject* args = reinterpret_cast<PyBaseExceptionObject*>(v)->args;
    if (depth > limits_.max_depth || Active(v) || !args || !PyTuple_Check(args)) {
      Invalidate();
      out->append(name).append("(...)");
      return;
    }
    Ref hold(v);
    Ref hold_args(args);
    active_.push_back(v);
    deepest_ = std::max(deepest_, depth);
    size_t fp_index = fp_ ? fp_->entries_.size() : 0;
    RecordNamed(v, Fingerprint::kException, t, HeapName(t));
    out->append(name).append("(");
    uint32_t visited = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); ++i) {
      if (i > 0) out->append(", ");
      if (static_cast<size_t>(i) >= limits_.max_items || Over(*out)) {
        out->append("...");
        break;
      }
      Value(PyTuple_GET_ITEM(args, i), depth + 1, out);
      ++visited;
    }
    if (fp_ && fp_->valid_ && fp_index < fp_->entries_.size()) {
      fp_->entries_[fp_index].version = static_cast<uint64_t>(PyTuple_GET_SIZE(args));
      fp_->entries_[fp_index].children = visited;
    }
    out->append(")");
    active_.pop_back();
    return;
  }
  if (t == &PyByteArray_Type) return ByteArray(v, out);
  if (Library(v, t, out)) return;
  Instance(v, depth, out);
}

void Renderer::Deque(PyObject* v, int depth, std::string* out) {
  // Past the depth limit, or in a cycle: `deque([...])` (rule 12).
  if (Limited(v, depth, nullptr, "deque([...])", out)) return;
  deepest_ = std::max(deepest_, depth);
  Ref hold(v);
  // maxlen is fixed for a deque's life; an entry holds it after the
  // deque's, so that another deque at its address with the same items
  // but another maxlen is not taken for it.
  PyObject* maxlen = PyObject_GetAttrString(v, "maxlen");
  // Items by the deque's own sq_item (deque[i], C): no iterator is made, so
  // no allocation that could start a collection, and with it the
  // program's finalizers, inside the hook (3.10, 3.11).
  PySequenceMethods* seq = Py_TYPE(v)->tp_as_sequence;
  ssizeargfunc item_at = seq != nullptr ? seq->sq_item : nullptr;
  if (maxlen == nullptr || item_at == nullptr || (maxlen != Py_None && !PyLong_CheckExact(maxlen))) {
    PyErr_Clear();
    Py_XDECREF(maxlen);
    Invalidate();
    out->append("<deque object>");
    return;
  }
  active_.push_back(v);
  size_t fp_index = fp_ ? fp_->entries_.size() : 0;
  const Py_ssize_t n = Py_SIZE(v);
  Record(v, n);
  Record(maxlen, Fingerprint::kScalar);
  out->append("deque([");
  uint32_t visited = 0;
  bool truncated = false;
  if (dq::maxlen_layout == 0) {
    const Py_ssize_t m = dq::MaxLen(v);
    const bool ok = maxlen == Py_None ? m == -1 : PyLong_AsSsize_t(maxlen) == m;
    PyErr_Clear();
    dq::maxlen_layout = ok ? 1 : -1;
    if (!ok) dq::layout = -1;
  }
  // The layout, checked item by item against sq_item while unproven.
  const bool check = dq::layout == 0 && n > 0;
  if (check) {
    const Py_ssize_t m = dq::MaxLen(v);
    if (maxlen == Py_None ? m != -1 : PyLong_AsSsize_t(maxlen) != m) dq::layout = -1;
    PyErr_Clear();
  }
  dq::Cursor cursor(v);
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (i > 0) out->append(", ");
    if (static_cast<size_t>(i) >= limits_.max_items || Over(*out)) {
      out->append("...");
      truncated = true;
      break;
    }
    PyObject* item = item_at(v, i);  // a new reference
    if (item == nullptr) {
      // Never seen (no program code runs to shorten it): shown cut, and
      // rendered again next time.
      PyErr_Clear();
      Invalidate();
      out->append("...");
      break;
    }
    Ref hold_item(item);
    Py_DECREF(item);  // hold_item and the deque keep it
    if (check && dq::layout == 0 && cursor.Next() != item) dq::layout = -1;
    Value(item, depth + 1, out);
    ++visited;
  }
  if (check && dq::layout == 0 && visited > 0) dq::layout = 1;
  out->append("]");
  if (maxlen != Py_None) {
    out->append(", maxlen=");
    Int(maxlen, out);
  }
  out->append(")");
  Py_DECREF(maxlen);
  if (fp_ && fp_->valid_ && fp_index < fp_->entries_.size()) {
    fp_->entries_[fp_index].children = visited;
    fp_->entries_[fp_index].truncated = truncated;
  }
  active_.pop_back();
}

void Renderer::Slotted(PyObject* v, int depth, std::string* out) {
  PyTypeObject* t = Py_TYPE(v);
  if (Limited(v, depth, t, "(...)", out)) return;
  Ref hold(v);
  // Kept and reused as an instance with a __dict__ is (render_cache_, and
  // at depth 0 ReuseTop): a method's `self` of a slotted class (packaging's
  // VersionRange, an attrs class with slots=True) is bound anew in every
  // frame, and was rendered whole at each call; in a list, each instance was
  // rendered again when any other changed.
  bool hit = false;
  CachedRendering* cached = ReuseCached(v, depth, out, &hit);
  const bool top = !hit && depth == 0 && fp_ != nullptr && fp_->valid_;
  if (hit || (top && ReuseTop(v, out))) return;
  // The whole value (a local's, or a return value's), not a part of one.
  const bool whole = top && out->size() == start_ && fp_->entries_.empty();
  const int outer_deepest = deepest_;
  const uint64_t cycles_at = cycles_;
  deepest_ = depth;
  const size_t text_start = out->size();
  active_.push_back(v);
  size_t fp_index = fp_ ? fp_->entries_.size() : 0;
  RecordNamed(v, Fingerprint::kSlots, t, HeapName(t));
  // Its layout's number (0: a class without a valid tag, whose names the
  // walk cannot tell apart from a freed class's: compared as changed).
  SlotLayout* layout = SlotLayoutOf(t);
  if (fp_ && fp_->valid_) fp_->entries_.back().version = layout != nullptr ? layout->generation : 0;
  out->append(TypeName(t)).append("(");
  uint32_t visited = 0;  // slots walked past, set or not
  size_t shown = 0;
  bool more = false;
  // Each member's redaction, from its class's layout if it is kept.
  if (layout != nullptr && redactor_ != nullptr && layout->redactor_id != redactor_->id()) {
    layout->redact.clear();
    for (const PyMemberDef* m : layout->members) layout->redact.push_back(redactor_->ShouldRedact(m->name));
    layout->redactor_id = redactor_->id();
  }
  size_t k = 0;  // the member's index in the layout
  ForEachSlot(t, [&](const PyMemberDef* m) {
    const size_t index = k++;
    PyObject* value = SlotValue(v, m);
    if (value == nullptr) {
      // Unset: not shown, and compared as unset.
      Record(nullptr, Fingerprint::kFixed);
      ++visited;
      return true;
    }
    if (shown > 0) out->append(", ");
    if (shown >= limits_.max_items || Over(*out)) {
      out->append("...");
      more = true;
      return false;
    }
    ++shown;
    ++visited;
    out->append(m->name).append("=");
    Ref hv(value);
    if (redactor_ != nullptr &&
        (layout != nullptr && layout->redactor_id == redactor_->id() && index < layout->redact.size()
             ? layout->redact[index] != 0
             : redactor_->ShouldRedact(m->name))) {
      out->append(kRedacted);
      Record(value, Fingerprint::kRedacted);
    } else {
      Value(value, depth + 1, out);
    }
    return true;
  });
  out->append(")");
  if (fp_ && fp_->valid_ && fp_index < fp_->entries_.size()) {
    fp_->entries_[fp_index].children = visited;
    fp_->entries_[fp_index].more = more;
  }
  active_.pop_back();
  StoreCached(cached, v, deepest_ - depth, cycles_at, fp_index, text_start, *out);
  if (whole && (fp_->cut_ != std::string::npos || deepest_ > limits_.max_depth) && fp_->valid_) StoreTop(v, *out);
  deepest_ = std::max(outer_deepest, deepest_);
}

void Renderer::ByteArray(PyObject* v, std::string* out) {
  // Its bytes as rule 5 renders bytes. It changes in place with no
  // version: an entry after its own holds a copy of the bytes shown, which
  // the walk compares with what it holds then.
  const Py_ssize_t n = PyByteArray_GET_SIZE(v);
  const Py_ssize_t shown = std::min<Py_ssize_t>(n, static_cast<Py_ssize_t>(limits_.max_string));
  out->append("bytearray(");
  Bytes(PyByteArray_AS_STRING(v), n, out);
  out->append(")");
  if (!fp_ || !fp_->valid_) return;
  PyObject* copy = PyBytes_FromStringAndSize(PyByteArray_AS_STRING(v), shown);
  if (copy == nullptr) {
    PyErr_Clear();
    return Invalidate();
  }
  Record(v, n);
  Record(copy, Fingerprint::kScalar);
  Py_DECREF(copy);  // the entry holds it
}

namespace {

// The datetime C module's types, from its C API capsule, once the program
// has imported `datetime` (the recorder never imports it: a datetime value
// means it was). Null members until then.
struct DateTimeTypes {
  PyTypeObject* date = nullptr;
  PyTypeObject* datetime = nullptr;
  PyTypeObject* time = nullptr;
  PyTypeObject* delta = nullptr;
  PyTypeObject* timezone = nullptr;
  PyObject* utc = nullptr;
};

const DateTimeTypes& DateTimes() {
  static DateTimeTypes types;  // under the GIL; the capsule lives for ever
  if (types.date != nullptr) return types;
  PyObject* name = PyUnicode_InternFromString("datetime");
  PyObject* mod = name ? PyImport_GetModule(name) : nullptr;  // sys.modules only: no import
  Py_XDECREF(name);
  PyObject* capsule = (mod && PyModule_Check(mod)) ? PyObject_GetAttrString(mod, "datetime_CAPI") : nullptr;
  Py_XDECREF(mod);
  auto* api = capsule ? static_cast<PyDateTime_CAPI*>(PyCapsule_GetPointer(capsule, PyDateTime_CAPSULE_NAME)) : nullptr;
  Py_XDECREF(capsule);  // the module keeps it
  if (api == nullptr) {
    PyErr_Clear();
    return types;
  }
  types.datetime = api->DateTimeType;
  types.time = api->TimeType;
  types.delta = api->DeltaType;
  types.utc = api->TimeZone_UTC;
  types.timezone = Py_TYPE(api->TimeZone_UTC);
  types.date = api->DateType;
  return types;
}

// Whether repr(tz), a datetime.timezone, runs only the C module's code: its
// offset an exact timedelta and its name, if given, an exact str (the
// constructor takes subclasses of both, whose __repr__ could be the
// program's).
bool PlainTimezone(const DateTimeTypes& dt, PyObject* tz) {
  if (Py_TYPE(tz) != dt.timezone) return false;
  if (tz == dt.utc) return true;
  // timezone.__getinitargs__ (C; the class cannot be subclassed): (offset,)
  // or (offset, name), the objects it holds.
  PyObject* args = PyObject_CallMethod(tz, "__getinitargs__", nullptr);
  if (args == nullptr) {
    PyErr_Clear();
    return false;
  }
  bool plain = PyTuple_Check(args) && PyTuple_GET_SIZE(args) >= 1 && PyTuple_GET_SIZE(args) <= 2 &&
               Py_TYPE(PyTuple_GET_ITEM(args, 0)) == dt.delta &&
               (PyTuple_GET_SIZE(args) == 1 || PyUnicode_CheckExact(PyTuple_GET_ITEM(args, 1)));
  Py_DECREF(args);
  return plain;
}

}  // namespace

bool Renderer::Library(PyObject* v, PyTypeObject* t, std::string* out) {
  if (t == &PyRange_Type) {
    // range(START, STOP) or range(START, STOP, STEP) as its repr writes it,
    // the ints by rule 2 (a huge bound is `<int with N bits>`, where repr
    // would fail). range is final: its members are its own.
    static const char* const kNames[] = {"start", "stop", "step"};
    PyObject* parts[3] = {nullptr, nullptr, nullptr};
    bool ok = true;
    for (int i = 0; i < 3 && ok; ++i) {
      parts[i] = PyObject_GetAttrString(v, kNames[i]);
      ok = parts[i] != nullptr && PyLong_CheckExact(parts[i]);
    }
    if (ok) {
      int overflow = 0;
      long step = PyLong_AsLongAndOverflow(parts[2], &overflow);
      out->append("range(");
      Int(parts[0], out);
      out->append(", ");
      Int(parts[1], out);
      if (overflow != 0 || step != 1) {
        out->append(", ");
        Int(parts[2], out);
      }
      out->append(")");
    } else {
      PyErr_Clear();
      out->append("<range object>");
    }
    for (PyObject* part : parts) Py_XDECREF(part);
    // Immutable, and its text depends on its ints alone: held like a scalar.
    Record(v, Fingerprint::kScalar);
    return true;
  }
  // The datetime types are static ones named "datetime.*" (a subclass, a
  // heap class, is an instance of rule 11).
  if ((t->tp_flags & Py_TPFLAGS_HEAPTYPE) || std::strncmp(t->tp_name, "datetime.", 9) != 0) return false;
  const DateTimeTypes& dt = DateTimes();
  if (dt.date == nullptr) return false;
  PyObject* tz = nullptr;
  if (t == dt.datetime) {
    tz = PyDateTime_DATE_GET_TZINFO(v);
  } else if (t == dt.time) {
    tz = PyDateTime_TIME_GET_TZINFO(v);
  } else if (t == dt.timezone) {
    tz = v;
  } else if (t != dt.date && t != dt.delta) {
    return false;
  }
  if (tz != nullptr && tz != Py_None && !PlainTimezone(dt, tz)) {
    // `<T object>` (rule 13), but not fingerprinted as one: another value
    // of its type at its address may read as its repr (a freed aware
    // datetime's block is a naive one's size).
    Invalidate();
    out->append("<").append(TypeName(t)).append(" object>");
    return true;
  }
  // Immutable, tzinfo included: the C type's own repr
  // (`datetime.date(2024, 1, 2)`), computed once and held like a scalar.
  AppendSlotRepr(t->tp_repr, v, "<datetime value>", out);
  Record(v, Fingerprint::kScalar);
  return true;
}

void Renderer::Class(PyObject* v, std::string* out) {
  AppendSlotRepr(PyType_Type.tp_repr, v, "<class>", out);  // type.__repr__, not a metaclass's
  if (!fp_ || !fp_->valid_) return;
  auto* c = reinterpret_cast<PyTypeObject*>(v);
  // A static class's text is fixed (its name and module come from tp_name),
  // and it is never freed: its identity is enough.
  if (!(c->tp_flags & Py_TPFLAGS_HEAPTYPE)) return Record(v, Fingerprint::kFixed);
  // A heap class: `<class 'MODULE.QUALNAME'>` from the __module__ in its
  // dict and its __qualname__; under "builtins", its __name__ instead,
  // which is not recorded: not fingerprinted.
  PyObject* dict = c->tp_dict;
  PyObject* mod = (dict && PyDict_Check(dict) && ModuleKey()) ? PyDict_GetItemWithError(dict, ModuleKey()) : nullptr;
  if (!mod) PyErr_Clear();
  if (!mod || !PyUnicode_Check(mod) || PyUnicode_CompareWithASCIIString(mod, "builtins") == 0 ||
      compat::DictVersion(dict) == 0) {
    return Invalidate();
  }
  RecordNamed(v, Fingerprint::kClass, nullptr, reinterpret_cast<PyHeapTypeObject*>(c)->ht_qualname);
  if (!fp_->valid_) return;
  Py_INCREF(mod);  // held by the entry (Fingerprint::Release drops it)
  fp_->entries_.back().dict = mod;
  fp_->entries_.back().version = compat::DictVersion(dict);
}

void Renderer::Module(PyObject* v, std::string* out) {
  // PyModule_GetName's text: the UTF-8 of the str bound to __name__.
  PyObject* name = ModuleNameObject(v);
  Py_ssize_t n = 0;
  const char* text = name ? PyUnicode_AsUTF8AndSize(name, &n) : nullptr;
  if (!text) PyErr_Clear();
  out->append("<module '");
  if (text) out->append(text, static_cast<size_t>(n));
  else out->append("?");
  out->append("'>");
  if (text) RecordNamed(v, Fingerprint::kModule, nullptr, name);
  else Invalidate();
}

namespace {

// The tp_str slot CPython installs for a class statement that defines
// __str__ (typeobject.c's slot_tp_str, not exported): read off a probe class.
reprfunc PythonStrSlot() {
  static reprfunc slot = [] {
    reprfunc found = nullptr;
    PyObject* builtins = PyEval_GetBuiltins();
    PyObject* fn = builtins ? PyDict_GetItemString(builtins, "len") : nullptr;
    PyObject* probe = fn ? PyObject_CallFunction(reinterpret_cast<PyObject*>(&PyType_Type), "s(O){s:O}",
                                                 "_tracetape_probe", PyExc_Exception, "__str__", fn)
                         : nullptr;
    if (probe) {
      found = reinterpret_cast<PyTypeObject*>(probe)->tp_str;
      Py_DECREF(probe);
    }
    PyErr_Clear();
    return found;
  }();
  return slot;
}

// str(exc) runs no Python code of the program: no class in the MRO defines
// __str__ in Python.
bool BuiltinStr(PyTypeObject* t) {
  reprfunc python_slot = PythonStrSlot();
  return python_slot != nullptr && t->tp_str != python_slot;
}

bool SimpleArg(PyObject* a) {
  PyTypeObject* t = Py_TYPE(a);
  return a == Py_None || t == &PyBool_Type || t == &PyLong_Type || t == &PyFloat_Type || t == &PyUnicode_Type ||
         t == &PyBytes_Type;
}

}  // namespace

void Renderer::Prepare() { PythonStrSlot(); }

void Renderer::RenderException(PyObject* exc, std::string* out) {
  out->clear();
  start_ = 0;
  deepest_ = 0;
  active_.clear();
  // Fingerprinted into scratch, never kept: the instances and dicts among
  // its args are taken from the caches when unchanged (a parser's error
  // holds the grammar element that failed). Their "unchanged as of this
  // event" is stale: the program may have run since the last capture.
  NextEpoch();
  scratch_.Clear();
  fp_ = &scratch_;
  struct Done {
    Renderer* r;
    ~Done() {
      r->fp_ = nullptr;
      r->scratch_.Clear();
    }
  } done{this};
  if (!exc || !PyExceptionInstance_Check(exc)) {
    if (exc) Value(exc, 0, out);
    Finish(out);
    return;
  }
  PyTypeObject* t = Py_TYPE(exc);
  out->append(TypeName(t));
  const size_t name_end = out->size();
  out->append(": ");
  // args may be a tuple subclass (C code raising with a tuple subclass as
  // the value, as OrderedDict.move_to_end does with a missing key): then
  // str(exc) of two args or more is str(args), which may run its class's
  // __repr__, and the message is rendered from the items instead.
  PyObject* args = reinterpret_cast<PyBaseExceptionObject*>(exc)->args;
  bool simple = args && PyTuple_Check(args) && (PyTuple_CheckExact(args) || PyTuple_GET_SIZE(args) < 2);
  for (Py_ssize_t i = 0; simple && i < PyTuple_GET_SIZE(args); ++i) simple = SimpleArg(PyTuple_GET_ITEM(args, i));
  if (simple && BuiltinStr(t)) {
    PyObject* s = PyObject_Str(exc);
    if (s && PyUnicode_Check(s)) {
      out->append(Utf8(s));
      Py_DECREF(s);
      if (out->size() == name_end + 2) out->resize(name_end);  // no message: just the type
      Finish(out);
      return;
    }
    Py_XDECREF(s);
    PyErr_Clear();
  }
  if (args && PyTuple_Check(args)) {
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (n == 1) {
      PyObject* a = PyTuple_GET_ITEM(args, 0);
      if (Py_TYPE(a) == &PyUnicode_Type) {
        Py_ssize_t len = PyUnicode_GET_LENGTH(a);
        if (static_cast<size_t>(len) > limits_.max_string) {
          PyObject* part = PyUnicode_Substring(a, 0, static_cast<Py_ssize_t>(limits_.max_string));
          if (part) {
            out->append(Utf8(part));
            Py_DECREF(part);
          } else {
            PyErr_Clear();
          }
          out->append("...");
        } else {
          out->append(Utf8(a));
        }
      } else {
        Value(a, 0, out);
      }
    } else if (n > 1) {
      Sequence(args, &PyTuple_Type, 0, out);  // as a tuple, whatever its class
    }
  }
  if (out->size() == name_end + 2) out->resize(name_end);
  Finish(out);
}

RenderProbe ProbeRendering(PyObject* v, PyObject* between) {
  RenderProbe probe;
  auto made = Redactor::Create({});
  if (!made.ok()) {
    probe.failed = true;
    return probe;
  }
  Redactor redactor = std::move(made).value();
  Renderer renderer(RenderLimits{}, &redactor);
  Fingerprint fp;
  Renderer::NextEpoch();
  renderer.Render(v, &probe.before, &fp);
  if (between != nullptr) {
    PyObject* r = PyObject_CallNoArgs(between);
    if (r == nullptr) {
      probe.failed = true;
      fp.Clear();
      renderer.ReleaseCaches();
      return probe;
    }
    Py_DECREF(r);
  }
  Renderer::NextEpoch();  // the program ran
  probe.unchanged = Renderer::Unchanged(v, fp);
  Fingerprint again;
  renderer.Render(v, &probe.after, &again);
  fp.Clear();
  again.Clear();
  renderer.ReleaseCaches();
  return probe;
}

}  // namespace tracetape::recorder
