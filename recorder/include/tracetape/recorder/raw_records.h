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
  kEvent = 5,      // RawEvent, deltas, optional value (RawEvent::has_value)
  kAdopt = 6,      // RawEvent with kind kAdoptFrame: a frame that began before
                   // recording, pushed with its complete locals
  kLoss = 7,       // u64 dropped events
  kUnwind = 8,     // u32 thread, u32 n: the thread's n innermost frames ended
                   // unseen (their returns were lost while another trace
                   // function held the hook); starts a chunk, and a kLoss
                   // follows it
  kDetach = 9,     // u32 thread, u32 n: the thread's n innermost frames left
                   // its stack without running (CPython linked them above a
                   // generator that throw() ran); starts a chunk, which says
                   // so (Chunk.detached), and nothing was lost
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
  uint32_t has_value;  // a RawValue: what follows the deltas
};

// The value after an event's deltas. kIntValue carries the most frequent
// return value, an int that fits a word, as 8 bytes (int64): the writer
// thread writes its decimal text, the text the renderer gives that int, so
// that the hook formats nothing on its fast path.
enum RawValue : uint32_t {
  kNoValue = 0,
  kTextValue = 1,  // str
  kIntValue = 2,   // i64
};

// A delta is u32 name id, u32 value length, then the value's bytes; or the
// length is kUnboundLength (unbound, nothing follows) or kIntLength (an int
// that fits a word: its i64 follows, and its text is the writer's to write,
// as for RawValue::kIntValue).
inline constexpr uint32_t kUnboundLength = 0xffffffffu;
inline constexpr uint32_t kIntLength = 0xfffffffeu;

// A growable byte buffer whose appends are inline: the hook builds a
// record per event, where std::string's out-of-line append showed.
class RawBuffer {
 public:
  RawBuffer() = default;
  RawBuffer(const RawBuffer&) = delete;
  RawBuffer& operator=(const RawBuffer&) = delete;
  ~RawBuffer() { delete[] data_; }
  char* data() { return data_; }
  const char* data() const { return data_; }
  size_t size() const { return size_; }
  void clear() { size_ = 0; }
  // Inline (a constant n becomes one store): the recorder appends a few
  // words per local it sends.
  __attribute__((always_inline)) void append(const char* p, size_t n) {
    if (n > capacity_ - size_) Grow(n);
    std::memcpy(data_ + size_, p, n);
    size_ += n;
  }
  void push_back(char c) { append(&c, 1); }

 private:
  __attribute__((noinline)) void Grow(size_t n) {
    size_t cap = capacity_ == 0 ? 256 : capacity_;
    while (cap - size_ < n) cap *= 2;
    char* next = new char[cap];
    if (size_ != 0) std::memcpy(next, data_, size_);
    delete[] data_;
    data_ = next;
    capacity_ = cap;
  }
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

// Appends to a buffer (std::string or RawBuffer) in the raw layout.
template <typename Buffer>
class BasicRawWriter {
 public:
  explicit BasicRawWriter(Buffer* out) : out_(out) {}
  void Begin(RawTag tag, uint8_t kind = 0) {
    out_->clear();
    RawHeader h{0, static_cast<uint8_t>(tag), kind, 0};
    Put(&h, sizeof(h));
  }
  __attribute__((always_inline)) void Put(const void* p, size_t n) {
    out_->append(static_cast<const char*>(p), n);
  }
  __attribute__((always_inline)) void U32(uint32_t v) { Put(&v, 4); }
  __attribute__((always_inline)) void I32(int32_t v) { Put(&v, 4); }
  __attribute__((always_inline)) void U64(uint64_t v) { Put(&v, 8); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    Put(s.data(), s.size());
  }
  // Pads, fills in size and ndeltas; returns the finished record.
  const Buffer& Finish(uint16_t ndeltas = 0) {
    static const char kZeros[8] = {};
    if (out_->size() % 8 != 0) Put(kZeros, 8 - out_->size() % 8);
    RawHeader h;
    std::memcpy(&h, out_->data(), sizeof(h));
    h.size = static_cast<uint32_t>(out_->size());
    h.ndeltas = ndeltas;
    std::memcpy(out_->data(), &h, sizeof(h));
    return *out_;
  }

 private:
  Buffer* out_;
};
using RawWriter = BasicRawWriter<std::string>;

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
