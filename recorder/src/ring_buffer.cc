#include "tracetape/recorder/ring_buffer.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include <sys/mman.h>

#include "tracetape/recorder/raw_records.h"

namespace tracetape::recorder {

namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}  // namespace

// Both sides stream through the whole ring, a lap after another: in 4 KiB
// pages the default 32 MiB is 8,192 TLB entries, more than the second-level
// TLB holds, and each page of a lap costs a page walk on each side. Aligned
// to 2 MiB and advised (MADV_HUGEPAGE: Linux's transparent huge pages in
// their "madvise" mode, Debian's default), it is 16 entries. Where the
// kernel does not give huge pages, the advice does nothing.
size_t RingBuffer::CapacityFor(size_t capacity) {
  size_t c = 64 * 1024;
  while (c < capacity) c <<= 1;
  return c;
}

RingBuffer::RingBuffer(size_t capacity) {
  const size_t c = CapacityFor(capacity);
  capacity_ = c;
  const size_t align = c >= kHugePage ? kHugePage : alignof(std::max_align_t);
  void* p = nullptr;
  if (posix_memalign(&p, align, c) != 0) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (c >= kHugePage) madvise(p, c, MADV_HUGEPAGE);
#endif
  buffer_.reset(static_cast<uint8_t*>(p));
}

void RingBuffer::FreeBuffer::operator()(uint8_t* p) const { std::free(p); }

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

uint8_t* RingBuffer::ReserveSlow(size_t size) {
  uint64_t head = head_.load(std::memory_order_relaxed);
  size_t pos = static_cast<size_t>(head & (capacity_ - 1));
  size_t pad = (pos + size > capacity_) ? capacity_ - pos : 0;
  size_t need = pad + size;
  if (capacity_ - (head - cached_tail_) < need) {
    cached_tail_ = tail_.load(std::memory_order_acquire);
    if (capacity_ - (head - cached_tail_) < need) return nullptr;
  }
  if (pad > 0) {
    RingPadding h{static_cast<uint32_t>(pad), static_cast<uint8_t>(kPaddingTag), {0, 0, 0}};
    std::memcpy(buffer_.get() + pos, &h, sizeof(h));
    pos = 0;
  }
  reserved_head_ = head + need;
  const uint64_t next_wrap = (reserved_head_ & ~uint64_t{capacity_ - 1}) + capacity_;
  fast_limit_ = std::min(next_wrap, cached_tail_ + capacity_);
  fast_base_ = reinterpret_cast<uintptr_t>(buffer_.get()) - static_cast<uintptr_t>(next_wrap - capacity_);
  return buffer_.get() + pos;
}

void RingBuffer::Reset() {
  head_.store(0, std::memory_order_relaxed);
  tail_.store(0, std::memory_order_relaxed);
  cached_tail_ = 0;
  reserved_head_ = 0;
  fast_limit_ = 0;
  fast_base_ = 0;
}

void RingBuffer::Recycle() {
  const uint64_t used = std::max(head_.load(std::memory_order_relaxed), reserved_head_);
  // Only a ring of whole huge pages: it has a mapping of its own (a smaller
  // one may share pages with the heap).
  if (capacity_ > kHugePage && used > kHugePage) {
    madvise(buffer_.get() + kHugePage, capacity_ - kHugePage, MADV_DONTNEED);
  }
  Reset();
}

}  // namespace tracetape::recorder
