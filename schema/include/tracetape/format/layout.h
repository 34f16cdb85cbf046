// Byte-level constants of the tape container. FORMAT.md is the normative text;
// this header must agree with it.
#ifndef TRACETAPE_FORMAT_LAYOUT_H_
#define TRACETAPE_FORMAT_LAYOUT_H_

#include <cstddef>
#include <cstdint>

namespace tracetape::format {

// "TTAPE\r\n\x1a": the CR-LF pair catches text-mode mangling and the SUB byte
// stops `type` on old terminals, as in PNG's signature.
inline constexpr unsigned char kMagic[8] = {'T', 'T', 'A', 'P', 'E', '\r', '\n', 0x1a};
inline constexpr unsigned char kTrailerMagic[8] = {'T', 'T', 'A', 'P', 'E', 'N', 'D', '\n'};

// Major changes are incompatible; a reader refuses a major it does not know.
// Minor changes only append fields; any minor of a known major is readable.
// Major 2 (compact chunk columns) replaced major 1; readers still read 1.
inline constexpr uint16_t kFormatMajor = 2;
inline constexpr uint16_t kFormatMinor = 1;
inline constexpr uint16_t kOldestFormatMajor = 1;

inline constexpr size_t kPreambleSize = 16;      // magic, major u16, minor u16, reserved u32
inline constexpr size_t kRecordHeaderSize = 16;  // see RecordHeader
inline constexpr size_t kTrailerSize = 16;       // footer offset u64, kTrailerMagic

enum class RecordType : uint8_t {
  kHeader = 1,
  kChunk = 2,
  kSource = 3,
  kFooter = 4,
};

enum class Codec : uint8_t {
  kNone = 0,
  kZstd = 1,
};

// Reader limits: a hostile length field can never make a reader allocate more.
inline constexpr uint32_t kMaxPayloadBytes = 64u << 20;  // stored bytes of one record
inline constexpr uint32_t kMaxRawBytes = 64u << 20;      // decoded bytes of one record
inline constexpr uint32_t kMaxFlatBufferDepth = 32;
inline constexpr uint32_t kMaxFlatBufferTables = 4u << 20;

}  // namespace tracetape::format

#endif  // TRACETAPE_FORMAT_LAYOUT_H_
