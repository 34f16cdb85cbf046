#include "tracetape/recorder/ring_buffer.h"

#include <cstring>

#include "tracetape/recorder/raw_records.h"

namespace tracetape::recorder {

RingBuffer::RingBuffer(size_t capacity) {
  size_t c = 64 * 1024;
  while (c < capacity) c <<= 1;
  capacity_ = c;
  buffer_.reset(new uint8_t[c]);
}

static_assert(sizeof(RingPadding) == sizeof(RawHeader), "padding must parse as a RawHeader");

RingBuffer::Span RingBuffer::Peek() const {
  uint64_t head = head_.load(std::memory_order_acquire);
  uint64_t tail = tail_.load(std::memory_order_relaxed);
  size_t pos = static_cast<size_t>(tail & (capacity_ - 1));
  size_t avail = static_cast<size_t>(head - tail);
  if (pos + avail > capacity_) avail = capacity_ - pos;
  return Span{buffer_.get() + pos, avail};
}

void RingBuffer::Release(size_t size) {
  tail_.store(tail_.load(std::memory_order_relaxed) + size, std::memory_order_release);
}

void RingBuffer::Reset() {
  head_.store(0, std::memory_order_relaxed);
  tail_.store(0, std::memory_order_relaxed);
  cached_tail_ = 0;
  reserved_head_ = 0;
}

}  // namespace tracetape::recorder
