#include "tracetape/replayer/tape.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <set>

#include "tape_generated.h"
#include "tracetape/format/columns.h"
#include "tracetape/format/layout.h"
#include "tracetape/format/record.h"

namespace tracetape::replayer {
namespace {

using format::kRecordHeaderSize;

template <typename T>
const T* VerifiedRoot(const std::string& raw, const char* what, Status* status) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(raw.data()), raw.size(), format::kMaxFlatBufferDepth,
                          format::kMaxFlatBufferTables);
  if (!v.VerifyBuffer<T>(nullptr)) {
    *status = Status::Corrupt(std::string(what) + " record fails FlatBuffers verification");
    return nullptr;
  }
  return flatbuffers::GetRoot<T>(raw.data());
}

std::string Str(const flatbuffers::String* s) { return s ? s->str() : std::string(); }

}  // namespace

const char* EventKindName(EventKind kind) {
  switch (kind) {
    case EventKind::kCall: return "call";
    case EventKind::kLine: return "line";
    case EventKind::kReturn: return "return";
    case EventKind::kException: return "exception";
  }
  return "?";
}

namespace {

// The format 2 columns of `c` (FORMAT.md, "Compact columns") into d's deltas
// and values; d's strings, kinds and start_state are already decoded.
Status DecodeCompactColumns(const fb::Chunk* c, DecodedChunk* d) {
  auto bad = [](const std::string& m) { return Status::Corrupt("chunk: " + m); };
  const size_t n = d->size();
  const size_t nstr = d->strings.size();
  // References count new strings from the first one the checkpoint does not use.
  uint64_t fresh = 0;
  for (const auto& [thread, frames] : d->start_state) {
    for (const auto& f : frames) {
      for (const auto& b : f.locals) fresh = std::max<uint64_t>(fresh, std::max(b.name, b.value) + uint64_t{1});
    }
  }
  // delta_value counts back from the newest string (2 is fresh - 1); the
  // other references are absolute (2 is string 0).
  auto resolve = [&](uint32_t code, bool is_value, uint32_t* id) {
    if (code == format::kRefUnbound) {
      *id = kUnbound;
      return is_value;
    }
    uint64_t v;
    if (code == format::kRefFresh) {
      v = fresh;
    } else if (is_value) {
      if (uint64_t{code} - 1 > fresh) return false;
      v = fresh - (uint64_t{code} - 1);
    } else {
      v = uint64_t{code} - format::kRefBias;
    }
    if (v >= nstr) return false;
    *id = static_cast<uint32_t>(v);
    if (v + 1 > fresh) fresh = v + 1;
    return true;
  };

  const auto* dg = c->delta_gap();
  const auto* dn = c->delta_name();
  const auto* dv = c->delta_value();
  const size_t nd = dn ? dn->size() : 0;
  if ((dv ? dv->size() : 0) != nd) return bad("delta columns have different lengths");
  const auto* vg = c->value_gap();
  const auto* vr = c->value_ref();
  const size_t nv = vr ? vr->size() : 0;
  const uint8_t* dgp = dg ? dg->data() : nullptr;
  const size_t dgn = dg ? dg->size() : 0;
  const uint8_t* vgp = vg ? vg->data() : nullptr;
  const size_t vgn = vg ? vg->size() : 0;
  size_t dpos = 0, vpos = 0;

  // Event of every delta and value, from the gaps.
  std::vector<uint32_t> delta_event(nd), value_event(nv);
  uint64_t ev = 0;
  for (size_t i = 0; i < nd; ++i) {
    uint64_t gap;
    if (!format::GetVarint(dgp, dgn, &dpos, &gap)) return bad("delta gaps are cut short");
    ev += gap;
    if (gap >= n || ev >= n) return bad("delta event index out of range");
    delta_event[i] = static_cast<uint32_t>(ev);
  }
  if (dpos != dgn) return bad("more delta gaps than deltas");
  ev = 0;
  for (size_t i = 0; i < nv; ++i) {
    uint64_t gap;
    if (!format::GetVarint(vgp, vgn, &vpos, &gap)) return bad("value gaps are cut short");
    if (i > 0 && gap == 0) return bad("two values for one event");
    ev += gap;
    if (gap >= n || ev >= n) return bad("value out of range");
    value_event[i] = static_cast<uint32_t>(ev);
  }
  if (vpos != vgn) return bad("more value gaps than values");

  // References, in the writer's order: per event, its deltas, then its value.
  d->delta_begin.assign(n + 1, 0);
  d->deltas.reserve(nd);
  d->value.assign(n, kNoValue);
  size_t di = 0, vi = 0;
  for (size_t i = 0; i < n; ++i) {
    for (; di < nd && delta_event[di] == i; ++di) {
      Binding b;
      if (!resolve(dn->Get(static_cast<flatbuffers::uoffset_t>(di)), false, &b.name) ||
          !resolve(dv->Get(static_cast<flatbuffers::uoffset_t>(di)), true, &b.value)) {
        return bad("delta binding out of range");
      }
      d->deltas.push_back(b);
      ++d->delta_begin[i + 1];
    }
    if (vi < nv && value_event[vi] == i) {
      auto k = static_cast<EventKind>(d->kind[i]);
      if (k != EventKind::kReturn && k != EventKind::kException) return bad("value on a call or line event");
      if (!resolve(vr->Get(static_cast<flatbuffers::uoffset_t>(vi)), false, &d->value[i])) {
        return bad("value out of range");
      }
      ++vi;
    }
  }
  for (size_t i = 0; i < n; ++i) d->delta_begin[i + 1] += d->delta_begin[i];
  return Status::Ok();
}

}  // namespace

StatusOr<DecodedChunk> DecodeChunk(const std::string& raw) {
  Status status;
  const fb::Chunk* c = VerifiedRoot<fb::Chunk>(raw, "chunk", &status);
  if (!c) return status;
  DecodedChunk d;
  d.seq = c->seq();
  d.first_event = c->first_event();
  d.dropped_before = c->dropped_before();
  auto bad = [](const std::string& m) { return Status::Corrupt("chunk: " + m); };
  // Format 2 chunks use the compact columns, format 1 chunks the plain ones;
  // a mix of both is no writer's.
  const bool compact = c->string_data() || c->delta_gap() || c->delta_name() || c->delta_value() || c->value_gap() ||
                       c->value_ref();
  if (compact && (c->strings() || c->delta_event() || c->delta_binding() || c->value_event() || c->value_string())) {
    return bad("has both the format 1 and the format 2 columns");
  }
  if (c->strings()) {
    d.strings.reserve(c->strings()->size());
    for (const auto* s : *c->strings()) d.strings.push_back(Str(s));
  }
  if (c->string_data()) {
    TRACETAPE_RETURN_IF_ERROR(format::UnpackStrings(c->string_data()->data(), c->string_data()->size(),
                                                    format::kMaxStringTableBytes, &d.strings));
  }
  const size_t nstr = d.strings.size();

  std::unordered_map<uint32_t, std::string> files;
  if (c->files()) {
    for (const auto* f : *c->files()) files[f->id()] = Str(f->path());
  }
  if (c->codes()) {
    for (const auto* code : *c->codes()) {
      auto fit = files.find(code->file());
      if (fit == files.end()) return bad("code " + std::to_string(code->id()) + " names an undefined file");
      CodeDef def{code->id(), fit->second, Str(code->name()), Str(code->qualname()), code->first_line(), {}};
      if (code->args()) {
        for (const auto* a : *code->args()) def.args.push_back(Str(a));
      }
      d.codes[code->id()] = std::move(def);
    }
  }
  if (c->threads()) {
    for (const auto* t : *c->threads()) d.threads[t->index()] = ThreadDef{t->index(), t->ident(), Str(t->name())};
  }
  if (c->detached()) {
    if (c->seq() == 0 && c->detached()->size() > 0) return bad("the first chunk detaches frames it never had");
    for (const auto* x : *c->detached()) {
      if (!d.threads.count(x->thread())) return bad("detached frames of an undefined thread");
      if (x->frames() == 0) return bad("detaches no frames");
      if (!d.detached.emplace(x->thread(), x->frames()).second) return bad("detaches frames of a thread twice");
    }
  }
  auto check_binding = [&](const fb::Binding* b) {
    return b->name() < nstr && (b->value() < nstr || b->value() == kUnbound);
  };
  if (c->start_state()) {
    for (const auto* ts : *c->start_state()) {
      if (!d.threads.count(ts->thread())) return bad("checkpoint names an undefined thread");
      if (d.start_state.count(ts->thread())) return bad("checkpoint lists a thread twice");
      auto& frames = d.start_state[ts->thread()];
      if (!ts->frames()) continue;
      for (const auto* f : *ts->frames()) {
        if (!d.codes.count(f->code())) return bad("checkpoint frame names an undefined code");
        FrameDef fd{f->code(), f->line(), {}};
        if (f->locals()) {
          for (const auto* b : *f->locals()) {
            if (!check_binding(b) || b->value() == kUnbound) return bad("checkpoint binding out of range");
            fd.locals.push_back(Binding{b->name(), b->value()});
          }
        }
        frames.push_back(std::move(fd));
      }
    }
  }

  const size_t n = c->kind() ? c->kind()->size() : 0;
  if ((c->thread() ? c->thread()->size() : 0) != n || (c->line() ? c->line()->size() : 0) != n) {
    return bad("event columns have different lengths");
  }
  if (c->kind()) d.kind.assign(c->kind()->data(), c->kind()->data() + n);
  d.thread.reserve(n);
  d.line.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    if (d.kind[i] > static_cast<uint8_t>(EventKind::kException)) return bad("unknown event kind");
    uint16_t t = c->thread()->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (!d.threads.count(t)) return bad("event names an undefined thread");
    d.thread.push_back(t);
    d.line.push_back(c->line()->Get(static_cast<flatbuffers::uoffset_t>(i)));
  }
  d.call_code.assign(n, 0);
  size_t calls = 0;
  const auto* cc = c->call_code();
  for (size_t i = 0; i < n; ++i) {
    if (d.kind[i] != static_cast<uint8_t>(EventKind::kCall)) continue;
    if (!cc || calls >= cc->size()) return bad("fewer call codes than call events");
    uint32_t code = cc->Get(static_cast<flatbuffers::uoffset_t>(calls++));
    if (!d.codes.count(code)) return bad("call event names an undefined code");
    d.call_code[i] = code;
  }
  if (cc && calls != cc->size()) return bad("more call codes than call events");

  if (compact) {
    TRACETAPE_RETURN_IF_ERROR(DecodeCompactColumns(c, &d));
    return d;
  }
  const auto* de = c->delta_event();
  const auto* db = c->delta_binding();
  size_t nd = de ? de->size() : 0;
  if ((db ? db->size() : 0) != nd) return bad("delta columns have different lengths");
  d.delta_begin.assign(n + 1, 0);
  d.deltas.reserve(nd);
  uint32_t prev = 0;
  for (size_t i = 0; i < nd; ++i) {
    uint32_t ev = de->Get(static_cast<flatbuffers::uoffset_t>(i));
    const fb::Binding* b = db->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (ev >= n || ev < prev) return bad("delta event index out of order or range");
    if (!check_binding(b)) return bad("delta binding out of range");
    prev = ev;
    d.deltas.push_back(Binding{b->name(), b->value()});
    ++d.delta_begin[ev + 1];
  }
  for (size_t i = 0; i < n; ++i) d.delta_begin[i + 1] += d.delta_begin[i];

  d.value.assign(n, kNoValue);
  const auto* ve = c->value_event();
  const auto* vs = c->value_string();
  size_t nv = ve ? ve->size() : 0;
  if ((vs ? vs->size() : 0) != nv) return bad("value columns have different lengths");
  for (size_t i = 0; i < nv; ++i) {
    uint32_t ev = ve->Get(static_cast<flatbuffers::uoffset_t>(i));
    uint32_t s = vs->Get(static_cast<flatbuffers::uoffset_t>(i));
    if (ev >= n || s >= nstr) return bad("value out of range");
    auto k = static_cast<EventKind>(d.kind[ev]);
    if (k != EventKind::kReturn && k != EventKind::kException) return bad("value on a call or line event");
    if (d.value[ev] != kNoValue) return bad("two values for one event");
    d.value[ev] = s;
  }
  return d;
}

StatusOr<std::unique_ptr<Tape>> Tape::Open(const std::string& path) {
  auto file = format::RandomAccessFile::Open(path);
  if (!file.ok()) return file.status();
  std::unique_ptr<Tape> tape(new Tape(std::move(file).value()));
  const auto& f = *tape->file_;

  std::string pre;
  TRACETAPE_RETURN_IF_ERROR(f.Read(0, format::kPreambleSize, &pre));
  TRACETAPE_RETURN_IF_ERROR(
      format::CheckPreamble(pre, &tape->header_.format_major, &tape->header_.format_minor).WithContext(path));

  uint8_t type;
  std::string raw;
  uint64_t next;
  Status s = tape->ReadRecord(format::kPreambleSize, &type, &raw, &next);
  if (!s.ok()) return s.WithContext(path + ": header");
  if (type != static_cast<uint8_t>(format::RecordType::kHeader)) {
    return Status::Corrupt(path + ": the first record is not a header");
  }
  const fb::Header* h = VerifiedRoot<fb::Header>(raw, "header", &s);
  if (!h) return s.WithContext(path);
  auto& hd = tape->header_;
  hd.writer_version = Str(h->writer_version());
  hd.python_version = Str(h->python_version());
  hd.python_implementation = Str(h->python_implementation());
  hd.platform = Str(h->platform());
  hd.executable = Str(h->executable());
  if (h->argv()) {
    for (const auto* a : *h->argv()) hd.argv.push_back(Str(a));
  }
  hd.cwd = Str(h->cwd());
  hd.start_time_ns = h->start_time_ns();
  hd.pid = h->pid();
  if (h->options()) {
    for (const auto* o : *h->options()) hd.options.emplace_back(Str(o->key()), Str(o->value()));
  }
  hd.hook_backend = Str(h->hook_backend());
  tape->first_record_offset_ = next;

  // A clean tape ends with a trailer pointing at the footer; anything else is
  // read by scanning records from the front.
  Status footer = tape->ReadFooter();
  if (!footer.ok()) {
    tape->chunks_.clear();
    tape->sources_.clear();
    tape->footer_.reset();
    tape->Scan(next);
    // A trailer that is there but leads nowhere sound is worth naming.
    if (footer.code() != Status::Code::kNotFound && tape->tail_status_.code() == Status::Code::kTruncated) {
      tape->tail_status_ = footer.WithContext("the footer is unreadable");
    }
  }
  return tape;
}

Status Tape::ReadRecord(uint64_t offset, uint8_t* type, std::string* raw, uint64_t* next) const {
  std::string hb;
  TRACETAPE_RETURN_IF_ERROR(file_->Read(offset, kRecordHeaderSize, &hb));
  if (hb.size() < kRecordHeaderSize) {
    return Status::Truncated("file ends inside a record header at offset " + std::to_string(offset));
  }
  const auto* hp = reinterpret_cast<const unsigned char*>(hb.data());
  format::RecordHeader h = format::DecodeRecordHeader(hp);
  Status s = format::ValidateRecordHeader(h);
  if (!s.ok()) return s.WithContext("record at offset " + std::to_string(offset));
  uint64_t end = offset + kRecordHeaderSize + h.payload_len;
  if (end > file_->size()) {
    return Status::Truncated("file ends inside the record at offset " + std::to_string(offset));
  }
  std::string payload;
  TRACETAPE_RETURN_IF_ERROR(file_->Read(offset + kRecordHeaderSize, h.payload_len, &payload));
  auto decoded = format::DecodeRecordPayload(hp, payload);
  if (!decoded.ok()) return decoded.status().WithContext("record at offset " + std::to_string(offset));
  *type = static_cast<uint8_t>(h.type);
  *raw = std::move(decoded).value();
  *next = end;
  return Status::Ok();
}

Status Tape::AddSource(const std::string& raw) {
  Status s;
  const fb::Source* src = VerifiedRoot<fb::Source>(raw, "source", &s);
  if (!src) return s;
  SourceFile sf;
  sf.path = Str(src->path());
  if (src->text()) sf.text.assign(reinterpret_cast<const char*>(src->text()->data()), src->text()->size());
  sf.omitted_reason = Str(src->omitted_reason());
  sources_[sf.path] = std::move(sf);
  return Status::Ok();
}

Status Tape::ReadFooter() {
  if (file_->size() < first_record_offset_ + format::kTrailerSize) return Status::NotFound("no trailer");
  std::string tb;
  TRACETAPE_RETURN_IF_ERROR(file_->Read(file_->size() - format::kTrailerSize, format::kTrailerSize, &tb));
  uint64_t footer_offset;
  if (!format::DecodeTrailer(tb, &footer_offset)) return Status::NotFound("no trailer");
  if (footer_offset < first_record_offset_ || footer_offset >= file_->size()) {
    return Status::Corrupt("trailer points outside the file");
  }
  uint8_t type;
  std::string raw;
  uint64_t next;
  TRACETAPE_RETURN_IF_ERROR(ReadRecord(footer_offset, &type, &raw, &next));
  if (type != static_cast<uint8_t>(format::RecordType::kFooter) || next != file_->size() - format::kTrailerSize) {
    return Status::Corrupt("trailer does not point at the footer");
  }
  Status s;
  const fb::Footer* ft = VerifiedRoot<fb::Footer>(raw, "footer", &s);
  if (!ft) return s;
  auto info = std::make_unique<FooterInfo>();
  info->event_count = ft->event_count();
  info->dropped_events = ft->dropped_events();
  info->end_time_ns = ft->end_time_ns();
  info->exit_status = ft->exit_status();
  info->error = Str(ft->error());
  if (ft->threads()) {
    for (const auto* t : *ft->threads()) info->threads.push_back(ThreadDef{t->index(), t->ident(), Str(t->name())});
  }
  uint64_t expect_event = 0;
  uint64_t min_offset = first_record_offset_;
  if (ft->chunks()) {
    for (const auto* e : *ft->chunks()) {
      if (e->offset() < min_offset || e->offset() >= footer_offset || e->first_event() != expect_event) {
        return Status::Corrupt("footer chunk index is inconsistent");
      }
      chunks_.push_back(ChunkRef{e->offset(), e->first_event(), e->event_count()});
      expect_event += e->event_count();
      min_offset = e->offset() + kRecordHeaderSize;
    }
  }
  if (expect_event != info->event_count) return Status::Corrupt("footer event count disagrees with its index");
  if (ft->summaries()) {
    if (ft->summaries()->size() != chunks_.size()) return Status::Corrupt("footer summaries disagree with its index");
    for (size_t i = 0; i < chunks_.size(); ++i) {
      const auto* sm = ft->summaries()->Get(static_cast<flatbuffers::uoffset_t>(i));
      ChunkRef& ref = chunks_[i];
      if (sm->line_keys()) ref.line_keys.assign(sm->line_keys()->begin(), sm->line_keys()->end());
      if (sm->call_codes()) ref.call_codes.assign(sm->call_codes()->begin(), sm->call_codes()->end());
      if (!std::is_sorted(ref.line_keys.begin(), ref.line_keys.end()) ||
          !std::is_sorted(ref.call_codes.begin(), ref.call_codes.end())) {
        return Status::Corrupt("footer summary is not sorted");
      }
      ref.has_summary = true;
    }
  }
  if (ft->codes() && ft->files()) {
    std::unordered_map<uint32_t, std::string> files;
    for (const auto* f : *ft->files()) files[f->id()] = Str(f->path());
    for (const auto* code : *ft->codes()) {
      auto fit = files.find(code->file());
      if (fit == files.end()) return Status::Corrupt("footer code names an undefined file");
      CodeDef def{code->id(), fit->second, Str(code->name()), Str(code->qualname()), code->first_line(), {}};
      if (code->args()) {
        for (const auto* a : *code->args()) def.args.push_back(Str(a));
      }
      info->codes[code->id()] = std::move(def);
    }
  }
  if (ft->sources()) {
    for (uint64_t off : *ft->sources()) {
      if (off < first_record_offset_ || off >= footer_offset) {
        return Status::Corrupt("footer source offset " + std::to_string(off) + " out of range [" +
                               std::to_string(first_record_offset_) + ", " + std::to_string(footer_offset) + ")");
      }
      // `raw` holds the footer that `ft` points into: read sources elsewhere.
      std::string source_raw;
      uint64_t source_next;
      TRACETAPE_RETURN_IF_ERROR(ReadRecord(off, &type, &source_raw, &source_next));
      if (type != static_cast<uint8_t>(format::RecordType::kSource)) return Status::Corrupt("source index is wrong");
      TRACETAPE_RETURN_IF_ERROR(AddSource(source_raw));
    }
  }
  footer_ = std::move(info);
  return Status::Ok();
}

void Tape::Scan(uint64_t offset) {
  uint64_t expect_event = 0;
  uint64_t expect_seq = 0;
  while (offset < file_->size()) {
    uint8_t type;
    std::string raw;
    uint64_t next;
    Status s = ReadRecord(offset, &type, &raw, &next);
    if (!s.ok()) {
      tail_status_ = s;
      return;
    }
    if (type == static_cast<uint8_t>(format::RecordType::kChunk)) {
      auto chunk = DecodeChunk(raw);
      if (!chunk.ok()) {
        tail_status_ = chunk.status().WithContext("record at offset " + std::to_string(offset));
        return;
      }
      if (chunk->seq != expect_seq || chunk->first_event != expect_event) {
        tail_status_ = Status::Corrupt("chunk at offset " + std::to_string(offset) + " is out of sequence");
        return;
      }
      chunks_.push_back(ChunkRef{offset, chunk->first_event, static_cast<uint32_t>(chunk->size())});
      expect_event += chunk->size();
      ++expect_seq;
    } else if (type == static_cast<uint8_t>(format::RecordType::kSource)) {
      Status add = AddSource(raw);
      if (!add.ok()) {
        tail_status_ = add.WithContext("record at offset " + std::to_string(offset));
        return;
      }
    } else if (type == static_cast<uint8_t>(format::RecordType::kFooter)) {
      // A footer whose trailer is missing: every chunk is here, but the file
      // was cut or damaged after it.
      tail_status_ = Status::Truncated("the tape's trailer is missing or damaged after the footer");
      return;
    } else {
      tail_status_ = Status::Corrupt("unexpected header record at offset " + std::to_string(offset));
      return;
    }
    offset = next;
  }
  tail_status_ = Status::Truncated("the recording did not end cleanly (no footer)");
}

uint64_t Tape::event_count() const {
  if (chunks_.empty()) return 0;
  return chunks_.back().first_event + chunks_.back().event_count;
}

size_t Tape::ChunkFor(uint64_t event) const {
  auto it = std::upper_bound(chunks_.begin(), chunks_.end(), event,
                             [](uint64_t e, const ChunkRef& c) { return e < c.first_event; });
  if (it == chunks_.begin()) return chunks_.size();
  size_t i = static_cast<size_t>(it - chunks_.begin()) - 1;
  if (event >= chunks_[i].first_event + chunks_[i].event_count) return chunks_.size();
  return i;
}

StatusOr<DecodedChunk> Tape::ReadChunk(size_t index) const {
  if (index >= chunks_.size()) return Status::InvalidArgument("chunk index out of range");
  const ChunkRef& ref = chunks_[index];
  uint8_t type;
  std::string raw;
  uint64_t next;
  Status s = ReadRecord(ref.offset, &type, &raw, &next);
  if (!s.ok()) return s;
  if (type != static_cast<uint8_t>(format::RecordType::kChunk)) {
    return Status::Corrupt("index entry " + std::to_string(index) + " does not point at a chunk");
  }
  auto chunk = DecodeChunk(raw);
  if (!chunk.ok()) return chunk.status().WithContext("chunk " + std::to_string(index));
  if (chunk->seq != index || chunk->first_event != ref.first_event || chunk->size() != ref.event_count) {
    return Status::Corrupt("chunk " + std::to_string(index) + " disagrees with the index");
  }
  return chunk;
}

}  // namespace tracetape::replayer
