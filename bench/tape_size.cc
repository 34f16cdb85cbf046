// Where the bytes of a tape go. Splits the file into its records (header,
// chunks, sources, footer, framing) and each chunk into its parts (event
// columns, locals deltas, values, the string table by use, the checkpoint,
// the definitions), compresses every part of every chunk on its own with zstd
// at the writer's level, and prints bytes per event for each.
//
// The per-part figures add up to more than the chunks really take (zstd also
// finds repeats across parts); they show which part costs what, and the line
// "chunks (real)" gives what the chunks take on disk.
//
// usage (one command, after building with -DTRACETAPE_BUILD_BENCH=ON):
//   build/bench/bench/tape_size TAPE [--level N] [--json] [--whatif]
#include <zstd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "tape_generated.h"
#include "tracetape/format/columns.h"
#include "tracetape/format/layout.h"
#include "tracetape/format/record.h"

namespace fb = tracetape::fb;
namespace format = tracetape::format;

namespace {

struct Part {
  uint64_t raw = 0;
  uint64_t packed = 0;
};

std::map<std::string, Part> g_parts;
int g_level = 3;

size_t Compress(const std::string& s) {
  if (s.empty()) return 0;
  std::string out(ZSTD_compressBound(s.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), s.data(), s.size(), g_level);
  if (ZSTD_isError(n)) {
    std::fprintf(stderr, "tape_size: zstd: %s\n", ZSTD_getErrorName(n));
    std::exit(1);
  }
  return n;
}

void Add(const std::string& name, const std::string& blob) {
  Part& p = g_parts[name];
  p.raw += blob.size();
  p.packed += Compress(blob);
}

template <typename T>
void Put(std::string* s, T v) {
  s->append(reinterpret_cast<const char*>(&v), sizeof(v));
}

void PutStr(std::string* s, const flatbuffers::String* str) {
  uint32_t n = str ? str->size() : 0;
  Put(s, n);
  if (str) s->append(str->c_str(), n);
}

template <typename V>
std::string VecBytes(const V* v) {
  if (!v) return std::string();
  return std::string(reinterpret_cast<const char*>(v->Data()), v->size() * sizeof(*v->data()));
}


bool g_whatif = false;

void PutVarint(std::string* s, uint64_t v) {
  while (v >= 0x80) {
    s->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  s->push_back(static_cast<char>(v));
}

uint32_t ZigZag(int64_t v) { return static_cast<uint32_t>((v << 1) ^ (v >> 63)); }

// Alternative encodings of the same chunk, to compare before implementing.
void WhatIf(const fb::Chunk* c) {
  const size_t n = c->kind() ? c->kind()->size() : 0;
  // Event indexes of deltas and values: gaps, varint gaps, per-event counts.
  for (const char* col : {"delta_event", "value_event"}) {
    const auto* v = std::strcmp(col, "delta_event") == 0 ? c->delta_event() : c->value_event();
    std::string gaps, vgaps, counts, flags;
    std::vector<uint32_t> per(n, 0);
    uint32_t prev = 0;
    if (v) {
      for (uint32_t e : *v) {
        Put(&gaps, e - prev);
        PutVarint(&vgaps, e - prev);
        prev = e;
        if (e < n) ++per[e];
      }
    }
    for (size_t i = 0; i < n; ++i) counts.push_back(static_cast<char>(per[i] > 255 ? 255 : per[i]));
    Add(std::string("whatif ") + col + " gaps u32", gaps);
    Add(std::string("whatif ") + col + " gaps varint", vgaps);
    Add(std::string("whatif ") + col + " count u8 per event", counts);
  }
  // Binding values relative to the highest string id seen so far.
  std::string names, rel, vrel;
  int64_t hi = 0;
  auto code = [&](uint32_t r) -> uint32_t {
    if (r == 0xffffffffu) return 0xffffffffu;
    uint32_t z = ZigZag(static_cast<int64_t>(r) - hi);
    if (r + 1 > hi) hi = r + 1;
    return z;
  };
  size_t d = 0, nv = 0;
  const auto* de = c->delta_event();
  const auto* db = c->delta_binding();
  const auto* ve = c->value_event();
  const auto* vs = c->value_string();
  for (size_t i = 0; i < n; ++i) {
    while (de && db && d < de->size() && de->Get(d) == i) {
      const auto* b = db->Get(d++);
      Put(&names, b->name());
      if (b->name() + 1 > hi) hi = b->name() + 1;
      Put(&rel, code(b->value()));
    }
    if (ve && vs && nv < ve->size() && ve->Get(nv) == i) Put(&vrel, code(vs->Get(nv++)));
  }
  Add("whatif delta names u32", names);
  Add("whatif delta values rel u32", rel);
  Add("whatif value_string rel u32", vrel);

  // Delta value strings as edits of the previous value of the same name.
  const size_t nstr = c->strings() ? c->strings()->size() : 0;
  std::vector<int64_t> base(nstr, -1);
  std::vector<bool> seen(nstr, false);
  std::map<uint32_t, uint32_t> last;  // name -> value id
  if (c->start_state()) {
    for (const auto* ts : *c->start_state()) {
      if (!ts->frames()) continue;
      for (const auto* f : *ts->frames()) {
        if (!f->locals()) continue;
        for (const auto* b : *f->locals()) last[b->name()] = b->value();
      }
    }
  }
  if (db) {
    for (const auto* b : *db) {
      uint32_t v = b->value();
      if (v < nstr && !seen[v]) {
        seen[v] = true;
        auto it = last.find(b->name());
        if (it != last.end() && it->second < v) base[v] = it->second;
      }
      if (v != 0xffffffffu) last[b->name()] = v;
    }
  }
  std::string plain, edits;
  for (size_t i = 0; i < nstr; ++i) {
    const auto* s = c->strings()->Get(static_cast<flatbuffers::uoffset_t>(i));
    std::string_view cur(s->c_str(), s->size());
    if (base[i] < 0) {
      PutVarint(&edits, 0);
      PutVarint(&edits, cur.size());
      edits.append(cur);
      continue;
    }
    const auto* bs = c->strings()->Get(static_cast<flatbuffers::uoffset_t>(base[i]));
    std::string_view b(bs->c_str(), bs->size());
    size_t pre = 0;
    while (pre < b.size() && pre < cur.size() && b[pre] == cur[pre]) ++pre;
    size_t suf = 0;
    while (suf < b.size() - pre && suf < cur.size() - pre && b[b.size() - 1 - suf] == cur[cur.size() - 1 - suf]) ++suf;
    PutVarint(&edits, i - base[i]);
    PutVarint(&edits, pre);
    PutVarint(&edits, suf);
    PutVarint(&edits, cur.size() - pre - suf);
    edits.append(cur.substr(pre, cur.size() - pre - suf));
  }
  Add("whatif strings as edits (all)", edits);

  // Lines relative to the previous line of the same frame (a call: to 0).
  std::string lrel, lglob;
  std::map<uint32_t, std::vector<int32_t>> stacks;
  int32_t prevl = 0;
  const auto* th = c->thread();
  const auto* ln = c->line();
  for (size_t i = 0; i < n && th && ln; ++i) {
    auto& st = stacks[th->Get(i)];
    uint8_t k = c->kind()->Get(i);
    int32_t l = ln->Get(i);
    if (k == 0 || st.empty()) st.push_back(0);
    Put(&lrel, ZigZag(static_cast<int64_t>(l) - st.back()));
    st.back() = l;
    if (k == 2) st.pop_back();
    Put(&lglob, ZigZag(static_cast<int64_t>(l) - prevl));
    prevl = l;
  }
  Add("whatif line rel frame u32", lrel);
  Add("whatif line rel previous u32", lglob);
}

void SplitChunk(const std::string& raw) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), format::kMaxFlatBufferDepth,
                          format::kMaxFlatBufferTables);
  if (!v.VerifyBuffer<fb::Chunk>(nullptr)) {
    std::fprintf(stderr, "tape_size: a chunk fails verification\n");
    std::exit(1);
  }
  const fb::Chunk* c = flatbuffers::GetRoot<fb::Chunk>(raw.data());
  const size_t nstr = c->strings() ? c->strings()->size() : 0;
  // Each string goes to the first of these uses it has.
  enum Use : uint8_t { kNone, kName, kDeltaValue, kValue, kCheckpoint };
  std::vector<uint8_t> use(nstr, kNone);
  auto mark = [&](uint32_t id, Use u) {
    if (id < nstr && (use[id] == kNone || u < use[id])) use[id] = u;
  };
  std::string state;
  if (c->start_state()) {
    for (const auto* ts : *c->start_state()) {
      Put(&state, ts->thread());
      if (!ts->frames()) continue;
      for (const auto* f : *ts->frames()) {
        Put(&state, f->code());
        Put(&state, f->line());
        if (!f->locals()) continue;
        for (const auto* b : *f->locals()) {
          Put(&state, b->name());
          Put(&state, b->value());
          mark(b->name(), kName);
          mark(b->value(), kCheckpoint);
        }
      }
    }
  }
  if (c->delta_binding()) {
    for (const auto* b : *c->delta_binding()) {
      mark(b->name(), kName);
      mark(b->value(), kDeltaValue);
    }
  }
  if (c->value_string()) {
    for (uint32_t s : *c->value_string()) mark(s, kValue);
  }
  std::string groups[5];
  for (size_t i = 0; i < nstr; ++i) PutStr(&groups[use[i]], c->strings()->Get(static_cast<flatbuffers::uoffset_t>(i)));
  Add("strings: names", groups[kName]);
  Add("strings: delta values", groups[kDeltaValue]);
  Add("strings: return/exception values", groups[kValue]);
  Add("strings: checkpoint only", groups[kCheckpoint]);
  Add("strings: unused", groups[kNone]);
  Add("start_state (structure)", state);

  std::string defs;
  if (c->files()) {
    for (const auto* f : *c->files()) {
      Put(&defs, f->id());
      PutStr(&defs, f->path());
    }
  }
  if (c->codes()) {
    for (const auto* code : *c->codes()) {
      Put(&defs, code->id());
      Put(&defs, code->file());
      PutStr(&defs, code->name());
      PutStr(&defs, code->qualname());
      Put(&defs, code->first_line());
      if (code->args()) {
        for (const auto* a : *code->args()) PutStr(&defs, a);
      }
    }
  }
  if (c->threads()) {
    for (const auto* t : *c->threads()) {
      Put(&defs, t->index());
      Put(&defs, t->ident());
      PutStr(&defs, t->name());
    }
  }
  Add("codes/files/threads", defs);

  Add("kind", VecBytes(c->kind()));
  Add("thread", VecBytes(c->thread()));
  Add("line", VecBytes(c->line()));
  Add("call_code", VecBytes(c->call_code()));
  Add("delta_event", VecBytes(c->delta_event()));
  Add("delta_binding", VecBytes(c->delta_binding()));
  Add("value_event", VecBytes(c->value_event()));
  Add("value_string", VecBytes(c->value_string()));
  // Format 2 columns.
  Add("delta_gap", VecBytes(c->delta_gap()));
  Add("delta_name", VecBytes(c->delta_name()));
  Add("delta_value", VecBytes(c->delta_value()));
  Add("value_gap", VecBytes(c->value_gap()));
  Add("value_ref", VecBytes(c->value_ref()));
  if (c->string_data()) {
    // Entries before the first one no checkpoint binding uses are the checkpoint's.
    uint64_t nck = 0;
    if (c->start_state()) {
      for (const auto* ts : *c->start_state()) {
        if (!ts->frames()) continue;
        for (const auto* f : *ts->frames()) {
          if (!f->locals()) continue;
          for (const auto* b : *f->locals()) nck = std::max<uint64_t>(nck, std::max(b->name(), b->value()) + uint64_t{1});
        }
      }
    }
    const uint8_t* p = c->string_data()->data();
    const size_t size = c->string_data()->size();
    size_t pos = 0, split = size;
    for (uint64_t k = 0; k < nck && pos < size; ++k) {
      uint64_t dist, n;
      if (!format::GetVarint(p, size, &pos, &dist)) break;
      if (dist == 0) {
        if (!format::GetVarint(p, size, &pos, &n)) break;
        pos += n;
      } else {
        uint64_t hunks, keep, drop, ins;
        if (!format::GetVarint(p, size, &pos, &hunks)) break;
        for (uint64_t h = 0; h < hunks; ++h) {
          format::GetVarint(p, size, &pos, &keep);
          format::GetVarint(p, size, &pos, &drop);
          format::GetVarint(p, size, &pos, &ins);
          pos += ins;
        }
      }
    }
    split = std::min(pos, size);
    std::string all = VecBytes(c->string_data());
    Add("string_data: checkpoint", all.substr(0, split));
    Add("string_data: events", all.substr(split));
  }
  if (g_whatif) WhatIf(c);
}

std::string ReadAll(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "tape_size: cannot read %s\n", path);
    std::exit(1);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: tape_size TAPE [--level N] [--json] [--whatif]\n");
    return 2;
  }
  bool json = false;
  for (int i = 2; i < argc; ++i) {
    if (std::strcmp(argv[i], "--level") == 0 && i + 1 < argc) {
      g_level = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--whatif") == 0) {
      g_whatif = true;
    } else if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    }
  }
  const std::string file = ReadAll(argv[1]);
  uint16_t major = 0, minor = 0;
  if (file.size() < format::kPreambleSize || !format::CheckPreamble(file.substr(0, format::kPreambleSize), &major, &minor).ok()) {
    std::fprintf(stderr, "tape_size: %s is not a tape\n", argv[1]);
    return 1;
  }
  std::map<std::string, uint64_t> records;  // on-disk payload bytes by record type
  uint64_t framing = format::kPreambleSize;
  uint64_t events = 0, chunks = 0, chunk_raw = 0, chunk_recompressed = 0;
  size_t off = format::kPreambleSize;
  while (off + format::kRecordHeaderSize <= file.size()) {
    const auto* hp = reinterpret_cast<const unsigned char*>(file.data() + off);
    format::RecordHeader h = format::DecodeRecordHeader(hp);
    if (!format::ValidateRecordHeader(h).ok() || off + format::kRecordHeaderSize + h.payload_len > file.size()) break;
    auto raw = format::DecodeRecordPayload(hp, std::string_view(file).substr(off + format::kRecordHeaderSize, h.payload_len));
    if (!raw.ok()) break;
    framing += format::kRecordHeaderSize;
    const char* names[] = {"?", "header", "chunks (real)", "sources", "footer"};
    records[names[static_cast<int>(h.type) <= 4 ? static_cast<int>(h.type) : 0]] += h.payload_len;
    if (h.type == format::RecordType::kChunk) {
      const fb::Chunk* c = flatbuffers::GetRoot<fb::Chunk>(raw->data());
      events += c->kind() ? c->kind()->size() : 0;
      ++chunks;
      chunk_raw += raw->size();
      chunk_recompressed += Compress(*raw);
      SplitChunk(*raw);
    }
    off += format::kRecordHeaderSize + h.payload_len;
  }
  framing += file.size() - off;  // the trailer (or an unreadable tail)
  records["framing"] = framing;
  const double ev = events ? static_cast<double>(events) : 1.0;
  if (json) {
    std::printf("{\"tape\": \"%s\", \"bytes\": %zu, \"events\": %llu, \"chunks\": %llu, \"bytes_per_event\": %.4f",
                argv[1], file.size(), static_cast<unsigned long long>(events), static_cast<unsigned long long>(chunks),
                file.size() / ev);
    for (const auto& [k, b] : records) std::printf(", \"%s\": %.4f", k.c_str(), b / ev);
    for (const auto& [k, p] : g_parts) std::printf(", \"part %s\": %.4f", k.c_str(), p.packed / ev);
    std::printf("}\n");
    return 0;
  }
  std::printf("%s: %zu bytes, %llu events in %llu chunks (format %u.%u): %.3f bytes/event\n", argv[1], file.size(),
              static_cast<unsigned long long>(events), static_cast<unsigned long long>(chunks), major, minor,
              file.size() / ev);
  std::printf("\n  %-36s %12s %10s\n", "record", "bytes", "B/event");
  for (const auto& [k, b] : records) {
    std::printf("  %-36s %12llu %10.3f\n", k.c_str(), static_cast<unsigned long long>(b), b / ev);
  }
  std::printf("  (chunks decoded: %llu bytes, %.2f B/event; recompressed at level %d: %.3f B/event)\n",
              static_cast<unsigned long long>(chunk_raw), chunk_raw / ev, g_level, chunk_recompressed / ev);
  uint64_t sum = 0;
  for (const auto& [k, p] : g_parts) {
    if (k.rfind("whatif", 0) != 0) sum += p.packed;
  }
  std::printf("\n  %-36s %12s %10s %10s %6s\n", "chunk part (compressed alone)", "raw", "zstd", "B/event", "share");
  for (const auto& [k, p] : g_parts) {
    std::printf("  %-36s %12llu %10llu %10.3f %5.1f%%\n", k.c_str(), static_cast<unsigned long long>(p.raw),
                static_cast<unsigned long long>(p.packed), p.packed / ev, sum ? 100.0 * p.packed / sum : 0.0);
  }
  std::printf("  %-36s %12s %10llu %10.3f\n", "sum of parts", "", static_cast<unsigned long long>(sum), sum / ev);
  return 0;
}
