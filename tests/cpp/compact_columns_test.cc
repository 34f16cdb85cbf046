// Format 2's compact columns (schema/FORMAT.md, "Compact columns"): varints,
// the packed string table, and chunks that use them. Round trips through the
// real assembler and reader, edge cases, and malformed columns, which must be
// Corrupt with a clear message, never a crash.
#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>

#include <climits>
#include <random>
#include <string>
#include <vector>

#include "synthetic_recording.h"
#include "tape_generated.h"
#include "tracetape/format/columns.h"
#include "tracetape/recorder/chunk_assembler.h"
#include "tracetape/replayer/tape.h"
#include "tracetape/replayer/timeline.h"

namespace tracetape {
namespace {

using format::GetVarint;
using format::PackString;
using format::PutVarint;
using format::UnpackStrings;

Status Unpack(const std::string& data, std::vector<std::string>* out, uint64_t max = format::kMaxStringTableBytes) {
  return UnpackStrings(reinterpret_cast<const uint8_t*>(data.data()), data.size(), max, out);
}

TEST(VarintTest, RoundTripsAndRejectsBadEncodings) {
  std::string s;
  const uint64_t values[] = {0, 1, 127, 128, 300, 1u << 31, 0xffffffffu, UINT64_MAX};
  for (uint64_t v : values) PutVarint(&s, v);
  size_t pos = 0;
  for (uint64_t v : values) {
    uint64_t got = 0;
    ASSERT_TRUE(GetVarint(reinterpret_cast<const uint8_t*>(s.data()), s.size(), &pos, &got));
    EXPECT_EQ(got, v);
  }
  EXPECT_EQ(pos, s.size());
  uint64_t v;
  const uint8_t cut[] = {0x80, 0x80};
  pos = 0;
  EXPECT_FALSE(GetVarint(cut, sizeof(cut), &pos, &v));
  const uint8_t too_long[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
  pos = 0;
  EXPECT_FALSE(GetVarint(too_long, sizeof(too_long), &pos, &v));
  const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
  pos = 0;
  EXPECT_FALSE(GetVarint(eleven, sizeof(eleven), &pos, &v));
}

// Random edits of random strings, each packed against the previous one.
TEST(PackedStringsTest, EditsRoundTrip) {
  std::mt19937 rng(5);
  std::vector<std::string> want = {"", "Account(owner='ann', balance=70)", "Account(owner='ann', balance=65)"};
  std::string cur = "[" + std::string(990, 'x') + "...";
  for (int i = 0; i < 400; ++i) {
    int op = rng() % 5;
    size_t at = cur.empty() ? 0 : rng() % (cur.size() + 1);
    std::string ins(rng() % 6, static_cast<char>('a' + rng() % 26));
    if (op == 0) cur.insert(at, ins);
    if (op == 1 && at < cur.size()) cur.erase(at, 1 + rng() % 5);
    if (op == 2 && at < cur.size()) cur.replace(at, 1 + rng() % 3, ins);
    if (op == 3) cur = cur.substr(0, rng() % (cur.size() + 1));  // truncation
    if (op == 4) cur = std::string(rng() % 50, static_cast<char>(rng() % 256));  // unrelated
    want.push_back(cur);
  }
  want.push_back("");
  want.push_back(std::string(1, '\0'));
  std::string data;
  for (size_t i = 0; i < want.size(); ++i) {
    PackString(want[i], i ? std::string_view(want[i - 1]) : std::string_view(), i ? 1 : 0, &data);
  }
  std::vector<std::string> got;
  ASSERT_TRUE(Unpack(data, &got).ok());
  EXPECT_EQ(got, want);
}

TEST(PackedStringsTest, ASmallEditOfALongStringIsSmall) {
  std::string base = "[Account(owner='acct0', balance=303), " + std::string(900, 'y') + "]";
  std::string s = base;
  s.replace(32, 3, "1000");
  std::string data;
  PackString(base, "", 0, &data);
  size_t literal = data.size();
  PackString(s, base, 1, &data);
  EXPECT_LT(data.size() - literal, 16u);
  std::vector<std::string> got;
  ASSERT_TRUE(Unpack(data, &got).ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], s);
}

TEST(PackedStringsTest, MalformedTablesAreCorrupt) {
  auto expect_corrupt = [](const std::string& data, const char* why, uint64_t max = format::kMaxStringTableBytes) {
    std::vector<std::string> got;
    Status s = Unpack(data, &got, max);
    EXPECT_EQ(s.code(), Status::Code::kCorrupt) << why << ": " << s.ToString();
    EXPECT_NE(s.message().find("string table"), std::string::npos) << s.message();
  };
  std::string lit;
  PutVarint(&lit, 0);
  PutVarint(&lit, 5);
  lit += "hello";
  {
    std::string d = lit.substr(0, lit.size() - 1);
    expect_corrupt(d, "literal cut short");
  }
  {
    std::string d;
    PutVarint(&d, 1);  // an edit of a string before the first
    PutVarint(&d, 0);
    expect_corrupt(d, "base before the table");
  }
  {
    std::string d = lit;
    PutVarint(&d, 2);  // distance 2 from entry 1
    PutVarint(&d, 0);
    expect_corrupt(d, "base too far back");
  }
  {
    std::string d = lit;
    PutVarint(&d, 1);
    PutVarint(&d, 1);
    PutVarint(&d, 4);  // keep 4
    PutVarint(&d, 2);  // drop 2: past "hello"
    PutVarint(&d, 0);
    expect_corrupt(d, "edit past its base");
  }
  {
    std::string d = lit;
    PutVarint(&d, 1);
    PutVarint(&d, 1);
    PutVarint(&d, 0);
    PutVarint(&d, 0);
    PutVarint(&d, 9);  // inserts more than is left
    d += "abc";
    expect_corrupt(d, "insert past the data");
  }
  {
    // Every entry copies the last: decoded size grows past the bound.
    std::string d;
    PutVarint(&d, 0);
    PutVarint(&d, 1000);
    d += std::string(1000, 'z');
    for (int i = 0; i < 200; ++i) {
      PutVarint(&d, 1);
      PutVarint(&d, 0);
    }
    expect_corrupt(d, "expansion", 100000);
  }
  // Any cut is either a shorter table or corrupt.
  std::string full = lit;
  PackString("hellO world", "hello", 1, &full);
  for (size_t cut = 0; cut < full.size(); ++cut) {
    std::vector<std::string> got;
    Status s = Unpack(full.substr(0, cut), &got);
    if (!s.ok()) EXPECT_EQ(s.code(), Status::Code::kCorrupt);
  }
}

// Chunks from the real assembler, decoded and walked.
std::vector<testing::Event> AssembleAndRead(const std::vector<std::string>& raw, size_t max_events,
                                            size_t* nchunks) {
  recorder::ChunkAssembler::Limits limits;
  limits.max_events = max_events;
  recorder::ChunkAssembler a(limits);
  std::vector<std::string> chunks;
  for (const auto& r : raw) {
    auto* p = reinterpret_cast<const uint8_t*>(r.data());
    if (a.NeedsBoundaryBefore(p, r.size()) && !a.Empty()) chunks.push_back(a.Seal());
    Status s = a.Apply(p, r.size());
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (a.Full()) chunks.push_back(a.Seal());
  }
  if (!a.Empty()) chunks.push_back(a.Seal());
  *nchunks = chunks.size();
  std::vector<testing::Event> out;
  for (const auto& c : chunks) {
    auto d = replayer::DecodeChunk(c);
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    if (!d.ok()) break;
    EXPECT_TRUE(d->strings.size() == 0 || c.size() > 0);
    replayer::ChunkWalker w(*d);
    while (w.HasNext()) {
      replayer::EventState e;
      Status s = w.Step(&e);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok()) break;
      out.push_back(testing::ToEvent(e, w));
    }
  }
  return out;
}

TEST(CompactChunkTest, LineJumpsHugeLinesManyThreadsAndEditsRoundTrip) {
  for (size_t max_events : {1, 3, 64, 65536}) {
    SCOPED_TRACE(max_events);
    testing::RecordingBuilder b;
    uint32_t f = b.DefineFile("/x.py", "pass\n");
    uint32_t c = b.DefineCode(f, 1, "f", "f", {"n"});
    const int kThreads = 40;
    for (int t = 0; t < kThreads; ++t) b.DefineThread(t, 100 + t, "T" + std::to_string(t));
    for (int t = 0; t < kThreads; ++t) b.Call(t, c, 1, {{"n", std::to_string(t)}});
    const int32_t lines[] = {2, INT32_MAX, 1, INT32_MIN, 0, -5, 1000000, 3, 2};
    std::string acc = "Account(owner='ann', balance=70, history=" + std::string(500, 'h') + ")";
    for (int round = 0; round < 30; ++round) {
      for (int t = 0; t < kThreads; t += 1 + round % 3) {
        acc.replace(29, 2, std::to_string(10 + (round * 7 + t) % 90));
        testing::RecordingBuilder::Deltas d = {{"acc", acc}};
        if (round % 5 == 4) d = {{"acc", std::nullopt}, {"n", "x"}, {"n", std::nullopt}};
        b.Line(t, lines[(round + t) % 9], d);
      }
    }
    for (int t = kThreads - 1; t >= 0; --t) b.Return(t, 9, t % 2 ? std::optional<std::string>("'" + acc + "'") : std::nullopt);
    size_t nchunks = 0;
    auto got = AssembleAndRead(b.raw(), max_events, &nchunks);
    EXPECT_EQ(got, b.events());
    if (max_events == 1) EXPECT_EQ(nchunks, b.events().size());
  }
}

// Builds a compact chunk by hand: thread 0 calls code 100, a line sets x = "1"
// (event 1), the return has value "2" (event 2). Each test breaks one thing.
struct Compact {
  std::vector<std::string> strings = {"x", "1", "2"};
  std::string delta_gap = std::string(1, '\x01');
  std::vector<uint32_t> delta_name = {0};   // fresh: "x"
  std::vector<uint32_t> delta_value = {0};  // fresh: "1"
  std::string value_gap = std::string(1, '\x02');
  std::vector<uint32_t> value_ref = {0};    // fresh: "2"
  std::vector<uint8_t> kind = {0, 1, 2};
  bool with_old_strings = false;
  std::string raw_string_data;  // replaces the packed strings when set
};

std::string Build(const Compact& p) {
  flatbuffers::FlatBufferBuilder b;
  std::string data = p.raw_string_data;
  if (data.empty()) {
    for (const auto& s : p.strings) PackString(s, "", 0, &data);
  }
  auto files = std::vector<flatbuffers::Offset<fb::File>>{fb::CreateFile(b, 1, b.CreateString("/a.py"))};
  auto codes = std::vector<flatbuffers::Offset<fb::Code>>{
      fb::CreateCode(b, 100, 1, b.CreateString("f"), b.CreateString("f"), 1)};
  auto threads = std::vector<flatbuffers::Offset<fb::Thread>>{fb::CreateThread(b, 0, 7, b.CreateString("T"))};
  auto bytes = [&b](const std::string& s) {
    return b.CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  std::vector<uint16_t> thread(p.kind.size(), 0);
  std::vector<int32_t> line(p.kind.size(), 1);
  std::vector<uint32_t> call_code;
  for (uint8_t k : p.kind) {
    if (k == 0) call_code.push_back(100);
  }
  auto chunk = fb::CreateChunk(
      b, 0, 0, p.with_old_strings ? b.CreateVectorOfStrings(p.strings) : 0, b.CreateVector(files),
      b.CreateVector(codes), b.CreateVector(threads), 0, b.CreateVector(p.kind), b.CreateVector(thread),
      b.CreateVector(line), b.CreateVector(call_code), 0, 0, 0, 0, 0, 0, bytes(data), bytes(p.delta_gap),
      b.CreateVector(p.delta_name), b.CreateVector(p.delta_value), bytes(p.value_gap), b.CreateVector(p.value_ref));
  b.Finish(chunk);
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

void ExpectCorrupt(const Compact& p, const char* why, const char* message) {
  auto d = replayer::DecodeChunk(Build(p));
  ASSERT_FALSE(d.ok()) << why;
  EXPECT_EQ(d.status().code(), Status::Code::kCorrupt) << why;
  EXPECT_NE(d.status().message().find(message), std::string::npos) << why << ": " << d.status().message();
}

TEST(CompactChunkTest, HandBuiltChunkDecodes) {
  auto d = replayer::DecodeChunk(Build(Compact()));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ASSERT_EQ(d->deltas.size(), 1u);
  EXPECT_EQ(d->strings[d->deltas[0].name], "x");
  EXPECT_EQ(d->strings[d->deltas[0].value], "1");
  EXPECT_EQ(d->delta_begin[1], 0u);
  EXPECT_EQ(d->delta_begin[2], 1u);
  EXPECT_EQ(d->strings[d->value[2]], "2");
  // The same with absolute and backward references.
  Compact p;
  p.delta_name = {2};       // string 0
  p.delta_value = {0};      // fresh after "x": "1"
  p.value_ref = {4};        // string 2
  d = replayer::DecodeChunk(Build(p));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->strings[d->value[2]], "2");
  p.delta_value = {2};      // one back from fresh (1): "x"
  d = replayer::DecodeChunk(Build(p));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->strings[d->deltas[0].value], "x");
  p.delta_value = {1};      // unbound
  d = replayer::DecodeChunk(Build(p));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->deltas[0].value, replayer::kUnbound);
  // An empty chunk: no events, no columns.
  Compact e;
  e.kind = {};
  e.delta_gap = e.value_gap = "";
  e.delta_name = e.delta_value = e.value_ref = {};
  e.strings = {"unused"};
  d = replayer::DecodeChunk(Build(e));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->size(), 0u);
}

TEST(CompactChunkTest, MalformedColumnsAreCorrupt) {
  {
    Compact p;
    p.with_old_strings = true;
    ExpectCorrupt(p, "both forms", "both the format 1 and the format 2");
  }
  {
    Compact p;
    p.delta_value = {0, 0};
    ExpectCorrupt(p, "name/value lengths", "delta columns have different lengths");
  }
  {
    Compact p;
    p.delta_gap = "";
    ExpectCorrupt(p, "no gap", "delta gaps are cut short");
  }
  {
    Compact p;
    p.delta_gap = std::string("\x01\x00", 2);
    ExpectCorrupt(p, "extra gap", "more delta gaps than deltas");
  }
  {
    Compact p;
    p.delta_gap = "\x03";
    ExpectCorrupt(p, "gap past the end", "delta event index out of range");
  }
  {
    Compact p;
    p.delta_gap = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01";
    ExpectCorrupt(p, "huge gap", "delta event index out of range");
  }
  {
    Compact p;
    p.delta_gap = "\x80";
    ExpectCorrupt(p, "gap cut inside a varint", "delta gaps are cut short");
  }
  {
    Compact p;
    p.delta_name = {1};
    ExpectCorrupt(p, "unbound name", "delta binding out of range");
  }
  {
    Compact p;
    p.delta_name = {5};
    ExpectCorrupt(p, "name past the table", "delta binding out of range");
  }
  {
    Compact p;
    p.delta_value = {4};  // three back from fresh 1
    ExpectCorrupt(p, "value before the table", "delta binding out of range");
  }
  {
    Compact p;
    p.delta_value = {0xffffffffu};
    ExpectCorrupt(p, "value far back", "delta binding out of range");
  }
  {
    Compact p;
    p.strings = {"x", "1"};
    ExpectCorrupt(p, "fresh past the table", "value out of range");
  }
  {
    Compact p;
    p.value_ref = {1};
    ExpectCorrupt(p, "unbound value", "value out of range");
  }
  {
    Compact p;
    p.value_gap = "\x01";
    ExpectCorrupt(p, "value on a line", "value on a call or line event");
  }
  {
    Compact p;
    p.kind = {0, 2, 2};
    p.value_gap = std::string("\x01\x00", 2);
    p.value_ref = {0, 0};
    p.strings = {"x", "1", "2", "3"};
    ExpectCorrupt(p, "two values", "two values for one event");
  }
  {
    Compact p;
    p.value_gap = "\x02\x01";
    ExpectCorrupt(p, "extra value gap", "more value gaps than values");
  }
  {
    Compact p;
    std::string d;
    PutVarint(&d, 0);
    PutVarint(&d, 40);
    d += "short";
    p.raw_string_data = d;
    ExpectCorrupt(p, "string table", "string table");
  }
}

}  // namespace
}  // namespace tracetape
