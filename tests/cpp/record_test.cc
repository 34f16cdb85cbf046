// Record framing, preamble and trailer (schema/include/tracetape/format/
// record.h). Records are what a stranger's tape is made of, so besides round
// trips these tests feed hostile headers and payloads, each with a valid CRC so
// that the check under test is the one that must catch it, and watch the
// largest allocation the decoder makes.
#include "tracetape/format/record.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>
#include <string>
#include <vector>

#include "tracetape/format/crc32c.h"
#include "tracetape/format/layout.h"

// Records the largest single allocation made through operator new while a
// test has tracking switched on. std::string buffers, which is what a decoder
// would inflate, go through here.
namespace {
std::atomic<bool> g_track_allocations{false};
std::atomic<size_t> g_largest_allocation{0};
}  // namespace

void* operator new(size_t n) {
  if (g_track_allocations.load(std::memory_order_relaxed)) {
    size_t prev = g_largest_allocation.load(std::memory_order_relaxed);
    while (n > prev && !g_largest_allocation.compare_exchange_weak(prev, n)) {
    }
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
// The replacement operator new above allocates with malloc, so free is the
// matching release; GCC cannot see that the pair is replaced together.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace tracetape::format {
namespace {

// Largest allocation made while it is alive.
class AllocationWatch {
 public:
  AllocationWatch() {
    g_largest_allocation.store(0);
    g_track_allocations.store(true);
  }
  ~AllocationWatch() { g_track_allocations.store(false); }
  size_t largest() const { return g_largest_allocation.load(); }
};

constexpr size_t kSmallAllocation = 1u << 20;

void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The 16-byte record header exactly as record.h documents it, little-endian:
//   u32 masked CRC32C | u32 payload_len | u32 raw_len | u8 type | u8 codec | u16 reserved
// With `fix_crc`, the CRC is computed as documented (over header bytes 4..15
// and the payload, then masked), so only the field under test is wrong.
std::string FrameRecord(uint32_t payload_len, uint32_t raw_len, uint8_t type, uint8_t codec, uint16_t reserved,
                        std::string_view payload, bool fix_crc = true) {
  std::string h;
  PutLe(&h, 0, 4);
  PutLe(&h, payload_len, 4);
  PutLe(&h, raw_len, 4);
  PutLe(&h, type, 1);
  PutLe(&h, codec, 1);
  PutLe(&h, reserved, 2);
  if (fix_crc) {
    uint32_t crc = Crc32cExtend(Crc32c(h.data() + 4, 12), payload.data(), payload.size());
    std::string c;
    PutLe(&c, MaskCrc(crc), 4);
    h.replace(0, 4, c);
  }
  return h + std::string(payload);
}

std::string SimpleRecord(uint8_t type, uint8_t codec, uint32_t raw_len, std::string_view payload) {
  return FrameRecord(static_cast<uint32_t>(payload.size()), raw_len, type, codec, 0, payload);
}

constexpr uint8_t kChunk = static_cast<uint8_t>(RecordType::kChunk);
constexpr uint8_t kNone = static_cast<uint8_t>(Codec::kNone);
constexpr uint8_t kZstd = static_cast<uint8_t>(Codec::kZstd);

StatusOr<std::string> Decode(const std::string& record) {
  EXPECT_GE(record.size(), kRecordHeaderSize);
  return DecodeRecordPayload(reinterpret_cast<const unsigned char*>(record.data()),
                             std::string_view(record).substr(kRecordHeaderSize));
}

std::string Zstd(std::string_view raw, bool with_checksum = false, bool with_size = true) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, with_checksum ? 1 : 0);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, with_size ? 1 : 0);
  std::string out(ZSTD_compressBound(raw.size()), '\0');
  size_t n;
  if (with_size) {
    n = ZSTD_compress2(cctx, out.data(), out.size(), raw.data(), raw.size());
  } else {
    // Streaming with an unknown size leaves Frame_Content_Size out.
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    ZSTD_inBuffer ib{raw.data(), raw.size(), 0};
    n = ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end);
    EXPECT_EQ(n, 0u);
    n = ob.pos;
  }
  ZSTD_freeCCtx(cctx);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// A zstd frame (format spec, section "Frame_Header") that declares
// `content_size` but holds only the raw block `data`: single segment, no
// checksum, an 8-byte Frame_Content_Size field.
std::string HandmadeZstdFrame(uint64_t content_size, std::string_view data) {
  std::string f;
  PutLe(&f, 0xFD2FB528u, 4);  // magic
  f.push_back(static_cast<char>(0xE0));  // FCS flag 3 (8 bytes), single segment
  PutLe(&f, content_size, 8);
  PutLe(&f, (static_cast<uint32_t>(data.size()) << 3) | 1u, 3);  // last block, raw
  f.append(data);
  return f;
}

bool IsDamageCode(const Status& s) {
  return s.code() == Status::Code::kCorrupt || s.code() == Status::Code::kTruncated;
}

std::string Random(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

std::string Compressible(size_t n) {
  std::string s;
  while (s.size() < n) s += "line " + std::to_string(s.size() % 97) + ": x = 1\n";
  s.resize(n);
  return s;
}

// The allocation checks below are only meaningful if the watch sees
// std::string buffers; this proves it does.
TEST(RecordTest, AllocationWatchSeesStringBuffers) {
  AllocationWatch watch;
  std::string big(3u << 20, 'x');
  EXPECT_GE(watch.largest(), big.size());
}

// ---------------------------------------------------------------------------
// Header layout and round trips.

TEST(RecordHeaderTest, EncodesTheDocumentedLittleEndianLayout) {
  RecordHeader h;
  h.masked_crc = 0x04030201u;
  h.payload_len = 0x08070605u;
  h.raw_len = 0x0c0b0a09u;
  h.type = RecordType::kSource;
  h.codec = Codec::kZstd;
  h.reserved = 0;
  unsigned char b[kRecordHeaderSize];
  EncodeRecordHeader(h, b);
  const unsigned char want[kRecordHeaderSize] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
                                                 static_cast<unsigned char>(RecordType::kSource),
                                                 static_cast<unsigned char>(Codec::kZstd), 0, 0};
  EXPECT_EQ(std::string(reinterpret_cast<char*>(b), 16), std::string(reinterpret_cast<const char*>(want), 16));

  RecordHeader back = DecodeRecordHeader(b);
  EXPECT_EQ(back.masked_crc, h.masked_crc);
  EXPECT_EQ(back.payload_len, h.payload_len);
  EXPECT_EQ(back.raw_len, h.raw_len);
  EXPECT_EQ(back.type, h.type);
  EXPECT_EQ(back.codec, h.codec);
  EXPECT_EQ(back.reserved, 0);
}

TEST(RecordTest, EncodedRecordCarriesTheDocumentedHeaderAndCrc) {
  for (int level : {0, 3}) {
    const std::string raw = Compressible(5000);
    auto rec = EncodeRecord(RecordType::kSource, raw, level);
    ASSERT_TRUE(rec.ok()) << rec.status().ToString();
    ASSERT_GE(rec->size(), kRecordHeaderSize);
    RecordHeader h = DecodeRecordHeader(reinterpret_cast<const unsigned char*>(rec->data()));
    EXPECT_EQ(h.type, RecordType::kSource);
    EXPECT_EQ(h.codec, level == 0 ? Codec::kNone : Codec::kZstd);
    EXPECT_EQ(h.raw_len, raw.size());
    EXPECT_EQ(h.payload_len, rec->size() - kRecordHeaderSize);
    EXPECT_EQ(h.reserved, 0);
    EXPECT_TRUE(ValidateRecordHeader(h).ok());
    uint32_t crc = Crc32cExtend(Crc32c(rec->data() + 4, 12), rec->data() + 16, rec->size() - 16);
    EXPECT_EQ(h.masked_crc, MaskCrc(crc)) << "the CRC covers header bytes 4..15 and the payload, masked";
    if (level == 0) {
      EXPECT_EQ(rec->substr(16), raw);
    } else {
      EXPECT_LT(rec->size(), raw.size()) << "compressible data should shrink under zstd";
    }
  }
}

TEST(RecordTest, RoundTripsWithAndWithoutCompression) {
  const std::vector<std::string> payloads = {"", "x", "hello, tape", Compressible(100000), Random(100000, 1),
                                             std::string(70000, '\0')};
  for (int level : {0, 1, 3}) {
    for (const auto& raw : payloads) {
      for (RecordType type : {RecordType::kHeader, RecordType::kChunk, RecordType::kSource, RecordType::kFooter}) {
        auto rec = EncodeRecord(type, raw, level);
        ASSERT_TRUE(rec.ok()) << rec.status().ToString();
        auto back = Decode(*rec);
        ASSERT_TRUE(back.ok()) << "level " << level << ", size " << raw.size() << ": " << back.status().ToString();
        EXPECT_EQ(*back, raw) << "level " << level << ", size " << raw.size();
      }
    }
  }
}

TEST(RecordTest, EncodingMoreThanTheRawLimitFails) {
  std::string raw(static_cast<size_t>(kMaxRawBytes) + 1, 'a');
  auto rec = EncodeRecord(RecordType::kChunk, raw, 0);
  EXPECT_FALSE(rec.ok());
}

// ---------------------------------------------------------------------------
// Damage.

TEST(RecordTest, EverySingleBitFlipIsDetected) {
  for (int level : {0, 3}) {
    auto rec = EncodeRecord(RecordType::kChunk, "a small record: x = 42, name = 'ann'", level);
    ASSERT_TRUE(rec.ok());
    for (size_t byte = 0; byte < rec->size(); ++byte) {
      for (int bit = 0; bit < 8; ++bit) {
        std::string bad = *rec;
        bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
        auto out = Decode(bad);
        ASSERT_FALSE(out.ok()) << "level " << level << ": flip of bit " << bit << " of byte " << byte
                               << " went unnoticed";
        EXPECT_TRUE(IsDamageCode(out.status())) << out.status().ToString();
      }
    }
  }
}

TEST(RecordTest, PayloadShorterThanItsHeaderSaysIsTruncated) {
  auto rec = EncodeRecord(RecordType::kChunk, Compressible(1000), 3);
  ASSERT_TRUE(rec.ok());
  for (size_t keep = kRecordHeaderSize; keep < rec->size(); ++keep) {
    auto out = Decode(rec->substr(0, keep));
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kTruncated) << "cut at " << keep;
  }
}

TEST(RecordTest, RecordWithWrongCrcIsCorrupt) {
  std::string rec = FrameRecord(16, 16, kChunk, kNone, 0, "0123456789abcdef", /*fix_crc=*/false);
  auto out = Decode(rec);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kCorrupt);
}

TEST(RecordTest, HandFramedRecordDecodes) {
  // Sanity check of the test's own framing: a well-formed hand-built record is
  // accepted, so the hostile variants below fail for the intended reason.
  EXPECT_EQ(Decode(SimpleRecord(kChunk, kNone, 5, "hello")).value(), "hello");
  std::string z = Zstd("hello world");
  EXPECT_EQ(Decode(SimpleRecord(kChunk, kZstd, 11, z)).value(), "hello world");
}

TEST(RecordTest, UnknownTypeIsCorrupt) {
  for (uint8_t type : {0, 5, 6, 0x7f, 0x80, 0xff}) {
    std::string rec = SimpleRecord(type, kNone, 5, "hello");
    RecordHeader h = DecodeRecordHeader(reinterpret_cast<const unsigned char*>(rec.data()));
    EXPECT_EQ(ValidateRecordHeader(h).code(), Status::Code::kCorrupt) << "type " << int(type);
    auto out = Decode(rec);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kCorrupt) << "type " << int(type);
  }
}

TEST(RecordTest, UnknownCodecIsCorrupt) {
  for (uint8_t codec : {2, 3, 0x80, 0xff}) {
    auto out = Decode(SimpleRecord(kChunk, codec, 5, "hello"));
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kCorrupt) << "codec " << int(codec);
  }
}

TEST(RecordTest, ReservedBitsSetIsCorrupt) {
  for (uint16_t reserved : {1, 0x100, 0x8000, 0xffff}) {
    auto out = Decode(FrameRecord(5, 5, kChunk, kNone, reserved, "hello"));
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kCorrupt) << "reserved " << reserved;
  }
}

TEST(RecordTest, UncompressedRecordWithMismatchedLengthsIsCorrupt) {
  for (uint32_t raw_len : {0u, 4u, 6u, 1000u}) {
    auto out = Decode(FrameRecord(5, raw_len, kChunk, kNone, 0, "hello"));
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kCorrupt) << "raw_len " << raw_len;
  }
}

TEST(RecordTest, PayloadLengthOverTheLimitIsRejectedBeforeAllocating) {
  for (uint32_t len : {kMaxPayloadBytes + 1, 0x80000000u, 0xffffffffu}) {
    std::string rec = FrameRecord(len, 5, kChunk, kZstd, 0, "");
    RecordHeader h = DecodeRecordHeader(reinterpret_cast<const unsigned char*>(rec.data()));
    EXPECT_EQ(ValidateRecordHeader(h).code(), Status::Code::kCorrupt);
    AllocationWatch watch;
    auto out = Decode(rec);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kCorrupt) << "payload_len " << len;
    EXPECT_LT(watch.largest(), kSmallAllocation);
  }
}

TEST(RecordTest, RawLengthOverTheLimitIsRejectedBeforeAllocating) {
  std::string z = Zstd("hello world");
  for (uint32_t raw_len : {kMaxRawBytes + 1, 0x80000000u, 0xffffffffu}) {
    std::string rec = SimpleRecord(kChunk, kZstd, raw_len, z);
    RecordHeader h = DecodeRecordHeader(reinterpret_cast<const unsigned char*>(rec.data()));
    EXPECT_EQ(ValidateRecordHeader(h).code(), Status::Code::kCorrupt);
    AllocationWatch watch;
    auto out = Decode(rec);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kCorrupt) << "raw_len " << raw_len;
    EXPECT_LT(watch.largest(), kSmallAllocation);
  }
}

TEST(RecordTest, ZstdFrameDeclaringAnotherSizeThanTheHeaderIsCorrupt) {
  const std::string z = Zstd("hello world");  // declares 11 bytes
  ASSERT_EQ(ZSTD_getFrameContentSize(z.data(), z.size()), 11u);
  for (uint32_t raw_len : {0u, 10u, 12u, 4096u, kMaxRawBytes}) {
    AllocationWatch watch;
    auto out = Decode(SimpleRecord(kChunk, kZstd, raw_len, z));
    ASSERT_FALSE(out.ok()) << "raw_len " << raw_len;
    EXPECT_EQ(out.status().code(), Status::Code::kCorrupt);
    EXPECT_LT(watch.largest(), kSmallAllocation) << "a disagreement must be caught before the output is allocated";
  }
}

TEST(RecordTest, ZstdFrameDeclaringAHugeSizeIsRejectedWithoutAllocating) {
  // A few bytes that claim a terabyte: the decompression-bomb shape.
  const std::string f = HandmadeZstdFrame(1ull << 40, "");
  ASSERT_EQ(ZSTD_getFrameContentSize(f.data(), f.size()), 1ull << 40) << "the handmade frame is well formed";
  for (uint32_t raw_len : {0u, 1u, kMaxRawBytes}) {
    AllocationWatch watch;
    auto out = Decode(SimpleRecord(kChunk, kZstd, raw_len, f));
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kCorrupt);
    EXPECT_LT(watch.largest(), kSmallAllocation);
  }
}

TEST(RecordTest, ZstdFrameWithoutContentSizeIsCorrupt) {
  const std::string z = Zstd("hello world", /*with_checksum=*/false, /*with_size=*/false);
  ASSERT_EQ(ZSTD_getFrameContentSize(z.data(), z.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  auto out = Decode(SimpleRecord(kChunk, kZstd, 11, z));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kCorrupt);
}

TEST(RecordTest, ZstdFrameHoldingLessThanItDeclaresIsCorruptAndBoundedByRawLen) {
  const uint32_t declared = 1u << 20;
  const std::string f = HandmadeZstdFrame(declared, "hello");
  ASSERT_EQ(ZSTD_getFrameContentSize(f.data(), f.size()), declared);
  AllocationWatch watch;
  auto out = Decode(SimpleRecord(kChunk, kZstd, declared, f));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), Status::Code::kCorrupt);
  EXPECT_LE(watch.largest(), declared + 4096u) << "the output buffer may be raw_len bytes, never more";
}

TEST(RecordTest, TrailingBytesAfterTheZstdFrameAreCorrupt) {
  const std::string z = Zstd("hello world");
  for (const std::string& tail : {std::string(1, '\0'), std::string("garbage"), z}) {
    auto out = Decode(SimpleRecord(kChunk, kZstd, 11, z + tail));
    ASSERT_FALSE(out.ok()) << "tail of " << tail.size() << " bytes";
    EXPECT_EQ(out.status().code(), Status::Code::kCorrupt);
  }
}

TEST(RecordTest, PayloadThatIsNotAZstdFrameIsCorrupt) {
  for (const std::string& payload : {std::string(), std::string("not zstd at all"), std::string(3, '\x28')}) {
    auto out = Decode(SimpleRecord(kChunk, kZstd, 11, payload));
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.status().code(), Status::Code::kCorrupt);
  }
}

TEST(RecordTest, DamagedZstdFrameUnderAValidCrcNeverYieldsWrongData) {
  // The record CRC is recomputed after each change, so only zstd's own checks
  // and the frame-size checks stand between the damage and the reader.
  const std::string raw = Compressible(3000);
  const std::string z = Zstd(raw, /*with_checksum=*/true);
  int rejected = 0;
  for (size_t i = 0; i < z.size(); ++i) {
    for (unsigned char mask : {0x01, 0x80, 0xff}) {
      std::string bad = z;
      bad[i] = static_cast<char>(bad[i] ^ mask);
      auto out = Decode(SimpleRecord(kChunk, kZstd, static_cast<uint32_t>(raw.size()), bad));
      if (out.ok()) {
        ASSERT_EQ(*out, raw) << "byte " << i << " ^ " << int(mask) << " decoded to different data";
      } else {
        EXPECT_EQ(out.status().code(), Status::Code::kCorrupt);
        ++rejected;
      }
    }
  }
  EXPECT_GT(rejected, 0);
}

// ---------------------------------------------------------------------------
// Preamble and trailer.

TEST(PreambleTest, EncodedPreambleIsMagicThenVersion) {
  std::string p = EncodePreamble();
  ASSERT_EQ(p.size(), kPreambleSize);
  EXPECT_EQ(p.substr(0, 8), std::string("TTAPE\r\n\x1a", 8));
  uint16_t major = 0, minor = 0;
  ASSERT_TRUE(CheckPreamble(p, &major, &minor).ok());
  EXPECT_EQ(major, kFormatMajor);
  EXPECT_EQ(minor, kFormatMinor);
}

TEST(PreambleTest, EmptyInputIsTruncated) {
  uint16_t major, minor;
  EXPECT_EQ(CheckPreamble("", &major, &minor).code(), Status::Code::kTruncated);
}

TEST(PreambleTest, EveryProperPrefixIsTruncated) {
  std::string p = EncodePreamble();
  uint16_t major, minor;
  for (size_t n = 1; n < p.size(); ++n) {
    EXPECT_EQ(CheckPreamble(p.substr(0, n), &major, &minor).code(), Status::Code::kTruncated) << n << " bytes";
  }
}

TEST(PreambleTest, BadMagicIsCorrupt) {
  uint16_t major, minor;
  std::string p = EncodePreamble();
  for (size_t i = 0; i < 8; ++i) {
    std::string bad = p;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    EXPECT_EQ(CheckPreamble(bad, &major, &minor).code(), Status::Code::kCorrupt) << "magic byte " << i;
  }
  EXPECT_EQ(CheckPreamble("PK\x03\x04", &major, &minor).code(), Status::Code::kCorrupt) << "a short non-tape";
  EXPECT_EQ(CheckPreamble(std::string(16, 'A'), &major, &minor).code(), Status::Code::kCorrupt);
  // Text-mode mangling turns CR LF into LF: the signature catches it.
  std::string mangled = "TTAPE\n\x1a" + p.substr(8);
  EXPECT_EQ(CheckPreamble(mangled, &major, &minor).code(), Status::Code::kCorrupt);
}

std::string Preamble(uint16_t major, uint16_t minor, uint32_t reserved) {
  std::string p(reinterpret_cast<const char*>(kMagic), 8);
  PutLe(&p, major, 2);
  PutLe(&p, minor, 2);
  PutLe(&p, reserved, 4);
  return p;
}

TEST(PreambleTest, FutureMajorVersionIsUnsupported) {
  uint16_t major = 0, minor = 0;
  for (uint16_t m : {static_cast<uint16_t>(kFormatMajor + 1), static_cast<uint16_t>(0xffff)}) {
    Status s = CheckPreamble(Preamble(m, 0, 0), &major, &minor);
    EXPECT_EQ(s.code(), Status::Code::kUnsupported) << "major " << m;
    EXPECT_FALSE(s.message().empty());
  }
  EXPECT_EQ(CheckPreamble(Preamble(0, 0, 0), &major, &minor).code(), Status::Code::kUnsupported) << "major 0";
}

TEST(PreambleTest, AnyMinorVersionOfTheKnownMajorIsAccepted) {
  uint16_t major = 0, minor = 0;
  for (uint16_t m : {static_cast<uint16_t>(kFormatMinor + 1), static_cast<uint16_t>(0xffff)}) {
    ASSERT_TRUE(CheckPreamble(Preamble(kFormatMajor, m, 0), &major, &minor).ok());
    EXPECT_EQ(major, kFormatMajor);
    EXPECT_EQ(minor, m);
  }
}

TEST(PreambleTest, ReservedBitsSetIsCorrupt) {
  uint16_t major, minor;
  EXPECT_EQ(CheckPreamble(Preamble(kFormatMajor, kFormatMinor, 1), &major, &minor).code(), Status::Code::kCorrupt);
}

TEST(TrailerTest, RoundTripsTheFooterOffset) {
  for (uint64_t off : {uint64_t{0}, uint64_t{16}, uint64_t{0x0102030405060708}, ~uint64_t{0}}) {
    std::string t = EncodeTrailer(off);
    ASSERT_EQ(t.size(), kTrailerSize);
    EXPECT_EQ(t.substr(8), "TTAPEND\n");
    uint64_t back = 1;
    ASSERT_TRUE(DecodeTrailer(t, &back));
    EXPECT_EQ(back, off);
  }
}

TEST(TrailerTest, RejectsWrongSizeOrMagic) {
  uint64_t off;
  std::string t = EncodeTrailer(100);
  EXPECT_FALSE(DecodeTrailer(t.substr(0, 15), &off));
  EXPECT_FALSE(DecodeTrailer(t + "x", &off));
  EXPECT_FALSE(DecodeTrailer("", &off));
  for (size_t i = 8; i < 16; ++i) {
    std::string bad = t;
    bad[i] = static_cast<char>(bad[i] ^ 1);
    EXPECT_FALSE(DecodeTrailer(bad, &off)) << "magic byte " << i - 8;
  }
}

}  // namespace
}  // namespace tracetape::format
