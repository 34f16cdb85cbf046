// End to end through the real writer: raw records as the hook writes them go
// through a RingBuffer into a TapeWriter; Tape::Open and ChunkWalker must give
// back exactly the recorded event stream (DESIGN section 4), with the header,
// footer and embedded sources.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "synthetic_recording.h"
#include "tracetape/format/record.h"
#include "tracetape/recorder/tape_writer.h"
#include "tracetape/replayer/tape.h"
#include "tracetape/replayer/timeline.h"

namespace tracetape::replayer {
namespace {

using testing::Event;
using testing::ProgramSpec;
using testing::ReadAllEvents;
using testing::SyntheticRecording;
using testing::TempDir;

// Finds the first difference, so a failure names one event instead of
// printing a hundred thousand.
void ExpectSameEvents(const std::vector<Event>& got, const std::vector<Event>& want) {
  size_t n = std::min(got.size(), want.size());
  for (size_t i = 0; i < n; ++i) {
    if (got[i] != want[i]) {
      ADD_FAILURE() << "event " << i << " differs\n  got:  " << Describe(got[i]) << "\n  want: " << Describe(want[i]);
      return;
    }
  }
  EXPECT_EQ(got.size(), want.size());
}

// One large recording, written once: 150,000 events on two threads, more than
// two chunks' worth at the writer's 65,536-events-per-chunk limit.
class TapeRoundTripTest : public ::testing::Test {
 protected:
  static constexpr int kExitStatus = 3;

  static void SetUpTestSuite() {
    dir_ = new TempDir();
    disk_file_ = dir_->File("helper.py");
    testing::WriteFileBytes(disk_file_, "def helper(data, key):\n    return data[key]\n\n# \xe2\x9c\x93 on disk\n");
    ProgramSpec spec;
    spec.seed = 20240501;
    spec.events = 150000;
    spec.plain_threads = 2;
    spec.disk_file = disk_file_;
    spec.with_missing_file = true;
    rec_ = new SyntheticRecording(testing::MakeProgram(spec));
    path_ = dir_->File("big.tape");
    write_status_ = new Status(testing::WriteTape(testing::TestRecordOptions(path_), rec_->builder.raw(), kExitStatus));
  }
  static void TearDownTestSuite() {
    delete write_status_;
    delete rec_;
    delete dir_;
  }

  void SetUp() override {
    ASSERT_TRUE(write_status_->ok()) << write_status_->ToString();
    auto t = Tape::Open(path_);
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    tape_ = std::move(t).value();
  }

  static TempDir* dir_;
  static std::string disk_file_;
  static std::string path_;
  static SyntheticRecording* rec_;
  static Status* write_status_;
  std::unique_ptr<Tape> tape_;
};

TempDir* TapeRoundTripTest::dir_ = nullptr;
std::string TapeRoundTripTest::disk_file_;
std::string TapeRoundTripTest::path_;
SyntheticRecording* TapeRoundTripTest::rec_ = nullptr;
Status* TapeRoundTripTest::write_status_ = nullptr;

TEST_F(TapeRoundTripTest, ReadsBackExactlyTheRecordedEvents) {
  ASSERT_TRUE(tape_->complete()) << tape_->tail_status().ToString();
  EXPECT_TRUE(tape_->tail_status().ok());
  std::vector<Event> got;
  Status s = ReadAllEvents(*tape_, &got);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ExpectSameEvents(got, rec_->events());
}

TEST_F(TapeRoundTripTest, RecordingSpansSeveralChunks) {
  EXPECT_GE(tape_->chunks().size(), 3u);
  EXPECT_EQ(tape_->event_count(), rec_->events().size());
}

TEST_F(TapeRoundTripTest, ChunksAreNumberedContiguously) {
  uint64_t next = 0;
  for (size_t i = 0; i < tape_->chunks().size(); ++i) {
    const ChunkRef& c = tape_->chunks()[i];
    EXPECT_EQ(c.first_event, next) << "chunk " << i;
    EXPECT_GT(c.event_count, 0u) << "chunk " << i;
    next += c.event_count;
  }
  EXPECT_EQ(next, rec_->events().size());
}

TEST_F(TapeRoundTripTest, EachChunkDecodesOnItsOwnInAnyOrder) {
  for (size_t k = tape_->chunks().size(); k-- > 0;) {
    const ChunkRef& c = tape_->chunks()[k];
    std::vector<Event> got;
    Status s = testing::ReadChunkEvents(*tape_, k, &got);
    ASSERT_TRUE(s.ok()) << "chunk " << k << ": " << s.ToString();
    ExpectSameEvents(got, rec_->builder.EventsInRange(c.first_event, c.first_event + c.event_count));
  }
}

TEST_F(TapeRoundTripTest, ChunkForFindsTheChunkHoldingAnEvent) {
  const auto& chunks = tape_->chunks();
  for (size_t k = 0; k < chunks.size(); ++k) {
    EXPECT_EQ(tape_->ChunkFor(chunks[k].first_event), k);
    EXPECT_EQ(tape_->ChunkFor(chunks[k].first_event + chunks[k].event_count - 1), k);
  }
  EXPECT_EQ(tape_->ChunkFor(rec_->events().size()), chunks.size());
  EXPECT_EQ(tape_->ChunkFor(~uint64_t{0}), chunks.size());
}

TEST_F(TapeRoundTripTest, ReadChunkPastTheEndIsAnError) {
  auto c = tape_->ReadChunk(tape_->chunks().size());
  EXPECT_FALSE(c.ok());
}

TEST_F(TapeRoundTripTest, HeaderCarriesTheRecordingMetadata) {
  const auto want = testing::TestRecordOptions(path_).metadata;
  const TapeHeader& h = tape_->header();
  EXPECT_EQ(h.format_major, format::kFormatMajor);
  EXPECT_EQ(h.writer_version, want.writer_version);
  EXPECT_EQ(h.python_version, want.python_version);
  EXPECT_EQ(h.python_implementation, want.python_implementation);
  EXPECT_EQ(h.platform, want.platform);
  EXPECT_EQ(h.executable, want.executable);
  EXPECT_EQ(h.argv, want.argv);
  EXPECT_EQ(h.cwd, want.cwd);
  EXPECT_EQ(h.start_time_ns, want.start_time_ns);
  EXPECT_EQ(h.pid, want.pid);
  EXPECT_EQ(h.hook_backend, want.hook_backend);
  EXPECT_EQ(h.options, want.options);
}

TEST_F(TapeRoundTripTest, FooterRecordsCountExitStatusAndThreads) {
  const FooterInfo* f = tape_->footer();
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->event_count, rec_->events().size());
  EXPECT_EQ(f->exit_status, kExitStatus);
  EXPECT_EQ(f->dropped_events, 0u);
  EXPECT_TRUE(f->error.empty()) << f->error;
  EXPECT_GE(f->end_time_ns, 0);
  ASSERT_EQ(f->threads.size(), rec_->threads.size());
  for (const auto& t : f->threads) {
    auto it = rec_->threads.find(t.index);
    ASSERT_NE(it, rec_->threads.end()) << "thread " << t.index;
    EXPECT_EQ(t.ident, it->second.first);
    EXPECT_EQ(t.name, it->second.second);
  }
}

TEST_F(TapeRoundTripTest, SourcesAreEmbeddedFromOverrideAndFromDisk) {
  const auto& sources = tape_->sources();
  for (const auto& [path, text] : rec_->sources) {
    auto it = sources.find(path);
    ASSERT_NE(it, sources.end()) << path;
    EXPECT_EQ(it->second.text, text) << path;
    EXPECT_TRUE(it->second.omitted_reason.empty()) << path << ": " << it->second.omitted_reason;
  }
  EXPECT_EQ(sources.at(testing::kSyntheticPath).text, testing::kSyntheticSource);
}

TEST_F(TapeRoundTripTest, UnreadableSourceIsRecordedAsOmitted) {
  auto it = tape_->sources().find(rec_->missing_file);
  ASSERT_NE(it, tape_->sources().end());
  EXPECT_TRUE(it->second.text.empty());
  EXPECT_FALSE(it->second.omitted_reason.empty());
}

TEST_F(TapeRoundTripTest, TapeFileHasMode0600) {
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

// --- Separate, smaller tapes.

struct Written {
  std::unique_ptr<TempDir> dir = std::make_unique<TempDir>();
  std::string path = dir->File("t.tape");
  std::unique_ptr<Tape> tape;
};

Written WriteAndOpen(const std::vector<std::string>& raw, recorder::RecordOptions options, int exit_status = 0) {
  Written w;
  options.path = w.path;
  Status s = testing::WriteTape(options, raw, exit_status);
  EXPECT_TRUE(s.ok()) << s.ToString();
  auto t = Tape::Open(w.path);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  if (t.ok()) w.tape = std::move(t).value();
  return w;
}

TEST(TapeWriterTest, EmptyRecordingIsACompleteTapeWithNoEvents) {
  Written w = WriteAndOpen({}, testing::TestRecordOptions(""));
  ASSERT_NE(w.tape, nullptr);
  EXPECT_TRUE(w.tape->complete());
  EXPECT_EQ(w.tape->event_count(), 0u);
  EXPECT_TRUE(w.tape->chunks().empty());
  ASSERT_NE(w.tape->footer(), nullptr);
  EXPECT_EQ(w.tape->footer()->event_count, 0u);
}

TEST(TapeWriterTest, ThreadsAdoptedMidRecordingStartNewChunksWithTheirFrames) {
  ProgramSpec spec;
  spec.seed = 5;
  spec.events = 2000;
  spec.adopt_every = 400;
  spec.max_adopted_threads = 3;
  auto rec = testing::MakeProgram(spec);
  Written w = WriteAndOpen(rec.builder.raw(), testing::TestRecordOptions(""));
  ASSERT_NE(w.tape, nullptr);
  EXPECT_GE(w.tape->chunks().size(), 4u) << "each adoption after the first event starts a chunk";
  std::vector<Event> got;
  ASSERT_TRUE(ReadAllEvents(*w.tape, &got).ok());
  ExpectSameEvents(got, rec.events());
}

TEST(TapeWriterTest, UncompressedTapeRoundTrips) {
  ProgramSpec spec;
  spec.seed = 9;
  spec.events = 3000;
  auto rec = testing::MakeProgram(spec);
  auto options = testing::TestRecordOptions("");
  options.zstd_level = 0;
  Written w = WriteAndOpen(rec.builder.raw(), options);
  ASSERT_NE(w.tape, nullptr);
  EXPECT_TRUE(w.tape->complete());
  std::vector<Event> got;
  ASSERT_TRUE(ReadAllEvents(*w.tape, &got).ok());
  ExpectSameEvents(got, rec.events());
}

TEST(TapeWriterTest, NoSourceOptionOmitsSourceText) {
  ProgramSpec spec;
  spec.events = 50;
  auto rec = testing::MakeProgram(spec);
  auto options = testing::TestRecordOptions("");
  options.embed_source = false;
  Written w = WriteAndOpen(rec.builder.raw(), options);
  ASSERT_NE(w.tape, nullptr);
  auto it = w.tape->sources().find(testing::kSyntheticPath);
  ASSERT_NE(it, w.tape->sources().end());
  EXPECT_TRUE(it->second.text.empty());
  EXPECT_FALSE(it->second.omitted_reason.empty());
  EXPECT_EQ(testing::ReadFileBytes(w.path).find("def fib(n):"), std::string::npos);
}

// A tape of one call into `path`, whose source the writer reads from disk;
// the text it embedded.
std::string EmbeddedSource(const std::string& path) {
  testing::RecordingBuilder b;
  uint32_t f = b.DefineFile(path, "");
  uint32_t c = b.DefineCode(f, 1, "f", "f");
  b.DefineThread(0, 77, "MainThread");
  b.Call(0, c, 1);
  b.Return(0, 1, "None");
  Written w = WriteAndOpen(b.raw(), testing::TestRecordOptions(""));
  if (w.tape == nullptr) return "<no tape>";
  auto it = w.tape->sources().find(path);
  return it == w.tape->sources().end() ? "<no source>" : it->second.text;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

// Sets the file's modification time (and with it its change time, to now).
void SetMtime(const std::string& path, const struct timespec& mtime) {
  struct timespec times[2] = {mtime, mtime};
  ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), times, 0), 0) << std::strerror(errno);
}

struct timespec MtimeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mtim;
}

// The writers keep the source records they encode for the process's next
// tapes (pytest --tape embeds the same files in every test's tape): a file
// that changed since is read again, even with its size and modification time
// put back as they were, and a file changed within the last two seconds is
// never kept (its times may not show a rewrite in the same clock tick).
TEST(TapeWriterTest, ASourceEmbeddedAgainIsTheFileAsItIsNow) {
  TempDir dir;
  const std::string path = dir.File("mod.py");
  const int64_t settled = recorder::SetSourceCacheSettledNs(0);
  WriteText(path, "value = 1\n");
  struct timespec old_mtime = {1'600'000'000, 123};
  SetMtime(path, old_mtime);
  EXPECT_EQ(EmbeddedSource(path), "value = 1\n");
  EXPECT_TRUE(recorder::SourceCached(path));
  EXPECT_EQ(EmbeddedSource(path), "value = 1\n");  // from the cache
  // The same size, the same modification time: only the change time differs
  // (its clock ticks every few milliseconds).
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  WriteText(path, "value = 2\n");
  SetMtime(path, old_mtime);
  EXPECT_EQ(EmbeddedSource(path), "value = 2\n");
  // Replaced by another file (another inode) of the same size and times.
  const std::string other = dir.File("other.py");
  WriteText(other, "value = 3\n");
  SetMtime(other, old_mtime);
  ASSERT_EQ(::rename(other.c_str(), path.c_str()), 0);
  EXPECT_EQ(EmbeddedSource(path), "value = 3\n");
  recorder::SetSourceCacheSettledNs(settled);

  // A file changed in the last two seconds is read again for each tape: a
  // rewrite of the same size in the same tick of the filesystem's clock
  // would not show in its times.
  const std::string fresh = dir.File("fresh.py");
  WriteText(fresh, "flag = 'a'\n");
  EXPECT_EQ(EmbeddedSource(fresh), "flag = 'a'\n");
  EXPECT_FALSE(recorder::SourceCached(fresh));
  SetMtime(fresh, old_mtime);  // an old modification time, a change time of now
  EXPECT_EQ(EmbeddedSource(fresh), "flag = 'a'\n");
  EXPECT_FALSE(recorder::SourceCached(fresh));
}

TEST(TapeWriterTest, LossIsRecordedInBandAndInTheFooter) {
  testing::RecordingBuilder b;
  uint32_t f = b.DefineFile("/a.py", "pass\n");
  uint32_t c = b.DefineCode(f, 1, "f", "f");
  b.DefineThread(0, 77, "MainThread");
  b.Call(0, c, 1, {{"a", "1"}});
  b.Loss(40);
  b.Line(0, 2, {{"b", "2"}});
  b.Loss(2);
  b.Return(0, 3, "None");
  Written w = WriteAndOpen(b.raw(), testing::TestRecordOptions(""));
  ASSERT_NE(w.tape, nullptr);
  ASSERT_NE(w.tape->footer(), nullptr);
  EXPECT_EQ(w.tape->footer()->dropped_events, 42u);
  uint64_t dropped = 0;
  for (size_t i = 0; i < w.tape->chunks().size(); ++i) {
    auto chunk = w.tape->ReadChunk(i);
    ASSERT_TRUE(chunk.ok());
    dropped += chunk->dropped_before;
  }
  EXPECT_EQ(dropped, 42u);
  std::vector<Event> got;
  ASSERT_TRUE(ReadAllEvents(*w.tape, &got).ok());
  ExpectSameEvents(got, b.events());
}

// A writer started on `ring`, given `raw`'s records (null if it failed to start).
std::unique_ptr<recorder::TapeWriter> StartAndFill(const recorder::RecordOptions& options,
                                                   recorder::RingBuffer* ring, const std::vector<std::string>& raw) {
  auto writer = recorder::TapeWriter::Start(options, ring);
  EXPECT_TRUE(writer.ok()) << writer.status().ToString();
  if (!writer.ok()) return nullptr;
  for (const auto& r : raw) {
    while (!ring->TryWrite(r.data(), r.size())) std::this_thread::yield();
  }
  return std::move(writer).value();
}

// A synthetic program's records, a directory, options for its passed.tape
// and a ring: what the discarding writers' tests start from.
struct DiscardSetup {
  DiscardSetup(uint64_t seed, size_t events) : rec(Make(seed, events)) {}
  static SyntheticRecording Make(uint64_t seed, size_t events) {
    ProgramSpec spec;
    spec.seed = seed;
    spec.events = events;
    return testing::MakeProgram(spec);
  }
  SyntheticRecording rec;
  TempDir dir;
  recorder::RecordOptions options = testing::TestRecordOptions(dir.File("passed.tape"));
  recorder::RingBuffer ring{options.ring_bytes};
};

TEST(TapeWriterTest, FinishWithDiscardRemovesTheTapeWithoutAnError) {
  DiscardSetup d(3, 5000);
  auto& [rec, dir, options, ring] = d;
  auto writer = StartAndFill(options, &ring, rec.builder.raw());
  ASSERT_NE(writer, nullptr);
  Status s = writer->Finish(1, /*discard=*/true);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(std::filesystem::exists(options.path)) << "a discarded tape is removed";
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "and nothing is left beside it";
}

TEST(TapeWriterTest, ADiscardedRecordingLeavesItsNappingThreadToEndOnItsOwn) {
  // A discarding Finish while the writer naps (the ring drained) does not
  // wait for the thread to run: it is left, and ends when it next runs,
  // touching neither its writer (destroyed at once here) nor the ring (which
  // the next recording takes). Whether it naps at that instant is the
  // scheduler's doing (it wakes every 2 ms to look for SIGTERM): of ten
  // recordings, drained, some leave it.
  DiscardSetup d(7, 500);
  auto& [rec, dir, options, ring] = d;
  size_t left = 0;
  for (int i = 0; i < 10; ++i) {
    auto writer = StartAndFill(options, &ring, rec.builder.raw());
    ASSERT_NE(writer, nullptr);
    while (!ring.Empty()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const size_t before = recorder::LeftWriters();
    Status s = writer->Finish(0, /*discard=*/true);
    EXPECT_TRUE(s.ok()) << s.ToString();
    left += recorder::LeftWriters() - before;
    writer.reset();
    EXPECT_FALSE(std::filesystem::exists(options.path)) << "a discarded tape is removed";
  }
  EXPECT_GT(left, 0u) << "no discarding Finish left a napping thread";
  recorder::JoinLeftWriters();
  EXPECT_EQ(recorder::LeftWriters(), 0u);
  // The ring, taken by a recording that is kept: its tape holds its events.
  options.path = dir.File("kept.tape");
  auto writer = StartAndFill(options, &ring, rec.builder.raw());
  ASSERT_NE(writer, nullptr);
  Status s = writer->Finish(0);
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto t = Tape::Open(options.path);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE((*t)->complete());
  std::vector<Event> got;
  ASSERT_TRUE(ReadAllEvents(**t, &got).ok());
  ExpectSameEvents(got, rec.events());
}

TEST(TapeWriterTest, StartFailsForADirectoryOrAMissingDirectory) {
  TempDir dir;
  recorder::RingBuffer ring(0);
  auto w = recorder::TapeWriter::Start(testing::TestRecordOptions(dir.path()), &ring);
  EXPECT_FALSE(w.ok());
  auto w2 = recorder::TapeWriter::Start(testing::TestRecordOptions(dir.File("none/x.tape")), &ring);
  EXPECT_FALSE(w2.ok());
}

// --- Opening things that are not sound tapes.

TEST(TapeOpenTest, MissingFileIsNotFound) {
  TempDir dir;
  auto t = Tape::Open(dir.File("absent.tape"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kNotFound);
}

TEST(TapeOpenTest, DirectoryIsAnError) {
  TempDir dir;
  auto t = Tape::Open(dir.path());
  EXPECT_FALSE(t.ok());
}

TEST(TapeOpenTest, NamedPipeIsRejectedWithoutBlocking) {
  // A path from a stranger (an unpacked bug-report archive, say) may name a
  // FIFO: opening it must fail, not wait forever for a writer.
  TempDir dir;
  const std::string fifo = dir.File("pipe.tape");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto result = std::async(std::launch::async, [&] { return Tape::Open(fifo).status(); });
  // Hang detection only, not a timing requirement: a correct Open returns at
  // once, and the bound is generous.
  if (result.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "Tape::Open blocked on a named pipe";
    int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);  // lets the blocked open() return
    if (fd >= 0) ::close(fd);
  }
  Status s = result.get();
  EXPECT_FALSE(s.ok());
}

TEST(TapeOpenTest, EmptyFileIsTruncated) {
  TempDir dir;
  testing::WriteFileBytes(dir.File("e.tape"), "");
  auto t = Tape::Open(dir.File("e.tape"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kTruncated);
}

TEST(TapeOpenTest, TextFileIsCorrupt) {
  TempDir dir;
  testing::WriteFileBytes(dir.File("t.tape"), "print('hello')\n");
  auto t = Tape::Open(dir.File("t.tape"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kCorrupt);
}

TEST(TapeOpenTest, FutureMajorVersionIsUnsupported) {
  ProgramSpec spec;
  spec.events = 20;
  auto rec = testing::MakeProgram(spec);
  Written w = WriteAndOpen(rec.builder.raw(), testing::TestRecordOptions(""));
  std::string bytes = testing::ReadFileBytes(w.path);
  bytes[8] = static_cast<char>(format::kFormatMajor + 1);  // major, little-endian u16 at offset 8
  bytes[9] = 0;
  testing::WriteFileBytes(w.path, bytes);
  auto t = Tape::Open(w.path);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kUnsupported);
}

TEST(TapeOpenTest, PreambleWithoutAHeaderRecordIsTruncated) {
  TempDir dir;
  testing::WriteFileBytes(dir.File("p.tape"), format::EncodePreamble());
  auto t = Tape::Open(dir.File("p.tape"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kTruncated);
}

TEST(TapeOpenTest, FirstRecordThatIsNotAHeaderIsCorrupt) {
  TempDir dir;
  auto rec = format::EncodeRecord(format::RecordType::kChunk, "whatever", 3);
  ASSERT_TRUE(rec.ok());
  testing::WriteFileBytes(dir.File("c.tape"), format::EncodePreamble() + *rec);
  auto t = Tape::Open(dir.File("c.tape"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kCorrupt);
}

TEST(TapeOpenTest, HeaderThatIsNotAFlatBufferIsCorrupt) {
  TempDir dir;
  auto rec = format::EncodeRecord(format::RecordType::kHeader, "definitely not a flatbuffer", 3);
  ASSERT_TRUE(rec.ok());
  testing::WriteFileBytes(dir.File("h.tape"), format::EncodePreamble() + *rec);
  auto t = Tape::Open(dir.File("h.tape"));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kCorrupt);
}

}  // namespace
}  // namespace tracetape::replayer
