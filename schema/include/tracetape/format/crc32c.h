// CRC32C (Castagnoli), as used by iSCSI, ext4 and LevelDB. No Debian package
// ships a CRC32C library on both Debian 12 and 13, so this is a small
// table-driven implementation, checked against the RFC 3720 test vectors.
#ifndef TRACETAPE_FORMAT_CRC32C_H_
#define TRACETAPE_FORMAT_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace tracetape::format {

// Returns the CRC32C of data[0, n) continuing from `crc` (0 to start).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }

// LevelDB's masking: a CRC stored next to data that itself contains CRCs is
// rotated and offset, so that the CRC of a string with embedded CRCs is not
// degenerate.
constexpr uint32_t kCrcMaskDelta = 0xa282ead8u;
inline uint32_t MaskCrc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kCrcMaskDelta; }
inline uint32_t UnmaskCrc(uint32_t masked) {
  uint32_t rot = masked - kCrcMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace tracetape::format

#endif  // TRACETAPE_FORMAT_CRC32C_H_
