// Opening a tape for reading. Every byte is untrusted: records are CRC-checked,
// decompressed within fixed bounds, FlatBuffers are verified, and every id and
// index is checked against its table before use (see DecodeChunk).
#ifndef TRACETAPE_REPLAYER_TAPE_H_
#define TRACETAPE_REPLAYER_TAPE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tracetape/format/file.h"
#include "tracetape/format/status.h"

namespace tracetape::replayer {

enum class EventKind : uint8_t { kCall = 0, kLine = 1, kReturn = 2, kException = 3 };
const char* EventKindName(EventKind kind);

inline constexpr uint32_t kUnbound = 0xffffffffu;
inline constexpr uint32_t kNoValue = 0xffffffffu;

struct TapeHeader {
  uint16_t format_major = 0;
  uint16_t format_minor = 0;
  std::string writer_version;
  std::string python_version;
  std::string python_implementation;
  std::string platform;
  std::string executable;
  std::vector<std::string> argv;
  std::string cwd;
  int64_t start_time_ns = 0;
  int64_t pid = 0;
  std::vector<std::pair<std::string, std::string>> options;
  std::string hook_backend;
};

struct ThreadDef {
  uint32_t index = 0;
  uint64_t ident = 0;
  std::string name;
};

struct CodeDef {
  uint32_t id = 0;
  std::string file;  // path
  std::string name;
  std::string qualname;
  int32_t first_line = 0;
  std::vector<std::string> args;  // parameter names
};

struct Binding {
  uint32_t name;   // chunk string id
  uint32_t value;  // chunk string id, or kUnbound
};

struct FrameDef {
  uint32_t code = 0;
  int32_t line = 0;
  std::vector<Binding> locals;
};

// One chunk, decoded and validated: every id below is in range.
struct DecodedChunk {
  uint64_t seq = 0;
  uint64_t first_event = 0;
  uint64_t dropped_before = 0;
  // Format 2.1: per thread, how many innermost frames of its stack at the end
  // of the previous chunk left it without a return (FORMAT.md, "Detached
  // frames"). Each thread at most once, with a count above zero.
  std::map<uint32_t, uint32_t> detached;
  std::vector<std::string> strings;
  std::unordered_map<uint32_t, CodeDef> codes;
  std::unordered_map<uint32_t, ThreadDef> threads;
  std::map<uint32_t, std::vector<FrameDef>> start_state;  // thread index -> frames, outermost first
  std::vector<uint8_t> kind;
  std::vector<uint16_t> thread;
  std::vector<int32_t> line;
  std::vector<uint32_t> call_code;    // per event: code of a call event, else unused
  std::vector<uint32_t> delta_begin;  // per event + 1: deltas[delta_begin[i], delta_begin[i+1])
  std::vector<Binding> deltas;
  std::vector<uint32_t> value;        // per event: string id or kNoValue
  size_t size() const { return kind.size(); }
};

// Decodes a chunk FlatBuffer and checks it against itself.
StatusOr<DecodedChunk> DecodeChunk(const std::string& bytes);

struct ChunkRef {
  uint64_t offset = 0;
  uint64_t first_event = 0;
  uint32_t event_count = 0;
  // From the footer: what the chunk contains, to skip it unread.
  bool has_summary = false;
  std::vector<uint64_t> line_keys;   // sorted (code << 32) | line
  std::vector<uint32_t> call_codes;  // sorted
};

struct SourceFile {
  std::string path;
  std::string text;
  std::string omitted_reason;
};

struct FooterInfo {
  uint64_t event_count = 0;
  uint64_t dropped_events = 0;
  int64_t end_time_ns = 0;
  int32_t exit_status = 0;
  std::string error;
  std::vector<ThreadDef> threads;
  std::unordered_map<uint32_t, CodeDef> codes;  // every code of the recording
};

class Tape {
 public:
  // Fails only if nothing can be read (not a tape, unreadable header). A tape
  // that stops early opens; complete() is then false and tail_status() says why.
  static StatusOr<std::unique_ptr<Tape>> Open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  uint64_t file_size() const { return file_->size(); }
  const TapeHeader& header() const { return header_; }
  const std::vector<ChunkRef>& chunks() const { return chunks_; }
  uint64_t event_count() const;
  // True when the footer was found: the recording ended cleanly.
  bool complete() const { return footer_ != nullptr; }
  const FooterInfo* footer() const { return footer_.get(); }
  // Why reading stopped before a footer: Truncated (the process died or the
  // file was cut) or Corrupt (bytes that contradict the format). Ok if complete.
  const Status& tail_status() const { return tail_status_; }
  const std::map<std::string, SourceFile>& sources() const { return sources_; }

  StatusOr<DecodedChunk> ReadChunk(size_t index) const;
  // The chunk holding global event `event`, or chunks().size() if none.
  size_t ChunkFor(uint64_t event) const;

 private:
  explicit Tape(std::unique_ptr<format::RandomAccessFile> file) : file_(std::move(file)) {}
  Status ReadRecord(uint64_t offset, uint8_t* type, std::string* raw, uint64_t* next) const;
  Status ReadFooter();
  void Scan(uint64_t offset);
  Status AddSource(const std::string& raw);

  std::unique_ptr<format::RandomAccessFile> file_;
  TapeHeader header_;
  uint64_t first_record_offset_ = 0;
  std::vector<ChunkRef> chunks_;
  std::unique_ptr<FooterInfo> footer_;
  Status tail_status_;
  std::map<std::string, SourceFile> sources_;
};

}  // namespace tracetape::replayer

#endif  // TRACETAPE_REPLAYER_TAPE_H_
