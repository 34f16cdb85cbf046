// The offline commands through cli::Main (cli/include/tracetape/cli/cli.h):
// exit status 0 for success, 1 for a bad or unreadable tape, 2 for a usage
// error; `verify` exits 0 only for a sound tape (DESIGN section 2); `dump
// --format jsonl` prints one JSON object per event with the documented fields.
#include "tracetape/cli/cli.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "json_reader.h"
#include "synthetic_recording.h"
#include "tracetape/format/layout.h"
#include "tracetape/format/record.h"

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
  }
  static void TearDownTestSuite() {
    delete tiny_;
    delete blob_;
    delete adopted_;
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
};

TempDir* CliTest::dir_ = nullptr;
SyntheticRecording* CliTest::tiny_ = nullptr;
std::string CliTest::tiny_path_;
testing::RecordingBuilder* CliTest::blob_ = nullptr;
std::string CliTest::blob_path_;
SyntheticRecording* CliTest::adopted_ = nullptr;
std::string CliTest::adopted_path_;

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
}

}  // namespace
}  // namespace tracetape::cli
