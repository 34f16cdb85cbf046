#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <optional>

#include <unistd.h>

#include <iostream>

#include "text.h"
#include "tracetape/cli/cli.h"
#include "tracetape/cli/replay_session.h"
#include "tracetape/replayer/engine.h"
#include "tracetape/replayer/tape.h"
#include "tracetape/replayer/timeline.h"

namespace tracetape::cli {
namespace {

using replayer::ChunkWalker;
using replayer::DecodedChunk;
using replayer::EventKind;
using replayer::EventState;
using replayer::Tape;

constexpr const char* kUsage =
    "usage: tracetape replay FILE [--goto N|start|end|exception] [--batch]\n"
    "       tracetape dump FILE [--format text|jsonl] [--range A:B]\n"
    "       tracetape info FILE\n"
    "       tracetape verify FILE\n"
    "       tracetape export FILE [--format chrome|speedscope] [-o OUT]\n"
    "       tracetape dap\n";

// Each command's own usage, for `tracetape COMMAND --help`.
constexpr const char* kDumpUsage =
    "usage: tracetape dump FILE [--format text|jsonl] [--range A:B]\n"
    "Prints the recorded events, one per line (--format jsonl: one JSON object per event).\n"
    "--range A:B: events A to B-1 (A: from A on, :B: up to B-1).\n";
constexpr const char* kInfoUsage =
    "usage: tracetape info FILE\n"
    "Prints the tape's metadata, its counts of events, threads and files, and whether the\n"
    "recording ended cleanly.\n";
constexpr const char* kVerifyUsage =
    "usage: tracetape verify FILE\n"
    "Checks the whole tape (every chunk, its checksums and its events); exit status 0 only\n"
    "for a sound, complete tape.\n";

bool IsHelp(const std::string& a) { return a == "-h" || a == "--help"; }

std::string Basename(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string FormatTime(int64_t ns) {
  if (ns <= 0) return "unknown";
  time_t secs = static_cast<time_t>(ns / 1000000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Parses "A:B", "A:", ":B" into [begin, end).
bool ParseRange(const std::string& spec, uint64_t* begin, uint64_t* end) {
  auto colon = spec.find(':');
  if (colon == std::string::npos) return false;
  auto parse = [](const std::string& s, uint64_t* v) {
    if (s.empty()) return true;
    if (s.size() > 19 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) return false;
    *v = std::stoull(s);
    return true;
  };
  *begin = 0;
  *end = UINT64_MAX;
  return parse(spec.substr(0, colon), begin) && parse(spec.substr(colon + 1), end) && *begin <= *end;
}

struct OpenResult {
  std::unique_ptr<Tape> tape;
  int status = 0;
};

OpenResult OpenTape(const std::string& path, std::ostream& err) {
  auto tape = Tape::Open(path);
  if (!tape.ok()) {
    err << "tracetape: error: " << Printable(tape.status().message()) << "\n";
    return {nullptr, 1};
  }
  return {std::move(tape).value(), 0};
}

// Reports how a tape ended. Returns the exit status that the tape's state
// calls for: 0 for clean or merely cut short, 1 for corruption.
int ReportTail(const Tape& tape, std::ostream& err) {
  if (tape.complete()) return 0;
  const Status& s = tape.tail_status();
  if (s.code() == Status::Code::kTruncated) {
    err << "tracetape: warning: " << Printable(tape.path()) << ": incomplete tape (" << Printable(s.message())
        << "); " << tape.event_count() << " events were recovered\n";
    return 0;
  }
  err << "tracetape: error: " << Printable(tape.path()) << ": " << Printable(s.message()) << "; "
      << tape.event_count() << " events before it are readable\n";
  return 1;
}

void WriteJsonEvent(const EventState& e, const ChunkWalker& w, std::ostream& out) {
  out << "{\"i\": " << e.index << ", \"thread\": " << e.thread << ", \"kind\": \""
      << replayer::EventKindName(e.kind) << "\", \"file\": " << JsonString(e.code->file)
      << ", \"func\": " << JsonString(e.code->name) << ", \"qualname\": " << JsonString(e.code->qualname)
      << ", \"line\": " << e.line << ", \"depth\": " << e.depth << ", \"locals\": {";
  bool first = true;
  for (const auto& b : e.frame->locals) {
    if (!first) out << ", ";
    first = false;
    out << JsonString(w.str(b.name)) << ": " << JsonString(w.str(b.value));
  }
  out << "}";
  if (e.value != replayer::kNoValue) out << ", \"value\": " << JsonString(w.str(e.value));
  out << "}\n";
}

void WriteTextEvent(const EventState& e, const ChunkWalker& w, bool show_thread, std::ostream& out) {
  char head[48];
  std::snprintf(head, sizeof(head), "%8llu ", static_cast<unsigned long long>(e.index));
  out << head;
  if (show_thread) out << "T" << e.thread << " ";
  out << std::string(2 * (e.depth > 0 ? e.depth - 1 : 0), ' ');
  const char* kind = replayer::EventKindName(e.kind);
  out << kind << std::string(10 - std::min<size_t>(9, std::string(kind).size()), ' ');
  out << Printable(e.code->qualname) << "  " << Printable(Basename(e.code->file)) << ":" << e.line;
  if (e.ndeltas > 0) {
    out << "  ";
    for (size_t d = 0; d < e.ndeltas; ++d) {
      if (d) out << ", ";
      out << Printable(w.str(e.deltas[d].name)) << "="
          << (e.deltas[d].value == replayer::kUnbound ? "<unbound>" : Printable(w.str(e.deltas[d].value)));
    }
  }
  if (e.value != replayer::kNoValue) {
    out << (e.kind == EventKind::kException ? "  !! " : "  -> ") << Printable(w.str(e.value));
  }
  out << "\n";
}

}  // namespace

int Dump(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string path;
  std::string format = "text";
  uint64_t begin = 0, end = UINT64_MAX;
  bool ranged = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (IsHelp(a)) {
      out << kDumpUsage;
      return 0;
    }
    if (a == "--range" || a.rfind("--range=", 0) == 0) ranged = true;
    if (a == "--format" || a == "--range") {
      if (i + 1 >= args.size()) {
        err << "tracetape dump: error: " << a << " needs a value\n" << kUsage;
        return 2;
      }
      const std::string& v = args[++i];
      if (a == "--format") {
        format = v;
      } else if (!ParseRange(v, &begin, &end)) {
        err << "tracetape dump: error: --range wants A:B with 0 <= A <= B (got '" << Printable(v) << "')\n";
        return 2;
      }
    } else if (a.rfind("--format=", 0) == 0) {
      format = a.substr(9);
    } else if (a.rfind("--range=", 0) == 0) {
      if (!ParseRange(a.substr(8), &begin, &end)) {
        err << "tracetape dump: error: --range wants A:B with 0 <= A <= B (got '" << Printable(a.substr(8)) << "')\n";
        return 2;
      }
    } else if (!a.empty() && a[0] == '-' && a != "-") {
      err << "tracetape dump: error: unknown option " << Printable(a) << "\n" << kUsage;
      return 2;
    } else if (path.empty()) {
      path = a;
    } else {
      err << "tracetape dump: error: unexpected argument " << Printable(a) << "\n" << kUsage;
      return 2;
    }
  }
  if (path.empty()) {
    err << "tracetape dump: error: no tape given\n" << kUsage;
    return 2;
  }
  if (format != "text" && format != "jsonl") {
    err << "tracetape dump: error: --format must be text or jsonl (got '" << Printable(format) << "')\n";
    return 2;
  }
  auto opened = OpenTape(path, err);
  if (!opened.tape) return opened.status;
  const Tape& tape = *opened.tape;
  if (ranged && begin > 0 && begin >= tape.event_count()) {
    // As replay's goto: a range wholly past the end names the events there are.
    err << "tracetape dump: error: --range starts at event " << begin << ", past the end: the tape has "
        << (tape.event_count() == 0 ? std::string("no events")
                                    : "events 0 to " + std::to_string(tape.event_count() - 1))
        << "\n";
    return 2;
  }
  bool show_thread = tape.footer() ? tape.footer()->threads.size() > 1 : true;
  size_t first_chunk = tape.ChunkFor(begin);
  for (size_t c = first_chunk; c < tape.chunks().size(); ++c) {
    if (tape.chunks()[c].first_event >= end) break;
    auto chunk = tape.ReadChunk(c);
    if (!chunk.ok()) {
      out.flush();
      err << "tracetape: error: " << Printable(path) << ": " << Printable(chunk.status().message()) << "\n";
      return 1;
    }
    ChunkWalker walker(*chunk);
    while (walker.HasNext()) {
      EventState e;
      Status s = walker.Step(&e);
      if (!s.ok()) {
        out.flush();
        err << "tracetape: error: " << Printable(path) << ": " << Printable(s.message()) << "\n";
        return 1;
      }
      if (e.index < begin) continue;
      if (e.index >= end) break;
      if (format == "jsonl") {
        WriteJsonEvent(e, walker, out);
      } else {
        WriteTextEvent(e, walker, show_thread, out);
      }
    }
  }
  out.flush();
  return ReportTail(tape, err);
}

int Info(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() == 1 && IsHelp(args[0])) {
    out << kInfoUsage;
    return 0;
  }
  if (args.size() != 1 || (!args[0].empty() && args[0][0] == '-')) {
    err << "tracetape info: error: expected exactly one tape\n" << kUsage;
    return 2;
  }
  auto opened = OpenTape(args[0], err);
  if (!opened.tape) return opened.status;
  const Tape& tape = *opened.tape;
  const auto& h = tape.header();
  out << "tape:      " << Printable(tape.path()) << " (" << tape.file_size() << " bytes)\n";
  out << "format:    " << h.format_major << "." << h.format_minor << ", written by "
      << Printable(h.writer_version) << " (" << Printable(h.hook_backend) << " hook)\n";
  out << "python:    " << Printable(h.python_implementation) << " " << Printable(h.python_version) << "\n";
  out << "platform:  " << Printable(h.platform) << "\n";
  out << "argv:     ";
  for (const auto& a : h.argv) out << " " << Printable(a);
  out << "\ncwd:       " << Printable(h.cwd) << "\n";
  out << "pid:       " << h.pid << "\n";
  out << "started:   " << FormatTime(h.start_time_ns) << "\n";
  out << "options:  ";
  for (const auto& [k, v] : h.options) out << " " << Printable(k) << "=" << Printable(v);
  out << "\n";
  if (tape.complete()) {
    out << "status:    complete, ended " << FormatTime(tape.footer()->end_time_ns) << ", exit status "
        << tape.footer()->exit_status << "\n";
    if (!tape.footer()->error.empty()) out << "recorder:  " << Printable(tape.footer()->error) << "\n";
  } else {
    out << "status:    incomplete: " << Printable(tape.tail_status().message()) << "\n";
  }

  uint64_t counts[4] = {0, 0, 0, 0};
  uint64_t dropped = 0;
  std::map<uint32_t, replayer::ThreadDef> threads;
  std::map<std::string, int> files;
  int bad = 0;
  for (size_t c = 0; c < tape.chunks().size(); ++c) {
    auto chunk = tape.ReadChunk(c);
    if (!chunk.ok()) {
      err << "tracetape: error: " << Printable(tape.path()) << ": " << Printable(chunk.status().message()) << "\n";
      bad = 1;
      break;
    }
    for (uint8_t k : chunk->kind) ++counts[k];
    dropped += chunk->dropped_before;
    for (const auto& [i, t] : chunk->threads) threads[i] = t;
    for (const auto& [id, code] : chunk->codes) files[code.file] = 1;
  }
  out << "events:    " << tape.event_count() << " (call " << counts[0] << ", line " << counts[1] << ", return "
      << counts[2] << ", exception " << counts[3] << ") in " << tape.chunks().size() << " chunks\n";
  out << "dropped:   " << dropped << " events\n";
  out << "threads:   " << threads.size() << "\n";
  for (const auto& [i, t] : threads) out << "  " << i << "  " << Printable(t.name) << " (ident " << t.ident << ")\n";
  size_t embedded = 0;  // a source record that says why it holds none is not one
  for (const auto& [f, source] : tape.sources()) embedded += source.omitted_reason.empty() ? 1 : 0;
  out << "files:     " << files.size() << " recorded, " << embedded << " with embedded source\n";
  for (const auto& [f, unused] : files) {
    auto it = tape.sources().find(f);
    out << "  " << Printable(f);
    if (it == tape.sources().end()) {
      out << "  (no source)";
    } else if (!it->second.omitted_reason.empty()) {
      out << "  (source omitted: " << Printable(it->second.omitted_reason) << ")";
    }
    out << "\n";
  }
  return bad;
}

// A chunk's checkpoint continues the previous chunk when every thread's stack
// at the end of that chunk, without the innermost frames the chunk says were
// detached (format 2.1), is its bottom: frames adopted at the boundary (they
// began before the recorder saw them) may only be added on top.
template <typename Stacks>
bool ContinuesFrom(const Stacks& carried, const Stacks& checkpoint, const std::map<uint32_t, uint32_t>& detached) {
  for (const auto& [thread, n] : detached) {
    auto it = carried.find(thread);
    if (it == carried.end() || it->second.size() < n) return false;  // detaches frames it did not have
  }
  for (const auto& [thread, frames] : carried) {
    auto d = detached.find(thread);
    const size_t kept = frames.size() - (d == detached.end() ? 0 : d->second);
    if (kept == 0) continue;
    auto it = checkpoint.find(thread);
    if (it == checkpoint.end() || it->second.size() < kept) return false;
    if (!std::equal(frames.begin(), frames.begin() + static_cast<std::ptrdiff_t>(kept), it->second.begin())) {
      return false;
    }
  }
  return true;
}

int Verify(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.size() == 1 && IsHelp(args[0])) {
    out << kVerifyUsage;
    return 0;
  }
  if (args.size() != 1 || (!args[0].empty() && args[0][0] == '-')) {
    err << "tracetape verify: error: expected exactly one tape\n" << kUsage;
    return 2;
  }
  auto opened = OpenTape(args[0], err);
  if (!opened.tape) return opened.status;
  const Tape& tape = *opened.tape;
  const std::string path = Printable(tape.path());
  // State at the end of the previous chunk, to check against the next
  // chunk's checkpoint: (thread -> [(file, qualname, line, locals)]).
  using FrameKey = std::tuple<std::string, std::string, int32_t, std::map<std::string, std::string>>;
  std::map<uint32_t, std::vector<FrameKey>> carried;
  bool have_carried = false;
  auto snapshot = [](const ChunkWalker& w) {
    std::map<uint32_t, std::vector<FrameKey>> s;
    for (const auto& [t, frames] : w.stacks()) {
      if (frames.empty()) continue;
      auto& v = s[t];
      for (const auto& f : frames) {
        std::map<std::string, std::string> locals;
        for (const auto& b : f.locals) locals[w.str(b.name)] = w.str(b.value);
        v.emplace_back(f.code->file, f.code->qualname, f.line, std::move(locals));
      }
    }
    return s;
  };
  for (size_t c = 0; c < tape.chunks().size(); ++c) {
    auto chunk = tape.ReadChunk(c);
    if (!chunk.ok()) {
      err << "tracetape verify: " << path << ": " << Printable(chunk.status().message()) << "\n";
      return 1;
    }
    ChunkWalker walker(*chunk);
    if (have_carried && chunk->dropped_before == 0 && !ContinuesFrom(carried, snapshot(walker), chunk->detached)) {
      err << "tracetape verify: " << path << ": chunk " << c
          << " starts from a state that differs from where chunk " << c - 1 << " ended\n";
      return 1;
    }
    while (walker.HasNext()) {
      EventState e;
      Status s = walker.Step(&e);
      if (!s.ok()) {
        err << "tracetape verify: " << path << ": " << Printable(s.message()) << "\n";
        return 1;
      }
    }
    // Finish a pending return so the carried state is the state after it.
    carried = snapshot(walker);
    // The walker pops a returning frame lazily; account for it here.
    if (!chunk->kind.empty() && static_cast<EventKind>(chunk->kind.back()) == EventKind::kReturn) {
      auto& v = carried[chunk->thread.back()];
      if (!v.empty()) v.pop_back();
      if (v.empty()) carried.erase(chunk->thread.back());
    }
    have_carried = true;
  }
  if (!tape.complete()) {
    err << "tracetape verify: " << path << ": " << Printable(tape.tail_status().message()) << " ("
        << tape.event_count() << " events readable)\n";
    return 1;
  }
  out << "ok: " << path << ": " << tape.event_count() << " events in " << tape.chunks().size() << " chunks, "
      << tape.sources().size() << " source files, complete\n";
  return 0;
}

namespace {
LineReader g_reader;  // set by Main for the duration of one call
}  // namespace

int Replay(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err) {
  std::string path, goto_spec;
  bool batch = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--batch") {
      batch = true;
    } else if (a == "--goto") {
      if (i + 1 >= args.size()) {
        err << "tracetape replay: error: --goto needs N, start, end or exception\n";
        return 2;
      }
      goto_spec = args[++i];
    } else if (a.rfind("--goto=", 0) == 0) {
      goto_spec = a.substr(7);
    } else if (!a.empty() && a[0] == '-') {
      err << "tracetape replay: error: unknown option " << Printable(a) << "\n" << kUsage;
      return 2;
    } else if (path.empty()) {
      path = a;
    } else {
      err << "tracetape replay: error: unexpected argument " << Printable(a) << "\n" << kUsage;
      return 2;
    }
  }
  if (path.empty()) {
    err << "tracetape replay: error: no tape given\n" << kUsage;
    return 2;
  }
  auto engine = replayer::Engine::Open(path);
  if (!engine.ok()) {
    err << "tracetape: error: " << Printable(engine.status().message()) << "\n";
    return 1;
  }
  const auto& tape = engine.value()->tape();
  if (!tape.complete()) {
    err << "tracetape: warning: " << Printable(path) << ": incomplete tape (" << Printable(tape.tail_status().message())
        << "); replaying the " << tape.event_count() << " events recorded before it ended\n";
  }
  ReplaySession session(std::move(engine).value());
  if (!goto_spec.empty()) {
    if (!session.GotoSpec(goto_spec, out)) return 2;
  } else {
    session.Start(out);
  }
  bool interactive = !batch && ::isatty(0);
  std::string line;
  while (true) {
    if (interactive && g_reader) {
      out.flush();
      if (!g_reader(session.Prompt(), &line)) {
        out << "\n";
        break;
      }
      if (!session.Execute(line, out)) break;
      continue;
    }
    if (interactive || batch) out << session.Prompt();
    out.flush();
    if (!std::getline(in, line)) {
      if (interactive || batch) out << "\n";
      break;
    }
    if (batch) out << line << "\n";
    if (!session.Execute(line, out)) break;
  }
  out.flush();
  return session.errors() > 0 ? 1 : 0;
}

int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const LineReader& reader) {
  g_reader = reader;
  int rc = Main(args, out, err);
  g_reader = nullptr;
  return rc;
}

int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    err << kUsage;
    return 2;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (args[0] == "replay") return Replay(rest, std::cin, out, err);
  if (args[0] == "dump") return Dump(rest, out, err);
  if (args[0] == "info") return Info(rest, out, err);
  if (args[0] == "verify") return Verify(rest, out, err);
  if (args[0] == "export") return Export(rest, out, err);
  if (args[0] == "dap") return Dap(rest, std::cin, out, err);
  if (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    out << kUsage;
    return 0;
  }
  err << "tracetape: error: unknown command '" << Printable(args[0]) << "'\n" << kUsage;
  return 2;
}

}  // namespace tracetape::cli
