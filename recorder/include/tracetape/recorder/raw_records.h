// The records the hook writes into the ring and the writer thread reads back.
// In-memory only (never on disk), so layout is native and may change freely.
//
// Every record starts with a RawHeader and is padded to a multiple of 8 bytes.
// Strings are a u32 length followed by the bytes.
#ifndef TRACETAPE_RECORDER_RAW_RECORDS_H_
#define TRACETAPE_RECORDER_RAW_RECORDS_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tracetape::recorder {

enum class RawTag : uint8_t {
  kThreadDef = 1,  // u32 index, u64 ident, str name
  kFileDef = 2,    // u32 id, str path, str source_override (empty: read the file)
  kCodeDef = 3,    // u32 id, u32 file, i32 first_line, str name, str qualname, u32 n, n x str arg
  kNameDef = 4,    // u32 id, str name
  kEvent = 5,      // RawEvent, deltas, optional value
  kAdopt = 6,      // RawEvent with kind kAdoptFrame: a frame that began before
                   // recording, pushed with its complete locals
  kLoss = 7,       // u64 dropped events
};

struct RawHeader {
  uint32_t size;  // whole record, header included, multiple of 8
  uint8_t tag;    // RawTag, or RingBuffer::kPaddingTag
  uint8_t kind;   // kEvent: EventKind
  uint16_t ndeltas;
};
static_assert(sizeof(RawHeader) == 8, "RawHeader must stay 8 bytes");

struct RawEvent {
  uint32_t thread;
  int32_t line;
  uint32_t code;   // the frame's code id (used by call and adopt)
  uint32_t has_value;
};

// A delta is u32 name id, u32 value length (kUnboundLength: unbound), bytes.
inline constexpr uint32_t kUnboundLength = 0xffffffffu;

// Appends to a std::string in the raw layout.
class RawWriter {
 public:
  explicit RawWriter(std::string* out) : out_(out) {}
  void Begin(RawTag tag, uint8_t kind = 0) {
    out_->clear();
    RawHeader h{0, static_cast<uint8_t>(tag), kind, 0};
    Put(&h, sizeof(h));
  }
  void Put(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }
  void U32(uint32_t v) { Put(&v, 4); }
  void I32(int32_t v) { Put(&v, 4); }
  void U64(uint64_t v) { Put(&v, 8); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    Put(s.data(), s.size());
  }
  // Pads, fills in size and ndeltas; returns the finished record.
  const std::string& Finish(uint16_t ndeltas = 0) {
    while (out_->size() % 8 != 0) out_->push_back('\0');
    auto* h = reinterpret_cast<RawHeader*>(out_->data());
    h->size = static_cast<uint32_t>(out_->size());
    h->ndeltas = ndeltas;
    return *out_;
  }

 private:
  std::string* out_;
};

// Reads the raw layout back; every read is bounds-checked, and a short read
// marks the reader failed instead of reading past the record.
class RawReader {
 public:
  RawReader(const uint8_t* p, size_t n) : p_(p), end_(p + n) {}
  bool ok() const { return ok_; }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool Get(void* out, size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) return ok_ = false;
    std::memcpy(out, p_, n);
    p_ += n;
    return true;
  }
  uint32_t U32() { uint32_t v = 0; Get(&v, 4); return v; }
  int32_t I32() { int32_t v = 0; Get(&v, 4); return v; }
  uint64_t U64() { uint64_t v = 0; Get(&v, 8); return v; }
  std::string_view Bytes(uint32_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n) { ok_ = false; return {}; }
    std::string_view s(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return s;
  }
  std::string_view Str() { return Bytes(U32()); }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
  bool ok_ = true;
};

}  // namespace tracetape::recorder

#endif  // TRACETAPE_RECORDER_RAW_RECORDS_H_
