// DecodeChunk and ChunkWalker on chunk FlatBuffers that pass (or nearly pass)
// FlatBuffers verification but break the tape's own rules. DESIGN section 6:
// every reader path checks every index and id against its table; the
// Verifier does not (reliability.md, flatbuffers#8950), so these must be
// Corrupt, never a crash.
#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "synthetic_recording.h"
#include "tape_generated.h"
#include "tracetape/recorder/chunk_assembler.h"
#include "tracetape/replayer/tape.h"
#include "tracetape/replayer/timeline.h"

namespace tracetape::replayer {
namespace {

struct FrameParts {
  uint32_t code;
  int32_t line;
  std::vector<fb::Binding> locals;
};

// A small, valid chunk: thread 0 calls code 100 (file 1), sets x = "1" on a
// line event, and returns "2". Each test breaks one thing.
struct ChunkParts {
  uint64_t seq = 0;
  uint64_t first_event = 0;
  std::vector<std::string> strings = {"x", "1", "2"};
  std::vector<std::pair<uint32_t, std::string>> files = {{1, "/a.py"}};
  std::vector<std::pair<uint32_t, uint32_t>> codes = {{100, 1}};  // id, file
  std::vector<uint32_t> threads = {0};
  std::vector<std::pair<uint32_t, std::vector<FrameParts>>> start_state;
  std::vector<uint8_t> kind = {0, 1, 2};
  std::vector<uint16_t> thread = {0, 0, 0};
  std::vector<int32_t> line = {1, 2, 3};
  std::vector<uint32_t> call_code = {100};
  std::vector<uint32_t> delta_event = {1};
  std::vector<fb::Binding> delta_binding = {fb::Binding(0, 1)};
  std::vector<uint32_t> value_event = {2};
  std::vector<uint32_t> value_string = {2};
  bool omit_line_column = false;
  std::vector<fb::Detached> detached;  // format 2.1
};

std::string Build(const ChunkParts& p) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<flatbuffers::Offset<fb::ThreadStack>> stacks;
  for (const auto& [t, frames] : p.start_state) {
    std::vector<flatbuffers::Offset<fb::Frame>> fs;
    for (const auto& f : frames) fs.push_back(fb::CreateFrame(b, f.code, f.line, b.CreateVectorOfStructs(f.locals)));
    stacks.push_back(fb::CreateThreadStack(b, t, b.CreateVector(fs)));
  }
  std::vector<flatbuffers::Offset<fb::File>> files;
  for (const auto& [id, path] : p.files) files.push_back(fb::CreateFile(b, id, b.CreateString(path)));
  std::vector<flatbuffers::Offset<fb::Code>> codes;
  for (const auto& [id, file] : p.codes) {
    codes.push_back(fb::CreateCode(b, id, file, b.CreateString("f"), b.CreateString("f"), 1));
  }
  std::vector<flatbuffers::Offset<fb::Thread>> threads;
  for (uint32_t t : p.threads) threads.push_back(fb::CreateThread(b, t, 1000 + t, b.CreateString("T")));
  auto chunk = fb::CreateChunk(
      b, p.seq, p.first_event, b.CreateVectorOfStrings(p.strings), b.CreateVector(files), b.CreateVector(codes),
      b.CreateVector(threads), b.CreateVector(stacks), b.CreateVector(p.kind), b.CreateVector(p.thread),
      p.omit_line_column ? flatbuffers::Offset<flatbuffers::Vector<int32_t>>() : b.CreateVector(p.line),
      b.CreateVector(p.call_code), b.CreateVector(p.delta_event), b.CreateVectorOfStructs(p.delta_binding),
      b.CreateVector(p.value_event), b.CreateVector(p.value_string), 0, 0, 0, 0, 0, 0, 0, 0,
      p.detached.empty() ? 0 : b.CreateVectorOfStructs(p.detached));
  b.Finish(chunk);
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

void ExpectCorrupt(const ChunkParts& p, const char* why) {
  auto d = DecodeChunk(Build(p));
  ASSERT_FALSE(d.ok()) << why;
  EXPECT_EQ(d.status().code(), Status::Code::kCorrupt) << why << ": " << d.status().ToString();
}

TEST(DecodeChunkTest, WellFormedChunkDecodesAndWalks) {
  auto d = DecodeChunk(Build(ChunkParts()));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->size(), 3u);
  ChunkWalker w(*d);
  EventState e;
  ASSERT_TRUE(w.Step(&e).ok());
  EXPECT_EQ(e.kind, EventKind::kCall);
  EXPECT_EQ(e.depth, 1u);
  ASSERT_TRUE(w.Step(&e).ok());
  EXPECT_EQ(e.kind, EventKind::kLine);
  ASSERT_EQ(e.frame->locals.size(), 1u);
  EXPECT_EQ(w.str(e.frame->locals[0].name), "x");
  EXPECT_EQ(w.str(e.frame->locals[0].value), "1");
  ASSERT_TRUE(w.Step(&e).ok());
  EXPECT_EQ(e.kind, EventKind::kReturn);
  ASSERT_NE(e.value, kNoValue);
  EXPECT_EQ(w.str(e.value), "2");
  EXPECT_FALSE(w.HasNext());
  EXPECT_FALSE(w.Step(&e).ok()) << "stepping past the end is an error, not undefined behaviour";
}

TEST(DecodeChunkTest, BytesThatAreNotAChunkAreCorrupt) {
  for (const std::string& bytes : {std::string(), std::string("abc"), std::string(64, '\0'),
                                   std::string(64, '\xff'), std::string("\x04\x00\x00\x00garbage!", 12)}) {
    auto d = DecodeChunk(bytes);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), Status::Code::kCorrupt);
  }
}

TEST(DecodeChunkTest, EventColumnsOfDifferentLengthsAreCorrupt) {
  ChunkParts p;
  p.thread = {0, 0};
  ExpectCorrupt(p, "thread column short");
  p = ChunkParts();
  p.line = {1, 2, 3, 4};
  ExpectCorrupt(p, "line column long");
  p = ChunkParts();
  p.omit_line_column = true;
  ExpectCorrupt(p, "line column missing");
}

TEST(DecodeChunkTest, UnknownEventKindIsCorrupt) {
  ChunkParts p;
  p.kind = {0, 4, 2};
  ExpectCorrupt(p, "kind 4");
  p.kind = {0, 255, 2};
  ExpectCorrupt(p, "kind 255");
}

TEST(DecodeChunkTest, EventOnAnUndefinedThreadIsCorrupt) {
  ChunkParts p;
  p.thread = {0, 7, 0};
  ExpectCorrupt(p, "thread 7");
}

TEST(DecodeChunkTest, CallCodesMustMatchCallEvents) {
  ChunkParts p;
  p.call_code = {};
  ExpectCorrupt(p, "no call code for a call");
  p.call_code = {100, 100};
  ExpectCorrupt(p, "more call codes than calls");
  p.call_code = {555};
  ExpectCorrupt(p, "call code not in the code table");
}

TEST(DecodeChunkTest, CodeNamingAnUndefinedFileIsCorrupt) {
  ChunkParts p;
  p.codes = {{100, 9}};
  ExpectCorrupt(p, "code in file 9");
}

TEST(DecodeChunkTest, DeltasMustReferToStringsAndEventsInRange) {
  ChunkParts p;
  p.delta_binding = {fb::Binding(3, 1)};
  ExpectCorrupt(p, "delta name out of range");
  p = ChunkParts();
  p.delta_binding = {fb::Binding(0, 3)};
  ExpectCorrupt(p, "delta value out of range");
  p = ChunkParts();
  p.delta_event = {3};
  ExpectCorrupt(p, "delta event past the last event");
  p = ChunkParts();
  p.delta_event = {2, 1};
  p.delta_binding = {fb::Binding(0, 1), fb::Binding(0, 2)};
  ExpectCorrupt(p, "delta events out of order");
  p = ChunkParts();
  p.delta_event = {1, 1};
  ExpectCorrupt(p, "delta columns of different lengths");
}

TEST(DecodeChunkTest, UnboundDeltaIsAccepted) {
  ChunkParts p;
  p.delta_event = {1, 2};
  p.delta_binding = {fb::Binding(0, 1), fb::Binding(0, kUnbound)};
  auto d = DecodeChunk(Build(p));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ChunkWalker w(*d);
  EventState e;
  ASSERT_TRUE(w.Step(&e).ok());
  ASSERT_TRUE(w.Step(&e).ok());
  EXPECT_EQ(e.frame->locals.size(), 1u);
  ASSERT_TRUE(w.Step(&e).ok());
  EXPECT_TRUE(e.frame->locals.empty()) << "an unbound delta deletes the local";
}

TEST(DecodeChunkTest, ValuesMustBelongToReturnOrExceptionEvents) {
  ChunkParts p;
  p.value_event = {1};
  ExpectCorrupt(p, "value on a line event");
  p.value_event = {0};
  ExpectCorrupt(p, "value on a call event");
  p = ChunkParts();
  p.value_event = {3};
  ExpectCorrupt(p, "value event out of range");
  p = ChunkParts();
  p.value_string = {3};
  ExpectCorrupt(p, "value string out of range");
  p = ChunkParts();
  p.value_event = {2, 2};
  p.value_string = {2, 1};
  ExpectCorrupt(p, "two values for one event");
  p = ChunkParts();
  p.value_string = {};
  ExpectCorrupt(p, "value columns of different lengths");
}

TEST(DecodeChunkTest, CheckpointMustReferToDefinedThreadsCodesAndStrings) {
  ChunkParts p;
  p.start_state = {{5, {{100, 1, {}}}}};
  ExpectCorrupt(p, "checkpoint thread undefined");
  p.start_state = {{0, {{555, 1, {}}}}};
  ExpectCorrupt(p, "checkpoint code undefined");
  p.start_state = {{0, {{100, 1, {fb::Binding(0, 9)}}}}};
  ExpectCorrupt(p, "checkpoint binding out of range");
  p.start_state = {{0, {{100, 1, {fb::Binding(0, kUnbound)}}}}};
  ExpectCorrupt(p, "checkpoint binding unbound");
  p.start_state = {{0, {{100, 1, {}}}}, {0, {{100, 2, {}}}}};
  ExpectCorrupt(p, "checkpoint lists a thread twice");
}

// Format 2.1: which threads' frames left the stack just before the chunk.
TEST(DecodeChunkTest, DetachedFramesMustBeOfDefinedThreadsOnceEachAndSomeFrames) {
  ChunkParts p;
  p.seq = 1;
  p.detached = {fb::Detached(0, 2)};
  auto d = DecodeChunk(Build(p));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->detached, (std::map<uint32_t, uint32_t>{{0, 2}}));
  EXPECT_TRUE(DecodeChunk(Build(ChunkParts()))->detached.empty());
  p.detached = {fb::Detached(7, 1)};
  ExpectCorrupt(p, "detached frames of an undefined thread");
  p.detached = {fb::Detached(0, 0)};
  ExpectCorrupt(p, "detaches no frames");
  p.detached = {fb::Detached(0, 1), fb::Detached(0, 1)};
  ExpectCorrupt(p, "detaches a thread's frames twice");
  p.detached = {fb::Detached(0, 1)};
  p.seq = 0;
  ExpectCorrupt(p, "the first chunk has no frames to detach");
}

TEST(DecodeChunkTest, CheckpointFramesAreTheStartingStack) {
  ChunkParts p;
  p.strings = {"x", "1", "2", "y", "outer"};
  p.start_state = {{0, {{100, 7, {fb::Binding(3, 4)}}}}};
  p.kind = {1, 0, 2, 2};
  p.thread = {0, 0, 0, 0};
  p.line = {8, 1, 2, 9};
  p.delta_event = {};
  p.delta_binding = {};
  p.value_event = {2};
  p.value_string = {2};
  auto d = DecodeChunk(Build(p));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ChunkWalker w(*d);
  EventState e;
  ASSERT_TRUE(w.Step(&e).ok());
  EXPECT_EQ(e.depth, 1u);
  ASSERT_EQ(e.frame->locals.size(), 1u);
  EXPECT_EQ(w.str(e.frame->locals[0].name), "y");
  EXPECT_EQ(w.str(e.frame->locals[0].value), "outer");
  ASSERT_TRUE(w.Step(&e).ok());
  EXPECT_EQ(e.depth, 2u);
  EXPECT_TRUE(e.frame->locals.empty());
  ASSERT_TRUE(w.Step(&e).ok());
  EXPECT_EQ(e.depth, 2u);
  ASSERT_TRUE(w.Step(&e).ok());
  EXPECT_EQ(e.depth, 1u) << "the return of the checkpoint frame";
  EXPECT_EQ(e.line, 9);
  EXPECT_EQ(w.str(e.frame->locals[0].value), "outer");
}

TEST(ChunkWalkerTest, EventWithoutAFrameIsCorruptNotACrash) {
  for (uint8_t kind : {1, 2, 3}) {
    ChunkParts p;
    p.kind = {kind};
    p.thread = {0};
    p.line = {1};
    p.call_code = {};
    p.delta_event = {};
    p.delta_binding = {};
    p.value_event = {};
    p.value_string = {};
    auto d = DecodeChunk(Build(p));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ChunkWalker w(*d);
    EventState e;
    Status s = w.Step(&e);
    EXPECT_EQ(s.code(), Status::Code::kCorrupt) << "kind " << int(kind);
  }
}

TEST(ChunkWalkerTest, ReturnPastTheOutermostFrameIsCorrupt) {
  ChunkParts p;
  p.kind = {0, 2, 2};
  p.delta_event = {};
  p.delta_binding = {};
  p.value_event = {};
  p.value_string = {};
  auto d = DecodeChunk(Build(p));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ChunkWalker w(*d);
  EventState e;
  ASSERT_TRUE(w.Step(&e).ok());
  ASSERT_TRUE(w.Step(&e).ok());
  EXPECT_EQ(w.Step(&e).code(), Status::Code::kCorrupt);
}

// Mutation fuzzing of real chunks: whatever a damaged byte does, DecodeChunk
// either rejects the chunk or returns one that is safe to walk to its end.
TEST(DecodeChunkTest, EveryByteMutationOfARealChunkIsRejectedOrSafeToWalk) {
  testing::ProgramSpec spec;
  spec.seed = 11;
  spec.events = 60;
  auto rec = testing::MakeProgram(spec);
  recorder::ChunkAssembler a;
  for (const auto& r : rec.builder.raw()) {
    ASSERT_TRUE(a.Apply(reinterpret_cast<const uint8_t*>(r.data()), r.size()).ok());
  }
  const std::string good = a.Seal();
  ASSERT_TRUE(DecodeChunk(good).ok());
  int accepted = 0, rejected = 0;
  for (size_t i = 0; i < good.size(); ++i) {
    for (unsigned char v : {0x00, 0x01, 0x7f, 0x80, 0xff}) {
      if (static_cast<unsigned char>(good[i]) == v) continue;
      std::string bad = good;
      bad[i] = static_cast<char>(v);
      auto d = DecodeChunk(bad);
      if (!d.ok()) {
        ASSERT_EQ(d.status().code(), Status::Code::kCorrupt);
        ++rejected;
        continue;
      }
      ++accepted;
      ChunkWalker w(*d);
      while (w.HasNext()) {
        EventState e;
        Status s = w.Step(&e);
        if (!s.ok()) {
          ASSERT_EQ(s.code(), Status::Code::kCorrupt);
          break;
        }
        // Everything an event exposes must be readable.
        ASSERT_NE(e.code, nullptr);
        ASSERT_NE(e.frame, nullptr);
        for (const auto& b : e.frame->locals) {
          (void)w.str(b.name).size();
          (void)w.str(b.value).size();
        }
        if (e.value != kNoValue) (void)w.str(e.value).size();
      }
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(accepted, 0) << "some mutations (in values, lines) are undetectable without the record CRC";
}

}  // namespace
}  // namespace tracetape::replayer
