#include "tracetape/format/columns.h"

#include <algorithm>
#include <cstdint>

#include <cstring>

namespace tracetape::format {
namespace {

// Edit search: after a mismatch, look this far ahead in either string for a
// run of kResync equal bytes where they agree again.
constexpr size_t kLookahead = 16;
constexpr size_t kResync = 4;
constexpr size_t kMaxHunks = 64;

size_t CommonPrefix(const char* a, size_t na, const char* b, size_t nb) {
  size_t n = na < nb ? na : nb, i = 0;
  // Eight bytes at a time: the runs between a value's changes are long (an
  // instance's text, of which one attribute changed).
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    if (x != y) {
      static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the first differing byte is the lowest");
      return i + static_cast<size_t>(__builtin_ctzll(x ^ y)) / 8;
    }
  }
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

struct Hunk {
  size_t keep, drop, insert_at, insert;
};

// Greedy alignment of `cur` against `base`: copy equal runs, and at each
// difference skip the fewest bytes of either side that lead to kResync equal
// bytes (or to both ends). Gives up (one hunk to the end) after kMaxHunks.
// At most kMaxHunks hunks, in `hunks`; returns how many.
size_t Diff(std::string_view base, std::string_view cur, Hunk* hunks) {
  size_t count = 0;
  size_t i = 0, j = 0;
  while (true) {
    size_t run = CommonPrefix(base.data() + i, base.size() - i, cur.data() + j, cur.size() - j);
    i += run;
    j += run;
    if (i == base.size() && j == cur.size()) return count;  // the run is the implicit tail
    size_t di = 0, dj = 0;
    bool found = false;
    const size_t rest_base = base.size() - i, rest_cur = cur.size() - j;
    // With fewer than kResync bytes left on either side, no skip can lead to
    // kResync equal bytes: the only hunk is both rests, which is what the
    // search below would end with (a changed int's text, the most frequent
    // value, ends here at once).
    if (count + 1 < kMaxHunks && rest_base >= kResync && rest_cur >= kResync) {
      // Skips of a bytes of base and b of cur, a + b = s, fewest first; only
      // those within both strings (short values: a handful, not 16 x 32).
      const size_t max_s = std::min(2 * kLookahead, rest_base + rest_cur);
      for (size_t s = 1; s <= max_s && !found; ++s) {
        size_t lo = s > kLookahead ? s - kLookahead : 0;
        if (s > rest_cur) lo = std::max(lo, s - rest_cur);
        const size_t hi = std::min(std::min(s, kLookahead), rest_base);
        for (size_t a = lo; a <= hi; ++a) {
          size_t b = s - a;
          size_t bi = i + a, cj = j + b;
          bool ends = bi == base.size() && cj == cur.size();
          bool agree = bi + kResync <= base.size() && cj + kResync <= cur.size() &&
                       std::memcmp(base.data() + bi, cur.data() + cj, kResync) == 0;
          if (ends || agree) {
            di = a;
            dj = b;
            found = true;
            break;
          }
        }
      }
    }
    if (!found) {
      di = base.size() - i;
      dj = cur.size() - j;
    }
    hunks[count++] = {run, di, j, dj};
    i += di;
    j += dj;
    if (i == base.size() && j == cur.size()) return count;
  }
}

}  // namespace

namespace {

// PutVarint into a buffer with room for 10 bytes; returns the bytes written.
size_t EncodeVarint(uint64_t v, char* p) {
  size_t n = 0;
  while (v >= 0x80) {
    p[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  p[n++] = static_cast<char>(v);
  return n;
}

}  // namespace

void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  out->append(buf, EncodeVarint(v, buf));
}

bool GetVarint(const uint8_t* data, size_t size, size_t* pos, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= size) return false;
    uint8_t b = data[(*pos)++];
    if (shift == 63 && b > 1) return false;
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

void PackString(std::string_view s, std::string_view base, uint64_t distance, std::string* out) {
  // An edit has at least one hunk (the table holds no duplicates, so s is
  // not base): 5 bytes or more, which a literal of at most 3 bytes beats.
  if (distance != 0 && !base.empty() && s.size() > 3) {
    Hunk hunks[kMaxHunks];
    const size_t count = Diff(base, s, hunks);
    // Only the varints first: the edit is kept only if shorter than the
    // literal, and then written with one append per inserted run.
    char nums[20 + kMaxHunks * 30];
    size_t n = EncodeVarint(distance, nums);
    n += EncodeVarint(count, nums + n);
    size_t inserted = 0;
    size_t ends[kMaxHunks];  // where hunk k's varints end in nums
    for (size_t k = 0; k < count; ++k) {
      const Hunk& h = hunks[k];
      n += EncodeVarint(h.keep, nums + n);
      n += EncodeVarint(h.drop, nums + n);
      n += EncodeVarint(h.insert, nums + n);
      ends[k] = n;
      inserted += h.insert;
    }
    // The base after the last hunk is kept implicitly.
    if (n + inserted < s.size() + 2) {
      size_t from = 0;
      for (size_t k = 0; k < count; ++k) {
        out->append(nums + from, ends[k] - from);
        out->append(s.data() + hunks[k].insert_at, hunks[k].insert);
        from = ends[k];
      }
      if (count == 0) out->append(nums, n);
      return;
    }
  }
  char head[20];
  size_t n = EncodeVarint(0, head);
  n += EncodeVarint(s.size(), head + n);
  out->append(head, n);
  out->append(s.data(), s.size());
}

Status UnpackStrings(const uint8_t* data, size_t size, uint64_t max_bytes, std::vector<std::string>* out) {
  auto bad = [](const std::string& m) { return Status::Corrupt("chunk: string table: " + m); };
  uint64_t total = 0;
  size_t pos = 0;
  while (pos < size) {
    const size_t index = out->size();
    uint64_t distance;
    if (!GetVarint(data, size, &pos, &distance)) return bad("entry " + std::to_string(index) + " is cut short");
    std::string s;
    if (distance == 0) {
      uint64_t len;
      if (!GetVarint(data, size, &pos, &len) || len > size - pos) {
        return bad("literal " + std::to_string(index) + " runs past the table");
      }
      if (total + len > max_bytes) return bad("decoded strings exceed " + std::to_string(max_bytes) + " bytes");
      s.assign(reinterpret_cast<const char*>(data + pos), len);
      pos += len;
    } else {
      if (distance > index) return bad("edit " + std::to_string(index) + " names a base before the table");
      const std::string& base = (*out)[index - distance];
      uint64_t nhunks;
      if (!GetVarint(data, size, &pos, &nhunks) || nhunks > size - pos) {
        return bad("edit " + std::to_string(index) + " is cut short");
      }
      size_t at = 0;  // position in base
      for (uint64_t h = 0; h < nhunks; ++h) {
        uint64_t keep, drop, ins;
        if (!GetVarint(data, size, &pos, &keep) || !GetVarint(data, size, &pos, &drop) ||
            !GetVarint(data, size, &pos, &ins)) {
          return bad("edit " + std::to_string(index) + " is cut short");
        }
        if (keep > base.size() - at || drop > base.size() - at - keep) {
          return bad("edit " + std::to_string(index) + " runs past its base");
        }
        if (ins > size - pos) return bad("edit " + std::to_string(index) + " runs past the table");
        if (total + s.size() + keep + ins > max_bytes) {
          return bad("decoded strings exceed " + std::to_string(max_bytes) + " bytes");
        }
        s.append(base, at, keep);
        s.append(reinterpret_cast<const char*>(data + pos), ins);
        pos += ins;
        at += keep + drop;
      }
      if (total + s.size() + (base.size() - at) > max_bytes) {
        return bad("decoded strings exceed " + std::to_string(max_bytes) + " bytes");
      }
      s.append(base, at, std::string::npos);
    }
    total += s.size();
    out->push_back(std::move(s));
  }
  return Status::Ok();
}

}  // namespace tracetape::format
