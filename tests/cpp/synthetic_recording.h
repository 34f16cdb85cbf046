// Test support for the end-to-end tests: a model of the trace hook that emits
// the raw records the hook would (recorder/include/tracetape/recorder/
// raw_records.h) and, alongside, the events a reader must see afterwards:
// kinds, lines, depths, the complete locals of the frame at each event, and
// values. The raw records go through the real RingBuffer and TapeWriter, and
// the tape is read back through the real replayer.
#ifndef TRACETAPE_TESTS_SYNTHETIC_RECORDING_H_
#define TRACETAPE_TESTS_SYNTHETIC_RECORDING_H_

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "tracetape/format/status.h"
#include "tracetape/recorder/options.h"
#include "tracetape/recorder/raw_records.h"
#include "tracetape/replayer/tape.h"
#include "tracetape/replayer/timeline.h"

namespace tracetape::testing {

// A directory under $TMPDIR (or /tmp), removed with its contents on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string ReadFileBytes(const std::string& path);
void WriteFileBytes(const std::string& path, const std::string& bytes);

// One frame of a thread's stack in the model (see Event::stack).
struct FrameModel {
  std::string file;
  std::string func;
  std::string qualname;
  int32_t line = 0;
  std::map<std::string, std::string> locals;
};
bool operator==(const FrameModel& a, const FrameModel& b);

// One event as a reader reconstructs it.
struct Event {
  uint64_t index = 0;
  uint32_t thread = 0;
  int kind = 0;  // tape.fbs EventKind: 0 call, 1 line, 2 return, 3 exception
  std::string file;
  std::string func;
  std::string qualname;
  int32_t line = 0;
  uint32_t depth = 0;
  std::map<std::string, std::string> locals;  // complete, as at this event
  std::optional<std::string> value;
  // Model-only fields, not compared by operator== (a reader reconstructs full
  // locals, not the deltas, and readers like ToEvent fill only the top frame):
  // the names this event's record set or unbound, in record order, and, when
  // the builder keeps stacks, every frame of the thread's stack at this event,
  // outermost first (the last is this event's frame).
  std::vector<std::string> changed;
  std::vector<FrameModel> stack;
};
bool operator==(const Event& a, const Event& b);
inline bool operator!=(const Event& a, const Event& b) { return !(a == b); }
std::string Describe(const Event& e);
void PrintTo(const Event& e, std::ostream* os);

// Builds a recording the way the hook does: definitions before first use,
// names interned on first use, then event records. Keeps a model of every
// thread's stack to compute the expected events.
class RecordingBuilder {
 public:
  // Name -> value; nullopt means unbound (deleted).
  using Deltas = std::vector<std::pair<std::string, std::optional<std::string>>>;

  void DefineThread(uint32_t index, uint64_t ident, const std::string& name);
  // Empty `source_override`: the writer reads `path` from disk.
  uint32_t DefineFile(const std::string& path, const std::string& source_override);
  uint32_t DefineCode(uint32_t file, int32_t first_line, const std::string& name, const std::string& qualname);
  // The same, with the code's parameter names.
  uint32_t DefineCode(uint32_t file, int32_t first_line, const std::string& name, const std::string& qualname,
                      const std::vector<std::string>& args);

  void Call(uint32_t thread, uint32_t code, int32_t line, const Deltas& args = {});
  void Line(uint32_t thread, int32_t line, const Deltas& deltas = {});
  void Return(uint32_t thread, int32_t line, std::optional<std::string> value, const Deltas& deltas = {});
  // A return whose value the hook gave as a word (RawValue::kIntValue); the
  // reader must see its decimal text.
  void ReturnInt(uint32_t thread, int32_t line, int64_t value);
  void Exception(uint32_t thread, int32_t line, const std::string& value, const Deltas& deltas = {});
  // A frame that began before recording, with its complete locals.
  void Adopt(uint32_t thread, uint32_t code, int32_t line, const std::map<std::string, std::string>& locals);
  // In-band loss: `n` events the hook could not store.
  void Loss(uint64_t n);
  // The thread's `n` innermost frames leave its stack without an event
  // (frames CPython linked above a generator that throw() ran).
  void Detach(uint32_t thread, uint32_t n);
  // The thread's `n` innermost frames ended unseen (the hook's unwind
  // record, at a gap; a Loss of their returns normally follows).
  void Unwind(uint32_t thread, uint32_t n);
  // Forces the writer to start a new chunk before the next event, without
  // adding an event: a frame is adopted on a thread that never runs (defined
  // on first use, index kBoundaryThread), which only a chunk boundary can
  // express. Needs a code defined first. No-op for the reader's events.
  void ChunkBoundary();
  static constexpr uint32_t kBoundaryThread = 0xfff0;

  // Fills Event::stack for the events that follow (off by default: the big
  // round-trip recordings do not need it).
  void set_keep_stacks(bool keep) { keep_stacks_ = keep; }
  // Sends every local whose text is an int64's decimal text as that word
  // (kIntLength), as the hook does for ints that fit a word.
  void set_ints_as_words(bool on) { ints_as_words_ = on; }

  size_t depth(uint32_t thread) const;
  const std::vector<std::string>& raw() const { return raw_; }
  const std::vector<Event>& events() const { return events_; }
  std::vector<Event> EventsInRange(uint64_t begin, uint64_t end) const;

 private:
  struct CodeInfo {
    std::string file;
    std::string name;
    std::string qualname;
  };
  struct Frame {
    uint32_t code;
    std::map<std::string, std::string> locals;
    int32_t line = 0;
  };
  uint32_t NameId(const std::string& name);
  // `int_value`: the value goes into the record as that word (and `value`
  // is its text, for the model).
  void EmitEvent(uint8_t kind, uint32_t thread, int32_t line, uint32_t code, const Deltas& deltas,
                 const std::optional<std::string>& value, const int64_t* int_value = nullptr);

  std::vector<std::string> raw_;
  std::vector<Event> events_;
  std::map<uint32_t, std::string> files_;
  std::map<uint32_t, CodeInfo> codes_;
  std::map<std::string, uint32_t> names_;
  std::map<uint32_t, std::vector<Frame>> stacks_;
  bool keep_stacks_ = false;
  bool ints_as_words_ = false;
  // One delta's value (not unbound), as text or as a word.
  void PutValue(recorder::RawWriter* w, const std::string& text) const;
  // Detach and Unwind: a record of (thread, n), the model's n frames popped.
  void PopUnseen(recorder::RawTag tag, uint32_t thread, uint32_t n);
  bool boundary_thread_defined_ = false;
};

// A pseudo-random but deterministic program: nested calls, lines with locals
// changing and being deleted, returns with and without values, exceptions,
// awkward values (quotes, newlines, control characters, multibyte UTF-8, the
// empty string), on several threads.
struct ProgramSpec {
  uint32_t seed = 1;
  size_t events = 1000;
  // Thread 0 starts inside an adopted frame (a frame that began before
  // recording), and `plain_threads - 1` more threads start with a call.
  int plain_threads = 2;
  // Every `adopt_every` events another thread appears already running: its
  // frame is adopted, which forces a chunk boundary. 0: never.
  size_t adopt_every = 0;
  int max_adopted_threads = 0;
  // A file whose text the writer reads from disk (written by the caller).
  std::string disk_file;
  // A file that does not exist: its source is recorded as omitted.
  bool with_missing_file = false;
  // Fill Event::stack (RecordingBuilder::set_keep_stacks).
  bool keep_stacks = false;
};

struct SyntheticRecording {
  RecordingBuilder builder;
  std::map<std::string, std::string> sources;  // path -> embedded text expected
  std::string missing_file;                    // path expected with omitted_reason
  std::map<uint32_t, std::pair<uint64_t, std::string>> threads;  // index -> ident, name
  const std::vector<Event>& events() const { return builder.events(); }
};

SyntheticRecording MakeProgram(const ProgramSpec& spec);

// The source text MakeProgram embeds for its synthetic (non-disk) file.
extern const char kSyntheticSource[];
extern const char kSyntheticPath[];

recorder::RecordOptions TestRecordOptions(const std::string& path);

// Pushes `raw` through a RingBuffer into a TapeWriter writing `options.path`,
// then finishes the tape with `exit_status`.
Status WriteTape(const recorder::RecordOptions& options, const std::vector<std::string>& raw, int exit_status = 0);
// The same, but the definitions before the first event go through the writer
// first, so that the embedded sources precede every chunk: a tape cut after
// any chunk still has them (as a real recording's early flush does).
Status WriteTapeDefinitionsFirst(const recorder::RecordOptions& options, const std::vector<std::string>& raw,
                                 int exit_status = 0);

Event ToEvent(const replayer::EventState& e, const replayer::ChunkWalker& w);
// Reads and walks chunk `i`, appending its events to *out.
Status ReadChunkEvents(const replayer::Tape& tape, size_t i, std::vector<Event>* out);
// Every event of every chunk, in order; the first error stops it.
Status ReadAllEvents(const replayer::Tape& tape, std::vector<Event>* out);

// True when the walker's current event `e` is `want`, compared field by field
// without building an Event (the damage sweeps call this a lot).
bool Matches(const replayer::EventState& e, const replayer::ChunkWalker& w, const Event& want);
// Reads and walks chunk `i`, comparing its events with want[first_event...].
// Returns the reader's error, if any; *same says whether every event matched
// and the chunk lies within `want`.
Status CompareChunk(const replayer::Tape& tape, size_t i, const std::vector<Event>& want, bool* same);

}  // namespace tracetape::testing

#endif  // TRACETAPE_TESTS_SYNTHETIC_RECORDING_H_
