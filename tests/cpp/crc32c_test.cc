// CRC32C against the published test vectors (RFC 3720 appendix B.4, and the
// CRC catalogue's check value), plus the properties the record framing relies
// on: incremental computation and LevelDB-style masking.
#include "tracetape/format/crc32c.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <string>
#include <vector>

namespace tracetape::format {
namespace {

TEST(Crc32cTest, MatchesRfc3720TestVectors) {
  std::vector<uint8_t> buf(32, 0x00);
  EXPECT_EQ(Crc32c(buf.data(), buf.size()), 0x8a9136aau) << "32 bytes of zeros";

  std::fill(buf.begin(), buf.end(), 0xff);
  EXPECT_EQ(Crc32c(buf.data(), buf.size()), 0x62a8ab43u) << "32 bytes of 0xff";

  std::iota(buf.begin(), buf.end(), 0);
  EXPECT_EQ(Crc32c(buf.data(), buf.size()), 0x46dd794eu) << "bytes 0..31";

  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  EXPECT_EQ(Crc32c(buf.data(), buf.size()), 0x113fdb5cu) << "bytes 31..0";

  // An iSCSI SCSI Read (10) command PDU.
  const uint8_t pdu[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  EXPECT_EQ(Crc32c(pdu, sizeof(pdu)), 0xd9963a56u) << "iSCSI read command PDU";
}

TEST(Crc32cTest, MatchesCatalogueCheckValue) {
  // CRC-32/ISCSI check value from the CRC RevEng catalogue.
  EXPECT_EQ(Crc32c("123456789", 9), 0xe3069283u);
}

TEST(Crc32cTest, EmptyInputIsZero) {
  EXPECT_EQ(Crc32c("", 0), 0u);
  EXPECT_EQ(Crc32cExtend(0x12345678u, "", 0), 0x12345678u);
}

TEST(Crc32cTest, DifferentInputsGiveDifferentValues) {
  EXPECT_NE(Crc32c("a", 1), Crc32c("foo", 3));
  EXPECT_NE(Crc32c("bar", 3), Crc32c("foo", 3));
}

TEST(Crc32cTest, ExtendAtEverySplitPointEqualsOneShot) {
  // Long enough to exercise the 8-byte fast path on both sides of each split,
  // and starting at every alignment.
  std::string data;
  for (int i = 0; i < 300; ++i) data.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  for (size_t start = 0; start < 8; ++start) {
    std::string_view s = std::string_view(data).substr(start);
    const uint32_t whole = Crc32c(s.data(), s.size());
    for (size_t split = 0; split <= s.size(); ++split) {
      uint32_t a = Crc32c(s.data(), split);
      ASSERT_EQ(Crc32cExtend(a, s.data() + split, s.size() - split), whole)
          << "start " << start << ", split " << split;
    }
  }
}

TEST(Crc32cTest, ExtendByteByByteEqualsOneShot) {
  const std::string s = "hello world, this is a longer string to checksum";
  uint32_t crc = 0;
  for (char c : s) crc = Crc32cExtend(crc, &c, 1);
  EXPECT_EQ(crc, Crc32c(s.data(), s.size()));
}

TEST(Crc32cTest, MaskChangesTheValueAndUnmaskRestoresIt) {
  const uint32_t crc = Crc32c("foo", 3);
  EXPECT_NE(crc, MaskCrc(crc));
  EXPECT_NE(crc, MaskCrc(MaskCrc(crc)));
  EXPECT_EQ(crc, UnmaskCrc(MaskCrc(crc)));
  EXPECT_EQ(crc, UnmaskCrc(UnmaskCrc(MaskCrc(MaskCrc(crc)))));
}

TEST(Crc32cTest, UnmaskInvertsMaskForManyValues) {
  uint32_t x = 0x9e3779b9u;
  for (int i = 0; i < 100000; ++i) {
    x = x * 1664525u + 1013904223u;
    ASSERT_EQ(UnmaskCrc(MaskCrc(x)), x);
    ASSERT_EQ(MaskCrc(UnmaskCrc(x)), x);
  }
  for (uint32_t v : {0u, 1u, 0x7fffffffu, 0x80000000u, 0xffffffffu, kCrcMaskDelta}) {
    EXPECT_EQ(UnmaskCrc(MaskCrc(v)), v);
  }
}

}  // namespace
}  // namespace tracetape::format
