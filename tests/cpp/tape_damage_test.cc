// Damaged tapes (DESIGN sections 4 and 8, reliability.md F3): truncation at
// every byte offset of a small multi-chunk tape must recover exactly the
// complete chunks before the cut; damage to any single byte must be detected
// or harmless, reported as a Status, never a crash or a hang; and the reader
// must never join chunks across a hole.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "synthetic_recording.h"
#include "tape_generated.h"
#include "tracetape/format/record.h"
#include "tracetape/replayer/tape.h"
#include "tracetape/replayer/timeline.h"

namespace tracetape::replayer {
namespace {

using testing::Event;
using testing::ProgramSpec;
using testing::SyntheticRecording;
using testing::TempDir;

// A record's place in the file, from the documented framing: a 16-byte
// header whose bytes 4..7 are the little-endian payload length.
struct RecordSpan {
  uint64_t offset;
  uint64_t end;
  uint8_t type;
};

std::vector<RecordSpan> ParseRecords(const std::string& bytes, uint64_t stop) {
  std::vector<RecordSpan> out;
  uint64_t off = format::kPreambleSize;
  while (off + format::kRecordHeaderSize <= stop) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + off);
    uint32_t len = p[4] | (p[5] << 8) | (p[6] << 16) | (static_cast<uint32_t>(p[7]) << 24);
    out.push_back({off, off + format::kRecordHeaderSize + len, p[12]});
    off = out.back().end;
  }
  return out;
}

// A small tape: a few hundred events on several threads; threads adopted
// mid-recording force chunk boundaries, so it has several chunks and stays
// small enough to damage at every offset.
class TapeDamageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    std::string disk = dir_->File("mod.py");
    testing::WriteFileBytes(disk, "def helper():\n    return 1\n");
    ProgramSpec spec;
    spec.seed = 77;
    spec.events = 170;
    spec.plain_threads = 2;
    spec.adopt_every = 35;
    spec.max_adopted_threads = 4;
    spec.disk_file = disk;
    rec_ = new SyntheticRecording(testing::MakeProgram(spec));
    path_ = dir_->File("small.tape");
    Status s = testing::WriteTape(testing::TestRecordOptions(path_), rec_->builder.raw(), 0);
    ASSERT_TRUE(s.ok()) << s.ToString();
    bytes_ = testing::ReadFileBytes(path_);

    uint64_t footer_offset = 0;
    ASSERT_TRUE(format::DecodeTrailer(bytes_.substr(bytes_.size() - format::kTrailerSize), &footer_offset));
    footer_offset_ = footer_offset;
    records_ = ParseRecords(bytes_, bytes_.size() - format::kTrailerSize);
    auto full = Tape::Open(path_);
    ASSERT_TRUE(full.ok()) << full.status().ToString();
    full_chunks_ = (*full)->chunks();
  }
  static void TearDownTestSuite() {
    delete rec_;
    delete dir_;
  }

  static const std::vector<Event>& events() { return rec_->events(); }
  static std::vector<RecordSpan> RecordsOfType(format::RecordType t) {
    std::vector<RecordSpan> out;
    for (const auto& r : records_) {
      if (r.type == static_cast<uint8_t>(t)) out.push_back(r);
    }
    return out;
  }
  // A scratch path holding `bytes`.
  std::string Scratch(const std::string& bytes, const std::string& name = "scratch.tape") {
    std::string p = dir_->File(name);
    testing::WriteFileBytes(p, bytes);
    return p;
  }

  // Opens a tape with damage in it and checks that everything it yields is
  // either exactly what was recorded or a Status saying why not.
  void CheckDamagedTape(const std::string& path, const std::string& where, const recorder::Metadata& header,
                        int* open_failed, int* opened_complete, int* opened_incomplete, int* chunk_errors) {
    auto t = Tape::Open(path);
    if (!t.ok()) {
      const auto code = t.status().code();
      ASSERT_TRUE(code == Status::Code::kCorrupt || code == Status::Code::kTruncated ||
                  code == Status::Code::kUnsupported)
          << where << ": " << t.status().ToString();
      ASSERT_FALSE(t.status().message().empty());
      ++*open_failed;
      return;
    }
    const Tape& tape = **t;
    // The header is checksummed: if the tape opened, it is the real one.
    ASSERT_EQ(tape.header().argv, header.argv) << where;
    ASSERT_EQ(tape.header().pid, header.pid) << where;
    if (tape.complete()) {
      ++*opened_complete;
      ASSERT_EQ(tape.footer()->event_count, events().size()) << where;
    } else {
      ++*opened_incomplete;
      const auto code = tape.tail_status().code();
      ASSERT_TRUE(code == Status::Code::kCorrupt || code == Status::Code::kTruncated)
          << where << ": " << tape.tail_status().ToString();
    }
    // Every chunk either reads back identical to what was recorded at its
    // place, or fails with a Status. Without a footer, the chunks found by
    // scanning must be a gap-free prefix that reads back.
    uint64_t next = 0;
    for (size_t k = 0; k < tape.chunks().size(); ++k) {
      const ChunkRef& ref = tape.chunks()[k];
      ASSERT_EQ(ref.first_event, next) << where;
      next += ref.event_count;
      bool same = false;
      Status s = testing::CompareChunk(tape, k, events(), &same);
      if (!s.ok()) {
        ASSERT_TRUE(tape.complete()) << where << ": a scanned chunk did not read back: " << s.ToString();
        ASSERT_TRUE(s.code() == Status::Code::kCorrupt || s.code() == Status::Code::kTruncated)
            << where << ": " << s.ToString();
        ++*chunk_errors;
        continue;
      }
      ASSERT_TRUE(same) << where << ": chunk " << k << " reads back different events";
    }
    ASSERT_LE(next, events().size()) << where;
  }

  static TempDir* dir_;
  static SyntheticRecording* rec_;
  static std::string path_;
  static std::string bytes_;
  static uint64_t footer_offset_;
  static std::vector<RecordSpan> records_;
  static std::vector<ChunkRef> full_chunks_;  // the sound tape's index
};

TempDir* TapeDamageTest::dir_ = nullptr;
SyntheticRecording* TapeDamageTest::rec_ = nullptr;
std::string TapeDamageTest::path_;
std::string TapeDamageTest::bytes_;
uint64_t TapeDamageTest::footer_offset_ = 0;
std::vector<RecordSpan> TapeDamageTest::records_;
std::vector<ChunkRef> TapeDamageTest::full_chunks_;

TEST_F(TapeDamageTest, SmallTapeIsSoundAndHasSeveralChunks) {
  auto t = Tape::Open(path_);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE((*t)->complete());
  EXPECT_GE((*t)->chunks().size(), 4u);
  std::vector<Event> got;
  ASSERT_TRUE(testing::ReadAllEvents(**t, &got).ok());
  EXPECT_EQ(got, events());
  // The framing the sweeps rely on: records tile the file up to the trailer.
  ASSERT_FALSE(records_.empty());
  EXPECT_EQ(records_.front().type, static_cast<uint8_t>(format::RecordType::kHeader));
  EXPECT_EQ(records_.back().offset, footer_offset_);
  EXPECT_EQ(records_.back().end, bytes_.size() - format::kTrailerSize);
  EXPECT_EQ(RecordsOfType(format::RecordType::kChunk).size(), (*t)->chunks().size());

  // The sweeps compare with CompareChunk: it must notice a difference.
  bool same = false;
  ASSERT_TRUE(testing::CompareChunk(**t, 1, events(), &same).ok());
  EXPECT_TRUE(same);
  for (int field = 0; field < 3; ++field) {
    std::vector<Event> altered = events();
    Event& e = altered[(*t)->chunks()[1].first_event + 1];
    if (field == 0) e.line += 1;
    if (field == 1) e.locals["__not_recorded__"] = "1";
    if (field == 2) e.value = e.value ? std::optional<std::string>() : std::optional<std::string>("x");
    ASSERT_TRUE(testing::CompareChunk(**t, 1, altered, &same).ok());
    EXPECT_FALSE(same) << "field " << field;
  }
}

TEST_F(TapeDamageTest, TruncationAtEveryOffsetRecoversAnExactPrefix) {
  const std::string cut_path = Scratch(bytes_, "cut.tape");
  const uint64_t header_end = records_.front().end;
  const auto chunk_records = RecordsOfType(format::RecordType::kChunk);
  const auto source_records = RecordsOfType(format::RecordType::kSource);

  // Cut from the end towards the start, shrinking one file in place.
  for (uint64_t len = bytes_.size(); len-- > 0;) {
    ASSERT_EQ(::truncate(cut_path.c_str(), static_cast<off_t>(len)), 0);
    auto t = Tape::Open(cut_path);
    if (len < header_end) {
      ASSERT_FALSE(t.ok()) << "cut at " << len << " inside the preamble or header opened";
      ASSERT_EQ(t.status().code(), Status::Code::kTruncated) << "cut at " << len << ": " << t.status().ToString();
      ASSERT_FALSE(t.status().message().empty());
      continue;
    }
    ASSERT_TRUE(t.ok()) << "cut at " << len << ": " << t.status().ToString();
    const Tape& tape = **t;
    ASSERT_FALSE(tape.complete()) << "cut at " << len;
    ASSERT_EQ(tape.tail_status().code(), Status::Code::kTruncated)
        << "cut at " << len << ": " << tape.tail_status().ToString();

    size_t whole_chunks = 0;
    uint64_t whole_events = 0;
    for (size_t k = 0; k < chunk_records.size(); ++k) {
      if (chunk_records[k].end > len) break;
      ++whole_chunks;
    }
    ASSERT_EQ(tape.chunks().size(), whole_chunks) << "cut at " << len;
    for (size_t k = 0; k < whole_chunks; ++k) whole_events += full_chunks_[k].event_count;
    ASSERT_EQ(tape.event_count(), whole_events) << "cut at " << len;
    for (size_t k = 0; k < tape.chunks().size(); ++k) {
      ASSERT_EQ(tape.chunks()[k].first_event, full_chunks_[k].first_event) << "cut at " << len;
      bool same = false;
      Status s = testing::CompareChunk(tape, k, events(), &same);
      ASSERT_TRUE(s.ok()) << "cut at " << len << ", chunk " << k << ": " << s.ToString();
      ASSERT_TRUE(same) << "cut at " << len << ": chunk " << k << " differs from the recording";
    }

    size_t whole_sources = 0;
    for (const auto& r : source_records) whole_sources += r.end <= len;
    ASSERT_EQ(tape.sources().size(), whole_sources) << "cut at " << len;
  }
}

TEST_F(TapeDamageTest, TruncatedTrailingChunkIsIgnored) {
  const auto chunk_records = RecordsOfType(format::RecordType::kChunk);
  const RecordSpan& last = chunk_records.back();
  const uint64_t cut = last.offset + (last.end - last.offset) / 2;
  auto t = Tape::Open(Scratch(bytes_.substr(0, cut)));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE((*t)->complete());
  EXPECT_EQ((*t)->tail_status().code(), Status::Code::kTruncated);
  ASSERT_EQ((*t)->chunks().size(), chunk_records.size() - 1);
  std::vector<Event> got;
  ASSERT_TRUE(testing::ReadAllEvents(**t, &got).ok());
  EXPECT_EQ(got, rec_->builder.EventsInRange(0, got.size()));
  EXPECT_LT(got.size(), events().size());
}

TEST_F(TapeDamageTest, TapeWithoutFooterIsIncompleteNotCorrupt) {
  auto t = Tape::Open(Scratch(bytes_.substr(0, footer_offset_)));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE((*t)->complete());
  EXPECT_EQ((*t)->footer(), nullptr);
  EXPECT_EQ((*t)->tail_status().code(), Status::Code::kTruncated);
  std::vector<Event> got;
  ASSERT_TRUE(testing::ReadAllEvents(**t, &got).ok());
  EXPECT_EQ(got, events()) << "every chunk before the footer is readable";
}

TEST_F(TapeDamageTest, CorruptionOfAnySingleByteIsDetectedOrHarmless) {
  const std::string path = Scratch(bytes_, "flip.tape");
  const auto expected_header = testing::TestRecordOptions(path_).metadata;
  int open_failed = 0, opened_complete = 0, opened_incomplete = 0, chunk_errors = 0;
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  for (size_t off = 0; off < bytes_.size(); ++off) {
    // The reader reads chunks lazily, so the damage stays in place until
    // every chunk has been read.
    const char flipped = static_cast<char>(bytes_[off] ^ 0xff);
    ASSERT_EQ(::pwrite(fd, &flipped, 1, static_cast<off_t>(off)), 1);
    CheckDamagedTape(path, "byte " + std::to_string(off), expected_header, &open_failed, &opened_complete,
                     &opened_incomplete, &chunk_errors);
    ASSERT_EQ(::pwrite(fd, &bytes_[off], 1, static_cast<off_t>(off)), 1);
    if (HasFatalFailure()) break;
  }
  ::close(fd);
  EXPECT_EQ(testing::ReadFileBytes(path), bytes_);
  // The sweep went through every path: unopenable, intact footer with a
  // damaged chunk, and fallback to scanning.
  EXPECT_GT(open_failed, 0);
  EXPECT_GT(opened_complete, 0);
  EXPECT_GT(opened_incomplete, 0);
  EXPECT_GT(chunk_errors, 0);
}

TEST_F(TapeDamageTest, ZeroFilledTailStopsReadingButKeepsTheChunksBeforeIt) {
  // A preallocated file: the writer died after the second chunk and the rest
  // of the file is zeros.
  const auto chunk_records = RecordsOfType(format::RecordType::kChunk);
  const uint64_t keep = chunk_records[1].end;
  auto t = Tape::Open(Scratch(bytes_.substr(0, keep) + std::string(8192, '\0')));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE((*t)->complete());
  EXPECT_FALSE((*t)->tail_status().ok());
  EXPECT_GE((*t)->chunks().size(), 2u);
  std::vector<Event> got;
  ASSERT_TRUE(testing::ReadAllEvents(**t, &got).ok());
  EXPECT_EQ(got, rec_->builder.EventsInRange(0, got.size()));
}

TEST_F(TapeDamageTest, DuplicatedChunkIsNotReadTwice) {
  const auto chunk_records = RecordsOfType(format::RecordType::kChunk);
  const RecordSpan& last = chunk_records.back();
  std::string damaged = bytes_.substr(0, footer_offset_) + bytes_.substr(last.offset, last.end - last.offset);
  auto t = Tape::Open(Scratch(damaged));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE((*t)->complete());
  EXPECT_EQ((*t)->tail_status().code(), Status::Code::kCorrupt) << (*t)->tail_status().ToString();
  std::vector<Event> got;
  ASSERT_TRUE(testing::ReadAllEvents(**t, &got).ok());
  EXPECT_EQ(got, events()) << "the repeated chunk must not add events";
}

TEST_F(TapeDamageTest, ChunksAreNeverJoinedAcrossAHole) {
  // Remove one middle chunk record: what follows it is not glued onto what
  // precedes it.
  const auto chunk_records = RecordsOfType(format::RecordType::kChunk);
  ASSERT_GE(chunk_records.size(), 3u);
  const RecordSpan& hole = chunk_records[1];
  std::string damaged = bytes_.substr(0, hole.offset) + bytes_.substr(hole.end, footer_offset_ - hole.end);
  auto t = Tape::Open(Scratch(damaged));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE((*t)->complete());
  EXPECT_EQ((*t)->tail_status().code(), Status::Code::kCorrupt) << (*t)->tail_status().ToString();
  std::vector<Event> got;
  ASSERT_TRUE(testing::ReadAllEvents(**t, &got).ok());
  ASSERT_EQ((*t)->chunks().size(), 1u);
  EXPECT_EQ(got, rec_->builder.EventsInRange(0, got.size()));
}

TEST_F(TapeDamageTest, SwappedChunksStopTheScanAtTheFirstOutOfSequence) {
  const auto chunk_records = RecordsOfType(format::RecordType::kChunk);
  const RecordSpan& a = chunk_records[1];
  const RecordSpan& b = chunk_records[2];
  ASSERT_EQ(a.end, b.offset) << "adjacent chunks expected";
  std::string damaged = bytes_.substr(0, a.offset) + bytes_.substr(b.offset, b.end - b.offset) +
                        bytes_.substr(a.offset, a.end - a.offset) + bytes_.substr(b.end, footer_offset_ - b.end);
  auto t = Tape::Open(Scratch(damaged));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ((*t)->tail_status().code(), Status::Code::kCorrupt);
  EXPECT_EQ((*t)->chunks().size(), 1u);
}

// Replaces the footer (and trailer) with one built from `entries`.
std::string WithFooter(const std::string& bytes, uint64_t footer_offset, const std::vector<fb::ChunkEntry>& entries,
                       uint64_t event_count) {
  flatbuffers::FlatBufferBuilder b;
  auto footer = fb::CreateFooter(b, event_count, b.CreateVectorOfStructs(entries), b.CreateVector<uint64_t>({}),
                                 b.CreateVector<flatbuffers::Offset<fb::Thread>>({}), 0, 1, 0, 0);
  b.Finish(footer);
  auto rec = format::EncodeRecord(format::RecordType::kFooter,
                                  std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()), 3);
  EXPECT_TRUE(rec.ok());
  return bytes.substr(0, footer_offset) + *rec + format::EncodeTrailer(footer_offset);
}

TEST_F(TapeDamageTest, FooterIndexPointingAtANonChunkRecordFailsWhenRead) {
  auto t0 = Tape::Open(path_);
  ASSERT_TRUE(t0.ok());
  std::vector<fb::ChunkEntry> entries;
  for (const auto& c : (*t0)->chunks()) entries.emplace_back(c.offset, c.first_event, c.event_count, 0);
  // Point one entry at a source record that keeps the index in file order.
  const auto sources = RecordsOfType(format::RecordType::kSource);
  ASSERT_FALSE(sources.empty());
  size_t k = entries.size();
  uint64_t src = 0;
  for (size_t i = 0; i < entries.size() && k == entries.size(); ++i) {
    uint64_t lo = i == 0 ? records_.front().end : entries[i - 1].offset() + format::kRecordHeaderSize;
    uint64_t hi = i + 1 < entries.size() ? entries[i + 1].offset() : footer_offset_;
    for (const auto& s : sources) {
      if (s.offset >= lo && s.offset < hi) {
        k = i;
        src = s.offset;
        break;
      }
    }
  }
  ASSERT_LT(k, entries.size()) << "no source record to point at";
  entries[k] = fb::ChunkEntry(src, entries[k].first_event(), entries[k].event_count(), 0);
  auto t = Tape::Open(Scratch(WithFooter(bytes_, footer_offset_, entries, events().size())));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_TRUE((*t)->complete()) << (*t)->tail_status().ToString();
  auto c = (*t)->ReadChunk(k);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kCorrupt);
  for (size_t i = 0; i < entries.size(); ++i) {
    if (i != k) {
      EXPECT_TRUE((*t)->ReadChunk(i).ok()) << "chunk " << i;
    }
  }
}

TEST_F(TapeDamageTest, FooterWhoseIndexContradictsItsCountIsCorruptNotTruncated) {
  // A footer record with a valid checksum whose chunk index does not add up
  // to its event count: the tape is not merely cut short, it contradicts the
  // format, so tail_status must say Corrupt.
  auto t0 = Tape::Open(path_);
  ASSERT_TRUE(t0.ok());
  std::vector<fb::ChunkEntry> entries;
  for (const auto& c : (*t0)->chunks()) entries.emplace_back(c.offset, c.first_event, c.event_count, 0);
  auto t = Tape::Open(Scratch(WithFooter(bytes_, footer_offset_, entries, events().size() + 1)));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE((*t)->complete());
  std::vector<Event> got;
  ASSERT_TRUE(testing::ReadAllEvents(**t, &got).ok());
  EXPECT_EQ(got, events()) << "every chunk is still readable by scanning";
  EXPECT_EQ((*t)->tail_status().code(), Status::Code::kCorrupt) << (*t)->tail_status().ToString();
}

TEST_F(TapeDamageTest, TrailerPointingOutsideTheFileFallsBackToScanning) {
  std::string damaged = bytes_.substr(0, bytes_.size() - format::kTrailerSize) + format::EncodeTrailer(1ull << 50);
  auto t = Tape::Open(Scratch(damaged));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE((*t)->complete());
  EXPECT_FALSE((*t)->tail_status().ok());
  std::vector<Event> got;
  ASSERT_TRUE(testing::ReadAllEvents(**t, &got).ok());
  EXPECT_EQ(got, events());
}

}  // namespace
}  // namespace tracetape::replayer
