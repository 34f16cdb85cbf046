// Record framing: every unit of a tape after the preamble is a record of
//   u32 masked CRC32C | u32 payload_len | u32 raw_len | u8 type | u8 codec | u16 0
// followed by payload_len bytes. The CRC covers header bytes 4..15 and the
// payload, so a torn or altered length is detected like altered data.
#ifndef TRACETAPE_FORMAT_RECORD_H_
#define TRACETAPE_FORMAT_RECORD_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "tracetape/format/layout.h"
#include "tracetape/format/status.h"

namespace tracetape::format {

struct RecordHeader {
  uint32_t masked_crc = 0;
  uint32_t payload_len = 0;
  uint32_t raw_len = 0;
  RecordType type = RecordType::kChunk;
  Codec codec = Codec::kNone;
  uint16_t reserved = 0;
};

void EncodeRecordHeader(const RecordHeader& header, unsigned char out[kRecordHeaderSize]);
RecordHeader DecodeRecordHeader(const unsigned char in[kRecordHeaderSize]);

// Checks the fields that can be checked without the payload: known type and
// codec, zero reserved bits, lengths within the reader limits.
Status ValidateRecordHeader(const RecordHeader& header);

// Frames `raw` as one record, compressed with zstd at `zstd_level` (0 stores it
// uncompressed). Returns header and payload, ready to append.
StatusOr<std::string> EncodeRecord(RecordType type, std::string_view raw, int zstd_level);

// Checks the CRC of a record and returns its decoded bytes. `header_bytes` are
// the 16 bytes the header was decoded from. Never allocates more than
// header.raw_len, which ValidateRecordHeader bounds.
StatusOr<std::string> DecodeRecordPayload(const unsigned char header_bytes[kRecordHeaderSize],
                                          std::string_view payload);

std::string EncodePreamble();
// Accepts any minor version of a known major.
Status CheckPreamble(std::string_view bytes, uint16_t* major, uint16_t* minor);

std::string EncodeTrailer(uint64_t footer_offset);
// Returns false if `bytes` is not a trailer.
bool DecodeTrailer(std::string_view bytes, uint64_t* footer_offset);

}  // namespace tracetape::format

#endif  // TRACETAPE_FORMAT_RECORD_H_
