// The hook-to-writer ring (recorder/include/tracetape/recorder/ring_buffer.h):
// FIFO, whole records only (a record that would cross the end is preceded by a
// padding record), no overwrite when full, and safe for one producer thread
// and one consumer thread.
#include "tracetape/recorder/ring_buffer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "tracetape/format/crc32c.h"
#include "tracetape/recorder/raw_records.h"

namespace tracetape::recorder {
namespace {

// A test record: RawHeader, u32 sequence number, u32 CRC32C of the payload,
// payload bytes derived from the sequence number. `size` is a multiple of 8.
std::string MakeRecord(uint32_t seq, size_t size) {
  std::string r(size, '\0');
  RawHeader h{static_cast<uint32_t>(size), static_cast<uint8_t>(RawTag::kEvent), 0, 0};
  std::memcpy(r.data(), &h, sizeof(h));
  std::memcpy(r.data() + 8, &seq, 4);
  for (size_t i = 16; i < size; ++i) r[i] = static_cast<char>((seq * 31 + i * 7) & 0xff);
  uint32_t crc = format::Crc32c(r.data() + 16, size - 16);
  std::memcpy(r.data() + 12, &crc, 4);
  return r;
}

// Size of record `seq` in the variable-size tests: 16..264, multiple of 8.
size_t SizeFor(uint32_t seq) { return 16 + 8 * ((seq * 2654435761u) >> 27); }

struct Consumed {
  std::vector<std::string> records;
  int padding = 0;
};

// Consumes the whole records of the first pending span that end within
// `limit` bytes of its start, checking that each is whole; the bytes freed.
size_t DrainSpan(RingBuffer* ring, Consumed* out, size_t limit) {
  RingBuffer::Span span = ring->Peek();
  size_t used = 0;
  while (used < span.size) {
    EXPECT_GE(span.size - used, sizeof(RawHeader)) << "a span ends inside a record header";
    RawHeader h;
    std::memcpy(&h, span.data + used, sizeof(h));
    EXPECT_GE(h.size, sizeof(RawHeader));
    EXPECT_LE(h.size, span.size - used) << "a record crosses the end of the span";
    if (h.size < sizeof(RawHeader) || h.size > span.size - used || used + h.size > limit) break;
    if (h.tag == RingBuffer::kPaddingTag) {
      ++out->padding;
    } else {
      out->records.emplace_back(reinterpret_cast<const char*>(span.data + used), h.size);
    }
    used += h.size;
  }
  ring->Release(used);
  return used;
}

// Drains everything pending.
void DrainAll(RingBuffer* ring, Consumed* out) {
  while (DrainSpan(ring, out, SIZE_MAX) > 0) {
  }
}

TEST(RingBufferTest, CapacityIsAPowerOfTwoOfAtLeast64KiB) {
  EXPECT_EQ(RingBuffer(0).capacity(), 64u * 1024);
  EXPECT_EQ(RingBuffer(1).capacity(), 64u * 1024);
  EXPECT_EQ(RingBuffer(64 * 1024).capacity(), 64u * 1024);
  EXPECT_EQ(RingBuffer(64 * 1024 + 1).capacity(), 128u * 1024);
  EXPECT_EQ(RingBuffer(3u << 20).capacity(), 4u << 20);
  RingBuffer r(1u << 20);
  EXPECT_EQ(r.max_record(), r.capacity() / 4);
}

TEST(RingBufferTest, NewRingIsEmpty) {
  RingBuffer ring(0);
  EXPECT_TRUE(ring.Empty());
  EXPECT_EQ(ring.Peek().size, 0u);
}

TEST(RingBufferTest, RecordsComeOutInFifoOrder) {
  RingBuffer ring(0);
  std::vector<std::string> written;
  for (uint32_t i = 0; i < 100; ++i) {
    written.push_back(MakeRecord(i, SizeFor(i)));
    ASSERT_TRUE(ring.TryWrite(written.back().data(), written.back().size()));
  }
  EXPECT_FALSE(ring.Empty());
  Consumed got;
  DrainAll(&ring, &got);
  EXPECT_EQ(got.records, written);
  EXPECT_TRUE(ring.Empty());
}

TEST(RingBufferTest, ReleasingPartOfASpanKeepsTheRestPending) {
  RingBuffer ring(0);
  std::string a = MakeRecord(1, 64), b = MakeRecord(2, 128);
  ASSERT_TRUE(ring.TryWrite(a.data(), a.size()));
  ASSERT_TRUE(ring.TryWrite(b.data(), b.size()));
  RingBuffer::Span s = ring.Peek();
  ASSERT_EQ(s.size, a.size() + b.size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(s.data), a.size()), a);
  ring.Release(a.size());
  s = ring.Peek();
  ASSERT_EQ(s.size, b.size());
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(s.data), s.size), b);
  ring.Release(b.size());
  EXPECT_TRUE(ring.Empty());
}

TEST(RingBufferTest, RecordThatWouldCrossTheEndIsPrecededByPadding) {
  RingBuffer ring(0);
  const size_t cap = ring.capacity();
  const size_t rec = 3000;  // does not divide the capacity
  Consumed got;
  // Move the cursor close to the end.
  uint32_t seq = 0;
  for (size_t used = 0; used + rec <= cap; used += rec) {
    std::string r = MakeRecord(seq++, rec);
    ASSERT_TRUE(ring.TryWrite(r.data(), r.size()));
  }
  DrainAll(&ring, &got);
  ASSERT_EQ(got.padding, 0);
  const size_t pos = (cap / rec) * rec;
  // This one does not fit before the end: padding fills [pos, cap).
  std::string r = MakeRecord(seq++, rec);
  ASSERT_TRUE(ring.TryWrite(r.data(), r.size()));
  RingBuffer::Span s = ring.Peek();
  ASSERT_EQ(s.size, cap - pos) << "the first span stops at the end of the buffer";
  RawHeader h;
  std::memcpy(&h, s.data, sizeof(h));
  EXPECT_EQ(h.tag, RingBuffer::kPaddingTag);
  EXPECT_EQ(h.size, cap - pos);
  ring.Release(s.size);
  s = ring.Peek();
  ASSERT_EQ(s.size, rec);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(s.data), s.size), r) << "the record is whole, at the start";
  ring.Release(s.size);
  EXPECT_TRUE(ring.Empty());
}

TEST(RingBufferTest, ManyWrapsKeepEveryRecordWholeAndInOrder) {
  RingBuffer ring(0);
  Consumed got;
  std::vector<std::string> written;
  uint32_t seq = 0;
  for (int round = 0; round < 200; ++round) {
    // Write a varying batch, then drain; the cursor walks around the ring.
    for (int k = 0; k < 37 + round % 50; ++k, ++seq) {
      written.push_back(MakeRecord(seq, SizeFor(seq) * 3));
      ASSERT_TRUE(ring.TryWrite(written.back().data(), written.back().size()));
    }
    DrainAll(&ring, &got);
  }
  EXPECT_EQ(got.records, written);
  EXPECT_GT(got.padding, 0) << "the test should have wrapped with padding";
}

TEST(RingBufferTest, TryWriteFailsWhenFullAndSucceedsAfterRelease) {
  RingBuffer ring(0);
  const size_t rec = 1024;
  std::vector<std::string> written;
  uint32_t seq = 0;
  while (true) {
    std::string r = MakeRecord(seq, rec);
    if (!ring.TryWrite(r.data(), r.size())) break;
    written.push_back(r);
    ++seq;
    ASSERT_LE(written.size() * rec, ring.capacity()) << "wrote more than the ring holds";
  }
  EXPECT_GE(written.size() * rec, ring.capacity() - rec) << "the ring refused while it still had room";
  // A failed write wrote nothing: still full, and a retry fails too.
  std::string extra = MakeRecord(seq, rec);
  EXPECT_FALSE(ring.TryWrite(extra.data(), extra.size()));

  RingBuffer::Span s = ring.Peek();
  ASSERT_GE(s.size, rec);
  ring.Release(rec);  // one record's worth
  EXPECT_TRUE(ring.TryWrite(extra.data(), extra.size()));
  written.erase(written.begin());
  written.push_back(extra);

  Consumed got;
  DrainAll(&ring, &got);
  EXPECT_EQ(got.records, written);
}

// A ring and the records a test wrote into it, in order: the fixture of the
// tests that fill the ring up to a point and check what comes out.
class RingBufferFillTest : public ::testing::Test {
 protected:
  // Makes the next record (`size` bytes) and counts it as written.
  const std::string& NextRecord(size_t size) {
    written_.push_back(MakeRecord(seq_++, size));
    return written_.back();
  }

  RingBuffer ring_{0};
  const size_t cap_ = ring_.capacity();
  std::vector<std::string> written_;
  uint32_t seq_ = 0;
};

TEST_F(RingBufferFillTest, RecordThatMustWrapWaitsForRoomAtTheStart) {
  const size_t small = 1024;
  for (size_t used = 0; used + small <= cap_ - 4096; used += small) {
    const std::string& r = NextRecord(small);
    ASSERT_TRUE(ring_.TryWrite(r.data(), r.size()));
  }
  // Free 5 KiB at the start: the 8 KiB record has room in total bytes (9 KiB
  // free), but not before the end (4 KiB) nor at the start (5 KiB).
  ring_.Release(5 * small);
  written_.erase(written_.begin(), written_.begin() + 5);
  std::string big = MakeRecord(seq_++, 8192);
  EXPECT_FALSE(ring_.TryWrite(big.data(), big.size()));
  // Once the start has room, it goes in.
  ring_.Release(4 * small);
  written_.erase(written_.begin(), written_.begin() + 4);
  EXPECT_TRUE(ring_.TryWrite(big.data(), big.size()));
  written_.push_back(big);
  Consumed got;
  DrainAll(&ring_, &got);
  EXPECT_EQ(got.records, written_) << "the refused attempt must not have left anything behind";
  EXPECT_EQ(got.padding, 1);
}

// The hook builds its most frequent records in place: Reserve, write, Publish.
TEST(RingBufferTest, ReservedRecordIsInvisibleUntilPublishedAndWrapsLikeTryWrite) {
  RingBuffer ring(0);
  const size_t cap = ring.capacity();
  std::vector<std::string> written;
  uint32_t seq = 0;
  // Fill to 2.5 KiB short of the end, then drain: the third 1 KiB record
  // after that cannot fit before the end and is preceded by padding.
  for (size_t used = 0; used + 1024 <= cap - 3072; used += 1024) {
    written.push_back(MakeRecord(seq++, 1024));
    ASSERT_TRUE(ring.TryWrite(written.back().data(), written.back().size()));
  }
  written.push_back(MakeRecord(seq++, 512));
  ASSERT_TRUE(ring.TryWrite(written.back().data(), written.back().size()));
  Consumed got;
  DrainAll(&ring, &got);
  ASSERT_EQ(got.records, written);
  written.clear();
  got = Consumed();
  for (int i = 0; i < 8; ++i) {  // 8 x 1 KiB: crosses the end once
    std::string r = MakeRecord(seq++, 1024);
    uint8_t* at = ring.Reserve(r.size());
    ASSERT_NE(at, nullptr);
    std::memcpy(at, r.data(), r.size());
    // Written but not published: the consumer sees nothing new.
    if (i == 0) EXPECT_EQ(ring.Peek().size, 0u);
    ring.Publish();
    written.push_back(r);
  }
  DrainAll(&ring, &got);
  EXPECT_EQ(got.records, written);
  EXPECT_EQ(got.padding, 1);
  // A refused Reserve leaves nothing behind: fill, then ask for too much.
  written.clear();
  got = Consumed();
  while (true) {
    std::string r = MakeRecord(seq, 4096);
    uint8_t* at = ring.Reserve(r.size());
    if (at == nullptr) break;
    std::memcpy(at, r.data(), r.size());
    ring.Publish();
    written.push_back(r);
    ++seq;
  }
  EXPECT_GE(written.size() * 4096, cap - 8192);
  DrainAll(&ring, &got);
  EXPECT_EQ(got.records, written);
}

// The hook's fast paths try ReserveFast first and fall back to Reserve out
// of line: ReserveFast must decline (reserving nothing) wherever Reserve
// would pad before the end or needs a newer look at the consumer's tail,
// and what it reserves must be what Reserve would have.
TEST_F(RingBufferFillTest, ReserveFastDeclinesWherePaddingOrTheTailIsNeeded) {
  const size_t rec = 1024;
  auto put = [&](uint8_t* at, size_t size) {
    const std::string& r = NextRecord(size);
    std::memcpy(at, r.data(), size);
    ring_.Publish();
  };
  // ReserveFast's place, or NULL where it declines.
  auto fast = [&](size_t size) -> uint8_t* {
    uint8_t* at = nullptr;
    uint64_t end = 0;
    return ring_.ReserveFast(size, &at, &end) ? at : nullptr;
  };
  // A fresh ring has not looked at its tail yet: the first reservation
  // takes the slow way, the following ones need not.
  EXPECT_EQ(fast(rec), nullptr);
  EXPECT_EQ(ring_.Peek().size, 0u);
  put(ring_.Reserve(rec), rec);
  size_t fast_count = 0;
  while (true) {
    uint8_t* at;
    uint64_t end;
    if (!ring_.ReserveFast(rec, &at, &end)) break;
    const std::string& r = NextRecord(rec);
    std::memcpy(at, r.data(), rec);
    ring_.PublishFast(end);
    ++fast_count;
  }
  // Declined at the end of the ring (which is also where the tail, at 0,
  // stops it): nothing was reserved, and everything before it is whole.
  EXPECT_EQ((fast_count + 1) * rec, cap_);
  EXPECT_EQ(ring_.Reserve(rec), nullptr) << "the ring is full";
  Consumed got;
  DrainAll(&ring_, &got);
  EXPECT_EQ(got.records, written_);
  EXPECT_EQ(got.padding, 0);
  written_.clear();
  got = Consumed();
  // The consumer freed everything, but the producer's view of the tail is
  // old: declined until Reserve looks again.
  EXPECT_EQ(fast(rec), nullptr);
  put(ring_.Reserve(rec), rec);
  // Now 3 KiB short of the end, then a record that does not fit before it:
  // declined, and Reserve pads.
  while (written_.size() * rec + 3 * rec < cap_) put(ring_.Reserve(rec), rec);
  uint8_t* at = fast(2048);
  ASSERT_NE(at, nullptr);
  EXPECT_EQ(ring_.Reserve(2048), at) << "the same place: nothing was published in between";
  put(at, 2048);
  EXPECT_EQ(fast(2048), nullptr) << "1 KiB left before the end";
  DrainAll(&ring_, &got);
  put(ring_.Reserve(2048), 2048);
  DrainAll(&ring_, &got);
  EXPECT_EQ(got.records, written_);
  EXPECT_EQ(got.padding, 1);
}

// The hook's way, over many laps: ReserveFast and PublishFast where they
// can, Reserve and Publish where not, with a consumer that drains in
// uneven steps. Every record arrives whole and in order, and most take
// the fast way.
TEST_F(RingBufferFillTest, FastAndSlowReservationsAgreeOverManyLaps) {
  Consumed got;
  size_t fast = 0, slow = 0, total_bytes = 0;
  for (uint32_t i = 0; total_bytes < 6 * cap_; ++i) {
    const size_t size = 16 + 8 * ((i * 37) % 97);  // 16 to 784 bytes
    const std::string& r = NextRecord(size);
    total_bytes += size;
    uint8_t* at;
    uint64_t end;
    if (ring_.ReserveFast(size, &at, &end)) {
      std::memcpy(at, r.data(), size);
      ring_.PublishFast(end);
      ++fast;
    } else {
      at = ring_.Reserve(size);
      if (at == nullptr) {  // full: drain, then it must fit
        DrainAll(&ring_, &got);
        at = ring_.Reserve(size);
        ASSERT_NE(at, nullptr);
      }
      std::memcpy(at, r.data(), size);
      ring_.Publish();
      ++slow;
    }
    if (i % 53 == 0) DrainSpan(&ring_, &got, ring_.Peek().size / 2);  // a partial drain
  }
  DrainAll(&ring_, &got);
  EXPECT_EQ(got.records, written_);
  EXPECT_GT(got.padding, 3) << "it wrapped more than once";
  EXPECT_GT(fast, 10 * slow);
}

TEST(RingBufferTest, ResetForgetsPendingRecords) {
  RingBuffer ring(0);
  for (uint32_t i = 0; i < 10; ++i) {
    std::string r = MakeRecord(i, 512);
    ASSERT_TRUE(ring.TryWrite(r.data(), r.size()));
  }
  ring.Reset();
  EXPECT_TRUE(ring.Empty());
  EXPECT_EQ(ring.Peek().size, 0u);
  std::string r = MakeRecord(99, 64);
  ASSERT_TRUE(ring.TryWrite(r.data(), r.size()));
  Consumed got;
  DrainAll(&ring, &got);
  ASSERT_EQ(got.records.size(), 1u);
  EXPECT_EQ(got.records[0], r);
}

TEST(RingBufferTest, ProducerAndConsumerThreadsMoveAMillionRecordsIntact) {
  constexpr uint32_t kRecords = 1000000;
  RingBuffer ring(0);  // small, so both sides wait on each other often
  std::atomic<bool> producer_done{false};

  std::thread producer([&] {
    for (uint32_t seq = 0; seq < kRecords; ++seq) {
      std::string r = MakeRecord(seq, SizeFor(seq));
      while (!ring.TryWrite(r.data(), r.size())) std::this_thread::yield();
    }
    producer_done.store(true, std::memory_order_release);
  });

  // The consumer checks every record and keeps draining whatever happens, so
  // the producer can always finish and be joined.
  uint32_t received = 0;
  uint64_t bad = 0;
  std::string first_error;
  auto note = [&](const std::string& what) {
    if (bad++ == 0) first_error = what;
  };
  while (true) {
    bool done = producer_done.load(std::memory_order_acquire);
    RingBuffer::Span span = ring.Peek();
    if (span.size == 0) {
      if (done) break;
      std::this_thread::yield();
      continue;
    }
    size_t used = 0;
    while (used < span.size) {
      RawHeader h;
      if (span.size - used < sizeof(h)) {
        note("a span ends inside a record header");
        used = span.size;
        break;
      }
      std::memcpy(&h, span.data + used, sizeof(h));
      if (h.size < sizeof(RawHeader) || h.size > span.size - used) {
        note("bad record size after record " + std::to_string(received));
        used = span.size;
        break;
      }
      if (h.tag != RingBuffer::kPaddingTag) {
        uint32_t seq, crc;
        std::memcpy(&seq, span.data + used + 8, 4);
        std::memcpy(&crc, span.data + used + 12, 4);
        if (seq != received || h.size != SizeFor(received) ||
            crc != format::Crc32c(span.data + used + 16, h.size - 16)) {
          note("record " + std::to_string(received) + " arrived as seq " + std::to_string(seq) + ", size " +
               std::to_string(h.size));
        }
        ++received;
      }
      used += h.size;
    }
    ring.Release(used);
  }
  producer.join();
  EXPECT_EQ(bad, 0u) << first_error;
  EXPECT_EQ(received, kRecords);
  EXPECT_TRUE(ring.Empty());
}

}  // namespace
}  // namespace tracetape::recorder
