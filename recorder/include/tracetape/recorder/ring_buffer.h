// A single-producer, single-consumer byte ring between the trace hook and the
// writer thread. The producer is whichever Python thread holds the GIL (the GIL
// serialises them and orders their writes), the consumer the writer thread.
// Neither side takes a lock: the producer publishes with a release store of
// head_, the consumer frees space with a release store of tail_.
//
// Records are 8-byte aligned, never wrap: a record that does not fit before
// the end is preceded by a padding record that fills the rest.
#ifndef TRACETAPE_RECORDER_RING_BUFFER_H_
#define TRACETAPE_RECORDER_RING_BUFFER_H_

#include <atomic>
#include <cstring>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace tracetape::recorder {

class RingBuffer {
 public:
  // capacity is rounded up to a power of two, at least 64 KiB.
  explicit RingBuffer(size_t capacity);
  // The capacity a ring asked for `capacity` bytes gets.
  static size_t CapacityFor(size_t capacity);

  size_t capacity() const { return capacity_; }
  // Bytes the producer has published since the ring was made (padding
  // included): a clock of the recording's volume, for the producer only.
  uint64_t written() const { return head_.load(std::memory_order_relaxed); }
  // The largest record TryWrite accepts.
  size_t max_record() const { return capacity_ / 4; }

  // Producer: copies one record (size a multiple of 8, <= max_record()) in and
  // publishes it. Returns false, writing nothing, if there is no room now.
  // Inline, so that a fixed-size record is copied without a call.
  inline bool TryWrite(const void* data, size_t size);
  // Producer, for a record built in place: room for `size` bytes (a multiple
  // of 8, <= max_record()) at the head, or NULL if there is none now.
  // Publish() then makes what was written there visible to the consumer;
  // nothing else may be reserved or written in between.
  inline uint8_t* Reserve(size_t size);
  // Reserve's common case only, for the hook's fast paths: the place of
  // `size` bytes in *at and the head after them in *end, for
  // PublishFast(*end); false, having reserved nothing, where Reserve would
  // need to pad or to look at the tail (the caller then calls Reserve, out
  // of its own fast path). Its values stay in the caller's registers: a
  // load, an add and a compare, then one store to publish.
  inline bool ReserveFast(size_t size, uint8_t** at, uint64_t* end);
  inline void PublishFast(uint64_t end) { head_.store(end, std::memory_order_release); }
  // Reserve when the record may not fit below fast_limit_: pads up to the
  // wrap point, looks at the consumer's tail again.
  uint8_t* ReserveSlow(size_t size);
  inline void Publish() { head_.store(reserved_head_, std::memory_order_release); }

  // Consumer: the bytes published and not yet released, as one contiguous
  // span (up to the wrap point). Empty when nothing is pending.
  struct Span {
    const uint8_t* data;
    size_t size;
  };
  Span Peek() const;
  // Consumer: gives back `size` bytes from the front of the last Peek().
  void Release(size_t size);

  bool Empty() const { return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire); }

  // After fork() in the child, or when a recording ends: forget everything.
  void Reset();
  // Reset, for another recording: the pages past the first 2 MiB that this
  // one wrote are given back to the kernel (a long recording touched them
  // all); the first stay, so that a short recording (`pytest --tape`'s
  // test) neither maps nor faults in a page.
  void Recycle();

  static constexpr uint32_t kPaddingTag = 0xff;

 private:
  size_t capacity_;
  struct FreeBuffer {
    void operator()(uint8_t* p) const;
  };
  // Aligned to, and on Linux backed by, 2 MiB pages where it is that large
  // (see the constructor).
  std::unique_ptr<uint8_t[], FreeBuffer> buffer_;
  alignas(64) std::atomic<uint64_t> head_{0};
  uint64_t cached_tail_ = 0;  // producer's last view of tail_
  uint64_t reserved_head_ = 0;  // producer: the head after the reserved record
  // Producer: a record that ends at or below this position needs neither
  // padding nor a new look at the tail (the lower of the next wrap point
  // and cached_tail_ + capacity_). 0 until the first ReserveSlow.
  uint64_t fast_limit_ = 0;
  // Producer: buffer_ minus the position where the lap of fast_limit_
  // starts (modulo 2^64): below fast_limit_, a position's place is
  // fast_base_ + position.
  uintptr_t fast_base_ = 0;
  alignas(64) std::atomic<uint64_t> tail_{0};
};

// The padding record that fills the end of the buffer before a wrap: the
// same 8-byte layout as RawHeader (size, tag).
struct RingPadding {
  uint32_t size;
  uint8_t tag;
  uint8_t unused[3];
};

__attribute__((always_inline)) inline bool RingBuffer::ReserveFast(size_t size, uint8_t** at, uint64_t* end) {
  const uint64_t head = head_.load(std::memory_order_relaxed);
  if (__builtin_expect(head + size > fast_limit_, 0)) return false;
  *end = head + size;
  *at = reinterpret_cast<uint8_t*>(fast_base_ + static_cast<uintptr_t>(head));
  return true;
}
__attribute__((always_inline)) inline uint8_t* RingBuffer::Reserve(size_t size) {
  uint8_t* at;
  if (__builtin_expect(ReserveFast(size, &at, &reserved_head_), 1)) return at;
  return ReserveSlow(size);
}
bool RingBuffer::TryWrite(const void* data, size_t size) {
  uint8_t* at = Reserve(size);
  if (at == nullptr) return false;
  std::memcpy(at, data, size);
  Publish();
  return true;
}

}  // namespace tracetape::recorder

#endif  // TRACETAPE_RECORDER_RING_BUFFER_H_
