#include "tracetape/recorder/raw_records.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace tracetape::recorder {
namespace {

// The hook builds records in a RawBuffer; the writer and the tests read
// the layout std::string-based RawWriter defines. Both must give the same
// bytes, across the buffer's growth.
TEST(RawBuffer, WritesTheSameRecordsAsAStringWriter) {
  std::mt19937 rng(7);
  RawBuffer buf;
  BasicRawWriter<RawBuffer> fast(&buf);
  std::string str;
  RawWriter slow(&str);
  for (int record = 0; record < 200; ++record) {
    fast.Begin(RawTag::kEvent, static_cast<uint8_t>(record % 5));
    slow.Begin(RawTag::kEvent, static_cast<uint8_t>(record % 5));
    int fields = static_cast<int>(rng() % 6);
    for (int i = 0; i < fields; ++i) {
      uint32_t v = rng();
      std::string text(rng() % (record < 100 ? 40 : 3000), static_cast<char>('a' + i));
      fast.U32(v);
      slow.U32(v);
      fast.Str(text);
      slow.Str(text);
    }
    const RawBuffer& a = fast.Finish(static_cast<uint16_t>(fields));
    const std::string& b = slow.Finish(static_cast<uint16_t>(fields));
    ASSERT_EQ(std::string(a.data(), a.size()), b) << "record " << record;
    EXPECT_EQ(a.size() % 8, 0u);
    RawHeader h;
    std::memcpy(&h, a.data(), sizeof(h));
    EXPECT_EQ(h.size, a.size());
    EXPECT_EQ(h.ndeltas, fields);
  }
}

TEST(RawBuffer, ClearKeepsNothingButRoom) {
  RawBuffer buf;
  std::string big(10000, 'x');
  buf.append(big.data(), big.size());
  EXPECT_EQ(buf.size(), big.size());
  buf.clear();
  EXPECT_EQ(buf.size(), 0u);
  buf.push_back('y');
  ASSERT_EQ(buf.size(), 1u);
  EXPECT_EQ(buf.data()[0], 'y');
}

}  // namespace
}  // namespace tracetape::recorder
