// Renders Python values as text without running the program's code (see
// docs/RENDERING.md, whose rules this implements and the tests re-implement).
#ifndef TRACETAPE_RECORDER_RENDER_H_
#define TRACETAPE_RECORDER_RENDER_H_

#include <Python.h>
#if PY_VERSION_HEX < 0x030B0000
#include <longintrepr.h>  // ob_digit (Python.h includes it from 3.11)
#endif

#include <algorithm>
#include <memory>
#include <charconv>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frame_compat.h"
#include "tracetape/recorder/options.h"
#include "tracetape/recorder/redactor.h"

namespace tracetape::recorder {

struct SharedRendering;

// Whether the n words at a and b are the same objects. A short run (a
// pair, a row, an empty list) in a loop, never by memcmp: an empty list's
// items pointer is null, and glibc's AVX-512 memcmp reads even zero bytes
// with a masked vector load, whose fault at address 0, suppressed, costs
// a microcode assist (about 100 ns here, more than the rest of an event's
// work): three empty lists among a loop's locals made its recording 3.5x
// slower.
__attribute__((always_inline)) inline bool SameObjects(PyObject* const* a, PyObject* const* b, size_t n) {
  if (n <= 8) {
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
  return std::memcmp(a, b, n * sizeof(PyObject*)) == 0;
}

// What one rendering visited, when it visited only exact lists, tuples and
// dicts, immutable scalars, instances (rendered from their __dict__, or as
// `<T object>`), functions, classes and modules: the objects in pre-order. Only the scalars are held, by strong
// references, so that their addresses cannot be reused while they are
// compared against; holding anything else could delay a finalizer the
// program can observe. So is a tuple of scalars (Renderer::HeldTuple), as
// one entry: it cannot change either. Other containers need no reference:
// they are compared by content (their items, held or compared in turn). Dicts and instances
// carry the version tag of the dict they were rendered from (PEP 509: a
// fresh, never reused number at every change of any dict), so an unchanged
// instance is recognised without walking its attributes' text.
class Fingerprint {
 public:
  // 3.12+, a fingerprint that is `watched()`: what no dict change shows
  // (see Watched()).
  struct Identity {
    PyObject* obj;
    PyTypeObject* type = nullptr;  // an instance's or a subclass's class, else null
    PyObject* name = nullptr;      // that class's name as rendered (heap), or null
    bool instance = false;         // an instance: its __dict__ is still `dict`
    PyObject* dict = nullptr;      // an instance's __dict__, or the root dict itself
    uint64_t version = 0;          // that dict's version (0: not compared)
  };
  Fingerprint() = default;
  Fingerprint(const Fingerprint&) = delete;
  Fingerprint& operator=(const Fingerprint&) = delete;
  Fingerprint(Fingerprint&& o) noexcept
      : entries_(std::move(o.entries_)),
        objs_(std::move(o.objs_)),
        valid_(o.valid_),
        cut_(o.cut_),
        watch_(std::move(o.watch_)) {
    o.entries_.clear();
    o.objs_.clear();
  }
  Fingerprint& operator=(Fingerprint&& o) noexcept {
    if (this != &o) {
      Clear();
      entries_ = std::move(o.entries_);
      objs_ = std::move(o.objs_);
      valid_ = o.valid_;
      cut_ = o.cut_;
      watch_ = std::move(o.watch_);
      o.entries_.clear();
      o.objs_.clear();
    }
    return *this;
  }
  ~Fingerprint() { Clear(); }
  void Clear() {
    if (!entries_.empty()) Release();  // inline when empty: a scalar slot's, at each change
    valid_ = true;
    cut_ = std::string::npos;
    if (watch_) watch_->worth = false;
  }
  void Swap(Fingerprint& other) {
    entries_.swap(other.entries_);
    objs_.swap(other.objs_);
    std::swap(valid_, other.valid_);
    std::swap(cut_, other.cut_);
    watch_.swap(other.watch_);
  }
  // 3.12+: whether every container the text depends on (up to the cut) is
  // a dict the renderer watches (PyDict_Watch: every change to it counts in
  // Renderer::dict_mods()), an instance whose __dict__ is one, or a shared
  // rendering whose fingerprint is watched too. Then, while no watched dict
  // changed since mods_at() (when it was made, or last found unchanged), the
  // value is unchanged if identities() hold: what no dict change shows (the
  // root dict's version, as the object at its address could be another one;
  // an instance's class, that class's name and where its __dict__ is; a
  // subclass's class and name; those of the shared renderings it holds). A
  // nested dict needs none: its container, unchanged, still holds it.
  // Kept only where worth it (Renderer::WatchedSame), in a state of its own
  // (a fingerprint is swapped and moved at every change of a local), and
  // decided when first needed: most values change before a check could
  // use it.
  struct Watch {
    bool worth = false;  // its own check is dear enough to try this first
    int8_t watched = 0;  // kWatched*
    uint64_t mods_at = 0;
    std::vector<Identity> identities;
  };
  static constexpr int8_t kWatchedNo = 0, kWatchedYes = 1, kWatchedUnknown = -1;
  // Found unchanged now: no watched dict changed since.
  void Verified(uint64_t mods) const {
    if (watch_) watch_->mods_at = mods;
  }
  bool valid() const { return valid_ && !entries_.empty(); }
  // v's whole rendering is one held entry, v itself (a datetime, a range, a
  // held tuple...): unchanged while it is v, as a held scalar is.
  bool HeldWhole(PyObject* v) const {
    return objs_.size() == 1 && objs_[0] == v && entries_[0].size == kScalar && valid_ && cut_ == std::string::npos;
  }
  // Room for n entries, growing geometrically (reserve alone would not).
  void Reserve(size_t n) {
    if (n <= entries_.capacity() && n <= objs_.capacity()) return;
    n = std::max(n, 2 * entries_.capacity());
    entries_.reserve(n);
    objs_.reserve(n);
  }
  // The rendering outgrew its length budget when it had recorded this many
  // entries (else npos): the text Finish keeps was already written, so the
  // entries from here on cannot change it and are not compared.
  size_t cut() const { return cut_; }

  // size: a container's length, or one of these.
  static constexpr Py_ssize_t kScalar = -1;    // held: unchanged while identical
  static constexpr Py_ssize_t kInstance = -2;  // rendered from `dict` at `version`
  static constexpr Py_ssize_t kFixed = -3;     // its text is fixed while it is this object (a built-in class; null: an unset slot)
  // Values whose text is a name, compared by identity and the (held) name
  // object they were rendered with:
  static constexpr Py_ssize_t kOpaque = -4;    // `<T object>`: of `type`, named `type_name` (heap)
  static constexpr Py_ssize_t kFunction = -5;  // `<function Q>`: `type_name` is its __qualname__
  // A heap class: `type_name` its __qualname__, `dict` its __module__
  // (held), `version` its dict's version then.
  static constexpr Py_ssize_t kClass = -6;
  static constexpr Py_ssize_t kModule = -7;    // `<module 'N'>`: `type_name` is the __name__ bound
  // `T(args...)`: of `type`, named `type_name` (heap), its args `version`
  // long, `children` of them visited.
  static constexpr Py_ssize_t kException = -8;
  // An instance or dict rendered once and kept by the renderer's cache: its
  // entries are `shared`'s (counted references), compared once per event
  // however many renderings hold them.
  static constexpr Py_ssize_t kShared = -9;
  // `T(base value)` (RENDERING.md rule 9): an instance of `type`, a subclass
  // of a builtin, named `type_name` (heap; null for a static type). The
  // entries of its base value follow: the container's own (recorded with
  // `type`), or for an int, float, str or bytes, a held kScalar.
  static constexpr Py_ssize_t kSubclass = -10;
  // A container or instance past the depth limit, or met again inside
  // itself (a cycle): `[...]`, `(...)`, `{...}`, `T(...)`, whatever it
  // holds. Of `type` (and for an instance, named `type_name`); its text
  // depends on the depth it was met at, so a rendering holding it is not
  // reused at another (Renderer::deepest_), or on the containers around it
  // (a cycle: SharedRendering::cyclic).
  static constexpr Py_ssize_t kLimited = -11;
  // An instance without a __dict__ rendered from its __slots__ (rule 11):
  // of `type` named `type_name`; `children` slots visited (set or not: an
  // unset one has an entry with no object), `more` if a set one followed.
  static constexpr Py_ssize_t kSlots = -12;
  // A redacted value (an attribute, item or slot whose name matches):
  // `<redacted>` whatever it is, so any object there renders the same.
  // (kFixed's text is fixed by the object itself: a built-in class.)
  static constexpr Py_ssize_t kRedacted = -13;
  // Whether an entry of this kind holds type_name.
  static bool HoldsName(Py_ssize_t size) {
    return size == kInstance || (size <= kOpaque && size >= kException) || size == kSubclass || size == kLimited ||
           size == kSlots;
  }
  struct Entry {
    PyObject* obj;      // a strong reference for kScalar, else only an identity
    Py_ssize_t size;
    uint32_t children;  // items (dict: entries; instance: attributes) visited
    // kInstance: its __dict__ (identity), or the instance itself when its
    // attributes are inline values (compat::InlineAttrs; version 0).
    PyObject* dict = nullptr;
    uint64_t version = 0;            // kInstance: that dict's version tag
    PyTypeObject* type = nullptr;    // kInstance, kOpaque: its class...
    PyObject* type_name = nullptr;   // ...and its __name__ then (strong: a str; null for a static type)
    // kInstance with version 0 (inline values, or on 3.13 a __dict__
    // sharing them, which attribute stores change without a new version):
    // each visited attribute's name is recorded, held, before its value, and
    // whether attributes were left out after the last visited one.
    // kLimited: an instance (`T(...)`), whose class's name is compared.
    bool more = false;
    // A list, tuple, dict, set or deque whose items stopped short of its
    // length (past `max_items`, or the length budget ran out), its text
    // ending `...` there: it shows that items follow, not how many. It
    // renders the same at any length past `children` (its visited items the
    // same), as Walk compares it: a list appended to past what it shows is
    // not rendered again at each append.
    bool truncated = false;
    // A list or tuple whose visited items are all held scalars: compared at
    // once, as the contiguous run of objs() after it.
    bool scalar_items = false;
    // A list or tuple whose visited items are each one shared rendering
    // (a list of instances): compared at once, the items by identity
    // against the run of objs() after it, then each shared rendering's
    // own check (Walk::SharedItems).
    bool shared_items = false;
    SharedRendering* shared = nullptr;  // kShared: a counted reference
  };
  const std::vector<Entry>& entries() const { return entries_; }
  const std::vector<PyObject*>& objs() const { return objs_; }  // entries()[i].obj

 private:
  friend class Renderer;
  void Release();  // drops the entries' references and the entries
  void Push(const Entry& e) {
    entries_.push_back(e);
    objs_.push_back(e.obj);
  }
  std::vector<Entry> entries_;
  std::vector<PyObject*> objs_;  // parallel to entries_
  bool valid_ = true;
  size_t cut_ = std::string::npos;
  std::unique_ptr<Watch> watch_;  // null until a rendering worth it
};

// The entries of one cached rendering of an instance or dict (the first is
// the object's own), shared by the fingerprints that reused it and by the
// cache slot. Immutable once made, but for the memo: whether the object was
// found unchanged, as of event `epoch`. Within one event no program code
// runs, so one comparison answers for every rendering that holds it.
struct SharedRendering {
  Fingerprint fp;
  // When every container among fp's entries is an instance or a dict
  // rendered at a version (or a shared rendering): their checks alone, in
  // the entries' order. The walk's answer at less cost: an unchanged
  // version vouches for the objects bound in it, so the scalars are not
  // looked at, and each object checked is alive since its container is
  // unchanged.
  struct Guard {
    PyObject* obj;
    PyTypeObject* type = nullptr;
    PyObject* name = nullptr;            // an instance's class __name__ (heap)
    PyObject* dict = nullptr;            // an instance's __dict__ (or itself: inline values); null for a dict (or `items`);
                                         // kLimitedType/Named: the class compared
    // Where that instance keeps it (_PyObject_GetDictPtr): fixed by its
    // class and address, so read again only after its class is compared.
    // Null for inline values (compat::InlineAttrsAre finds them in place).
    PyObject** slot = nullptr;
    uint64_t version = 0;
    Py_ssize_t size = 0;                 // a dict's length
    SharedRendering* shared = nullptr;   // else: this one's own check
    // An instance whose attributes are inline values, or whose __dict__ is
    // a split table sharing them (3.13), has no version: how many
    // attributes it has, compared instead of a version (-1: the version is
    // compared). A split table's are its `split` entries from `split_at`
    // on, the keys and values as SplitEntries gave them, compared by
    // identity; inline values', their shape (an index into `shapes`,
    // else -1), compared in place (compat::InlineAttrsAre).
    Py_ssize_t split = -1;
    size_t split_at = 0;
    int32_t shape = -1;
    // A list or tuple whose items shown are all held scalars or all shared
    // renderings (an entry with scalar_items or shared_items): its length
    // (`size`) and those `items` items, compared by identity with fp's
    // objects from `items_at` on (-1: not one); of any other items, with
    // `items_apart`'s from `items_at` on (`apart`). What holds it is checked
    // first, so whatever is at its address is alive; another list there
    // holding the same items renders the same. Each item that is not a held
    // scalar has a guard of its own, after this one.
    // kLimitedEntry: the index of the entry it checks.
    int32_t items = -1;
    uint32_t items_at = 0;  // (32 bits: the guard stays 104 bytes with the flag)
    bool apart = false;
    // A list, tuple or set guard's entry was `truncated`: of any length
    // past `items`.
    bool truncated = false;
    // A dict or instance guard that fails may still leave the text as it
    // was: the dict was truncated (its version changes with items it does
    // not show), or the rendering holds a redacted value (`<redacted>`,
    // whatever is bound there). The walk decides (Walk::GuardsHold). A
    // guard copied from a nested rendering keeps it.
    bool walk_on_fail = false;
    // A container or instance met in a cycle (a kLimited entry): its text
    // is its brackets (`[...]`), and for an instance its class's name, so
    // only its class is compared (kLimitedNamed: and that class's name).
    // What holds it, guarded before it, vouches that it is still bound.
    // kLimitedEntry: a value whose text is a name (`<T object>`, `<function
    // Q>`, a class, a module, an instance with no attribute yet, `T()`),
    // checked as the walk checks its entry (Walk::NamedSame). A limited
    // guard's `type` is null, which no object's class is: GuardsHold checks
    // it where the others' classes fail to match (Walk::LimitedHolds).
    int8_t limited = kNotLimited;
    static constexpr int8_t kNotLimited = 0, kLimitedType = 1, kLimitedNamed = 2, kLimitedEntry = 3;
  };
  std::vector<Guard> guards;
  // The split guards' keys (strong references: strs, so that a key's
  // address is not reused while it is compared) and values (identities: a
  // scalar among them is held by fp, and any other has its own guard).
  std::vector<PyObject*> split_keys;
  std::vector<PyObject*> split_values;
  // The items of the list and tuple guards whose items are neither all held
  // scalars nor all shared renderings (identities: a scalar among them is
  // held by fp, and any other has its own guard).
  std::vector<PyObject*> items_apart;
  std::vector<compat::InlineShape> shapes;
  static constexpr Py_ssize_t kMaxSplit = 64;
  void ReleaseSplit() {
    for (PyObject* k : split_keys) Py_DECREF(k);
    split_keys.clear();
    split_values.clear();
    items_apart.clear();
    shapes.clear();
  }
  bool guarded = false;
  // It shows a function or an opaque object (`<T object>`), which the walk
  // takes bound anew for the same text: a guard that failed on that is not
  // brought up to date after the walk (the object its own guard reads
  // would be the one no longer bound, perhaps freed), and fails again.
  bool rebinds = false;
  // The text the object rendered to (the cache slot's), and for an
  // instance or a dict, where each visited attribute or item is in it and
  // in fp: rendered anew (Renderer::SpliceItems), the same names or keys in
  // the same order take their text and entries from here, but for the
  // values that are other objects or render otherwise now.
  std::string text;
  struct Attr {
    PyObject* key;     // a strong reference
    PyObject* value;   // an identity, held or vouched for by fp if reused
    uint32_t entry;    // the value's first entry in fp...
    uint32_t entries;  // ...and how many it made
    uint32_t begin;    // the value's text in text
    uint32_t length;
    int reach;         // how many levels below the object its rendering went
    bool redacted;
  };
  std::vector<Attr> attrs;
  void ReleaseAttrs() {
    for (const Attr& a : attrs) Py_DECREF(a.key);
    attrs.clear();
  }
  uint32_t refs = 0;
  uint64_t epoch = 0;
  bool same = false;
  bool dicts_watched = false;  // Renderer::WatchShared done
  bool watch_worth = false;    // fp's Watch is worth trying (a copy, next to epoch)
  // Whether the rendering met a cycle, or holds one that did (a parent
  // pointer: `Field(parent=Schema(...))` inside that Schema's rendering):
  // which containers close a cycle depends on those being rendered around
  // it. Then its text is right only inside the same containers as when it
  // was made, `ancestors` (Renderer::active_ then, outermost first;
  // identities only). Renderer::AncestorsMatch.
  static constexpr size_t kMaxAncestors = 8;
  bool cyclic = false;
  uint8_t ancestors_count = 0;
  PyObject* ancestors[kMaxAncestors];
};

class Renderer {
 public:
  Renderer(const RenderLimits& limits, Redactor* redactor) : limits_(limits), redactor_(redactor) {
    compat::CheckInlineAttrs();
    WatchDicts();
  }
  ~Renderer() { UnwatchDicts(); }
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;
  // 3.12+: how many changes the watched dicts have had (see
  // SharedRendering::watched). Under the GIL.
  static uint64_t dict_mods() { return dict_mods_; }

  // Replaces *out with the rendering of v. Never raises: any Python error
  // met on the way is cleared and the value is shown as <TypeName object>.
  void Render(PyObject* v, std::string* out);
  // Same, also filling *fp (invalid if the value holds anything but exact
  // lists, tuples, dicts and immutable scalars).
  void Render(PyObject* v, std::string* out, Fingerprint* fp);
  // That Render where v is an exact dict or an instance rendered from its
  // attributes whose rendering the cache keeps and still holds (another
  // frame's local, or the same object rendered at an earlier event): its
  // text and a fingerprint of that one shared rendering, which is what
  // Render would give, without the way there. False, having changed
  // nothing, for any other value.
  bool RenderCached(PyObject* v, std::string* out, Fingerprint* fp);
  // True if v is structurally the value fp was taken from: then its
  // rendering is the same, and need not be computed.
  static bool Unchanged(PyObject* v, const Fingerprint& fp) {
    int flat = FlatSame(v, fp);
    return flat >= 0 ? flat != 0 : UnchangedWalk(v, fp);
  }
  // fp was just rendered: from now on, no watched dict changed. `guards`:
  // a shared rendering's guards, if it has them (they are its check).
  static void Rendered(Fingerprint* fp, size_t guards = 0) {
    // (A whole value kept by a shared rendering, its only entry, has that
    // one's check, which tries this first.)
    const bool worth = dict_watcher_ >= 0 && fp->entries_.size() >= kWatchMinEntries &&
                       (guards == 0 || guards >= kWatchMinGuards);
    if (!worth) return;  // (Clear made it so)
    if (!fp->watch_) fp->watch_ = std::make_unique<Fingerprint::Watch>();
    fp->watch_->worth = true;
    fp->watch_->watched = Fingerprint::kWatchedUnknown;
    WatchAll(fp);
    fp->watch_->mods_at = dict_mods_;
  }
  // Watches the dicts fp's text depends on (up to its cut), those of the
  // shared renderings it holds too, and gives the versions recorded for
  // them (entries, guards) the watcher's bit, which watching sets in a
  // dict's version tag: an unchanged dict's still equals, a changed one's
  // still differs. Only for a rendering worth it: a watched dict's every
  // change calls the watcher, for the rest of the run.
  static void WatchAll(Fingerprint* fp);
  static void WatchShared(SharedRendering* s);
  // s's guards of dicts just watched take the watcher's bit in their
  // versions.
  static void GuardsWatched(SharedRendering* s);
  // s (its fingerprint and guards) was just made: Rendered, and its guards
  // brought in line with the dicts that watched.
  static void RenderedShared(SharedRendering* s);
  // True if v, the object fp was rendered from, is known unchanged without
  // a walk: fp is watched, no watched dict changed since fp.mods_at(), and
  // its identities hold (see Fingerprint). Decides watched if not yet. Only
  // tried for a fingerprint of kWatchMinEntries or more (or a shared one
  // with kWatchMinGuards guards or more): a smaller one's own check (its
  // walk, or its guards) costs no more than its identities'.
  static constexpr size_t kWatchMinEntries = 16;
  static constexpr size_t kWatchMinGuards = 8;
  static bool WatchedSame(const Fingerprint& fp, PyObject* v) {
    const Fingerprint::Watch* w = fp.watch_.get();
    return w != nullptr && w->worth && w->mods_at == dict_mods_ && w->watched != Fingerprint::kWatchedNo &&
           WatchedSameSlow(fp, v);
  }
  static bool WatchedSameSlow(const Fingerprint& fp, PyObject* v);
  // Appends fp's identities (but its root dict's version if `nested`) to
  // *out; false if it is not watched. From its own Watch if decided.
  static bool ComputeWatched(const Fingerprint& fp, bool nested, std::vector<Fingerprint::Identity>* out);
  // The most frequent container, decided inline: an exact list or tuple,
  // rendered within the length budget, whose visited items are all held
  // scalars (its fingerprint: it, then them). 1 if v is it, unchanged; 0 if
  // changed; -1 if fp is of another shape (ask Unchanged). The same answer
  // as the walk's.
  __attribute__((always_inline)) static int FlatSame(PyObject* v, const Fingerprint& fp) {
    // objs_ parallels entries_: its size without a division (an Entry is
    // 72 bytes).
    const size_t count = fp.objs_.size();
    if (count == 0 || !fp.valid_ || fp.cut_ != std::string::npos) return -1;
    const Fingerprint::Entry& e = fp.entries_[0];
    if (!e.scalar_items || count != size_t{e.children} + 1) return -1;
    PyTypeObject* t = Py_TYPE(v);
    if (e.obj != v || t != e.type) return 0;
    Py_ssize_t n;
    PyObject* const* items;
    if (t == &PyList_Type) {
      n = PyList_GET_SIZE(v);
      items = reinterpret_cast<PyListObject*>(v)->ob_item;
    } else {
      n = PyTuple_GET_SIZE(v);
      items = reinterpret_cast<PyTupleObject*>(v)->ob_item;
    }
    if (n != e.size && !(e.truncated && n > Py_ssize_t{e.children})) return 0;
    return SameObjects(items, fp.objs_.data() + 1, e.children) ? 1 : 0;
  }
  // True if fp is a function's (`<function Q>`) and v is that function,
  // still of that __qualname__: the walk's answer, inline. False if not
  // (changed, or another kind of fingerprint: ask Unchanged).
  static bool FunctionSame(PyObject* v, const Fingerprint& fp) {
    if (fp.entries_.size() != 1 || !fp.valid_) return false;
    const Fingerprint::Entry& e = fp.entries_[0];
    return e.size == Fingerprint::kFunction && e.obj == v && Py_TYPE(v) == &PyFunction_Type &&
           reinterpret_cast<PyFunctionObject*>(v)->func_qualname == e.type_name;
  }
  // Replaces *out with "TypeName: message" for an exception instance.
  void RenderException(PyObject* exc, std::string* out);
  // Drops the caches' references (with the GIL, before the recorder goes).
  void ReleaseCaches();
  // A new event: the program may have run since the last comparison, so
  // what SharedRendering remembers is stale. Call before capturing.
  static void NextEpoch() { ++epoch_; }
  static uint64_t epoch() { return epoch_; }

  // Exact int/float/complex/str/bytes/bool/None: immutable, and rendering
  // cannot differ for the same object.
  __attribute__((always_inline)) static bool IsImmutableScalar(PyObject* v) {
    PyTypeObject* t = Py_TYPE(v);
    return t == &PyLong_Type || t == &PyUnicode_Type || t == &PyFloat_Type || t == &PyBool_Type || v == Py_None ||
           t == &PyBytes_Type || t == &PyComplex_Type;
  }
  // An exact tuple of at most kHeldTupleItems items, every one an immutable
  // scalar: neither it nor anything it holds can ever change, and holding
  // it cannot be seen by the program (a tuple takes no weak reference and
  // has no finalizer; nor have those scalars). Held as a scalar is, and
  // compared by identity alone: a local bound to one is a held slot, and a
  // rendering that shows one has a single kScalar entry for it instead of
  // one per item (dateutil's rrule iterator keeps tables of 366 ints in
  // tuples: each was compared item by item at every event).
  __attribute__((always_inline)) static bool HeldTuple(PyObject* v) {
    return Py_TYPE(v) == &PyTuple_Type && HeldTupleItems(v);
  }
  static bool HeldTupleItems(PyObject* v);  // (HeldTuple's, out of line)
  static constexpr Py_ssize_t kHeldTupleItems = 1024;
  // An exact int that fits a word, as that word: true and *out set, or
  // false if v is not such an int (before 3.12: an int of more than one
  // digit). Its text is std::to_chars of *out, the text Render gives it.
  __attribute__((always_inline)) static bool CompactInt(PyObject* v, int64_t* out) {
#if PY_VERSION_HEX >= 0x030C0000
    if (PyLong_CheckExact(v) && PyUnstable_Long_IsCompact(reinterpret_cast<PyLongObject*>(v))) {
      *out = static_cast<int64_t>(PyUnstable_Long_CompactValue(reinterpret_cast<PyLongObject*>(v)));
      return true;
    }
#else
    // Before 3.12 an int of at most one digit is the compact kind.
    if (PyLong_CheckExact(v)) {
      Py_ssize_t size = Py_SIZE(v);
      if (size >= -1 && size <= 1) {
        *out = static_cast<int64_t>(size) * static_cast<int64_t>(reinterpret_cast<PyLongObject*>(v)->ob_digit[0]);
        return true;
      }
    }
#endif
    return false;
  }
  // The rendering of None, True and False (their repr): *text points to
  // a static string. False for any other value.
  __attribute__((always_inline)) static bool SingletonText(PyObject* v, const char** text, size_t* size) {
    if (v == Py_None) {
      *text = "None";
      *size = 4;
    } else if (v == Py_True) {
      *text = "True";
      *size = 4;
    } else if (v == Py_False) {
      *text = "False";
      *size = 5;
    } else {
      return false;
    }
    return true;
  }
  // The rendering of such an int, written to `buf`; returns its length, or
  // 0 if v is not one. The hook hands such ints to the writer as words, and
  // the writer writes this same text (std::to_chars of the word).
  static size_t CompactIntText(PyObject* v, char (&buf)[24]) {
    int64_t value;
    if (!CompactInt(v, &value)) return 0;
    auto res = std::to_chars(buf, buf + sizeof(buf), value);
    return static_cast<size_t>(res.ptr - buf);
  }
  // Computes what RenderException needs once; call with the GIL before use.
  static void Prepare();

 private:
  static bool UnchangedWalk(PyObject* v, const Fingerprint& fp);
  void Value(PyObject* v, int depth, std::string* out);
  bool Scalar(PyObject* v, std::string* out);  // rules 1-5 on the exact types
  void Str(PyObject* s, std::string* out);
  void Bytes(const char* data, Py_ssize_t n, std::string* out);
  void Int(PyObject* v, std::string* out);
  void Sequence(PyObject* v, PyTypeObject* base, int depth, std::string* out);
  void Dict(PyObject* v, int depth, std::string* out);
  void Set(PyObject* v, PyTypeObject* base, int depth, std::string* out);
  void Instance(PyObject* v, int depth, std::string* out);
  void Class(PyObject* v, std::string* out);
  // Rule 12: a range, or a datetime value of the C module's exact types
  // (a time or datetime with no tzinfo or a datetime.timezone). False for
  // anything else.
  bool Library(PyObject* v, PyTypeObject* t, std::string* out);
  // Rule 12: an exact collections.deque (`deque([a, b], maxlen=N)`) and an
  // exact bytearray (`bytearray(b'..')`).
  void Deque(PyObject* v, int depth, std::string* out);
  // Rule 11 for an instance without a __dict__ whose class has __slots__.
  void Slotted(PyObject* v, int depth, std::string* out);
  void ByteArray(PyObject* v, std::string* out);
  void Module(PyObject* v, std::string* out);
  // Past the length budget: the first time, marks the fingerprint's cut.
  bool Over(const std::string& out) {
    if (out.size() <= start_ + limits_.max_total) return false;
    if (fp_ && fp_->cut_ == std::string::npos) fp_->cut_ = fp_->entries_.size();
    return true;
  }
  bool Active(PyObject* v) const;
  void Finish(std::string* out);
  bool ShouldRedactName(PyObject* name, std::string_view text);
  // A dict key whose item is <redacted>: a str, or a bytes (as UTF-8), that
  // ShouldRedactName matches.
  bool SecretKey(PyObject* key);

  // The last rendering of instances and dicts, reused inside a container or
  // another instance while its own fingerprint still holds: a change to one
  // instance in a list of many renders only that one again, and an unchanged
  // dict inside a changed instance is not rendered again. Two-way set
  // associative by address (a direct-mapped cache made the cost of a run
  // depend on where its objects happened to be allocated); an entry holds
  // no reference to its object (its shared rendering compares the object's
  // dict version, or walks it whole).
  struct CachedRendering {
    PyObject* obj = nullptr;
    // How many levels below itself its rendering went (none reached the
    // depth limit): valid wherever that stays within the limit.
    int reach = 0;
    SharedRendering* shared = nullptr;  // a counted reference (its text), or null
    uint8_t recent = 0;  // a set's first way: which of its two was used last
  };
  static constexpr size_t kRenderCacheSize = 1024;
  std::vector<CachedRendering> render_cache_;
  // Within a fingerprinted rendering: v's slot in the cache (else NULL),
  // and *hit if v's text and fingerprint were appended from it.
  CachedRendering* ReuseCached(PyObject* v, int depth, std::string* out, bool* hit);
  // After rendering v from text_start and fingerprint entry fp_index: keep
  // it in `slot` if nothing in it depended on where it was rendered. An
  // instance's or dict's items are attr_scratch_'s from `attrs_base` on
  // (npos: not to be spliced).
  // `cycles_at`: cycles_ when v's rendering began (see SharedRendering::cyclic).
  void StoreCached(CachedRendering* slot, PyObject* v, int reach, uint64_t cycles_at, size_t fp_index,
                   size_t text_start, const std::string& out, size_t attrs_base = std::string::npos);
  // Renders v from `prev`, its last rendering, which no longer holds: an
  // instance (from its __dict__ `dict`, and `versioned` as Instance
  // decided), or an exact dict (v itself). The same visible names or keys
  // in the same order; each value the same object still rendering the same
  // is taken from prev's text and entries, the others are rendered. False,
  // having appended nothing, if the names differ. *count: the items
  // visited. The closing bracket is the caller's.
  bool SpliceItems(PyObject* v, PyObject* dict, bool instance, bool versioned, const SharedRendering& prev,
                   int depth, std::string* out, size_t* count);
  // v's last rendering from its cache slot, if it is v's and can be
  // spliced (a counted reference: rendering v's values may store another
  // object's rendering in that slot), else null.
  SharedRendering* HoldPrevious(CachedRendering* cached, PyObject* v);
  // Renders an item's value (attribute or dict value) at depth + 1, or its
  // redacted text, and notes where it went (PushAttr).
  void ItemValue(PyObject* key, PyObject* value, bool redacted, int depth, std::string* out);
  // A dict's own entry: its length, and its version if it has one.
  void RecordDict(PyObject* v);
  // Appends prev's text [t0, t1), its entries [e0, e1) and its attributes
  // [a0, a1) (whose values are in them).
  void CopyRun(const SharedRendering& prev, size_t t0, size_t t1, size_t e0, size_t e1, size_t a0, size_t a1,
               int depth, std::string* out);
  void PushAttr(const SharedRendering::Attr& a) {
    Py_INCREF(a.key);
    attr_scratch_.push_back(a);
  }
  void DropAttrs(size_t base) {
    for (size_t i = base; i < attr_scratch_.size(); ++i) Py_DECREF(attr_scratch_[i].key);
    attr_scratch_.resize(base);
  }
  static constexpr size_t kMaxSplice = 64;
  // The items of the instances and dicts being rendered (see
  // SharedRendering::Attr), positions absolute, each object's from where
  // its own begin; keys held.
  std::vector<SharedRendering::Attr> attr_scratch_;
  // Appends an entry for v holding s's entries.
  void PushShared(PyObject* v, SharedRendering* s);
  // The last rendering of instances rendered as a whole value (a local, at
  // depth 0) that outgrew the length budget or met the depth limit, which
  // render_cache_ cannot keep: such a text is only right at the value's
  // start, at depth 0. A method's `self` is bound anew in every frame; a
  // large or deep one (a parser's grammar element) is then compared, not
  // rendered again.
  // Direct-mapped by address.
  static constexpr size_t kTopCacheSize = 256;
  std::vector<CachedRendering> top_cache_;
  CachedRendering* TopSlot(PyObject* v);
  // At the start of a whole value's rendering: v's kept rendering, if it
  // still holds (appended, and its entry pushed).
  bool ReuseTop(PyObject* v, std::string* out);
  // After rendering v as a whole value from fingerprint entry 0: kept, if
  // it was cut (the rest are render_cache_'s).
  void StoreTop(PyObject* v, const std::string& out);
  // Attribute names' redaction decision, by the (held) name object.
  struct CachedName {
    PyObject* name = nullptr;  // strong
    bool redact = false;
  };
  static constexpr size_t kNameCacheSize = 256;
  std::vector<CachedName> name_cache_;

  RenderLimits limits_;
  Redactor* redactor_;
  void Record(PyObject* v, Py_ssize_t size);
  void RecordInstance(PyObject* v, PyObject* dict, bool versioned);
  // An entry of a kind that holds `name` (borrowed here, held by the entry).
  void RecordNamed(PyObject* v, Py_ssize_t kind, PyTypeObject* type, PyObject* name);
  void Invalidate() {
    if (fp_) fp_->valid_ = false;
  }
  // v met past the depth limit, at `depth`: its text is its brackets (and
  // for an instance, its class's name).
  __attribute__((noinline, cold)) void RecordLimited(PyObject* v, int depth, bool instance) {
    deepest_ = std::max(deepest_, depth);
    PyTypeObject* t = Py_TYPE(v);
    RecordNamed(v, Fingerprint::kLimited, t, instance ? HeapNameOf(t) : nullptr);
    if (fp_ && fp_->valid_) fp_->entries_.back().more = instance;  // its name is in its text
  }
  // Past the depth limit, or met again while it is being rendered (a
  // cycle): v's text is `cut` (`[...]`), after its class's name for an
  // instance (`named`: `T(...)`), and true. A cycle's text depends on the
  // path to it: fingerprinted as a kLimited entry, and a rendering that
  // holds it is reused only inside the same containers (cycles_).
  bool Limited(PyObject* v, int depth, PyTypeObject* named, std::string_view cut, std::string* out);
  static PyObject* HeapNameOf(PyTypeObject* t) {
    return (t->tp_flags & Py_TPFLAGS_HEAPTYPE) ? reinterpret_cast<PyHeapTypeObject*>(t)->ht_name : nullptr;
  }
  static inline uint64_t epoch_ = 1;  // under the GIL
  // The dict watcher shared by the live renderers (-1: none, before 3.12 or
  // if CPython had no watcher id left), and its count of changes.
  static void WatchDicts();
  static void UnwatchDicts();
  static inline int dict_watcher_ = -1;
  static inline int dict_watchers_users_ = 0;
  static inline uint64_t dict_mods_ = 0;
#if PY_VERSION_HEX >= 0x030C0000
  static int OnDictChange(PyDict_WatchEvent event, PyObject* dict, PyObject* key, PyObject* value);
#endif
  // Makes `dict` watched, before its version is read (watching changes it).
  static void Watch(PyObject* dict) {
#if PY_VERSION_HEX >= 0x030C0000
    if (dict_watcher_ >= 0 && PyDict_Watch(dict_watcher_, dict) < 0) PyErr_Clear();
#else
    (void)dict;
#endif
  }
  // Whether a version read after Watch carries the watcher's bit.
  static bool WatchedVersion(uint64_t version) {
    return dict_watcher_ >= 0 && ((version >> dict_watcher_) & 1) != 0;
  }

  std::vector<PyObject*> active_;  // containers being rendered, for cycles
  Fingerprint* fp_ = nullptr;      // being filled, or null
  Fingerprint scratch_;            // for a rendering that is not kept
  int deepest_ = 0;                // the deepest container level rendered so far
  // How many cycles were met (Limited), or reused inside a cyclic shared
  // rendering, so far: a container's rendering met one if this moved
  // while it was rendered (StoreCached's `cycles_at`).
  uint64_t cycles_ = 0;
  // Whether s's text is right here: s met no cycle, or the containers
  // being rendered around this point are the ones it was made inside.
  bool AncestorsMatch(const SharedRendering* s) const {
    if (!s->cyclic) return true;
    return active_.size() == s->ancestors_count &&
           std::equal(active_.begin(), active_.end(), s->ancestors);
  }
  // s's text (and entries) appended: a cyclic one makes what holds it so.
  void NoteReused(const SharedRendering* s) {
    if (s->cyclic) ++cycles_;
  }
  size_t start_ = 0;
};

// The UTF-8 text of a str, or "" (and no error) if it has none.
std::string Utf8(PyObject* s);
// The same, borrowed from the str's own UTF-8 cache: valid while s lives.
std::string_view Utf8View(PyObject* s);

}  // namespace tracetape::recorder

#endif  // TRACETAPE_RECORDER_RENDER_H_
