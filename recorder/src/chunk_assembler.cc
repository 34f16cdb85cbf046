#include "tracetape/recorder/chunk_assembler.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <string_view>

#include "tape_generated.h"
#include "tracetape/format/columns.h"
#include "tracetape/recorder/raw_records.h"

namespace tracetape::recorder {

namespace {

constexpr size_t kIntTextSize = 24;

// The text of an int the hook gave as a word: the renderer's, to_chars.
std::string_view IntText(int64_t value, char (&buf)[kIntTextSize]) {
  auto res = std::to_chars(buf, buf + sizeof(buf), value);
  return std::string_view(buf, static_cast<size_t>(res.ptr - buf));
}

// A delta's value (raw_records.h): its bytes, or the text of its word
// (written to `word`), or nothing with *unbound set.
std::string_view DeltaValue(RawReader* r, char (&word)[kIntTextSize], bool* unbound) {
  uint32_t len = r->U32();
  *unbound = len == kUnboundLength;
  if (*unbound) return {};
  if (len == kIntLength) return IntText(static_cast<int64_t>(r->U64()), word);
  return r->Bytes(len);
}

constexpr uint32_t kUnboundString = 0xffffffffu;

}  // namespace

ChunkAssembler::ChunkAssembler(Limits limits) : limits_(limits) { BeginChunk(); }

namespace {
// What a chunk may hold before it is full, when its checkpoint alone holds
// `checkpoint` of it. A checkpoint past the limit (the locals of a stack
// thousands of frames deep) would make every chunk full at its first event,
// each one repeating that checkpoint: a recording quadratic in the depth
// (gigabytes, and a writer that cannot keep up). Such a chunk holds at
// least as much again of its own, so that checkpoints are at most about
// half of the tape; up to kCheckpointCap, past which it holds `limit` more,
// so as to stay under what one record may hold (format::kMaxRawBytes) and
// what the reader decodes of one string table (kMaxStringTableBytes).
size_t ChunkCapacity(size_t limit, size_t checkpoint) {
  constexpr size_t kCheckpointCap = size_t{48} << 20;
  return std::max(limit, std::min(2 * checkpoint, std::max(kCheckpointCap, checkpoint + limit)));
}
}  // namespace


void ChunkAssembler::BeginChunk() {
  start_state_ = stacks_;
  codes_used_.clear();
  line_keys_.clear();
  call_codes_set_.clear();
  threads_used_.clear();
  kinds_.clear();
  event_threads_.clear();
  lines_.clear();
  call_codes_.clear();
  delta_events_.clear();
  delta_bindings_.clear();
  value_events_.clear();
  value_strings_.clear();
  for (const auto& [thread, frames] : start_state_) {
    if (frames.empty()) continue;
    threads_used_.insert(thread);
    for (const auto& f : frames) codes_used_.insert(f.code);
  }
  InternCheckpoint();
}

void ChunkAssembler::InternCheckpoint() {
  // The checkpoint's strings come first: a value changed in this chunk can
  // then be stored as an edit of its value at the checkpoint.
  strings_.clear();
  ++strings_gen_;  // int_strings_ are ids in the table just cleared
  string_hashes_.clear();
  // Keeps the size the busiest chunk needed (bounded by the chunk limits).
  if (string_slots_.empty()) string_slots_.resize(1024);
  std::fill(string_slots_.begin(), string_slots_.end(), kNoBase);
  name_string_ids_.clear();
  std::fill(name_sids_.begin(), name_sids_.end(), kNoBase);
  string_data_.clear();
  approx_bytes_ = 0;
  string_bytes_ = 0;
  // The mirror is the checkpoint here (start_state_ was just copied from
  // it): its locals learn their ids in this chunk.
  for (auto& [thread, frames] : stacks_) {
    for (auto& f : frames) {
      for (auto& local : f.locals) {
        InternName(local.name);
        local.sid = Intern(local.value, kNoBase);
        local.sid_chunk = seq_;
      }
    }
  }
  checkpoint_strings_ = static_cast<uint32_t>(strings_.size());
  bytes_capacity_ = ChunkCapacity(limits_.max_bytes, approx_bytes_);
  string_capacity_ = ChunkCapacity(limits_.max_string_bytes, string_bytes_);
}

namespace {
// XXH3: the texts are often long (an instance's, rendered whole at each
// change), and std::hash's takes about two instructions per byte.
uint64_t HashString(std::string_view s) { return XXH3_64bits(s.data(), s.size()); }
}  // namespace

uint32_t ChunkAssembler::FindString(std::string_view s, uint64_t hash) const {
  size_t mask = string_slots_.size() - 1;
  for (size_t i = (hash ^ (hash >> 29)) & mask;; i = (i + 1) & mask) {
    uint32_t id = string_slots_[i];
    if (id == kNoBase) return kNoBase;
    if (string_hashes_[id] == hash && strings_[id] == s) return id;
  }
}

void ChunkAssembler::IndexString(uint32_t id, uint64_t hash) {
  if ((strings_.size() + 1) * 2 > string_slots_.size()) {
    // Grow at half full, re-placing every id from its stored hash.
    string_slots_.assign(string_slots_.size() * 2, kNoBase);
    size_t mask = string_slots_.size() - 1;
    for (uint32_t j = 0; j < id; ++j) {
      size_t i = (string_hashes_[j] ^ (string_hashes_[j] >> 29)) & mask;
      while (string_slots_[i] != kNoBase) i = (i + 1) & mask;
      string_slots_[i] = j;
    }
  }
  size_t mask = string_slots_.size() - 1;
  size_t i = (hash ^ (hash >> 29)) & mask;
  while (string_slots_[i] != kNoBase) i = (i + 1) & mask;
  string_slots_[i] = id;
}

uint32_t ChunkAssembler::Intern(std::string_view s, uint32_t base) {
  uint64_t hash = HashString(s);
  uint32_t found = FindString(s, hash);
  if (found != kNoBase) return found;
  uint32_t id = static_cast<uint32_t>(strings_.size());
  strings_.emplace_back(s);
  string_hashes_.push_back(hash);
  IndexString(id, hash);
  size_t before = string_data_.size();
  if (base < id) {
    format::PackString(s, strings_[base], id - base, &string_data_);
  } else {
    format::PackString(s, std::string_view(), 0, &string_data_);
  }
  approx_bytes_ += string_data_.size() - before + 4;
  string_bytes_ += s.size() + 8;
  return id;
}

uint32_t ChunkAssembler::InternInt(int64_t word, uint32_t base) {
  const auto u = static_cast<uint64_t>(word);
  IntString& e = int_strings_[(u ^ (u >> 8)) & (kIntStrings - 1)];
  if (e.gen == strings_gen_ && e.word == word) return e.sid;
  char buf[kIntTextSize];
  const uint32_t sid = Intern(IntText(word, buf), base);
  e = IntString{word, sid, strings_gen_};
  return sid;
}

uint32_t ChunkAssembler::Lookup(std::string_view s) const { return FindString(s, HashString(s)); }

uint32_t ChunkAssembler::InternName(uint32_t name_id) {
  const bool dense = name_id < kDenseNames;
  if (dense) {
    if (name_id < name_sids_.size() && name_sids_[name_id] != kNoBase) return name_sids_[name_id];
  } else {
    auto it = name_string_ids_.find(name_id);
    if (it != name_string_ids_.end()) return it->second;
  }
  auto nit = names_.find(name_id);
  uint32_t sid = Intern(nit == names_.end() ? std::string_view("?") : std::string_view(nit->second), kNoBase);
  if (dense) {
    if (name_id >= name_sids_.size()) name_sids_.resize(name_id + 1, kNoBase);
    name_sids_[name_id] = sid;
  } else {
    name_string_ids_.emplace(name_id, sid);
  }
  return sid;
}

void ChunkAssembler::SetLocal(Frame* frame, uint32_t name, std::string_view value, bool unbound) {
  for (auto it = frame->locals.begin(); it != frame->locals.end(); ++it) {
    if (it->name == name) {
      if (unbound) {
        frame->locals.erase(it);
      } else {
        it->value.assign(value.data(), value.size());
        it->sid_chunk = ~uint64_t{0};  // not interned as this value
        it->stale = false;
      }
      return;
    }
  }
  if (!unbound) frame->locals.push_back(Local{name, std::string(value)});
}

Status ChunkAssembler::ApplyRecord(const uint8_t* record, size_t size) {
  if (size < sizeof(RawHeader)) return Status::Internal("raw record shorter than its header");
  RawHeader h;
  std::memcpy(&h, record, sizeof(h));
  RawReader r(record + sizeof(h), size - sizeof(h));
  switch (static_cast<RawTag>(h.tag)) {
    case RawTag::kThreadDef: {
      ThreadInfo t;
      t.index = r.U32();
      t.ident = r.U64();
      t.name = std::string(r.Str());
      if (!r.ok()) return Status::Internal("malformed thread record");
      threads_[t.index] = std::move(t);
      return Status::Ok();
    }
    case RawTag::kFileDef: {
      FileInfo f;
      f.id = r.U32();
      f.path = std::string(r.Str());
      f.source_override = std::string(r.Str());
      if (!r.ok()) return Status::Internal("malformed file record");
      files_[f.id] = f;
      new_files_.push_back(std::move(f));
      return Status::Ok();
    }
    case RawTag::kCodeDef: {
      uint32_t id = r.U32();
      CodeInfo c;
      c.file = r.U32();
      c.first_line = r.I32();
      c.name = std::string(r.Str());
      c.qualname = std::string(r.Str());
      uint32_t nargs = r.remaining() >= 4 ? r.U32() : 0;  // optional: padding reads as none
      for (uint32_t i = 0; i < nargs && r.ok(); ++i) c.args.emplace_back(r.Str());
      if (!r.ok()) return Status::Internal("malformed code record");
      codes_[id] = std::move(c);
      if (id < (1u << 24)) {
        if (code_defined_.size() <= id) code_defined_.resize(id + 1, false);
        code_defined_[id] = true;
      }
      return Status::Ok();
    }
    case RawTag::kNameDef: {
      uint32_t id = r.U32();
      std::string_view name = r.Str();
      if (!r.ok()) return Status::Internal("malformed name record");
      names_[id] = std::string(name);
      return Status::Ok();
    }
    case RawTag::kLoss: {
      uint64_t n = r.U64();
      if (!r.ok()) return Status::Internal("malformed loss record");
      dropped_before_ += n;
      dropped_total_ += n;
      return Status::Ok();
    }
    case RawTag::kUnwind:
    case RawTag::kDetach: {
      const bool detach = h.tag == static_cast<uint8_t>(RawTag::kDetach);
      uint32_t thread = r.U32();
      uint32_t n = r.U32();
      if (!r.ok()) return Status::Internal(detach ? "malformed detach record" : "malformed unwind record");
      if (thread > 0xffff) return Status::Internal("thread index out of range");
      auto& stack = stacks_[thread];
      if (n > stack.size()) return Status::Internal("unwind or detach record pops more frames than the thread has");
      // A detach says so in the chunk it starts (Chunk.detached), so that
      // the checkpoint may be shorter than where the last chunk ended.
      if (detach && n > 0) {
        detached_[thread] += n;
        threads_used_.insert(thread);
      }
      for (uint32_t i = 0; i < n; ++i) {
        spare_locals_.push_back(std::move(stack.back().locals));
        spare_locals_.back().clear();
        stack.pop_back();
      }
      // Only at a chunk boundary (NeedsBoundaryBefore): the checkpoint is the
      // stacks without them. After an unwind, the loss record that follows
      // lets the chunk start from a state other than where the last one
      // ended; after a detach, Chunk.detached does.
      if (Empty()) {
        start_state_ = stacks_;
        InternCheckpoint();
      }
      return Status::Ok();
    }
    case RawTag::kEvent:
      return ApplyEvent(record, size, /*adopt=*/false);
    case RawTag::kAdopt:
      return ApplyEvent(record, size, /*adopt=*/true);
  }
  return Status::Internal("unknown raw record tag " + std::to_string(h.tag));
}

Status ChunkAssembler::ApplyEvent(const uint8_t* record, size_t size, bool adopt) {
  RawHeader h;
  std::memcpy(&h, record, sizeof(h));
  RawReader r(record + sizeof(h), size - sizeof(h));
  RawEvent e;
  if (!r.Get(&e, sizeof(e))) return Status::Internal("malformed event record");
  if (e.thread > 0xffff) return Status::Internal("thread index out of range");
  bool defined = e.code < code_defined_.size() ? code_defined_[e.code] : codes_.count(e.code) != 0;
  if (!defined) return Status::Internal("event refers to an undefined code");
  if (last_stack_ == nullptr || last_thread_ != e.thread) {
    last_stack_ = &stacks_[e.thread];
    last_thread_ = e.thread;
  }
  auto& stack = *last_stack_;
  auto kind = static_cast<EventKind>(h.kind);

  if (adopt) {
    stack.push_back(Frame{e.code, e.line, {}});
    for (uint16_t i = 0; i < h.ndeltas; ++i) {
      uint32_t name = r.U32();
      char word[kIntTextSize];
      bool unbound = false;
      std::string_view v = DeltaValue(&r, word, &unbound);
      if (!r.ok()) return Status::Internal("malformed adopt record");
      SetLocal(&stack.back(), name, v, unbound);
    }
    // Adoption happens only at a chunk boundary: make it part of the checkpoint.
    if (Empty()) {
      start_state_ = stacks_;
      threads_used_.insert(e.thread);
      codes_used_.insert(e.code);
      for (const auto& f : stack) codes_used_.insert(f.code);
      InternCheckpoint();
    }
    return Status::Ok();
  }

  if (kind == EventKind::kCall) {
    stack.push_back(Frame{e.code, e.line, {}});
    if (!spare_locals_.empty()) {
      stack.back().locals = std::move(spare_locals_.back());
      spare_locals_.pop_back();
    }
    call_codes_.push_back(e.code);
    codes_used_.insert(e.code);
    call_codes_set_.insert(e.code);
  } else if (stack.empty()) {
    return Status::Internal("line, return or exception event on an empty stack");
  } else if (kind != EventKind::kLine && kind != EventKind::kReturn && kind != EventKind::kException) {
    return Status::Internal("unknown event kind");
  }
  Frame& frame = stack.back();
  frame.line = e.line;
  if (kind == EventKind::kLine) {
    line_keys_.insert((static_cast<uint64_t>(frame.code) << 32) | static_cast<uint32_t>(e.line));
  }
  uint32_t index = static_cast<uint32_t>(kinds_.size());
  for (uint16_t i = 0; i < h.ndeltas; ++i) {
    uint32_t name = r.U32();
    // The value: bytes, or an int as a word (its text only if new here).
    const uint32_t len = r.U32();
    const bool unbound = len == kUnboundLength;
    const bool is_word = len == kIntLength;
    int64_t word = 0;
    std::string_view v;
    if (is_word) {
      word = static_cast<int64_t>(r.U64());
    } else if (!unbound) {
      v = r.Bytes(len);
    }
    if (!r.ok()) return Status::Internal("malformed delta");
    // Name first, then value: the reader counts new strings in this order.
    uint32_t name_sid = InternName(name);
    uint32_t value_sid = kUnboundString;
    auto local = frame.locals.begin();
    while (local != frame.locals.end() && local->name != name) ++local;
    if (unbound) {
      if (local != frame.locals.end()) frame.locals.erase(local);
    } else {
      // A new value is stored as an edit of the value it replaces: by the
      // id it has in this chunk, else by looking it up (another frame or a
      // return value may have brought the same text).
      uint32_t base = kNoBase;
      if (local != frame.locals.end()) base = local->sid_chunk == seq_ ? local->sid : Lookup(local->value);
      value_sid = is_word ? InternInt(word, base) : Intern(v, base);
      if (local == frame.locals.end()) {
        frame.locals.push_back(Local{name, std::string()});
        local = frame.locals.end() - 1;
      }
      // The text stays in the string table until the chunk is sealed.
      local->stale = true;
      local->sid = value_sid;
      local->sid_chunk = seq_;
    }
    delta_events_.push_back(index);
    delta_bindings_.emplace_back(name_sid, value_sid);
  }
  if (e.has_value == kTextValue) {
    std::string_view v = r.Str();
    if (!r.ok()) return Status::Internal("malformed value");
    value_events_.push_back(index);
    value_strings_.push_back(Intern(v, kNoBase));
  } else if (e.has_value == kIntValue) {
    const auto word = static_cast<int64_t>(r.U64());
    if (!r.ok()) return Status::Internal("malformed value");
    value_events_.push_back(index);
    value_strings_.push_back(InternInt(word, kNoBase));
  } else if (e.has_value != kNoValue) {
    return Status::Internal("unknown value kind " + std::to_string(e.has_value));
  }
  kinds_.push_back(h.kind);
  event_threads_.push_back(static_cast<uint16_t>(e.thread));
  lines_.push_back(e.line);
  threads_used_.insert(e.thread);
  approx_bytes_ += 12;
  string_bytes_ += 12;
  if (kind == EventKind::kReturn) {
    // Its locals' storage serves the next call (a vector per call otherwise).
    auto& locals = stack.back().locals;
    if (locals.capacity() != 0 && spare_locals_.size() < kMaxSpareLocals) {
      locals.clear();
      spare_locals_.push_back(std::move(locals));
    }
    stack.pop_back();
  }
  return Status::Ok();
}

std::string ChunkAssembler::Seal() {
  flatbuffers::FlatBufferBuilder b(64 * 1024 + approx_bytes_ * 2);

  // Checkpoint first: it interns strings, so it must precede the string table.
  std::vector<flatbuffers::Offset<fb::ThreadStack>> stacks;
  for (const auto& [thread, frames] : start_state_) {
    if (frames.empty()) continue;
    std::vector<flatbuffers::Offset<fb::Frame>> fs;
    for (const auto& f : frames) {
      std::vector<fb::Binding> bindings;
      bindings.reserve(f.locals.size());
      for (const auto& local : f.locals) bindings.emplace_back(InternName(local.name), Intern(local.value, kNoBase));
      fs.push_back(fb::CreateFrame(b, f.code, f.line, b.CreateVectorOfStructs(bindings)));
    }
    stacks.push_back(fb::CreateThreadStack(b, thread, b.CreateVector(fs)));
  }

  std::set<uint32_t> files_used;
  std::vector<flatbuffers::Offset<fb::Code>> codes;
  for (uint32_t id : codes_used_.Sorted<uint32_t>()) {
    const CodeInfo& c = codes_[id];
    files_used.insert(c.file);
    codes.push_back(fb::CreateCode(b, id, c.file, b.CreateString(c.name), b.CreateString(c.qualname), c.first_line,
                                   b.CreateVectorOfStrings(c.args)));
  }
  std::vector<flatbuffers::Offset<fb::File>> files;
  for (uint32_t id : files_used) files.push_back(fb::CreateFile(b, id, b.CreateString(files_[id].path)));
  std::vector<flatbuffers::Offset<fb::Thread>> threads;
  for (uint32_t t : threads_used_.Sorted<uint32_t>()) {
    const ThreadInfo& info = threads_[t];
    threads.push_back(fb::CreateThread(b, t, info.ident, b.CreateString(info.name)));
  }
  // Compact columns (FORMAT.md): event indexes as varint gaps, string
  // references relative to the next new string, in the reader's order: per
  // event, its deltas (name, value), then its value.
  std::string delta_gap, value_gap;
  std::vector<uint32_t> delta_name, delta_value, value_ref;
  delta_name.reserve(delta_bindings_.size());
  delta_value.reserve(delta_bindings_.size());
  value_ref.reserve(value_strings_.size());
  uint32_t fresh = checkpoint_strings_;
  auto ref = [&fresh](uint32_t id) -> uint32_t {
    if (id == kUnboundString) return format::kRefUnbound;
    if (id == fresh) {
      ++fresh;
      return format::kRefFresh;
    }
    if (id > fresh) fresh = id + 1;
    return id + format::kRefBias;
  };
  // Values of locals are usually either new or one seen a few strings ago
  // (the same object in the caller's frame): those count back from the newest.
  auto back_ref = [&fresh, &ref](uint32_t id) -> uint32_t {
    if (id != kUnboundString && id < fresh) return fresh - id + 1;
    return ref(id);
  };
  size_t d = 0, v = 0;
  uint32_t prev_delta = 0, prev_value = 0;
  for (uint32_t i = 0; i < kinds_.size(); ++i) {
    for (; d < delta_events_.size() && delta_events_[d] == i; ++d) {
      format::PutVarint(&delta_gap, i - prev_delta);
      prev_delta = i;
      delta_name.push_back(ref(delta_bindings_[d].first));
      delta_value.push_back(back_ref(delta_bindings_[d].second));
    }
    if (v < value_events_.size() && value_events_[v] == i) {
      format::PutVarint(&value_gap, i - prev_value);
      prev_value = i;
      value_ref.push_back(ref(value_strings_[v++]));
    }
  }
  auto bytes = [&b](const std::string& s) {
    return b.CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  auto string_data = bytes(string_data_);
  auto delta_gap_v = bytes(delta_gap);
  auto value_gap_v = bytes(value_gap);
  std::vector<fb::Detached> detached;
  for (const auto& [thread, n] : detached_) detached.emplace_back(thread, n);
  auto chunk = fb::CreateChunk(
      b, seq_, first_event_, 0, b.CreateVector(files), b.CreateVector(codes), b.CreateVector(threads),
      b.CreateVector(stacks), b.CreateVector(kinds_), b.CreateVector(event_threads_), b.CreateVector(lines_),
      b.CreateVector(call_codes_), 0, 0, 0, 0, dropped_before_, 0, string_data, delta_gap_v, b.CreateVector(delta_name),
      b.CreateVector(delta_value), value_gap_v, b.CreateVector(value_ref),
      detached.empty() ? 0 : b.CreateVectorOfStructs(detached));
  b.Finish(chunk);
  std::string out(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());

  MaterializeLocals();  // before BeginChunk's checkpoint, while strings_ holds their texts
  last_summary_.line_keys = line_keys_.Sorted<uint64_t>();
  last_summary_.call_codes = call_codes_set_.Sorted<uint32_t>();
  ++seq_;
  first_event_ += kinds_.size();
  dropped_before_ = 0;
  detached_.clear();
  BeginChunk();
  return out;
}

void ChunkAssembler::MaterializeLocals() {
  for (auto& [thread, frames] : stacks_) {
    for (auto& f : frames) {
      for (auto& local : f.locals) {
        if (!local.stale) continue;
        local.value = strings_[local.sid];
        local.stale = false;
      }
    }
  }
}

std::vector<ChunkAssembler::CodeDef> ChunkAssembler::AllCodes() const {
  std::vector<CodeDef> out;
  for (const auto& [id, c] : codes_) out.push_back(CodeDef{id, c.file, c.first_line, &c.name, &c.qualname, &c.args});
  std::sort(out.begin(), out.end(), [](const CodeDef& a, const CodeDef& b) { return a.id < b.id; });
  return out;
}

std::vector<std::pair<uint32_t, std::string>> ChunkAssembler::AllFiles() const {
  std::vector<std::pair<uint32_t, std::string>> out;
  for (const auto& [id, f] : files_) out.emplace_back(id, f.path);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<FileInfo> ChunkAssembler::TakeNewFiles() {
  std::vector<FileInfo> out;
  out.swap(new_files_);
  return out;
}

}  // namespace tracetape::recorder
