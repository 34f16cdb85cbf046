#include "tracetape/format/record.h"

#include <zstd.h>

#include <atomic>
#include <cstring>
#include <memory>

#include "tracetape/format/crc32c.h"

namespace tracetape::format {
namespace {

void PutU16(unsigned char* p, uint16_t v) {
  p[0] = static_cast<unsigned char>(v);
  p[1] = static_cast<unsigned char>(v >> 8);
}
void PutU32(unsigned char* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
void PutU64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<unsigned char>(v >> (8 * i));
}
uint16_t GetU16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t GetU32(const unsigned char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint64_t GetU64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint32_t ComputeCrc(const unsigned char header_bytes[kRecordHeaderSize], std::string_view payload) {
  uint32_t crc = Crc32c(header_bytes + 4, kRecordHeaderSize - 4);
  crc = Crc32cExtend(crc, payload.data(), payload.size());
  return MaskCrc(crc);
}

// Compression contexts outlive their threads: a recording's writer thread
// compresses with one, and `pytest --tape` starts a writer per test. A new
// context cost its first record (the tape's header) about 40 microseconds
// more than one already used; a thread that ends gives its context back here
// for the next one. Slots taken and filled by atomic exchanges: no lock that
// a fork could copy held. Never freed (threads may end during static
// destruction).
constexpr int kSpareContexts = 4;
std::atomic<ZSTD_CCtx*> g_spare_contexts[kSpareContexts];

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const {
    for (auto& slot : g_spare_contexts) {
      ZSTD_CCtx* empty = nullptr;
      if (slot.compare_exchange_strong(empty, c)) return;
    }
    ZSTD_freeCCtx(c);
  }
};

ZSTD_CCtx* TakeContext() {
  for (auto& slot : g_spare_contexts) {
    if (ZSTD_CCtx* c = slot.exchange(nullptr)) return c;
  }
  return ZSTD_createCCtx();
}

struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

}  // namespace

void EncodeRecordHeader(const RecordHeader& h, unsigned char out[kRecordHeaderSize]) {
  PutU32(out, h.masked_crc);
  PutU32(out + 4, h.payload_len);
  PutU32(out + 8, h.raw_len);
  out[12] = static_cast<unsigned char>(h.type);
  out[13] = static_cast<unsigned char>(h.codec);
  PutU16(out + 14, h.reserved);
}

RecordHeader DecodeRecordHeader(const unsigned char in[kRecordHeaderSize]) {
  RecordHeader h;
  h.masked_crc = GetU32(in);
  h.payload_len = GetU32(in + 4);
  h.raw_len = GetU32(in + 8);
  h.type = static_cast<RecordType>(in[12]);
  h.codec = static_cast<Codec>(in[13]);
  h.reserved = GetU16(in + 14);
  return h;
}

Status ValidateRecordHeader(const RecordHeader& h) {
  auto type = static_cast<uint8_t>(h.type);
  if (type < static_cast<uint8_t>(RecordType::kHeader) || type > static_cast<uint8_t>(RecordType::kFooter)) {
    return Status::Corrupt("unknown record type " + std::to_string(type));
  }
  if (h.codec != Codec::kNone && h.codec != Codec::kZstd) {
    return Status::Corrupt("unknown record codec " + std::to_string(static_cast<int>(h.codec)));
  }
  if (h.reserved != 0) return Status::Corrupt("reserved record header bits are set");
  if (h.payload_len > kMaxPayloadBytes) {
    return Status::Corrupt("record payload length " + std::to_string(h.payload_len) + " exceeds the limit of " +
                           std::to_string(kMaxPayloadBytes));
  }
  if (h.raw_len > kMaxRawBytes) {
    return Status::Corrupt("record decoded length " + std::to_string(h.raw_len) + " exceeds the limit of " +
                           std::to_string(kMaxRawBytes));
  }
  if (h.codec == Codec::kNone && h.raw_len != h.payload_len) {
    return Status::Corrupt("uncompressed record with mismatched lengths");
  }
  return Status::Ok();
}

StatusOr<std::string> EncodeRecord(RecordType type, std::string_view raw, int zstd_level) {
  if (raw.size() > kMaxRawBytes) return Status::ResourceLimit("record too large to encode");
  RecordHeader h;
  h.type = type;
  h.raw_len = static_cast<uint32_t>(raw.size());
  std::string out(kRecordHeaderSize, '\0');
  if (zstd_level > 0) {
    h.codec = Codec::kZstd;
    size_t bound = ZSTD_compressBound(raw.size());
    out.resize(kRecordHeaderSize + bound);
    thread_local std::unique_ptr<ZSTD_CCtx, CCtxDeleter> cctx(TakeContext());
    size_t n = ZSTD_compressCCtx(cctx.get(), out.data() + kRecordHeaderSize, bound, raw.data(), raw.size(),
                                 zstd_level);
    if (ZSTD_isError(n)) return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(n));
    out.resize(kRecordHeaderSize + n);
  } else {
    h.codec = Codec::kNone;
    out.append(raw.data(), raw.size());
  }
  h.payload_len = static_cast<uint32_t>(out.size() - kRecordHeaderSize);
  auto* hb = reinterpret_cast<unsigned char*>(out.data());
  EncodeRecordHeader(h, hb);
  h.masked_crc = ComputeCrc(hb, std::string_view(out).substr(kRecordHeaderSize));
  EncodeRecordHeader(h, hb);
  return out;
}

StatusOr<std::string> DecodeRecordPayload(const unsigned char header_bytes[kRecordHeaderSize],
                                          std::string_view payload) {
  RecordHeader h = DecodeRecordHeader(header_bytes);
  TRACETAPE_RETURN_IF_ERROR(ValidateRecordHeader(h));
  if (payload.size() != h.payload_len) return Status::Truncated("record payload is cut short");
  if (ComputeCrc(header_bytes, payload) != h.masked_crc) return Status::Corrupt("record checksum mismatch");
  if (h.codec == Codec::kNone) return std::string(payload);

  // The frame header is attacker-controlled: it must declare exactly raw_len,
  // and decoding goes into a buffer of exactly that size, so neither can
  // inflate memory.
  unsigned long long declared = ZSTD_getFrameContentSize(payload.data(), payload.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) return Status::Corrupt("record payload is not a zstd frame");
  if (declared != h.raw_len) return Status::Corrupt("zstd frame size disagrees with the record header");
  size_t frame_size = ZSTD_findFrameCompressedSize(payload.data(), payload.size());
  if (ZSTD_isError(frame_size) || frame_size != payload.size()) {
    return Status::Corrupt("record payload is not exactly one zstd frame");
  }
  std::string raw(h.raw_len, '\0');
  thread_local std::unique_ptr<ZSTD_DCtx, DCtxDeleter> dctx(ZSTD_createDCtx());
  size_t n = ZSTD_decompressDCtx(dctx.get(), raw.data(), raw.size(), payload.data(), payload.size());
  if (ZSTD_isError(n)) return Status::Corrupt(std::string("zstd: ") + ZSTD_getErrorName(n));
  if (n != h.raw_len) return Status::Corrupt("zstd frame decoded to the wrong size");
  return raw;
}

std::string EncodePreamble() {
  unsigned char b[kPreambleSize] = {};
  std::memcpy(b, kMagic, 8);
  PutU16(b + 8, kFormatMajor);
  PutU16(b + 10, kFormatMinor);
  return std::string(reinterpret_cast<char*>(b), kPreambleSize);
}

Status CheckPreamble(std::string_view bytes, uint16_t* major, uint16_t* minor) {
  size_t magic_bytes = bytes.size() < sizeof(kMagic) ? bytes.size() : sizeof(kMagic);
  if (bytes.empty()) return Status::Truncated("file is empty");
  if (std::memcmp(bytes.data(), kMagic, magic_bytes) != 0) {
    return Status::Corrupt("not a tracetape tape (bad magic)");
  }
  if (bytes.size() < kPreambleSize) return Status::Truncated("file ends inside the tape preamble");
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  *major = GetU16(p + 8);
  *minor = GetU16(p + 10);
  if (*major < kOldestFormatMajor || *major > kFormatMajor) {
    return Status::Unsupported("tape format version " + std::to_string(*major) + "." + std::to_string(*minor) +
                               " is not supported (this reader knows " + std::to_string(kOldestFormatMajor) +
                               ".x to " + std::to_string(kFormatMajor) + ".x)");
  }
  if (GetU32(p + 12) != 0) return Status::Corrupt("reserved preamble bits are set");
  return Status::Ok();
}

std::string EncodeTrailer(uint64_t footer_offset) {
  unsigned char b[kTrailerSize];
  PutU64(b, footer_offset);
  std::memcpy(b + 8, kTrailerMagic, 8);
  return std::string(reinterpret_cast<char*>(b), kTrailerSize);
}

bool DecodeTrailer(std::string_view bytes, uint64_t* footer_offset) {
  if (bytes.size() != kTrailerSize) return false;
  if (std::memcmp(bytes.data() + 8, kTrailerMagic, 8) != 0) return false;
  *footer_offset = GetU64(reinterpret_cast<const unsigned char*>(bytes.data()));
  return true;
}

}  // namespace tracetape::format
