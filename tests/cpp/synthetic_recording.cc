#include "synthetic_recording.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "tracetape/recorder/raw_records.h"
#include "tracetape/recorder/ring_buffer.h"
#include "tracetape/recorder/tape_writer.h"

namespace tracetape::testing {

using recorder::RawTag;
using recorder::RawWriter;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/tracetape-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

bool operator==(const Event& a, const Event& b) {
  return a.index == b.index && a.thread == b.thread && a.kind == b.kind && a.file == b.file && a.func == b.func &&
         a.qualname == b.qualname && a.line == b.line && a.depth == b.depth && a.locals == b.locals &&
         a.value == b.value;
}

bool operator==(const FrameModel& a, const FrameModel& b) {
  return a.file == b.file && a.func == b.func && a.qualname == b.qualname && a.line == b.line && a.locals == b.locals;
}

std::string Describe(const Event& e) {
  static const char* kKinds[] = {"call", "line", "return", "exception"};
  std::ostringstream os;
  os << "#" << e.index << " T" << e.thread << " " << (e.kind >= 0 && e.kind < 4 ? kKinds[e.kind] : "?") << " "
     << e.qualname << " (" << e.func << ", " << e.file << ":" << e.line << ") depth " << e.depth << " {";
  bool first = true;
  for (const auto& [k, v] : e.locals) {
    os << (first ? "" : ", ") << k << "=" << v;
    first = false;
  }
  os << "}";
  if (e.value) os << " -> " << *e.value;
  return os.str();
}

void PrintTo(const Event& e, std::ostream* os) { *os << Describe(e); }

// ---------------------------------------------------------------------------
// RecordingBuilder

void RecordingBuilder::DefineThread(uint32_t index, uint64_t ident, const std::string& name) {
  std::string buf;
  RawWriter w(&buf);
  w.Begin(RawTag::kThreadDef);
  w.U32(index);
  w.U64(ident);
  w.Str(name);
  raw_.push_back(w.Finish());
}

uint32_t RecordingBuilder::DefineFile(const std::string& path, const std::string& source_override) {
  uint32_t id = static_cast<uint32_t>(files_.size()) + 1;
  files_[id] = path;
  std::string buf;
  RawWriter w(&buf);
  w.Begin(RawTag::kFileDef);
  w.U32(id);
  w.Str(path);
  w.Str(source_override);
  raw_.push_back(w.Finish());
  return id;
}

uint32_t RecordingBuilder::DefineCode(uint32_t file, int32_t first_line, const std::string& name,
                                      const std::string& qualname) {
  return DefineCode(file, first_line, name, qualname, {});
}

uint32_t RecordingBuilder::DefineCode(uint32_t file, int32_t first_line, const std::string& name,
                                      const std::string& qualname, const std::vector<std::string>& args) {
  uint32_t id = static_cast<uint32_t>(codes_.size()) + 100;
  codes_[id] = CodeInfo{files_.at(file), name, qualname};
  std::string buf;
  RawWriter w(&buf);
  w.Begin(RawTag::kCodeDef);
  w.U32(id);
  w.U32(file);
  w.I32(first_line);
  w.Str(name);
  w.Str(qualname);
  if (!args.empty()) {
    w.U32(static_cast<uint32_t>(args.size()));
    for (const auto& a : args) w.Str(a);
  }
  raw_.push_back(w.Finish());
  return id;
}

uint32_t RecordingBuilder::NameId(const std::string& name) {
  auto it = names_.find(name);
  if (it != names_.end()) return it->second;
  uint32_t id = static_cast<uint32_t>(names_.size()) + 1000;
  names_.emplace(name, id);
  std::string buf;
  RawWriter w(&buf);
  w.Begin(RawTag::kNameDef);
  w.U32(id);
  w.Str(name);
  raw_.push_back(w.Finish());
  return id;
}

void RecordingBuilder::EmitEvent(uint8_t kind, uint32_t thread, int32_t line, uint32_t code, const Deltas& deltas,
                                 const std::optional<std::string>& value, const int64_t* int_value) {
  // Names are defined before the event that first uses them.
  std::vector<uint32_t> ids;
  for (const auto& d : deltas) ids.push_back(NameId(d.first));
  std::string buf;
  RawWriter w(&buf);
  w.Begin(RawTag::kEvent, kind);
  recorder::RawEvent e{thread, line, code,
                       int_value ? recorder::kIntValue : value ? recorder::kTextValue : recorder::kNoValue};
  w.Put(&e, sizeof(e));
  for (size_t i = 0; i < deltas.size(); ++i) {
    w.U32(ids[i]);
    if (deltas[i].second) {
      PutValue(&w, *deltas[i].second);
    } else {
      w.U32(recorder::kUnboundLength);
    }
  }
  if (int_value) {
    w.U64(static_cast<uint64_t>(*int_value));
  } else if (value) {
    w.Str(*value);
  }
  raw_.push_back(w.Finish(static_cast<uint16_t>(deltas.size())));

  // The model: what a reader must reconstruct.
  auto& stack = stacks_[thread];
  Frame& frame = stack.back();
  frame.line = line;
  for (const auto& [name, v] : deltas) {
    if (v) {
      frame.locals[name] = *v;
    } else {
      frame.locals.erase(name);
    }
  }
  Event ev;
  ev.index = events_.size();
  ev.thread = thread;
  ev.kind = kind;
  const CodeInfo& c = codes_.at(frame.code);
  ev.file = c.file;
  ev.func = c.name;
  ev.qualname = c.qualname;
  ev.line = line;
  ev.depth = static_cast<uint32_t>(stack.size());
  ev.locals = frame.locals;
  ev.value = value;
  for (const auto& d : deltas) ev.changed.push_back(d.first);
  if (keep_stacks_) {
    for (const Frame& f : stack) {
      const CodeInfo& fc = codes_.at(f.code);
      ev.stack.push_back(FrameModel{fc.file, fc.name, fc.qualname, f.line, f.locals});
    }
  }
  events_.push_back(std::move(ev));
}

void RecordingBuilder::Call(uint32_t thread, uint32_t code, int32_t line, const Deltas& args) {
  stacks_[thread].push_back(Frame{code, {}, line});
  EmitEvent(0, thread, line, code, args, std::nullopt);
}

void RecordingBuilder::Line(uint32_t thread, int32_t line, const Deltas& deltas) {
  EmitEvent(1, thread, line, stacks_.at(thread).back().code, deltas, std::nullopt);
}

void RecordingBuilder::Return(uint32_t thread, int32_t line, std::optional<std::string> value, const Deltas& deltas) {
  EmitEvent(2, thread, line, stacks_.at(thread).back().code, deltas, value);
  stacks_[thread].pop_back();
}

void RecordingBuilder::ReturnInt(uint32_t thread, int32_t line, int64_t value) {
  EmitEvent(2, thread, line, stacks_.at(thread).back().code, {}, std::to_string(value), &value);
  stacks_[thread].pop_back();
}

void RecordingBuilder::Exception(uint32_t thread, int32_t line, const std::string& value, const Deltas& deltas) {
  EmitEvent(3, thread, line, stacks_.at(thread).back().code, deltas, value);
}

void RecordingBuilder::Adopt(uint32_t thread, uint32_t code, int32_t line,
                             const std::map<std::string, std::string>& locals) {
  std::vector<uint32_t> ids;
  for (const auto& l : locals) ids.push_back(NameId(l.first));
  std::string buf;
  RawWriter w(&buf);
  w.Begin(RawTag::kAdopt, 0);
  recorder::RawEvent e{thread, line, code, 0};
  w.Put(&e, sizeof(e));
  size_t i = 0;
  for (const auto& l : locals) {
    w.U32(ids[i++]);
    PutValue(&w, l.second);
  }
  raw_.push_back(w.Finish(static_cast<uint16_t>(locals.size())));
  stacks_[thread].push_back(Frame{code, locals, line});
}

void RecordingBuilder::PutValue(recorder::RawWriter* w, const std::string& text) const {
  int64_t word = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), word);
  if (ints_as_words_ && res.ec == std::errc() && res.ptr == text.data() + text.size() &&
      std::to_string(word) == text) {
    w->U32(recorder::kIntLength);
    w->U64(static_cast<uint64_t>(word));
  } else {
    w->Str(text);
  }
}

void RecordingBuilder::ChunkBoundary() {
  if (!boundary_thread_defined_) {
    DefineThread(kBoundaryThread, 0x7e57, "tracetape-test-boundary");
    boundary_thread_defined_ = true;
  }
  Adopt(kBoundaryThread, codes_.begin()->first, 1, {});
}

void RecordingBuilder::Loss(uint64_t n) {
  std::string buf;
  RawWriter w(&buf);
  w.Begin(RawTag::kLoss);
  w.U64(n);
  raw_.push_back(w.Finish());
}

void RecordingBuilder::Detach(uint32_t thread, uint32_t n) { PopUnseen(RawTag::kDetach, thread, n); }

void RecordingBuilder::Unwind(uint32_t thread, uint32_t n) { PopUnseen(RawTag::kUnwind, thread, n); }

void RecordingBuilder::PopUnseen(RawTag tag, uint32_t thread, uint32_t n) {
  std::string buf;
  RawWriter w(&buf);
  w.Begin(tag);
  w.U32(thread);
  w.U32(n);
  raw_.push_back(w.Finish());
  auto& stack = stacks_[thread];
  for (uint32_t i = 0; i < n && !stack.empty(); ++i) stack.pop_back();
}

size_t RecordingBuilder::depth(uint32_t thread) const {
  auto it = stacks_.find(thread);
  return it == stacks_.end() ? 0 : it->second.size();
}

std::vector<Event> RecordingBuilder::EventsInRange(uint64_t begin, uint64_t end) const {
  if (end > events_.size()) end = events_.size();
  if (begin > end) begin = end;
  return std::vector<Event>(events_.begin() + static_cast<ptrdiff_t>(begin),
                            events_.begin() + static_cast<ptrdiff_t>(end));
}

// ---------------------------------------------------------------------------
// MakeProgram

const char kSyntheticPath[] = "/synthetic/app.py";
const char kSyntheticSource[] =
    "import sys\n"
    "\n"
    "def fib(n):\n"
    "    if n < 2:\n"
    "        return n\n"
    "    return fib(n - 1) + fib(n - 2)\n"
    "\n"
    "class Account:\n"
    "    def deposit(self, amount):\n"
    "        self.balance += amount  # caf\xc3\xa9 \xe2\x82\xac\n"
    "\n"
    "def main():\n"
    "    print(fib(5))\n";

namespace {

const char* const kNames[] = {"x", "i", "acc", "name", "data", "n", "result", "caf\xc3\xa9", "tmp", "items"};

const char* const kValues[] = {
    "0", "1", "-7", "3.5", "None", "True", "'ann'", "[1, 2, 3]", "{'a': 1, 'b': [2, 3]}", "''", "",
    "'say \"hi\"'", "'back\\\\slash'", "'tab\\t'", "'line1\nline2'", "'caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80'",
    "'\x1b[31mred\x1b[0m'", "b'\\x00\\xff'", "Account(owner='ann', balance=70)", "(1,)", "frozenset()",
};

const char* const kExceptions[] = {
    "ValueError: invalid literal for int() with base 10: 'x'",
    "KeyError: 'missing'",
    "ZeroDivisionError: division by zero",
    "RuntimeError: multi\nline",
};

}  // namespace

SyntheticRecording MakeProgram(const ProgramSpec& spec) {
  SyntheticRecording rec;
  RecordingBuilder& b = rec.builder;
  b.set_keep_stacks(spec.keep_stacks);
  std::mt19937 rng(spec.seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };

  uint32_t app = b.DefineFile(kSyntheticPath, kSyntheticSource);
  rec.sources[kSyntheticPath] = kSyntheticSource;
  struct CodeRef {
    uint32_t id;
    int32_t first_line;
  };
  const uint32_t module = b.DefineCode(app, 1, "<module>", "<module>");
  std::vector<CodeRef> callable = {
      {b.DefineCode(app, 3, "fib", "fib"), 3},
      {b.DefineCode(app, 9, "deposit", "Account.deposit"), 9},
      {b.DefineCode(app, 12, "main", "main"), 12},
  };
  const uint32_t work = b.DefineCode(app, 20, "work", "Worker.run.<locals>.work");
  if (!spec.disk_file.empty()) {
    uint32_t disk = b.DefineFile(spec.disk_file, "");
    rec.sources[spec.disk_file] = ReadFileBytes(spec.disk_file);
    callable.push_back({b.DefineCode(disk, 1, "helper", "helper"), 1});
    callable.push_back({b.DefineCode(disk, 7, "parse", "Parser.parse"), 7});
  }
  if (spec.with_missing_file) {
    rec.missing_file = "/nonexistent/tracetape-test/gone.py";
    uint32_t gone = b.DefineFile(rec.missing_file, "");
    callable.push_back({b.DefineCode(gone, 1, "gone", "gone"), 1});
  }

  auto value = [&]() -> std::string {
    if (pick(3) == 0) return std::to_string(static_cast<int>(pick(2000)) - 1000);
    return kValues[pick(std::size(kValues))];
  };
  auto deltas = [&](size_t max, bool allow_unbind) {
    RecordingBuilder::Deltas d;
    size_t n = pick(max + 1);
    std::vector<std::string> used;
    for (size_t k = 0; k < n; ++k) {
      std::string name = kNames[pick(std::size(kNames))];
      if (std::find(used.begin(), used.end(), name) != used.end()) continue;
      used.push_back(name);
      if (allow_unbind && pick(10) == 0) {
        d.emplace_back(name, std::nullopt);
      } else {
        d.emplace_back(name, value());
      }
    }
    return d;
  };

  uint32_t next_index = 0;
  auto new_thread = [&](const std::string& name) {
    uint32_t index = next_index++;
    uint64_t ident = 139800000000000ull + index * 4096;
    b.DefineThread(index, ident, name);
    rec.threads[index] = {ident, name};
    return index;
  };

  std::vector<uint32_t> active;
  active.push_back(new_thread("MainThread"));
  b.Adopt(active[0], module, 1, {{"__name__", "'__main__'"}, {"config", "{'debug': False}"}});
  int plain_started = 1;
  int adopted = 0;
  size_t next_adopt = spec.adopt_every;

  while (b.events().size() < spec.events) {
    const size_t n = b.events().size();
    if (spec.adopt_every != 0 && n >= next_adopt && adopted < spec.max_adopted_threads) {
      uint32_t t = new_thread("adopted-" + std::to_string(adopted));
      b.Adopt(t, work, 21, {{"self", "<Worker object>"}, {"k", std::to_string(adopted)}});
      active.push_back(t);
      ++adopted;
      next_adopt += spec.adopt_every;
      continue;
    }
    if (plain_started < spec.plain_threads && n >= 10 && pick(20) == 0) {
      active.push_back(new_thread("worker-" + std::to_string(plain_started)));
      ++plain_started;
    }
    const uint32_t t = active[pick(active.size())];
    const size_t depth = b.depth(t);
    const int32_t line = 1 + static_cast<int32_t>(pick(40));
    if (depth == 0) {
      const CodeRef& c = callable[pick(callable.size())];
      b.Call(t, c.id, c.first_line, deltas(2, false));
      continue;
    }
    size_t r = pick(100);
    if (r < 18 && depth < 12) {
      const CodeRef& c = callable[pick(callable.size())];
      b.Call(t, c.id, c.first_line, deltas(3, false));
    } else if (r < 62 || (r < 88 && depth == 1 && pick(4) != 0)) {
      b.Line(t, line, deltas(3, true));
    } else if (r < 88) {
      std::optional<std::string> v;
      if (pick(10) != 0) v = value();
      b.Return(t, line, v, deltas(1, false));
    } else {
      b.Exception(t, line, kExceptions[pick(std::size(kExceptions))], deltas(1, false));
    }
  }
  return rec;
}

// ---------------------------------------------------------------------------
// Writing and reading

recorder::RecordOptions TestRecordOptions(const std::string& path) {
  recorder::RecordOptions o;
  o.path = path;
  o.ring_bytes = 1u << 20;
  o.zstd_level = 3;
  o.embed_source = true;
  auto& m = o.metadata;
  m.writer_version = "tracetape-test 0.1.0";
  m.python_version = "3.12.3 (main, Apr 10 2024) [GCC 12.2.0]";
  m.python_implementation = "cpython";
  m.platform = "linux-x86_64";
  m.executable = "/usr/bin/python3";
  m.argv = {"app.py", "--n", "3", "caf\xc3\xa9"};
  m.cwd = "/home/ann/project";
  m.start_time_ns = 1700000000123456789;
  m.pid = 4242;
  m.hook_backend = "monitoring";
  m.options = {{"locals", "all"}, {"include", "/home/ann/*"}};
  return o;
}

Status WriteTape(const recorder::RecordOptions& options, const std::vector<std::string>& raw, int exit_status) {
  recorder::RingBuffer ring(options.ring_bytes);
  auto writer = recorder::TapeWriter::Start(options, &ring);
  if (!writer.ok()) return writer.status();
  for (const auto& r : raw) {
    while (!ring.TryWrite(r.data(), r.size())) std::this_thread::yield();
  }
  return (*writer)->Finish(exit_status);
}

Status WriteTapeDefinitionsFirst(const recorder::RecordOptions& options, const std::vector<std::string>& raw,
                                 int exit_status) {
  recorder::RingBuffer ring(options.ring_bytes);
  auto writer = recorder::TapeWriter::Start(options, &ring);
  if (!writer.ok()) return writer.status();
  size_t i = 0;
  for (; i < raw.size(); ++i) {
    recorder::RawHeader h;
    std::memcpy(&h, raw[i].data(), sizeof(h));
    auto tag = static_cast<RawTag>(h.tag);
    if (tag == RawTag::kEvent || tag == RawTag::kAdopt || tag == RawTag::kLoss) break;
    while (!ring.TryWrite(raw[i].data(), raw[i].size())) std::this_thread::yield();
  }
  // The writer drains a batch and then writes the sources it defined before it
  // drains again, so once the ring is empty no chunk can come before them.
  while (!ring.Empty()) std::this_thread::yield();
  for (; i < raw.size(); ++i) {
    while (!ring.TryWrite(raw[i].data(), raw[i].size())) std::this_thread::yield();
  }
  return (*writer)->Finish(exit_status);
}

Event ToEvent(const replayer::EventState& e, const replayer::ChunkWalker& w) {
  Event ev;
  ev.index = e.index;
  ev.thread = e.thread;
  ev.kind = static_cast<int>(e.kind);
  ev.file = e.code->file;
  ev.func = e.code->name;
  ev.qualname = e.code->qualname;
  ev.line = e.line;
  ev.depth = e.depth;
  for (const auto& b : e.frame->locals) ev.locals[w.str(b.name)] = w.str(b.value);
  if (e.value != replayer::kNoValue) ev.value = w.str(e.value);
  return ev;
}

Status ReadChunkEvents(const replayer::Tape& tape, size_t i, std::vector<Event>* out) {
  auto chunk = tape.ReadChunk(i);
  if (!chunk.ok()) return chunk.status();
  replayer::ChunkWalker walker(*chunk);
  while (walker.HasNext()) {
    replayer::EventState e;
    TRACETAPE_RETURN_IF_ERROR(walker.Step(&e));
    out->push_back(ToEvent(e, walker));
  }
  return Status::Ok();
}

bool Matches(const replayer::EventState& e, const replayer::ChunkWalker& w, const Event& want) {
  if (e.index != want.index || e.thread != want.thread || static_cast<int>(e.kind) != want.kind ||
      e.line != want.line || e.depth != want.depth || e.code->file != want.file || e.code->name != want.func ||
      e.code->qualname != want.qualname) {
    return false;
  }
  if ((e.value != replayer::kNoValue) != want.value.has_value()) return false;
  if (want.value && w.str(e.value) != *want.value) return false;
  if (e.frame->locals.size() != want.locals.size()) return false;
  for (const auto& b : e.frame->locals) {
    auto it = want.locals.find(w.str(b.name));
    if (it == want.locals.end() || it->second != w.str(b.value)) return false;
  }
  return true;
}

Status CompareChunk(const replayer::Tape& tape, size_t i, const std::vector<Event>& want, bool* same) {
  *same = true;
  auto chunk = tape.ReadChunk(i);
  if (!chunk.ok()) return chunk.status();
  replayer::ChunkWalker walker(*chunk);
  uint64_t index = chunk->first_event;
  while (walker.HasNext()) {
    replayer::EventState e;
    TRACETAPE_RETURN_IF_ERROR(walker.Step(&e));
    if (index >= want.size() || !Matches(e, walker, want[index])) {
      *same = false;
      return Status::Ok();
    }
    ++index;
  }
  return Status::Ok();
}

Status ReadAllEvents(const replayer::Tape& tape, std::vector<Event>* out) {
  for (size_t i = 0; i < tape.chunks().size(); ++i) TRACETAPE_RETURN_IF_ERROR(ReadChunkEvents(tape, i, out));
  return Status::Ok();
}

}  // namespace tracetape::testing
