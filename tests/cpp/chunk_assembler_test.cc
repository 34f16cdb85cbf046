// ChunkAssembler turns the hook's raw records into self-contained chunks.
// These tests drive it directly, with chunk limits far smaller than the
// writer's, so that chunk boundaries fall everywhere: each sealed chunk must
// decode on its own (DESIGN section 4) to exactly the events applied to it.
#include "tracetape/recorder/chunk_assembler.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "synthetic_recording.h"
#include "tape_generated.h"
#include "tracetape/recorder/raw_records.h"
#include "tracetape/replayer/tape.h"
#include "tracetape/replayer/timeline.h"

namespace tracetape::recorder {
namespace {

using testing::Event;
using testing::MakeProgram;
using testing::ProgramSpec;
using testing::RecordingBuilder;

Status Apply(ChunkAssembler* a, const std::string& rec) {
  return a->Apply(reinterpret_cast<const uint8_t*>(rec.data()), rec.size());
}

// Feeds `raw` the way the writer does and returns the sealed chunks.
std::vector<std::string> Assemble(const std::vector<std::string>& raw, ChunkAssembler::Limits limits) {
  ChunkAssembler a(limits);
  std::vector<std::string> chunks;
  for (const auto& r : raw) {
    auto* p = reinterpret_cast<const uint8_t*>(r.data());
    if (a.NeedsBoundaryBefore(p, r.size()) && !a.Empty()) chunks.push_back(a.Seal());
    Status s = a.Apply(p, r.size());
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (a.Full()) chunks.push_back(a.Seal());
  }
  if (!a.Empty()) chunks.push_back(a.Seal());
  return chunks;
}

std::vector<Event> DecodeAndWalk(const std::string& chunk_bytes, uint64_t* first_event, uint64_t* seq) {
  std::vector<Event> out;
  auto chunk = replayer::DecodeChunk(chunk_bytes);
  EXPECT_TRUE(chunk.ok()) << chunk.status().ToString();
  if (!chunk.ok()) return out;
  *first_event = chunk->first_event;
  *seq = chunk->seq;
  replayer::ChunkWalker w(*chunk);
  while (w.HasNext()) {
    replayer::EventState e;
    Status s = w.Step(&e);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) break;
    out.push_back(testing::ToEvent(e, w));
  }
  return out;
}

// A file, one code in it, and threads 0 and 1; returns the code's id.
uint32_t DefineOneCodeOnTwoThreads(RecordingBuilder* b) {
  uint32_t f = b->DefineFile("/a.py", "x\n");
  uint32_t c = b->DefineCode(f, 1, "f", "f");
  b->DefineThread(0, 1, "MainThread");
  b->DefineThread(1, 2, "T1");
  return c;
}

// Assembles b's records with chunks of at most each of `max_events`: every
// chunk decodes, on its own, to its events, and together they are all.
void ExpectEachChunkDecodesToItsEvents(const RecordingBuilder& b, std::initializer_list<size_t> max_events,
                                       const std::string& what) {
  for (size_t max : max_events) {
    ChunkAssembler::Limits limits;
    limits.max_events = max;
    size_t next = 0;
    for (const auto& bytes : Assemble(b.raw(), limits)) {
      uint64_t first = 0, seq = 0;
      std::vector<Event> got = DecodeAndWalk(bytes, &first, &seq);
      ASSERT_EQ(got, b.EventsInRange(first, first + got.size())) << what << ": chunk " << seq << ", max " << max;
      next += got.size();
    }
    EXPECT_EQ(next, b.events().size()) << what << ", max " << max;
  }
}

TEST(ChunkAssemblerTest, EveryChunkDecodesOnItsOwnToItsEvents) {
  ProgramSpec spec;
  spec.seed = 3;
  spec.events = 3000;
  spec.plain_threads = 3;
  spec.adopt_every = 700;
  spec.max_adopted_threads = 2;
  auto rec = MakeProgram(spec);
  for (size_t max_events : {1, 2, 7, 64, 1000}) {
    ChunkAssembler::Limits limits;
    limits.max_events = max_events;
    std::vector<std::string> chunks = Assemble(rec.builder.raw(), limits);
    ASSERT_GE(chunks.size(), rec.events().size() / max_events);
    uint64_t next = 0;
    for (size_t i = 0; i < chunks.size(); ++i) {
      uint64_t first = ~0ull, seq = ~0ull;
      std::vector<Event> got = DecodeAndWalk(chunks[i], &first, &seq);
      ASSERT_EQ(seq, i);
      ASSERT_EQ(first, next) << "chunk " << i;
      ASSERT_LE(got.size(), max_events);
      ASSERT_EQ(got, rec.builder.EventsInRange(first, first + got.size()))
          << "chunk " << i << " of " << chunks.size() << " with max_events " << max_events;
      next += got.size();
    }
    EXPECT_EQ(next, rec.events().size());
  }
}

TEST(ChunkAssemblerTest, CountsEventsAndChunks) {
  RecordingBuilder b;
  uint32_t f = b.DefineFile("/a.py", "x = 1\n");
  uint32_t c = b.DefineCode(f, 1, "f", "f");
  b.DefineThread(0, 1, "MainThread");
  b.Call(0, c, 1);
  for (int i = 0; i < 9; ++i) b.Line(0, 2 + i);
  ChunkAssembler::Limits limits;
  limits.max_events = 4;
  ChunkAssembler a(limits);
  EXPECT_TRUE(a.Empty());
  int sealed = 0;
  for (const auto& r : b.raw()) {
    ASSERT_TRUE(Apply(&a, r).ok());
    if (a.Full()) {
      EXPECT_EQ(a.pending_events(), 4u);
      a.Seal();
      ++sealed;
      EXPECT_TRUE(a.Empty());
    }
  }
  EXPECT_EQ(sealed, 2);
  EXPECT_EQ(a.pending_events(), 2u);
  EXPECT_EQ(a.total_events(), 10u);
  EXPECT_EQ(a.chunks_sealed(), 2u);
}

TEST(ChunkAssemblerTest, AdoptNeedsABoundaryOnlyWhenEventsArePending) {
  RecordingBuilder b;
  uint32_t f = b.DefineFile("/a.py", "x = 1\n");
  uint32_t c = b.DefineCode(f, 1, "f", "f");
  b.DefineThread(0, 1, "MainThread");
  b.DefineThread(1, 2, "worker");
  b.Adopt(1, c, 5, {{"a", "1"}});
  b.Call(0, c, 1);
  b.Adopt(1, c, 6, {{"b", "2"}});
  const auto& raw = b.raw();
  ChunkAssembler a;
  auto needs = [&](const std::string& r) {
    return a.NeedsBoundaryBefore(reinterpret_cast<const uint8_t*>(r.data()), r.size());
  };
  for (size_t i = 0; i + 3 < raw.size(); ++i) ASSERT_TRUE(Apply(&a, raw[i]).ok());
  EXPECT_FALSE(needs(raw[raw.size() - 3])) << "an adopt before any event needs no boundary";
  ASSERT_TRUE(Apply(&a, raw[raw.size() - 3]).ok());
  EXPECT_FALSE(needs(raw[raw.size() - 2])) << "events never need a boundary";
  ASSERT_TRUE(Apply(&a, raw[raw.size() - 2]).ok());
  EXPECT_TRUE(needs(raw.back())) << "an adopt after events changes the checkpoint";
}

// A local whose long text changes a little at each event is stored as an
// edit of the value it replaces: in the chunk where it was last set, in a
// chunk that starts from a checkpoint holding it, after another frame
// brought the same text, and in a frame adopted at a boundary.
TEST(ChunkAssemblerTest, AChangedLocalIsStoredAsAnEditOfItsLastValue) {
  const std::string pad(600, 'p');
  auto value = [&pad](int i) { return "[" + std::to_string(1000 + i) + ", " + pad + "]"; };
  RecordingBuilder b;
  uint32_t f = b.DefineFile("/a.py", "x\n");
  uint32_t c = b.DefineCode(f, 1, "f", "f");
  uint32_t g = b.DefineCode(f, 5, "g", "g");
  b.DefineThread(0, 1, "MainThread");
  b.DefineThread(1, 2, "T1");
  b.Call(0, c, 1, {{"xs", value(0)}});
  for (int i = 1; i < 40; ++i) {
    b.Line(0, 2, {{"xs", value(i)}});
    if (i % 10 == 0) {
      // A callee holding the caller's next value first: the caller's change
      // then finds its new text already in the table.
      b.Call(0, g, 5, {{"ys", value(i + 1)}});
      b.Return(0, 6, std::string("None"));
    }
  }
  b.Adopt(1, g, 7, {{"zs", value(100)}});
  for (int i = 101; i < 110; ++i) b.Line(1, 8, {{"zs", value(i)}});
  for (size_t max_events : {5, 1000}) {
    ChunkAssembler::Limits limits;
    limits.max_events = max_events;
    std::vector<std::string> chunks = Assemble(b.raw(), limits);
    size_t total_data = 0, next = 0;
    for (const auto& bytes : chunks) {
      const fb::Chunk* chunk = flatbuffers::GetRoot<fb::Chunk>(bytes.data());
      // Each chunk's checkpoint holds at most two long literals (one per
      // thread); everything else is a few bytes of edit.
      size_t literals = 0;
      for (const auto& st : *chunk->start_state()) literals += st->frames()->size();
      size_t events = chunk->kind()->size();
      EXPECT_LT(chunk->string_data()->size(), literals * (pad.size() + 10) + 900 + 40 * events)
          << "chunk " << chunk->seq() << " with max_events " << max_events;
      total_data += chunk->string_data()->size();
      uint64_t first = 0, seq = 0;
      std::vector<Event> got = DecodeAndWalk(bytes, &first, &seq);
      ASSERT_EQ(got, b.EventsInRange(first, first + got.size()));
      next += got.size();
    }
    EXPECT_EQ(next, b.events().size());
    EXPECT_LT(total_data, (chunks.size() + 2) * (pad.size() + 10) * 2) << "max_events " << max_events;
  }
}

// A stack whose locals alone are past the chunk limits (thousands of frames,
// each with a long value of its own): every chunk starts with all of them, so
// a chunk that is full as soon as it has one event repeats them at every
// event. A recording of such a run grew quadratically with the depth (8,000
// frames of 1 KB locals: 4 GB of tape in 5 minutes, against 0.03 s plain). A
// chunk holds at least as much of its own as its checkpoint.
TEST(ChunkAssemblerTest, AStackPastTheLimitsIsNotRepeatedAtEveryEvent) {
  RecordingBuilder b;
  uint32_t f = b.DefineFile("/deep.py", "x\n");
  uint32_t c = b.DefineCode(f, 1, "down", "down");
  b.DefineThread(0, 1, "MainThread");
  const std::string pad(200, 'p');
  const int depth = 400;  // 400 frames of ~210 bytes: ~84 KB of checkpoint
  for (int i = 0; i < depth; ++i) b.Call(0, c, 1, {{"pair", "(" + std::to_string(i) + ", '" + pad + "')"}});
  const int loop = 4000;  // at the bottom, events that change nothing long
  for (int i = 0; i < loop; ++i) b.Line(0, 2 + i % 2, {{"i", std::to_string(i)}});
  ChunkAssembler::Limits limits;
  limits.max_bytes = 16 << 10;
  limits.max_string_bytes = 16 << 10;
  std::vector<std::string> chunks = Assemble(b.raw(), limits);
  size_t total = 0, next = 0;
  for (const auto& bytes : chunks) {
    total += bytes.size();
    uint64_t first = 0, seq = 0;
    std::vector<Event> got = DecodeAndWalk(bytes, &first, &seq);
    ASSERT_EQ(got, b.EventsInRange(first, first + got.size()));
    next += got.size();
  }
  EXPECT_EQ(next, b.events().size());
  // The loop's events fill chunks of ~84 KB checkpoint + as much again of
  // events (~12 bytes each): a few chunks, not one per event.
  EXPECT_LT(chunks.size(), 40u);
  EXPECT_LT(total, size_t{8} << 20);
  // Below the limits, nothing changes: a shallow stack seals at the limit.
  RecordingBuilder shallow;
  uint32_t f2 = shallow.DefineFile("/a.py", "x\n");
  uint32_t c2 = shallow.DefineCode(f2, 1, "f", "f");
  shallow.DefineThread(0, 1, "MainThread");
  shallow.Call(0, c2, 1, {{"pair", "(0, '" + pad + "')"}});
  for (int i = 0; i < loop; ++i) shallow.Line(0, 2, {{"s", std::to_string(i) + pad}});
  EXPECT_GE(Assemble(shallow.raw(), limits).size(), size_t{loop} * pad.size() / limits.max_string_bytes);
}

// The hook hands the most frequent return value, an int that fits a word,
// over as the word; the tape holds the text the renderer gives that int.
TEST(ChunkAssemblerTest, AnIntReturnValueGivenAsAWordIsStoredAsItsText) {
  RecordingBuilder b;
  uint32_t f = b.DefineFile("/a.py", "x\n");
  uint32_t c = b.DefineCode(f, 1, "f", "f");
  b.DefineThread(0, 1, "MainThread");
  const std::vector<int64_t> values = {0, 7, -1, 1000000007, -4611686018427387904LL, INT64_MAX, INT64_MIN};
  for (int64_t v : values) {
    b.Call(0, c, 1);
    b.ReturnInt(0, 2, v);
    b.Call(0, c, 1);
    b.Return(0, 2, std::to_string(v));  // the same text, given as text
  }
  std::vector<std::string> chunks = Assemble(b.raw(), ChunkAssembler::Limits());
  ASSERT_EQ(chunks.size(), 1u);
  uint64_t first = 0, seq = 0;
  std::vector<Event> got = DecodeAndWalk(chunks[0], &first, &seq);
  ASSERT_EQ(got, b.events());
  ASSERT_EQ(got.size(), 4 * values.size());
  EXPECT_EQ(got[1].value, std::optional<std::string>("0"));
  EXPECT_EQ(got[4 * 5 + 1].value, std::optional<std::string>("9223372036854775807"));
  EXPECT_EQ(got[4 * 6 + 1].value, std::optional<std::string>("-9223372036854775808"));
}

// The hook sends a local that is an int fitting a word as the word; the
// reader sees its text, in events, in checkpoints and in adopted frames,
// and a word and a text for the same value are one value.
TEST(ChunkAssemblerTest, LocalsGivenAsWordsAreStoredAsTheirText) {
  for (bool words : {false, true}) {
    RecordingBuilder b;
    b.set_ints_as_words(words);
    uint32_t c = DefineOneCodeOnTwoThreads(&b);
    b.Call(0, c, 1, {{"n", "0"}, {"s", "'text'"}});
    for (int i = 1; i < 60; ++i) {
      int64_t big = (i % 7 == 0) ? INT64_MIN + i : static_cast<int64_t>(i) * 1000003;
      b.Line(0, 2, {{"n", std::to_string(big)}, {"m", std::to_string(-i)}});
      if (i % 9 == 0) b.Line(0, 3, {{"n", "1.5"}, {"m", std::nullopt}});  // not words, then unbound
    }
    b.Adopt(1, c, 7, {{"k", "42"}, {"t", "'x'"}, {"z", "-9223372036854775807"}});
    for (int i = 0; i < 12; ++i) b.Line(1, 8, {{"k", std::to_string(i)}});
    ExpectEachChunkDecodesToItsEvents(b, {4, 1000}, words ? "words" : "texts");
  }
}

// The writer remembers the string id of each int it was given as a word;
// every chunk has its own string table, so what it remembers from one chunk
// (or from a checkpoint's table, made again at an adoption) is never used in
// another: the same few ints, as locals and as return values, decode right in
// every chunk.
TEST(ChunkAssemblerTest, IntsRecurringInEveryChunkDecodeInEveryChunk) {
  RecordingBuilder b;
  b.set_ints_as_words(true);
  uint32_t c = DefineOneCodeOnTwoThreads(&b);
  b.Call(0, c, 1, {{"n", "3"}});
  for (int i = 0; i < 240; ++i) {
    b.Line(0, 2 + i % 3, {{"n", std::to_string(i % 5)}, {"m", std::to_string(-(i % 3))}});
    if (i % 4 == 0) {
      b.Call(0, c, 1, {{"n", std::to_string(i % 5)}});
      b.ReturnInt(0, 9, i % 5);
    }
    if (i == 120) b.Adopt(1, c, 7, {{"k", "4"}, {"j", "-2"}});
  }
  ExpectEachChunkDecodesToItsEvents(b, {3, 5, 16, 1000}, "recurring ints");
}

TEST(ChunkAssemblerTest, NewFilesAreReportedOnce) {
  RecordingBuilder b;
  b.DefineFile("/a.py", "a\n");
  b.DefineFile("/b.py", "");
  ChunkAssembler a;
  for (const auto& r : b.raw()) ASSERT_TRUE(Apply(&a, r).ok());
  auto files = a.TakeNewFiles();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].path, "/a.py");
  EXPECT_EQ(files[0].source_override, "a\n");
  EXPECT_EQ(files[1].path, "/b.py");
  EXPECT_TRUE(files[1].source_override.empty());
  EXPECT_TRUE(a.TakeNewFiles().empty());
}

TEST(ChunkAssemblerTest, LossIsCountedAndReportedBeforeTheNextChunk) {
  RecordingBuilder b;
  uint32_t f = b.DefineFile("/a.py", "x\n");
  uint32_t c = b.DefineCode(f, 1, "f", "f");
  b.DefineThread(0, 1, "MainThread");
  b.Call(0, c, 1);
  b.Loss(7);
  b.Line(0, 2);
  b.Loss(5);
  ChunkAssembler a;
  for (const auto& r : b.raw()) ASSERT_TRUE(Apply(&a, r).ok());
  EXPECT_EQ(a.dropped_events(), 12u);
  auto chunk = replayer::DecodeChunk(a.Seal());
  ASSERT_TRUE(chunk.ok());
  EXPECT_EQ(chunk->dropped_before, 12u);
}

// --- Malformed records: an internal error, reported, never undefined behaviour.

std::string Rec(RawTag tag, uint8_t kind, const std::string& body, uint16_t ndeltas = 0) {
  std::string buf;
  RawWriter w(&buf);
  w.Begin(tag, kind);
  w.Put(body.data(), body.size());
  return w.Finish(ndeltas);
}

std::string U32(uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

std::string EventBody(uint32_t thread, int32_t line, uint32_t code, uint32_t has_value) {
  RawEvent e{thread, line, code, has_value};
  return std::string(reinterpret_cast<const char*>(&e), sizeof(e));
}

// Frames that ended unseen (their returns lost while another trace function
// held the hook): the unwind record pops them at a chunk boundary, the next
// chunk's checkpoint is the stack without them, and the loss after it is that
// chunk's dropped_before, so a reader knows it does not continue the last one.
TEST(ChunkAssemblerTest, UnwindStartsAChunkFromTheStackWithoutTheFramesThatEnded) {
  RecordingBuilder b;
  uint32_t file = b.DefineFile("/a.py", "x\n");
  uint32_t f = b.DefineCode(file, 1, "f", "f");
  uint32_t g = b.DefineCode(file, 5, "g", "g");
  b.DefineThread(0, 1, "MainThread");
  b.Call(0, f, 1, {{"a", "1"}});
  b.Call(0, g, 5);
  b.Call(0, g, 5);
  b.Line(0, 6);
  b.Unwind(0, 2);
  b.Loss(2);
  b.Line(0, 2);
  b.Return(0, 3, std::nullopt);
  auto chunks = Assemble(b.raw(), ChunkAssembler::Limits());
  ASSERT_EQ(chunks.size(), 2u);
  auto first = replayer::DecodeChunk(chunks[0]);
  auto second = replayer::DecodeChunk(chunks[1]);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->dropped_before, 0u);
  EXPECT_EQ(second->dropped_before, 2u);
  ASSERT_EQ(second->start_state.count(0), 1u);
  ASSERT_EQ(second->start_state.at(0).size(), 1u);
  uint64_t first_event = 0, seq = 0;
  std::vector<Event> events = DecodeAndWalk(chunks[1], &first_event, &seq);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(first_event, 4u);
  EXPECT_EQ(events[0].func, "f");
  EXPECT_EQ(events[0].depth, 1u);
  EXPECT_EQ(events[0].locals, (std::map<std::string, std::string>{{"a", "1"}}));
  EXPECT_EQ(events[1].kind, 2);
}

// Frames CPython linked above a generator that throw() ran (adopted at its
// call) leave the stack when it yields, without events and without a loss:
// the detach record starts a chunk whose checkpoint is the stack without
// them, and which says so (Chunk.detached), its dropped_before zero.
TEST(ChunkAssemblerTest, DetachStartsAChunkThatSaysWhichFramesLeftWithoutALoss) {
  RecordingBuilder b;
  b.set_keep_stacks(true);
  uint32_t file = b.DefineFile("/a.py", "x\n");
  uint32_t caller = b.DefineCode(file, 1, "caller", "caller");
  uint32_t outer = b.DefineCode(file, 5, "outer", "outer");
  uint32_t inner = b.DefineCode(file, 9, "inner", "inner");
  b.DefineThread(0, 1, "MainThread");
  b.DefineThread(1, 2, "worker");
  b.Call(1, caller, 1);
  b.Call(0, caller, 1, {{"g", "<generator>"}});
  b.Adopt(0, outer, 6, {{"marker", "'outer'"}});  // linked: no event
  b.Call(0, inner, 10);
  b.Exception(0, 10, "KeyError('k')");
  b.Return(0, 10, "2");
  b.Detach(0, 1);
  b.Line(0, 2);
  b.Line(1, 2);
  auto chunks = Assemble(b.raw(), ChunkAssembler::Limits());
  ASSERT_EQ(chunks.size(), 3u);  // the adoption and the detach each start one
  auto last = replayer::DecodeChunk(chunks[2]);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_EQ(last->dropped_before, 0u);
  EXPECT_EQ(last->detached, (std::map<uint32_t, uint32_t>{{0, 1}}));
  ASSERT_EQ(last->start_state.at(0).size(), 1u);
  EXPECT_EQ(last->start_state.at(1).size(), 1u);
  auto middle = replayer::DecodeChunk(chunks[1]);
  ASSERT_TRUE(middle.ok());
  EXPECT_TRUE(middle->detached.empty());
  ASSERT_EQ(middle->start_state.at(0).size(), 2u);  // caller, and outer adopted
  std::vector<Event> events;
  for (const auto& c : chunks) {
    uint64_t first = 0, seq = 0;
    for (auto& e : DecodeAndWalk(c, &first, &seq)) events.push_back(e);
  }
  ASSERT_EQ(events.size(), b.events().size());
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i], b.events()[i]) << i;
  EXPECT_EQ(events[2].func, "inner");
  EXPECT_EQ(events[2].depth, 3u);  // under the linked frame
  EXPECT_EQ(events[5].depth, 1u);
}

class MalformedRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RecordingBuilder b;
    uint32_t f = b.DefineFile("/a.py", "x\n");
    code_ = b.DefineCode(f, 1, "f", "f");
    b.DefineThread(0, 1, "MainThread");
    for (const auto& r : b.raw()) ASSERT_TRUE(Apply(&a_, r).ok());
  }
  Status ApplyBytes(const std::string& r) { return Apply(&a_, r); }
  ChunkAssembler a_;
  uint32_t code_ = 0;
};

TEST_F(MalformedRecordTest, RecordShorterThanItsHeaderIsAnInternalError) {
  std::string r(4, '\0');
  EXPECT_EQ(ApplyBytes(r).code(), Status::Code::kInternal);
  EXPECT_EQ(ApplyBytes("").code(), Status::Code::kInternal);
}

TEST_F(MalformedRecordTest, UnknownTagIsAnInternalError) {
  EXPECT_EQ(ApplyBytes(Rec(static_cast<RawTag>(99), 0, "")).code(), Status::Code::kInternal);
  EXPECT_EQ(ApplyBytes(Rec(static_cast<RawTag>(0), 0, "")).code(), Status::Code::kInternal);
}

TEST_F(MalformedRecordTest, DefinitionWithAStringPastTheRecordEndIsAnInternalError) {
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kThreadDef, 0, U32(1) + std::string(8, '\0') + U32(1000) + "abc")).code(),
            Status::Code::kInternal);
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kFileDef, 0, U32(9) + U32(0xffffffffu))).code(), Status::Code::kInternal);
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kCodeDef, 0, U32(5))).code(), Status::Code::kInternal);
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kNameDef, 0, U32(5) + U32(64) + "short")).code(), Status::Code::kInternal);
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kLoss, 0, "")).code(), Status::Code::kInternal);
}

TEST_F(MalformedRecordTest, UnwindOfMoreFramesThanTheThreadHasIsAnInternalError) {
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kUnwind, 0, U32(0) + U32(1))).code(), Status::Code::kInternal);
  ASSERT_TRUE(ApplyBytes(Rec(RawTag::kEvent, 0, EventBody(0, 1, code_, 0))).ok());
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kUnwind, 0, U32(0) + U32(2))).code(), Status::Code::kInternal);
  EXPECT_TRUE(ApplyBytes(Rec(RawTag::kUnwind, 0, U32(0) + U32(1))).ok());
}

TEST_F(MalformedRecordTest, DetachOfMoreFramesThanTheThreadHasIsAnInternalError) {
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kDetach, 0, U32(0) + U32(1))).code(), Status::Code::kInternal);
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kDetach, 0, U32(70000) + U32(0))).code(), Status::Code::kInternal);
  ASSERT_TRUE(ApplyBytes(Rec(RawTag::kEvent, 0, EventBody(0, 1, code_, 0))).ok());
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kDetach, 0, U32(0) + U32(2))).code(), Status::Code::kInternal);
  EXPECT_TRUE(ApplyBytes(Rec(RawTag::kDetach, 0, U32(0) + U32(1))).ok());
}

TEST_F(MalformedRecordTest, EventShorterThanRawEventIsAnInternalError) {
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kEvent, 0, U32(0))).code(), Status::Code::kInternal);
}

TEST_F(MalformedRecordTest, EventOnAnUndefinedCodeIsAnInternalError) {
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kEvent, 0, EventBody(0, 1, 424242, 0))).code(), Status::Code::kInternal);
}

TEST_F(MalformedRecordTest, LineOrReturnOnAnEmptyStackIsAnInternalError) {
  for (uint8_t kind : {1, 2, 3}) {
    EXPECT_EQ(ApplyBytes(Rec(RawTag::kEvent, kind, EventBody(0, 1, code_, 0))).code(), Status::Code::kInternal)
        << "kind " << int(kind);
  }
  EXPECT_TRUE(a_.Empty());
}

TEST_F(MalformedRecordTest, UnknownEventKindIsAnInternalError) {
  ASSERT_TRUE(ApplyBytes(Rec(RawTag::kEvent, 0, EventBody(0, 1, code_, 0))).ok());
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kEvent, 9, EventBody(0, 2, code_, 0))).code(), Status::Code::kInternal);
}

TEST_F(MalformedRecordTest, ThreadIndexPastTheColumnWidthIsAnInternalError) {
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kEvent, 0, EventBody(0x10000, 1, code_, 0))).code(), Status::Code::kInternal);
}

TEST_F(MalformedRecordTest, DeltaOrValuePastTheRecordEndIsAnInternalError) {
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kEvent, 0, EventBody(0, 1, code_, 0) + U32(1) + U32(500) + "ab", 1)).code(),
            Status::Code::kInternal);
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kEvent, 0, EventBody(0, 1, code_, 0), /*ndeltas=*/40)).code(),
            Status::Code::kInternal);
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kEvent, 2, EventBody(0, 1, code_, 1) + U32(99) + "x")).code(),
            Status::Code::kInternal);
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kAdopt, 0, EventBody(0, 1, code_, 0) + U32(1) + U32(500), 1)).code(),
            Status::Code::kInternal);
}

TEST_F(MalformedRecordTest, ShortIntValueOrUnknownValueKindIsAnInternalError) {
  ASSERT_TRUE(ApplyBytes(Rec(RawTag::kEvent, 0, EventBody(0, 1, code_, 0))).ok());
  // The word missing: the record ends with the event.
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kEvent, 2, EventBody(0, 2, code_, kIntValue))).code(), Status::Code::kInternal);
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kEvent, 2, EventBody(0, 2, code_, 7) + U32(1) + "x")).code(),
            Status::Code::kInternal);
  // A delta's word missing.
  EXPECT_EQ(ApplyBytes(Rec(RawTag::kEvent, 1, EventBody(0, 2, code_, kNoValue) + U32(1) + U32(kIntLength), 1)).code(),
            Status::Code::kInternal);
  // A well-formed one still applies.
  EXPECT_TRUE(ApplyBytes(Rec(RawTag::kEvent, 2, EventBody(0, 2, code_, kIntValue) + U32(5) + U32(0))).ok());
}

}  // namespace
}  // namespace tracetape::recorder
