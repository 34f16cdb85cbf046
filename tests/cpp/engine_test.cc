// The replay engine (replayer/include/tracetape/replayer/engine.h, DESIGN
// section 6) over tapes written by the real writer from scripted programs.
//
// Every expectation is derived from the recorded program (the builder's
// model of each event, its frame and its stack), never from the engine:
//  - scripted programs (recursion, generators, exceptions, threads, adopted
//    frames, many chunks) pin down the edges by hand;
//  - a Model of the event stream (frame instances, callers, returns) answers
//    every move, continue, watch and `when` independently, and is compared with
//    the engine at every event of a multi-chunk pseudo-random recording.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "synthetic_recording.h"
#include "tracetape/replayer/engine.h"
#include "tracetape/replayer/expr.h"
#include "tracetape/replayer/value.h"

namespace tracetape::replayer {
namespace {

using testing::Event;
using testing::FrameModel;
using testing::RecordingBuilder;
using testing::TempDir;
using Deltas = RecordingBuilder::Deltas;

constexpr int kCall = 0;
constexpr int kLine = 1;
constexpr int kReturn = 2;
constexpr int kException = 3;

constexpr char kAppPath[] = "/proj/pkg/app.py";

// Breakpoints are checked against the embedded source, so scripted programs
// get a file long enough for every line they use.
std::string AppSource() {
  std::string s;
  for (int i = 1; i <= 120; ++i) s += "x = " + std::to_string(i) + "  # line " + std::to_string(i) + "\n";
  return s;
}

Status StatusOf(const Status& s) { return s; }
template <typename T>
Status StatusOf(const StatusOr<T>& s) {
  return s.status();
}
#define TT_ASSERT_OK(expr)                                 \
  do {                                                     \
    ::tracetape::Status _st = StatusOf(expr);              \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)
#define TT_EXPECT_OK(expr)                                 \
  do {                                                     \
    ::tracetape::Status _st = StatusOf(expr);              \
    EXPECT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)

// ---------------------------------------------------------------------------
// Writing tapes

// A scripted program: one file, threads defined up front, codes on demand.
class Script {
 public:
  Script() {
    file_ = b.DefineFile(kAppPath, AppSource());
    b.DefineThread(0, 140000000001, "MainThread");
    b.set_keep_stacks(true);
  }
  uint32_t Code(int32_t first_line, const std::string& name, const std::string& qualname = "",
                const std::vector<std::string>& args = {}) {
    return b.DefineCode(file_, first_line, name, qualname.empty() ? name : qualname, args);
  }
  void Thread(uint32_t index, const std::string& name) { b.DefineThread(index, 140000000001 + index * 4096, name); }
  // Index of the next event.
  uint64_t next() const { return b.events().size(); }
  uint64_t last() const { return b.events().size() - 1; }

  RecordingBuilder b;

 private:
  uint32_t file_ = 0;
};

// Writes `b` with the real RingBuffer and TapeWriter (sources first, so a cut
// tape keeps them) and opens an engine on it.
std::unique_ptr<Engine> WriteAndOpen(const RecordingBuilder& b, const std::string& path, int exit_status = 0) {
  Status s = testing::WriteTapeDefinitionsFirst(testing::TestRecordOptions(path), b.raw(), exit_status);
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto e = Engine::Open(path);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  if (!e.ok()) return nullptr;
  return std::move(e).value();
}

// Copies the first `chunks` chunks of `path` (and everything before them) to
// `out`: a tape whose recording process died, without footer.
void CutAfterChunks(const std::string& path, size_t chunks, const std::string& out) {
  auto tape = Tape::Open(path);
  ASSERT_TRUE(tape.ok()) << tape.status().ToString();
  ASSERT_LT(chunks, (*tape)->chunks().size());
  std::string bytes = testing::ReadFileBytes(path);
  testing::WriteFileBytes(out, bytes.substr(0, (*tape)->chunks()[chunks].offset));
}

// ---------------------------------------------------------------------------
// The model: what each move must do, from the recorded program alone.

struct BpModel {
  bool function = false;
  std::string file;  // as given to AddBreakpoint
  int32_t line = 0;
  std::string name;
  std::string condition;
};

bool PathEndsWith(const std::string& path, const std::string& spec) {
  if (path == spec) return true;
  return path.size() > spec.size() && path.compare(path.size() - spec.size(), spec.size(), spec) == 0 &&
         path[path.size() - spec.size() - 1] == '/';
}

std::optional<Value> LookupIn(const std::map<std::string, std::string>& locals, const std::string& name) {
  auto it = locals.find(name);
  if (it == locals.end()) return std::nullopt;
  return ParseRendered(it->second);
}

class Model {
 public:
  explicit Model(const std::vector<Event>& events) : ev_(events) {
    std::map<uint32_t, std::vector<uint64_t>> stacks;
    uint64_t next_id = 1;
    frame_.resize(ev_.size());
    parent_.resize(ev_.size());
    for (size_t i = 0; i < ev_.size(); ++i) {
      const Event& e = ev_[i];
      auto& s = stacks[e.thread];
      if (e.kind == kCall) {
        call_of_[next_id] = i;
        s.push_back(next_id++);
      }
      // Frames adopted before the thread's first event sit under everything.
      while (s.size() < e.depth) s.insert(s.begin(), next_id++);
      EXPECT_EQ(s.size(), e.depth) << "model inconsistent at " << i;
      frame_[i] = s.back();
      parent_[i] = s.size() >= 2 ? s[s.size() - 2] : 0;
      for (size_t k = 1; k < s.size(); ++k) frame_parent_[s[k]] = s[k - 1];
      if (e.kind == kReturn) {
        return_of_[s.back()] = i;
        s.pop_back();
      }
    }
  }

  size_t size() const { return ev_.size(); }
  const Event& operator[](uint64_t i) const { return ev_[i]; }
  uint64_t frame(uint64_t i) const { return frame_[i]; }

  std::optional<uint64_t> Find(uint64_t pos, bool forward, const std::function<bool(uint64_t)>& pred) const {
    if (forward) {
      for (uint64_t j = pos + 1; j < ev_.size(); ++j) {
        if (pred(j)) return j;
      }
    } else {
      for (uint64_t j = pos; j-- > 0;) {
        if (pred(j)) return j;
      }
    }
    return std::nullopt;
  }

  // pdb's step: the thread's next (previous) event; an IDE's (kLines):
  // its next line, call or exception.
  std::optional<uint64_t> Step(uint64_t pos, bool forward, Engine::Stops stops = Engine::Stops::kFrameEnds) const {
    uint32_t t = ev_[pos].thread;
    const bool returns = stops == Engine::Stops::kFrameEnds;
    return Find(pos, forward, [&](uint64_t j) { return ev_[j].thread == t && (returns || ev_[j].kind != kReturn); });
  }
  // The frame `up` levels above pos's own (0: none).
  uint64_t Selected(uint64_t pos, uint32_t up) const {
    uint64_t f = frame_[pos];
    for (uint32_t k = 0; k < up && f != 0; ++k) {
      auto it = frame_parent_.find(f);
      f = it == frame_parent_.end() ? 0 : it->second;
    }
    return f;
  }
  // A line or exception of the selected frame, or of a frame below it in the
  // stack (its callers: nothing shallower runs while it lives); pdb's
  // (kFrameEnds) also their ends: a return going forward, a call going back.
  std::optional<uint64_t> Next(uint64_t pos, bool forward, uint32_t up = 0,
                               Engine::Stops stops = Engine::Stops::kFrameEnds) const {
    uint64_t f = Selected(pos, up);
    if (f == 0) return std::nullopt;
    uint32_t t = ev_[pos].thread, d = ev_[pos].depth - up;
    const int end = forward ? kReturn : kCall;
    const bool ends = stops == Engine::Stops::kFrameEnds;
    return Find(pos, forward, [&](uint64_t j) {
      const int k = ev_[j].kind;
      return ev_[j].thread == t && (k == kLine || k == kException || (ends && k == end)) &&
             (frame_[j] == f || ev_[j].depth < d);
    });
  }
  // Forward: the return of the selected frame (of the caller, on a frame's
  // own return event). Backward: the caller's last event before the
  // selected frame's call, or the call itself at depth 1; nothing when the
  // call is not on the tape or when the target is where the cursor already is.
  std::optional<uint64_t> Finish(uint64_t pos, bool forward, uint32_t up = 0) const {
    uint64_t sel = Selected(pos, up);
    if (sel == 0) return std::nullopt;
    if (forward) {
      uint64_t f = up == 0 && ev_[pos].kind == kReturn ? parent_[pos] : sel;
      if (f == 0) return std::nullopt;
      auto it = return_of_.find(f);
      if (it == return_of_.end()) return std::nullopt;
      return it->second;
    }
    auto it = call_of_.find(sel);
    if (it == call_of_.end()) return std::nullopt;
    uint64_t target = it->second;
    auto p = frame_parent_.find(sel);
    if (p != frame_parent_.end()) {
      for (uint64_t j = it->second; j-- > 0;) {
        if (frame_[j] == p->second) {
          target = j;
          break;
        }
      }
    }
    if (target == pos) return std::nullopt;
    return target;
  }

  static bool Matches(const BpModel& bp, const Event& e) {
    if (bp.function) return e.kind == kCall && (e.func == bp.name || e.qualname == bp.name);
    return e.kind == kLine && e.line == bp.line && PathEndsWith(e.file, bp.file);
  }
  static bool ConditionHolds(const std::string& condition, const Event& e) {
    if (condition.empty()) return true;
    auto v = Evaluate(condition, [&](const std::string& n) { return LookupIn(e.locals, n); });
    return !v.ok() || Truthy(*v);
  }
  struct WatchModel {
    uint64_t frame;
    std::string name;
  };
  bool WatchHit(const WatchModel& w, uint64_t j) const {
    return frame_[j] == w.frame && std::find(ev_[j].changed.begin(), ev_[j].changed.end(), w.name) != ev_[j].changed.end();
  }
  std::optional<uint64_t> Continue(uint64_t pos, bool forward, const std::vector<BpModel>& bps,
                                   const std::vector<WatchModel>& watches) const {
    return Find(pos, forward, [&](uint64_t j) {
      for (const auto& bp : bps) {
        if (Matches(bp, ev_[j]) && ConditionHolds(bp.condition, ev_[j])) return true;
      }
      for (const auto& w : watches) {
        if (WatchHit(w, j)) return true;
      }
      return false;
    });
  }
  std::vector<std::pair<uint64_t, std::string>> When(uint64_t pos, const std::string& name) const {
    std::vector<std::pair<uint64_t, std::string>> out;
    WatchModel w{frame_[pos], name};
    for (uint64_t j = 0; j < ev_.size(); ++j) {
      if (!WatchHit(w, j)) continue;
      auto it = ev_[j].locals.find(name);
      out.emplace_back(j, it == ev_[j].locals.end() ? std::string("<unbound>") : it->second);
    }
    return out;
  }

 private:
  const std::vector<Event>& ev_;
  std::vector<uint64_t> frame_;   // frame instance of each event
  std::vector<uint64_t> parent_;  // its caller's frame instance, 0 at depth 1
  std::map<uint64_t, uint64_t> frame_parent_;  // frame id -> the frame below it
  std::unordered_map<uint64_t, uint64_t> call_of_;
  std::unordered_map<uint64_t, uint64_t> return_of_;
};

std::string Str(const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : std::string("none"); }

std::map<std::string, std::string> LocalsMap(const FrameView& f) {
  return std::map<std::string, std::string>(f.locals.begin(), f.locals.end());
}

// Empty when the engine's state at an event is the model's; else the first
// difference.
std::string StateDiff(const StateView& s, const Event& want) {
  std::ostringstream os;
  if (s.index != want.index) os << "index " << s.index << " != " << want.index << "; ";
  if (s.thread != want.thread) os << "thread " << s.thread << " != " << want.thread << "; ";
  if (static_cast<int>(s.kind) != want.kind) os << "kind " << static_cast<int>(s.kind) << " != " << want.kind << "; ";
  if (s.stack.size() != want.depth) os << "depth " << s.stack.size() << " != " << want.depth << "; ";
  if (!s.stack.empty()) {
    const FrameView& top = s.stack.back();
    if (top.file != want.file || top.func != want.func || top.qualname != want.qualname || top.line != want.line) {
      os << "frame " << top.qualname << "@" << top.line << " != " << want.qualname << "@" << want.line << "; ";
    }
    if (LocalsMap(top) != want.locals) os << "locals differ; ";
    if (top.locals.size() != want.locals.size()) os << "duplicate locals; ";
    if (top.depth != s.stack.size()) os << "top frame depth " << top.depth << "; ";
  }
  if (s.has_value != want.value.has_value() || (want.value && s.value != *want.value)) os << "value differs; ";
  if (s.changed != want.changed) os << "changed names differ; ";
  if (!want.stack.empty() && want.stack.size() == s.stack.size()) {
    for (size_t k = 0; k < s.stack.size(); ++k) {
      const FrameView& f = s.stack[k];
      FrameModel got{f.file, f.func, f.qualname, f.line, LocalsMap(f)};
      if (!(got == want.stack[k])) {
        os << "stack frame " << k << " (" << f.qualname << "@" << f.line << ") differs from " << want.stack[k].qualname
           << "@" << want.stack[k].line << "; ";
        break;
      }
      if (f.depth != k + 1) os << "stack frame " << k << " has depth " << f.depth << "; ";
    }
  }
  std::string d = os.str();
  if (!d.empty()) d += "\n  want: " + testing::Describe(want);
  return d;
}


// kStepLines and kNextLines: an IDE's steps (Engine::Stops::kLines, DAP's).
enum class Move { kStep, kNext, kFinish, kStepLines, kNextLines };
const char* MoveName(Move m, bool forward) {
  switch (m) {
    case Move::kStep: return forward ? "step" : "reverse step";
    case Move::kNext: return forward ? "next" : "reverse next";
    case Move::kFinish: return forward ? "finish" : "reverse finish";
    case Move::kStepLines: return forward ? "step (lines)" : "reverse step (lines)";
    case Move::kNextLines: return forward ? "next (lines)" : "reverse next (lines)";
  }
  return "?";
}
Status DoMove(Engine& e, Move m, bool forward, uint32_t up = 0) {
  switch (m) {
    case Move::kStep: return e.Step(forward);
    case Move::kNext: return e.Next(forward, up);
    case Move::kFinish: return e.Finish(forward, up);
    case Move::kStepLines: return e.Step(forward, Engine::Stops::kLines);
    case Move::kNextLines: return e.Next(forward, up, Engine::Stops::kLines);
  }
  return Status::Internal("?");
}
std::optional<uint64_t> Expected(const Model& model, Move m, uint64_t pos, bool forward, uint32_t up = 0) {
  switch (m) {
    case Move::kStep: return model.Step(pos, forward);
    case Move::kNext: return model.Next(pos, forward, up);
    case Move::kFinish: return model.Finish(pos, forward, up);
    case Move::kStepLines: return model.Step(pos, forward, Engine::Stops::kLines);
    case Move::kNextLines: return model.Next(pos, forward, up, Engine::Stops::kLines);
  }
  return std::nullopt;
}

// Empty when the move from `from` (the frame `up` levels above its own
// selected) went to `want` (nullopt: NotFound, no move).
std::string MoveDiff(Engine& e, Move m, bool forward, uint64_t from, std::optional<uint64_t> want, uint32_t up = 0) {
  Status g = e.Goto(from);
  if (!g.ok()) return "goto " + std::to_string(from) + ": " + g.ToString();
  Status s = DoMove(e, m, forward, up);
  std::ostringstream os;
  std::string what = MoveName(m, forward) + (up ? " (up " + std::to_string(up) + ")" : std::string());
  if (want) {
    if (!s.ok() || e.position() != *want) {
      os << what << " from " << from << ": want " << *want << ", got "
         << (s.ok() ? std::to_string(e.position()) : s.ToString());
    }
  } else if (s.code() != Status::Code::kNotFound || e.position() != from) {
    os << what << " from " << from << ": want NotFound and no move, got "
       << (s.ok() ? "Ok" : s.ToString()) << " at " << e.position();
  }
  return os.str();
}

// Every move (step, next, finish, and an IDE's step and next; forward and backward) from `from`, checked
// against the model: one message per move that differs; next and finish
// also with each frame below the event's own selected (pdb's `up`). After
// each move the cursor is where that move left it.
std::vector<std::string> MoveDiffs(Engine& e, const Model& m, uint64_t from,
                                   const std::function<void(const std::string&)>& after_move = nullptr) {
  std::vector<std::string> diffs;
  const uint32_t depth = m[from].depth;
  for (Move mv : {Move::kStep, Move::kNext, Move::kFinish, Move::kStepLines, Move::kNextLines}) {
    for (bool fwd : {true, false}) {
      const bool steps = mv == Move::kStep || mv == Move::kStepLines;
      for (uint32_t up = 0; up < (steps ? 1 : depth); ++up) {
        std::string md = MoveDiff(e, mv, fwd, from, Expected(m, mv, from, fwd, up), up);
        if (after_move) after_move(md);
        if (!md.empty()) diffs.push_back(std::move(md));
      }
    }
  }
  return diffs;
}


void ExpectMove(Engine& e, Move m, bool forward, uint64_t from, std::optional<uint64_t> want) {
  std::string d = MoveDiff(e, m, forward, from, want);
  EXPECT_TRUE(d.empty()) << d;
}

StateView StateOf(Engine& e, uint64_t i) {
  auto s = e.StateAt(i);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : StateView();
}

// The state at every event, and every move from it, are the model's.
void ExpectStatesAndMovesMatchModel(Engine& e, const std::vector<Event>& events) {
  Model m(events);
  for (uint64_t i = 0; i < events.size(); ++i) {
    std::string d = StateDiff(StateOf(e, i), events[i]);
    EXPECT_TRUE(d.empty()) << "event " << i << ": " << d;
    for (const auto& md : MoveDiffs(e, m, i)) ADD_FAILURE() << md;
  }
}

// ---------------------------------------------------------------------------
// The ends of the tape

// main() calls helper(); the tape starts on main's call and ends on its return.
class EndsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    {
      Script s;
      uint32_t main = s.Code(1, "main");
      uint32_t helper = s.Code(10, "helper", "helper", {"a"});
      s.b.Call(0, main, 1);
      s.b.Line(0, 2, {{"x", "1"}});
      s.b.Call(0, helper, 10, {{"a", "1"}});
      s.b.Line(0, 11);
      s.b.Return(0, 11, "2");
      s.b.Line(0, 3, {{"y", "2"}});
      s.b.Return(0, 3, "None");
      clean_events_ = s.b.events();
      clean_ = WriteAndOpen(s.b, dir_.File("clean.tape"));
    }
    {
      // Starts inside an adopted module frame, ends inside f().
      Script s;
      uint32_t module = s.Code(1, "<module>");
      uint32_t f = s.Code(20, "f");
      s.b.Adopt(0, module, 5, {{"__name__", "'__main__'"}});
      s.b.Line(0, 6, {{"n", "3"}});
      s.b.Call(0, f, 20, {{"k", "3"}});
      s.b.Line(0, 21);
      s.b.Line(0, 22, {{"k", "4"}});
      cut_events_ = s.b.events();
      cut_ = WriteAndOpen(s.b, dir_.File("cut.tape"));
    }
    ASSERT_NE(clean_, nullptr);
    ASSERT_NE(cut_, nullptr);
  }

  void ExpectNoMoveAt(Engine& e, uint64_t at, bool forward) {
    for (Move m : {Move::kStep, Move::kNext, Move::kFinish}) ExpectMove(e, m, forward, at, std::nullopt);
    TT_ASSERT_OK(e.Goto(at));
    std::string why;
    TT_EXPECT_OK(e.Continue(forward, &why));
    EXPECT_EQ(e.position(), at);
    EXPECT_EQ(why, forward ? "end of the tape" : "start of the tape");
  }

  TempDir dir_;
  std::vector<Event> clean_events_, cut_events_;
  std::unique_ptr<Engine> clean_, cut_;
};

TEST_F(EndsTest, EveryBackwardMoveAtTheFirstEventIsNotFoundAndStays) {
  ASSERT_EQ(clean_->position(), 0u);
  ExpectNoMoveAt(*clean_, 0, false);
  ExpectNoMoveAt(*cut_, 0, false);
}

TEST_F(EndsTest, EveryForwardMoveAtTheLastEventIsNotFoundAndStays) {
  ExpectNoMoveAt(*clean_, clean_->size() - 1, true);
  ExpectNoMoveAt(*cut_, cut_->size() - 1, true);
}

TEST_F(EndsTest, ReverseFinishInAFrameAdoptedBeforeRecordingSaysTheCallIsNotOnTheTape) {
  TT_ASSERT_OK(cut_->Goto(0));
  Status s = cut_->Finish(false);
  EXPECT_EQ(s.code(), Status::Code::kNotFound) << s.ToString();
  EXPECT_NE(s.message().find("not on the tape"), std::string::npos) << s.message();
  EXPECT_EQ(cut_->position(), 0u);
  // From f(), called by the adopted frame: the caller's event before the call.
  ExpectMove(*cut_, Move::kFinish, false, 3, 0);
  ExpectMove(*cut_, Move::kFinish, false, 1, 0);
}

TEST_F(EndsTest, FinishOfAFrameThatNeverReturnsIsNotFound) {
  TT_ASSERT_OK(cut_->Goto(3));
  Status s = cut_->Finish(true);
  EXPECT_EQ(s.code(), Status::Code::kNotFound) << s.ToString();
  EXPECT_EQ(cut_->position(), 3u);
}

TEST_F(EndsTest, ForwardMovesFromTheFirstEventAndBackwardFromTheLast) {
  Model m(clean_events_);
  for (Move mv : {Move::kStep, Move::kNext, Move::kFinish}) {
    ExpectMove(*clean_, mv, true, 0, Expected(m, mv, 0, true));
    ExpectMove(*clean_, mv, false, clean_->size() - 1, Expected(m, mv, clean_->size() - 1, false));
  }
  ExpectMove(*clean_, Move::kStep, true, 0, 1);
  ExpectMove(*clean_, Move::kNext, true, 0, 1);
  ExpectMove(*clean_, Move::kFinish, true, 0, 6);
  ExpectMove(*clean_, Move::kStep, false, 6, 5);
  ExpectMove(*clean_, Move::kNext, false, 6, 5);
  ExpectMove(*clean_, Move::kFinish, false, 6, 0);
}

TEST_F(EndsTest, GotoOutOfRangeIsInvalidArgumentAndDoesNotMove) {
  TT_ASSERT_OK(clean_->Goto(3));
  for (uint64_t bad : {clean_->size(), clean_->size() + 1, uint64_t{1} << 40, UINT64_MAX}) {
    Status s = clean_->Goto(bad);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << bad << ": " << s.ToString();
    EXPECT_EQ(clean_->position(), 3u);
    EXPECT_FALSE(clean_->StateAt(bad).ok()) << bad;
  }
  TT_EXPECT_OK(clean_->Goto(clean_->size() - 1));
  TT_EXPECT_OK(clean_->Goto(0));
}

TEST_F(EndsTest, StateAtEveryEventMatchesTheProgram) {
  for (auto* pair : {&clean_events_, &cut_events_}) {
    Engine& e = pair == &clean_events_ ? *clean_ : *cut_;
    ASSERT_EQ(e.size(), pair->size());
    for (uint64_t i = 0; i < e.size(); ++i) {
      std::string d = StateDiff(StateOf(e, i), (*pair)[i]);
      EXPECT_TRUE(d.empty()) << "event " << i << ": " << d;
    }
  }
  StateView s = StateOf(*clean_, 2);
  ASSERT_EQ(s.stack.size(), 2u);
  EXPECT_EQ(s.stack[1].args, std::vector<std::string>{"a"});
  EXPECT_EQ(s.thread_name, "MainThread");
}

TEST_F(EndsTest, AReturnEventStillShowsTheReturningFrame) {
  StateView s = StateOf(*clean_, 4);
  EXPECT_EQ(s.kind, EventKind::kReturn);
  ASSERT_EQ(s.stack.size(), 2u);
  EXPECT_EQ(s.stack.back().func, "helper");
  EXPECT_TRUE(s.has_value);
  EXPECT_EQ(s.value, "2");
  s = StateOf(*clean_, 6);
  ASSERT_EQ(s.stack.size(), 1u);
  EXPECT_EQ(s.stack.back().func, "main");
  EXPECT_EQ(s.value, "None");
}

TEST_F(EndsTest, StateAndEvalFollowTheCursor) {
  TT_ASSERT_OK(clean_->Goto(3));
  auto st = clean_->State();
  TT_ASSERT_OK(st);
  EXPECT_EQ(st->index, 3u);
  auto v = clean_->Eval("a + 1");
  TT_ASSERT_OK(v);
  EXPECT_EQ(v->integer, 2);
  v = clean_->Eval("x * 10", 1);  // main's locals, one frame up
  TT_ASSERT_OK(v);
  EXPECT_EQ(v->integer, 10);
  EXPECT_FALSE(clean_->Eval("x", 2).ok());
  v = clean_->Eval("x");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message().rfind("NameError", 0), 0u) << v.status().message();
}

TEST_F(EndsTest, SourceLinesComeFromTheTape) {
  const auto* lines = clean_->SourceLines(kAppPath);
  ASSERT_NE(lines, nullptr);
  ASSERT_EQ(lines->size(), 120u);
  EXPECT_EQ((*lines)[0], "x = 1  # line 1");
  EXPECT_EQ(clean_->SourceLines("/not/recorded.py"), nullptr);
}

// ---------------------------------------------------------------------------
// Deep recursion

// main() calls sumto(kDepth): sumto(n) = n + sumto(n - 1), sumto(1) = 1.
//   10 def sumto(n):
//   11     if n <= 1:
//   12         return 1
//   13     r = n + sumto(n - 1)
//   14     return r
class RecursionTest : public ::testing::Test {
 protected:
  static constexpr int kDepth = 25;  // frames of sumto, under main

  void SetUp() override {
    Script s;
    uint32_t main = s.Code(1, "main");
    uint32_t sumto = s.Code(10, "sumto", "sumto", {"n"});
    s.b.Call(0, main, 1);
    main_line2_ = s.next();
    s.b.Line(0, 2);
    std::function<void(int)> rec = [&](int n) {
      Level lv;
      lv.call = s.next();
      s.b.Call(0, sumto, 10, {{"n", std::to_string(n)}});
      lv.line11 = s.next();
      s.b.Line(0, 11);
      if (n <= 1) {
        lv.line13 = s.next();
        s.b.Line(0, 12);
        lv.line14 = lv.line13;
        lv.ret = s.next();
        s.b.Return(0, 12, "1");
      } else {
        lv.line13 = s.next();
        s.b.Line(0, 13);
        levels_.push_back(lv);
        size_t me = levels_.size() - 1;
        rec(n - 1);
        levels_[me].line14 = s.next();
        s.b.Line(0, 14, {{"r", std::to_string(n * (n + 1) / 2)}});
        levels_[me].ret = s.next();
        s.b.Return(0, 14, std::to_string(n * (n + 1) / 2));
        return;
      }
      levels_.push_back(lv);
    };
    rec(kDepth);
    main_line3_ = s.next();
    s.b.Line(0, 3, {{"total", std::to_string(kDepth * (kDepth + 1) / 2)}});
    s.b.Return(0, 3, "None");
    events_ = s.b.events();
    engine_ = WriteAndOpen(s.b, dir_.File("rec.tape"));
    ASSERT_NE(engine_, nullptr);
    ASSERT_EQ(levels_.size(), static_cast<size_t>(kDepth));
  }

  struct Level {  // events of one sumto frame; for the base case line13 = line14 = its line 12
    uint64_t call = 0, line11 = 0, line13 = 0, line14 = 0, ret = 0;
  };
  TempDir dir_;
  std::vector<Event> events_;
  std::vector<Level> levels_;  // outermost first: levels_[k] is at depth k + 2
  uint64_t main_line2_ = 0, main_line3_ = 0;
  std::unique_ptr<Engine> engine_;
};

TEST_F(RecursionTest, FinishAtEveryLevelLandsOnThatLevelsReturn) {
  for (size_t k = 0; k < levels_.size(); ++k) {
    const Level& lv = levels_[k];
    for (uint64_t from : {lv.call, lv.line11, lv.line13, lv.line14}) ExpectMove(*engine_, Move::kFinish, true, from, lv.ret);
    StateView s = StateOf(*engine_, lv.ret);
    EXPECT_EQ(s.stack.size(), k + 2);
    EXPECT_EQ(s.value, std::to_string((kDepth - k) * (kDepth - k + 1) / 2));
    // On a return, finish goes on to the caller's return.
    ExpectMove(*engine_, Move::kFinish, true, lv.ret, k == 0 ? events_.size() - 1 : levels_[k - 1].ret);
  }
}

TEST_F(RecursionTest, ReverseFinishAtEveryLevelLandsOnTheCallersLastEventBeforeTheCall) {
  for (size_t k = 0; k < levels_.size(); ++k) {
    const Level& lv = levels_[k];
    uint64_t caller_last = k == 0 ? main_line2_ : levels_[k - 1].line13;
    for (uint64_t from : {lv.call, lv.line11, lv.line13, lv.line14, lv.ret}) {
      ExpectMove(*engine_, Move::kFinish, false, from, caller_last);
    }
  }
  // At depth 1: the call itself.
  ExpectMove(*engine_, Move::kFinish, false, main_line3_, 0);
}

TEST_F(RecursionTest, NextStepsOverTheRecursiveCallInBothDirections) {
  for (size_t k = 0; k + 1 < levels_.size(); ++k) {
    const Level& lv = levels_[k];
    ExpectMove(*engine_, Move::kNext, true, lv.line13, lv.line14);
    ExpectMove(*engine_, Move::kNext, false, lv.line14, lv.line13);
    ExpectMove(*engine_, Move::kStep, true, lv.line13, levels_[k + 1].call);
    // Stepping back from after the call lands on the callee's return (an
    // IDE's step: its last line).
    ExpectMove(*engine_, Move::kStep, false, lv.line14, levels_[k + 1].ret);
    ExpectMove(*engine_, Move::kStepLines, false, lv.line14, levels_[k + 1].line14);
  }
  ExpectMove(*engine_, Move::kNext, true, main_line2_, main_line3_);
  ExpectMove(*engine_, Move::kNext, false, main_line3_, main_line2_);
  // From the bottom, next stops at the frame's return, then the caller's
  // next line; an IDE's next goes to that line at once.
  const Level& base = levels_.back();
  const Level& above = levels_[levels_.size() - 2];
  ExpectMove(*engine_, Move::kNext, true, base.line13, base.ret);
  ExpectMove(*engine_, Move::kNext, true, base.ret, above.line14);
  ExpectMove(*engine_, Move::kNextLines, true, base.line13, above.line14);
}

TEST_F(RecursionTest, StateAtTheBottomShowsEveryLevelOutermostFirst) {
  const Level& base = levels_.back();
  StateView s = StateOf(*engine_, base.line13);
  ASSERT_EQ(s.stack.size(), static_cast<size_t>(kDepth + 1));
  EXPECT_EQ(s.stack[0].func, "main");
  for (int k = 0; k < kDepth; ++k) {
    const FrameView& f = s.stack[k + 1];
    EXPECT_EQ(f.func, "sumto");
    EXPECT_EQ(f.depth, static_cast<uint32_t>(k + 2));
    EXPECT_EQ(f.line, k + 1 == kDepth ? 12 : 13);
    EXPECT_EQ(LocalsMap(f), (std::map<std::string, std::string>{{"n", std::to_string(kDepth - k)}}));
  }
  TT_ASSERT_OK(engine_->Goto(base.line13));
  auto v = engine_->Eval("n", 1);
  TT_ASSERT_OK(v);
  EXPECT_EQ(v->integer, 2);
}

TEST_F(RecursionTest, EveryMoveFromEveryEventMatchesTheModel) {
  ExpectStatesAndMovesMatchModel(*engine_, events_);
}

TEST_F(RecursionTest, WhenListsTheChangesOfOneRecursiveFrameOnly) {
  const Level& lv = levels_[3];
  TT_ASSERT_OK(engine_->Goto(lv.line14));
  auto w = engine_->When("n");
  TT_ASSERT_OK(w);
  EXPECT_EQ(*w, (std::vector<std::pair<uint64_t, std::string>>{{lv.call, std::to_string(kDepth - 3)}}));
  w = engine_->When("r");
  TT_ASSERT_OK(w);
  EXPECT_EQ(*w, (std::vector<std::pair<uint64_t, std::string>>{
                    {lv.line14, std::to_string((kDepth - 3) * (kDepth - 2) / 2)}}));
}

TEST_F(RecursionTest, FunctionBreakpointStopsAtEachRecursiveCall) {
  auto id = engine_->AddBreakpoint("sumto", "n == 7", false);
  TT_ASSERT_OK(id);
  std::string why;
  TT_ASSERT_OK(engine_->Continue(true, &why));
  EXPECT_EQ(engine_->position(), levels_[kDepth - 7].call) << why;
  EXPECT_NE(why.find("Breakpoint " + std::to_string(*id)), std::string::npos) << why;
  TT_ASSERT_OK(engine_->SetCondition(*id, ""));
  std::vector<uint64_t> hits;
  while (true) {
    TT_ASSERT_OK(engine_->Continue(true, &why));
    if (why == "end of the tape") break;
    hits.push_back(engine_->position());
  }
  std::vector<uint64_t> want;
  for (size_t k = kDepth - 6; k < levels_.size(); ++k) want.push_back(levels_[k].call);
  EXPECT_EQ(hits, want);
  EXPECT_EQ(engine_->position(), engine_->size() - 1);
  EXPECT_EQ(engine_->breakpoints()[0].hits, static_cast<uint64_t>(1 + want.size()));
}

// ---------------------------------------------------------------------------
// Generators

// main() iterates gen(3): every resume is a call event, every yield a return.
//    1 def main():
//    2     total = 0
//    3     for v in gen(3):
//    4         total += v
//    5     return total
//   20 def gen(n):
//   21     for i in range(n):
//   22         yield i * 10
//   23     return
class GeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Script s;
    uint32_t main = s.Code(1, "main");
    uint32_t gen = s.Code(20, "gen", "gen", {"n"});
    s.b.Call(0, main, 1);                               // 0
    s.b.Line(0, 2);                                     // 1
    s.b.Line(0, 3, {{"total", "0"}});                   // 2
    int total = 0;
    for (int r = 0; r <= 3; ++r) {
      Resume rs;
      rs.call = s.next();
      if (r == 0) {
        s.b.Call(0, gen, 20, {{"n", "3"}});
      } else {
        // A resumed frame comes back with its locals.
        s.b.Call(0, gen, 22, {{"n", "3"}, {"i", std::to_string(r - 1)}});
      }
      rs.first_line = s.next();
      if (r < 3) {
        s.b.Line(0, 21, {{"i", std::to_string(r)}});
        rs.last_line = s.next();
        s.b.Line(0, 22);
        rs.yield = s.next();
        s.b.Return(0, 22, std::to_string(r * 10));
        total += r * 10;
        rs.main_line4 = s.next();
        s.b.Line(0, 4, {{"v", std::to_string(r * 10)}});
        rs.main_line3 = s.next();
        s.b.Line(0, 3, {{"total", std::to_string(total)}});
      } else {
        s.b.Line(0, 21);
        rs.last_line = s.next();
        s.b.Line(0, 23);
        rs.yield = s.next();
        s.b.Return(0, 23, "None");
      }
      resumes_.push_back(rs);
    }
    main_line5_ = s.next();
    s.b.Line(0, 5);
    s.b.Return(0, 5, std::to_string(total));
    events_ = s.b.events();
    engine_ = WriteAndOpen(s.b, dir_.File("gen.tape"));
    ASSERT_NE(engine_, nullptr);
  }

  struct Resume {
    uint64_t call = 0, first_line = 0, last_line = 0, yield = 0, main_line4 = 0, main_line3 = 0;
  };
  TempDir dir_;
  std::vector<Event> events_;
  std::vector<Resume> resumes_;
  uint64_t main_line5_ = 0;
  std::unique_ptr<Engine> engine_;
};

TEST_F(GeneratorTest, FinishInsideAResumedGeneratorLandsOnItsYield) {
  for (size_t r = 0; r < resumes_.size(); ++r) {
    const Resume& rs = resumes_[r];
    for (uint64_t from : {rs.call, rs.first_line, rs.last_line}) ExpectMove(*engine_, Move::kFinish, true, from, rs.yield);
    StateView s = StateOf(*engine_, rs.yield);
    EXPECT_EQ(s.stack.size(), 2u);
    EXPECT_EQ(s.stack.back().func, "gen");
    EXPECT_EQ(s.value, r < 3 ? std::to_string(r * 10) : "None");
  }
}

TEST_F(GeneratorTest, ReverseFinishInsideAResumeLandsInMainBeforeThatResume) {
  ExpectMove(*engine_, Move::kFinish, false, resumes_[0].last_line, 2);
  for (size_t r = 1; r < resumes_.size(); ++r) {
    ExpectMove(*engine_, Move::kFinish, false, resumes_[r].last_line, resumes_[r - 1].main_line3);
    ExpectMove(*engine_, Move::kFinish, false, resumes_[r].call, resumes_[r - 1].main_line3);
  }
}

TEST_F(GeneratorTest, StepBackAcrossResumesVisitsEveryEventOfTheThread) {
  // pdb's step: every event, the yields' returns included; an IDE's: every
  // line and call.
  for (Engine::Stops stops : {Engine::Stops::kFrameEnds, Engine::Stops::kLines}) {
    const bool returns = stops == Engine::Stops::kFrameEnds;
    auto stop = [&](uint64_t i) { return returns || events_[i].kind != kReturn; };
    TT_ASSERT_OK(engine_->Goto(resumes_[2].last_line));
    std::vector<uint64_t> got{engine_->position()};
    while (engine_->Step(false, stops).ok()) got.push_back(engine_->position());
    std::vector<uint64_t> want;
    for (uint64_t i = resumes_[2].last_line + 1; i-- > 0;) {
      if (stop(i)) want.push_back(i);
    }
    EXPECT_EQ(got, want);
    // Including the resume calls themselves, and with pdb's, the yields.
    EXPECT_NE(std::find(got.begin(), got.end(), resumes_[1].call), got.end());
    EXPECT_NE(std::find(got.begin(), got.end(), resumes_[2].call), got.end());
    EXPECT_EQ(std::find(got.begin(), got.end(), resumes_[1].yield) != got.end(), returns);
    // And forward again to the end.
    std::vector<uint64_t> fwd{engine_->position()};
    while (engine_->Step(true, stops).ok()) fwd.push_back(engine_->position());
    std::vector<uint64_t> want_fwd;
    for (uint64_t i = 0; i < events_.size(); ++i) {
      if (stop(i)) want_fwd.push_back(i);
    }
    EXPECT_EQ(fwd, want_fwd);
  }
}

TEST_F(GeneratorTest, NextInMainStepsOverEveryResume) {
  std::vector<uint64_t> want{2};
  for (size_t r = 0; r < 3; ++r) {
    want.push_back(resumes_[r].main_line4);
    want.push_back(resumes_[r].main_line3);
  }
  want.push_back(main_line5_);
  want.push_back(main_line5_ + 1);  // main's return
  TT_ASSERT_OK(engine_->Goto(2));
  std::vector<uint64_t> got{2};
  while (engine_->Next(true).ok()) got.push_back(engine_->position());
  EXPECT_EQ(got, want);
  std::vector<uint64_t> back{engine_->position()};
  while (engine_->Next(false).ok() && engine_->position() >= 2) back.push_back(engine_->position());
  std::reverse(want.begin(), want.end());
  EXPECT_EQ(back, want);
  // From inside the generator, next stops at its yield (the run's return),
  // then continues in main; an IDE's next goes to main at once.
  ExpectMove(*engine_, Move::kNext, true, resumes_[1].last_line, resumes_[1].yield);
  ExpectMove(*engine_, Move::kNext, true, resumes_[1].yield, resumes_[1].main_line4);
  ExpectMove(*engine_, Move::kNextLines, true, resumes_[1].last_line, resumes_[1].main_line4);
}

TEST_F(GeneratorTest, EveryMoveFromEveryEventMatchesTheModel) {
  ExpectStatesAndMovesMatchModel(*engine_, events_);
}

TEST_F(GeneratorTest, WatchStopsWhereTheNameChangesInBothDirections) {
  TT_ASSERT_OK(engine_->Goto(2));
  auto id = engine_->AddWatch("v");  // bound later in main's frame
  TT_ASSERT_OK(id);
  std::vector<uint64_t> want{resumes_[0].main_line4, resumes_[1].main_line4, resumes_[2].main_line4};
  std::vector<uint64_t> got;
  std::string why;
  while (true) {
    TT_ASSERT_OK(engine_->Continue(true, &why));
    if (why == "end of the tape") break;
    EXPECT_NE(why.find("Watchpoint " + std::to_string(*id)), std::string::npos) << why;
    EXPECT_NE(why.find("v"), std::string::npos) << why;
    got.push_back(engine_->position());
  }
  EXPECT_EQ(got, want);
  EXPECT_EQ(engine_->position(), engine_->size() - 1);
  got.clear();
  while (true) {
    TT_ASSERT_OK(engine_->Continue(false, &why));
    if (why == "start of the tape") break;
    got.push_back(engine_->position());
  }
  std::reverse(want.begin(), want.end());
  EXPECT_EQ(got, want);
  EXPECT_EQ(engine_->position(), 0u);
  TT_EXPECT_OK(engine_->ClearWatch(*id));
  EXPECT_TRUE(engine_->watches().empty());
  EXPECT_FALSE(engine_->ClearWatch(*id).ok());
}

TEST_F(GeneratorTest, WatchInsideAResumeCoversThatResumeOnly) {
  TT_ASSERT_OK(engine_->Goto(resumes_[1].first_line));
  auto id = engine_->AddWatch("i");
  TT_ASSERT_OK(id);
  std::string why;
  TT_ASSERT_OK(engine_->Continue(false, &why));
  EXPECT_EQ(engine_->position(), resumes_[1].call) << why;  // the resume restored i
  TT_ASSERT_OK(engine_->Continue(false, &why));
  EXPECT_EQ(why, "start of the tape");
  TT_ASSERT_OK(engine_->Goto(resumes_[1].call));
  TT_ASSERT_OK(engine_->Continue(true, &why));
  EXPECT_EQ(engine_->position(), resumes_[1].first_line) << why;
  TT_ASSERT_OK(engine_->Continue(true, &why));
  EXPECT_EQ(why, "end of the tape");
}

TEST_F(GeneratorTest, WhenListsChangesInTheCurrentFrame) {
  TT_ASSERT_OK(engine_->Goto(main_line5_));
  auto w = engine_->When("total");
  TT_ASSERT_OK(w);
  EXPECT_EQ(*w, (std::vector<std::pair<uint64_t, std::string>>{{2, "0"},
                                                               {resumes_[0].main_line3, "0"},
                                                               {resumes_[1].main_line3, "10"},
                                                               {resumes_[2].main_line3, "30"}}));
  TT_ASSERT_OK(engine_->Goto(resumes_[2].last_line));
  w = engine_->When("i");
  TT_ASSERT_OK(w);
  EXPECT_EQ(*w, (std::vector<std::pair<uint64_t, std::string>>{{resumes_[2].call, "1"}, {resumes_[2].first_line, "2"}}));
  w = engine_->When("nothing");
  TT_ASSERT_OK(w);
  EXPECT_TRUE(w->empty());
}

// ---------------------------------------------------------------------------
// Exceptions

// main() catches a KeyError in safe(), then calls a() -> b() -> c(), and c
// raises a ValueError that unwinds a, b and c into main.
//   30 def main():      50 def safe():       40 def a():     43 def b():     46 def c(x):
//   31     try:         51   try: d['k']     41   b()        44   c(5)       47   raise ValueError('bad')
//   32       safe()     52   except KeyError:
//   33       a()        53     return
//   34   except ValueError as e:
//   35     return
struct ExceptionProgram {
  Script s;
  uint64_t raise = 0, c_return = 0, b_exc = 0, b_return = 0, a_exc = 0, a_return = 0, main_exc = 0, a_line = 0,
           b_line = 0, c_line = 0, main_line33 = 0, main_after = 0, main_return = 0, safe_exc = 0;

  // `caught`: main catches it (lines 34, 35); else it leaves main. `boundary`:
  // a chunk boundary right after main's exception event, with events of
  // another thread around it.
  explicit ExceptionProgram(bool caught, bool boundary = false, bool later_exception_on_thread1 = false) {
    uint32_t main = s.Code(30, "main");
    uint32_t safe = s.Code(50, "safe");
    uint32_t a = s.Code(40, "a");
    uint32_t b = s.Code(43, "b");
    uint32_t c = s.Code(46, "c", "c", {"x"});
    uint32_t worker = s.Code(60, "worker");
    s.Thread(1, "worker-1");
    s.b.Call(0, main, 30);
    s.b.Line(0, 31);
    s.b.Line(0, 32);
    s.b.Call(1, worker, 60);
    s.b.Call(0, safe, 50);
    s.b.Line(0, 51);
    safe_exc = s.next();
    s.b.Exception(0, 51, "KeyError: 'k'");
    s.b.Line(0, 52);
    s.b.Line(0, 53);
    s.b.Return(0, 53, "None");
    main_line33 = s.next();
    s.b.Line(0, 33);
    s.b.Call(0, a, 40);
    a_line = s.next();
    s.b.Line(0, 41);
    s.b.Line(1, 61, {{"i", "0"}});
    s.b.Call(0, b, 43);
    b_line = s.next();
    s.b.Line(0, 44);
    s.b.Call(0, c, 46, {{"x", "5"}});
    c_line = s.next();
    s.b.Line(0, 47);
    raise = s.next();
    s.b.Exception(0, 47, "ValueError: bad");
    c_return = s.next();
    s.b.Return(0, 47, std::nullopt);
    b_exc = s.next();
    s.b.Exception(0, 44, "ValueError: bad");
    s.b.Line(1, 61, {{"i", "1"}});
    b_return = s.next();
    s.b.Return(0, 44, std::nullopt);
    a_exc = s.next();
    s.b.Exception(0, 41, "ValueError: bad");
    a_return = s.next();
    s.b.Return(0, 41, std::nullopt);
    main_exc = s.next();
    s.b.Exception(0, 33, "ValueError: bad");
    if (boundary) {
      s.b.Line(1, 61, {{"i", "2"}});
      s.b.ChunkBoundary();
      s.b.Line(1, 61, {{"i", "3"}});
    }
    if (caught) {
      main_after = s.next();
      s.b.Line(0, 34, {{"e", "ValueError('bad')"}});
      s.b.Line(0, 35);
      main_return = s.next();
      s.b.Return(0, 35, "None");
    } else {
      main_return = s.next();
      s.b.Return(0, 33, std::nullopt);
    }
    s.b.Line(1, 62);
    if (later_exception_on_thread1) {
      s.b.Line(1, 63);
      s.b.Exception(1, 63, "OSError: [Errno 2] No such file or directory");
      s.b.Line(1, 64);
    }
    s.b.Return(1, 65, "None");
  }
};

TEST(ExceptionTest, ExceptionEventIsTheInnermostRaiseOfTheLastException) {
  ExceptionProgram p(/*caught=*/true);
  TempDir dir;
  auto e = WriteAndOpen(p.s.b, dir.File("caught.tape"));
  ASSERT_NE(e, nullptr);
  auto ev = e->ExceptionEvent();
  TT_ASSERT_OK(ev);
  EXPECT_EQ(*ev, p.raise);
  StateView s = StateOf(*e, *ev);
  EXPECT_EQ(s.kind, EventKind::kException);
  EXPECT_EQ(s.value, "ValueError: bad");
  ASSERT_EQ(s.stack.size(), 4u);
  EXPECT_EQ(s.stack.back().func, "c");
}

TEST(ExceptionTest, ExceptionThatEndedTheRunIsPreferredToALaterCaughtOne) {
  ExceptionProgram p(/*caught=*/false, /*boundary=*/false, /*later_exception_on_thread1=*/true);
  TempDir dir;
  auto e = WriteAndOpen(p.s.b, dir.File("uncaught.tape"), /*exit_status=*/1);
  ASSERT_NE(e, nullptr);
  auto ev = e->ExceptionEvent();
  TT_ASSERT_OK(ev);
  EXPECT_EQ(*ev, p.raise);
}

TEST(ExceptionTest, ExceptionThatEndedTheRunIsFoundAcrossAChunkBoundary) {
  // main's exception event and its return are in different chunks, with
  // another thread's events in between.
  ExceptionProgram p(/*caught=*/false, /*boundary=*/true, /*later_exception_on_thread1=*/true);
  TempDir dir;
  auto e = WriteAndOpen(p.s.b, dir.File("boundary.tape"), /*exit_status=*/1);
  ASSERT_NE(e, nullptr);
  ASSERT_NE(e->tape().ChunkFor(p.main_exc), e->tape().ChunkFor(p.main_return));
  auto ev = e->ExceptionEvent();
  TT_ASSERT_OK(ev);
  EXPECT_EQ(*ev, p.raise) << "got event " << *ev << " (" << StateOf(*e, *ev).value << ")";
}

TEST(ExceptionTest, ExceptionAtTheEndOfAnIncompleteTapeEndedTheRun) {
  // The process died while main's exception was propagating out of main:
  // the tape stops after main's exception event, with no return.
  TempDir dir;
  Script s;
  uint32_t main = s.Code(30, "main");
  uint32_t a = s.Code(40, "a");
  uint32_t b = s.Code(43, "b");
  s.Thread(1, "worker-1");
  uint32_t worker = s.Code(60, "worker");
  s.b.Call(0, main, 30);
  s.b.Line(0, 33);
  s.b.Call(1, worker, 60);
  s.b.Line(1, 61);
  s.b.Exception(1, 61, "KeyError: 'caught later'");
  s.b.Line(1, 62);
  s.b.Call(0, a, 40);
  s.b.Line(0, 41);
  s.b.Call(0, b, 43);
  s.b.Line(0, 44);
  uint64_t raise = s.next();
  s.b.Exception(0, 44, "RuntimeError: boom");
  s.b.Return(0, 44, std::nullopt);
  s.b.Exception(0, 41, "RuntimeError: boom");
  s.b.Return(0, 41, std::nullopt);
  s.b.Line(1, 63);
  s.b.Exception(0, 33, "RuntimeError: boom");
  s.b.ChunkBoundary();
  s.b.Line(1, 64);  // a chunk that the cut drops
  std::string path = dir.File("died.tape");
  auto full = WriteAndOpen(s.b, path, 1);
  ASSERT_NE(full, nullptr);
  CutAfterChunks(path, full->tape().chunks().size() - 1, dir.File("cut.tape"));
  auto e = Engine::Open(dir.File("cut.tape"));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  ASSERT_FALSE((*e)->tape().complete());
  auto ev = (*e)->ExceptionEvent();
  TT_ASSERT_OK(ev);
  EXPECT_EQ(*ev, raise);
}

TEST(ExceptionTest, NoExceptionIsNotFound) {
  Script s;
  uint32_t main = s.Code(1, "main");
  s.b.Call(0, main, 1);
  s.b.Line(0, 2);
  s.b.Return(0, 2, "None");
  TempDir dir;
  auto e = WriteAndOpen(s.b, dir.File("none.tape"));
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->ExceptionEvent().status().code(), Status::Code::kNotFound);
}

TEST(ExceptionTest, StepNextAndFinishAroundTheRaise) {
  ExceptionProgram p(/*caught=*/true);
  TempDir dir;
  auto e = WriteAndOpen(p.s.b, dir.File("caught.tape"));
  ASSERT_NE(e, nullptr);
  // As pdb: step and next stop where the exception is raised, then at each
  // unwinding return (pdb's `--Return--`) and caller it propagates into
  // (step: every frame's; next: those of the frame and its callers), then
  // at the handler. The other thread's events in between are not stops.
  ExpectMove(*e, Move::kStep, true, p.c_line, p.raise);
  ExpectMove(*e, Move::kStep, true, p.raise, p.c_return);
  ExpectMove(*e, Move::kStep, true, p.c_return, p.b_exc);
  ExpectMove(*e, Move::kStep, true, p.b_exc, p.b_return);
  ExpectMove(*e, Move::kStep, true, p.b_return, p.a_exc);
  ExpectMove(*e, Move::kStep, true, p.a_exc, p.a_return);
  ExpectMove(*e, Move::kStep, true, p.a_return, p.main_exc);
  ExpectMove(*e, Move::kStep, true, p.main_exc, p.main_after);
  ExpectMove(*e, Move::kNext, true, p.c_line, p.raise);
  ExpectMove(*e, Move::kNext, true, p.raise, p.c_return);
  ExpectMove(*e, Move::kNext, true, p.c_return, p.b_exc);  // c has returned: its caller
  ExpectMove(*e, Move::kNext, true, p.b_line, p.b_exc);    // over c, to where it raised in b
  ExpectMove(*e, Move::kNext, true, p.b_exc, p.b_return);
  ExpectMove(*e, Move::kNext, true, p.main_line33, p.main_exc);
  ExpectMove(*e, Move::kNext, true, p.main_exc, p.main_after);
  // Backward, the same stops in reverse (a frame's call is a stop of next
  // as its return is going forward).
  ExpectMove(*e, Move::kStep, false, p.main_after, p.main_exc);
  ExpectMove(*e, Move::kStep, false, p.main_exc, p.a_return);
  ExpectMove(*e, Move::kStep, false, p.b_exc, p.c_return);
  ExpectMove(*e, Move::kStep, false, p.c_return, p.raise);
  ExpectMove(*e, Move::kStep, false, p.raise, p.c_line);
  ExpectMove(*e, Move::kNext, false, p.main_after, p.main_exc);
  ExpectMove(*e, Move::kNext, false, p.main_exc, p.main_line33);
  ExpectMove(*e, Move::kNext, false, p.b_exc, p.b_line);
  ExpectMove(*e, Move::kNext, false, p.c_return, p.raise);
  ExpectMove(*e, Move::kNext, false, p.c_line, p.c_line - 1);  // c's own call
  // An IDE's steps (DAP's) pass over the returns.
  ExpectMove(*e, Move::kStepLines, true, p.raise, p.b_exc);
  ExpectMove(*e, Move::kStepLines, true, p.b_exc, p.a_exc);
  ExpectMove(*e, Move::kStepLines, true, p.a_exc, p.main_exc);
  ExpectMove(*e, Move::kNextLines, true, p.raise, p.b_exc);
  ExpectMove(*e, Move::kStepLines, false, p.b_exc, p.raise);
  ExpectMove(*e, Move::kNextLines, false, p.c_line, p.b_line);
  // With main's frame selected (two levels above c's), next and reverse next
  // stay in main.
  TT_ASSERT_OK(e->Goto(p.raise));
  TT_ASSERT_OK(e->Next(true, 3));
  EXPECT_EQ(e->position(), p.main_exc);
  TT_ASSERT_OK(e->Goto(p.raise));
  TT_ASSERT_OK(e->Next(false, 3));
  EXPECT_EQ(e->position(), p.main_line33);
  // Finish walks out one frame at a time through the unwinding returns.
  ExpectMove(*e, Move::kFinish, true, p.c_line, p.c_return);
  ExpectMove(*e, Move::kFinish, true, p.raise, p.c_return);
  ExpectMove(*e, Move::kFinish, true, p.c_return, p.b_return);
  ExpectMove(*e, Move::kFinish, true, p.b_exc, p.b_return);
  ExpectMove(*e, Move::kFinish, true, p.b_return, p.a_return);
  ExpectMove(*e, Move::kFinish, true, p.a_return, p.main_return);
  ExpectMove(*e, Move::kFinish, true, p.main_exc, p.main_return);
  // Reverse finish from the raise: b's last event before it called c.
  ExpectMove(*e, Move::kFinish, false, p.raise, p.b_line);
  ExpectMove(*e, Move::kFinish, false, p.b_exc, p.a_line);  // a thread-1 event lies in between
  StateView s = StateOf(*e, p.c_return);
  EXPECT_EQ(s.kind, EventKind::kReturn);
  EXPECT_FALSE(s.has_value);
  ASSERT_EQ(s.stack.size(), 4u);
  EXPECT_EQ(s.stack.back().func, "c");
  EXPECT_EQ(LocalsMap(s.stack.back()), (std::map<std::string, std::string>{{"x", "5"}}));

  Model m(p.s.b.events());
  for (uint64_t i = 0; i < e->size(); ++i) {
    std::string d = StateDiff(StateOf(*e, i), p.s.b.events()[i]);
    EXPECT_TRUE(d.empty()) << "event " << i << ": " << d;
    for (Move mv : {Move::kStep, Move::kNext, Move::kFinish}) {
      for (bool fwd : {true, false}) {
        std::string md = MoveDiff(*e, mv, fwd, i, Expected(m, mv, i, fwd));
        EXPECT_TRUE(md.empty()) << md;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Threads

// Three threads run worker(k) interleaved pseudo-randomly:
//   60 def worker(k):
//   61     for i in range(4):
//   62         acc = helper(i)
//   63         if k == 2 and i == 3:
//   65             rare()              (only thread 2 gets here)
//   66     return acc
//   70 def helper(v):
//   71     return v * 2
class ThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uint32_t worker = s_.Code(60, "worker", "worker", {"k"});
    uint32_t helper = s_.Code(70, "helper", "Tools.helper", {"v"});
    s_.Thread(1, "worker-1");
    s_.Thread(2, "worker-2");
    std::vector<std::vector<std::function<void()>>> scripts(3);
    for (uint32_t t = 0; t < 3; ++t) {
      auto& sc = scripts[t];
      RecordingBuilder& b = s_.b;
      sc.push_back([&b, t, worker] { b.Call(t, worker, 60, {{"k", std::to_string(t)}}); });
      for (int i = 0; i < 4; ++i) {
        sc.push_back([&b, t, i] { b.Line(t, 61, {{"i", std::to_string(i)}}); });
        sc.push_back([&b, t] { b.Line(t, 62); });
        sc.push_back([&b, t, helper, i] { b.Call(t, helper, 70, {{"v", std::to_string(i)}}); });
        sc.push_back([&b, t] { b.Line(t, 71); });
        sc.push_back([&b, t, i] { b.Return(t, 71, std::to_string(i * 2)); });
        sc.push_back([&b, t, i] { b.Line(t, 63, {{"acc", std::to_string(i * 2)}}); });
        if (t == 2 && i == 3) {
          sc.push_back([this, &b, t] {
            rare_ = s_.next();
            b.Line(t, 65);
          });
        }
      }
      sc.push_back([&b, t] { b.Line(t, 66); });
      sc.push_back([&b, t] { b.Return(t, 66, "6"); });
    }
    std::mt19937 rng(7);
    std::vector<size_t> next(3, 0);
    while (true) {
      std::vector<uint32_t> live;
      for (uint32_t t = 0; t < 3; ++t) {
        if (next[t] < scripts[t].size()) live.push_back(t);
      }
      if (live.empty()) break;
      uint32_t t = live[rng() % live.size()];
      scripts[t][next[t]++]();
    }
    events_ = s_.b.events();
    engine_ = WriteAndOpen(s_.b, dir_.File("threads.tape"));
    ASSERT_NE(engine_, nullptr);
  }

  Script s_;
  TempDir dir_;
  std::vector<Event> events_;
  uint64_t rare_ = 0;
  std::unique_ptr<Engine> engine_;
};

TEST_F(ThreadsTest, MovesNeverLeaveTheCurrentThread) {
  Model m(events_);
  for (uint64_t i = 0; i < events_.size(); ++i) {
    auto diffs = MoveDiffs(*engine_, m, i, [&](const std::string& md) {
      if (md.empty()) EXPECT_EQ(events_[engine_->position()].thread, events_[i].thread);
    });
    for (const auto& md : diffs) ADD_FAILURE() << md;
  }
}

TEST_F(ThreadsTest, StateShowsOnlyTheEventsThreadAndItsName) {
  for (uint64_t i = 0; i < events_.size(); ++i) {
    StateView s = StateOf(*engine_, i);
    std::string d = StateDiff(s, events_[i]);
    EXPECT_TRUE(d.empty()) << "event " << i << ": " << d;
    EXPECT_EQ(s.thread_name, events_[i].thread == 0 ? "MainThread" : "worker-" + std::to_string(events_[i].thread));
  }
}

TEST_F(ThreadsTest, BreakpointsHitOnAnyThread) {
  // From the first event (thread 0), a line only thread 2 runs.
  ASSERT_EQ(events_[0].thread, 0u);
  auto id = engine_->AddBreakpoint("app.py:65", "", false);
  TT_ASSERT_OK(id);
  std::string why;
  TT_ASSERT_OK(engine_->Continue(true, &why));
  EXPECT_EQ(engine_->position(), rare_) << why;
  EXPECT_EQ(why, "Breakpoint " + std::to_string(*id) + " at " + kAppPath + ":65");
  // The cursor is now on thread 2: moves follow it.
  TT_ASSERT_OK(engine_->Step(true));
  EXPECT_EQ(events_[engine_->position()].thread, 2u);
  EXPECT_EQ(events_[engine_->position()].line, 66);
  // Backward from the end, on another thread.
  TT_ASSERT_OK(engine_->Goto(engine_->size() - 1));
  TT_ASSERT_OK(engine_->Continue(false, &why));
  EXPECT_EQ(engine_->position(), rare_) << why;
  TT_ASSERT_OK(engine_->Continue(false, &why));
  EXPECT_EQ(why, "start of the tape");
  EXPECT_EQ(engine_->position(), 0u);
}

TEST_F(ThreadsTest, FunctionBreakpointByNameOrQualnameHitsEveryThreadsCalls) {
  Model m(events_);
  for (const char* spec : {"helper", "Tools.helper"}) {
    engine_->ClearAllBreakpoints();
    TT_ASSERT_OK(engine_->AddBreakpoint(spec, "", false));
    TT_ASSERT_OK(engine_->Goto(0));
    std::vector<uint64_t> got, want;
    std::string why;
    while (true) {
      TT_ASSERT_OK(engine_->Continue(true, &why));
      if (why == "end of the tape") break;
      got.push_back(engine_->position());
    }
    BpModel bp;
    bp.function = true;
    bp.name = spec;
    for (auto j = m.Continue(0, true, {bp}, {}); j; j = m.Continue(*j, true, {bp}, {})) want.push_back(*j);
    EXPECT_EQ(got, want) << spec;
    EXPECT_EQ(want.size(), 12u);
  }
}

TEST_F(ThreadsTest, ConditionsAreEvaluatedInTheFrameOfTheHit) {
  // Line 63 runs four times in every thread; acc == 4 and i == 2 once per thread.
  auto id = engine_->AddBreakpoint("app.py:63", "acc == 4 and i == 2", false);
  TT_ASSERT_OK(id);
  Model m(events_);
  BpModel bp{false, "app.py", 63, "", "acc == 4 and i == 2"};
  std::vector<uint64_t> got, want;
  std::string why;
  while (true) {
    TT_ASSERT_OK(engine_->Continue(true, &why));
    if (why == "end of the tape") break;
    got.push_back(engine_->position());
  }
  for (auto j = m.Continue(0, true, {bp}, {}); j; j = m.Continue(*j, true, {bp}, {})) want.push_back(*j);
  EXPECT_EQ(got, want);
  EXPECT_EQ(want.size(), 3u);  // once per thread
  // A condition that cannot be evaluated stops, as in pdb.
  TT_ASSERT_OK(engine_->SetCondition(*id, "nosuchname > 1"));
  TT_ASSERT_OK(engine_->Goto(0));
  TT_ASSERT_OK(engine_->Continue(true, &why));
  EXPECT_EQ(engine_->position(), *m.Continue(0, true, {BpModel{false, "app.py", 63, "", ""}}, {}));
  TT_ASSERT_OK(engine_->SetCondition(*id, "acc > 'x'"));  // TypeError
  TT_ASSERT_OK(engine_->Goto(0));
  TT_ASSERT_OK(engine_->Continue(true, &why));
  EXPECT_EQ(engine_->position(), *m.Continue(0, true, {BpModel{false, "app.py", 63, "", ""}}, {}));
}

// ---------------------------------------------------------------------------
// Frames adopted at a chunk boundary

// Thread 0 starts inside <module> and main() (adopted), calls f(), and f's
// frame spans the boundary forced when thread 1 appears already running
// work() (adopted too); work() later returns.
class AdoptedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uint32_t module = s_.Code(1, "<module>");
    uint32_t main = s_.Code(12, "main", "main", {"argv"});
    uint32_t f = s_.Code(20, "f", "f", {"q"});
    uint32_t work = s_.Code(80, "work", "Worker.run.<locals>.work", {"self"});
    uint32_t helper = s_.Code(90, "helper");
    s_.Thread(1, "Thread-1 (run)");
    s_.b.Adopt(0, module, 14, {{"__name__", "'__main__'"}, {"config", "{'debug': False}"}});
    s_.b.Adopt(0, main, 13, {{"argv", "['app.py']"}});
    s_.b.Line(0, 13, {{"x", "1"}});                   // 0
    s_.b.Call(0, f, 20, {{"q", "2"}});                 // 1
    s_.b.Line(0, 21);                                  // 2
    s_.b.Adopt(1, work, 81, {{"self", "<Worker object>"}, {"k", "0"}});
    s_.b.Line(1, 82, {{"k", "1"}});                    // 3
    s_.b.Line(0, 22, {{"q", "3"}});                    // 4
    s_.b.Call(1, helper, 90);                          // 5
    s_.b.Line(1, 91);                                  // 6
    s_.b.Return(1, 91, "None");                        // 7
    s_.b.Return(0, 22, "3");                           // 8
    s_.b.Line(1, 83, {{"k", "2"}});                    // 9
    s_.b.Line(0, 14, {{"x", "2"}});                    // 10
    s_.b.Return(1, 83, "None");                        // 11
    s_.b.Line(0, 15);                                  // 12
    events_ = s_.b.events();
    engine_ = WriteAndOpen(s_.b, dir_.File("adopted.tape"));
    ASSERT_NE(engine_, nullptr);
  }

  Script s_;
  TempDir dir_;
  std::vector<Event> events_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(AdoptedTest, AdoptionForcesAChunkBoundary) {
  ASSERT_GE(engine_->tape().chunks().size(), 2u);
  EXPECT_NE(engine_->tape().ChunkFor(2), engine_->tape().ChunkFor(3));
}

TEST_F(AdoptedTest, AdoptedFramesAreOnTheStackWithTheirLocals) {
  StateView s = StateOf(*engine_, 0);
  ASSERT_EQ(s.stack.size(), 2u);
  EXPECT_EQ(s.stack[0].func, "<module>");
  EXPECT_EQ(s.stack[0].line, 14);
  EXPECT_EQ(LocalsMap(s.stack[0]),
            (std::map<std::string, std::string>{{"__name__", "'__main__'"}, {"config", "{'debug': False}"}}));
  EXPECT_EQ(s.stack[1].func, "main");
  EXPECT_EQ(s.stack[1].args, std::vector<std::string>{"argv"});
  EXPECT_EQ(LocalsMap(s.stack[1]), (std::map<std::string, std::string>{{"argv", "['app.py']"}, {"x", "1"}}));
  s = StateOf(*engine_, 3);
  ASSERT_EQ(s.stack.size(), 1u);
  EXPECT_EQ(s.stack[0].qualname, "Worker.run.<locals>.work");
  EXPECT_EQ(LocalsMap(s.stack[0]), (std::map<std::string, std::string>{{"self", "<Worker object>"}, {"k", "1"}}));
  EXPECT_EQ(s.thread_name, "Thread-1 (run)");
  for (uint64_t i = 0; i < events_.size(); ++i) {
    std::string d = StateDiff(StateOf(*engine_, i), events_[i]);
    EXPECT_TRUE(d.empty()) << "event " << i << ": " << d;
  }
}

TEST_F(AdoptedTest, ReverseFinishInAnAdoptedFrameSaysTheCallIsNotOnTheTape) {
  for (uint64_t at : {uint64_t{0}, uint64_t{10}, uint64_t{3}, uint64_t{9}, uint64_t{11}}) {
    TT_ASSERT_OK(engine_->Goto(at));
    Status s = engine_->Finish(false);
    EXPECT_EQ(s.code(), Status::Code::kNotFound) << at << ": " << s.ToString();
    EXPECT_NE(s.message().find("not on the tape"), std::string::npos) << s.message();
    EXPECT_EQ(engine_->position(), at);
  }
}

TEST_F(AdoptedTest, MovesCrossTheBoundaryAndMatchTheModel) {
  ExpectMove(*engine_, Move::kFinish, true, 2, 8);   // f's frame spans the boundary
  ExpectMove(*engine_, Move::kFinish, false, 4, 0);  // main's last event before calling f
  ExpectMove(*engine_, Move::kFinish, false, 6, 3);  // work's last event before calling helper
  ExpectMove(*engine_, Move::kFinish, true, 3, 11);  // the adopted work() returns
  ExpectMove(*engine_, Move::kNext, true, 0, 10);
  ExpectMove(*engine_, Move::kNext, false, 10, 0);
  ExpectMove(*engine_, Move::kStep, true, 2, 4);
  ExpectMove(*engine_, Move::kStep, false, 9, 7);       // helper's return
  ExpectMove(*engine_, Move::kStepLines, false, 9, 6);  // an IDE's step: its last line
  Model m(events_);
  for (uint64_t i = 0; i < events_.size(); ++i) {
    for (Move mv : {Move::kStep, Move::kNext, Move::kFinish, Move::kStepLines, Move::kNextLines}) {
      for (bool fwd : {true, false}) {
        std::string md = MoveDiff(*engine_, mv, fwd, i, Expected(m, mv, i, fwd));
        EXPECT_TRUE(md.empty()) << md;
      }
    }
  }
}

TEST_F(AdoptedTest, WatchAndWhenInAnAdoptedFrame) {
  TT_ASSERT_OK(engine_->Goto(3));
  auto w = engine_->When("k");
  TT_ASSERT_OK(w);
  EXPECT_EQ(*w, (std::vector<std::pair<uint64_t, std::string>>{{3, "1"}, {9, "2"}}));
  auto id = engine_->AddWatch("k");
  TT_ASSERT_OK(id);
  std::string why;
  TT_ASSERT_OK(engine_->Continue(true, &why));
  EXPECT_EQ(engine_->position(), 9u) << why;
  TT_ASSERT_OK(engine_->Continue(true, &why));
  EXPECT_EQ(why, "end of the tape");
  TT_ASSERT_OK(engine_->Continue(false, &why));
  EXPECT_EQ(engine_->position(), 9u) << why;
  TT_ASSERT_OK(engine_->Continue(false, &why));
  EXPECT_EQ(engine_->position(), 3u) << why;
  TT_ASSERT_OK(engine_->Continue(false, &why));
  EXPECT_EQ(why, "start of the tape");
  // main's x, watched from main (adopted, spanning the boundary).
  TT_ASSERT_OK(engine_->ClearWatch(*id));
  TT_ASSERT_OK(engine_->Goto(0));
  TT_ASSERT_OK(engine_->AddWatch("x"));
  TT_ASSERT_OK(engine_->Continue(true, &why));
  EXPECT_EQ(engine_->position(), 10u) << why;
  EXPECT_FALSE(engine_->AddWatch("never_bound").ok());
}

// ---------------------------------------------------------------------------
// Breakpoints across many chunks, with and without the footer's summaries

// Twelve chunks; rare() runs only in chunks 5 and 9, so a search from either
// end must go through chunks it may skip unread.
//   60 def work(c):        80 def rare(c):
//   61     ...             81     ...
class ManyChunksTest : public ::testing::Test {
 protected:
  static constexpr int kChunks = 12;

  void SetUp() override {
    Script s;
    uint32_t work = s.Code(60, "work", "work", {"c"});
    uint32_t rare = s.Code(80, "rare", "Mod.rare", {"c"});
    uint32_t main = s.Code(1, "main");
    s.b.Call(0, main, 1);
    for (int c = 0; c < kChunks; ++c) {
      if (c > 0) s.b.ChunkBoundary();
      for (int k = 0; k < 20; ++k) {
        if (k == 0) {
          s.b.Line(0, 2, {{"c", std::to_string(c)}, {"k", "0"}});
        } else {
          s.b.Line(0, 2, {{"k", std::to_string(k)}});
        }
        s.b.Call(0, work, 60, {{"c", std::to_string(c)}});
        s.b.Line(0, 61);
        s.b.Line(0, 62, {{"y", std::to_string(k)}});
        s.b.Return(0, 62, "None");
        if ((c == 5 || c == 9) && k == 10) {
          RareCall r;
          r.call = s.next();
          s.b.Call(0, rare, 80, {{"c", std::to_string(c)}});
          r.line = s.next();
          s.b.Line(0, 81);
          s.b.Return(0, 81, "None");
          rare_.push_back(r);
        }
      }
    }
    s.b.Return(0, 3, "None");
    events_ = s.b.events();
    path_ = dir_.File("many.tape");
    engine_ = WriteAndOpen(s.b, path_);
    ASSERT_NE(engine_, nullptr);
    ASSERT_TRUE(engine_->tape().complete());
    ASSERT_GE(engine_->tape().chunks().size(), static_cast<size_t>(kChunks));
    ASSERT_EQ(rare_.size(), 2u);
    // Cut after the chunk holding the first rare() call and one more.
    size_t keep = engine_->tape().ChunkFor(rare_[0].line) + 2;
    ASSERT_LT(engine_->tape().ChunkFor(rare_[0].line) + 1, engine_->tape().ChunkFor(rare_[1].line));
    CutAfterChunks(path_, keep, dir_.File("cut.tape"));
    auto cut = Engine::Open(dir_.File("cut.tape"));
    ASSERT_TRUE(cut.ok()) << cut.status().ToString();
    cut_ = std::move(cut).value();
    ASSERT_FALSE(cut_->tape().complete());
    ASSERT_EQ(cut_->tape().chunks().size(), keep);
  }

  // Every stop of Continue from `from` in one direction, to the end.
  static std::vector<uint64_t> Stops(Engine& e, uint64_t from, bool forward) {
    std::vector<uint64_t> out;
    Status g = e.Goto(from);
    EXPECT_TRUE(g.ok()) << g.ToString();
    std::string why;
    for (int guard = 0; guard < 1000; ++guard) {
      Status s = e.Continue(forward, &why);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok() || why == (forward ? "end of the tape" : "start of the tape")) break;
      out.push_back(e.position());
    }
    return out;
  }

  struct RareCall {
    uint64_t call = 0, line = 0;
  };
  TempDir dir_;
  std::string path_;
  std::vector<Event> events_;
  std::vector<RareCall> rare_;
  std::unique_ptr<Engine> engine_, cut_;
};

TEST_F(ManyChunksTest, LineBreakpointInTheMiddleIsFoundInBothDirections) {
  for (Engine* e : {engine_.get(), cut_.get()}) {
    bool complete = e->tape().complete();
    TT_ASSERT_OK(e->AddBreakpoint("app.py:81", "", false));
    std::vector<uint64_t> want{rare_[0].line};
    if (complete) want.push_back(rare_[1].line);
    EXPECT_EQ(Stops(*e, 0, true), want) << (complete ? "complete" : "cut");
    std::reverse(want.begin(), want.end());
    EXPECT_EQ(Stops(*e, e->size() - 1, false), want) << (complete ? "complete" : "cut");
    // From between the two.
    if (complete) {
      uint64_t mid = (rare_[0].line + rare_[1].line) / 2;
      EXPECT_EQ(Stops(*e, mid, true), std::vector<uint64_t>{rare_[1].line});
      EXPECT_EQ(Stops(*e, mid, false), std::vector<uint64_t>{rare_[0].line});
    }
  }
}

TEST_F(ManyChunksTest, FunctionBreakpointInTheMiddleIsFoundInBothDirections) {
  for (Engine* e : {engine_.get(), cut_.get()}) {
    bool complete = e->tape().complete();
    TT_ASSERT_OK(e->AddBreakpoint("Mod.rare", "", false));
    std::vector<uint64_t> want{rare_[0].call};
    if (complete) want.push_back(rare_[1].call);
    EXPECT_EQ(Stops(*e, 0, true), want) << (complete ? "complete" : "cut");
    std::reverse(want.begin(), want.end());
    EXPECT_EQ(Stops(*e, e->size() - 1, false), want) << (complete ? "complete" : "cut");
  }
}

TEST_F(ManyChunksTest, ConditionalAndTemporaryBreakpointsAcrossChunks) {
  // The condition is false in chunk 5 and true in chunk 9.
  TT_ASSERT_OK(engine_->AddBreakpoint("rare", "c == 9", false));
  EXPECT_EQ(Stops(*engine_, 0, true), std::vector<uint64_t>{rare_[1].call});
  EXPECT_EQ(Stops(*engine_, engine_->size() - 1, false), std::vector<uint64_t>{rare_[1].call});
  engine_->ClearAllBreakpoints();
  // A temporary breakpoint stops once, in whichever direction reaches it first.
  auto id = engine_->AddBreakpoint("app.py:81", "", true);
  TT_ASSERT_OK(id);
  ASSERT_EQ(engine_->breakpoints().size(), 1u);
  EXPECT_TRUE(engine_->breakpoints()[0].temporary);
  TT_ASSERT_OK(engine_->Goto(engine_->size() - 1));
  std::string why;
  TT_ASSERT_OK(engine_->Continue(false, &why));
  EXPECT_EQ(engine_->position(), rare_[1].line);
  EXPECT_EQ(why, "Temporary breakpoint " + std::to_string(*id) + " at " + kAppPath + ":81");
  EXPECT_TRUE(engine_->breakpoints().empty());
  TT_ASSERT_OK(engine_->Continue(false, &why));
  EXPECT_EQ(why, "start of the tape");
  // A temporary and a permanent one on the same line: the permanent one stays.
  TT_ASSERT_OK(engine_->AddBreakpoint("app.py:81", "", true));
  TT_ASSERT_OK(engine_->AddBreakpoint("app.py:81", "", false));
  EXPECT_EQ(Stops(*engine_, 0, true), (std::vector<uint64_t>{rare_[0].line, rare_[1].line}));
  ASSERT_EQ(engine_->breakpoints().size(), 1u);
  EXPECT_FALSE(engine_->breakpoints()[0].temporary);
}

TEST_F(ManyChunksTest, GotoInEveryChunkEqualsWalkingFromTheStart) {
  for (Engine* e : {engine_.get(), cut_.get()}) {
    for (uint64_t i = 0; i < e->size(); ++i) {
      std::string d = StateDiff(StateOf(*e, i), events_[i]);
      ASSERT_TRUE(d.empty()) << "event " << i << ": " << d;
    }
    for (uint64_t i = e->size(); i-- > 0;) {
      TT_ASSERT_OK(e->Goto(i));
      auto s = e->State();
      TT_ASSERT_OK(s);
      std::string d = StateDiff(*s, events_[i]);
      ASSERT_TRUE(d.empty()) << "event " << i << ": " << d;
    }
  }
}

TEST_F(ManyChunksTest, WatchOverAFrameSpanningEveryChunk) {
  // main's `c` changes once per chunk.
  TT_ASSERT_OK(engine_->Goto(1));
  TT_ASSERT_OK(engine_->AddWatch("c"));
  std::vector<uint64_t> want;
  Model m(events_);
  std::vector<Model::WatchModel> w{{m.frame(1), "c"}};
  for (auto j = m.Continue(1, true, {}, w); j; j = m.Continue(*j, true, {}, w)) want.push_back(*j);
  EXPECT_EQ(want.size(), static_cast<size_t>(kChunks - 1));
  EXPECT_EQ(Stops(*engine_, 1, true), want);
  std::vector<uint64_t> back;
  for (auto j = m.Continue(engine_->size() - 1, false, {}, w); j; j = m.Continue(*j, false, {}, w)) back.push_back(*j);
  EXPECT_EQ(Stops(*engine_, engine_->size() - 1, false), back);
}

// ---------------------------------------------------------------------------
// Breakpoint specs

TEST(BreakpointSpecTest, ValidatesFileLineAndFunction) {
  Script s;
  uint32_t main = s.Code(1, "main");
  s.b.Call(0, main, 1);
  s.b.Line(0, 2);
  s.b.Return(0, 2, "None");
  TempDir dir;
  auto e = WriteAndOpen(s.b, dir.File("spec.tape"));
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->AddBreakpoint("app.py:2", "", false).ok());
  EXPECT_TRUE(e->AddBreakpoint("pkg/app.py:2", "", false).ok());
  EXPECT_TRUE(e->AddBreakpoint(std::string(kAppPath) + ":120", "", false).ok());
  EXPECT_TRUE(e->AddBreakpoint("2", "", false).ok());  // the current file
  EXPECT_TRUE(e->AddBreakpoint("main", "", false).ok());
  EXPECT_TRUE(e->AddBreakpoint("Worker.run.<locals>.work", "", false).ok());
  for (const char* bad : {"pp.py:2", "other.py:2", "app.py:0", "app.py:121", "", "   ", "a b", "main()"}) {
    auto r = e->AddBreakpoint(bad, "", false);
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << "'" << bad << "'";
  }
  EXPECT_FALSE(e->AddBreakpoint("main", "x ==", false).ok());
  EXPECT_FALSE(e->AddBreakpoint("main", "(x", false).ok());
  EXPECT_TRUE(e->AddBreakpoint("main", "nosuchname == 1", false).ok());  // names are resolved at each hit
  // Ids are never reused; clearing and conditions by id.
  std::vector<int> ids;
  for (const auto& bp : e->breakpoints()) ids.push_back(bp.id);
  EXPECT_EQ(ids, (std::vector<int>{1, 2, 3, 4, 5, 6, 7}));
  TT_EXPECT_OK(e->ClearBreakpoint(3));
  EXPECT_FALSE(e->ClearBreakpoint(3).ok());
  EXPECT_FALSE(e->SetCondition(3, "").ok());
  EXPECT_FALSE(e->SetCondition(4, "1 +").ok());
  TT_EXPECT_OK(e->SetCondition(4, "1 + 1"));
  auto next = e->AddBreakpoint("main", "", false);
  TT_ASSERT_OK(next);
  EXPECT_EQ(*next, 8);
  const Breakpoint& line_bp = e->breakpoints()[0];
  EXPECT_FALSE(line_bp.function);
  EXPECT_EQ(line_bp.file, kAppPath);
  EXPECT_EQ(line_bp.line, 2);
}

TEST(BreakpointSpecTest, AmbiguousFileIsRejected) {
  RecordingBuilder b;
  uint32_t f1 = b.DefineFile("/a/app.py", "x = 1\ny = 2\n");
  uint32_t f2 = b.DefineFile("/b/app.py", "x = 1\ny = 2\n");
  b.DefineThread(0, 1, "MainThread");
  uint32_t c1 = b.DefineCode(f1, 1, "one", "one");
  uint32_t c2 = b.DefineCode(f2, 1, "two", "two");
  b.Call(0, c1, 1);
  b.Call(0, c2, 1);
  b.Line(0, 2);
  b.Return(0, 2, "None");
  b.Line(0, 2);
  b.Return(0, 2, "None");
  TempDir dir;
  auto e = WriteAndOpen(b, dir.File("amb.tape"));
  ASSERT_NE(e, nullptr);
  auto r = e->AddBreakpoint("app.py:2", "", false);
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(e->AddBreakpoint("b/app.py:2", "", false).ok());
  std::string why;
  TT_ASSERT_OK(e->Continue(true, &why));
  EXPECT_EQ(e->position(), 2u) << why;
}

TEST(WatchTest, TwoWatchesInOneFrameNameTheOneThatChanged) {
  Script s;
  uint32_t main = s.Code(1, "main");
  s.b.Call(0, main, 1);
  s.b.Line(0, 2, {{"x", "1"}, {"y", "1"}});
  s.b.Line(0, 3, {{"y", "2"}});
  s.b.Line(0, 4, {{"x", "2"}});
  s.b.Return(0, 4, "None");
  TempDir dir;
  auto e = WriteAndOpen(s.b, dir.File("watch.tape"));
  ASSERT_NE(e, nullptr);
  TT_ASSERT_OK(e->Goto(1));
  auto wx = e->AddWatch("x");
  auto wy = e->AddWatch("y");
  TT_ASSERT_OK(wx);
  TT_ASSERT_OK(wy);
  std::string why;
  TT_ASSERT_OK(e->Continue(true, &why));
  EXPECT_EQ(e->position(), 2u);
  EXPECT_EQ(why, "Watchpoint " + std::to_string(*wy) + ": y changed");
  TT_ASSERT_OK(e->Continue(true, &why));
  EXPECT_EQ(e->position(), 3u);
  EXPECT_EQ(why, "Watchpoint " + std::to_string(*wx) + ": x changed");
}

// ---------------------------------------------------------------------------
// Exception stops of continue (DAP's exception breakpoints)

// main catches a KeyError raised in f, iterates a generator g to its end,
// then dies of a ValueError raised in h.
RecordingBuilder ExceptionsProgram() {
  RecordingBuilder b;
  uint32_t file = b.DefineFile("/exc.py", std::string(30, '\n'));
  uint32_t main = b.DefineCode(file, 1, "main", "main");
  uint32_t f = b.DefineCode(file, 10, "f", "f");
  uint32_t g = b.DefineCode(file, 15, "g", "g");
  uint32_t h = b.DefineCode(file, 20, "h", "h");
  b.DefineThread(0, 1, "MainThread");
  b.Call(0, main, 1);                        // 0
  b.Line(0, 2);                              // 1
  b.Call(0, f, 10);                          // 2
  b.Line(0, 11);                             // 3
  b.Exception(0, 11, "KeyError: 'a'");       // 4  raised
  b.Return(0, 11, "None");                   // 5
  b.Exception(0, 2, "KeyError: 'a'");        // 6  propagated
  b.Line(0, 4);                              // 7
  b.Call(0, g, 15);                          // 8
  b.Exception(0, 16, "StopIteration");       // 9  the iteration protocol
  b.Return(0, 16, "None");                   // 10
  b.Line(0, 6);                              // 11
  b.Call(0, h, 20);                          // 12
  b.Exception(0, 21, "ValueError: boom");    // 13 raised, and it ends the run
  b.Return(0, 21, "None");                   // 14
  b.Exception(0, 6, "ValueError: boom");     // 15 propagated
  b.Return(0, 6, "None");                    // 16
  return b;
}

std::vector<uint64_t> ContinueStops(Engine* e, bool forward, std::vector<std::string>* whys) {
  std::vector<uint64_t> stops;
  for (int k = 0; k < 20; ++k) {
    std::string why;
    const uint64_t before = e->position();
    EXPECT_TRUE(e->Continue(forward, &why).ok());
    if (e->position() == before || why.find("of the tape") != std::string::npos) break;
    stops.push_back(e->position());
    whys->push_back(why);
  }
  return stops;
}

// With `catch raised`, continuing from the start stops at `stops` (each
// "Exception raised: " one of `what`), then back from the end at the same
// ones in reverse.
void ExpectRaisedStops(Engine* e, const std::vector<uint64_t>& stops, const std::vector<std::string>& what) {
  e->SetExceptionStops(/*raised=*/true, /*uncaught=*/false);
  std::vector<std::string> whys, expected;
  for (const std::string& w : what) expected.push_back("Exception raised: " + w);
  EXPECT_EQ(ContinueStops(e, true, &whys), stops);
  EXPECT_EQ(whys, expected);
  whys.clear();
  EXPECT_EQ(ContinueStops(e, false, &whys), std::vector<uint64_t>(stops.rbegin(), stops.rend()));
}

TEST(ExceptionStopsTest, RaisedStopsWhereEachWasRaisedNotWhereItUnwindsNorAtStopIteration) {
  TempDir dir;
  auto e = WriteAndOpen(ExceptionsProgram(), dir.File("exc.tape"), 1);
  ASSERT_NE(e, nullptr);
  ExpectRaisedStops(e.get(), {4, 13}, {"KeyError: 'a'", "ValueError: boom"});
  e->SetExceptionStops(false, false);
  std::string why;
  TT_ASSERT_OK(e->Continue(true, &why));
  EXPECT_EQ(why, "end of the tape");
}

// main calls mid, which calls inner, which raises a ValueError that reaches
// mid at its call's line: events 0 to 8, mid's exception the last.
RecordingBuilder RaisedThroughMid(uint32_t* file) {
  RecordingBuilder b;
  *file = b.DefineFile("/unwind.py", std::string(40, '\n'));
  uint32_t main = b.DefineCode(*file, 1, "main", "main");
  uint32_t mid = b.DefineCode(*file, 10, "mid", "mid");
  uint32_t inner = b.DefineCode(*file, 15, "inner", "inner");
  b.DefineThread(0, 1, "MainThread");
  b.Call(0, main, 1);                         // 0
  b.Line(0, 2);                               // 1
  b.Call(0, mid, 10);                         // 2
  b.Line(0, 11);                              // 3
  b.Call(0, inner, 15);                       // 4
  b.Line(0, 16);                              // 5
  b.Exception(0, 16, "ValueError: boom");     // 6  raised
  b.Return(0, 16, "None");                    // 7
  b.Exception(0, 11, "ValueError: boom");     // 8  propagated
  return b;
}

// That exception unwinds through mid running lines on the way (an `except`
// clause that does not match, a `finally:` block calling a function), and
// main catches it; then one is caught inside a function that returns
// normally, after which main raises another at the call's line.
RecordingBuilder UnwindingProgram() {
  uint32_t file;
  RecordingBuilder b = RaisedThroughMid(&file);
  uint32_t cleanup = b.DefineCode(file, 20, "cleanup", "cleanup");
  uint32_t f = b.DefineCode(file, 25, "f", "f");
  b.Line(0, 12);                              // 9  except KeyError: (no match)
  b.Call(0, cleanup, 20);                     // 10 finally: cleanup()
  b.Line(0, 21);                              // 11
  b.Exception(0, 21, "OSError: gone");        // 12 raised, caught in cleanup
  b.Line(0, 22);                              // 13
  b.Return(0, 22, "None");                    // 14
  b.Line(0, 13);                              // 15
  b.Return(0, 13, "None");                    // 16 mid unwinds
  b.Exception(0, 2, "ValueError: boom");      // 17 propagated
  b.Line(0, 3);                               // 18 except ValueError:
  b.Line(0, 4);                               // 19
  b.Call(0, f, 25);                           // 20
  b.Line(0, 26);                              // 21
  b.Exception(0, 26, "KeyError: 'k'");        // 22 raised, caught in f
  b.Line(0, 27);                              // 23
  b.Return(0, 27, "1");                       // 24 f returns
  b.Exception(0, 4, "TypeError: bad");        // 25 raised by main after f returned
  b.Return(0, 4, "None");                     // 26 and it ends the run
  return b;
}

TEST(ExceptionStopsTest, RaisedStopsOnceForAnExceptionUnwindingThroughExceptAndFinallyBlocks) {
  TempDir dir;
  auto e = WriteAndOpen(UnwindingProgram(), dir.File("unwind.tape"), 1);
  ASSERT_NE(e, nullptr);
  ExpectRaisedStops(e.get(), {6, 12, 22, 25}, {"ValueError: boom", "OSError: gone", "KeyError: 'k'", "TypeError: bad"});
  // Where the run's exception was raised: main's own (f returned normally).
  auto ev = e->ExceptionEvent();
  TT_ASSERT_OK(ev);
  EXPECT_EQ(*ev, 25u);
}

// The run dies of that exception, which unwound through an `except` clause
// that did not match: where it was raised is the innermost frame's.
TEST(ExceptionStopsTest, WhereTheRunsExceptionWasRaisedFollowsItThroughExceptClauses) {
  uint32_t file;
  RecordingBuilder b = RaisedThroughMid(&file);
  b.Line(0, 12);                              // 9  except KeyError:
  b.Return(0, 12, "None");                    // 10
  b.Exception(0, 2, "ValueError: boom");      // 11
  b.Return(0, 2, "None");                     // 12
  TempDir dir;
  auto e = WriteAndOpen(b, dir.File("died.tape"), 1);
  ASSERT_NE(e, nullptr);
  auto ev = e->ExceptionEvent();
  TT_ASSERT_OK(ev);
  EXPECT_EQ(*ev, 6u);
  auto uncaught = e->UncaughtException();
  TT_ASSERT_OK(uncaught);
  ASSERT_TRUE(uncaught->has_value());
  EXPECT_EQ(**uncaught, 6u);
}

TEST(ExceptionStopsTest, UncaughtStopsWhereTheExceptionThatEndedTheRunWasRaised) {
  TempDir dir;
  auto died = WriteAndOpen(ExceptionsProgram(), dir.File("died.tape"), 1);
  ASSERT_NE(died, nullptr);
  auto where = died->UncaughtException();
  TT_ASSERT_OK(where);
  ASSERT_TRUE(where->has_value());
  EXPECT_EQ(**where, 13u);
  died->SetExceptionStops(false, true);
  std::vector<std::string> whys;
  EXPECT_EQ(ContinueStops(died.get(), true, &whys), (std::vector<uint64_t>{13}));
  EXPECT_EQ(whys, (std::vector<std::string>{"Uncaught exception: ValueError: boom"}));
  // Both: the uncaught one is named so.
  died->SetExceptionStops(true, true);
  TT_ASSERT_OK(died->Goto(0));
  whys.clear();
  EXPECT_EQ(ContinueStops(died.get(), true, &whys), (std::vector<uint64_t>{4, 13}));
  EXPECT_EQ(whys.back(), "Uncaught exception: ValueError: boom");
  // A run that ended cleanly (exit status 0) has none, whatever it raised.
  auto clean = WriteAndOpen(ExceptionsProgram(), dir.File("clean.tape"), 0);
  ASSERT_NE(clean, nullptr);
  auto none = clean->UncaughtException();
  TT_ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  clean->SetExceptionStops(false, true);
  std::string why;
  TT_ASSERT_OK(clean->Continue(true, &why));
  EXPECT_EQ(why, "end of the tape");
  // goto exception is unchanged: where the run's exception was raised.
  auto ev = died->ExceptionEvent();
  TT_ASSERT_OK(ev);
  EXPECT_EQ(*ev, 13u);
}

// ---------------------------------------------------------------------------
// A pseudo-random recording over many chunks, against the model everywhere

class ProgramTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    testing::ProgramSpec spec;
    spec.seed = 99;
    spec.events = 3000;
    spec.plain_threads = 3;
    spec.adopt_every = 500;  // a chunk boundary every 500 events
    spec.max_adopted_threads = 5;
    spec.keep_stacks = true;
    rec_ = new testing::SyntheticRecording(testing::MakeProgram(spec));
    path_ = dir_->File("program.tape");
    Status s = testing::WriteTapeDefinitionsFirst(testing::TestRecordOptions(path_), rec_->builder.raw());
    write_status_ = new Status(s);
  }
  static void TearDownTestSuite() {
    delete write_status_;
    delete rec_;
    delete dir_;
  }
  void SetUp() override {
    ASSERT_TRUE(write_status_->ok()) << write_status_->ToString();
    auto e = Engine::Open(path_);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    engine_ = std::move(e).value();
    ASSERT_EQ(engine_->size(), rec_->events().size());
    ASSERT_GE(engine_->tape().chunks().size(), 6u);
  }
  std::unique_ptr<Engine> OpenCut(size_t chunks) {
    std::string out = dir_->File("cut" + std::to_string(chunks) + ".tape");
    CutAfterChunks(path_, chunks, out);
    auto e = Engine::Open(out);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (!e.ok()) return nullptr;
    EXPECT_FALSE((*e)->tape().complete());
    return std::move(e).value();
  }

  static TempDir* dir_;
  static std::string path_;
  static testing::SyntheticRecording* rec_;
  static Status* write_status_;
  std::unique_ptr<Engine> engine_;
};

TempDir* ProgramTest::dir_ = nullptr;
std::string ProgramTest::path_;
testing::SyntheticRecording* ProgramTest::rec_ = nullptr;
Status* ProgramTest::write_status_ = nullptr;

TEST_F(ProgramTest, StateAtEveryEventMatchesTheProgramInAnyOrder) {
  const auto& ev = rec_->events();
  for (uint64_t i = 0; i < ev.size(); ++i) {
    std::string d = StateDiff(StateOf(*engine_, i), ev[i]);
    ASSERT_TRUE(d.empty()) << "event " << i << ": " << d;
  }
  std::mt19937 rng(5);
  for (int k = 0; k < 1500; ++k) {
    uint64_t i = rng() % ev.size();
    TT_ASSERT_OK(engine_->Goto(i));
    EXPECT_EQ(engine_->position(), i);
    auto s = engine_->State();
    TT_ASSERT_OK(s);
    std::string d = StateDiff(*s, ev[i]);
    ASSERT_TRUE(d.empty()) << "event " << i << ": " << d;
  }
}

TEST_F(ProgramTest, EveryMoveFromEveryEventMatchesTheModel) {
  Model m(rec_->events());
  int failures = 0;
  for (uint64_t i = 0; i < m.size() && failures < 20; ++i) {
    for (const auto& md : MoveDiffs(*engine_, m, i)) {
      ADD_FAILURE() << md << "\n  at: " << testing::Describe(m[i]);
      ++failures;
    }
  }
}

// Every stop of Continue from `from`, both engine and model, until the end.
void ExpectSameStops(Engine& e, const Model& m, uint64_t from, bool forward, const std::vector<BpModel>& bps,
                     const std::vector<Model::WatchModel>& watches, const std::string& what) {
  TT_ASSERT_OK(e.Goto(from));
  std::vector<uint64_t> got, want;
  std::string why;
  for (int guard = 0; guard < 10000; ++guard) {
    Status s = e.Continue(forward, &why);
    ASSERT_TRUE(s.ok()) << s.ToString();
    if (why == (forward ? "end of the tape" : "start of the tape")) break;
    got.push_back(e.position());
  }
  EXPECT_EQ(e.position(), forward ? e.size() - 1 : 0);
  for (auto j = m.Continue(from, forward, bps, watches); j; j = m.Continue(*j, forward, bps, watches)) {
    if (*j >= e.size()) break;
    want.push_back(*j);
  }
  EXPECT_EQ(got, want) << what << " from " << from << (forward ? " forward" : " backward");
}

TEST_F(ProgramTest, ContinueMatchesTheModelWithAndWithoutTheFooter) {
  Model m(rec_->events());
  std::vector<std::vector<BpModel>> sets = {
      {{false, "app.py", 6, "", ""}},
      {{true, "", 0, "deposit", ""}},
      {{true, "", 0, "Account.deposit", "acc == 1 or x == 1"}},
      {{false, "synthetic/app.py", 3, "", ""}, {false, "app.py", 10, "", "i > 0"}, {true, "", 0, "fib", ""}},
      {{false, "app.py", 13, "", "len(name) > 1"}},  // errors wherever name is not a str: stops
  };
  std::unique_ptr<Engine> cut = OpenCut(3);
  ASSERT_NE(cut, nullptr);
  for (Engine* e : {engine_.get(), cut.get()}) {
    for (const auto& set : sets) {
      e->ClearAllBreakpoints();
      std::string what;
      for (const auto& bp : set) {
        std::string spec = bp.function ? bp.name : bp.file + ":" + std::to_string(bp.line);
        TT_ASSERT_OK(e->AddBreakpoint(spec, bp.condition, false));
        what += spec + (bp.condition.empty() ? "" : " if " + bp.condition) + "; ";
      }
      what += e->tape().complete() ? "(complete tape)" : "(cut tape)";
      for (uint64_t from : {uint64_t{0}, e->size() / 3, e->size() / 2, e->size() - 1}) {
        ExpectSameStops(*e, m, from, true, set, {}, what);
        ExpectSameStops(*e, m, from, false, set, {}, what);
      }
    }
  }
}

TEST_F(ProgramTest, WatchAndWhenMatchTheModel) {
  Model m(rec_->events());
  std::unique_ptr<Engine> cut = OpenCut(4);
  ASSERT_NE(cut, nullptr);
  const char* const kNames[] = {"x", "i", "acc", "name", "data", "n", "result", "caf\xc3\xa9", "tmp", "items"};
  std::mt19937 rng(11);
  for (Engine* e : {engine_.get(), cut.get()}) {
    for (int k = 0; k < 40; ++k) {
      uint64_t pos = rng() % e->size();
      // Outermost frames live long: pick some of their events too.
      if (k % 4 == 0) pos = rng() % std::min<uint64_t>(e->size(), 400);
      for (const char* name : kNames) {
        TT_ASSERT_OK(e->Goto(pos));
        auto when = e->When(name);
        TT_ASSERT_OK(when);
        auto want = m.When(pos, name);
        while (!want.empty() && want.back().first >= e->size()) want.pop_back();
        EXPECT_EQ(*when, want) << name << " at " << pos;
        bool bound = m[pos].locals.count(name) > 0;
        auto id = e->AddWatch(name);
        if (!bound && want.empty()) {
          EXPECT_FALSE(id.ok()) << name << " at " << pos;
          continue;
        }
        TT_ASSERT_OK(id);
        std::vector<Model::WatchModel> w{{m.frame(pos), name}};
        ExpectSameStops(*e, m, pos, true, {}, w, std::string("watch ") + name);
        ExpectSameStops(*e, m, pos, false, {}, w, std::string("watch ") + name);
        TT_ASSERT_OK(e->ClearWatch(*id));
      }
    }
  }
}

// Every thread's stack at every event (ThreadStack: what an editor shows for
// the threads that are not the event's): as that thread's own last event left
// it, a frame that returned there gone; nothing for a thread not yet seen.
TEST_F(ProgramTest, EveryThreadsStackAtEveryEventIsWhereItsLastEventLeftIt) {
  const auto& ev = rec_->events();
  std::map<uint32_t, std::vector<testing::FrameModel>> model;  // thread -> stack after its last event
  std::set<uint32_t> threads;
  for (const auto& e : ev) threads.insert(e.thread);
  ASSERT_GE(threads.size(), 4u);
  std::map<uint32_t, const testing::Event*> first;  // each thread's first event
  for (const auto& e : ev) first.try_emplace(e.thread, &e);
  size_t compared = 0, adopted_seen = 0;
  for (uint64_t i = 0; i < ev.size(); ++i) {
    std::vector<testing::FrameModel> after = ev[i].stack;
    if (ev[i].kind == 2) after.pop_back();  // popped at the walker's next step
    TT_ASSERT_OK(engine_->Goto(i));
    // The live threads: the event's own first, then every other with frames.
    auto live = engine_->LiveThreads();
    TT_ASSERT_OK(live);
    ASSERT_FALSE(live->empty());
    EXPECT_EQ(live->front(), ev[i].thread);
    std::set<uint32_t> with_frames{ev[i].thread};
    for (uint32_t t : threads) {
      auto stack = engine_->ThreadStack(t);
      TT_ASSERT_OK(stack);
      if (!stack->empty()) with_frames.insert(t);
    }
    EXPECT_EQ(std::set<uint32_t>(live->begin(), live->end()), with_frames) << "event " << i;
    EXPECT_EQ(live->size(), with_frames.size()) << "event " << i;
    for (uint32_t t : threads) {
      auto stack = engine_->ThreadStack(t);
      TT_ASSERT_OK(stack);
      if (!model.count(t) && t != ev[i].thread) {
        // Not seen yet: nothing, or, once adopted (a thread already running
        // when it was first met, from that chunk on), the frames its first
        // event is in, their lines and locals as of the adoption.
        const testing::Event& f = *first.at(t);
        if (stack->empty()) continue;
        const size_t adopted = f.stack.size() - (f.kind == 0 ? 1 : 0);  // a call adds its own frame
        ASSERT_EQ(stack->size(), adopted) << "event " << i << ", thread " << t;
        for (size_t k = 0; k < adopted; ++k) ASSERT_EQ((*stack)[k].qualname, f.stack[k].qualname);
        ++adopted_seen;
        continue;
      }
      // The event's own thread: State()'s stack, its returning frame still on it.
      const std::vector<testing::FrameModel>& want =
          t == ev[i].thread ? ev[i].stack : model[t];
      ASSERT_EQ(stack->size(), want.size()) << "event " << i << ", thread " << t;
      for (size_t k = 0; k < want.size(); ++k) {
        const auto& f = (*stack)[k];
        std::map<std::string, std::string> locals(f.locals.begin(), f.locals.end());
        ASSERT_EQ(f.qualname, want[k].qualname) << "event " << i << ", thread " << t << ", frame " << k;
        ASSERT_EQ(f.line, want[k].line) << "event " << i << ", thread " << t << ", frame " << k;
        ASSERT_EQ(locals, want[k].locals) << "event " << i << ", thread " << t << ", frame " << k;
        ++compared;
      }
    }
    model[ev[i].thread] = std::move(after);
  }
  EXPECT_GT(compared, ev.size() * 2);
  EXPECT_GT(adopted_seen, 0u);
}

// Within one chunk, states are rebuilt from checkpoints taken every few
// thousand events: any order of Gotos in a chunk of 20,000 events must give
// what walking from the start gives.
TEST(LargeChunkTest, GotoInAnyOrderWithinOneLargeChunk) {
  testing::ProgramSpec spec;
  spec.seed = 2024;
  spec.events = 20000;
  spec.plain_threads = 3;
  spec.keep_stacks = true;
  testing::SyntheticRecording rec = testing::MakeProgram(spec);
  TempDir dir;
  auto e = WriteAndOpen(rec.builder, dir.File("large.tape"));
  ASSERT_NE(e, nullptr);
  uint32_t largest = 0;
  for (const auto& c : e->tape().chunks()) largest = std::max(largest, c.event_count);
  ASSERT_GT(largest, 3 * 4096u);
  const auto& ev = rec.events();
  std::mt19937 rng(3);
  std::vector<uint64_t> order;
  for (int k = 0; k < 600; ++k) order.push_back(rng() % ev.size());
  for (uint64_t i = ev.size(); i > 37; i -= 37) order.push_back(i - 1);  // backward, stride 37
  for (uint64_t base : {uint64_t{4095}, uint64_t{8191}, uint64_t{12287}}) {
    for (uint64_t i : {base - 1, base, base + 1, base + 2, base}) order.push_back(i);
  }
  for (uint64_t i : order) {
    TT_ASSERT_OK(e->Goto(i));
    auto s = e->State();
    TT_ASSERT_OK(s);
    std::string d = StateDiff(*s, ev[i]);
    ASSERT_TRUE(d.empty()) << "event " << i << ": " << d;
  }
  for (uint64_t i = 0; i < ev.size(); ++i) {
    std::string d = StateDiff(StateOf(*e, i), ev[i]);
    ASSERT_TRUE(d.empty()) << "event " << i << ": " << d;
  }
}

TEST_F(ProgramTest, CutTapeHoldsAnExactPrefix) {
  std::unique_ptr<Engine> cut = OpenCut(2);
  ASSERT_NE(cut, nullptr);
  ASSERT_EQ(cut->size(), engine_->tape().chunks()[2].first_event);
  const auto& ev = rec_->events();
  for (uint64_t i = 0; i < cut->size(); ++i) {
    std::string d = StateDiff(StateOf(*cut, i), ev[i]);
    ASSERT_TRUE(d.empty()) << "event " << i << ": " << d;
  }
  EXPECT_FALSE(cut->Goto(cut->size()).ok());
}

}  // namespace
}  // namespace tracetape::replayer
