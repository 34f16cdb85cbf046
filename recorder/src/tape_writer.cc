#include "tracetape/recorder/tape_writer.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <utility>

#include <flatbuffers/flatbuffers.h>

#include "tape_generated.h"
#include "tracetape/format/record.h"
#include "tracetape/recorder/raw_records.h"

namespace tracetape::recorder {
namespace {

int64_t MonotonicNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t WallNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr size_t kMaxSourceBytes = 16u << 20;

// Source records already encoded, by path and file id, for the next tapes of the
// process: `pytest --tape` records each test into a tape of its own, and
// each embeds the test module and the code the test ran, the same files
// again and again (compressing a 100 KB test module took about 600k
// instructions per test). An entry is reused while the file is the same one,
// unchanged (device, inode, size, modification and change times, as stat()
// gives them before and after the read that made it), and the record would
// be the same (file id, compression level). A file changed in the last two
// seconds is not kept (SetSourceCacheSettledNs), as git treats a "racily
// clean" file: a filesystem stamps its times from a clock that ticks every
// few milliseconds, and a rewrite of the same size within one tick would
// look unchanged. At most kSourceCacheBytes.
struct FileIdentity {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = -1;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileIdentity& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns;
  }
};

bool IdentityOf(const std::string& path, FileIdentity* out) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  out->dev = st.st_dev;
  out->ino = st.st_ino;
  out->size = st.st_size;
  out->mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  out->ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  return true;
}

struct CachedSource {
  int level;
  FileIdentity identity;
  std::string record;
};
constexpr size_t kSourceCacheBytes = 32u << 20;
std::atomic<int64_t> g_settled_ns{2'000'000'000};  // SetSourceCacheSettledNs
std::mutex g_source_cache_mu;
// (A file's id is its order among the files a recording meets: tests that
// run other code meet the same file with other ids.)
std::map<std::pair<std::string, uint32_t>, CachedSource> g_source_cache;
size_t g_source_cache_bytes = 0;

// The cached record of `path`, if it is still `identity`'s and would be the
// same; empty otherwise.
std::string CachedSourceRecord(const std::string& path, uint32_t id, int level, const FileIdentity& identity) {
  std::lock_guard<std::mutex> lock(g_source_cache_mu);
  auto it = g_source_cache.find({path, id});
  if (it == g_source_cache.end() || it->second.level != level || !(it->second.identity == identity)) {
    return std::string();
  }
  return it->second.record;
}

void CacheSourceRecord(const std::string& path, uint32_t id, int level, const FileIdentity& identity,
                       const std::string& record) {
  std::lock_guard<std::mutex> lock(g_source_cache_mu);
  auto it = g_source_cache.find({path, id});
  if (it != g_source_cache.end()) {
    g_source_cache_bytes -= it->second.record.size();
    g_source_cache.erase(it);
  }
  if (record.size() > kSourceCacheBytes / 4) return;
  const int64_t now = WallNs();
  const int64_t settled = g_settled_ns.load(std::memory_order_relaxed);
  if (now - identity.mtime_ns < settled || now - identity.ctime_ns < settled) return;
  if (g_source_cache_bytes + record.size() > kSourceCacheBytes) {
    g_source_cache.clear();  // rare: a process whose tapes embed over 32 MiB of sources
    g_source_cache_bytes = 0;
  }
  g_source_cache.emplace(std::make_pair(path, id), CachedSource{level, identity, record});
  g_source_cache_bytes += record.size();
}

// The SIGTERM guard's state, lock-free atomics only (the handler reads and
// writes them). One recording runs at a time: one writer thread is "live",
// besides those a discarding Finish left, which end on their own.
std::atomic<bool> g_term_requested{false};
// Writer threads running (a recording's, and those a discarding Finish
// left, ending).
std::atomic<int> g_writers_live{0};
std::atomic<int64_t> g_term_first_ns{0};  // monotonic time of the first SIGTERM
std::atomic<bool> g_guard_wanted{false};   // InstallTermGuard succeeded, RemoveTermGuard not called
static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free &&
                  std::atomic<int64_t>::is_always_lock_free,
              "the SIGTERM handler needs lock-free atomics");
// Repeats of SIGTERM this soon after the first (GNU timeout signals the
// process and its group; a supervisor may send two) leave the writer to
// finish; a later one ends the process at once, finished or not.
constexpr int64_t kTermGraceNs = 3'000'000'000;

int64_t SignalSafeMonotonicNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

[[noreturn]] void DieOfSigterm() {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGTERM, &dfl, nullptr);
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  ::pthread_sigmask(SIG_UNBLOCK, &term, nullptr);
  ::kill(::getpid(), SIGTERM);
  ::raise(SIGTERM);
  ::_exit(128 + SIGTERM);  // not reached
}

void OnTermSignal(int) {
  const int saved_errno = errno;
  const int64_t now = SignalSafeMonotonicNs();
  int64_t unset = 0;
  g_term_first_ns.compare_exchange_strong(unset, now);  // the first one's time
  // The request first, then whether a writer lives (both sequentially
  // consistent, as the writer's exit in the other order): a writer that
  // ends meanwhile sees the request, or this sees it gone.
  const bool first = !g_term_requested.exchange(true);
  if (g_writers_live.load() > 0) {
    if (first || now - g_term_first_ns.load() < kTermGraceNs) {
      errno = saved_errno;
      return;  // the writer finishes the tape, then ends the process
    }
  }
  DieOfSigterm();
}

// True if SIGTERM's handler is `handler` (SIG_DFL, or the guard).
bool TermHandlerIs(void (*handler)(int)) {
  struct sigaction current {};
  if (::sigaction(SIGTERM, nullptr, &current) != 0) return false;
  return (current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == handler;
}

// Installs the guard if SIGTERM has the default action; true if it did.
bool GuardOverDefault() {
  if (!TermHandlerIs(SIG_DFL)) return false;
  struct sigaction guard {}, replaced {};
  guard.sa_handler = OnTermSignal;
  sigemptyset(&guard.sa_mask);
  guard.sa_flags = SA_RESTART;
  if (::sigaction(SIGTERM, &guard, &replaced) != 0) return false;
  if ((replaced.sa_flags & SA_SIGINFO) != 0 || replaced.sa_handler != SIG_DFL) {
    ::sigaction(SIGTERM, &replaced, nullptr);  // the program set its own meanwhile: it stays
    return false;
  }
  return true;
}

// The guard back as the handler where SIGTERM has the default action again:
// a program (or library) that saved "SIG_DFL" from signal.getsignal() and
// put it back removed it, meaning the same "die on SIGTERM".
void RestoreTermGuardOverDefault() {
  if (g_guard_wanted.load()) GuardOverDefault();
}

std::string EncodeHeader(const RecordOptions& o) {
  flatbuffers::FlatBufferBuilder b;
  const Metadata& m = o.metadata;
  std::vector<flatbuffers::Offset<fb::Option>> opts;
  for (const auto& [k, v] : m.options) opts.push_back(fb::CreateOption(b, b.CreateString(k), b.CreateString(v)));
  auto h = fb::CreateHeader(b, b.CreateString(m.writer_version), b.CreateString(m.python_version),
                            b.CreateString(m.python_implementation), b.CreateString(m.platform),
                            b.CreateString(m.executable), b.CreateVectorOfStrings(m.argv), b.CreateString(m.cwd),
                            m.start_time_ns, m.pid, b.CreateVector(opts), b.CreateString(m.hook_backend));
  b.Finish(h);
  return std::string(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
}

}  // namespace

bool InstallTermGuard() {
  g_term_requested.store(false);
  g_term_first_ns.store(0);
  if (!GuardOverDefault()) return false;
  g_guard_wanted.store(true);
  return true;
}

void RemoveTermGuard() {
  g_guard_wanted.store(false);
  if (!TermHandlerIs(OnTermSignal)) return;
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGTERM, &dfl, nullptr);
}

int64_t SetSourceCacheSettledNs(int64_t ns) { return g_settled_ns.exchange(ns); }

bool SourceCached(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_source_cache_mu);
  auto it = g_source_cache.lower_bound({path, 0});
  return it != g_source_cache.end() && it->first.first == path;
}

StatusOr<int> CreateTapeFile(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("empty output path");
  // Nothing there (`pytest --tape`'s test, a new run): created in place.
  // O_EXCL never follows a symlink, and fails on anything that exists.
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  if (errno != EEXIST) return Status::IoError(path + ": cannot create the tape: " + std::strerror(errno));
  // Something is there: the new tape replaces it whole, by a rename (a
  // symlink planted there is replaced, not followed).
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(path + ": is a directory");
  }
  std::string dir = ".";
  auto slash = path.rfind('/');
  if (slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
  std::string tmpl = dir + "/.tracetape-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  fd = ::mkostemp(buf.data(), O_CLOEXEC);  // O_EXCL, mode 0600
  if (fd < 0) return Status::IoError(path + ": cannot create the tape: " + std::strerror(errno));
  if (::fchmod(fd, 0600) != 0 || ::rename(buf.data(), path.c_str()) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(buf.data());
    return Status::IoError(path + ": cannot create the tape: " + std::strerror(err));
  }
  return fd;
}

StatusOr<std::unique_ptr<TapeWriter>> TapeWriter::Start(const RecordOptions& options, RingBuffer* ring,
                                                        std::atomic<bool>* also_failed) {
  auto fd = CreateTapeFile(options.path);
  if (!fd.ok()) return fd.status();
  std::unique_ptr<TapeWriter> w(new TapeWriter(options, ring, *fd));
  w->also_failed_ = also_failed;
  // The preamble and the header are written by the thread, first thing
  // (WriteHead): compressing the header took a tenth of what starting a
  // recording costs the program.
  w->StartThread();
  return w;
}

namespace {

// The threads a discarding Finish left (napping, or not begun), with what
// they share.
struct LeftWriter {
  std::thread thread;
  std::shared_ptr<void> nap;  // a TapeWriter::NapState, kept alive for `ended`
  const std::atomic<bool>* ended;
};
std::mutex g_left_mu;
// Never destroyed: a joinable std::thread's destructor would end the
// process (std::terminate) if one is left at exit.
std::vector<LeftWriter>& LeftWriterList() {
  static auto* left = new std::vector<LeftWriter>;
  return *left;
}

// Joins the left threads that have ended (`all`: every one, waiting).
void JoinLeft(bool all) {
  std::vector<LeftWriter> joining;
  {
    std::lock_guard<std::mutex> lock(g_left_mu);
    auto& left = LeftWriterList();
    for (size_t i = 0; i < left.size();) {
      if (all || left[i].ended->load(std::memory_order_acquire)) {
        joining.push_back(std::move(left[i]));
        left[i] = std::move(left.back());
        left.pop_back();
      } else {
        ++i;
      }
    }
  }
  for (auto& w : joining) w.thread.join();
}

}  // namespace

void JoinLeftWriters() { JoinLeft(true); }

void LeftWritersBeforeFork() {
  JoinLeft(true);
  g_left_mu.lock();  // no thread adds one while the process forks
}

void LeftWritersAfterForkInParent() { g_left_mu.unlock(); }

void LeftWritersAfterForkInChild() {
  // The forking thread locked it (LeftWritersBeforeFork), and is this one.
  g_left_mu.unlock();
  auto& left = LeftWriterList();
  if (left.empty()) return;
  // Not this process's threads: their handles are dropped unjoined (a
  // joinable std::thread cannot be destroyed), leaked.
  new std::vector<LeftWriter>(std::move(left));
  left.clear();
}

size_t LeftWriters() {
  std::lock_guard<std::mutex> lock(g_left_mu);
  return LeftWriterList().size();
}

void TapeWriter::StartThread() {
  // Threads an earlier recording left: joined here once ended (it usually
  // is by the time the next recording starts), so that they do not pile up.
  JoinLeft(false);
  nap_ = std::make_shared<NapState>();
  nap_->linger_us = test_linger_us_;
  thread_ = std::thread([this, nap = nap_] {
    Run(*nap);
    nap->ended.store(true, std::memory_order_release);
  });
}

void TapeWriter::WriteHead() {
  if (head_written_) return;
  head_written_ = true;
  uint64_t offset;
  Status s = Append(format::EncodePreamble(), &offset);
  if (!s.ok()) return Fail(s);
  auto header = format::EncodeRecord(format::RecordType::kHeader, EncodeHeader(options_), options_.zstd_level);
  if (!header.ok()) return Fail(header.status());
  s = Append(*header, &offset);
  if (!s.ok()) Fail(s);
}

TapeWriter::TapeWriter(const RecordOptions& options, RingBuffer* ring, int fd)
    : options_(options), ring_(ring), fd_(fd) {
  if (const char* pause = std::getenv("TRACETAPE_TEST_WRITER_PAUSE_US")) {
    test_pause_us_ = std::clamp<int64_t>(std::strtoll(pause, nullptr, 10), 0, 100'000);
  }
  // The tests' left thread that takes its time to end (a busy machine's).
  if (const char* linger = std::getenv("TRACETAPE_TEST_LEFT_WRITER_LINGER_US")) {
    test_linger_us_ = std::clamp<int64_t>(std::strtoll(linger, nullptr, 10), 0, 100'000);
  }
}

TapeWriter::~TapeWriter() {
  if (thread_.joinable()) {
    stop_.store(true, std::memory_order_release);
    Wake();
    thread_.join();
  }
  if (fd_ >= 0) ::close(fd_);
}

bool TapeWriter::Nap(NapState& nap) {
  std::unique_lock<std::mutex> lock(nap.mu);
  nap.busy = false;
  // `left` first: once it is set, nothing of `this` is read.
  nap.cv.wait_for(lock, std::chrono::milliseconds(2), [this, &nap] {
    return nap.left || stop_.load(std::memory_order_acquire) || pause_.load(std::memory_order_acquire);
  });
  if (nap.left) return false;
  nap.busy = true;
  return true;
}

void TapeWriter::Wake() {
  if (!nap_) return;
  // Taking the lock orders the flag's store before the thread's check of
  // it: either the thread sees the flag, or it is waiting and is notified.
  { std::lock_guard<std::mutex> lock(nap_->mu); }
  nap_->cv.notify_one();
}

void TapeWriter::PauseThread() {
  if (!thread_.joinable()) return;
  pause_.store(true, std::memory_order_release);
  Wake();
  thread_.join();
}

void TapeWriter::ResumeThread() {
  if (thread_.joinable()) return;
  pause_.store(false, std::memory_order_release);
  StartThread();
}

void TapeWriter::AbandonAfterFork() {
  // The parent paused the thread before forking, so there is none to forget
  // here; the fd is our copy of the parent's: closing it leaves theirs open.
  if (thread_.joinable()) thread_.detach();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string TapeWriter::error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return error_;
}

void TapeWriter::Fail(const Status& s) {
  {
    std::lock_guard<std::mutex> lock(error_mu_);
    if (error_.empty()) error_ = s.message();
  }
  discard_ = true;
  failed_.store(true, std::memory_order_release);
  if (also_failed_ != nullptr) also_failed_->store(true, std::memory_order_relaxed);
}

Status TapeWriter::Append(const std::string& bytes, uint64_t* offset) {
  *offset = file_offset_;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(options_.path + ": " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  file_offset_ += bytes.size();
  return Status::Ok();
}

Status TapeWriter::AppendFlatBuffer(format::RecordType type, const flatbuffers::FlatBufferBuilder& b,
                                    uint64_t* offset) {
  auto rec = format::EncodeRecord(
      type, std::string_view(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()), options_.zstd_level);
  if (!rec.ok()) return rec.status();
  return Append(*rec, offset);
}

Status TapeWriter::Finish(int exit_status, bool discard) {
  exit_status_ = exit_status;
  if (discard) {
    abandon_.store(true, std::memory_order_release);
    // Removed first: a SIGTERM meanwhile ends the process before Finish
    // returns (the thread writes on into the unlinked file, if at all).
    ::unlink(options_.path.c_str());
    // A thread in its nap is left there (see Finish's comment): it wakes to
    // `left` and returns without touching this writer.
    bool leave = false;
    if (thread_.joinable() && nap_) {
      std::lock_guard<std::mutex> lock(nap_->mu);
      leave = !nap_->busy;
      nap_->left = leave;
    }
    if (leave) {
      nap_->cv.notify_one();
      {
        std::lock_guard<std::mutex> lock(g_left_mu);
        LeftWriterList().push_back(LeftWriter{std::move(thread_), nap_, &nap_->ended});
      }
      if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
      }
      return Status::Ok();
    }
  }
  stop_.store(true, std::memory_order_release);
  Wake();
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (discard) return Status::Ok();
  std::lock_guard<std::mutex> lock(error_mu_);
  if (!error_.empty()) return Status::IoError(error_);
  return Status::Ok();
}

void TapeWriter::DrainOnce(bool* did_work) {
  auto span = ring_->Peek();
  if (span.size == 0) return;
  *did_work = true;
  size_t used = 0;
  // The tests' slow writer (test_pause_us_) takes a few KiB at a time.
  const size_t limit = test_pause_us_ > 0 ? 4096 : span.size;
  while (used + sizeof(RawHeader) <= span.size && used < limit) {
    RawHeader h;
    std::memcpy(&h, span.data + used, sizeof(h));
    if (h.size < sizeof(RawHeader) || h.size > span.size - used) {
      Fail(Status::Internal("the recorder's ring buffer is inconsistent"));
      used = span.size;
      break;
    }
    if (h.tag != RingBuffer::kPaddingTag && !discard_) {
      const uint8_t* rec = span.data + used;
      if (assembler_.NeedsBoundaryBefore(rec, h.size)) WriteChunk();
      bool was_empty = assembler_.Empty();
      Status s = assembler_.Apply(rec, h.size);
      if (!s.ok()) Fail(s);
      if (was_empty && !assembler_.Empty()) chunk_started_ns_ = MonotonicNs();
      if (assembler_.Full()) WriteChunk();
    }
    used += h.size;
  }
  ring_->Release(used);
}

void TapeWriter::Run(NapState& nap) {
  g_writers_live.fetch_add(1);
  struct Dead {
    // Every way out (finished, paused for a fork, discarding after a
    // failure, left by a discarding Finish): a SIGTERM that came
    // meanwhile ends the process now, once whatever could be finished is
    // (OnTermSignal's order is the reverse), unless another writer lives:
    // the next recording's, which finishes its tape first.
    ~Dead() {
      if (g_writers_live.fetch_sub(1) == 1 && g_term_requested.load()) DieOfSigterm();
    }
  } dead;
  // Left by a discarding Finish (before it began, or in a nap): `this` may
  // be gone.
  auto leave = [&nap] {
    if (nap.linger_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(nap.linger_us));
  };
  {
    std::unique_lock<std::mutex> lock(nap.mu);
    if (nap.left) {
      lock.unlock();
      return leave();
    }
    nap.busy = true;
  }
  if (!abandon_.load(std::memory_order_acquire)) WriteHead();
  int64_t guard_checked_ns = MonotonicNs();
  while (true) {
    if (abandon_.load(std::memory_order_acquire)) return;  // discarded: nothing more to write
    if (g_term_requested.load(std::memory_order_acquire)) FinishForTermSignal();
    if (pause_.load(std::memory_order_acquire)) return;  // between records: a consistent point
    if (MonotonicNs() - guard_checked_ns >= 100'000'000) {
      RestoreTermGuardOverDefault();
      guard_checked_ns = MonotonicNs();
    }
    bool did_work = false;
    DrainOnce(&did_work);
    if (did_work && test_pause_us_ > 0) std::this_thread::sleep_for(std::chrono::microseconds(test_pause_us_));
    if (!discard_) WriteSources();
    if (!assembler_.Empty() && MonotonicNs() - chunk_started_ns_ >= kFlushIntervalNs) WriteChunk();
    if (!did_work) {
      // Checked only when the ring was empty: everything published before
      // stop_ was set has been drained.
      if (stop_.load(std::memory_order_acquire) && ring_->Empty()) break;
      if (!Nap(nap)) return leave();
    }
  }
  if (discard_) return;
  if (!assembler_.Empty()) WriteChunk();
  WriteSources();
  WriteFooter();
  if (!discard_) ::fdatasync(fd_);
}  // a SIGTERM that came while the tape was being finished: see Dead

void TapeWriter::FinishForTermSignal() {
  if (!discard_ && !abandon_.load(std::memory_order_acquire)) {
    // What the program had published (a drain stops at the ring's wrap
    // point: several, for at most 100 ms while the program goes on).
    const int64_t until = MonotonicNs() + 100'000'000;
    bool did_work = true;
    while (did_work && MonotonicNs() < until) {
      did_work = false;
      DrainOnce(&did_work);
    }
    if (!assembler_.Empty()) WriteChunk();
    WriteSources();
    exit_status_ = 128 + SIGTERM;
    WriteFooter();
    ::fdatasync(fd_);
  }
  DieOfSigterm();
}

void TapeWriter::WriteChunk() {
  if (discard_ || assembler_.Empty()) return;
  uint64_t first = assembler_.total_events() - assembler_.pending_events();
  uint32_t count = static_cast<uint32_t>(assembler_.pending_events());
  std::string fb = assembler_.Seal();
  auto rec = format::EncodeRecord(format::RecordType::kChunk, fb, options_.zstd_level);
  if (!rec.ok()) return Fail(rec.status());
  uint64_t offset;
  Status s = Append(*rec, &offset);
  if (!s.ok()) return Fail(s);
  chunk_index_.push_back({offset, first, count, assembler_.last_summary()});
}

void TapeWriter::WriteSources() {
  for (auto& file : assembler_.TakeNewFiles()) {
    if (discard_) return;
    flatbuffers::FlatBufferBuilder b;
    std::string text;
    std::string omitted;
    // Read from disk: the record may be in the cache, or go there.
    const bool from_disk = options_.embed_source && file.source_override.empty();
    FileIdentity before;
    const bool cacheable = from_disk && IdentityOf(file.path, &before);
    if (cacheable) {
      std::string cached = CachedSourceRecord(file.path, file.id, options_.zstd_level, before);
      if (!cached.empty()) {
        uint64_t offset;
        Status s = Append(cached, &offset);
        if (!s.ok()) return Fail(s);
        source_offsets_.push_back(offset);
        continue;
      }
    }
    if (!options_.embed_source) {
      omitted = "--no-source";
    } else if (!file.source_override.empty()) {
      text = std::move(file.source_override);
    } else {
      std::ifstream in(file.path, std::ios::binary);
      if (!in) {
        omitted = std::string("cannot read: ") + std::strerror(errno);
      } else {
        // Read in blocks: sizing the buffer for the largest file up front
        // zeroed 16 MiB per file (a quarter of the writer's time on a
        // short run).
        char block[64 * 1024];
        while (text.size() <= kMaxSourceBytes && in.read(block, sizeof(block)).gcount() > 0) {
          text.append(block, static_cast<size_t>(in.gcount()));
        }
        if (text.size() > kMaxSourceBytes) {
          text.clear();
          omitted = "larger than 16 MiB";
        }
      }
    }
    auto path = b.CreateString(file.path);
    auto data = b.CreateVector(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    auto why = omitted.empty() ? flatbuffers::Offset<flatbuffers::String>() : b.CreateString(omitted);
    b.Finish(fb::CreateSource(b, file.id, path, data, why));
    auto rec = format::EncodeRecord(
        format::RecordType::kSource,
        std::string_view(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize()), options_.zstd_level);
    if (!rec.ok()) return Fail(rec.status());
    uint64_t offset;
    Status s = Append(*rec, &offset);
    if (!s.ok()) return Fail(s);
    source_offsets_.push_back(offset);
    // Kept only if the file did not change while it was read.
    FileIdentity after;
    if (cacheable && omitted.empty() && IdentityOf(file.path, &after) && after == before) {
      CacheSourceRecord(file.path, file.id, options_.zstd_level, after, *rec);
    }
  }
}

void TapeWriter::WriteFooter() {
  flatbuffers::FlatBufferBuilder b;
  std::vector<fb::ChunkEntry> entries;
  for (const auto& c : chunk_index_) entries.emplace_back(c.offset, c.first_event, c.count, 0);
  std::vector<flatbuffers::Offset<fb::Thread>> threads;
  for (const auto& [index, t] : assembler_.threads()) {
    threads.push_back(fb::CreateThread(b, index, t.ident, b.CreateString(t.name)));
  }
  std::vector<flatbuffers::Offset<fb::ChunkSummary>> summaries;
  for (const auto& c : chunk_index_) {
    summaries.push_back(fb::CreateChunkSummary(b, b.CreateVector(c.summary.line_keys), b.CreateVector(c.summary.call_codes)));
  }
  std::vector<flatbuffers::Offset<fb::Code>> codes;
  for (const auto& c : assembler_.AllCodes()) {
    codes.push_back(fb::CreateCode(b, c.id, c.file, b.CreateString(*c.name), b.CreateString(*c.qualname), c.first_line,
                                   b.CreateVectorOfStrings(*c.args)));
  }
  std::vector<flatbuffers::Offset<fb::File>> files;
  for (const auto& [id, path] : assembler_.AllFiles()) files.push_back(fb::CreateFile(b, id, b.CreateString(path)));
  auto footer = fb::CreateFooter(b, assembler_.total_events(), b.CreateVectorOfStructs(entries),
                                 b.CreateVector(source_offsets_), b.CreateVector(threads),
                                 assembler_.dropped_events(), WallNs(), exit_status_, 0, b.CreateVector(summaries),
                                 b.CreateVector(codes), b.CreateVector(files));
  b.Finish(footer);
  uint64_t offset;
  Status s = AppendFlatBuffer(format::RecordType::kFooter, b, &offset);
  if (!s.ok()) return Fail(s);
  uint64_t trailer_offset;
  s = Append(format::EncodeTrailer(offset), &trailer_offset);
  if (!s.ok()) Fail(s);
}

}  // namespace tracetape::recorder
