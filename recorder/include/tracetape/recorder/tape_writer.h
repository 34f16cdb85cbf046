// The writer thread: drains the ring, assembles chunks, compresses them and
// appends them to the tape, embeds source files, and on a clean stop writes the
// footer index. It never takes the GIL and never touches a PyObject, so the
// hook never waits for I/O and the writer never waits for Python.
#ifndef TRACETAPE_RECORDER_TAPE_WRITER_H_
#define TRACETAPE_RECORDER_TAPE_WRITER_H_

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "tracetape/format/layout.h"
#include "tracetape/format/status.h"
#include "tracetape/recorder/chunk_assembler.h"
#include "tracetape/recorder/options.h"
#include "tracetape/recorder/ring_buffer.h"

namespace tracetape::recorder {

// Creates `path` with mode 0600 without following a symlink planted there:
// with O_EXCL where nothing is at the path; else a fresh file is made beside
// it with O_EXCL and renamed over the path.
StatusOr<int> CreateTapeFile(const std::string& path);

// SIGTERM while recording. With the default action the process would die
// before the tape is finished. The guard is a C handler that only sets an
// atomic flag (async-signal-safe): the running writer thread sees it within
// milliseconds, whatever the program's threads are doing (a long C call, a
// blocked wait), drains what the program published, writes the last chunk,
// the sources and the footer (exit status 128 + SIGTERM), syncs, and ends the
// process by SIGTERM with the default action, as it would have ended. With no
// writer running (around a fork), or on a second SIGTERM while it finishes,
// the handler ends the process at once. Python's own view of the signal
// (signal.getsignal) stays SIG_DFL; a handler the program installs replaces
// the guard. Install: only over the default action (false otherwise).
bool InstallTermGuard();
// Restores the default action if the guard is still the handler.
void RemoveTermGuard();

// The writers keep each source record they encode from a file on disk for
// the process's next tapes (`pytest --tape` embeds the same files in each
// test's tape), while the file is unchanged and was not changed in the last
// `ns` before it was read (2 s; tests set it lower). Returns the last value.
int64_t SetSourceCacheSettledNs(int64_t ns);
// Whether a record of `path` is kept (for tests).
bool SourceCached(const std::string& path);

// A discarding Finish leaves a napping (or not yet begun) writer thread to end by itself (see
// Finish). JoinLeftWriters waits for every such thread to have ended.
// Around fork() (the three in the order of pthread_atfork's): the child is
// forked from a process without them (no lock of theirs held, and no thread
// for CPython 3.12+'s "multi-threaded" fork warning to count), with their
// list's lock held, and the child forgets the list (its threads are the
// parent's).
void JoinLeftWriters();
void LeftWritersBeforeFork();
void LeftWritersAfterForkInParent();
void LeftWritersAfterForkInChild();
// How many are not joined yet (for tests).
size_t LeftWriters();

class TapeWriter {
 public:
  // Opens the file and starts the thread, which writes the preamble and the
  // header first (a failure there is the writer's, as any later one).
  // `also_failed`, if given, is set (relaxed) with failed(): one flag the
  // hook's fast paths can check among their own.
  static StatusOr<std::unique_ptr<TapeWriter>> Start(const RecordOptions& options, RingBuffer* ring,
                                                     std::atomic<bool>* also_failed = nullptr);
  ~TapeWriter();

  // Asks the thread to drain the ring, write the footer and exit; then waits.
  // Returns the first error the writer met, if any. With `discard`, the tape
  // is not wanted (`pytest --tape`'s passing test): the thread stops at once,
  // leaving the ring undrained, and the file is removed; nothing is written
  // or synced, and no error is returned. A thread napping then (the ring
  // empty: the usual case), or not yet begun, is not waited for: it touches
  // nothing of this writer, the ring or the file any more, and ends when it
  // next runs (JoinLeftWriters). Waiting for it to run first cost a test up
  // to a few milliseconds where the other cores were busy (pytest -n): the
  // kernel queued the woken thread behind another process's.
  Status Finish(int exit_status, bool discard = false);

  // Around fork(): the thread is stopped before (so the child is forked from
  // a single-threaded process and no write is in flight) and started again
  // after, in the parent. Records stay in the ring meanwhile.
  void PauseThread();
  void ResumeThread();

  // After fork(), in the child (the thread was paused): forget this writer
  // without touching the parent's file.
  void AbandonAfterFork();

  // After Finish: the events the tape holds.
  uint64_t events() const { return assembler_.total_events(); }

  // Set once the writer failed (disk full...): the hook stops recording.
  bool failed() const { return failed_.load(std::memory_order_acquire); }
  std::string error() const;

  // Chunks flush at least this often while events are pending.
  static constexpr int64_t kFlushIntervalNs = 500'000'000;

 private:
  TapeWriter(const RecordOptions& options, RingBuffer* ring, int fd);
  struct NapState;
  void Run(NapState& nap);
  // SIGTERM came (see InstallTermGuard): finish the tape, end the process.
  [[noreturn]] void FinishForTermSignal();
  void DrainOnce(bool* did_work);
  void WriteHead();
  void WriteChunk();
  void WriteSources();
  void WriteFooter();
  Status Append(const std::string& bytes, uint64_t* offset);
  // Encodes a finished FlatBuffer as a record of `type` and appends it.
  Status AppendFlatBuffer(format::RecordType type, const flatbuffers::FlatBufferBuilder& b, uint64_t* offset);
  void Fail(const Status& s);

  RecordOptions options_;
  RingBuffer* ring_;
  int fd_;
  uint64_t file_offset_ = 0;
  ChunkAssembler assembler_;
  int64_t chunk_started_ns_ = 0;
  struct ChunkEntry {
    uint64_t offset, first_event;
    uint32_t count;
    ChunkAssembler::Summary summary;
  };
  std::vector<ChunkEntry> chunk_index_;
  std::vector<uint64_t> source_offsets_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> pause_{false};
  std::atomic<bool> abandon_{false};  // Finish's discard: the thread stops at once
  // The thread's nap when the ring is empty (at most 2 ms, so that a
  // SIGTERM's flag is seen): cut short by Wake once stop_ or pause_ is set,
  // so that Finish and PauseThread (a test's end under `pytest --tape`, a
  // fork) do not wait for the rest of it. Its state is shared with the
  // thread, which holds it: a discarding Finish may leave the thread napping
  // or not begun yet (`left`), and the TapeWriter may be gone when it runs.
  // False then: the thread returns at once, touching nothing of `this`.
  struct NapState {
    std::mutex mu;
    std::condition_variable cv;
    bool busy = false;  // between Run's start and a nap, or after one: it uses the writer
    bool left = false;  // left by Finish while not busy: `this` may be gone
    std::atomic<bool> ended{false};  // Run has returned
    int64_t linger_us = 0;           // test_linger_us_
  };
  bool Nap(NapState& nap);
  void Wake();
  void StartThread();
  std::shared_ptr<NapState> nap_;
  std::atomic<bool> failed_{false};
  std::atomic<bool>* also_failed_ = nullptr;
  int exit_status_ = 0;
  mutable std::mutex error_mu_;
  std::string error_;
  bool discard_ = false;  // after a failure: drain and drop
  bool head_written_ = false;  // the preamble and the header (WriteHead)
  // For the tests only: TRACETAPE_TEST_WRITER_PAUSE_US, a pause after each
  // drain of at most 4 KiB, so that the hook finds the ring full (0: none).
  int64_t test_pause_us_ = 0;
  // TRACETAPE_TEST_LEFT_WRITER_LINGER_US: a thread left by a discarding
  // Finish sleeps this long before it ends.
  int64_t test_linger_us_ = 0;
};

}  // namespace tracetape::recorder

#endif  // TRACETAPE_RECORDER_TAPE_WRITER_H_
