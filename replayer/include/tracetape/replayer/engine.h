// The replay engine: a cursor over a tape that moves forward and backward by
// pdb's units (step, next, finish, continue) and reconstructs the full state
// at any event. Pure C++; the prompt, the Python API and DAP sit on top.
//
// Every move is a scan over per-chunk columns (kind, thread, line, and the
// derived depth and code of every event); state at an event is rebuilt from
// its chunk's checkpoint, so no move replays from the start of the tape.
#ifndef TRACETAPE_REPLAYER_ENGINE_H_
#define TRACETAPE_REPLAYER_ENGINE_H_

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tracetape/format/status.h"
#include "tracetape/replayer/tape.h"
#include "tracetape/replayer/timeline.h"
#include "tracetape/replayer/value.h"

namespace tracetape::replayer {

struct FrameView {
  std::string file;
  std::string func;
  std::string qualname;
  int32_t line = 0;
  int32_t first_line = 0;
  uint32_t depth = 0;
  std::vector<std::string> args;  // parameter names
  std::vector<std::pair<std::string, std::string>> locals;  // name -> rendering, in capture order
};

struct StateView {
  uint64_t index = 0;
  uint32_t thread = 0;
  std::string thread_name;
  EventKind kind = EventKind::kLine;
  std::vector<FrameView> stack;  // outermost first; back() is the frame of this event
  bool has_value = false;
  std::string value;             // return value, or the exception
  std::vector<std::string> changed;  // names whose value this event changed
};

struct Breakpoint {
  int id = 0;
  bool function = false;  // else file:line
  std::string file;       // as given; matches a path ending in it
  int32_t line = 0;
  std::string name;       // function name or qualname
  std::string condition;
  bool temporary = false;
  bool enabled = true;
  uint64_t hits = 0;
  std::string note;       // when set: why it will never stop (said when it is set)
};

struct Watch {
  int id = 0;
  std::string name;
  uint32_t thread = 0;
  uint32_t depth = 0;
  uint64_t frame_begin = 0;  // the frame's call event (or its first recorded event)
  uint64_t frame_end = 0;    // its return event (or the last event of the tape)
};

class Engine {
 public:
  static StatusOr<std::unique_ptr<Engine>> Open(const std::string& path);

  const Tape& tape() const { return *tape_; }
  uint64_t size() const { return tape_->event_count(); }
  uint64_t position() const { return pos_; }

  Status Goto(uint64_t event);
  // The event where the exception that ended the run, or else the last
  // exception of the tape, was raised.
  StatusOr<uint64_t> ExceptionEvent();
  StatusOr<StateView> State();
  StatusOr<StateView> StateAt(uint64_t event);
  std::string ThreadName(uint32_t thread) const;

  // Where Step and Next stop besides lines, calls (Step) and exceptions.
  // kFrameEnds, pdb's: also at a frame's end, its return going forward
  // (pdb's `--Return--`, where `retval` reads what it returned) and its
  // call going back, so that each move back undoes one forward. kLines, an
  // IDE's (DAP's step in and over, as debugpy's): never at a return, nor
  // at Next's frame's call.
  enum class Stops { kFrameEnds, kLines };
  // Moves. NotFound (and no move) when there is nothing in that direction.
  // Step: to the next (previous) event of the thread (a return only with
  // kFrameEnds). Next: to the next (previous) line or exception event of
  // the selected frame, or, past the frame's end (its return forward, its
  // call backward: a stop of its own with kFrameEnds), of its callers
  // (never of the next frame called at the same depth). Finish: forward,
  // to the selected frame's return (at a frame's own return event, the
  // caller's); backward, to the caller's last event before the selected
  // frame's call. `up`: the frame selected, that many levels above the
  // event's own (pdb's `up`).
  Status Step(bool forward, Stops stops = Stops::kFrameEnds);
  Status Next(bool forward, uint32_t up = 0, Stops stops = Stops::kFrameEnds);
  Status Finish(bool forward, uint32_t up = 0);
  // Runs to the next breakpoint or watch hit; *why says what stopped it.
  // With none in that direction, moves to the end (start) and says so.
  Status Continue(bool forward, std::string* why);

  // Continue also stops where an exception is raised: every one (`raised`:
  // where it was raised, not in each frame it then unwinds; the iteration
  // protocol's StopIteration and GeneratorExit aside), or the one that ended
  // the run (`uncaught`: where it was raised). *why then says
  // "Exception raised: TypeName: message" or "Uncaught exception: ...".
  void SetExceptionStops(bool raised, bool uncaught) {
    stop_raised_ = raised;
    stop_uncaught_ = uncaught;
  }
  bool stops_at_raised() const { return stop_raised_; }
  bool stops_at_uncaught() const { return stop_uncaught_; }
  // Where the exception that ended the run was raised; none for a run that
  // did not end with one.
  StatusOr<std::optional<uint64_t>> UncaughtException();

  StatusOr<int> AddBreakpoint(const std::string& spec, const std::string& condition, bool temporary);
  Status SetCondition(int id, const std::string& condition);
  Status ClearBreakpoint(int id);
  void ClearAllBreakpoints() { breakpoints_.clear(); }
  const std::vector<Breakpoint>& breakpoints() const { return breakpoints_; }

  // `watch NAME`: a local of the selected frame (`up` levels above the
  // event's); continue stops where it changes.
  StatusOr<int> AddWatch(const std::string& name, uint32_t up = 0);
  Status ClearWatch(int id);
  const std::vector<Watch>& watches() const { return watches_; }

  // `when NAME`: the events of the selected frame where NAME changed, with
  // the value it took; first, where the frame is first seen, the value it
  // held then if no event of the frame set it (a frame that began before
  // the recording).
  StatusOr<std::vector<std::pair<uint64_t, std::string>>> When(const std::string& name, uint32_t up = 0);

  // The stack of `thread` at the current event (outermost first), as its
  // own last event left it: the current event's thread's is State()'s;
  // another thread's frames hold the locals of their last events. Empty
  // for a thread with no frame there (not started, or ended).
  StatusOr<std::vector<FrameView>> ThreadStack(uint32_t thread);
  // The threads with frames at the current event (the event's own first),
  // as a debugger lists live threads: from the state at hand, without
  // reading other chunks.
  StatusOr<std::vector<uint32_t>> LiveThreads();

  // Evaluates an expression over the locals of frame `depth_offset` levels up
  // from the current event's frame.
  StatusOr<Value> Eval(const std::string& expr, uint32_t depth_offset = 0);

  // The recorded file a spec names: a recorded path, a `/`-separated suffix
  // of one (`app.py`, `pkg/app.py`), or a path relative to the recorded cwd
  // (`./app.py`, `../src/app.py`); InvalidArgument for none or several.
  StatusOr<std::string> RecordedFile(const std::string& spec);

  // Source lines of a recorded file (1-based), or empty.
  const std::vector<std::string>* SourceLines(const std::string& file);

 private:
  struct IndexedChunk {
    DecodedChunk d;
    std::vector<uint16_t> depth;  // per event: recorded frames on its thread's stack
    std::vector<uint32_t> code;   // per event: the code of its frame
    // Walker states every kCheckpointEvery events, filled as walks pass
    // them: any state is then at most that many steps away.
    mutable std::vector<std::unique_ptr<ChunkWalker>> checkpoints;
  };
  static constexpr size_t kCheckpointEvery = 4096;
  struct Cursor {  // a walker positioned inside one chunk
    std::shared_ptr<const IndexedChunk> chunk;
    std::unique_ptr<ChunkWalker> walker;
    size_t chunk_index = 0;
    EventState last;
    bool has_last = false;
  };
  // Event predicate over a chunk's columns: (chunk, local index) -> match.
  using Pred = std::function<bool(const IndexedChunk&, size_t)>;

  explicit Engine(std::unique_ptr<Tape> tape) : tape_(std::move(tape)) {}
  StatusOr<std::shared_ptr<const IndexedChunk>> Chunk(size_t index);
  // First event strictly after (forward) or before `from` that matches.
  // Chunks for which `may_match` says false are skipped without decoding.
  StatusOr<std::optional<uint64_t>> Scan(uint64_t from, bool forward, const Pred& pred,
                                         const std::function<bool(size_t)>& may_match = nullptr);
  Status WalkTo(uint64_t event);
  struct Here {
    uint32_t thread;
    uint32_t depth;
    EventKind kind;
  };
  StatusOr<Here> At(uint64_t event);
  // The depth of the frame `up` levels above the current event's.
  StatusOr<uint32_t> SelectedDepth(uint32_t up);
  StatusOr<std::optional<uint64_t>> EndingException();
  StatusOr<uint64_t> WhereRaised(uint64_t exception);
  // An exception event that continues the propagation of one raised deeper
  // (the frame below it just unwound with it), rather than a raise.
  static bool Propagated(const IndexedChunk& c, size_t i);
  // An exception event of the iteration protocol (StopIteration,
  // StopAsyncIteration, GeneratorExit).
  static bool IterationProtocol(const IndexedChunk& c, size_t i);
  // The frames of one thread's stack in the walker, as FrameViews.
  static std::vector<FrameView> Frames(const ChunkWalker& w, const std::vector<LiveFrame>& frames);
  bool BreakpointMatches(Breakpoint& bp, const IndexedChunk& c, size_t i);
  // False where the condition is false; true where it holds or cannot be
  // evaluated (then *error says why).
  bool ConditionHolds(const Breakpoint& bp, uint64_t event, std::string* error);
  // The first and last events of the frame `up` levels above `event`'s.
  StatusOr<std::pair<uint64_t, uint64_t>> FrameBounds(uint64_t event, uint32_t up = 0);

  std::unique_ptr<Tape> tape_;
  uint64_t pos_ = 0;
  std::list<std::pair<size_t, std::shared_ptr<const IndexedChunk>>> cache_;  // most recent first
  Cursor cursor_;
  std::vector<Breakpoint> breakpoints_;
  std::vector<Watch> watches_;
  bool stop_raised_ = false;
  bool stop_uncaught_ = false;
  std::optional<std::optional<uint64_t>> uncaught_;  // UncaughtException, once found
  int next_breakpoint_id_ = 1;
  int next_watch_id_ = 1;
  std::map<std::string, std::vector<std::string>> source_lines_;
};

}  // namespace tracetape::replayer

#endif  // TRACETAPE_REPLAYER_ENGINE_H_
