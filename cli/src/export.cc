// `tracetape export`: a tape's calls as a trace for the timeline viewers
// (Chrome's trace event format, read by Perfetto and chrome://tracing, and
// speedscope's file format).
//
// A tape orders events; it does not time them. The time axis of an export is
// the event number: a frame spans from its call event to just after its
// return event, so its width is the number of events (lines, calls, returns,
// exceptions) recorded while it was on the stack, its callees' included, a
// measure of work in the spirit of a line-count profile. Chrome's format
// wants microseconds: one event is one "microsecond" there, which its
// `otherData` says.
//
// Frames come from the event stream, checked against the walker's stacks at
// every event: a frame adopted when the recording began (no call event), and
// the stacks of a chunk after dropped events, open and close frames as the
// stacks say. What is still open when the tape ends (an incomplete tape, a
// daemon thread) is closed at its end.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "text.h"
#include "tracetape/cli/cli.h"
#include "tracetape/replayer/tape.h"
#include "tracetape/replayer/timeline.h"

namespace tracetape::cli {
namespace {

using replayer::ChunkWalker;
using replayer::CodeDef;
using replayer::EventKind;
using replayer::EventState;
using replayer::Tape;

constexpr const char* kExportUsage =
    "usage: tracetape export FILE [--format chrome|speedscope] [-o OUT]\n"
    "  chrome:     Chrome trace event JSON (Perfetto, chrome://tracing); default OUT: FILE's stem + .trace.json\n"
    "  speedscope: speedscope's JSON (https://www.speedscope.app); default OUT: FILE's stem + .speedscope.json\n"
    "  The time axis is the event number: a frame is as wide as the events recorded while it ran.\n";

std::string DefaultOutput(const std::string& tape, const std::string& format) {
  std::string stem = tape;
  const auto slash = stem.rfind('/');
  const auto dot = stem.rfind('.');
  if (dot != std::string::npos && (slash == std::string::npos || dot > slash) && stem.substr(dot) == ".tape") {
    stem.erase(dot);
  }
  return stem + (format == "chrome" ? ".trace.json" : ".speedscope.json");
}

// Where the frames of one export go: Chrome's events are written as they
// come; speedscope's are kept per thread (its file lists each thread's
// events together) as 16-byte records until the end.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Thread(uint32_t thread, const std::string& name) = 0;
  virtual void Open(uint32_t thread, const CodeDef& code, uint64_t at) = 0;
  // `value`: the return value's text; null if the frame has no return
  // event on the tape, `missing` saying why.
  virtual void Close(uint32_t thread, uint64_t at, const std::string* value, const char* missing) = 0;
  virtual void Exception(uint32_t thread, uint64_t at, const CodeDef& code, int32_t line,
                         const std::string& what) = 0;
  virtual void Finish(uint64_t end) = 0;
};

class ChromeSink : public Sink {
 public:
  ChromeSink(std::ostream& out, const replayer::TapeHeader& h) : out_(out), pid_(h.pid) {
    out_ << "{\"traceEvents\": [\n";
    std::string argv;
    for (const auto& a : h.argv) argv += (argv.empty() ? "" : " ") + a;
    Put("{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": " + std::to_string(pid_) +
        ", \"tid\": 0, \"args\": {\"name\": " + JsonString("python " + argv) + "}}");
  }
  void Thread(uint32_t thread, const std::string& name) override {
    Put("{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": " + std::to_string(pid_) +
        ", \"tid\": " + std::to_string(thread) + ", \"args\": {\"name\": " + JsonString(name) + "}}");
  }
  void Open(uint32_t thread, const CodeDef& code, uint64_t at) override {
    Put("{\"ph\": \"B\", \"name\": " + JsonString(code.qualname) + ", \"cat\": \"python\", \"ts\": " +
        std::to_string(at) + ", \"pid\": " + std::to_string(pid_) + ", \"tid\": " + std::to_string(thread) +
        ", \"args\": {\"file\": " + JsonString(code.file) + ", \"line\": " + std::to_string(code.first_line) + "}}");
  }
  void Close(uint32_t thread, uint64_t at, const std::string* value, const char* missing) override {
    std::string e = "{\"ph\": \"E\", \"ts\": " + std::to_string(at) + ", \"pid\": " + std::to_string(pid_) +
                    ", \"tid\": " + std::to_string(thread);
    e += ", \"args\": {\"return\": " + JsonString(value ? *value : std::string("(") + missing + ")") + "}}";
    Put(e);
  }
  void Exception(uint32_t thread, uint64_t at, const CodeDef& code, int32_t line, const std::string& what) override {
    Put("{\"ph\": \"i\", \"s\": \"t\", \"name\": " + JsonString("exception: " + what) +
        ", \"cat\": \"exception\", \"ts\": " + std::to_string(at) + ", \"pid\": " + std::to_string(pid_) +
        ", \"tid\": " + std::to_string(thread) + ", \"args\": {\"exception\": " + JsonString(what) +
        ", \"file\": " + JsonString(code.file) + ", \"line\": " + std::to_string(line) + "}}");
  }
  void Finish(uint64_t end) override {
    out_ << "\n],\n\"otherData\": {\"exporter\": \"tracetape\", \"time_axis\": "
         << JsonString("event number: ts is the tape's event index, not microseconds") << ", \"events\": " << end
         << "}}\n";
  }

 private:
  void Put(const std::string& event) {
    if (!first_) out_ << ",\n";
    first_ = false;
    out_ << event;
  }
  std::ostream& out_;
  int64_t pid_;
  bool first_ = true;
};

class SpeedscopeSink : public Sink {
 public:
  SpeedscopeSink(std::ostream& out, std::string name, std::ostream& err)
      : out_(out), name_(std::move(name)), err_(err) {
    if (const char* budget = std::getenv("TRACETAPE_EXPORT_BUDGET")) {
      const unsigned long long b = std::strtoull(budget, nullptr, 10);
      if (b > 0) memory_budget_ = static_cast<size_t>(b);
    }
  }
  ~SpeedscopeSink() override {
    if (spill_) std::fclose(spill_);
  }
  void Thread(uint32_t thread, const std::string& name) override { threads_[thread].name = name; }
  void Open(uint32_t thread, const CodeDef& code, uint64_t at) override {
    auto [it, added] = frame_of_code_.try_emplace(code.id, static_cast<uint32_t>(frame_text_.size()));
    if (added) frame_text_.push_back(FrameText(code));  // the code goes with its chunk
    Events& t = threads_[thread];
    Add(&t, {at, it->second, true});
    t.open.push_back(it->second);
  }
  void Close(uint32_t thread, uint64_t at, const std::string*, const char*) override {
    Events& t = threads_[thread];
    if (t.open.empty()) return;
    Add(&t, {at, t.open.back(), false});
    t.open.pop_back();
  }
  void Exception(uint32_t, uint64_t, const CodeDef&, int32_t, const std::string&) override {}
  void Finish(uint64_t end) override {
    // "version": of the file format followed (speedscope's File type
    // declares it; "name" and "activeProfileIndex" came with 0.6.0).
    out_ << "{\"$schema\": \"https://www.speedscope.app/file-format-schema.json\", \"version\": \"0.6.0\", "
         << "\"exporter\": \"tracetape\", "
         << "\"name\": " << JsonString(name_) << ", \"activeProfileIndex\": 0,\n\"shared\": {\"frames\": [";
    for (size_t f = 0; f < frame_text_.size(); ++f) out_ << (f ? ",\n" : "\n") << frame_text_[f];
    out_ << "]},\n\"profiles\": [";
    bool first_profile = true;
    for (const auto& [thread, t] : threads_) {
      if (t.first_at == kNone) continue;
      out_ << (first_profile ? "\n" : ",\n");
      first_profile = false;
      std::string title = "thread " + std::to_string(thread) + (t.name.empty() ? "" : " (" + t.name + ")");
      out_ << "{\"type\": \"evented\", \"name\": " << JsonString(title)
           << ", \"unit\": \"none\", \"startValue\": " << t.first_at << ", \"endValue\": " << end
           << ", \"events\": [";
      bool first = true;
      auto put = [&](const Event& e) {
        out_ << (first ? "\n" : ",\n") << "{\"type\": \"" << (e.open ? 'O' : 'C') << "\", \"frame\": " << e.frame
             << ", \"at\": " << e.at << "}";
        first = false;
      };
      // What went to the spill file first, block by block, then the rest.
      std::vector<Event> block;
      for (const auto& [offset, count] : t.spilled) {
        block.resize(count);
        if (std::fseek(spill_, offset, SEEK_SET) != 0 ||
            std::fread(block.data(), sizeof(Event), count, spill_) != count) {
          spill_error_ = true;
          break;
        }
        for (const Event& e : block) put(e);
      }
      for (const Event& e : t.events) put(e);
      out_ << "]}";
    }
    out_ << "]}\n";
    if (spill_error_) out_.setstate(std::ios::badbit);  // reported as a failed write
  }

 private:
  static std::string FrameText(const CodeDef& code) {
    return "{\"name\": " + JsonString(code.qualname) + ", \"file\": " + JsonString(code.file) +
           ", \"line\": " + std::to_string(code.first_line) + "}";
  }
  struct Event {
    uint64_t at;
    uint32_t frame;
    bool open;
  };
  static constexpr uint64_t kNone = UINT64_MAX;
  struct Events {
    std::string name;
    uint64_t first_at = kNone;
    std::vector<Event> events;                     // not yet spilled
    std::vector<std::pair<long, size_t>> spilled;  // blocks in the spill file: offset, count
    std::vector<uint32_t> open;
  };
  // speedscope lists each thread's events together: they are kept until
  // the end, in memory up to memory_budget_ bytes (64 MiB, else
  // TRACETAPE_EXPORT_BUDGET: the tests' way to make it spill), then in a
  // temporary file.
  size_t memory_budget_ = size_t{64} << 20;
  void Add(Events* t, const Event& e) {
    if (t->first_at == kNone) t->first_at = e.at;
    t->events.push_back(e);
    if (++held_ * sizeof(Event) >= memory_budget_) Spill();
  }
  // Moves every thread's held events to the spill file. Without one (no
  // temporary file, a failed write) they stay in memory: nothing is lost.
  void Spill() {
    if (no_spill_) return;
    if (!spill_) spill_ = std::tmpfile();
    if (!spill_ || std::fseek(spill_, 0, SEEK_END) != 0) {
      no_spill_ = true;
      return;
    }
    for (auto& [thread, t] : threads_) {
      if (t.events.empty()) continue;
      const long offset = std::ftell(spill_);
      if (offset < 0 || std::fwrite(t.events.data(), sizeof(Event), t.events.size(), spill_) != t.events.size()) {
        no_spill_ = true;
        return;
      }
      t.spilled.emplace_back(offset, t.events.size());
      t.events.clear();
      t.events.shrink_to_fit();
    }
    if (!spilled_) {
      err_ << "tracetape: note: the export's events past " << memory_budget_
           << " bytes wait in a temporary file until the end\n";
    }
    spilled_ = true;
    held_ = 0;
  }
  std::ostream& out_;
  std::string name_;
  std::ostream& err_;
  bool spilled_ = false;
  std::unordered_map<uint32_t, uint32_t> frame_of_code_;
  std::vector<std::string> frame_text_;
  std::map<uint32_t, Events> threads_;
  size_t held_ = 0;
  std::FILE* spill_ = nullptr;
  bool no_spill_ = false;
  bool spill_error_ = false;  // a spilled block could not be read back
};

// The frames an export has open on each thread: code ids, outermost first.
using OpenStacks = std::map<uint32_t, std::vector<uint32_t>>;

// Makes `open` for `thread` what the walker's stack is, closing and opening
// at `at`: the frames below the first difference stay.
void Reconcile(const std::vector<replayer::LiveFrame>& walker, uint32_t thread, uint64_t at, OpenStacks* stacks,
               Sink* sink) {
  std::vector<uint32_t>& open = (*stacks)[thread];
  size_t same = 0;
  while (same < open.size() && same < walker.size() && open[same] == walker[same].code->id) ++same;
  while (open.size() > same) {
    sink->Close(thread, at, nullptr, "its return is not on the tape");
    open.pop_back();
  }
  for (size_t i = same; i < walker.size(); ++i) {
    sink->Open(thread, *walker[i].code, at);
    open.push_back(walker[i].code->id);
  }
}

}  // namespace

int Export(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string path, format = "chrome", output;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      out << kExportUsage;
      return 0;
    }
    if (a == "--format" || a == "-o" || a == "--output") {
      if (i + 1 >= args.size()) {
        err << "tracetape export: error: " << a << " needs a value\n" << kExportUsage;
        return 2;
      }
      (a == "--format" ? format : output) = args[++i];
    } else if (a.rfind("--format=", 0) == 0) {
      format = a.substr(9);
    } else if (a.rfind("--output=", 0) == 0) {
      output = a.substr(9);
    } else if (!a.empty() && a[0] == '-') {
      err << "tracetape export: error: unknown option " << Printable(a) << "\n" << kExportUsage;
      return 2;
    } else if (path.empty()) {
      path = a;
    } else {
      err << "tracetape export: error: unexpected argument " << Printable(a) << "\n" << kExportUsage;
      return 2;
    }
  }
  if (path.empty()) {
    err << "tracetape export: error: no tape given\n" << kExportUsage;
    return 2;
  }
  if (format != "chrome" && format != "speedscope") {
    err << "tracetape export: error: --format must be chrome or speedscope (got '" << Printable(format) << "')\n";
    return 2;
  }
  if (output.empty()) output = DefaultOutput(path, format);

  auto opened = Tape::Open(path);
  if (!opened.ok()) {
    err << "tracetape: error: " << Printable(opened.status().message()) << "\n";
    return 1;
  }
  const Tape& tape = *opened.value();
  std::ofstream file;
  struct stat in_stat, out_stat;
  if (output != "-" && ::stat(path.c_str(), &in_stat) == 0 && ::stat(output.c_str(), &out_stat) == 0 &&
      in_stat.st_dev == out_stat.st_dev && in_stat.st_ino == out_stat.st_ino) {
    err << "tracetape export: error: " << Printable(output) << " is the tape itself\n";
    return 2;
  }
  if (output != "-") {
    file.open(output, std::ios::out | std::ios::trunc);
    if (!file) {
      err << "tracetape export: error: cannot write " << Printable(output) << ": " << std::strerror(errno) << "\n";
      return 1;
    }
  }
  std::ostream& sink_out = output == "-" ? out : file;
  std::string tape_name = tape.path();
  if (auto slash = tape_name.rfind('/'); slash != std::string::npos) tape_name.erase(0, slash + 1);
  std::unique_ptr<Sink> sink;
  if (format == "chrome") {
    sink = std::make_unique<ChromeSink>(sink_out, tape.header());
  } else {
    sink = std::make_unique<SpeedscopeSink>(sink_out, tape_name, err);
  }

  OpenStacks stacks;
  std::map<uint32_t, bool> named;     // threads whose name went out
  std::map<uint32_t, size_t> synced;  // thread -> 1 + the chunk its stack was last checked in
  uint64_t end = 0;
  std::string error;
  static const std::vector<replayer::LiveFrame> kNoFrames;
  auto stack_of = [](const ChunkWalker& w, uint32_t thread) -> const std::vector<replayer::LiveFrame>& {
    auto it = w.stacks().find(thread);
    return it == w.stacks().end() ? kNoFrames : it->second;
  };
  for (size_t c = 0; c < tape.chunks().size() && error.empty(); ++c) {
    auto chunk = tape.ReadChunk(c);
    if (!chunk.ok()) {
      error = chunk.status().message();
      break;
    }
    for (const auto& [index, t] : chunk->threads) {
      if (!named[index]) sink->Thread(index, t.name);
      named[index] = true;
    }
    ChunkWalker walker(*chunk);
    // A chunk starts from every thread's stack: frames it no longer has
    // ended in a gap (their returns dropped), and close where it begins,
    // whether or not their thread has another event. (Frames are known by
    // their code: a call that ended in a gap and another of the same code
    // at the same depth after it read as one frame; the checkpoint does not
    // say when a frame began.)
    for (auto& [thread, open] : stacks) {
      const auto& frames = stack_of(walker, thread);
      size_t same = 0;
      while (same < open.size() && same < frames.size() && open[same] == frames[same].code->id) ++same;
      // The innermost `detached` of them did not run (format 2.1).
      auto d = chunk->detached.find(thread);
      size_t detached = d == chunk->detached.end() ? 0 : d->second;
      for (; open.size() > same; open.pop_back()) {
        const char* why = chunk->dropped_before > 0 ? "its return was among the events the recorder dropped"
                          : detached > 0 ? "it did not run: throw() went through it to the generator it delegates "
                                           "to, which returned or yielded"
                                         : "its return is not on the tape";
        if (detached > 0) --detached;
        sink->Close(thread, chunk->first_event, nullptr, why);
      }
    }
    while (walker.HasNext()) {
      EventState e;
      Status s = walker.Step(&e);
      if (!s.ok()) {
        error = s.message();
        break;
      }
      if (!named[e.thread]) {
        sink->Thread(e.thread, "thread " + std::to_string(e.thread));
        named[e.thread] = true;
      }
      // Within a chunk a thread's stack changes only by its own events: a
      // call pushes a frame, a return pops one (below). It is compared
      // frame by frame at the thread's first event in each chunk (frames
      // adopted, a gap), else only by its size: an event costs the same at
      // any depth.
      const auto& frames = stack_of(walker, e.thread);
      std::vector<uint32_t>& open = stacks[e.thread];
      size_t& checked = synced[e.thread];
      if (checked != c + 1 || frames.size() != open.size() + (e.kind == EventKind::kCall ? 1 : 0)) {
        Reconcile(frames, e.thread, e.index, &stacks, sink.get());
        checked = c + 1;
      } else if (e.kind == EventKind::kCall) {
        sink->Open(e.thread, *frames.back().code, e.index);
        open.push_back(frames.back().code->id);
      }
      if (e.kind == EventKind::kException) {
        sink->Exception(e.thread, e.index, *e.code, e.line,
                        e.value != replayer::kNoValue ? walker.str(e.value) : std::string("(not recorded)"));
      } else if (e.kind == EventKind::kReturn && !open.empty()) {
        // The walker pops the returning frame at its next step.
        const std::string none = "None";
        sink->Close(e.thread, e.index + 1, e.value != replayer::kNoValue ? &walker.str(e.value) : &none, nullptr);
        open.pop_back();
      }
      end = e.index + 1;
    }
  }
  for (auto& [thread, open] : stacks) {
    while (!open.empty()) {
      sink->Close(thread, end, nullptr, "the recording ended before it returned");
      open.pop_back();
    }
  }
  sink->Finish(end);
  sink_out.flush();
  if (!sink_out) {
    err << "tracetape export: error: writing " << Printable(output) << " failed: " << std::strerror(errno) << "\n";
    return 1;
  }
  if (!error.empty()) {
    err << "tracetape: error: " << Printable(tape.path()) << ": " << Printable(error) << "; exported the " << end
        << " events before it to " << Printable(output) << "\n";
    return 1;
  }
  if (!tape.complete()) {
    const Status& s = tape.tail_status();
    err << "tracetape: warning: " << Printable(tape.path()) << ": incomplete tape (" << Printable(s.message())
        << "); exported the " << end << " events recorded before it ended\n";
    if (s.code() != Status::Code::kTruncated) return 1;
  }
  if (output != "-") err << "tracetape: wrote " << Printable(output) << " (" << format << ", " << end << " events)\n";
  return 0;
}

}  // namespace tracetape::cli
