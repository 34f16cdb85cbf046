// The trace hook. It runs inside the traced program on every event of
// recorded code, so it does as little as it can: look up the cached decision
// for the code object, read the frame's fast-locals slots, render only values
// that may have changed, and copy one compact record into the ring. Interning,
// chunking, compression and I/O happen on the writer thread.
//
// Invariants:
// - Everything here runs with the GIL held; the GIL orders the producers of
//   the ring.
// - No C++ exception leaves this file into CPython, no Python exception is
//   left set, and any exception that was pending when the hook was entered is
//   restored.
// - Each thread's shadow stack mirrors, frame for frame, the stack the writer
//   reconstructs from the records; every push or pop here has its record.
#include <Python.h>
#include <frameobject.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "frame_compat.h"
#include "gil_compat.h"
#include "monitoring.h"
#include "render.h"
#include "tracetape/recorder/chunk_assembler.h"
#include "tracetape/recorder/hook.h"
#include "tracetape/recorder/raw_records.h"
#include "tracetape/recorder/ring_buffer.h"
#include "tracetape/recorder/scope.h"
#include "tracetape/recorder/tape_writer.h"

namespace tracetape::recorder {

// After a fork (3.13+), the parent's writer restarts late: see AfterForkInParent.
void RestartWriterIfPending();

namespace {

struct SlotInfo {
  int index;
  uint32_t name;
  bool cell;
  bool redacted;
};

// Cached per code object in co_extra, valid for one recording session.
// What sys.gettrace() returns while the settrace backend records (the `obj`
// of PyEval_SetTrace), itself a Python trace function: see TraceHandle. Made
// once, kept for the process's life.
PyObject* g_trace_handle = nullptr;

struct CodeInfo {
  uint64_t session = 0;
  bool recorded = false;
  bool function = false;      // fast locals; otherwise a locals mapping
  bool redact_return = false;
  bool monitored = false;     // sys.monitoring backend: local events are on (only if recorded)
  bool plain = false;         // recorded, nothing to capture: events carry no deltas
  // A generator's, coroutine's or async generator's code: its frames are
  // suspended and resumed (the settrace backend keeps their slot states at
  // each return and gives them back at each call: HookThread::Suspend).
  bool generator = false;
  // Slot i is fast local i, none a cell or redacted, at most kIdentSlots:
  // its frames keep ShadowFrame::ident, and a frame's slots are compared by
  // identity all at once (Recorder::Quiet, Recorder::CaptureIdent).
  bool ident_fast = false;
  uint32_t id = 0;
  std::vector<SlotInfo> slots;
  // slots.size(), kept for the fast paths (a SlotInfo is 12 bytes: the
  // vector's size is a subtraction and a multiplication).
  uint32_t nslots = 0;
  // sys.monitoring: the line of each code unit, from co_lines() (-1: none),
  // built the first time an event needs a line from an instruction offset.
  bool lines_built = false;
  std::vector<int32_t> lines;
  // The same table for the fast paths: lines.data() and lines.size() once
  // built (0 before: one compare says whether an offset is in the table).
  const int32_t* line_data = nullptr;
  size_t line_units = 0;
  // The decisions above but `id` and the slots' name ids were made under
  // this key (g_decisions: the scope, the locals mode and the
  // redaction patterns). A later recording with the same key (`pytest
  // --tape`'s next test) keeps them, and only gives the code an id and a
  // definition in its own tape, from what is kept here (recorded code only).
  uint64_t decided = 0;
  struct Names {
    std::string filename, name, qualname;
    std::vector<std::string> args;
    std::vector<std::string> slot_names;  // slots[i]'s name
  };
  std::unique_ptr<Names> names;  // recorded code only
};

// The code-object extra slot of the CodeInfo (RequestCodeExtraIndex).
Py_ssize_t g_extra_index = -1;
// compat::PeekCodeExtra reads what GetCodeExtra gives (checked at each
// new code: Recorder::LookupSlow); else only GetCodeExtra is used.
bool g_peek_extra = true;

// The code object that holds it is freed: the recording's cache of the
// last code must forget it (Recorder::Lookup), before the address can be
// another code's.
void ForgetCodeInfo(CodeInfo* ci);
void FreeCodeInfo(void* p) {
  auto* ci = static_cast<CodeInfo*>(p);
  ForgetCodeInfo(ci);
  delete ci;
}

// What the writer last received for one local.
struct SlotState {
  PyObject* held = nullptr;  // a strong reference, only to an immutable scalar
  bool bound = false;
  // The value was an int that fits a word, sent as `word` (kIntLength):
  // `text` is written only when something needs it (Text()).
  bool is_word = false;
  bool text_stale = false;   // is_word, and `text` is not word's text yet
  uint32_t seen = 0;         // mapping frames: the last capture that saw it
  int64_t word = 0;
  std::string text;
  Fingerprint fp;            // builtin data: what `text` was rendered from

  // What the writer last received, as text.
  const std::string& Text() {
    if (text_stale) {
      char buf[24];
      auto res = std::to_chars(buf, buf + sizeof(buf), word);
      text.assign(buf, static_cast<size_t>(res.ptr - buf));
      text_stale = false;
    }
    return text;
  }
  void Clear() {
    Py_CLEAR(held);
    fp.Clear();
    bound = false;
    is_word = false;
    text_stale = false;
    text.clear();
  }
};

// A module or class body's locals (a dict), by name id.
struct MappingState {
  std::unordered_map<uint32_t, SlotState> slots;
  // The dict's entries as the last capture met them, in order: a capture
  // that meets the same key at the same place takes what it decided then,
  // and compares the value with its slot state at once (a module's globals
  // are mostly held scalars and functions). Without it, every line of a
  // module body looked up every global in two hash tables: quadratic in
  // a module's size, with a constant ten times as large.
  struct Entry {
    PyObject* key;      // identity: compared only if `cached`
    SlotState* st;      // slots[name], or null until looked up
    // What the last capture of the name left, when its value, met again,
    // cannot have changed: `value` is held by st (a scalar), or the name is
    // redacted and bound, or `value` is a function rendered under
    // `qualname` (held by st's fingerprint). Compared without reading st.
    PyObject* value = nullptr;
    PyObject* qualname = nullptr;
    uint32_t name;
    uint8_t same = kSameNo;
    bool cached;        // key is held (Recorder::mapping_names_): its text is still the one decided
    bool skip;          // not a local to capture: not a str, or a dunder name
    bool redacted;
  };
  static constexpr uint8_t kSameNo = 0, kSameHeld = 1, kSameFunction = 2;
  std::vector<Entry> entries;
};

// The most slots a frame keeps ShadowFrame::ident for (one word each, in
// the frame, without an allocation per call).
constexpr size_t kIdentSlots = 16;

struct ShadowFrame {
  compat::FrameKey key = nullptr;  // identity; read only while the frame runs
  CodeInfo* code = nullptr;
  std::vector<SlotState> slots;                     // function frames, parallel to code->slots
  // Module and class bodies, by name id; made at their first capture (a
  // call pushes a frame: an empty map would cost its construction and move).
  std::unique_ptr<MappingState> mapping;
  // No slot states: popping or suspending it keeps and releases nothing.
  bool Bare() const { return slots.empty() && !mapping; }
  uint32_t round = 0;
  // A generator's or coroutine's frame resumed with the slot states it had
  // when it yielded (HookThread::Resume): its call event sends every bound
  // local again, rendering only those that changed (Recorder::Capture).
  bool resumed = false;
  // CodeInfo::ident_fast frames, while ident_valid: what the last capture
  // of each slot left, as the fast locals would hold it if nothing changed
  // since: nullptr for an unbound slot, the held scalar, or the object a
  // fingerprint describes (compared, never read: it may be gone). `check`:
  // the bound slots holding no scalar, whose value can change at the same
  // identity. kStale for a slot whose object is not known (RebuildIdent):
  // it never matches. Set by captures only; anything else that changes the
  // slot states clears ident_valid.
  bool ident_valid = false;
  uint64_t check = 0;
  // Slots of `check` that Recorder::FastLine found holding other than a
  // flat sequence (an instance...): while one of them is still checked,
  // FastLine is not tried.
  uint64_t unflat = 0;
  PyObject* ident[kIdentSlots];

  ShadowFrame(compat::FrameKey key, CodeInfo* code) : key(key), code(code) {}
  // (The shadow stack's reallocation.) ident is left unset by the
  // constructor, costing a call nothing: only what is valid is copied.
  ShadowFrame(ShadowFrame&& o) noexcept
      : key(o.key),
        code(o.code),
        slots(std::move(o.slots)),
        mapping(std::move(o.mapping)),
        round(o.round),
        resumed(o.resumed),
        ident_valid(o.ident_valid),
        check(o.check),
        unflat(o.unflat) {
    if (ident_valid) std::copy_n(o.ident, slots.size(), ident);
  }
  ShadowFrame& operator=(ShadowFrame&&) = delete;
  static inline PyObject* const kStale = reinterpret_cast<PyObject*>(uintptr_t{1});
  // ident from the slot states alone.
  void RebuildIdent() {
    check = 0;
    for (size_t i = 0; i < slots.size(); ++i) {
      const SlotState& st = slots[i];
      ident[i] = !st.bound ? nullptr : st.held != nullptr ? st.held : kStale;
      if (st.bound && st.held == nullptr) check |= uint64_t{1} << i;
    }
    ident_valid = true;
  }
  void Release() {
    ident_valid = false;
    for (auto& s : slots) s.Clear();
    if (mapping) {
      for (auto& [name, s] : mapping->slots) s.Clear();
      mapping->entries.clear();
    }
  }
};

// A thread's shadow stack. Popped frames stay constructed above the top and
// are reused by the next pushes, so that a call and its return construct and
// destroy nothing: a frame above the top holds no slot states and no mapping
// (pop_back sees to it), and push() resets the rest.
class ShadowStack {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // One load (top_), as std::vector's back() is: most events read it.
  ShadowFrame& back() { return *top_; }
  ShadowFrame* begin() { return frames_.data(); }
  ShadowFrame* end() { return frames_.data() + size_; }
  __attribute__((always_inline)) ShadowFrame& emplace_back(compat::FrameKey key, CodeInfo* code) {
    if (full()) {
      frames_.emplace_back(nullptr, nullptr);  // may move them: top_ is set below
      built_ = frames_.size();
    }
    return PushOnRoom(key, code);
  }
  // No frame above the top is constructed: a push must grow the vector.
  bool full() const { return size_ == built_; }
  // emplace_back where !full() (no allocation, no call).
  __attribute__((always_inline)) ShadowFrame& PushOnRoom(compat::FrameKey key, CodeInfo* code) {
    top_ = &frames_[size_++];
    return Begin(top_, key, code);
  }
  // PushOnRoom on a stack that is not empty: the new frame is the one
  // above the top (no multiply by the frame's size).
  __attribute__((always_inline)) ShadowFrame& PushAboveTop(compat::FrameKey key, CodeInfo* code) {
    ++size_;
    return Begin(++top_, key, code);
  }
  // The caller has moved or released what the top frame held.
  __attribute__((always_inline)) void pop_back() {
    ShadowFrame& f = *top_;
    if (!f.slots.empty()) f.slots.clear();
    if (f.mapping) f.mapping.reset();
    --size_;
    top_ = size_ > 0 ? top_ - 1 : nullptr;
  }
  // pop_back of a frame that holds nothing (ShadowFrame::Bare).
  __attribute__((always_inline)) void PopBare() {
    --size_;
    top_ = size_ > 0 ? top_ - 1 : nullptr;
  }
  void clear() {
    while (size_ > 0) pop_back();
  }

 private:
  // A pushed frame's state (what it holds was released at its last pop).
  __attribute__((always_inline)) static ShadowFrame& Begin(ShadowFrame* f, compat::FrameKey key, CodeInfo* code) {
    f->key = key;
    f->code = code;
    f->round = 0;
    f->resumed = false;
    f->ident_valid = false;
    f->check = 0;
    f->unflat = 0;
    return *f;
  }
  std::vector<ShadowFrame> frames_;
  size_t built_ = 0;  // frames_.size(), without its division
  size_t size_ = 0;
  ShadowFrame* top_ = nullptr;  // &frames_[size_ - 1], or null
};

struct HookThread {
  uint32_t index = 0;
  uint64_t ident = 0;
  std::string name;
  ShadowStack stack;
  // Another trace function held the hook (settrace backend) until it was
  // given back: frames may have ended, and begun, unseen. The next event
  // checks the shadow stack against the real one first (Recorder::Resync).
  bool resync = false;
  // The program's main module has ended (QuietCurrentThread): this thread
  // now runs the runner's wait for the program's threads, whose calls into
  // the standard library are not the program's. While its stack is empty,
  // only a call of code outside the default-excluded directories (a signal
  // handler of the program's) is recorded (Recorder::OnEvent); the fast
  // paths do not take it (CurrentThread).
  bool quiet = false;
  // Recorder::PauseThread (sys.monitoring backend): the thread's events are
  // not recorded until ResumeThread; it had no recorded frame running. The
  // fast paths do not take it (CurrentThread).
  bool paused = false;
  // Frames that CPython linked above a generator or coroutine that throw()
  // ran through delegating frames (`yield from`, `await`): they are on the
  // real stack, without events, until that frame returns or yields, and
  // leave it then without one (Recorder::LinkCallers, Recorder::Unlink). Per
  // such frame, innermost last: its position in `stack` (1-based) and how
  // many adopted linked frames lie right under it. While there are any, the
  // fast paths do not take the thread (CurrentThread).
  struct Link {
    size_t depth;
    uint32_t frames;
  };
  std::vector<Link> links;
  // Slot vectors of returned frames, released (no references, unbound),
  // kept for the next calls with their strings' and fingerprints' room: a
  // call then allocates nothing. The first spare_count entries; the rest
  // are empty vectors. (Not a vector of vectors: its push_back, with its
  // reallocation, was a call on every return or not, as the compiler chose.)
  static constexpr size_t kSpareSlotVectors = 64;
  std::array<std::vector<SlotState>, kSpareSlotVectors> spare_slots;
  size_t spare_count = 0;
  // n unbound slot states for a new frame's empty `slots`: a spare vector
  // if there is one (swapped in, nothing freed or moved), resized to n.
  __attribute__((always_inline)) void TakeSpare(std::vector<SlotState>* slots, size_t n) {
    if (spare_count > 0) slots->swap(spare_slots[--spare_count]);
    if (slots->size() != n) slots->resize(n);
  }
  // Keeps `slots` (released) as a spare if there is room; leaves it empty.
  __attribute__((always_inline)) void PutSpare(std::vector<SlotState>* slots) {
    if (spare_count < kSpareSlotVectors) spare_slots[spare_count++].swap(*slots);
    slots->clear();
  }

  // The slot states of generator and coroutine frames that yielded (the
  // sys.monitoring backend's PY_YIELD; with settrace, any return of such a
  // frame), for their next resume: a resume is a call on the tape, with
  // every local sent again, and without these each one would be rendered
  // anew at every resume. Direct-mapped by frame (no
  // allocation per yield); an entry goes at the resume, or to the next
  // frame that yields into its place. Correct whatever frame it is restored
  // into (a key reused by another generator of the same code): slot states
  // are compared with the values they find, by identity with held
  // references, or by structure.
  struct Suspended {
    compat::FrameKey key = nullptr;
    CodeInfo* code = nullptr;
    std::vector<SlotState> slots;
  };
  static constexpr size_t kSuspendedWays = 64;
  static bool LargeScalar(PyObject* o) {
    constexpr Py_ssize_t kLarge = 4096;
    if (PyUnicode_Check(o)) return PyUnicode_GET_LENGTH(o) > kLarge;
    if (PyBytes_Check(o)) return PyBytes_GET_SIZE(o) > kLarge;
    // A held tuple (Renderer::HeldTuple) holds all its items, not only
    // those shown.
    if (PyTuple_CheckExact(o)) return PyTuple_GET_SIZE(o) > 64;
    return false;
  }
  std::array<Suspended, kSuspendedWays> suspended;
  static size_t SuspendedWay(compat::FrameKey key) {
    auto k = reinterpret_cast<uintptr_t>(key);
    return ((k >> 4) ^ (k >> 10)) & (kSuspendedWays - 1);
  }

  void Recycle(std::vector<SlotState>* slots) {
    for (auto& st : *slots) st.Clear();
    PutSpare(slots);
  }
  __attribute__((always_inline)) void Pop() {
    ShadowFrame& sf = stack.back();
    if (!sf.Bare()) {
      sf.Release();
      if (!sf.slots.empty()) PutSpare(&sf.slots);  // cleared by Release
    }
    stack.pop_back();
  }
  // The top frame yielded: popped, its slot states kept for its resume.
  // Kept states may outlive the generator (one abandoned, or finished on the
  // settrace backend) until their way is taken: a large str, bytes or tuple held
  // is let go now, and rendered again at the resume instead.
  void Suspend() {
    ShadowFrame& sf = stack.back();
    if (sf.slots.empty() || sf.mapping) return Pop();
    for (auto& st : sf.slots) {
      if (st.held != nullptr && LargeScalar(st.held)) st.Clear();
    }
    Suspended& e = suspended[SuspendedWay(sf.key)];
    if (!e.slots.empty()) Recycle(&e.slots);
    e.key = sf.key;
    e.code = sf.code;
    e.slots = std::move(sf.slots);
    stack.pop_back();
  }
  // The top frame was just pushed for a resume: its slot states back, if it
  // yielded with them.
  void Resume() {
    ShadowFrame& sf = stack.back();
    Suspended& e = suspended[SuspendedWay(sf.key)];
    if (e.key != sf.key || e.slots.empty()) return;
    if (e.code == sf.code && sf.slots.empty()) {
      sf.slots = std::move(e.slots);
      sf.ident_valid = false;
      e.slots.clear();
      sf.resumed = true;
    } else {
      Recycle(&e.slots);
    }
    e.key = nullptr;
  }
  // Everything held, with the GIL (the recording ends, or the thread goes).
  void ReleaseAll() {
    for (auto& f : stack) f.Release();
    for (auto& e : suspended) {
      for (auto& st : e.slots) st.Clear();
      e.slots.clear();
      e.key = nullptr;
    }
  }
};

constexpr uint32_t kMaxThreads = 0xffff;
// Bytes per bytecode unit: sys.monitoring offsets and co_lines() count bytes.
constexpr long kCodeUnitBytes = 2;

// A text value's bytes after RawEvent as little-endian words: the u32
// length, then the text, zero-padded to a multiple of 8 (the layout of
// Recorder::FillPlain), for the return values None, True and False.
constexpr uint64_t TextWord(uint32_t n, const char (&s)[5]) {
  return n | uint64_t{static_cast<uint8_t>(s[0])} << 32 | uint64_t{static_cast<uint8_t>(s[1])} << 40 |
         uint64_t{static_cast<uint8_t>(s[2])} << 48 | uint64_t{static_cast<uint8_t>(s[3])} << 56;
}
constexpr uint64_t kNoneTail[1] = {TextWord(4, "None")};
constexpr uint64_t kTrueTail[1] = {TextWord(4, "True")};
constexpr uint64_t kFalseTail[2] = {TextWord(5, "Fals"), uint64_t{'e'}};

// What a fast path's record answers CPython: a sys.monitoring callback
// returns a new reference to None, a trace function 0.
struct MonitoringAnswer {
  using Type = PyObject*;
  static PyObject* Ok() { Py_RETURN_NONE; }
};
struct TraceAnswer {
  using Type = int;
  static int Ok() { return 0; }
};

class Recorder {
 public:
  static StatusOr<std::unique_ptr<Recorder>> Create(RecordOptions options, PyObject* thread_registry);
  ~Recorder();

  // One settrace-style event of the frame `key` running `code`. `frame` is
  // its frame object, or NULL (sys.monitoring): then it is made only if an
  // unusual path needs it. `line` is the event's line when the backend knows
  // it (sys.monitoring LINE), else -1: read from the frame. `ts` is the
  // current thread state when the caller has it.
  // `offset`, when the backend gives one (sys.monitoring), is the event's
  // instruction: its line is then read from the code's line table, not the
  // frame.
  // `switched`: a generator's or coroutine's resume (a call) or yield (a
  // return), from sys.monitoring's PY_RESUME and PY_YIELD.
  // `thrown`, for a call: sys.monitoring says whether it is a throw()'s
  // (PY_THROW); the trace function cannot tell (kMaybeThrown).
  enum Thrown { kNotThrown, kThrown, kMaybeThrown };
  void OnEvent(PyCodeObject* code, compat::FrameKey key, PyFrameObject* frame, int what, PyObject* arg,
               int line = -1, PyThreadState* ts = nullptr, long offset = -1, bool switched = false,
               Thrown thrown = kMaybeThrown);
  // One sys.monitoring event; returns Py_None or DISABLE (new references).
  __attribute__((noinline)) PyObject* OnMonitoringEvent(monitoring::Event event, PyObject* const* args,
                                                        Py_ssize_t nargs);
  // sys.monitoring: the frequent events of function frames (LINE, PY_START,
  // PY_RETURN, and a generator's PY_RESUME and PY_YIELD) in the steady
  // state, recorded without the general path's conversions; the event's
  // answer to sys.monitoring. Hands over to OnMonitoringEvent, having done
  // nothing, when the event needs the general path (a new thread, a stack
  // to adopt or resync, a pending exception...).
  // One function per event (see MonitoringHandler). kPlainOnly: the
  // recording captures no locals (--locals none), so that every code is
  // CodeInfo::plain; only the plain records are inlined (RecordPlain).
  // kFromGil: the running thread state is the GIL's last holder
  // (GilHolderIfLast); where it is not that, FastEvent<..., false> asks
  // PyThreadState_Get() (a call, kept out of this steady path).
  template <monitoring::Event kEvent, bool kPlainOnly, bool kFromGil = true>
  PyObject* FastEvent(PyObject* const* args, Py_ssize_t nargs);
  // FastEvent for an event of another code than the last fast one's: the
  // lookup (a call) kept out of FastEvent's steady path.
  template <monitoring::Event kEvent, bool kPlainOnly>
  __attribute__((noinline)) PyObject* FastEventOtherCode(PyObject* const* args, Py_ssize_t nargs);
  // FastEvent where the GIL's last holder is not the last event's thread:
  // FastEvent<..., kFromGil = false>, out of line (it calls).
  template <monitoring::Event kEvent, bool kPlainOnly>
  __attribute__((noinline)) PyObject* FastEventOtherThread(PyObject* const* args, Py_ssize_t nargs) {
    return FastEvent<kEvent, kPlainOnly, false>(args, nargs);
  }
  // FastEvent's RecordGeneral of a return, where RecordPlain declined: a
  // tail call of few arguments (the frame is t's top one, its code the
  // cached one), so that FastEvent keeps fewer values live for it.
  template <monitoring::Event kEvent>
  __attribute__((noinline)) PyObject* RecordGeneralThenNone(HookThread* t, int line, PyObject* const* args);
  // RecordPlain's return of a value that is not a compact int: None, True
  // and False have their plain record; anything else RecordGeneral's.
  template <monitoring::Event kEvent>
  __attribute__((noinline)) PyObject* ReturnOtherThenNone(HookThread* t, int line, PyObject* const* args);
  // The same for the trace function's call, line and return events.
  // `code` is the frame's, `ci` its CodeInfo (recorded).
  __attribute__((always_inline)) inline bool FastTraceEvent(PyFrameObject* frame, PyCodeObject* code, CodeInfo* ci,
                                                            int what, PyObject* arg);
  // The fast paths' precondition, given the running thread state `ts`: it
  // is the last event's (CurrentThread), no exception is pending, and the
  // thread's shadow stack is not empty (its first frame's callers may need
  // adopting). Its HookThread then; else NULL. A thread that needs a
  // resync is never the last event's (last_tstate_ stays NULL for it); a
  // stopped recording has no fast code (fast_code_), and a failed writer is
  // caught where the fast paths leave (halted_).
  //
  // kCheckError false: the caller makes no Python API call on its steady
  // path (FastEvent<..., kPlainOnly = true>: records only), and checks for
  // a pending exception where it leaves it (RecordGeneralThenNone).
  // CPython calls PY_START, PY_RESUME, LINE, PY_RETURN and PY_YIELD
  // between instructions, with none pending.
  template <bool kCheckError = true>
  __attribute__((always_inline)) HookThread* SteadyThread(PyThreadState* ts) {
#ifdef TRACETAPE_CHECK_GIL_HOLDER
    if (ts != PyThreadState_Get()) Py_FatalError("tracetape: the GIL's holder is not the running thread");
#endif
    if (ts != last_tstate_ || compat::ThreadStateId(ts) != last_tstate_id_) return nullptr;
    HookThread* t = last_thread_;  // set with last_tstate_
    if (t->stack.empty() || (kCheckError && compat::ErrorPending(ts))) return nullptr;
    return t;
  }
  // The trace function's steady thread, its GIL holder's (GilHolderIfLast),
  // or NULL. No exception is pending: CPython calls the trace function for
  // call and return with it saved aside, and for line between instructions.
  __attribute__((always_inline)) HookThread* SteadyTraceThread() {
    PyThreadState* ts = GilHolderIfLast();
    return ts != nullptr ? SteadyThread<false>(ts) : nullptr;
  }
  // Which thread runs, without PyThreadState_Get() (a call, and a TLS
  // lookup through __tls_get_addr on 3.12+: about 20 instructions of each
  // event): the GIL's last holder is the thread state the running thread
  // took the GIL with; if that is the last event's, and still active (not
  // swapped out since), it is the running one. (3.10 and 3.11: the
  // runtime's current thread state, read in place.) NULL otherwise, and
  // where it cannot be read: then PyThreadState_Get() decides.
  __attribute__((always_inline)) PyThreadState* GilHolderIfLast() {
    PyThreadState* ts = *gil_holder_;
    // kNoHolder is never last_tstate_: it is not read further.
    return ts == last_tstate_ && compat::ThreadStateActive(ts) ? ts : nullptr;
  }
  // sys.monitoring: switch on the local events of the recorded code objects
  // that are running now, on every thread (the legacy hook sees them too).
  void EnableRunningCode();
  bool uses_monitoring() const { return monitoring_; }
  // False for --locals none: then every code is CodeInfo::plain.
  bool captures_locals() const { return options_.locals != LocalsMode::kNone; }
  // What decides which code is recorded, as one string.
  std::string ScopeKey() const {
    std::string key;
    for (const auto* list : {&options_.include, &options_.exclude, &options_.default_exclude_dirs}) {
      for (const auto& item : *list) key += item + '\n';
      key += '\0';
    }
    // (Code "files" a recording takes as the program's: `python -c` code.)
    for (const auto& pseudo : options_.pseudo_files) key += pseudo.first + '\n';
    return key;
  }
  // `discard`: see TapeWriter::Finish (no warning about the tape either).
  Status Finish(int exit_status, bool discard);
  void AfterFork();
  // The settrace backend: a recorded frame's f_trace is the trace handle, so
  // that a sys.settrace(handle) restore hears of it again (TraceHandle).
  void KeepFrameTrace(PyFrameObject* frame) {
    CodeInfo* ci = Lookup(compat::FrameCode(frame));
    if (ci != nullptr && ci->recorded) compat::SetFrameTrace(frame, g_trace_handle);
  }
  TapeWriter* writer() { return writer_.get(); }
  // The ring, once Finish has stopped the writer: kept for the next recording.
  std::unique_ptr<RingBuffer> TakeRing() { return std::move(ring_); }
  // The redactor, its names' answers with it, once nothing renders any more.
  Redactor TakeRedactor() { return std::move(redactor_); }
  const std::vector<std::string>& redact_patterns() const { return options_.redact; }
  // The code's file is under a directory the default scope leaves out.
  bool InDefaultExcludedDir(PyCodeObject* code) {
    const char* name = PyUnicode_Check(code->co_filename) ? PyUnicode_AsUTF8(code->co_filename) : nullptr;
    if (name == nullptr) {
      PyErr_Clear();
      return true;
    }
    return scope_.InDefaultExcludedDir(name);
  }
  // The calling thread's later events are not the program's: see
  // tracetape::recorder::QuietCurrentThread.
  void QuietCurrentThread() {
    HookThread* t = CurrentThread(nullptr);
    if (t == nullptr) return;
    t->quiet = true;
    last_tstate_ = nullptr;
  }
  bool disabled() const { return disabled_; }
  // See tracetape::recorder::PauseCurrentThread. `ts` is the calling
  // thread's.
  bool PauseThread(PyThreadState* ts);
  bool ResumeThread(PyThreadState* ts);
  bool PausedOn(PyThreadState* ts) const {
    return paused_tstate_ != nullptr && ts == paused_tstate_ && compat::ThreadStateId(ts) == paused_tstate_id_;
  }
  // The hook comes back on this thread after another trace function held
  // it (TraceHandle).
  void NoteGap() {
    HookThread* t = CurrentThread(nullptr);
    if (t != nullptr) {
      t->resync = true;
      last_tstate_ = nullptr;  // no fast path until it is done (CurrentThread)
    }
  }
  // The trace function's event: TraceFunction's work after its own checks.
  // Code that is not recorded (decided once per code object) needs nothing.
  __attribute__((always_inline)) inline void OnTraceEvent(PyFrameObject* frame, int what, PyObject* arg);
  // TraceFunction<true>'s event: the trace function of a recording that
  // captures no locals (--locals none: every code is plain), as
  // FastEvent<..., true> is the sys.monitoring handlers'. The plain records
  // of call, line and return in the steady state; every way out is a
  // return or a tail call (nothing kept in callee-saved registers); the
  // rest goes to OnTraceEvent (TraceGeneral), having done nothing.
  // kAnyLine: the frame's line is asked of CPython where f_lineno is not
  // set (3.12+ sets it for line events only), a call.
  template <bool kAnyLine = false>
  __attribute__((always_inline)) inline int PlainTraceEvent(PyFrameObject* frame, int what, PyObject* arg);
  // PlainTraceEvent<true>, out of line: the event of a frame whose f_lineno
  // CPython did not set.
  __attribute__((noinline)) int PlainTraceAnyLine(PyFrameObject* frame, int what, PyObject* arg) {
    return PlainTraceEvent<true>(frame, what, arg);
  }
  // PlainTraceEvent for a frame of another code than the fast one: the
  // lookup kept out of its steady path.
  __attribute__((noinline)) int PlainTraceOtherCode(PyFrameObject* frame, int what, PyObject* arg);
  // PlainTraceEvent's call of a generator's frame (the fast code's), out of
  // line: a call that does not return to the top frame, with a recorded
  // frame in between, may be throw()'s through delegating frames and goes
  // to OnEvent (LinkCallers), as in FastTraceEvent; the rest as
  // PlainTraceEvent's calls.
  __attribute__((noinline)) int PlainTraceGeneratorCall(PyFrameObject* frame, HookThread* t, int line);
  // PlainTraceEvent's return, out of line (as ReturnPlainThenNone): `t`'s
  // top frame is `frame`'s, its code the fast one.
  __attribute__((noinline)) int PlainTraceReturn(PyFrameObject* frame, HookThread* t, int line, PyObject* arg);
  // TraceFunction<false>'s line event: what OnTraceEvent does for it, for
  // a frame of line_code_ in the steady state, with every way out a return
  // or a tail call, as PlainTraceEvent's: the record of a frame whose
  // locals are unchanged (Quiet) built in place; LineChanged for the rest.
  // Out of line, as TraceGeneral: TraceFunction<false> only chooses
  // between them, saving no register.
  __attribute__((noinline)) int FullTraceLine(PyFrameObject* frame, PyObject* arg);
  // The line event of a frame whose locals changed (Quiet found it not),
  // for FullTraceLine and FastEvent<kLine, false>: Record's last steps, as
  // tail calls (FastLineThen, else LineGeneralThen). `t`'s top frame is
  // `key`'s, its code the cached one.
  template <class A>
  __attribute__((always_inline)) typename A::Type LineChanged(HookThread* t, CodeInfo* ci, compat::FrameKey key,
                                                              int line) {
    const ShadowFrame& sf = t->stack.back();
    if (ci->ident_fast && (sf.check & sf.unflat) == 0) return FastLineThen<A>(t, ci, key, line);
    return LineGeneralThen<A>(t, ci, key, line);
  }
  template <class A>
  __attribute__((noinline)) typename A::Type FastLineThen(HookThread* t, CodeInfo* ci, compat::FrameKey key,
                                                          int line) {
    if (!FastLineInline(t, ci, key, line)) RecordGeneral(t, ci, key, EventKind::kLine, line, nullptr, false);
    return A::Ok();
  }
  template <class A>
  __attribute__((noinline)) typename A::Type LineGeneralThen(HookThread* t, CodeInfo* ci, compat::FrameKey key,
                                                               int line) {
    RecordGeneral(t, ci, key, EventKind::kLine, line, nullptr, false);
    return A::Ok();
  }
  __attribute__((noinline)) int TraceGeneral(PyFrameObject* frame, int what, PyObject* arg) {
    OnTraceEvent(frame, what, arg);
    return 0;
  }
  const std::string& path() const { return options_.path; }
  // `ci` is being freed with its code object.
  void Forget(const CodeInfo* ci) {
    if (ci != cached_ci_) return;
    cached_code_ = nullptr;
    cached_ci_ = nullptr;
    fast_code_ = nullptr;
    line_code_ = nullptr;
  }

 private:
  Recorder(RecordOptions options, Redactor redactor, PyObject* thread_registry);
  // The code object's cached decision; the last one is remembered
  // (borrowed: see LookupMissInline).
  __attribute__((always_inline)) CodeInfo* Lookup(PyCodeObject* code) {
    return code == cached_code_ ? cached_ci_ : LookupMiss(code);
  }
  __attribute__((noinline)) CodeInfo* LookupMiss(PyCodeObject* code) { return LookupMissInline(code); }
  // LookupMiss inline, for FastEventOtherCode (which knows the code missed).
  __attribute__((always_inline)) CodeInfo* LookupMissInline(PyCodeObject* code) {
    CodeInfo* ci = LookupUncached(code);
    // Borrowed: the code's CodeInfo is freed with it, and FreeCodeInfo
    // makes the cache forget it first (Forget). Not cached without one.
    cached_code_ = ci != nullptr ? code : nullptr;
    cached_ci_ = ci;
    SetFastCode();
    return ci;
  }
  // fast_code_: the cached code if FastEvent or PlainTraceEvent may take it,
  // else NULL. sys.monitoring: its local events on, and its records plain
  // if FastEvent<..., kPlainOnly> is the handler (--locals none, where
  // every code is plain). settrace: recorded, and only for a recording
  // that captures no locals, PlainTraceEvent's: a thread may still call a
  // TraceFunction<true> that an earlier recording left it (see
  // PlainTraceOtherCode), and TraceFunction<false> does not read it.
  void SetFastCode() {
    const CodeInfo* ci = cached_ci_;
    const bool fast = ci != nullptr && (monitoring_ ? ci->monitored && (ci->plain || captures_locals())
                                                    : ci->recorded && !captures_locals());
    const bool halted = halted_.load(std::memory_order_relaxed);
    fast_code_ = fast && !halted ? cached_code_ : nullptr;
    // line_code_: the cached code if FullTraceLine may take its line
    // events: settrace, a recording that captures locals, recorded.
    line_code_ = ci != nullptr && !monitoring_ && captures_locals() && ci->recorded && !halted ? cached_code_ : nullptr;
  }
  CodeInfo* LookupSlow(PyCodeObject* code);
  void EmitCodeDef(PyCodeObject* code, const CodeInfo* ci);
  __attribute__((noinline)) CodeInfo* Redecide(PyCodeObject* code, CodeInfo* ci);
  // The code's own CodeInfo, read in place; LookupSlow for a code not seen
  // yet by this recording. Leaves the cache (cached_code_) alone.
  __attribute__((always_inline)) CodeInfo* LookupUncached(PyCodeObject* code) {
    auto* ci = g_peek_extra ? static_cast<CodeInfo*>(compat::PeekCodeExtra(code, g_extra_index)) : nullptr;
    if (ci == nullptr || ci->session != session_) ci = LookupSlow(code);
    return ci;
  }
  // The line of the instruction at byte `offset`, as PyCode_Addr2Line gives
  // it, from a table built once per code object (Addr2Line scans the line
  // table from the start at every call).
  __attribute__((always_inline)) int LineAt(PyCodeObject* code, CodeInfo* ci, long offset) {
    if (!ci->lines_built) BuildLines(code, ci);
    size_t unit = static_cast<size_t>(offset) / kCodeUnitBytes;
    if (offset >= 0 && unit < ci->lines.size()) return ci->lines[unit];
    return PyCode_Addr2Line(code, static_cast<int>(offset));
  }
  void BuildLines(PyCodeObject* code, CodeInfo* ci);
  // LineAt where its table is built and holds `offset`; -1 otherwise (the
  // caller's general path then calls LineAt).
  __attribute__((always_inline)) static int LineAtBuilt(const CodeInfo* ci, long offset) {
    // A negative offset is a unit beyond any table.
    size_t unit = static_cast<size_t>(offset) / kCodeUnitBytes;
    return unit < ci->line_units ? ci->line_data[unit] : -1;
  }
  uint32_t FileId(const std::string& path);
  uint32_t NameId(const std::string& name);
  HookThread* CurrentThread(PyThreadState* ts = nullptr);
  void DefineThread(const HookThread& t);

  // With `generators_under` (for an event of a generator's or coroutine's
  // frame): how many recorded frames it adopted among the generators' and
  // coroutines' frames suspended at a yield that are right under the event's
  // frame (`event_key`; `frame` itself if that is not it), one under the
  // other, up to the first other frame, in scope or not: the frames a
  // throw() linked (compat::SuspendedAtYield).
  // `budgeted`: past the link budget (LinkAllowed) those are not adopted,
  // and it is 0.
  bool Sync(HookThread* t, PyFrameObject* frame, uint32_t* generators_under = nullptr,
            compat::FrameKey event_key = nullptr, bool budgeted = false);
  // Returns whether a call's callers are to be adopted (OnEvent).
  bool Resync(HookThread* t, PyFrameObject* frame, int what);
  // At the call of a generator's or coroutine's `frame` whose caller is not
  // the shadow top: adopts the recorded frames between them, which CPython
  // linked above it if throw() ran it through them; returns how many
  // generator frames right under it were adopted (to link: AddLink).
  uint32_t LinkCallers(HookThread* t, PyFrameObject* frame);
  // The top frame, a generator's or coroutine's, has `frames` adopted
  // generator frames right under it that leave the stack with it
  // (HookThread::links).
  void AddLink(HookThread* t, uint32_t frames, bool budgeted);
  // Each link costs two chunk boundaries (each a checkpoint of every
  // thread's stack): past a burst, at most one per kLinkSpacing bytes of
  // records, so that a program throwing into delegating generators in a
  // loop cannot make the tape grow by two chunks per throw. Past that, the
  // frames are not adopted: the depth without them, counted and said at
  // the end (Sync).
  bool LinkAllowed() const;
  static constexpr uint64_t kLinkBurst = 256;
  static constexpr uint64_t kLinkSpacing = uint64_t{1} << 20;
  uint64_t links_made_ = 0;
  uint64_t links_skipped_ = 0;
  uint64_t last_link_at_ = 0;
  // Whether a recorded frame lies between the frame of `key` and t's
  // shadow top, which its callers' chain reaches (read without frame
  // objects): LinkCallers' question, asked first.
  bool RecordedCallerBelow(HookThread* t, compat::FrameKey key);
  // After a return event of `t`: the linked frames of the frames that are
  // gone leave the stack too, in a detach record.
  void Unlink(HookThread* t);
  void Adopt(HookThread* t, PyFrameObject* frame, CodeInfo* code);
  void Begin(RawTag tag, EventKind kind, uint32_t thread, int line, uint32_t code);
  void Capture(HookThread* t, ShadowFrame* sf, compat::FrameKey where);
  void CaptureResumed(ShadowFrame* sf, PyObject** fast, size_t budget);
  void CaptureIdent(ShadowFrame* sf, PyObject** fast, size_t budget);
  void CaptureFresh(ShadowFrame* sf, PyObject** fast, size_t budget);
  // The record of one event of `key`, the frame on top of t's stack (a call
  // is pushed first); a return pops it. Inline for the most frequent
  // records, those without deltas, built in place in the ring.
  // `yielded`: a return that suspends a generator or coroutine (PY_YIELD):
  // its frame's slot states are kept for its resume (HookThread::Suspend).
  __attribute__((always_inline)) void Record(HookThread* t, CodeInfo* ci, compat::FrameKey key, EventKind kind,
                                             int line, PyObject* arg, bool yielded = false) {
    if (ci->plain || (kind != EventKind::kCall && Quiet(t->stack.back(), ci, key))) {
      if (kind == EventKind::kCall || kind == EventKind::kLine) {
        EmitPlain(kind, t->index, line, ci->id, nullptr, 0);
        return;
      }
      if (kind == EventKind::kReturn && !ci->redact_return) {
        PyObject* v = arg ? arg : Py_None;
        const uint32_t thread = t->index;
        // The record last: nothing is live after its slow path.
        int64_t value;
        const char* text;
        size_t text_size;
        if (Renderer::CompactInt(v, &value)) {
          yielded ? t->Suspend() : t->Pop();
          EmitPlainInt(kind, thread, line, ci->id, value);
          return;
        }
        if (Renderer::SingletonText(v, &text, &text_size)) {  // None, True, False
          yielded ? t->Suspend() : t->Pop();
          EmitPlain(kind, thread, line, ci->id, text, text_size);
          return;
        }
      }
    }
    if (ci->ident_fast) {
      if (kind == EventKind::kCall
              ? FastCall(t, ci, key, line)
              : kind == EventKind::kLine && (t->stack.back().check & t->stack.back().unflat) == 0 &&
                    FastLine(t, ci, key, line)) {
        return;
      }
    }
    RecordGeneral(t, ci, key, kind, line, arg, yielded);
  }
  // FastEvent's records for a recording that captures no locals (every
  // code is plain: --locals none), the event's answer returned: the plain
  // records, built in place in the ring, as Record writes them; the rest
  // (a redacted or other return value, a frame with slot states) by
  // RecordGeneralThenNone. Every way out is a return or a tail call: the
  // handler keeps nothing in callee-saved registers.
  template <monitoring::Event kEvent>
  __attribute__((always_inline)) PyObject* RecordPlain(HookThread* t, CodeInfo* ci, compat::FrameKey key, int line,
                                                       PyObject* const* args) {
    constexpr bool kReturn = kEvent == monitoring::kPyReturn || kEvent == monitoring::kPyYield;
    constexpr EventKind kKind = kReturn ? EventKind::kReturn
                                : kEvent == monitoring::kLine ? EventKind::kLine
                                                              : EventKind::kCall;
    const uint32_t thread = t->index;
    (void)key;  // t's top frame's
    if constexpr (!kReturn) {
      return EmitPlainThen<MonitoringAnswer>(kKind, thread, line, ci->id);
    } else {
      // Out of line: the checks above leave many values live, and the
      // return's own work, inline, made the handler save four registers.
      return ReturnPlainThenNone<kEvent>(t, line, args);
    }
  }
  template <monitoring::Event kEvent>
  __attribute__((noinline)) PyObject* ReturnPlainThenNone(HookThread* t, int line, PyObject* const* args) {
    const CodeInfo* ci = cached_ci_;
    // A recording that captures no locals never gives a frame slot states
    // or a mapping (Capture: NothingToCapture): its frames are bare, and
    // PopBare is what Pop and Suspend come to.
    if (ci->redact_return) return RecordGeneralThenNone<kEvent>(t, line, args);
    int64_t value;
    if (!Renderer::CompactInt(args[2], &value)) return ReturnOtherThenNone<kEvent>(t, line, args);
#ifndef NDEBUG
    if (!t->stack.back().Bare()) Py_FatalError("tracetape: a frame of a --locals none recording holds slot states");
#endif
    t->stack.PopBare();
    return EmitPlainIntThen<MonitoringAnswer>(EventKind::kReturn, t->index, line, ci->id, value);
  }
  // The header and event of a record of `ndeltas` word deltas at buf.
  __attribute__((always_inline)) static uint8_t* PutWordRecord(uint8_t* buf, size_t size, EventKind kind,
                                                              size_t ndeltas, uint32_t thread, int line,
                                                              uint32_t code) {
    RawHeader h{static_cast<uint32_t>(size), static_cast<uint8_t>(RawTag::kEvent), static_cast<uint8_t>(kind),
                static_cast<uint16_t>(ndeltas)};
    RawEvent e{thread, line, code, kNoValue};
    std::memcpy(buf, &h, sizeof(h));
    std::memcpy(buf + sizeof(h), &e, sizeof(e));
    return buf + sizeof(h) + sizeof(e);
  }
  // One word delta (AddWordDelta's layout) at p; the next one's place.
  __attribute__((always_inline)) static uint8_t* PutWordDelta(uint8_t* p, uint32_t name, int64_t word) {
    const uint32_t name_length[2] = {name, kIntLength};
    std::memcpy(p, name_length, sizeof(name_length));
    std::memcpy(p + sizeof(name_length), &word, sizeof(word));
    return p + kWordDelta;
  }
  static constexpr size_t kWordRecordFixed = sizeof(RawHeader) + sizeof(RawEvent);
  static constexpr size_t kWordDelta = 2 * sizeof(uint32_t) + sizeof(int64_t);
  static_assert(kWordRecordFixed % 8 == 0 && kWordDelta % 8 == 0, "a word delta record needs no padding");
  // The line event of a CodeInfo::ident_fast frame that Quiet found
  // changed, when what changed is only ints that fit a word: each slot
  // whose identity changed holds one now and held one (or nothing)
  // before, and every sequence whose identity did not change is still
  // the same (Renderer::FlatSame). Then its record (a word delta per int
  // whose value changed, in slot order) is built in place in the ring,
  // and the slot states and ident follow, as RecordGeneral and
  // CaptureIdent would. False, having changed nothing, for anything else
  // (a slot unbound, another kind of value, a sequence that changed...).
  // (FastLineInline: the same, inline, for FastLineThen.)
  __attribute__((noinline)) bool FastLine(HookThread* t, CodeInfo* ci, compat::FrameKey key, int line) {
    return FastLineInline(t, ci, key, line);
  }
  __attribute__((always_inline)) bool FastLineInline(HookThread* t, CodeInfo* ci, compat::FrameKey key, int line) {
    ShadowFrame& sf = t->stack.back();
    const size_t n = ci->nslots;  // at most kIdentSlots
    if (!sf.ident_valid || sf.slots.size() != n) return false;
    PyObject** fast = compat::KeyFastLocals(key);
    SlotState* states = sf.slots.data();
    // The sequences first (an instance among them ends it at once): each
    // the same object, unchanged.
    constexpr size_t kMaxSequences = 4;  // as Quiet
    size_t sequences = 0;
    for (uint64_t m = sf.check; m != 0; m &= m - 1) {
      const size_t i = static_cast<size_t>(__builtin_ctzll(m));
      if (++sequences > kMaxSequences || fast[i] != sf.ident[i]) return false;
      const int same = Renderer::FlatSame(fast[i], states[i].fp);
      if (same != 1) {
        if (same < 0) sf.unflat |= uint64_t{1} << i;
        return false;
      }
    }
    int64_t words[kIdentSlots];
    uint64_t moved = 0;  // the slots whose identity changed (none of the above)
    uint64_t sent = 0;   // ...and whose int is another
    size_t ndeltas = 0;
    for (size_t i = 0; i < n; ++i) {
      PyObject* v = fast[i];
      if (v == sf.ident[i]) continue;
      if (v == nullptr || !Renderer::CompactInt(v, &words[i])) return false;
      const SlotState& st = states[i];
      if (st.bound && !st.is_word) return false;  // another kind of value before
      moved |= uint64_t{1} << i;
      if (!st.bound || st.word != words[i]) {
        sent |= uint64_t{1} << i;
        ++ndeltas;
      }
    }
    Renderer::NextEpoch();  // the program ran since the last capture
    const size_t size = kWordRecordFixed + ndeltas * kWordDelta;
    alignas(8) uint8_t aside[kWordRecordFixed + kIdentSlots * kWordDelta];
    uint8_t* at = ring_->Reserve(size);
    uint8_t* p = PutWordRecord(at ? at : aside, size, EventKind::kLine, ndeltas, t->index, line, ci->id);
    const SlotInfo* infos = ci->slots.data();
    for (uint64_t m = moved; m != 0; m &= m - 1) {
      const size_t i = static_cast<size_t>(__builtin_ctzll(m));
      PyObject* v = fast[i];
      SlotState& st = states[i];
      Py_INCREF(v);
      Py_XSETREF(st.held, v);  // an int: its dealloc runs no program code
      sf.ident[i] = v;
      if (sent & (uint64_t{1} << i)) {
        st.bound = true;
        st.is_word = true;
        st.text_stale = true;
        st.word = words[i];
        p = PutWordDelta(p, infos[i].name, words[i]);
      }
    }
    if (at) {
      ring_->Publish();
    } else {
      Emit(aside, size);  // waits for room
    }
    return true;
  }
  // The call event of a new CodeInfo::ident_fast frame whose bound locals
  // (its arguments) are all ints that fit a word, the most frequent call
  // of numeric code: its record (a word delta per bound local, in slot
  // order) built in place in the ring, and its slot states and ident set,
  // as RecordGeneral and CaptureFresh would. False, having changed
  // nothing, for any other frame.
  __attribute__((noinline)) bool FastCall(HookThread* t, CodeInfo* ci, compat::FrameKey key, int line) {
    ShadowFrame& sf = t->stack.back();
    if (sf.resumed || !sf.slots.empty()) return false;
    const size_t n = ci->nslots;  // at most kIdentSlots
    PyObject** fast = compat::KeyFastLocals(key);
    int64_t words[kIdentSlots];
    size_t bound = 0;
    for (size_t i = 0; i < n; ++i) {
      PyObject* v = fast[i];
      if (v == nullptr) continue;
      if (!Renderer::CompactInt(v, &words[i])) return false;
      ++bound;
    }
    const size_t size = kWordRecordFixed + bound * kWordDelta;
    t->TakeSpare(&sf.slots, n);
    Renderer::NextEpoch();  // the program ran since the last capture
    alignas(8) uint8_t aside[kWordRecordFixed + kIdentSlots * kWordDelta];
    uint8_t* at = ring_->Reserve(size);
    uint8_t* p = PutWordRecord(at ? at : aside, size, EventKind::kCall, bound, t->index, line, ci->id);
    const SlotInfo* infos = ci->slots.data();
    SlotState* states = sf.slots.data();
    for (size_t i = 0; i < n; ++i) {
      PyObject* v = fast[i];
      sf.ident[i] = v;
      if (v == nullptr) continue;
      SlotState& st = states[i];
      Py_INCREF(v);
      st.held = v;
      st.bound = true;
      st.is_word = true;
      st.text_stale = true;
      st.word = words[i];
      p = PutWordDelta(p, infos[i].name, words[i]);
    }
    sf.check = 0;  // every bound slot holds its int
    sf.ident_valid = true;
    if (at) {
      ring_->Publish();
    } else {
      Emit(aside, size);  // waits for room
    }
    return true;
  }
  __attribute__((noinline)) void RecordGeneral(HookThread* t, CodeInfo* ci, compat::FrameKey key, EventKind kind,
                                               int line, PyObject* arg, bool yielded);
  // True if a capture of this function frame now would find no local
  // changed: every slot is still unbound, or holds the scalar it held
  // (identity), or is redacted and was bound, or holds a list or tuple of
  // scalars that Renderer::FlatSame finds unchanged. Then the record has no
  // deltas: the same bytes as a plain one. Only checks that cost a few
  // instructions; anything else is left to Capture.
  __attribute__((always_inline)) static bool Quiet(const ShadowFrame& sf, const CodeInfo* ci, compat::FrameKey key) {
    const size_t n = ci->nslots;
    if (!ci->function || sf.slots.size() != n) return false;
    PyObject** fast = compat::KeyFastLocals(key);
    const SlotInfo* infos = ci->slots.data();
    const SlotState* states = sf.slots.data();
    // At most this many sequences are compared here (the rest is Capture's).
    constexpr size_t kMaxSequences = 4;
    if (sf.ident_valid) {
      // Every slot's identity in one compare, then the sequences.
      if (n > 2) {
        if (std::memcmp(fast, sf.ident, n * sizeof(PyObject*)) != 0) return false;
      } else if (fast[0] != sf.ident[0] || (n == 2 && fast[1] != sf.ident[1])) {
        return false;
      }
      size_t sequences = 0;
      for (uint64_t m = sf.check; m != 0; m &= m - 1) {
        if (++sequences > kMaxSequences) return false;
        size_t i = static_cast<size_t>(__builtin_ctzll(m));
        if (Renderer::FlatSame(fast[i], states[i].fp) != 1) return false;
      }
      return true;
    }
    // The identity checks first, in one pass: a slot that changed is most
    // often a scalar, found without comparing any sequence. The others (at
    // most a few) are compared after it.
    PyObject* seq_values[kMaxSequences];
    const SlotState* seq_states[kMaxSequences];
    size_t sequences = 0;
    for (size_t i = 0; i < n; ++i) {
      PyObject* v = fast[infos[i].index];
      if (infos[i].cell && v != nullptr && PyCell_Check(v)) v = PyCell_GET(v);
      const SlotState& st = states[i];
      if (v == nullptr) {
        if (st.bound) return false;
        continue;
      }
      if (!st.bound) return false;
      if (st.held == v || infos[i].redacted) continue;
      if (st.held != nullptr || sequences == kMaxSequences) return false;  // a scalar changed, or too many
      seq_values[sequences] = v;
      seq_states[sequences++] = &st;
    }
    for (size_t k = 0; k < sequences; ++k) {
      if (Renderer::FlatSame(seq_values[k], seq_states[k]->fp) != 1) return false;
    }
    return true;
  }
  void CaptureSlot(SlotState* st, uint32_t name, bool redacted, PyObject* v);
  void AddDelta(uint32_t name, const std::string* text);
  void AddWordDelta(uint32_t name, int64_t word);  // see kIntLength
  void AddSlotDelta(uint32_t name, SlotState* st);  // what st last sent, again
  void SetValue(std::string_view text);
  void SetIntValue(int64_t value);  // see RawValue::kIntValue
  bool Emit(const std::string& record) { return Emit(record.data(), record.size()); }
  bool Emit(const RawBuffer& record) { return Emit(record.data(), record.size()); }
  // Nothing to capture in this code's frames (--locals none, or a function
  // without locals): its events carry no deltas.
  bool NothingToCapture(const CodeInfo* ci) const {
    return ci->function ? ci->slots.empty() : options_.locals != LocalsMode::kAll;
  }
  // An event without deltas, with an optional value (NULL: none), built in
  // place in the ring: the record of most events of --locals none. False if
  // it is too large for that (the caller builds it with Begin and Finish).
  __attribute__((always_inline)) bool EmitPlain(EventKind kind, uint32_t thread, int line, uint32_t code,
                                               const char* value, size_t value_size) {
    constexpr size_t kFixed = sizeof(RawHeader) + sizeof(RawEvent);
    size_t size = value ? (kFixed + 4 + value_size + 7) & ~size_t{7} : kFixed;
    if (size > kMaxPlainRecord) return false;
    if (!TryEmitPlain(kind, thread, line, code, value, value_size, size)) {
      EmitPlainSlow(kind, thread, line, code, value, value_size, size);
    }
    return true;
  }
  // EmitPlain's record of `size` bytes where the ring's fast reservation
  // takes it; false, having written nothing, where it does not.
  __attribute__((always_inline)) bool TryEmitPlain(EventKind kind, uint32_t thread, int line, uint32_t code,
                                                  const char* value, size_t value_size, size_t size) {
    RingBuffer* ring = ring_.get();  // in a register across the record's stores
    uint8_t* at;
    uint64_t end;
    if (!ring->ReserveFast(size, &at, &end)) return false;
    FillPlain(at, size, kind, thread, line, code, value, value_size);
    ring->PublishFast(end);
    return true;
  }
  // Writes the `size` bytes of a plain record at `buf`.
  __attribute__((always_inline)) static void FillPlain(uint8_t* buf, size_t size, EventKind kind, uint32_t thread,
                                                       int line, uint32_t code, const char* value, size_t value_size) {
    constexpr size_t kFixed = sizeof(RawHeader) + sizeof(RawEvent);
    RawHeader h{static_cast<uint32_t>(size), static_cast<uint8_t>(RawTag::kEvent), static_cast<uint8_t>(kind), 0};
    RawEvent e{thread, line, code, value ? kTextValue : kNoValue};
    std::memcpy(buf, &h, sizeof(h));
    std::memcpy(buf + sizeof(h), &e, sizeof(e));
    if (value) {
      std::memset(buf + size - 8, 0, 8);  // the padding, at most 7 bytes at the end
      auto n = static_cast<uint32_t>(value_size);
      std::memcpy(buf + kFixed, &n, 4);
      std::memcpy(buf + kFixed + 4, value, n);
    }
  }
  // EmitPlain where the ring's fast reservation failed (a wrap, a full
  // ring: waits for room), out of line, so that the callers' fast paths
  // keep nothing live across a call.
  __attribute__((noinline)) void EmitPlainSlow(EventKind kind, uint32_t thread, int line, uint32_t code,
                                               const char* value, size_t value_size, size_t size);
  // A return without deltas whose value is an int that fits a word
  // (Renderer::CompactInt): the word goes into the record, and the writer
  // thread writes its text.
  __attribute__((always_inline)) void EmitPlainInt(EventKind kind, uint32_t thread, int line, uint32_t code,
                                                  int64_t value) {
    if (!TryEmitPlainInt(kind, thread, line, code, value)) EmitPlainIntSlow(kind, thread, line, code, value);
  }
  // As TryEmitPlain.
  __attribute__((always_inline)) bool TryEmitPlainInt(EventKind kind, uint32_t thread, int line, uint32_t code,
                                                     int64_t value) {
    RingBuffer* ring = ring_.get();
    uint8_t* at;
    uint64_t end;
    if (!ring->ReserveFast(kPlainIntSize, &at, &end)) return false;
    FillPlainInt(at, kind, thread, line, code, value);
    ring->PublishFast(end);
    return true;
  }
  static constexpr size_t kPlainIntSize = sizeof(RawHeader) + sizeof(RawEvent) + sizeof(int64_t);
  static_assert(kPlainIntSize % 8 == 0, "a plain int record is padded already");
  __attribute__((always_inline)) static void FillPlainInt(uint8_t* buf, EventKind kind, uint32_t thread, int line,
                                                          uint32_t code, int64_t value) {
    RawHeader h{static_cast<uint32_t>(kPlainIntSize), static_cast<uint8_t>(RawTag::kEvent),
                static_cast<uint8_t>(kind), 0};
    RawEvent e{thread, line, code, kIntValue};
    std::memcpy(buf, &h, sizeof(h));
    std::memcpy(buf + sizeof(h), &e, sizeof(e));
    std::memcpy(buf + sizeof(h) + sizeof(e), &value, sizeof(value));
  }
  // As EmitPlainSlow.
  __attribute__((noinline)) void EmitPlainIntSlow(EventKind kind, uint32_t thread, int line, uint32_t code,
                                                  int64_t value);
  // The plain records' emitters: EmitPlain without a value, EmitPlainInt,
  // and EmitPlain of a return value that is None, True or False, each
  // returning the event's answer A::Ok() (RecordPlain's to sys.monitoring,
  // PlainTraceEvent's to the trace function's caller). Their slow paths
  // are tail calls of at most six register arguments.
  template <class A>
  __attribute__((always_inline)) typename A::Type EmitPlainThen(EventKind kind, uint32_t thread, int line,
                                                                uint32_t code) {
    constexpr size_t kSize = sizeof(RawHeader) + sizeof(RawEvent);
    if (!TryEmitPlain(kind, thread, line, code, nullptr, 0, kSize)) {
      return EmitPlainSlowThen<A>(kind, thread, line, code);
    }
    return A::Ok();
  }
  template <class A>
  __attribute__((noinline)) typename A::Type EmitPlainSlowThen(EventKind kind, uint32_t thread, int line,
                                                               uint32_t code) {
    EmitPlainSlow(kind, thread, line, code, nullptr, 0, sizeof(RawHeader) + sizeof(RawEvent));
    return A::Ok();
  }
  template <class A>
  __attribute__((always_inline)) typename A::Type EmitPlainIntThen(EventKind kind, uint32_t thread, int line,
                                                                   uint32_t code, int64_t value) {
    if (!TryEmitPlainInt(kind, thread, line, code, value)) {
      return EmitPlainIntSlowThen<A>(kind, thread, line, code, value);
    }
    return A::Ok();
  }
  template <class A>
  __attribute__((noinline)) typename A::Type EmitPlainIntSlowThen(EventKind kind, uint32_t thread, int line,
                                                                  uint32_t code, int64_t value) {
    EmitPlainIntSlow(kind, thread, line, code, value);
    return A::Ok();
  }
  // The record of a None, True or False value (Renderer::SingletonText),
  // whose text is at most 8 bytes: what follows RawEvent (the text's
  // length, the text, zero padding) is one word, or two for "False",
  // stored whole instead of copied byte by byte.
  template <class A>
  __attribute__((always_inline)) typename A::Type EmitSingletonThen(EventKind kind, uint32_t thread, int line,
                                                                    uint32_t code, PyObject* v) {
    constexpr size_t kFixed = sizeof(RawHeader) + sizeof(RawEvent);
    const bool is_false = v == Py_False;
    const uint64_t* tail = is_false ? kFalseTail : v == Py_True ? kTrueTail : kNoneTail;
    const size_t size = is_false ? kFixed + 16 : kFixed + 8;
    RingBuffer* ring = ring_.get();
    uint8_t* at;
    uint64_t end;
    if (!ring->ReserveFast(size, &at, &end)) return EmitSingletonSlowThen<A>(kind, thread, line, code, v);
    RawHeader h{static_cast<uint32_t>(size), static_cast<uint8_t>(RawTag::kEvent), static_cast<uint8_t>(kind), 0};
    RawEvent e{thread, line, code, kTextValue};
    std::memcpy(at, &h, sizeof(h));
    std::memcpy(at + sizeof(h), &e, sizeof(e));
    std::memcpy(at + kFixed, &tail[0], 8);
    if (is_false) std::memcpy(at + kFixed + 8, &tail[1], 8);
    ring->PublishFast(end);
    return A::Ok();
  }
  template <class A>
  __attribute__((noinline)) typename A::Type EmitSingletonSlowThen(EventKind kind, uint32_t thread, int line,
                                                                   uint32_t code, PyObject* v) {
    const char* text;
    size_t text_size;
    Renderer::SingletonText(v, &text, &text_size);
    constexpr size_t kFixed = sizeof(RawHeader) + sizeof(RawEvent);
    EmitPlainSlow(kind, thread, line, code, text, text_size, (kFixed + 4 + text_size + 7) & ~size_t{7});
    return A::Ok();
  }
  static constexpr size_t kMaxPlainRecord = 256;
  // A return event's value into text_.
  void RenderReturn(const CodeInfo* ci, PyObject* value) {
    if (ci->redact_return) {
      text_ = kRedacted;
    } else {
      renderer_.Render(value ? value : Py_None, &text_);
    }
  }
  bool Emit(const void* record, size_t size);
  // The fast paths' slow emitters: true, having disabled the recording if
  // the writer failed, when events are no longer taken (halted_).
  bool Halted() {
    if (!halted_.load(std::memory_order_relaxed)) return false;
    if (!disabled_ && writer_->failed()) {
      PyObject *type, *value, *tb;  // see SteadyThread<false>
      PyErr_Fetch(&type, &value, &tb);
      Disable("the tape writer failed: " + writer_->error());
      PyErr_Restore(type, value, tb);
    }
    return true;
  }
  void EmitDef(const std::string& record);
  void Lose(uint64_t events);
  void Disable(const std::string& why);
  void EnableLocalEvents(PyCodeObject* code, CodeInfo* ci);

  RecordOptions options_;
  Scope scope_;
  Redactor redactor_;
  Renderer renderer_;
  PyObject* thread_registry_;  // strong reference to threading._active
  std::unique_ptr<RingBuffer> ring_;
  std::unique_ptr<TapeWriter> writer_;
  uint64_t session_;
  bool monitoring_;  // the sys.monitoring backend, else PyEval_SetTrace

  std::unordered_map<std::string, uint32_t> file_ids_;
  std::unordered_map<std::string, uint32_t> name_ids_;
  // Module and class bodies' variable names, by their str object (held):
  // what Capture needs of each at every event, decided once.
  struct MappingName {
    uint32_t id = 0;
    bool skip = false;  // a dunder name
    bool redacted = false;
  };
  std::unordered_map<PyObject*, MappingName> mapping_names_;
  static constexpr size_t kMaxMappingNames = 1u << 16;
  void ReleaseMappingNames() {
    for (auto& [key, n] : mapping_names_) Py_DECREF(key);
    mapping_names_.clear();
  }
  uint32_t next_code_id_ = 0;
  std::vector<std::string> defs_;  // every file/code/name definition, for a forked child
  std::unordered_map<uint64_t, HookThread> threads_;
  // The thread PauseThread paused (one at a time; NULL: none), and its id.
  PyThreadState* paused_tstate_ = nullptr;
  uint64_t paused_tstate_id_ = 0;
  // The word that names the running thread (gil_compat.h: the GIL's last
  // holder on 3.12+, the runtime's current thread state before), or
  // kNoHolder where it cannot be read or does not name the running thread
  // (checked once).
  // kNoHolder holds an address that is no thread state, so never
  // last_tstate_ (not NULL, which last_tstate_ is between threads).
  static PyThreadState* const kNoHolder;
  PyThreadState* const volatile* gil_holder_ = &kNoHolder;
  PyThreadState* last_tstate_ = nullptr;
  uint64_t last_tstate_id_ = 0;
  HookThread* last_thread_ = nullptr;
  uint32_t next_thread_index_ = 0;

  PyCodeObject* cached_code_ = nullptr;  // borrowed: see Lookup
  CodeInfo* cached_ci_ = nullptr;
  PyCodeObject* fast_code_ = nullptr;  // cached_code_ or NULL: SetFastCode
  PyCodeObject* line_code_ = nullptr;  // cached_code_ or NULL: SetFastCode
  // Set when the recording stops taking events (Disable) and by the writer
  // thread when it fails (TapeWriter::Start). FastEvent does not read it
  // at every event: where it leaves its steady path (another code, a ring
  // reservation that wraps or waits: once per lap of the ring at least),
  // and SetFastCode, do; the general path then finds out which (OnEvent).
  // Until then, events go on to the ring, which a failed writer drains
  // and drops.
  std::atomic<bool> halted_{false};
  RawBuffer record_;  // the record being built
  BasicRawWriter<RawBuffer> w_{&record_};
  uint16_t ndeltas_ = 0;
  std::string text_;    // scratch rendering
  Fingerprint fp_scratch_;
  uint32_t capture_round_ = 0;
  bool disabled_ = false;
  std::string disabled_why_;
  // Records that found the ring full and waited for the writer (Emit): told
  // on stderr at the end when TRACETAPE_TEST_WRITER_PAUSE_US is set, for
  // the tests that make the writer slow on purpose.
  uint64_t ring_full_ = 0;
};

Recorder* g_recorder = nullptr;
PyThreadState* const Recorder::kNoHolder = reinterpret_cast<PyThreadState*>(const_cast<PyThreadState**>(&kNoHolder));
uint64_t g_session = 0;
// The code decisions of the running recording (CodeInfo::decided): its key
// (the scope, the locals mode, the redaction patterns), and the key's
// number, the same as the last recording's if the key is.
std::string g_decisions_key;
uint64_t g_decisions = 0;

// The handler of one sys.monitoring event: compiled once per event, so that
// the fast path of each is only its own case.
template <monitoring::Event kEvent, bool kPlainOnly>
PyObject* MonitoringHandler(PyObject*, PyObject* const* args, size_t nargsf, PyObject*) {
  Recorder* r = g_recorder;
  if (r == nullptr) Py_RETURN_NONE;  // stopped (StopRecording clears it first)
  const Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
  if constexpr (kEvent == monitoring::kLine || kEvent == monitoring::kPyStart || kEvent == monitoring::kPyReturn ||
                kEvent == monitoring::kPyResume || kEvent == monitoring::kPyYield) {
    return r->FastEvent<kEvent, kPlainOnly>(args, nargs);
  } else {
    return r->OnMonitoringEvent(kEvent, args, nargs);
  }
}

template <bool kPlainOnly, size_t... kEvents>
constexpr std::array<monitoring::Handler, monitoring::kEventCount> MonitoringHandlers(
    std::index_sequence<kEvents...>) {
  return {MonitoringHandler<static_cast<monitoring::Event>(kEvents), kPlainOnly>...};
}

// A thread that still carries the hook after the recording stopped: off.
__attribute__((noinline)) int TraceOff() {
  PyEval_SetTrace(nullptr, nullptr);
  return 0;
}

// The settrace backend's C trace function; kPlainOnly for a recording that
// captures no locals (see PlainTraceEvent).
template <bool kPlainOnly>
int TraceFunction(PyObject*, PyFrameObject* frame, int what, PyObject* arg) {
  Recorder* r = g_recorder;
  if (r == nullptr) return TraceOff();
  if (what > PyTrace_RETURN) return 0;  // C calls and opcodes: not settrace events
  if constexpr (kPlainOnly) {
    return r->PlainTraceEvent(frame, what, arg);
  } else {
    if (what == PyTrace_LINE) return r->FullTraceLine(frame, arg);
    return r->TraceGeneral(frame, what, arg);
  }
}

// The trace function that `r` records with.
Py_tracefunc TraceFunctionOf(const Recorder* r) {
  return r->captures_locals() ? TraceFunction<false> : TraceFunction<true>;
}

void Recorder::OnTraceEvent(PyFrameObject* frame, int what, PyObject* arg) {
  PyCodeObject* code = compat::FrameCode(frame);
  CodeInfo* ci = Lookup(code);  // once, for both paths
  if (ci != nullptr && !ci->recorded) return;
  if (ci != nullptr && FastTraceEvent(frame, code, ci, what, arg)) return;
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  bool pending = PyErr_Occurred() != nullptr;
  if (pending) PyErr_Fetch(&type, &value, &tb);
  OnEvent(code, compat::KeyOf(frame), frame, what, arg);
  if (what == PyTrace_CALL && g_recorder == this) KeepFrameTrace(frame);
  if (PyErr_Occurred()) PyErr_Clear();
  if (pending) PyErr_Restore(type, value, tb);
}

// The trace handle called as a Python trace function: (frame, event, arg).
// Code that saves and restores the trace function (doctest's runner, pdb, a
// debugger: `saved = sys.gettrace()` ... `sys.settrace(saved)`) gives it back
// to sys.settrace, which installs CPython's trampoline instead of the C
// hook. The trampoline calls the handle for each new frame's call event and
// for the other events of a frame whose f_trace it is (every recorded frame:
// KeepFrameTrace). The handle then installs the C hook again and gives it
// the event, so the recording goes on where it was. (An exception's return
// comes here as a return of None: the trampoline does not tell them apart.)
// While another trace function is installed, new frames are not seen (and
// StopRecording warns if it was never given back); frames that ended unseen
// meanwhile are found when the hook comes back (Recorder::Resync).
PyObject* TraceHandle(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  PyThreadState* ts = PyThreadState_Get();
  Recorder* r = g_recorder;
  const bool ours = compat::TraceObject(ts) == g_trace_handle;
  if (r == nullptr || r->uses_monitoring()) {
    if (ours) PyEval_SetTrace(nullptr, nullptr);  // given back after the recording ended
    Py_RETURN_NONE;
  }
  if (nargs != 3 || !PyFrame_Check(args[0]) || !PyUnicode_Check(args[1])) Py_RETURN_NONE;
  int what = -1;
  if (PyUnicode_CompareWithASCIIString(args[1], "call") == 0) what = PyTrace_CALL;
  else if (PyUnicode_CompareWithASCIIString(args[1], "line") == 0) what = PyTrace_LINE;
  else if (PyUnicode_CompareWithASCIIString(args[1], "return") == 0) what = PyTrace_RETURN;
  else if (PyUnicode_CompareWithASCIIString(args[1], "exception") == 0) what = PyTrace_EXCEPTION;
  if (what < 0) Py_RETURN_NONE;
  if (!ours) {
    // Another trace function holds the hook. A frame recorded before it took
    // over still calls the handle (its f_trace) for its line, return and
    // exception events, as a Python trace function's frames go on calling
    // their local trace function: those are recorded. Calls are not: they go
    // to the other trace function.
    // (Frames above it may have ended unseen: the shadow stack is checked.)
    if (what != PyTrace_CALL) {
      r->NoteGap();
      TraceFunctionOf(r)(g_trace_handle, reinterpret_cast<PyFrameObject*>(args[0]), what, args[2]);
    }
    Py_RETURN_NONE;
  }
  if (compat::TraceFunc(ts) != TraceFunctionOf(r)) {
    PyEval_SetTrace(TraceFunctionOf(r), g_trace_handle);
    r->NoteGap();
  }
  TraceFunctionOf(r)(g_trace_handle, reinterpret_cast<PyFrameObject*>(args[0]), what, args[2]);
  Py_RETURN_NONE;
}

PyMethodDef g_trace_handle_def = {
    "tracetape_hook", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)(void)>(TraceHandle)), METH_FASTCALL,
    "tracetape's trace function (sys.gettrace() while it records with the settrace backend)."};

// The last recording's ring, recycled (RingBuffer::Recycle): `pytest --tape`
// records each test, and mapping 32 MiB, faulting its first huge page in
// (the kernel zeroes 2 MiB) and unmapping it took a fifth of a test's
// recording overhead.
std::unique_ptr<RingBuffer> g_spare_ring;
// And its redactor, for the same patterns: compiling the default pattern's
// regex took a few percent of that overhead, and the answers it keeps per
// name stay true.
std::vector<std::string> g_spare_redactor_patterns;
std::optional<Redactor> g_spare_redactor;

StatusOr<Redactor> MakeRedactor(const std::vector<std::string>& patterns) {
  if (g_spare_redactor.has_value() && g_spare_redactor_patterns == patterns) {
    Redactor r = std::move(*g_spare_redactor);
    g_spare_redactor.reset();
    return r;
  }
  return Redactor::Create(patterns);
}

StatusOr<std::unique_ptr<Recorder>> Recorder::Create(RecordOptions options, PyObject* thread_registry) {
  auto redactor = MakeRedactor(options.redact);
  if (!redactor.ok()) return redactor.status();
  std::unique_ptr<Recorder> r(new Recorder(std::move(options), std::move(redactor).value(), thread_registry));
  if (g_spare_ring != nullptr && g_spare_ring->capacity() == RingBuffer::CapacityFor(r->options_.ring_bytes)) {
    r->ring_ = std::move(g_spare_ring);
  } else {
    g_spare_ring.reset();
    r->ring_ = std::make_unique<RingBuffer>(r->options_.ring_bytes);
  }
  auto writer = TapeWriter::Start(r->options_, r->ring_.get(), &r->halted_);
  if (!writer.ok()) return writer.status();
  r->writer_ = std::move(writer).value();
  return r;
}

Recorder::Recorder(RecordOptions options, Redactor redactor, PyObject* thread_registry)
    : options_(std::move(options)),
      scope_(options_),
      redactor_(std::move(redactor)),
      renderer_(options_.limits, &redactor_),
      thread_registry_(thread_registry),
      session_(++g_session),
      monitoring_(options_.metadata.hook_backend == "monitoring") {
  Py_XINCREF(thread_registry_);
  Renderer::Prepare();
  std::string key = ScopeKey();
  key += '\1';
  key += static_cast<char>('0' + static_cast<int>(options_.locals));
  for (const auto& p : options_.redact) key += '\1' + p;
  if (g_decisions == 0 || key != g_decisions_key) {
    g_decisions_key = std::move(key);
    ++g_decisions;
  }
  // This thread holds the GIL now: the slot must name it, or it is not
  // what gil_compat.h says it is (another build of the interpreter).
  PyThreadState* ts = PyThreadState_Get();
  PyThreadState* const volatile* holder = tracetape_gil_holder_slot(PyThreadState_GetInterpreter(ts));
  if (holder != nullptr && *holder == ts && compat::ThreadStateActive(ts)) gil_holder_ = holder;
}

Recorder::~Recorder() {
  cached_code_ = nullptr;
  renderer_.ReleaseCaches();
  ReleaseMappingNames();
  for (auto& [id, t] : threads_) t.ReleaseAll();
  Py_XDECREF(thread_registry_);
}

uint32_t Recorder::NameId(const std::string& name) {
  auto it = name_ids_.find(name);
  if (it != name_ids_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(name_ids_.size());
  name_ids_.emplace(name, id);
  std::string rec;
  RawWriter w(&rec);
  w.Begin(RawTag::kNameDef);
  w.U32(id);
  w.Str(name);
  EmitDef(w.Finish());
  return id;
}

PyObject* g_source_finder = nullptr;  // see SetSourceFinder

// g_source_finder's text for `path`, or "" (none, or it failed: the writer
// then says why the file cannot be read). Leaves any pending exception as
// it was.
std::string FinderSource(const std::string& path) {
  if (g_source_finder == nullptr) return std::string();
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  std::string text;
  PyObject* name = PyUnicode_FromStringAndSize(path.data(), static_cast<Py_ssize_t>(path.size()));
  PyObject* found = name != nullptr ? PyObject_CallOneArg(g_source_finder, name) : nullptr;
  if (found != nullptr && PyUnicode_Check(found)) text = Utf8(found);
  Py_XDECREF(found);
  Py_XDECREF(name);
  PyErr_Clear();
  PyErr_Restore(type, value, tb);
  return text;
}

uint32_t Recorder::FileId(const std::string& path) {
  auto it = file_ids_.find(path);
  if (it != file_ids_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(file_ids_.size());
  file_ids_.emplace(path, id);
  std::string source;
  for (const auto& [name, text] : options_.pseudo_files) {
    if (name == path) source = text;
  }
  // A file that is not on disk as such (a zipapp's, an egg's modules): its
  // loader may have its text. The writer reads every other file itself.
  if (source.empty() && options_.embed_source && ::access(path.c_str(), R_OK) != 0) source = FinderSource(path);
  std::string rec;
  RawWriter w(&rec);
  w.Begin(RawTag::kFileDef);
  w.U32(id);
  w.Str(path);
  w.Str(source);
  EmitDef(w.Finish());
  return id;
}

CodeInfo* Recorder::LookupSlow(PyCodeObject* code) {
  auto* ci = static_cast<CodeInfo*>(compat::GetCodeExtra(code, g_extra_index));
  if (ci && ci->session == session_) return ci;
  if (!ci) {
    ci = new CodeInfo;
    if (!compat::SetCodeExtra(code, g_extra_index, ci)) {
      delete ci;
      return nullptr;
    }
  }
  if (compat::PeekCodeExtra(code, g_extra_index) != ci) g_peek_extra = false;  // not the layout we know
  if (ci->decided == g_decisions) return Redecide(code, ci);
  *ci = CodeInfo();
  ci->session = session_;
  ci->decided = g_decisions;
  std::string filename = Utf8(code->co_filename);
  ci->recorded = scope_.Includes(filename);
  if (!ci->recorded) return ci;

  ci->id = next_code_id_++;
  ci->function = compat::CodeIsFunction(code);
  ci->generator = (code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) != 0;
  ci->names = std::make_unique<CodeInfo::Names>();
  CodeInfo::Names& names = *ci->names;
  names.name = Utf8(code->co_name);
  ci->redact_return = redactor_.ShouldRedact(names.name);
  std::vector<compat::LocalSlot> all_slots;
  if (ci->function) all_slots = compat::CodeSlots(code);
  for (const auto& slot : all_slots) {
    if (slot.arg) names.args.push_back(Utf8(slot.name));
  }
  if (ci->function && options_.locals != LocalsMode::kNone) {
    for (const auto& slot : all_slots) {
      if (options_.locals == LocalsMode::kArgs && !slot.arg) continue;
      std::string n = Utf8(slot.name);
      ci->slots.push_back(SlotInfo{slot.index, NameId(n), slot.cell, redactor_.ShouldRedact(n)});
      names.slot_names.push_back(std::move(n));
    }
  }
  ci->nslots = static_cast<uint32_t>(ci->slots.size());
  ci->plain = NothingToCapture(ci);
  ci->ident_fast = ci->function && !ci->slots.empty() && ci->slots.size() <= kIdentSlots;
  for (size_t i = 0; i < ci->slots.size() && ci->ident_fast; ++i) {
    const SlotInfo& si = ci->slots[i];
    ci->ident_fast = si.index == static_cast<int>(i) && !si.cell && !si.redacted;
  }
  names.filename = std::move(filename);
  names.qualname = Utf8(compat::CodeQualname(code));
  EmitCodeDef(code, ci);
  return ci;
}

// An earlier recording decided `ci` under the same key: this tape only needs
// the code's id, its slots' name ids and its definition.
CodeInfo* Recorder::Redecide(PyCodeObject* code, CodeInfo* ci) {
  ci->session = session_;
  ci->monitored = false;
  if (!ci->recorded) return ci;
  ci->id = next_code_id_++;
  for (size_t i = 0; i < ci->slots.size(); ++i) ci->slots[i].name = NameId(ci->names->slot_names[i]);
  EmitCodeDef(code, ci);
  return ci;
}

void Recorder::EmitCodeDef(PyCodeObject* code, const CodeInfo* ci) {
  const CodeInfo::Names& names = *ci->names;
  uint32_t file = FileId(names.filename);
  std::string rec;
  RawWriter w(&rec);
  w.Begin(RawTag::kCodeDef);
  w.U32(ci->id);
  w.U32(file);
  w.I32(code->co_firstlineno);
  w.Str(names.name);
  w.Str(names.qualname);
  w.U32(static_cast<uint32_t>(names.args.size()));
  for (const auto& a : names.args) w.Str(a);
  EmitDef(w.Finish());
}

void Recorder::BuildLines(PyCodeObject* code, CodeInfo* ci) {
  ci->lines_built = true;
  ci->lines.clear();
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  // co_lines() yields (start, end, line or None) over byte offsets, covering
  // the bytecode in order; the same table PyCode_Addr2Line reads.
  PyObject* it = PyObject_CallMethod(reinterpret_cast<PyObject*>(code), "co_lines", nullptr);
  PyObject* iter = it ? PyObject_GetIter(it) : nullptr;
  bool ok = iter != nullptr;
  while (ok) {
    PyObject* item = PyIter_Next(iter);
    if (item == nullptr) break;
    long start = -1, end = -1, line = -1;
    if (PyTuple_Check(item) && PyTuple_GET_SIZE(item) == 3) {
      start = PyLong_AsLong(PyTuple_GET_ITEM(item, 0));
      end = PyLong_AsLong(PyTuple_GET_ITEM(item, 1));
      PyObject* l = PyTuple_GET_ITEM(item, 2);
      line = l == Py_None ? -1 : PyLong_AsLong(l);
    }
    Py_DECREF(item);
    const long unit = kCodeUnitBytes;
    if (start < 0 || end < start || start % unit != 0 || end % unit != 0 ||
        static_cast<size_t>(start / unit) != ci->lines.size() || end / unit > (1L << 24)) {
      ok = false;  // not the table we know: keep asking PyCode_Addr2Line
      break;
    }
    ci->lines.resize(static_cast<size_t>(end / unit), static_cast<int32_t>(line));
  }
  if (PyErr_Occurred()) ok = false;
  Py_XDECREF(iter);
  Py_XDECREF(it);
  if (!ok) ci->lines.clear();
  ci->line_data = ci->lines.data();
  ci->line_units = ci->lines.size();
  PyErr_Clear();
  PyErr_Restore(type, value, tb);
}

void Recorder::DefineThread(const HookThread& t) {
  std::string rec;
  RawWriter w(&rec);
  w.Begin(RawTag::kThreadDef);
  w.U32(t.index);
  w.U64(t.ident);
  w.Str(t.name);
  Emit(w.Finish());
}

bool Recorder::PauseThread(PyThreadState* ts) {
  if (paused_tstate_ != nullptr || disabled_) return false;
  if (monitoring_) {
    // The hook is every thread's: this thread's events are dropped instead.
    HookThread* t = CurrentThread(ts);
    if (t == nullptr) return false;
    t->paused = true;
    last_tstate_ = nullptr;  // off the fast paths (CurrentThread)
  } else {
    // Only tracetape's own hook, installed, not saved aside by someone.
    if (compat::TraceObject(ts) != g_trace_handle || compat::TraceFunc(ts) != TraceFunctionOf(this)) return false;
    PyEval_SetTrace(nullptr, nullptr);
  }
  paused_tstate_ = ts;
  paused_tstate_id_ = compat::ThreadStateId(ts);
  return true;
}

bool Recorder::ResumeThread(PyThreadState* ts) {
  if (!PausedOn(ts)) return false;
  paused_tstate_ = nullptr;
  auto it = threads_.find(compat::ThreadStateId(ts));
  if (it != threads_.end()) {
    // The recorded frames under the pause point (a script that called
    // pytest.main) are checked against the real stack at the next event,
    // as after any gap: one that ended meanwhile leaves the shadow stack.
    if (!it->second.stack.empty()) it->second.resync = true;
    last_tstate_ = nullptr;  // CurrentThread caches it again
  }
  if (monitoring_) {
    if (it == threads_.end()) return false;
    it->second.paused = false;
    return true;
  }
  // Another trace function installed meanwhile keeps the thread (as if the
  // program had replaced the hook: StopRecording says so).
  if (compat::TraceFunc(ts) != nullptr) return false;
  PyEval_SetTrace(TraceFunctionOf(this), g_trace_handle);
  return true;
}

HookThread* Recorder::CurrentThread(PyThreadState* ts) {
  if (ts == nullptr) ts = PyThreadState_Get();
  uint64_t id = compat::ThreadStateId(ts);
  if (ts == last_tstate_ && id == last_tstate_id_) return last_thread_;
  auto it = threads_.find(id);
  if (it == threads_.end()) {
    if (next_thread_index_ >= kMaxThreads) return nullptr;
    HookThread t;
    t.index = next_thread_index_++;
    t.ident = PyThread_get_thread_ident();
    // threading._active maps ident -> Thread; read its _name attribute from
    // the instance (no property runs).
    if (thread_registry_ && PyDict_Check(thread_registry_)) {
      PyObject* key = PyLong_FromUnsignedLongLong(t.ident);
      PyObject* thread = key ? PyDict_GetItem(thread_registry_, key) : nullptr;
      Py_XDECREF(key);
      if (thread) {
        PyObject* name = PyObject_GenericGetAttr(thread, PyUnicode_FromString("_name"));
        if (name && PyUnicode_Check(name)) t.name = Utf8(name);
        Py_XDECREF(name);
      }
      PyErr_Clear();
    }
    if (t.name.empty()) t.name = "Thread-" + std::to_string(t.ident);
    it = threads_.emplace(id, std::move(t)).first;
    DefineThread(it->second);
  }
  // A thread that needs a resync is looked up again at each event, and
  // the fast paths (SteadyThread) do not take it, until Resync is done.
  last_tstate_ =
      it->second.resync || it->second.quiet || it->second.paused || !it->second.links.empty() ? nullptr : ts;
  last_tstate_id_ = id;
  last_thread_ = &it->second;
  return last_thread_;
}

void Recorder::Begin(RawTag tag, EventKind kind, uint32_t thread, int line, uint32_t code) {
  w_.Begin(tag, static_cast<uint8_t>(kind));
  RawEvent e{thread, line, code, kNoValue};
  w_.Put(&e, sizeof(e));
  ndeltas_ = 0;
}

void Recorder::AddDelta(uint32_t name, const std::string* text) {
  w_.U32(name);
  if (text == nullptr) {
    w_.U32(kUnboundLength);
  } else {
    w_.Str(*text);
  }
  ++ndeltas_;
}

void Recorder::AddWordDelta(uint32_t name, int64_t word) {
  w_.U32(name);
  w_.U32(kIntLength);
  w_.U64(static_cast<uint64_t>(word));
  ++ndeltas_;
}

void Recorder::AddSlotDelta(uint32_t name, SlotState* st) {
  if (st->is_word) {
    AddWordDelta(name, st->word);
  } else {
    AddDelta(name, &st->text);
  }
}

void Recorder::SetValue(std::string_view text) {
  RawEvent e;
  std::memcpy(&e, record_.data() + sizeof(RawHeader), sizeof(e));
  e.has_value = kTextValue;
  std::memcpy(record_.data() + sizeof(RawHeader), &e, sizeof(e));
  w_.Str(text);
}

void Recorder::SetIntValue(int64_t value) {
  RawEvent e;
  std::memcpy(&e, record_.data() + sizeof(RawHeader), sizeof(e));
  e.has_value = kIntValue;
  std::memcpy(record_.data() + sizeof(RawHeader), &e, sizeof(e));
  w_.U64(static_cast<uint64_t>(value));
}

void Recorder::CaptureSlot(SlotState* st, uint32_t name, bool redacted, PyObject* v) {
  if (v == nullptr) {
    if (st->bound) {
      AddDelta(name, nullptr);
      st->Clear();
    }
    return;
  }
  // An immutable scalar we hold a reference to cannot have changed, and its
  // address cannot have been reused while we hold it. Builtin data whose
  // fingerprint still matches renders to the same text.
  if (st->bound && st->held == v) return;
  if (!redacted) {
    // The most frequent local, an int that fits a word: held, no
    // fingerprint, compared and sent as the word (the writer writes its
    // text). Another value before it is compared by text, as below.
    int64_t word;
    if (Renderer::CompactInt(v, &word)) {
      bool changed;
      if (!st->bound) {
        changed = true;
      } else if (st->is_word) {
        changed = st->word != word;
      } else {
        char buf[24];
        auto res = std::to_chars(buf, buf + sizeof(buf), word);
        changed = st->text != std::string_view(buf, static_cast<size_t>(res.ptr - buf));
      }
      Py_INCREF(v);
      Py_XSETREF(st->held, v);
      st->fp.Clear();
      if (changed) {
        st->bound = true;
        st->is_word = true;
        st->text_stale = true;
        st->word = word;
        AddWordDelta(name, word);
      }
      return;
    }
  }
  if (st->bound && !redacted && Renderer::Unchanged(v, st->fp)) return;
  // (Rendering runs no program code.) A held tuple (Renderer::HeldTuple)
  // is held as a scalar is, rendered without a fingerprint either.
  const bool scalar = Renderer::IsImmutableScalar(v) || (!redacted && Renderer::HeldTuple(v));
  if (redacted) {
    if (st->bound) return;
    text_ = kRedacted;
    st->fp.Clear();
  } else if (scalar) {
    renderer_.Render(v, &text_, nullptr);  // held below: no fingerprint needed
    st->fp.Clear();
  } else {
    if (!renderer_.RenderCached(v, &text_, &fp_scratch_)) renderer_.Render(v, &text_, &fp_scratch_);
    st->fp.Swap(fp_scratch_);
    fp_scratch_.Clear();
  }
  bool changed = !st->bound || st->Text() != text_;
  PyObject* old = st->held;
  st->held = nullptr;
  // A value whose fingerprint is only itself, held (a datetime, a range...),
  // is held by the slot instead: compared by identity, as a scalar, without
  // a walk of its one entry at every event.
  const bool held = scalar || (!redacted && st->fp.HeldWhole(v));
  if (held) {
    Py_INCREF(v);
    st->held = v;
    if (!scalar) st->fp.Clear();
  }
  Py_XDECREF(old);
  if (changed) {
    st->bound = true;
    st->is_word = false;
    st->text.swap(text_);  // text_ is scratch: it keeps the old text's room
    AddDelta(name, &st->text);
  }
}

// The call event of a resumed generator frame whose slot states were kept
// at its yield: on the tape it is a new frame, so every bound local is sent;
// those whose value is unchanged (the same held scalar, or a fingerprint
// that still matches) are sent as they were, without rendering.
void Recorder::CaptureResumed(ShadowFrame* sf, PyObject** fast, size_t budget) {
  sf->resumed = false;
  sf->ident_valid = false;  // the states change below (set again at the end)
  const SlotInfo* infos = sf->code->slots.data();
  SlotState* states = sf->slots.data();
  const size_t n = sf->slots.size();
  for (size_t i = 0; i < n; ++i) {
    const SlotInfo& si = infos[i];
    SlotState& st = states[i];
    if (record_.size() > budget || ndeltas_ >= 0xfffe) {
      // Out of room: the rest are sent at the next events, as changes
      // against nothing.
      for (size_t j = i; j < n; ++j) states[j].Clear();
      return;
    }
    PyObject* v = fast[si.index];
    if (si.cell && v != nullptr && PyCell_Check(v)) v = PyCell_GET(v);
    if (v == nullptr) {
      st.Clear();  // nothing to unbind in a new frame
      continue;
    }
    if (!(st.bound && st.held == v)) {
      uint16_t before = ndeltas_;
      CaptureSlot(&st, si.name, si.redacted, v);
      if (ndeltas_ != before) continue;  // changed, and sent
    }
    if (st.bound) AddSlotDelta(si.name, &st);
  }
  if (sf->code->ident_fast) {
    // Every slot was captured from its fast local just now.
    uint64_t check = 0;
    for (size_t i = 0; i < n; ++i) {
      sf->ident[i] = states[i].bound ? fast[i] : nullptr;
      if (states[i].bound && states[i].held == nullptr) check |= uint64_t{1} << i;
    }
    sf->check = check;
    sf->ident_valid = true;
  }
}

// Capture's loop for a CodeInfo::ident_fast frame: a slot is passed over
// when its fast local is what ident says the last capture left there (the
// same held scalar, or still unbound), and ident follows each capture.
void Recorder::CaptureIdent(ShadowFrame* sf, PyObject** fast, size_t budget) {
  if (!sf->ident_valid) sf->RebuildIdent();
  const SlotInfo* infos = sf->code->slots.data();
  SlotState* states = sf->slots.data();
  const size_t n = sf->slots.size();
  PyObject** ident = sf->ident;
  uint64_t check = sf->check;
  // The slots to look at: those whose identity changed, and those whose
  // value can change at the same identity, in order.
  uint64_t visit = check;
  for (size_t i = 0; i < n; ++i) {
    visit |= uint64_t{fast[i] != ident[i]} << i;
    // A few slots: kept scalar (GCC's vectorized loop costs more to enter
    // than this one takes).
    asm("" : "+r"(visit));
  }
  for (; visit != 0; visit &= visit - 1) {
    const size_t i = static_cast<size_t>(__builtin_ctzll(visit));
    const uint64_t bit = uint64_t{1} << i;
    // Only a capture appends: the budget is checked before each (a slot not
    // reached keeps its state, and its ident).
    if (record_.size() > budget || ndeltas_ == 0xffff) break;
    PyObject* v = fast[i];
    SlotState& st = states[i];
    CaptureSlot(&st, infos[i].name, false, v);
    ident[i] = st.bound ? v : nullptr;
    check = (st.bound && st.held == nullptr) ? (check | bit) : (check & ~bit);
  }
  sf->check = check;
}

// CaptureIdent for a new frame, whose slots are all unbound: each bound
// local is captured, and ident made.
void Recorder::CaptureFresh(ShadowFrame* sf, PyObject** fast, size_t budget) {
  const SlotInfo* infos = sf->code->slots.data();
  SlotState* states = sf->slots.data();
  const size_t n = sf->slots.size();
  uint64_t check = 0;
  size_t i = 0;
  for (; i < n; ++i) {
    PyObject* v = fast[i];
    sf->ident[i] = v;
    if (v == nullptr) continue;
    if (record_.size() > budget || ndeltas_ == 0xffff) break;
    SlotState& st = states[i];
    CaptureSlot(&st, infos[i].name, false, v);
    if (st.held == nullptr) check |= uint64_t{1} << i;  // bound: v is not null
  }
  for (; i < n; ++i) sf->ident[i] = nullptr;  // not reached: still unbound
  sf->check = check;
  sf->ident_valid = true;
}

void Recorder::Capture(HookThread* t, ShadowFrame* sf, compat::FrameKey where) {
  CodeInfo* ci = sf->code;
  Renderer::NextEpoch();  // the program ran since the last capture
  // Keep every record well inside the ring: a capture that grows too large
  // stops, and the slots it did not reach are compared again next event.
  const size_t budget = ring_->max_record() / 2;
  if (ci->function) {
    if (ci->slots.empty()) return;
    bool fresh = false;
    if (sf->slots.size() != ci->slots.size()) {
      if (sf->slots.empty()) t->TakeSpare(&sf->slots, ci->slots.size());
      else sf->slots.resize(ci->slots.size());
      sf->ident_valid = false;
      fresh = !sf->resumed;  // all unbound (a spare vector is cleared)
    }
    PyObject** fast = compat::KeyFastLocals(where);
    const SlotInfo* infos = ci->slots.data();
    SlotState* states = sf->slots.data();
    const size_t n = ci->slots.size();
    if (sf->resumed) return CaptureResumed(sf, fast, budget);
    if (ci->ident_fast) return fresh ? CaptureFresh(sf, fast, budget) : CaptureIdent(sf, fast, budget);
    for (size_t i = 0; i < n; ++i) {
      const SlotInfo& si = infos[i];
      PyObject* v = fast[si.index];
      if (si.cell && v != nullptr && PyCell_Check(v)) v = PyCell_GET(v);
      SlotState& st = states[i];
      // The most frequent cases, decided here: the same held scalar, or
      // still unbound.
      if (v != nullptr ? st.held == v && st.bound : !st.bound) continue;
      // Only a capture appends: the budget is checked before each.
      if (record_.size() > budget || ndeltas_ == 0xffff) break;
      CaptureSlot(&st, si.name, si.redacted, v);
    }
    return;
  }
  if (options_.locals != LocalsMode::kAll) return;
  PyObject* mapping = compat::KeyLocalsMapping(where);
  if (mapping == nullptr || !PyDict_Check(mapping)) return;
  if (!sf->mapping) sf->mapping = std::make_unique<MappingState>();
  MappingState* ms = sf->mapping.get();
  std::vector<MappingState::Entry>& entries = ms->entries;
  uint32_t round = ++sf->round;
  Py_ssize_t pos = 0;
  PyObject *key, *value;
  bool complete = true;
  // Whether a name bound at the last capture may be gone: a key met where
  // another was, fewer keys, or a name now bound to a module.
  bool sweep = false;
  size_t i = 0;
  while (PyDict_Next(mapping, &pos, &key, &value)) {
    if (i >= entries.size() || entries[i].key != key || !entries[i].cached) {
      MappingState::Entry e;
      e.key = key;
      e.st = nullptr;
      e.name = 0;
      e.cached = false;
      e.skip = true;
      e.redacted = false;
      if (PyUnicode_Check(key)) {
        auto found = mapping_names_.find(key);
        if (found != mapping_names_.end()) {
          e.cached = true;
          e.skip = found->second.skip;
          e.name = found->second.id;
          e.redacted = found->second.redacted;
        } else {
          std::string name = Utf8(key);
          MappingName n;
          n.skip = name.size() >= 4 && name.compare(0, 2, "__") == 0 && name.compare(name.size() - 2, 2, "__") == 0;
          if (!n.skip) {
            n.id = NameId(name);
            n.redacted = redactor_.ShouldRedact(name);
          }
          // Only exact strs: a str subclass key could change what Utf8 gives.
          if (PyUnicode_CheckExact(key) && mapping_names_.size() < kMaxMappingNames) {
            Py_INCREF(key);
            mapping_names_.emplace(key, n);
            e.cached = true;
          }
          e.skip = n.skip;
          e.name = n.id;
          e.redacted = n.redacted;
        }
      }
      if (i < entries.size()) {
        // Another key here (or an uncached one, now of another name).
        if (entries[i].key != key || entries[i].skip != e.skip || entries[i].name != e.name) sweep = true;
        entries[i] = e;
      } else {
        entries.push_back(e);
      }
    }
    MappingState::Entry& e = entries[i++];
    if (e.skip) continue;
    // Unchanged (most of a module's globals): the same held scalar, or
    // redacted, or the same function under the same __qualname__. None is
    // a module (those are never captured).
    if (value == e.value && (e.same == MappingState::kSameHeld ||
                             (e.same == MappingState::kSameFunction && Py_TYPE(value) == &PyFunction_Type &&
                              reinterpret_cast<PyFunctionObject*>(value)->func_qualname == e.qualname))) {
      continue;
    }
    if (e.st == nullptr) e.st = &ms->slots[e.name];
    SlotState& st = *e.st;
    e.same = MappingState::kSameNo;
    if (PyModule_Check(value)) {
      if (st.bound) sweep = true;  // not captured: goes if it was bound
      continue;
    }
    if (record_.size() > budget || ndeltas_ == 0xffff) {
      complete = false;
      break;
    }
    CaptureSlot(&st, e.name, e.redacted, value);
    e.value = value;
    if (st.bound && (st.held == value || e.redacted)) {
      e.same = MappingState::kSameHeld;
    } else if (Renderer::FunctionSame(value, st.fp)) {
      e.same = MappingState::kSameFunction;
      e.qualname = reinterpret_cast<PyFunctionObject*>(value)->func_qualname;
    }
  }
  if (!complete) return;  // (entries past i are checked as any: by key)
  if (i < entries.size()) {
    sweep = true;
    entries.resize(i);
  }
  if (!sweep) return;
  // The names met this round, again: every entry of the dict (unchanged
  // since, no program code ran) that is captured.
  pos = 0;
  i = 0;
  while (PyDict_Next(mapping, &pos, &key, &value)) {
    MappingState::Entry& e = entries[i++];
    if (e.skip || PyModule_Check(value)) continue;
    if (e.st == nullptr) e.st = &ms->slots[e.name];
    e.st->seen = round;
  }
  bool erased = false;
  for (auto it = ms->slots.begin(); it != ms->slots.end();) {
    if (it->second.seen != round && it->second.bound) {
      AddDelta(it->first, nullptr);
      it->second.Clear();
      it = ms->slots.erase(it);
      erased = true;
    } else {
      ++it;
    }
  }
  if (erased) {
    for (auto& e : entries) {
      e.st = nullptr;  // looked up again
      e.same = MappingState::kSameNo;
    }
  }
}

bool Recorder::Emit(const void* record, size_t size) {
  if (disabled_) return false;
  if (size > ring_->max_record()) {
    Lose(1);
    return false;
  }
  // Back-pressure: the writer drains the ring without the GIL, so waiting
  // here cannot deadlock; it bounds memory to the ring's size.
  if (ring_->TryWrite(record, size)) return true;
  ++ring_full_;
  RestartWriterIfPending();  // a fork's pending restart has not run yet
  do {
    if (writer_->failed()) {
      Disable("the tape writer failed: " + writer_->error());
      return false;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  } while (!ring_->TryWrite(record, size));
  return true;
}

void Recorder::EmitPlainSlow(EventKind kind, uint32_t thread, int line, uint32_t code, const char* value,
                             size_t value_size, size_t size) {
  if (Halted()) return;
  if (uint8_t* at = ring_->Reserve(size)) {
    FillPlain(at, size, kind, thread, line, code, value, value_size);
    ring_->Publish();
    return;
  }
  alignas(8) uint8_t buf[kMaxPlainRecord];
  FillPlain(buf, size, kind, thread, line, code, value, value_size);
  Emit(buf, size);  // waits for room
}

void Recorder::EmitPlainIntSlow(EventKind kind, uint32_t thread, int line, uint32_t code, int64_t value) {
  if (Halted()) return;
  if (uint8_t* at = ring_->Reserve(kPlainIntSize)) {
    FillPlainInt(at, kind, thread, line, code, value);
    ring_->Publish();
    return;
  }
  alignas(8) uint8_t buf[kPlainIntSize];
  FillPlainInt(buf, kind, thread, line, code, value);
  Emit(buf, kPlainIntSize);  // waits for room
}

void Recorder::EmitDef(const std::string& record) {
  defs_.push_back(record);
  Emit(record);
}

void Recorder::Lose(uint64_t events) {
  std::string rec;
  RawWriter w(&rec);
  w.Begin(RawTag::kLoss);
  w.U64(events);
  Emit(w.Finish());
}

void Recorder::Disable(const std::string& why) {
  if (disabled_) return;
  disabled_ = true;
  disabled_why_ = why;
  halted_.store(true, std::memory_order_relaxed);
  fast_code_ = nullptr;
  line_code_ = nullptr;
  // Events stop here; the program goes on untouched.
  if (monitoring_) {
    monitoring::SilenceAll();
  } else {
    compat::SetTrace(nullptr, nullptr, compat::CanTraceAllThreads());
  }
}

void Recorder::Adopt(HookThread* t, PyFrameObject* frame, CodeInfo* code) {
  if (!monitoring_) compat::SetFrameTrace(frame, g_trace_handle);
  t->stack.emplace_back(compat::KeyOf(frame), code);
  Begin(RawTag::kAdopt, EventKind::kCall, t->index, PyFrame_GetLineNumber(frame), code->id);
  Capture(t, &t->stack.back(), compat::KeyOf(frame));
  Emit(w_.Finish(ndeltas_));
}

// Makes `frame` the top of the shadow stack, adopting the recorded frames
// between it and the current top that began before the hook saw them (the
// caller of tracetape.start(), threads that were already running). Returns
// false if the stacks cannot be reconciled; the event is then counted lost.
bool Recorder::Sync(HookThread* t, PyFrameObject* frame, uint32_t* generators_under, compat::FrameKey event_key,
                    bool budgeted) {
  if (generators_under != nullptr) *generators_under = 0;
  if (!t->stack.empty() && t->stack.back().key == compat::KeyOf(frame)) return true;
  compat::FrameKey top = t->stack.empty() ? nullptr : t->stack.back().key;
  std::vector<std::pair<PyFrameObject*, CodeInfo*>> chain;  // innermost first, strong refs
  bool connected = top == nullptr;
  PyFrameObject* cur = frame;
  Py_INCREF(cur);
  // The run of generator frames under the event's frame (generators_under).
  bool in_run = true;
  uint32_t run = 0;
  for (int guard = 0; cur != nullptr && guard < 100000; ++guard) {
    if (compat::KeyOf(cur) == top) {
      connected = true;
      break;
    }
    PyFrameObject* next = PyFrame_GetBack(cur);  // a new reference, or NULL
    PyCodeObject* code = compat::FrameCode(cur);
    CodeInfo* ci = Lookup(code);
    if (in_run && !(guard == 0 && compat::KeyOf(cur) == event_key)) {
      in_run = (code->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) != 0 &&
               compat::SuspendedAtYield(cur);
      if (in_run && ci && ci->recorded) ++run;
    }
    if (ci && ci->recorded) {
      chain.emplace_back(cur, ci);  // keeps the reference
    } else {
      Py_DECREF(cur);
    }
    cur = next;
  }
  Py_XDECREF(cur);
  if (!connected) {
    for (auto& [f, ci] : chain) Py_DECREF(f);
    return false;
  }
  if (generators_under != nullptr) {
    // The run's recorded frames are the innermost of the chain (after the
    // event's own, if it is in it).
    const size_t first = !chain.empty() && compat::KeyOf(chain[0].first) == event_key ? 1 : 0;
    const size_t end = first + run;
    uint32_t n = run;
    if (n > 0 && budgeted && !LinkAllowed()) {
      // Past the budget: not adopted (the old depth, without them), rather
      // than adopted and left on the stack when they leave it unseen.
      for (size_t k = first; k < end; ++k) Py_DECREF(chain[k].first);
      chain.erase(chain.begin() + static_cast<std::ptrdiff_t>(first), chain.begin() + static_cast<std::ptrdiff_t>(end));
      ++links_skipped_;
      n = 0;
    }
    *generators_under = n;
  }
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    Adopt(t, it->first, it->second);
    Py_DECREF(it->first);
  }
  return true;
}

void Recorder::AddLink(HookThread* t, uint32_t frames, bool budgeted) {
  if (frames == 0 || frames >= t->stack.size()) return;
  if (budgeted) {
    ++links_made_;
    last_link_at_ = ring_->written();
  }
  t->links.push_back({t->stack.size(), frames});
  last_tstate_ = nullptr;  // the fast paths leave the thread alone (CurrentThread)
}

uint32_t Recorder::LinkCallers(HookThread* t, PyFrameObject* frame) {
  PyFrameObject* back = PyFrame_GetBack(frame);
  if (back == nullptr) return 0;
  uint32_t linked = 0;
  Sync(t, back, &linked, nullptr, /*budgeted=*/true);  // not connected: nothing adopted, the call pushed as it would be
  Py_DECREF(back);
  return linked;
}

bool Recorder::LinkAllowed() const {
  return links_made_ < kLinkBurst || ring_->written() - last_link_at_ >= kLinkSpacing;
}

bool Recorder::RecordedCallerBelow(HookThread* t, compat::FrameKey key) {
  // The fast paths' callers go on with the cached code's CodeInfo (the
  // event's): the lookups below leave the cache alone.
  const compat::FrameKey top = t->stack.back().key;
  for (compat::FrameKey k = compat::CallerKey(key); k != nullptr && k != top; k = compat::CallerKey(k)) {
    PyObject* code = compat::KeyCode(k);
    if (!PyCode_Check(code)) continue;
    CodeInfo* ci = LookupUncached(reinterpret_cast<PyCodeObject*>(code));
    if (ci != nullptr && ci->recorded) return true;
  }
  return false;
}

void Recorder::Unlink(HookThread* t) {
  while (!t->links.empty() && t->links.back().depth > t->stack.size()) {
    const HookThread::Link link = t->links.back();
    t->links.pop_back();
    // Its frame is gone: what was linked under it, if still on top of the
    // shadow stack (a resync may have popped it), leaves with it.
    if (link.depth - 1 != t->stack.size() || link.frames > t->stack.size()) continue;
    for (uint32_t i = 0; i < link.frames; ++i) t->Pop();
    std::string rec;
    RawWriter w(&rec);
    w.Begin(RawTag::kDetach);
    w.U32(t->index);
    w.U32(link.frames);
    Emit(w.Finish());
  }
}

// After a gap (HookThread::resync): the shadow frames that are no longer on
// the thread's real stack ended unseen. They are popped, and the tape says
// so: an unwind record (which starts a chunk whose checkpoint is the stack
// without them) and the loss of their return events. Frames that began
// unseen are adopted by the event's own Sync, as usual.
bool Recorder::Resync(HookThread* t, PyFrameObject* frame, int what) {
  t->resync = false;
  std::unordered_set<compat::FrameKey> live;
  PyFrameObject* cur = what == PyTrace_CALL ? PyFrame_GetBack(frame) : (Py_INCREF(frame), frame);
  for (int guard = 0; cur != nullptr && guard < 100000; ++guard) {
    live.insert(compat::KeyOf(cur));
    PyFrameObject* next = PyFrame_GetBack(cur);
    Py_DECREF(cur);
    cur = next;
  }
  Py_XDECREF(cur);
  uint32_t gone = 0;
  while (!t->stack.empty() && live.count(t->stack.back().key) == 0) {
    t->Pop();
    ++gone;
  }
  while (!t->links.empty() && t->links.back().depth > t->stack.size()) t->links.pop_back();
  if (gone == 0) return false;
  std::string rec;
  RawWriter w(&rec);
  w.Begin(RawTag::kUnwind);
  w.U32(t->index);
  w.U32(gone);
  Emit(w.Finish());
  Lose(gone);
  // At a call, the caller's recorded frames that began unseen are adopted
  // before it (OnEvent).
  return what == PyTrace_CALL && !t->stack.empty();
}

void Recorder::OnEvent(PyCodeObject* code, compat::FrameKey key, PyFrameObject* frame, int what, PyObject* arg,
                       int line, PyThreadState* ts, long offset, bool switched, Thrown thrown) {
  if (disabled_) return;
  if (writer_->failed()) {
    Disable("the tape writer failed: " + writer_->error());
    return;
  }
  CodeInfo* ci = Lookup(code);
  // Code not recorded: nothing. (Its frames keep their line events: turning
  // them off with f_trace_lines would outlast the recording's hold of the
  // trace function, and a debugger taking it over, pdb from breakpoint(),
  // could then not step through those frames.)
  if (ci == nullptr || !ci->recorded) return;
  // The frame object, made only when needed (a new reference, released on
  // return) if the caller had none.
  struct FrameObject {
    PyFrameObject* frame;
    PyThreadState* ts;
    bool owned = false;
    PyFrameObject* get() {
      if (frame == nullptr) {
        frame = PyThreadState_GetFrame(ts ? ts : PyThreadState_Get());
        owned = frame != nullptr;
      }
      return frame;
    }
    ~FrameObject() {
      if (owned) Py_DECREF(frame);
    }
  } fo{frame, ts};
  HookThread* t = CurrentThread(ts);
  if (t == nullptr) {
    Lose(1);
    return;
  }
  if (t->paused) return;
  if (t->quiet && t->stack.empty()) {
    if (what != PyTrace_CALL || InDefaultExcludedDir(code)) return;
  }
  const bool resynced = t->resync && fo.get() != nullptr && Resync(t, fo.get(), what);
  // The settrace backend cannot tell a yield from a return, nor a resume
  // from a first call: every return of a generator's frame keeps its slot
  // states, and every call looks for them (a finished generator's are only
  // found by another frame of the same code at its address, where they are
  // compared like any others).
  if (frame != nullptr && ci->generator) switched = true;
  if (line < 0 && offset >= 0) line = LineAt(code, ci, offset);
  if (line < 0) line = frame ? PyFrame_GetLineNumber(frame) : compat::KeyLine(key);
  switch (what) {
    case PyTrace_CALL: {
      uint32_t linked = 0;  // generator frames adopted right under it
      const bool maybe_thrown = ci->generator && thrown != kNotThrown;
      if (((t->stack.empty() && !t->quiet) || resynced) && fo.get() != nullptr) {
        // The first frame of this thread that we see, or the first after a
        // gap: adopt its recorded callers, if any began unseen (before
        // recording; on a quiet thread they are the runner's: not adopted).
        PyFrameObject* back = PyFrame_GetBack(fo.get());
        if (back != nullptr) {
          // With an empty stack every chain connects.
          Sync(t, back, maybe_thrown ? &linked : nullptr, nullptr, /*budgeted=*/true);
          Py_DECREF(back);
        }
      } else if (maybe_thrown && !t->stack.empty() && compat::CallerKey(key) != t->stack.back().key &&
                 RecordedCallerBelow(t, key) && fo.get() != nullptr) {
        // throw() may have run it through delegating frames (yield from, await).
        linked = LinkCallers(t, fo.get());
      }
      t->stack.emplace_back(key, ci);
      // Generator frames adopted right under a generator's, each suspended at
      // a yield: frames a throw() linked above it, they leave with it.
      AddLink(t, linked, /*budgeted=*/true);
      if (switched) t->Resume();
      Record(t, ci, key, EventKind::kCall, line, nullptr);
      return;
    }
    case PyTrace_LINE:
    case PyTrace_EXCEPTION:
    case PyTrace_RETURN: {
      if (t->stack.empty() || t->stack.back().key != key) {
        uint32_t linked = 0;
        if (fo.get() == nullptr || !Sync(t, fo.get(), ci->generator ? &linked : nullptr, key)) {
          Lose(1);
          return;
        }
        // The frame itself was adopted (3.11 resumes a delegating generator
        // after its subgenerator returned from a throw() without a call):
        // generator frames under it, as at a call.
        if (t->stack.back().key == key) AddLink(t, linked, /*budgeted=*/false);
      }
      EventKind kind = what == PyTrace_LINE ? EventKind::kLine
                       : what == PyTrace_RETURN ? EventKind::kReturn
                                                : EventKind::kException;
      Record(t, ci, key, kind, line, arg, switched && kind == EventKind::kReturn);
      if (kind == EventKind::kReturn && !t->links.empty()) Unlink(t);
      return;
    }
    default:
      return;
  }
}

void Recorder::RecordGeneral(HookThread* t, CodeInfo* ci, compat::FrameKey key, EventKind kind, int line,
                             PyObject* arg, bool yielded) {
  if (ci->plain && kind == EventKind::kReturn) {
    RenderReturn(ci, arg);
    if (EmitPlain(kind, t->index, line, ci->id, text_.data(), text_.size())) {
      t->Pop();  // a plain frame has no slot states to keep
      return;
    }
    // too long for a plain record
  }
  ShadowFrame& sf = t->stack.back();
  Begin(RawTag::kEvent, kind, t->index, line, ci->id);
  Capture(t, &sf, key);  // uses text_ as scratch: the value is rendered after
  if (kind == EventKind::kReturn) {
    int64_t value;
    if (!ci->redact_return && Renderer::CompactInt(arg ? arg : Py_None, &value)) {
      SetIntValue(value);
    } else {
      RenderReturn(ci, arg);
      SetValue(text_);
    }
  } else if (kind == EventKind::kException) {
    PyObject* exc = (arg && PyTuple_Check(arg) && PyTuple_GET_SIZE(arg) >= 2) ? PyTuple_GET_ITEM(arg, 1) : arg;
    renderer_.RenderException(exc, &text_);
    SetValue(text_);
  }
  Emit(w_.Finish(ndeltas_));
  if (kind == EventKind::kReturn) yielded ? t->Suspend() : t->Pop();
}

// --- sys.monitoring backend --------------------------------------------------
//
// The events and their meaning are those of CPython's own settrace shim on top
// of sys.monitoring (Python/legacy_tracing.c), so that both backends give the
// same stream: PY_START, PY_RESUME and PY_THROW are `call`; PY_RETURN and
// PY_YIELD are `return` with the value, PY_UNWIND a `return` of None; RAISE
// and STOP_ITERATION are `exception`; LINE is `line`, and so is a backward
// JUMP that stays on one line (settrace reports every loop iteration).
//
// What is not recorded costs close to nothing: PY_START and PY_RESUME of an
// excluded code object answer DISABLE, so that location never calls again,
// and line/return events exist only in recorded code objects (local events).
// RAISE, PY_UNWIND and PY_THROW cannot be switched per location; they are
// rare and filtered here.

constexpr uint32_t Bit(monitoring::Event e) { return 1u << e; }
constexpr uint32_t kGlobalEvents = Bit(monitoring::kPyStart) | Bit(monitoring::kPyResume) |
                                   Bit(monitoring::kPyThrow) | Bit(monitoring::kRaise) |
                                   Bit(monitoring::kPyUnwind);
constexpr uint32_t kLocalEvents = Bit(monitoring::kPyReturn) | Bit(monitoring::kPyYield) | Bit(monitoring::kLine) |
                                  Bit(monitoring::kJump) | Bit(monitoring::kStopIteration);

void Recorder::EnableLocalEvents(PyCodeObject* code, CodeInfo* ci) {
  ci->monitored = true;
  if (ci == cached_ci_) SetFastCode();
  Status s = monitoring::EnableCode(code, kLocalEvents);
  if (!s.ok()) Disable("cannot switch on events for " + Utf8(code->co_name) + ": " + s.message());
}

void Recorder::EnableRunningCode() {
  PyThreadState* self = PyThreadState_Get();
  PyInterpreterState* interp = PyThreadState_GetInterpreter(self);
  for (PyThreadState* ts = PyInterpreterState_ThreadHead(interp); ts != nullptr; ts = PyThreadState_Next(ts)) {
    PyFrameObject* f = PyThreadState_GetFrame(ts);  // new reference
    for (int guard = 0; f != nullptr && guard < 100000; ++guard) {
      PyCodeObject* code = compat::FrameCode(f);
      CodeInfo* ci = Lookup(code);
      if (ci && ci->recorded && !ci->monitored) EnableLocalEvents(code, ci);
      PyFrameObject* back = PyFrame_GetBack(f);
      Py_DECREF(f);
      f = back;
    }
    Py_XDECREF(f);
  }
}


template <monitoring::Event kEvent, bool kPlainOnly, bool kFromGil>
PyObject* Recorder::FastEvent(PyObject* const* args, Py_ssize_t nargs) {
  // OnMonitoringEvent, then OnEvent, do the same for these events with
  // checks and conversions that the steady state does not need: both end in
  // Record(). The end-to-end tests compare both backends' tapes with the
  // reference recorder's.
  // A generator's or coroutine's PY_RESUME is a call, as PY_START is, and
  // its PY_YIELD a return, as PY_RETURN is (see OnMonitoringEvent).
  //
  // Every way out is a tail call or a return: the steady path makes no
  // call, so that the handler it is inlined into saves no registers there.
  constexpr bool kCall = kEvent == monitoring::kPyStart || kEvent == monitoring::kPyResume;
  constexpr bool kReturn = kEvent == monitoring::kPyReturn || kEvent == monitoring::kPyYield;
  static_assert(kCall || kReturn || kEvent == monitoring::kLine, "not an event with a fast path");
  auto general = [&] { return OnMonitoringEvent(kEvent, args, nargs); };
  if (nargs < (kReturn ? 3 : 2)) return general();
  // fast_code_: recorded, its local events on, and plain if kPlainOnly.
  auto* code = reinterpret_cast<PyCodeObject*>(args[0]);
  if (code != fast_code_) return FastEventOtherCode<kEvent, kPlainOnly>(args, nargs);
  CodeInfo* ci = cached_ci_;
  PyThreadState* ts;
  if constexpr (kFromGil) {
    ts = GilHolderIfLast();
    if (ts == nullptr) return FastEventOtherThread<kEvent, kPlainOnly>(args, nargs);
  } else {
    ts = PyThreadState_Get();
  }
  HookThread* t = SteadyThread<!kPlainOnly>(ts);
  if (t == nullptr) return general();
  compat::FrameKey key = compat::RunningFrameKey(ts);
  // A shadow frame's key is never NULL: where it is compared, that covers
  // a NULL one.
  if (kCall && key == nullptr) return general();
  long where = compat::SmallIntArg(args[1]);
  if (where < 0) return general();
  int line;
  if constexpr (kEvent == monitoring::kLine) {
    if (t->stack.back().key != key) return general();
    line = static_cast<int>(where);
  } else {
    if (!kCall && t->stack.back().key != key) return general();
    line = LineAtBuilt(ci, where);
    if (line < 0) return general();  // which builds the line table
    if constexpr (kCall) {
      if (t->stack.full()) return general();  // which grows it
      t->stack.PushAboveTop(key, ci);  // not empty: SteadyThread
      if constexpr (kEvent == monitoring::kPyResume) t->Resume();
    }
  }
  if constexpr (kPlainOnly) {
    return RecordPlain<kEvent>(t, ci, key, line, args);
  } else if constexpr (kEvent == monitoring::kLine) {
    // Record's line event, every way out a return or a tail call.
    if (ci->plain || Quiet(t->stack.back(), ci, key)) {
      return EmitPlainThen<MonitoringAnswer>(EventKind::kLine, t->index, line, ci->id);
    }
    return LineChanged<MonitoringAnswer>(t, ci, key, line);
  } else {
    constexpr EventKind kKind = kCall ? EventKind::kCall : kReturn ? EventKind::kReturn : EventKind::kLine;
    Record(t, ci, key, kKind, line, kReturn ? args[2] : nullptr, kEvent == monitoring::kPyYield);
    Py_RETURN_NONE;
  }
}

template <monitoring::Event kEvent>
PyObject* Recorder::RecordGeneralThenNone(HookThread* t, int line, PyObject* const* args) {
  static_assert(kEvent == monitoring::kPyReturn || kEvent == monitoring::kPyYield, "a return");
  // SteadyThread<false> left this to here (rendering the value runs code).
  if (compat::ErrorPending(PyThreadState_Get())) return OnMonitoringEvent(kEvent, args, 3);
  RecordGeneral(t, cached_ci_, t->stack.back().key, EventKind::kReturn, line, args[2],
                kEvent == monitoring::kPyYield);
  Py_RETURN_NONE;
}

template <monitoring::Event kEvent>
PyObject* Recorder::ReturnOtherThenNone(HookThread* t, int line, PyObject* const* args) {
  PyObject* v = args[2];
  if (v != Py_None && v != Py_True && v != Py_False) return RecordGeneralThenNone<kEvent>(t, line, args);
  t->stack.PopBare();  // see ReturnPlainThenNone
  return EmitSingletonThen<MonitoringAnswer>(EventKind::kReturn, t->index, line, cached_ci_->id, v);
}

template <monitoring::Event kEvent, bool kPlainOnly>
PyObject* Recorder::FastEventOtherCode(PyObject* const* args, Py_ssize_t nargs) {
  auto* code = reinterpret_cast<PyCodeObject*>(args[0]);
  if (code == cached_code_ || halted_.load(std::memory_order_relaxed) || !PyCode_Check(code)) {
    return OnMonitoringEvent(kEvent, args, nargs);
  }
  LookupMissInline(code);  // now the cached one (it was not)
  if (code != fast_code_) return OnMonitoringEvent(kEvent, args, nargs);
  return FastEvent<kEvent, kPlainOnly>(args, nargs);
}

bool Recorder::FastTraceEvent(PyFrameObject* frame, PyCodeObject* code, CodeInfo* ci, int what, PyObject* arg) {
  // As FastEvent, for OnEvent's settrace callers.
  (void)code;
  if (what != PyTrace_LINE && what != PyTrace_CALL && what != PyTrace_RETURN) return false;
  if (halted_.load(std::memory_order_relaxed)) return false;
  PyThreadState* ts = GilHolderIfLast();
  if (ts == nullptr) ts = PyThreadState_Get();
  HookThread* t = SteadyThread(ts);
  if (t == nullptr) return false;
  compat::FrameKey key = compat::KeyOf(frame);
  int line = compat::FrameLine(frame);
  if (what == PyTrace_CALL) {
    // A generator's call that does not return to the top frame, with a
    // recorded frame in between: throw()'s, through delegating frames
    // (OnEvent's LinkCallers). (Resumed by code out of scope: none.)
    if (ci->generator && compat::CallerKey(key) != t->stack.back().key && RecordedCallerBelow(t, key)) return false;
    compat::SetFrameTrace(frame, g_trace_handle);
    t->stack.emplace_back(key, ci);
    if (ci->generator) t->Resume();
    Record(t, ci, key, EventKind::kCall, line, nullptr);
    return true;
  }
  if (t->stack.back().key != key) return false;
  if (what == PyTrace_LINE) {
    Record(t, ci, key, EventKind::kLine, line, nullptr);
  } else {
    Record(t, ci, key, EventKind::kReturn, line, arg, ci->generator);
  }
  return true;
}

template <bool kAnyLine>
int Recorder::PlainTraceEvent(PyFrameObject* frame, int what, PyObject* arg) {
  // As FastEvent<..., kPlainOnly = true>, for the trace function; what
  // OnTraceEvent does for these events (FastTraceEvent's Record, whose
  // records for plain code these are) without its general checks.
  // fast_code_: recorded, and not halted when it was set (a failed writer
  // is noticed where the fast path leaves: PlainTraceOtherCode, the slow
  // emitters' Halted()).
  if (compat::FrameCode(frame) != fast_code_) return PlainTraceOtherCode(frame, what, arg);
  HookThread* t = SteadyTraceThread();
  if (t == nullptr) return TraceGeneral(frame, what, arg);
  const compat::FrameKey key = compat::KeyOf(frame);
  int line;
  if constexpr (kAnyLine) {
    line = compat::FrameLine(frame);  // as FastTraceEvent
    if (line <= 0) return TraceGeneral(frame, what, arg);
  } else {
    line = compat::TracedFrameLine(frame);
    if (line == 0) return PlainTraceAnyLine(frame, what, arg);  // FrameLine calls
  }
  if (what == PyTrace_LINE) {
    if (t->stack.back().key != key) return TraceGeneral(frame, what, arg);
    return EmitPlainThen<TraceAnswer>(EventKind::kLine, t->index, line, cached_ci_->id);
  }
  if (what == PyTrace_CALL) {
    // A frame's f_trace is the handle (KeepFrameTrace). A generator's call
    // is checked out of line (PlainTraceGeneratorCall), so that this path
    // still makes no call.
    if (t->stack.full() || cached_ci_->generator || !compat::SetUnsetFrameTrace(frame, g_trace_handle)) {
      return cached_ci_->generator && !t->stack.full() ? PlainTraceGeneratorCall(frame, t, line)
                                                       : TraceGeneral(frame, what, arg);
    }
    // No HookThread::Resume for a generator's: a recording without locals
    // suspends no slot states (its frames are bare: Suspend pops them).
    t->stack.PushAboveTop(key, cached_ci_);
    return EmitPlainThen<TraceAnswer>(EventKind::kCall, t->index, line, cached_ci_->id);
  }
  if (what == PyTrace_RETURN && t->stack.back().key == key) {
    return PlainTraceReturn(frame, t, line, arg);
  }
  return TraceGeneral(frame, what, arg);  // an exception, a frame to resync
}

int Recorder::PlainTraceGeneratorCall(PyFrameObject* frame, HookThread* t, int line) {
  const compat::FrameKey key = compat::KeyOf(frame);
  if ((compat::CallerKey(key) != t->stack.back().key && RecordedCallerBelow(t, key)) ||
      !compat::SetUnsetFrameTrace(frame, g_trace_handle)) {
    return TraceGeneral(frame, PyTrace_CALL, Py_None);
  }
  t->stack.PushAboveTop(key, cached_ci_);  // see PlainTraceEvent
  return EmitPlainThen<TraceAnswer>(EventKind::kCall, t->index, line, cached_ci_->id);
}

int Recorder::FullTraceLine(PyFrameObject* frame, PyObject* arg) {
  // OnTraceEvent's path for a line event (Lookup, FastTraceEvent, Record),
  // its checks in the same order. line_code_: recorded, this recording
  // captures locals, and it was not halted when it was set.
  if (compat::FrameCode(frame) != line_code_) return TraceGeneral(frame, PyTrace_LINE, arg);
  HookThread* t = SteadyTraceThread();
  if (t == nullptr) return TraceGeneral(frame, PyTrace_LINE, arg);
  const compat::FrameKey key = compat::KeyOf(frame);
  const int line = compat::TracedFrameLine(frame);
  if (line == 0 || t->stack.back().key != key) return TraceGeneral(frame, PyTrace_LINE, arg);
  CodeInfo* ci = cached_ci_;
  if (ci->plain || Quiet(t->stack.back(), ci, key)) {
    return EmitPlainThen<TraceAnswer>(EventKind::kLine, t->index, line, ci->id);
  }
  return LineChanged<TraceAnswer>(t, ci, key, line);
}

int Recorder::PlainTraceReturn(PyFrameObject* frame, HookThread* t, int line, PyObject* arg) {
  const CodeInfo* ci = cached_ci_;
  // A generator's return may be a yield: Suspend, for a bare frame, is
  // this pop too (see ReturnPlainThenNone).
#ifndef NDEBUG
  if (!t->stack.back().Bare()) Py_FatalError("tracetape: a frame of a --locals none recording holds slot states");
#endif
  if (ci->redact_return) return TraceGeneral(frame, PyTrace_RETURN, arg);
  PyObject* v = arg != nullptr ? arg : Py_None;  // an exception's return has none
  int64_t value;
  if (Renderer::CompactInt(v, &value)) {
    t->stack.PopBare();
    return EmitPlainIntThen<TraceAnswer>(EventKind::kReturn, t->index, line, ci->id, value);
  }
  if (v != Py_None && v != Py_True && v != Py_False) return TraceGeneral(frame, PyTrace_RETURN, arg);
  t->stack.PopBare();
  return EmitSingletonThen<TraceAnswer>(EventKind::kReturn, t->index, line, ci->id, v);
}

int Recorder::PlainTraceOtherCode(PyFrameObject* frame, int what, PyObject* arg) {
  PyCodeObject* code = compat::FrameCode(frame);
  // The lookup inline (a miss unless the code is the cached one that is
  // not fast: not recorded, or the recording halted).
  CodeInfo* ci = code == cached_code_ ? cached_ci_ : LookupMissInline(code);
  if (ci != nullptr && !ci->recorded) return 0;  // as OnTraceEvent
  if (captures_locals()) {
    // A thread whose trace function an earlier recording, without locals,
    // installed, and which ran no Python code (no event) from that
    // recording's end to this one's start: on 3.10 and 3.11 a new
    // recording sets only its own thread's. Its events go to the general
    // path (this recording never has a fast code here: SetFastCode), and
    // the thread gets this recording's trace function.
    PyEval_SetTrace(TraceFunctionOf(this), g_trace_handle);
    return TraceGeneral(frame, what, arg);
  }
  // (SetFastCode leaves a halted recording without a fast code.)
  if (code != fast_code_) return TraceGeneral(frame, what, arg);
  return PlainTraceEvent(frame, what, arg);
}

// 3.12: a STOP_ITERATION event at END_FOR, the end of a `for` loop over a
// generator, that CPython's settrace shim never turns into an `exception`.
// END_FOR raises it only after FOR_ITER_GEN, the specialized FOR_ITER, ran the
// generator to its return; the shim asks for BRANCH events, which keep every
// FOR_ITER instrumented and unspecialized, so there the generator ends inside
// FOR_ITER: nothing is raised for a return of None, and a StopIteration (a
// RAISE, an `exception`) for any other value. This backend asks for no BRANCH
// events (they would cost one call per loop iteration), so its FOR_ITERs
// specialize; the same stream is kept by dropping END_FOR's STOP_ITERATION
// when the value is None. (pytest's assertion rewriting made a test's loop
// specialize: an `exception StopIteration` at each loop's end, in 3.12 tapes
// only. 3.13's shim reports END_FOR's itself, as this backend does.)
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
// END_FOR in CPython 3.12's Include/opcode.h (opcodes are fixed within a
// minor version; the header's macros are not included for their names).
constexpr unsigned char kEndForOpcode = 4;
#endif
bool SettraceMissesStopIteration(PyCodeObject* code, PyObject* offset_obj, PyObject* exc) {
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
  if (!PyObject_TypeCheck(exc, reinterpret_cast<PyTypeObject*>(PyExc_StopIteration))) return false;
  if (reinterpret_cast<PyStopIterationObject*>(exc)->value != Py_None) return false;
  const long offset = compat::SmallLong(offset_obj);
  if (offset < 0) {
    PyErr_Clear();
    return false;
  }
  // The code without instrumentation (made once, kept by the code object).
  PyObject* bytes = PyCode_GetCode(code);
  if (bytes == nullptr) {
    PyErr_Clear();
    return false;
  }
  const bool end_for = offset < PyBytes_GET_SIZE(bytes) &&
                       static_cast<unsigned char>(PyBytes_AS_STRING(bytes)[offset]) == kEndForOpcode;
  Py_DECREF(bytes);
  return end_for;
#else
  (void)code;
  (void)offset_obj;
  (void)exc;
  return false;
#endif
}

PyObject* Recorder::OnMonitoringEvent(monitoring::Event event, PyObject* const* args, Py_ssize_t nargs) {
  if (disabled_ || nargs < 2 || !PyCode_Check(args[0])) Py_RETURN_NONE;
  auto* code = reinterpret_cast<PyCodeObject*>(args[0]);
  int what;
  PyObject* arg = nullptr;
  int line = -1;
  // The instruction, for the frequent events. Not for PY_UNWIND, RAISE and
  // the rest: their offset can be a cleanup instruction without a line, where
  // settrace reports the frame's last line.
  long offset = -1;
  if (event == monitoring::kPyStart || event == monitoring::kPyResume || event == monitoring::kPyReturn ||
      event == monitoring::kPyYield) {
    offset = compat::SmallLong(args[1]);
    if (offset < 0) {
      PyErr_Clear();
      Py_RETURN_NONE;
    }
  }
  switch (event) {
    case monitoring::kPyStart:
    case monitoring::kPyResume: {
      CodeInfo* ci = Lookup(code);
      if (ci == nullptr) Py_RETURN_NONE;
      if (!ci->recorded) return monitoring::Disable();
      if (!ci->monitored) EnableLocalEvents(code, ci);
      what = PyTrace_CALL;
      break;
    }
    case monitoring::kPyThrow:
      what = PyTrace_CALL;
      break;
    case monitoring::kPyReturn:
    case monitoring::kPyYield:
      if (nargs < 3) Py_RETURN_NONE;
      what = PyTrace_RETURN;
      arg = args[2];
      break;
    case monitoring::kPyUnwind:
      what = PyTrace_RETURN;
      break;
    case monitoring::kStopIteration:
      if (nargs < 3) Py_RETURN_NONE;
      if (SettraceMissesStopIteration(code, args[1], args[2])) Py_RETURN_NONE;
      what = PyTrace_EXCEPTION;
      arg = args[2];
      break;
    case monitoring::kRaise:
      if (nargs < 3) Py_RETURN_NONE;
      what = PyTrace_EXCEPTION;
      arg = args[2];
      break;
    case monitoring::kLine:
      what = PyTrace_LINE;
      line = static_cast<int>(compat::SmallLong(args[1]));
      if (line < 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
      }
      break;
    case monitoring::kJump: {
      if (nargs < 3) Py_RETURN_NONE;
      long from = compat::SmallLong(args[1]);
      long to = compat::SmallLong(args[2]);
      if (from < 0 || to < 0) {
        PyErr_Clear();
        Py_RETURN_NONE;
      }
      // Forward jumps, and jumps to another line (whose LINE event fires),
      // never make a settrace line event: stop asking for them here.
      if (to > from) return monitoring::Disable();
      CodeInfo* ci = Lookup(code);
      if (ci == nullptr || !ci->recorded) return monitoring::Disable();
      int to_line = LineAt(code, ci, to);
      if (to_line != LineAt(code, ci, from)) return monitoring::Disable();
      if (to_line < 0) Py_RETURN_NONE;
      what = PyTrace_LINE;
      line = to_line;
      break;
    }
    default:
      Py_RETURN_NONE;
  }
  PyThreadState* ts = PyThreadState_Get();
  compat::FrameKey key = compat::CurrentFrameKey(ts);  // no frame object is made
  if (key == nullptr) Py_RETURN_NONE;
  // CPython calls monitoring callbacks with no exception set (RAISE passes
  // it as an argument); keep whatever might be, all the same.
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  bool pending = compat::ErrorPending(ts);
  if (pending) PyErr_Fetch(&type, &value, &tb);
  OnEvent(code, key, nullptr, what, arg, line, ts, offset,
          event == monitoring::kPyResume || event == monitoring::kPyYield,
          event == monitoring::kPyThrow ? kThrown : kNotThrown);
  if (compat::ErrorPending(ts)) PyErr_Clear();
  if (pending) PyErr_Restore(type, value, tb);
  Py_RETURN_NONE;
}

Status Recorder::Finish(int exit_status, bool discard) {
  cached_code_ = nullptr;
  renderer_.ReleaseCaches();
  ReleaseMappingNames();
  cached_ci_ = nullptr;
  fast_code_ = nullptr;
  line_code_ = nullptr;
  for (auto& [id, t] : threads_) {
    t.ReleaseAll();
    t.stack.clear();
    t.links.clear();
  }
  Status s;
  Py_BEGIN_ALLOW_THREADS
  // (No writer: a forked child's could not start; disabled_ says why.)
  if (writer_) s = writer_->Finish(exit_status, discard);
  Py_END_ALLOW_THREADS
  if (discard) return Status::Ok();
  if (links_skipped_ > 0) {
    PySys_WriteStderr(
        "tracetape: warning: %llu calls of generators that throw() ran through delegating frames "
        "(yield from, await) were recorded without those frames, their depth one less per frame than Python's: "
        "%llu were recorded with them, at most %llu and then one per MiB of records (each costs the tape two "
        "chunks)\n",
        static_cast<unsigned long long>(links_skipped_), static_cast<unsigned long long>(links_made_),
        static_cast<unsigned long long>(kLinkBurst));
  }
  if (std::getenv("TRACETAPE_TEST_WRITER_PAUSE_US") != nullptr) {
    PySys_WriteStderr("tracetape: test: %llu records found the ring full\n",
                      static_cast<unsigned long long>(ring_full_));
  }
  if (s.ok() && disabled_) return Status::IoError(disabled_why_);
  return s;
}

std::string ChildPath(const std::string& parent, long parent_pid, long child_pid) {
  std::string suffix = "." + std::to_string(parent_pid) + ".tape";
  if (parent.size() > suffix.size() && parent.compare(parent.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return parent.substr(0, parent.size() - suffix.size()) + "." + std::to_string(child_pid) + ".tape";
  }
  auto dot = parent.rfind('.');
  auto slash = parent.rfind('/');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) {
    return parent + "." + std::to_string(child_pid);
  }
  return parent.substr(0, dot) + "." + std::to_string(child_pid) + parent.substr(dot);
}

void Recorder::AfterFork() {
  if (writer_) writer_->AbandonAfterFork();  // (none: this is a child's child whose writer could not start)
  writer_.reset();
  ring_->Reset();
  long parent = static_cast<long>(options_.metadata.pid);
  long child = static_cast<long>(::getpid());
  options_.path = ChildPath(options_.path, parent, child);
  options_.metadata.pid = child;
  options_.metadata.start_time_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count();
  halted_.store(disabled_, std::memory_order_relaxed);  // the parent's writer is not this one
  auto writer = TapeWriter::Start(options_, ring_.get(), &halted_);
  if (!writer.ok()) {
    Disable("cannot record the forked child: " + writer.status().message());
    return;
  }
  writer_ = std::move(writer).value();
  // Only the forking thread exists in the child. Replay the definitions and
  // adopt its stack, so the child's tape starts from where the child is.
  PyThreadState* ts = PyThreadState_Get();
  uint64_t id = compat::ThreadStateId(ts);
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (it->first != id) {
      it->second.ReleaseAll();
      it = threads_.erase(it);
    } else {
      ++it;
    }
  }
  last_tstate_ = nullptr;
  for (const auto& def : defs_) Emit(def);
  auto it = threads_.find(id);
  if (it == threads_.end()) return;
  HookThread& t = it->second;
  t.index = 0;
  next_thread_index_ = 1;
  DefineThread(t);
  for (auto& sf : t.stack) {
    Begin(RawTag::kAdopt, EventKind::kCall, t.index, compat::KeyLine(sf.key), sf.code->id);
    for (size_t i = 0; i < sf.slots.size(); ++i) {
      if (sf.slots[i].bound) AddSlotDelta(sf.code->slots[i].name, &sf.slots[i]);
    }
    if (sf.mapping) {
      for (auto& [name, st] : sf.mapping->slots) {
        if (st.bound) AddSlotDelta(name, &st);
      }
    }
    Emit(w_.Finish(ndeltas_));
  }
}

std::unique_ptr<Recorder> g_owner;

void ForgetCodeInfo(CodeInfo* ci) {
  if (g_owner != nullptr) g_owner->Forget(ci);
}

}  // namespace

Status StartRecording(RecordOptions options, PyObject* thread_registry) {
  if (g_recorder != nullptr) return Status::InvalidArgument("a recording is already running (to " + g_recorder->path() + ")");
  if (g_extra_index < 0) {
    g_extra_index = compat::RequestCodeExtraIndex(FreeCodeInfo);
    if (g_extra_index < 0) {
      PyErr_Clear();
      return Status::Internal("no code-object extra slot is free");
    }
  }
  if (g_trace_handle == nullptr) {
    g_trace_handle = PyCFunction_NewEx(&g_trace_handle_def, nullptr, nullptr);
    if (g_trace_handle == nullptr) {
      PyErr_Clear();
      return Status::Internal("cannot make the trace handle");
    }
  }
  // A hook parked by a monitoring recording would give a settrace one the
  // same events again.
  if (options.metadata.hook_backend != "monitoring") monitoring::Uninstall();
  auto r = Recorder::Create(std::move(options), thread_registry);
  if (!r.ok()) return r.status();
  g_owner = std::move(r).value();
  g_recorder = g_owner.get();
  if (g_recorder->uses_monitoring()) {
    static constexpr auto kHandlers =
        MonitoringHandlers<false>(std::make_index_sequence<monitoring::kEventCount>());
    static constexpr auto kPlainHandlers =
        MonitoringHandlers<true>(std::make_index_sequence<monitoring::kEventCount>());
    Status s = monitoring::Install(g_recorder->captures_locals() ? kHandlers : kPlainHandlers, kGlobalEvents,
                                   g_recorder->ScopeKey());
    if (!s.ok()) {
      g_recorder = nullptr;
      g_owner->Finish(1, false);
      g_owner.reset();
      return s;
    }
    g_recorder->EnableRunningCode();
  } else {
    compat::SetTrace(TraceFunctionOf(g_recorder), g_trace_handle, compat::CanTraceAllThreads());
  }
  return Status::Ok();
}

uint64_t g_last_events = 0;  // see LastRecordingEvents

Status StopRecording(int exit_status, std::string* path, bool discard, bool keep_hook) {
  if (g_recorder == nullptr) return Status::Ok();
  RestartWriterIfPending();  // it drains what is left
  Recorder* r = g_recorder;
  g_recorder = nullptr;
  // Owned here from now on: Finish lets other threads run, and one of them
  // may start the next recording (g_owner) meanwhile.
  std::unique_ptr<Recorder> owner = std::move(g_owner);
  if (r->uses_monitoring()) {
    // (A recording that disabled itself silenced its events: not kept.)
    if (keep_hook && !r->disabled()) {
      monitoring::Park();
    } else {
      monitoring::Uninstall();
    }
  } else {
    PyThreadState* ts = PyThreadState_Get();
    if (compat::TraceObject(ts) != g_trace_handle && !r->disabled() &&
        !(r->PausedOn(ts) && compat::TraceObject(ts) == nullptr)) {
      // Something called sys.settrace() and never gave the handle back (a
      // save and restore does, and the recording goes on): a debugger, a
      // coverage tool, the program's own tracer.
      PySys_WriteStderr(
          "tracetape: warning: the program replaced tracetape's trace function (sys.settrace) and did not "
          "restore it: on this thread, the calls made after that were not recorded\n");
    }
    // Only tracetape's hook goes: another trace function stays (on 3.12+,
    // where the hook is removed from every thread at once, this thread's).
    Py_tracefunc other = compat::TraceObject(ts) != g_trace_handle ? compat::TraceFunc(ts) : nullptr;
    PyObject* other_obj = other ? compat::TraceObject(ts) : nullptr;
    Py_XINCREF(other_obj);
    if (compat::CanTraceAllThreads()) {
      compat::SetTrace(nullptr, nullptr, true);
      if (other) PyEval_SetTrace(other, other_obj);
    } else if (!other) {
      PyEval_SetTrace(nullptr, nullptr);
    }
    Py_XDECREF(other_obj);
  }
  if (path) *path = r->path();
  Status s = r->Finish(exit_status, discard);
  g_last_events = r->writer() != nullptr ? r->writer()->events() : 0;
  g_spare_ring = r->TakeRing();  // the writer is stopped: nothing reads it now
  if (g_spare_ring != nullptr) g_spare_ring->Recycle();
  g_spare_redactor_patterns = r->redact_patterns();
  g_spare_redactor.emplace(r->TakeRedactor());
  owner.reset();
  return s;
}

uint64_t LastRecordingEvents() { return g_last_events; }

void ReleaseHook() {
  if (g_recorder == nullptr) monitoring::Uninstall();
}

void SetSourceFinder(PyObject* finder) {
  Py_XINCREF(finder);
  Py_XSETREF(g_source_finder, finder);
}

bool IsRecording() { return g_recorder != nullptr; }

std::string RecordingPath() { return g_recorder ? g_recorder->path() : std::string(); }

void InstallOnCurrentThread(PyObject* frame) {
  if (g_recorder != nullptr && !g_recorder->uses_monitoring()) {
    Py_tracefunc trace = TraceFunctionOf(g_recorder);
    PyEval_SetTrace(trace, g_trace_handle);
    // The call that brought us here (threading's bootstrap calls the
    // thread's run()): without it, the frame was adopted at its first line,
    // as if it had begun before the recording.
    if (frame != nullptr && PyFrame_Check(frame)) {
      trace(g_trace_handle, reinterpret_cast<PyFrameObject*>(frame), PyTrace_CALL, Py_None);
    }
  }
}

void QuietCurrentThread() {
  if (g_recorder != nullptr) g_recorder->QuietCurrentThread();
}

bool PauseCurrentThread() { return g_recorder != nullptr && g_recorder->PauseThread(PyThreadState_Get()); }

bool CurrentThreadPaused() { return g_recorder != nullptr && g_recorder->PausedOn(PyThreadState_Get()); }

bool ResumeCurrentThread() { return g_recorder != nullptr && g_recorder->ResumeThread(PyThreadState_Get()); }

PyObject* TraceHandleObject() { return g_trace_handle; }

// The parent's writer, paused for a fork, restarts once os.fork() has
// returned (3.13+: see AfterForkInParent); until then this is set.
bool g_writer_restart_pending = false;

void RestartWriterIfPending() {
  if (!g_writer_restart_pending) return;
  g_writer_restart_pending = false;
  if (g_recorder != nullptr && g_recorder->writer() != nullptr) g_recorder->writer()->ResumeThread();
}

int RestartWriterCall(void*) {
  RestartWriterIfPending();
  return 0;
}

void BeforeFork() {
  // The GIL stays held: the writer never needs it to stop, and no other
  // thread may fill the ring while nothing drains it.
  if (g_recorder != nullptr && g_recorder->writer() != nullptr) g_recorder->writer()->PauseThread();
  LeftWritersBeforeFork();  // a discarded recording's thread, ending
}

void AfterForkInParent() {
  LeftWritersAfterForkInParent();
  if (g_recorder == nullptr || g_recorder->writer() == nullptr) return;
#if PY_VERSION_HEX >= 0x030D0000
  // 3.13 counts the process's threads for its "multi-threaded, use of
  // fork() may lead to deadlocks" DeprecationWarning after these hooks have
  // run: a writer restarted here would give every fork of a recorded
  // program that warning (an error under -W error). Everything recorded
  // before the fork was drained; the writer restarts at the interpreter's
  // next pending-call check, before the program runs on (or where the ring
  // fills, or the recording stops, if that comes first).
  g_writer_restart_pending = true;
  if (Py_AddPendingCall(RestartWriterCall, nullptr) == 0) return;
  g_writer_restart_pending = false;
#endif
  g_recorder->writer()->ResumeThread();
}

void AfterForkInChild() {
  LeftWritersAfterForkInChild();
  g_writer_restart_pending = false;  // the child's writer is its own
  if (g_recorder != nullptr) g_recorder->AfterFork();
}

}  // namespace tracetape::recorder
