// The offline commands through cli::Main (cli/include/tracetape/cli/cli.h):
// exit status 0 for success, 1 for a bad or unreadable tape, 2 for a usage
// error; `verify` exits 0 only for a sound tape (DESIGN section 2); `dump
// --format jsonl` prints one JSON object per event with the documented fields.
#include "tracetape/cli/cli.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "json_reader.h"
#include "synthetic_recording.h"
#include "tracetape/format/layout.h"
#include "tracetape/format/record.h"
#include "tracetape/recorder/raw_records.h"

namespace tracetape::cli {
namespace {

using testing::Event;
using testing::JsonValue;
using testing::ProgramSpec;
using testing::SyntheticRecording;
using testing::TempDir;

struct Result {
  int status;
  std::string out;
  std::string err;
};

Result RunCli(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int rc = Main(args, out, err);
  return {rc, out.str(), err.str()};
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

const char* KindName(int kind) {
  static const char* kNames[] = {"call", "line", "return", "exception"};
  return kNames[kind];
}

// Checks one `dump --format jsonl` line against the event it must describe.
void ExpectJsonEvent(const std::string& line, const Event& e) {
  JsonValue v;
  std::string error;
  ASSERT_TRUE(testing::ParseJson(line, &v, &error)) << error << "\n" << line;
  ASSERT_EQ(v.type, JsonValue::Type::kObject) << line;
  auto num = [&](const char* key) -> int64_t {
    const JsonValue* f = v.Get(key);
    EXPECT_TRUE(f != nullptr && f->is_integer()) << key << " in " << line;
    return f && f->is_integer() ? f->AsInt() : -1;
  };
  auto str = [&](const char* key) -> std::string {
    const JsonValue* f = v.Get(key);
    EXPECT_TRUE(f != nullptr && f->is_string()) << key << " in " << line;
    return f && f->is_string() ? f->string : std::string("<missing>");
  };
  EXPECT_EQ(num("i"), static_cast<int64_t>(e.index));
  EXPECT_EQ(num("thread"), static_cast<int64_t>(e.thread));
  EXPECT_EQ(str("kind"), KindName(e.kind));
  EXPECT_EQ(str("file"), e.file);
  EXPECT_EQ(str("func"), e.func);
  if (const JsonValue* q = v.Get("qualname")) {
    ASSERT_TRUE(q->is_string());
    EXPECT_EQ(q->string, e.qualname);
  }
  EXPECT_EQ(num("line"), e.line);
  EXPECT_EQ(num("depth"), static_cast<int64_t>(e.depth));
  const JsonValue* locals = v.Get("locals");
  ASSERT_NE(locals, nullptr) << line;
  ASSERT_EQ(locals->type, JsonValue::Type::kObject) << line;
  std::map<std::string, std::string> got;
  for (const auto& [k, val] : locals->object) {
    ASSERT_TRUE(val.is_string()) << line;
    got[k] = val.string;
  }
  EXPECT_EQ(got, e.locals) << line;
  const JsonValue* value = v.Get("value");
  if (e.value) {
    ASSERT_NE(value, nullptr) << "missing value in " << line;
    ASSERT_TRUE(value->is_string());
    EXPECT_EQ(value->string, *e.value);
  } else {
    EXPECT_EQ(value, nullptr) << "unexpected value in " << line;
  }
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();

    // Tiny: for checking every field of every jsonl line.
    ProgramSpec spec;
    spec.seed = 4;
    spec.events = 60;
    spec.plain_threads = 2;
    tiny_ = new SyntheticRecording(testing::MakeProgram(spec));
    tiny_path_ = dir_->File("tiny.tape");
    ASSERT_TRUE(testing::WriteTape(testing::TestRecordOptions(tiny_path_), tiny_->builder.raw()).ok());

    // Several chunks without adoption: unique large values fill chunks by size.
    blob_ = new testing::RecordingBuilder();
    uint32_t f = blob_->DefineFile("/blob.py", "x = 1\n");
    uint32_t c = blob_->DefineCode(f, 1, "fill", "fill");
    blob_->DefineThread(0, 1, "MainThread");
    blob_->Call(0, c, 1, {{"n", "1200"}});
    for (int i = 0; i < 1200; ++i) {
      blob_->Line(0, 2 + i % 3, {{"blob", std::to_string(i) + std::string(4000, static_cast<char>('a' + i % 26))}});
    }
    blob_->Return(0, 5, "None");
    blob_path_ = dir_->File("blob.tape");
    ASSERT_TRUE(testing::WriteTape(testing::TestRecordOptions(blob_path_), blob_->raw()).ok());

    // Several chunks because threads are adopted mid-recording.
    spec.seed = 8;
    spec.events = 400;
    spec.adopt_every = 100;
    spec.max_adopted_threads = 3;
    adopted_ = new SyntheticRecording(testing::MakeProgram(spec));
    adopted_path_ = dir_->File("adopted.tape");
    ASSERT_TRUE(testing::WriteTape(testing::TestRecordOptions(adopted_path_), adopted_->builder.raw()).ok());

    // Adopted frames, threads and exceptions, with every event's stack: the
    // model of what `export` must show.
    spec.seed = 11;
    spec.events = 900;
    spec.plain_threads = 3;
    spec.adopt_every = 250;
    spec.max_adopted_threads = 2;
    spec.keep_stacks = true;
    stacked_ = new SyntheticRecording(testing::MakeProgram(spec));
    stacked_path_ = dir_->File("stacked.tape");
    ASSERT_TRUE(testing::WriteTape(testing::TestRecordOptions(stacked_path_), stacked_->builder.raw()).ok());
  }
  static void TearDownTestSuite() {
    delete tiny_;
    delete blob_;
    delete adopted_;
    delete stacked_;
    delete dir_;
  }

  static std::string Bytes(const std::string& path) { return testing::ReadFileBytes(path); }
  static std::string Scratch(const std::string& name, const std::string& bytes) {
    std::string p = dir_->File(name);
    testing::WriteFileBytes(p, bytes);
    return p;
  }
  // Offset of chunk record `k` in the file, from the reader's index.
  static uint64_t ChunkOffset(const std::string& path, size_t k) {
    auto t = replayer::Tape::Open(path);
    EXPECT_TRUE(t.ok());
    return t.ok() && k < (*t)->chunks().size() ? (*t)->chunks()[k].offset : 0;
  }

  static TempDir* dir_;
  static SyntheticRecording* tiny_;
  static std::string tiny_path_;
  static testing::RecordingBuilder* blob_;
  static std::string blob_path_;
  static SyntheticRecording* adopted_;
  static std::string adopted_path_;
  static SyntheticRecording* stacked_;
  static std::string stacked_path_;
};

TempDir* CliTest::dir_ = nullptr;
SyntheticRecording* CliTest::tiny_ = nullptr;
std::string CliTest::tiny_path_;
testing::RecordingBuilder* CliTest::blob_ = nullptr;
std::string CliTest::blob_path_;
SyntheticRecording* CliTest::adopted_ = nullptr;
std::string CliTest::adopted_path_;
SyntheticRecording* CliTest::stacked_ = nullptr;
std::string CliTest::stacked_path_;

// --- verify

TEST_F(CliTest, VerifyAcceptsASoundTape) {
  Result r = RunCli({"verify", tiny_path_});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(CliTest, VerifyAcceptsASoundMultiChunkTape) {
  auto t = replayer::Tape::Open(blob_path_);
  ASSERT_TRUE(t.ok());
  ASSERT_GE((*t)->chunks().size(), 3u) << "the test needs several chunks";
  Result r = RunCli({"verify", blob_path_});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST_F(CliTest, VerifyAcceptsThreadsAdoptedMidRecording) {
  // A thread that was running before recording started is adopted with its
  // frame when first seen; that frame legitimately appears in the next
  // chunk's checkpoint without a call event before it.
  auto t = replayer::Tape::Open(adopted_path_);
  ASSERT_TRUE(t.ok());
  ASSERT_TRUE((*t)->complete());
  ASSERT_GE((*t)->chunks().size(), 3u);
  std::vector<Event> got;
  ASSERT_TRUE(testing::ReadAllEvents(**t, &got).ok());
  ASSERT_EQ(got, adopted_->events()) << "the tape itself reads back exactly";
  Result r = RunCli({"verify", adopted_path_});
  EXPECT_EQ(r.status, 0) << r.err;
}

// The raw records of a generator that throw() ran through a delegating
// frame: adopted at its call (linked, without events) and detached when it
// returns (format 2.1's Chunk.detached), beside a second thread's frame.
// With `unexplained` > 0, an unwind of that many frames without a loss
// follows the detach: frames gone that nothing on the tape accounts for.
std::vector<std::string> ThrowThroughDelegation(uint32_t unexplained) {
  testing::RecordingBuilder b;
  const uint32_t file = b.DefineFile("/a.py", "x\n");
  const uint32_t caller = b.DefineCode(file, 1, "caller", "caller");
  const uint32_t outer = b.DefineCode(file, 5, "outer", "outer");
  const uint32_t inner = b.DefineCode(file, 9, "inner", "inner");
  b.DefineThread(0, 1, "MainThread");
  b.DefineThread(1, 2, "worker");
  b.Call(1, caller, 1);                                       // 0
  b.Call(0, caller, 1);                                       // 1
  b.Call(0, caller, 1);                                       // 2
  b.Adopt(0, outer, 6, {{"marker", "'outer'"}});
  b.Call(0, inner, 10);                                       // 3
  b.Exception(0, 10, "KeyError('k')");                        // 4
  b.Return(0, 10, "2");                                       // 5
  b.Detach(0, 1);
  if (unexplained > 0) b.Unwind(0, unexplained);
  b.Line(0, 2);                                               // 6
  b.Line(1, 2);                                               // 7
  return b.raw();
}

TEST_F(CliTest, VerifyAcceptsFramesDetachedWithoutALossAndNothingElse) {
  const std::string good = dir_->File("detached.tape");
  ASSERT_TRUE(testing::WriteTape(testing::TestRecordOptions(good), ThrowThroughDelegation(0)).ok());
  Result r = RunCli({"verify", good});
  EXPECT_EQ(r.status, 0) << r.err;
  Result info = RunCli({"info", good});
  EXPECT_NE(info.out.find("dropped:   0 events"), std::string::npos) << info.out;
  // One more frame gone than the chunk says were detached: not a sound tape.
  const std::string bad = dir_->File("detached-and-more.tape");
  ASSERT_TRUE(testing::WriteTape(testing::TestRecordOptions(bad), ThrowThroughDelegation(1)).ok());
  r = RunCli({"verify", bad});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("chunk 2 starts from a state that differs from where chunk 1 ended"), std::string::npos)
      << r.err;
}

// Frames gone at a chunk boundary with neither a loss nor a detach: verify
// says where.
TEST_F(CliTest, VerifyRejectsACheckpointThatLostFramesUnexplained) {
  testing::RecordingBuilder b;
  const uint32_t file = b.DefineFile("/a.py", "x\n");
  const uint32_t f = b.DefineCode(file, 1, "f", "f");
  b.DefineThread(0, 1, "MainThread");
  b.Call(0, f, 1);
  b.Call(0, f, 1);
  b.Line(0, 2);
  b.Unwind(0, 1);  // and no loss after it
  b.Line(0, 3);
  const std::string tape = dir_->File("unexplained.tape");
  ASSERT_TRUE(testing::WriteTape(testing::TestRecordOptions(tape), b.raw()).ok());
  Result r = RunCli({"verify", tape});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("chunk 1 starts from a state that differs from where chunk 0 ended"), std::string::npos)
      << r.err;
}

TEST_F(CliTest, VerifyRejectsATruncatedTape) {
  const std::string bytes = Bytes(blob_path_);
  for (uint64_t cut : {bytes.size() - 1, bytes.size() / 2, static_cast<size_t>(ChunkOffset(blob_path_, 2))}) {
    Result r = RunCli({"verify", Scratch("cut.tape", bytes.substr(0, cut))});
    EXPECT_EQ(r.status, 1) << "cut at " << cut;
    EXPECT_FALSE(r.err.empty());
  }
}

TEST_F(CliTest, VerifyRejectsACorruptedChunk) {
  std::string bytes = Bytes(blob_path_);
  uint64_t off = ChunkOffset(blob_path_, 1) + format::kRecordHeaderSize + 5;
  bytes[off] = static_cast<char>(bytes[off] ^ 0x40);
  Result r = RunCli({"verify", Scratch("flip.tape", bytes)});
  EXPECT_EQ(r.status, 1);
  EXPECT_FALSE(r.err.empty());
}

TEST_F(CliTest, VerifyRejectsFilesThatAreNotTapes) {
  EXPECT_EQ(RunCli({"verify", dir_->File("does-not-exist.tape")}).status, 1);
  EXPECT_EQ(RunCli({"verify", Scratch("text.tape", "hello\n")}).status, 1);
  EXPECT_EQ(RunCli({"verify", Scratch("empty.tape", "")}).status, 1);
  EXPECT_EQ(RunCli({"verify", dir_->path()}).status, 1);
}

// --- dump

TEST_F(CliTest, DumpJsonlLinesParseAsTheRecordedEvents) {
  Result r = RunCli({"dump", tiny_path_, "--format", "jsonl"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  const auto& events = tiny_->events();
  ASSERT_EQ(lines.size(), events.size()) << r.out;
  for (size_t i = 0; i < lines.size(); ++i) {
    SCOPED_TRACE("event " + std::to_string(i));
    ExpectJsonEvent(lines[i], events[i]);
  }
}

TEST_F(CliTest, DumpJsonlAcceptsTheEqualsForm) {
  Result a = RunCli({"dump", tiny_path_, "--format", "jsonl"});
  Result b = RunCli({"dump", "--format=jsonl", tiny_path_});
  EXPECT_EQ(b.status, 0);
  EXPECT_EQ(a.out, b.out);
}

TEST_F(CliTest, DumpJsonlOfSeveralChunksIsTheWholeStream) {
  Result r = RunCli({"dump", blob_path_, "--format", "jsonl"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), blob_->events().size());
  for (size_t i = 0; i < lines.size(); i += 97) ExpectJsonEvent(lines[i], blob_->events()[i]);
  ExpectJsonEvent(lines.back(), blob_->events().back());
}

TEST_F(CliTest, DumpRangeSelectsHalfOpenIntervals) {
  const auto& events = tiny_->events();
  struct Case {
    std::string spec;
    size_t begin, end;
  };
  for (const Case& c : {Case{"5:12", 5, 12}, Case{"30:", 30, events.size()}, Case{":3", 0, 3}, Case{"7:7", 7, 7},
                        Case{"0:100000", 0, events.size()}}) {
    Result r = RunCli({"dump", tiny_path_, "--format", "jsonl", "--range", c.spec});
    ASSERT_EQ(r.status, 0) << c.spec << ": " << r.err;
    std::vector<std::string> lines = Lines(r.out);
    ASSERT_EQ(lines.size(), c.end - c.begin) << c.spec;
    for (size_t i = 0; i < lines.size(); ++i) ExpectJsonEvent(lines[i], events[c.begin + i]);
  }
}

TEST_F(CliTest, DumpRangeAcrossChunkBoundaries) {
  auto t = replayer::Tape::Open(blob_path_);
  ASSERT_TRUE(t.ok());
  const uint64_t boundary = (*t)->chunks()[1].first_event;
  const uint64_t a = boundary - 3, b = boundary + 4;
  Result r = RunCli({"dump", blob_path_, "--format=jsonl", "--range=" + std::to_string(a) + ":" + std::to_string(b)});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), b - a);
  for (size_t i = 0; i < lines.size(); ++i) ExpectJsonEvent(lines[i], blob_->events()[a + i]);
}

TEST_F(CliTest, DumpTextPrintsOneLinePerEventWithoutControlCharacters) {
  // Recorded values include ESC sequences and newlines: a tape is untrusted
  // and must not drive the user's terminal.
  Result r = RunCli({"dump", tiny_path_});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(Lines(r.out).size(), tiny_->events().size());
  for (unsigned char c : r.out) {
    ASSERT_TRUE(c == '\n' || (c >= 0x20 && c != 0x7f)) << "control byte " << int(c) << " in text dump";
  }
}

TEST_F(CliTest, DumpOfATruncatedTapePrintsTheRecoveredPrefix) {
  const std::string bytes = Bytes(blob_path_);
  const uint64_t cut = ChunkOffset(blob_path_, 2) + 10;
  Result r = RunCli({"dump", Scratch("cut.tape", bytes.substr(0, cut)), "--format", "jsonl"});
  EXPECT_NE(r.status, 2);
  EXPECT_FALSE(r.err.empty()) << "the user must be told the tape is incomplete";
  std::vector<std::string> lines = Lines(r.out);
  auto t = replayer::Tape::Open(blob_path_);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(lines.size(), (*t)->chunks()[2].first_event) << "exactly the two complete chunks";
  ExpectJsonEvent(lines.front(), blob_->events().front());
  ExpectJsonEvent(lines.back(), blob_->events()[lines.size() - 1]);
}

TEST_F(CliTest, DumpOfACorruptedChunkFailsAfterTheChunksBeforeIt) {
  std::string bytes = Bytes(blob_path_);
  uint64_t off = ChunkOffset(blob_path_, 1) + format::kRecordHeaderSize + 5;
  bytes[off] = static_cast<char>(bytes[off] ^ 0x40);
  Result r = RunCli({"dump", Scratch("flip.tape", bytes), "--format", "jsonl"});
  EXPECT_EQ(r.status, 1);
  EXPECT_FALSE(r.err.empty());
  std::vector<std::string> lines = Lines(r.out);
  auto t = replayer::Tape::Open(blob_path_);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(lines.size(), (*t)->chunks()[1].first_event);
}

// --- info

TEST_F(CliTest, InfoDescribesACompleteTape) {
  Result r = RunCli({"info", tiny_path_});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find(std::to_string(tiny_->events().size())), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("complete"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(testing::kSyntheticPath), std::string::npos) << r.out;
}

TEST_F(CliTest, InfoOnANonTapeFails) {
  EXPECT_EQ(RunCli({"info", Scratch("junk.tape", "junk")}).status, 1);
}

// --- usage

TEST_F(CliTest, UsageErrorsExitWithTwo) {
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"bogus"},
      {"dump"},
      {"dump", tiny_path_, "--format", "xml"},
      {"dump", tiny_path_, "--format"},
      {"dump", tiny_path_, "--range"},
      {"dump", tiny_path_, "--range", "5"},
      {"dump", tiny_path_, "--range", "9:3"},
      {"dump", tiny_path_, "--range", "a:b"},
      {"dump", tiny_path_, "--range", "-1:3"},
      {"dump", tiny_path_, "--bogus"},
      {"dump", tiny_path_, tiny_path_},
      {"verify"},
      {"verify", tiny_path_, tiny_path_},
      {"verify", "--bogus"},
      {"info"},
      {"info", tiny_path_, tiny_path_},
      {"export"},
      {"export", tiny_path_, "--format", "svg"},
      {"export", tiny_path_, "--format"},
      {"export", tiny_path_, "-o"},
      {"export", tiny_path_, "--bogus"},
      {"export", tiny_path_, tiny_path_},
      {"dap", "--bogus"},
      {"dap", tiny_path_},
  };
  for (const auto& args : cases) {
    std::string joined;
    for (const auto& a : args) joined += " " + a;
    Result r = RunCli(args);
    EXPECT_EQ(r.status, 2) << "args:" << joined;
    EXPECT_FALSE(r.err.empty()) << "args:" << joined;
    EXPECT_TRUE(r.out.empty()) << "args:" << joined;
  }
}

TEST_F(CliTest, HelpExitsWithZero) {
  Result r = RunCli({"--help"});
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.out.empty());
  // Each command's own usage, whatever else is on the line.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"dump", "--help"}, {"dump", tiny_path_, "-h"}, {"info", "--help"},
                                             {"verify", "-h"}, {"export", "--help"}}) {
    Result h = RunCli(args);
    EXPECT_EQ(h.status, 0) << args[0] << ": " << h.err;
    EXPECT_TRUE(h.err.empty()) << args[0] << ": " << h.err;
    EXPECT_EQ(h.out.rfind("usage: tracetape " + args[0] + " ", 0), 0u) << h.out;
  }
}

TEST_F(CliTest, DumpRangePastTheEndNamesTheEventsThereAre) {
  const size_t n = tiny_->events().size();
  Result r = RunCli({"dump", tiny_path_, "--range", std::to_string(n + 10) + ":" + std::to_string(n + 20)});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(r.out.empty());
  EXPECT_NE(r.err.find("past the end: the tape has events 0 to " + std::to_string(n - 1)), std::string::npos) << r.err;
  // A range that overlaps the end prints what there is.
  Result part = RunCli({"dump", tiny_path_, "--range", std::to_string(n - 2) + ":" + std::to_string(n + 20)});
  EXPECT_EQ(part.status, 0) << part.err;
  EXPECT_EQ(Lines(part.out).size(), 2u);
}

// --- export

// One opening or closing of a frame on a thread's timeline: `text` is the
// frame's qualname for an opening, the return value's text for a closing.
struct Span {
  uint32_t thread;
  bool open;
  uint64_t at;
  std::string text;
  bool operator==(const Span& o) const {
    return thread == o.thread && open == o.open && at == o.at && text == o.text;
  }
};

std::ostream& operator<<(std::ostream& os, const Span& s) {
  return os << "T" << s.thread << (s.open ? " open " : " close ") << s.at << " " << s.text;
}

// What an export of a complete tape without dropped events must show, from
// the model's events: a frame opens at its call event, or, adopted (it began
// before the recording), at the first event that has it on the stack; it
// closes after its return event, with the return value; what is still open
// at the end closes at the end.
std::vector<Span> ExpectedSpans(const std::vector<Event>& events, const char* unfinished) {
  std::vector<Span> spans;
  std::map<uint32_t, size_t> open;  // thread -> frames open
  uint64_t end = 0;
  for (const Event& e : events) {
    size_t& n = open[e.thread];
    const size_t keep = e.kind == 0 ? e.stack.size() - 1 : e.stack.size();
    EXPECT_LE(n, keep) << "a frame left without a return at event " << e.index;
    for (; n < e.stack.size(); ++n) spans.push_back({e.thread, true, e.index, e.stack[n].qualname});
    if (e.kind == 2) {
      spans.push_back({e.thread, false, e.index + 1, e.value.value_or("None")});
      --n;
    }
    end = e.index + 1;
  }
  for (auto& [thread, n] : open) {
    for (; n > 0; --n) spans.push_back({thread, false, end, unfinished});
  }
  return spans;
}

// The spans of a Chrome trace, in file order, with its exceptions: (thread,
// ts, text) of every instant event. Checks what every event must have.
std::vector<Span> ChromeSpans(const std::string& text, std::vector<Span>* exceptions) {
  std::vector<Span> spans;
  JsonValue v;
  std::string error;
  EXPECT_TRUE(testing::ParseJson(text, &v, &error)) << error;
  const JsonValue* events = v.Get("traceEvents");
  EXPECT_TRUE(events != nullptr && events->type == JsonValue::Type::kArray);
  if (events == nullptr) return spans;
  for (const JsonValue& e : events->array) {
    const JsonValue* ph = e.Get("ph");
    const JsonValue* tid = e.Get("tid");
    EXPECT_TRUE(ph && ph->is_string() && tid && tid->is_integer() && e.Get("pid"));
    if (!ph || !tid || ph->string == "M") continue;
    const JsonValue* ts = e.Get("ts");
    const JsonValue* args = e.Get("args");
    EXPECT_TRUE(ts && ts->is_integer() && args);
    if (!ts || !args) continue;
    Span s{static_cast<uint32_t>(tid->AsInt()), ph->string == "B", static_cast<uint64_t>(ts->AsInt()), ""};
    auto text = [&](const JsonValue* v, const char* what) {
      EXPECT_TRUE(v != nullptr && v->is_string()) << what << " missing";
      return v != nullptr && v->is_string() ? v->string : std::string("<missing>");
    };
    if (ph->string == "B") {
      s.text = text(e.Get("name"), "name");
      EXPECT_TRUE(args->Get("file") && args->Get("line"));
    } else if (ph->string == "E") {
      s.text = text(args->Get("return"), "return");
    } else if (ph->string == "i") {
      s.text = text(args->Get("exception"), "exception");
      exceptions->push_back(s);
      continue;
    } else {
      ADD_FAILURE() << "unexpected phase " << ph->string;
    }
    spans.push_back(s);
  }
  return spans;
}

// Spans ordered by thread, then as they came (a stable sort).
std::vector<Span> ByThread(std::vector<Span> spans) {
  std::stable_sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.thread < b.thread; });
  return spans;
}

TEST_F(CliTest, ExportChromeOpensAndClosesEveryFrameAsTheTapeDoes) {
  const std::string out = dir_->File("stacked.trace.json");
  Result r = RunCli({"export", stacked_path_, "-o", out});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find(out), std::string::npos) << "says where it wrote: " << r.err;
  std::vector<Span> exceptions;
  const std::vector<Span> got = ChromeSpans(Bytes(out), &exceptions);
  const std::vector<Span> want = ExpectedSpans(stacked_->events(), "(the recording ended before it returned)");
  ASSERT_GT(want.size(), 100u);
  EXPECT_EQ(ByThread(got), ByThread(want));
  // The whole file in event order (a viewer reads the array as it comes).
  for (size_t i = 1; i < got.size(); ++i) EXPECT_LE(got[i - 1].at, got[i].at) << got[i - 1] << " / " << got[i];
  std::vector<Span> raised;
  for (const Event& e : stacked_->events()) {
    if (e.kind == 3) raised.push_back({e.thread, false, e.index, e.value.value_or("(not recorded)")});
  }
  ASSERT_FALSE(raised.empty());
  EXPECT_EQ(exceptions, raised);
}

TEST_F(CliTest, ExportSpeedscopeGivesEachThreadItsFramesInOrder) {
  const std::string out = dir_->File("stacked.speedscope.json");
  Result r = RunCli({"export", stacked_path_, "--format=speedscope", "--output", out});
  ASSERT_EQ(r.status, 0) << r.err;
  JsonValue v;
  std::string error;
  ASSERT_TRUE(testing::ParseJson(Bytes(out), &v, &error)) << error;
  ASSERT_EQ(v.Get("$schema")->string, "https://www.speedscope.app/file-format-schema.json");
  std::vector<std::string> frames;
  for (const JsonValue& f : v.Get("shared")->Get("frames")->array) frames.push_back(f.Get("name")->string);
  std::vector<Span> want;
  for (const Span& s : ByThread(ExpectedSpans(stacked_->events(), ""))) {
    want.push_back({s.thread, s.open, s.at, s.open ? s.text : ""});
  }
  std::vector<Span> got;
  std::set<uint32_t> threads;
  for (const JsonValue& p : v.Get("profiles")->array) {
    EXPECT_EQ(p.Get("type")->string, "evented");
    EXPECT_EQ(p.Get("unit")->string, "none");
    // "thread N (name)": the thread's number on the tape first.
    const std::string& name = p.Get("name")->string;
    ASSERT_EQ(name.rfind("thread ", 0), 0u) << name;
    const uint32_t thread = static_cast<uint32_t>(std::stoul(name.substr(7)));
    EXPECT_TRUE(threads.insert(thread).second) << "one profile per thread";
    const uint64_t start = p.Get("startValue")->AsInt(), end = p.Get("endValue")->AsInt();
    std::vector<std::string> open;
    for (const JsonValue& e : p.Get("events")->array) {
      const std::string& type = e.Get("type")->string;
      const uint64_t at = e.Get("at")->AsInt();
      const int64_t frame = e.Get("frame")->AsInt();
      ASSERT_TRUE(frame >= 0 && frame < static_cast<int64_t>(frames.size()));
      EXPECT_TRUE(at >= start && at <= end);
      if (!got.empty() && got.back().thread == thread) EXPECT_LE(got.back().at, at);
      if (type == "O") {
        open.push_back(frames[frame]);
        got.push_back({thread, true, at, frames[frame]});
      } else {
        ASSERT_EQ(type, "C");
        // speedscope wants each close to name the frame it closes.
        ASSERT_FALSE(open.empty());
        EXPECT_EQ(frames[frame], open.back());
        open.pop_back();
        got.push_back({thread, false, at, ""});
      }
    }
    EXPECT_TRUE(open.empty());
  }
  EXPECT_EQ(got, want);
}

TEST_F(CliTest, ExportOfATruncatedTapeClosesWhatWasOpenAtItsEnd) {
  const std::string bytes = Bytes(blob_path_);
  const uint64_t cut = ChunkOffset(blob_path_, 2) + 10;
  const std::string out = dir_->File("cut.trace.json");
  Result r = RunCli({"export", Scratch("cut-export.tape", bytes.substr(0, cut)), "-o", out});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.err.find("incomplete"), std::string::npos) << r.err;
  auto t = replayer::Tape::Open(blob_path_);
  ASSERT_TRUE(t.ok());
  const uint64_t end = (*t)->chunks()[2].first_event;
  std::vector<Span> exceptions;
  const std::vector<Span> want = {{0, true, 0, "fill"}, {0, false, end, "(the recording ended before it returned)"}};
  EXPECT_EQ(ChromeSpans(Bytes(out), &exceptions), want);
}

TEST_F(CliTest, ExportOfACorruptedChunkExportsTheChunksBeforeItAndFails) {
  std::string bytes = Bytes(blob_path_);
  uint64_t off = ChunkOffset(blob_path_, 1) + format::kRecordHeaderSize + 5;
  bytes[off] = static_cast<char>(bytes[off] ^ 0x40);
  const std::string out = dir_->File("flip.trace.json");
  Result r = RunCli({"export", Scratch("flip-export.tape", bytes), "-o", out});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("error"), std::string::npos) << r.err;
  auto t = replayer::Tape::Open(blob_path_);
  ASSERT_TRUE(t.ok());
  std::vector<Span> exceptions;
  const uint64_t end = (*t)->chunks()[1].first_event;
  const std::vector<Span> want = {{0, true, 0, "fill"}, {0, false, end, "(the recording ended before it returned)"}};
  EXPECT_EQ(ChromeSpans(Bytes(out), &exceptions), want) << "valid JSON of what could be read";
}

// Frames that ended in a gap (their returns dropped: the unwind record a
// recording writes when the hook comes back) close where the gap is, on
// every thread, whether or not it has another event; the others go on.
TEST_F(CliTest, ExportClosesTheFramesAGapEndedWhereTheGapIs) {
  testing::RecordingBuilder b;
  const uint32_t file = b.DefineFile("/a.py", "x\n");
  const uint32_t f = b.DefineCode(file, 1, "f", "f");
  const uint32_t g = b.DefineCode(file, 5, "g", "g");
  b.DefineThread(0, 1, "MainThread");
  b.DefineThread(1, 2, "worker");
  b.Call(0, f, 1);  // 0
  b.Call(0, g, 5);  // 1
  b.Call(1, g, 5);  // 2
  b.Line(1, 6);     // 3
  b.Unwind(0, 1);   // a frame of each thread ended unseen
  b.Unwind(1, 1);
  b.Loss(3);
  b.Line(0, 2);        // 4
  b.Return(0, 3, "7");  // 5
  const std::string tape = dir_->File("gap.tape");
  ASSERT_TRUE(testing::WriteTape(testing::TestRecordOptions(tape), b.raw()).ok());
  Result r = RunCli({"export", tape, "-o", "-"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<Span> exceptions;
  const char* gap = "(its return was among the events the recorder dropped)";
  const std::vector<Span> want = {{0, true, 0, "f"}, {0, true, 1, "g"}, {1, true, 2, "g"},
                                  {0, false, 4, gap}, {1, false, 4, gap}, {0, false, 6, "7"}};
  EXPECT_EQ(ChromeSpans(r.out, &exceptions), want);
}

// Frames linked above a generator that throw() ran close where they were
// detached, saying why; the rest go on.
TEST_F(CliTest, ExportClosesDetachedFramesWhereTheyLeftTheStack) {
  const std::string tape = dir_->File("detached-export.tape");
  ASSERT_TRUE(testing::WriteTape(testing::TestRecordOptions(tape), ThrowThroughDelegation(0)).ok());
  Result r = RunCli({"export", tape, "-o", "-"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<Span> exceptions;
  const char* why =
      "(it did not run: throw() went through it to the generator it delegates to, which returned or yielded)";
  const char* end = "(the recording ended before it returned)";
  const std::vector<Span> want = {{1, true, 0, "caller"}, {0, true, 1, "caller"}, {0, true, 2, "caller"},
                                  {0, true, 3, "outer"},  {0, true, 3, "inner"},  {0, false, 6, "2"},
                                  {0, false, 6, why},     {0, false, 8, end},     {0, false, 8, end},
                                  {1, false, 8, end}};
  EXPECT_EQ(ChromeSpans(r.out, &exceptions), want);
}

// speedscope's file lists each thread's events together: past its memory
// budget the export keeps them in a temporary file, with the same result.
TEST_F(CliTest, ExportSpeedscopeSpillsPastItsMemoryBudgetWithTheSameFile) {
  Result whole = RunCli({"export", stacked_path_, "--format", "speedscope", "-o", "-"});
  ASSERT_EQ(whole.status, 0) << whole.err;
  ::setenv("TRACETAPE_EXPORT_BUDGET", "64", 1);  // four events at a time
  Result spilled = RunCli({"export", stacked_path_, "--format", "speedscope", "-o", "-"});
  ::unsetenv("TRACETAPE_EXPORT_BUDGET");
  ASSERT_EQ(spilled.status, 0) << spilled.err;
  EXPECT_NE(spilled.err.find("temporary file"), std::string::npos) << "it spilled: " << spilled.err;
  EXPECT_EQ(whole.err.find("temporary file"), std::string::npos) << whole.err;
  EXPECT_GT(whole.out.size(), 10000u);
  EXPECT_EQ(spilled.out, whole.out);
}

TEST_F(CliTest, ExportRefusesToWriteOverTheTape) {
  const std::string tape = Scratch("self.tape", Bytes(tiny_path_));
  Result r = RunCli({"export", tape, "-o", tape});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("the tape itself"), std::string::npos) << r.err;
  EXPECT_EQ(Bytes(tape), Bytes(tiny_path_));
}

TEST_F(CliTest, ExportToStdoutAndItsDefaultName) {
  Result r = RunCli({"export", tiny_path_, "-o", "-"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<Span> exceptions;
  EXPECT_FALSE(ChromeSpans(r.out, &exceptions).empty());
  // FILE.tape -> FILE.trace.json / FILE.speedscope.json, next to the tape.
  const std::string tape = Scratch("named.tape", Bytes(tiny_path_));
  ASSERT_EQ(RunCli({"export", tape}).status, 0);
  ASSERT_EQ(RunCli({"export", tape, "--format", "speedscope"}).status, 0);
  EXPECT_EQ(Bytes(dir_->File("named.trace.json")).rfind("{\"traceEvents\": [", 0), 0u);
  EXPECT_NE(Bytes(dir_->File("named.speedscope.json")).find("speedscope"), std::string::npos);
}

TEST_F(CliTest, ExportSaysWhyItCannotWrite) {
  Result r = RunCli({"export", tiny_path_, "-o", dir_->File("no/such/dir/x.json")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cannot write"), std::string::npos) << r.err;
  r = RunCli({"export", dir_->File("missing.tape")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("missing.tape"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace tracetape::cli
