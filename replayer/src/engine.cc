#include "tracetape/replayer/engine.h"

#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <unordered_map>
#include <unordered_set>

#include "tracetape/replayer/expr.h"

namespace tracetape::replayer {
namespace {

constexpr size_t kCacheChunks = 8;

bool PathMatches(const std::string& path, const std::string& spec) {
  if (path == spec) return true;
  return path.size() > spec.size() && path.compare(path.size() - spec.size(), spec.size(), spec) == 0 &&
         path[path.size() - spec.size() - 1] == '/';
}

// A file spec with `.` or `..` components (`./app.py`, `../src/app.py`)
// names a path relative to where the program was recorded: resolved
// against the recorded cwd and normalized lexically, as the recorded paths
// are. Any other spec is returned as it is (a suffix of recorded paths).
std::string ResolveSpec(const std::string& spec, const std::string& cwd) {
  std::vector<std::string> parts;
  bool dotted = false;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t slash = spec.find('/', start);
    if (slash == std::string::npos) slash = spec.size();
    std::string part = spec.substr(start, slash - start);
    dotted |= part == "." || part == "..";
    parts.push_back(std::move(part));
    start = slash + 1;
  }
  if (!dotted) return spec;
  std::vector<std::string> out;
  auto push = [&out](const std::string& part) {
    if (part.empty() || part == ".") return;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      return;
    }
    out.push_back(part);
  };
  if (spec.empty() || spec[0] != '/') {
    size_t b = 0;
    while (b <= cwd.size()) {
      size_t e = cwd.find('/', b);
      if (e == std::string::npos) e = cwd.size();
      push(cwd.substr(b, e - b));
      b = e + 1;
    }
  }
  for (const auto& part : parts) push(part);
  std::string path;
  for (const auto& part : out) path += "/" + part;
  return path.empty() ? "/" : path;
}

// The encoding a Python source declares (PEP 263: a `coding[:=]NAME` comment
// on line 1 or 2), lowercased with `_` as `-`; empty for none.
std::string DeclaredEncoding(const std::string& text) {
  size_t start = 0;
  for (int line = 0; line < 2 && start < text.size(); ++line) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string l = text.substr(start, end - start);
    size_t i = l.find_first_not_of(" \t\f\r");
    if (i == std::string::npos || l[i] != '#') {
      if (i != std::string::npos) break;  // code: no declaration past it
      start = end + 1;
      continue;
    }
    // PEP 263's `coding[:=]\s*([-\w.]+)`, its first match on the line.
    for (size_t c = l.find("coding", i); c != std::string::npos; c = l.find("coding", c + 1)) {
      if (c + 6 >= l.size() || (l[c + 6] != ':' && l[c + 6] != '=')) continue;
      size_t b = l.find_first_not_of(" \t", c + 7);
      size_t e = b;
      while (e < l.size() && (std::isalnum(static_cast<unsigned char>(l[e])) || l[e] == '-' || l[e] == '_' || l[e] == '.')) ++e;
      if (b != std::string::npos && e > b) {
        std::string name = l.substr(b, e - b);
        for (char& ch : name) ch = ch == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        return name;
      }
    }
    start = end + 1;
  }
  return "";
}

// A recorded file's bytes as UTF-8 text, as Python decodes a source: a UTF-8
// BOM dropped, a declared encoding converted (iconv). What cannot be decoded
// is left as it is (shown with replacement characters).
// Well-formed UTF-8 sequences only (lead and continuation bytes; overlong
// forms are not looked for: a heuristic, see DecodeSource).
bool ValidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    if (c < 0x80) {
      n = 0;
    } else if ((c >> 5) == 0x6) {
      n = 1;
    } else if ((c >> 4) == 0xe) {
      n = 2;
    } else if ((c >> 3) == 0x1e) {
      n = 3;
    } else {
      return false;
    }
    if (i + n >= s.size() && n > 0) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return false;
    }
    i += n + 1;
  }
  return true;
}

std::string DecodeSource(const std::string& raw) {
  if (raw.compare(0, 3, "\xef\xbb\xbf") == 0) return raw.substr(3);
  // Text past ASCII that is valid UTF-8 is taken as it is: sources the
  // recorder got as text (-c code, a zip archive's module) are stored as
  // UTF-8 whatever they declare, and a file in another encoding is almost
  // never valid UTF-8 once it holds a character past ASCII.
  std::string name = DeclaredEncoding(raw);
  const bool high = std::any_of(raw.begin(), raw.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  if (name.empty() || (high && ValidUtf8(raw))) return raw;  // 7-bit encodings (iso-2022-jp, utf-7) are decoded
  if (name.empty() || name == "utf-8" || name == "utf8" || name == "utf-8-sig" || name == "ascii" ||
      name == "us-ascii") {
    return raw;
  }
  if (name == "latin-1" || name == "latin1" || name == "l1" || name == "iso-8859-1" || name == "iso8859-1" ||
      name == "iso-latin-1") {
    name = "ISO-8859-1";
  } else if (name.rfind("cp", 0) == 0 && name.size() > 2 && std::isdigit(static_cast<unsigned char>(name[2]))) {
    name = "CP" + name.substr(2);
  } else {
    for (char& ch : name) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  iconv_t cd = iconv_open("UTF-8", name.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) return raw;
  std::string out(raw.size() * 4 + 16, '\0');
  char* in = const_cast<char*>(raw.data());
  size_t in_left = raw.size();
  char* dst = out.data();
  size_t out_left = out.size();
  size_t r = iconv(cd, &in, &in_left, &dst, &out_left);
  iconv_close(cd);
  if (r == static_cast<size_t>(-1)) return raw;  // not in that encoding after all
  out.resize(out.size() - out_left);
  return out;
}

// True for a source line that holds no code: blank, or only a comment.
bool BlankOrComment(const std::string& line) {
  size_t i = line.find_first_not_of(" \t\f\r");
  return i == std::string::npos || line[i] == '#';
}

}  // namespace

StatusOr<std::unique_ptr<Engine>> Engine::Open(const std::string& path) {
  auto tape = Tape::Open(path);
  if (!tape.ok()) return tape.status();
  if (tape.value()->event_count() == 0) {
    const Status& tail = tape.value()->tail_status();
    return Status::InvalidArgument(path + ": the tape holds no events" +
                                   (tail.ok() ? std::string() : " (" + tail.message() + ")"));
  }
  return std::unique_ptr<Engine>(new Engine(std::move(tape).value()));
}

StatusOr<std::shared_ptr<const Engine::IndexedChunk>> Engine::Chunk(size_t index) {
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (it->first == index) {
      if (it != cache_.begin()) cache_.splice(cache_.begin(), cache_, it);
      return cache_.front().second;
    }
  }
  auto decoded = tape_->ReadChunk(index);
  if (!decoded.ok()) return decoded.status();
  auto c = std::make_shared<IndexedChunk>();
  c->d = std::move(decoded).value();
  const size_t n = c->d.size();
  c->depth.resize(n);
  c->code.resize(n);
  std::unordered_map<uint32_t, std::vector<uint32_t>> stacks;
  for (const auto& [t, frames] : c->d.start_state) {
    auto& s = stacks[t];
    for (const auto& f : frames) s.push_back(f.code);
  }
  for (size_t i = 0; i < n; ++i) {
    auto& s = stacks[c->d.thread[i]];
    auto kind = static_cast<EventKind>(c->d.kind[i]);
    if (kind == EventKind::kCall) s.push_back(c->d.call_code[i]);
    if (s.empty()) {
      return Status::Corrupt("chunk " + std::to_string(index) + ": event " + std::to_string(c->d.first_event + i) +
                             " has no frame");
    }
    if (s.size() > 0xffff) return Status::Corrupt("chunk " + std::to_string(index) + ": stack too deep");
    c->depth[i] = static_cast<uint16_t>(s.size());
    c->code[i] = s.back();
    if (kind == EventKind::kReturn) s.pop_back();
  }
  cache_.emplace_front(index, c);
  if (cache_.size() > kCacheChunks) cache_.pop_back();
  return std::shared_ptr<const IndexedChunk>(c);
}

StatusOr<std::optional<uint64_t>> Engine::Scan(uint64_t from, bool forward, const Pred& pred,
                                               const std::function<bool(size_t)>& may_match) {
  const uint64_t n = size();
  if (forward) {
    if (from + 1 >= n) return std::optional<uint64_t>();
    uint64_t start = from + 1;
    for (size_t ci = tape_->ChunkFor(start); ci < tape_->chunks().size(); ++ci) {
      if (may_match && !may_match(ci)) continue;
      auto c = Chunk(ci);
      if (!c.ok()) return c.status();
      const IndexedChunk& chunk = **c;
      size_t i = start > chunk.d.first_event ? static_cast<size_t>(start - chunk.d.first_event) : 0;
      for (; i < chunk.d.size(); ++i) {
        if (pred(chunk, i)) return std::optional<uint64_t>(chunk.d.first_event + i);
      }
    }
    return std::optional<uint64_t>();
  }
  if (from == 0 || n == 0) return std::optional<uint64_t>();
  uint64_t start = std::min<uint64_t>(from - 1, n - 1);
  for (size_t ci = tape_->ChunkFor(start) + 1; ci-- > 0;) {
    if (may_match && !may_match(ci)) continue;
    auto c = Chunk(ci);
    if (!c.ok()) return c.status();
    const IndexedChunk& chunk = **c;
    if (chunk.d.size() == 0) continue;
    size_t i = std::min<uint64_t>(start - chunk.d.first_event, chunk.d.size() - 1);
    if (start < chunk.d.first_event) i = chunk.d.size() - 1;
    for (size_t k = i + 1; k-- > 0;) {
      if (pred(chunk, k)) return std::optional<uint64_t>(chunk.d.first_event + k);
    }
  }
  return std::optional<uint64_t>();
}

Status Engine::WalkTo(uint64_t event) {
  size_t ci = tape_->ChunkFor(event);
  if (ci >= tape_->chunks().size()) return Status::InvalidArgument("event " + std::to_string(event) + " is not on the tape");
  auto c = Chunk(ci);
  if (!c.ok()) return c.status();
  size_t local = static_cast<size_t>(event - (*c)->d.first_event);
  const IndexedChunk& chunk = **c;
  if (chunk.checkpoints.empty()) chunk.checkpoints.resize(chunk.d.size() / kCheckpointEvery + 1);
  bool reusable = cursor_.walker && cursor_.chunk == *c && cursor_.walker->position() <= local + 1 &&
                  (cursor_.walker->position() == local + 1 ||
                   local - cursor_.walker->position() < kCheckpointEvery);
  if (!reusable) {
    cursor_.chunk = *c;
    cursor_.chunk_index = ci;
    cursor_.has_last = false;
    // Start from the nearest checkpoint at or before the event.
    size_t k = local / kCheckpointEvery;
    while (k > 0 && !chunk.checkpoints[k]) --k;
    if (k > 0) {
      cursor_.walker = std::make_unique<ChunkWalker>(*chunk.checkpoints[k]);
    } else {
      cursor_.walker = std::make_unique<ChunkWalker>(chunk.d);
    }
  }
  while (cursor_.walker->position() <= local) {
    size_t p = cursor_.walker->position();
    if (p > 0 && p % kCheckpointEvery == 0 && !chunk.checkpoints[p / kCheckpointEvery]) {
      chunk.checkpoints[p / kCheckpointEvery] = std::make_unique<ChunkWalker>(*cursor_.walker);
    }
    TRACETAPE_RETURN_IF_ERROR(cursor_.walker->Step(&cursor_.last));
    cursor_.has_last = true;
  }
  return Status::Ok();
}

StatusOr<Engine::Here> Engine::At(uint64_t event) {
  size_t ci = tape_->ChunkFor(event);
  if (ci >= tape_->chunks().size()) return Status::InvalidArgument("event " + std::to_string(event) + " is not on the tape");
  auto c = Chunk(ci);
  if (!c.ok()) return c.status();
  size_t i = static_cast<size_t>(event - (*c)->d.first_event);
  return Here{(*c)->d.thread[i], (*c)->depth[i], static_cast<EventKind>((*c)->d.kind[i])};
}

std::string Engine::ThreadName(uint32_t thread) const {
  if (cursor_.chunk) {
    auto it = cursor_.chunk->d.threads.find(thread);
    if (it != cursor_.chunk->d.threads.end()) return it->second.name;
  }
  return "thread " + std::to_string(thread);
}

Status Engine::Goto(uint64_t event) {
  if (event >= size()) {
    return Status::InvalidArgument("event " + std::to_string(event) + " is out of range: the tape has events 0 to " +
                                   std::to_string(size() - 1));
  }
  TRACETAPE_RETURN_IF_ERROR(WalkTo(event));
  pos_ = event;
  return Status::Ok();
}

StatusOr<StateView> Engine::State() { return StateAt(pos_); }

std::vector<FrameView> Engine::Frames(const ChunkWalker& w, const std::vector<LiveFrame>& frames) {
  std::vector<FrameView> stack;
  uint32_t depth = 0;
  for (const auto& f : frames) {
    FrameView fv;
    fv.file = f.code->file;
    fv.func = f.code->name;
    fv.qualname = f.code->qualname;
    fv.line = f.line;
    fv.first_line = f.code->first_line;
    fv.args = f.code->args;
    fv.depth = ++depth;
    for (const auto& b : f.locals) fv.locals.emplace_back(w.str(b.name), w.str(b.value));
    stack.push_back(std::move(fv));
  }
  return stack;
}

StatusOr<std::vector<FrameView>> Engine::ThreadStack(uint32_t thread) {
  TRACETAPE_RETURN_IF_ERROR(WalkTo(pos_));
  // The walker holds every thread's stack; only the current event's own
  // return is popped late (at the next step), and it is that thread's.
  const ChunkWalker& w = *cursor_.walker;
  auto it = w.stacks().find(thread);
  if (it == w.stacks().end()) return std::vector<FrameView>();
  return Frames(w, it->second);
}

StatusOr<std::vector<uint32_t>> Engine::LiveThreads() {
  TRACETAPE_RETURN_IF_ERROR(WalkTo(pos_));
  std::vector<uint32_t> threads{cursor_.last.thread};
  for (const auto& [thread, frames] : cursor_.walker->stacks()) {
    if (!frames.empty() && thread != cursor_.last.thread) threads.push_back(thread);
  }
  return threads;
}

StatusOr<StateView> Engine::StateAt(uint64_t event) {
  TRACETAPE_RETURN_IF_ERROR(WalkTo(event));
  const EventState& e = cursor_.last;
  const ChunkWalker& w = *cursor_.walker;
  StateView s;
  s.index = e.index;
  s.thread = e.thread;
  s.thread_name = ThreadName(e.thread);
  s.kind = e.kind;
  if (e.value != kNoValue) {
    s.has_value = true;
    s.value = w.str(e.value);
  }
  for (size_t d = 0; d < e.ndeltas; ++d) s.changed.push_back(w.str(e.deltas[d].name));
  auto it = w.stacks().find(e.thread);
  if (it != w.stacks().end()) s.stack = Frames(w, it->second);
  return s;
}

// The exception that ended the run left the outermost recorded frame of the
// first thread (the program's main thread): an exception event at depth 1
// whose next event on that thread is the frame's return. A run that ended
// cleanly has none.
StatusOr<std::optional<uint64_t>> Engine::EndingException() {
  const FooterInfo* footer = tape_->footer();
  if (footer != nullptr && footer->exit_status == 0) return std::optional<uint64_t>();
  uint64_t from = size();
  while (true) {
    auto cand = Scan(from, false, [](const IndexedChunk& c, size_t i) {
      return c.d.thread[i] == 0 && c.depth[i] == 1 && static_cast<EventKind>(c.d.kind[i]) == EventKind::kException;
    });
    if (!cand.ok()) return cand.status();
    if (!*cand) return std::optional<uint64_t>();
    auto next = Scan(**cand, true, [](const IndexedChunk& c, size_t i) { return c.d.thread[i] == 0; });
    if (!next.ok()) return next.status();
    if (!*next) return *cand;  // the tape ends there
    auto h = At(**next);
    if (!h.ok()) return h.status();
    if (h->kind == EventKind::kReturn && h->depth == 1) return *cand;
    from = **cand;
  }
}

namespace {

// The text of an exception event (its rendered value), or null.
const std::string* ExceptionText(const DecodedChunk& d, size_t i) {
  return d.value[i] < d.strings.size() ? &d.strings[d.value[i]] : nullptr;
}

// Steps of an exception's propagation, read backwards from an exception
// event at depth d on its thread: the frame below it must have just returned
// (its unwind, a return at depth d+1), and before that, with only its own
// lines (an `except` clause that did not match, a `finally:` block, a
// `with` block's exit) and what those called (deeper) in between, that
// frame's own exception event, of the same exception (the same text).
class UnwindSteps {
 public:
  enum Answer { kMore, kNo, kYes };
  UnwindSteps(uint16_t thread, uint32_t depth, const std::string* text) : t_(thread), d_(depth), text_(text) {}
  // The next event back; kYes if it is the exception that unwound into the
  // one started from.
  Answer Step(const DecodedChunk& d, const std::vector<uint16_t>& depth, size_t k) {
    if (d.thread[k] != t_) return kMore;
    const auto kind = static_cast<EventKind>(d.kind[k]);
    if (first_) {
      first_ = false;
      return kind == EventKind::kReturn && depth[k] == d_ + 1 ? kMore : kNo;
    }
    if (depth[k] > d_ + 1) return kMore;  // something the unwinding frame called meanwhile
    if (depth[k] < d_ + 1 || kind == EventKind::kCall || kind == EventKind::kReturn) return kNo;
    if (kind == EventKind::kLine) return kMore;
    const std::string* text = ExceptionText(d, k);
    return text_ != nullptr && text != nullptr && *text == *text_ ? kYes : kNo;
  }

 private:
  uint16_t t_;
  uint32_t d_;
  const std::string* text_;
  bool first_ = true;
};

// Events of the exception's thread looked back at within a chunk before
// taking an exception as raised (threads interleave; a long `finally:`).
constexpr size_t kUnwindLookBack = 4096;

}  // namespace

bool Engine::Propagated(const IndexedChunk& c, size_t i) {
  // Within the chunk: at its start, or past the bounded look back, it
  // counts as raised.
  UnwindSteps steps(c.d.thread[i], c.depth[i], ExceptionText(c.d, i));
  for (size_t k = i, looked = 0; k-- > 0 && looked < kUnwindLookBack; ++looked) {
    const UnwindSteps::Answer a = steps.Step(c.d, c.depth, k);
    if (a != UnwindSteps::kMore) return a == UnwindSteps::kYes;
  }
  return false;
}

bool Engine::IterationProtocol(const IndexedChunk& c, size_t i) {
  if (c.d.value[i] >= c.d.strings.size()) return false;
  const std::string& v = c.d.strings[c.d.value[i]];
  for (const char* name : {"StopIteration", "StopAsyncIteration", "GeneratorExit"}) {
    const size_t n = std::char_traits<char>::length(name);
    if (v.compare(0, n, name) == 0 && (v.size() == n || v[n] == ':')) return true;
  }
  return false;
}

// Back along the propagation of the exception at `cur` (UnwindSteps, across
// chunks); where it was raised is the first.
StatusOr<uint64_t> Engine::WhereRaised(uint64_t cur) {
  while (true) {
    auto c = Chunk(tape_->ChunkFor(cur));
    if (!c.ok()) return c.status();
    const IndexedChunk& chunk = **c;
    const size_t local = static_cast<size_t>(cur - chunk.d.first_event);
    const std::string* text = ExceptionText(chunk.d, local);
    const std::string copy = text != nullptr ? *text : std::string();
    UnwindSteps steps(chunk.d.thread[local], chunk.depth[local], text != nullptr ? &copy : nullptr);
    UnwindSteps::Answer answer = UnwindSteps::kNo;
    auto step = Scan(cur, false, [&](const IndexedChunk& ch, size_t i) {
      answer = steps.Step(ch.d, ch.depth, i);
      return answer != UnwindSteps::kMore;
    });
    if (!step.ok()) return step.status();
    if (!*step || answer != UnwindSteps::kYes) break;
    cur = **step;
  }
  return cur;
}

StatusOr<uint64_t> Engine::ExceptionEvent() {
  auto is_exception = [](const IndexedChunk& c, size_t i) {
    return static_cast<EventKind>(c.d.kind[i]) == EventKind::kException;
  };
  // The exception that ended the run; else the last exception, preferring
  // one that is not the iteration protocol's (a StopIteration ending a
  // loop, a GeneratorExit closing a generator).
  auto found = EndingException();
  if (!found.ok()) return found.status();
  auto is_error = [&is_exception](const IndexedChunk& c, size_t i) {
    return is_exception(c, i) && !IterationProtocol(c, i);
  };
  StatusOr<std::optional<uint64_t>> last = *found ? found : Scan(size(), false, is_error);
  if (last.ok() && !*last) last = Scan(size(), false, is_exception);
  if (!last.ok()) return last.status();
  if (!*last) return Status::NotFound("no exception was recorded");
  return WhereRaised(**last);
}

StatusOr<std::optional<uint64_t>> Engine::UncaughtException() {
  if (!uncaught_) {
    auto found = EndingException();
    if (!found.ok()) return found.status();
    std::optional<uint64_t> raised;
    if (*found) {
      auto r = WhereRaised(**found);
      if (!r.ok()) return r.status();
      raised = *r;
    }
    uncaught_ = raised;
  }
  return *uncaught_;
}

Status Engine::Step(bool forward, Stops stops) {
  auto here = At(pos_);
  if (!here.ok()) return here.status();
  uint32_t t = here->thread;
  // pdb's step stops at every event of the thread, a return included.
  const bool returns = stops == Stops::kFrameEnds;
  auto r = Scan(pos_, forward, [t, returns](const IndexedChunk& c, size_t i) {
    auto k = static_cast<EventKind>(c.d.kind[i]);
    return c.d.thread[i] == t && (returns || k != EventKind::kReturn);
  });
  if (!r.ok()) return r.status();
  if (!*r) {
    if (returns) return Status::NotFound(forward ? "no later event on this thread" : "no earlier event on this thread");
    return Status::NotFound(forward ? "no later line, call or exception on this thread"
                                    : "no earlier line, call or exception on this thread");
  }
  return Goto(**r);
}

StatusOr<uint32_t> Engine::SelectedDepth(uint32_t up) {
  auto here = At(pos_);
  if (!here.ok()) return here.status();
  if (up >= here->depth) return Status::InvalidArgument("no such frame");
  return here->depth - up;
}

Status Engine::Next(bool forward, uint32_t up, Stops stops) {
  auto here = At(pos_);
  if (!here.ok()) return here.status();
  auto selected = SelectedDepth(up);
  if (!selected.ok()) return selected.status();
  const uint32_t t = here->thread, d = *selected;
  const EventKind end = forward ? EventKind::kReturn : EventKind::kCall;
  const bool ends = stops == Stops::kFrameEnds;
  // The next line (or exception) of the selected frame; once that frame
  // has ended (forward: its return; backward: its call), of a caller. A
  // frame the caller calls next at the same depth is not this one. With
  // kFrameEnds the end is a stop too, the selected frame's and then its
  // callers' (pdb: once the frame has returned, the next event stops).
  bool ended = up == 0 && here->kind == end;
  auto r = Scan(pos_, forward, [t, d, end, ends, &ended](const IndexedChunk& c, size_t i) {
    if (c.d.thread[i] != t || c.depth[i] > d) return false;
    auto k = static_cast<EventKind>(c.d.kind[i]);
    if (c.depth[i] == d) {
      if (ended) return false;
      if (k == end) {
        ended = true;
        return ends;
      }
    }
    return k == EventKind::kLine || k == EventKind::kException || (ends && k == end);
  });
  if (!r.ok()) return r.status();
  if (!*r) return Status::NotFound(forward ? "no later line in this frame or its callers on this thread"
                                           : "no earlier line in this frame or its callers on this thread");
  return Goto(**r);
}

Status Engine::Finish(bool forward, uint32_t up) {
  auto here = At(pos_);
  if (!here.ok()) return here.status();
  auto selected = SelectedDepth(up);
  if (!selected.ok()) return selected.status();
  const uint32_t t = here->thread, d = *selected;
  const bool at_own_event = up == 0;  // the selected frame's own event, not a callee's
  if (forward) {
    uint32_t target = at_own_event && here->kind == EventKind::kReturn ? d - 1 : d;
    if (target == 0) return Status::NotFound("the outermost recorded frame has returned: nothing to finish");
    auto r = Scan(pos_, true, [t, target](const IndexedChunk& c, size_t i) {
      return c.d.thread[i] == t && static_cast<EventKind>(c.d.kind[i]) == EventKind::kReturn && c.depth[i] == target;
    });
    if (!r.ok()) return r.status();
    if (!*r) return Status::NotFound("this frame does not return before the end of the tape");
    return Goto(**r);
  }
  uint64_t call = pos_;
  if (!at_own_event || here->kind != EventKind::kCall) {
    auto r = Scan(pos_, false, [t, d](const IndexedChunk& c, size_t i) {
      return c.d.thread[i] == t && static_cast<EventKind>(c.d.kind[i]) == EventKind::kCall && c.depth[i] == d;
    });
    if (!r.ok()) return r.status();
    if (!*r) return Status::NotFound("this frame began before the recording: its call is not on the tape");
    call = **r;
  }
  if (d > 1) {
    auto caller = Scan(call, false, [t, d](const IndexedChunk& c, size_t i) {
      return c.d.thread[i] == t && c.depth[i] == d - 1;
    });
    if (!caller.ok()) return caller.status();
    if (*caller) return Goto(**caller);
  }
  if (call == pos_) return Status::NotFound("at the call of the outermost recorded frame: no caller was recorded");
  return Goto(call);
}

bool Engine::BreakpointMatches(Breakpoint& bp, const IndexedChunk& c, size_t i) {
  auto kind = static_cast<EventKind>(c.d.kind[i]);
  if (!bp.enabled) return false;
  auto it = c.d.codes.find(c.code[i]);
  if (it == c.d.codes.end()) return false;
  if (bp.function) {
    return kind == EventKind::kCall && (it->second.name == bp.name || it->second.qualname == bp.name);
  }
  return kind == EventKind::kLine && c.d.line[i] == bp.line && PathMatches(it->second.file, bp.file);
}

bool Engine::ConditionHolds(const Breakpoint& bp, uint64_t event, std::string* error) {
  if (bp.condition.empty()) return true;
  auto state = StateAt(event);
  if (!state.ok() || state->stack.empty()) return true;
  const auto& locals = state->stack.back().locals;
  auto v = Evaluate(bp.condition, [&](const std::string& name) -> std::optional<Value> {
    for (const auto& [n, text] : locals) {
      if (n == name) return ParseRendered(text);
    }
    return std::nullopt;
  });
  // As in pdb, a condition that cannot be evaluated stops; as gdb, it says why.
  if (!v.ok()) {
    *error = v.status().message();
    return true;
  }
  return Truthy(*v);
}

Status Engine::Continue(bool forward, std::string* why) {
  // Per chunk: which codes have line breakpoints at which lines, which codes
  // are function breakpoints. Rebuilt when the scan enters another chunk.
  const IndexedChunk* memo_chunk = nullptr;
  std::unordered_map<uint32_t, std::vector<int32_t>> line_codes;
  std::unordered_set<uint32_t> func_codes;
  auto prepare = [&](const IndexedChunk& c) {
    if (memo_chunk == &c) return;
    memo_chunk = &c;
    line_codes.clear();
    func_codes.clear();
    for (const auto& [id, code] : c.d.codes) {
      for (const auto& bp : breakpoints_) {
        if (!bp.enabled) continue;
        if (bp.function && (code.name == bp.name || code.qualname == bp.name)) func_codes.insert(id);
        if (!bp.function && PathMatches(code.file, bp.file)) line_codes[id].push_back(bp.line);
      }
    }
  };
  auto watch_hit = [&](const IndexedChunk& c, size_t i) {
    uint64_t global = c.d.first_event + i;
    for (const auto& w : watches_) {
      if (c.d.thread[i] != w.thread || c.depth[i] != w.depth || global < w.frame_begin || global > w.frame_end) continue;
      for (uint32_t k = c.d.delta_begin[i]; k < c.d.delta_begin[i + 1]; ++k) {
        if (c.d.strings[c.d.deltas[k].name] == w.name) return true;
      }
    }
    return false;
  };
  std::optional<uint64_t> uncaught;
  if (stop_uncaught_) {
    auto u = UncaughtException();
    if (!u.ok()) return u.status();
    uncaught = *u;
  }
  auto exception_stop = [&](const IndexedChunk& c, size_t i) {
    if (static_cast<EventKind>(c.d.kind[i]) != EventKind::kException) return false;
    return (stop_raised_ && !IterationProtocol(c, i) && !Propagated(c, i)) ||
           (uncaught && c.d.first_event + i == *uncaught);
  };
  auto pred = [&](const IndexedChunk& c, size_t i) {
    prepare(c);
    auto kind = static_cast<EventKind>(c.d.kind[i]);
    if (exception_stop(c, i)) return true;
    if (kind == EventKind::kLine) {
      auto it = line_codes.find(c.code[i]);
      if (it != line_codes.end() && std::find(it->second.begin(), it->second.end(), c.d.line[i]) != it->second.end()) {
        return true;
      }
    } else if (kind == EventKind::kCall && func_codes.count(c.code[i])) {
      return true;
    }
    return !watches_.empty() && watch_hit(c, i);
  };

  // With the footer's summaries, a chunk that holds none of the breakpoints'
  // lines or functions, and no event of a watched frame, is skipped unread.
  std::vector<uint64_t> keys;
  std::vector<uint32_t> calls;
  const FooterInfo* footer = tape_->footer();
  bool summaries = footer != nullptr && !footer->codes.empty();
  for (const auto& ref : tape_->chunks()) summaries = summaries && ref.has_summary;
  if (summaries) {
    for (const auto& [id, code] : footer->codes) {
      for (const auto& bp : breakpoints_) {
        if (!bp.enabled) continue;
        if (bp.function && (code.name == bp.name || code.qualname == bp.name)) calls.push_back(id);
        if (!bp.function && PathMatches(code.file, bp.file)) {
          keys.push_back((static_cast<uint64_t>(id) << 32) | static_cast<uint32_t>(bp.line));
        }
      }
    }
  }
  auto may_match = [&](size_t ci) {
    if (!summaries || stop_raised_) return true;  // (the summaries do not say where exceptions are)
    const ChunkRef& ref = tape_->chunks()[ci];
    uint64_t first = ref.first_event, last = ref.first_event + ref.event_count;
    if (uncaught && *uncaught >= first && *uncaught < last) return true;
    for (const auto& w : watches_) {
      if (w.frame_begin < last && w.frame_end >= first) return true;
    }
    for (uint64_t k : keys) {
      if (std::binary_search(ref.line_keys.begin(), ref.line_keys.end(), k)) return true;
    }
    for (uint32_t c : calls) {
      if (std::binary_search(ref.call_codes.begin(), ref.call_codes.end(), c)) return true;
    }
    return false;
  };

  uint64_t from = pos_;
  while (true) {
    auto r = Scan(from, forward, pred, may_match);
    if (!r.ok()) return r.status();
    if (!*r) {
      TRACETAPE_RETURN_IF_ERROR(Goto(forward ? size() - 1 : 0));
      *why = forward ? "end of the tape" : "start of the tape";
      return Status::Ok();
    }
    uint64_t e = **r;
    size_t ci = tape_->ChunkFor(e);
    auto c = Chunk(ci);
    if (!c.ok()) return c.status();
    size_t i = static_cast<size_t>(e - (*c)->d.first_event);
    std::string reason;
    // Every breakpoint that stops here counts the hit (the first one named);
    // temporary ones among them are spent.
    for (auto it = breakpoints_.begin(); it != breakpoints_.end();) {
      std::string error;
      if (!BreakpointMatches(*it, **c, i) || !ConditionHolds(*it, e, &error)) {
        ++it;
        continue;
      }
      ++it->hits;
      if (reason.empty()) {
        reason = (it->temporary ? "Temporary breakpoint " : "Breakpoint ") + std::to_string(it->id) +
                 (it->function ? " at " + it->name : " at " + it->file + ":" + std::to_string(it->line));
        if (!error.empty()) reason += " (its condition failed here: " + error + ")";
      }
      it = it->temporary ? breakpoints_.erase(it) : it + 1;
    }
    if (reason.empty()) {
      const IndexedChunk& ch = **c;
      for (const auto& w : watches_) {
        if (ch.d.thread[i] != w.thread || ch.depth[i] != w.depth || e < w.frame_begin || e > w.frame_end) continue;
        bool changed = false;
        for (uint32_t k = ch.d.delta_begin[i]; k < ch.d.delta_begin[i + 1]; ++k) {
          changed |= ch.d.strings[ch.d.deltas[k].name] == w.name;
        }
        if (changed) {
          reason = "Watchpoint " + std::to_string(w.id) + ": " + w.name + " changed";
          break;
        }
      }
    }
    if (reason.empty() && exception_stop(**c, i)) {
      const IndexedChunk& ch = **c;
      const std::string what = ch.d.value[i] < ch.d.strings.size() ? ch.d.strings[ch.d.value[i]] : "an exception";
      reason = (uncaught && e == *uncaught ? "Uncaught exception: " : "Exception raised: ") + what;
    }
    if (!reason.empty()) {
      TRACETAPE_RETURN_IF_ERROR(Goto(e));
      *why = reason;
      return Status::Ok();
    }
    from = e;
  }
}

StatusOr<int> Engine::AddBreakpoint(const std::string& spec_in, const std::string& condition, bool temporary) {
  std::string spec = spec_in;
  while (!spec.empty() && spec.back() == ' ') spec.pop_back();
  if (spec.empty()) return Status::InvalidArgument("a breakpoint needs FILE:LINE, LINE or FUNCTION");
  if (!condition.empty()) TRACETAPE_RETURN_IF_ERROR(CheckSyntax(condition));
  Breakpoint bp;
  bp.id = next_breakpoint_id_;
  bp.condition = condition;
  bp.temporary = temporary;
  auto colon = spec.rfind(':');
  auto all_digits = [](const std::string& s) {
    return !s.empty() && s.size() < 10 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  std::string file, line;
  if (colon != std::string::npos && all_digits(spec.substr(colon + 1))) {
    file = spec.substr(0, colon);
    line = spec.substr(colon + 1);
  } else if (all_digits(spec)) {
    auto state = State();
    if (!state.ok() || state->stack.empty()) return Status::InvalidArgument("no current file for a line number");
    file = state->stack.back().file;
    line = spec;
  }
  if (!line.empty()) {
    bp.line = std::stoi(line);
    if (bp.line <= 0) return Status::InvalidArgument("line numbers start at 1");
    // The file must be one the tape recorded.
    auto recorded = RecordedFile(file);
    if (!recorded.ok()) return recorded.status();
    const std::string& match = *recorded;
    bp.file = match;
    const auto* lines = SourceLines(match);
    if (lines && !lines->empty() && static_cast<size_t>(bp.line) > lines->size()) {
      return Status::InvalidArgument(match + " has only " + std::to_string(lines->size()) + " lines");
    }
  } else {
    bp.function = true;
    bp.name = spec;
    for (char c : spec) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '<' || c == '>')) {
        return Status::InvalidArgument("'" + spec + "' is neither FILE:LINE, LINE nor a function name");
      }
    }
  }
  // With the footer's summaries it is known whether anything on the tape
  // can stop there: a breakpoint that never will says so.
  const FooterInfo* footer = tape_->footer();
  bool summaries = footer != nullptr && !footer->codes.empty();
  for (const auto& ref : tape_->chunks()) summaries = summaries && ref.has_summary;
  if (summaries) {
    bool can_hit = false;
    for (const auto& [id, code] : footer->codes) {
      if (can_hit) break;
      if (bp.function ? code.name != bp.name && code.qualname != bp.name : code.file != bp.file) continue;
      for (const auto& ref : tape_->chunks()) {
        if (bp.function ? std::binary_search(ref.call_codes.begin(), ref.call_codes.end(), id)
                        : std::binary_search(ref.line_keys.begin(), ref.line_keys.end(),
                                             (static_cast<uint64_t>(id) << 32) | static_cast<uint32_t>(bp.line))) {
          can_hit = true;
          break;
        }
      }
    }
    if (!can_hit) {
      bp.note = bp.function ? "no recorded function named " + bp.name + " was called: it will not stop"
                            : "line " + std::to_string(bp.line) + " never ran in this recording: it will not stop";
    }
  }
  // As pdb: no breakpoint where no code can be (unless the tape has events
  // there: the embedded source is then not what ran).
  if (!bp.function && (!summaries || !bp.note.empty())) {
    const auto* lines = SourceLines(bp.file);
    if (lines && static_cast<size_t>(bp.line) <= lines->size() &&
        BlankOrComment((*lines)[static_cast<size_t>(bp.line) - 1])) {
      return Status::InvalidArgument("line " + std::to_string(bp.line) + " of " + bp.file + " is blank or a comment");
    }
  }
  ++next_breakpoint_id_;
  breakpoints_.push_back(bp);
  return bp.id;
}

StatusOr<std::string> Engine::RecordedFile(const std::string& spec) {
  const std::string file = ResolveSpec(spec, tape_->header().cwd);
  std::string match;
  for (const auto& [path, src] : tape_->sources()) {
    if (PathMatches(path, file)) {
      if (!match.empty() && match != path) {
        return Status::InvalidArgument("'" + spec + "' is ambiguous: " + match + " or " + path + "?");
      }
      match = path;
    }
  }
  if (match.empty()) return Status::InvalidArgument("no recorded file matches '" + spec + "'");
  return match;
}

Status Engine::SetCondition(int id, const std::string& condition) {
  for (auto& bp : breakpoints_) {
    if (bp.id == id) {
      if (!condition.empty()) TRACETAPE_RETURN_IF_ERROR(CheckSyntax(condition));
      bp.condition = condition;
      return Status::Ok();
    }
  }
  return Status::InvalidArgument("no breakpoint number " + std::to_string(id));
}

Status Engine::ClearBreakpoint(int id) {
  for (auto it = breakpoints_.begin(); it != breakpoints_.end(); ++it) {
    if (it->id == id) {
      breakpoints_.erase(it);
      return Status::Ok();
    }
  }
  return Status::InvalidArgument("no breakpoint number " + std::to_string(id));
}

StatusOr<std::pair<uint64_t, uint64_t>> Engine::FrameBounds(uint64_t event, uint32_t up) {
  auto here = At(event);
  if (!here.ok()) return here.status();
  if (up >= here->depth) return Status::InvalidArgument("no such frame");
  const uint32_t t = here->thread, d = here->depth - up;
  uint64_t begin = event, end = event;
  if (up > 0 || here->kind != EventKind::kCall) {
    // Back to the frame's call, or to just after the last event of a
    // shallower frame on this thread (a frame that began before recording).
    auto r = Scan(event, false, [t, d](const IndexedChunk& c, size_t i) {
      return c.d.thread[i] == t && (c.depth[i] < d || (c.depth[i] == d && static_cast<EventKind>(c.d.kind[i]) == EventKind::kCall));
    });
    if (!r.ok()) return r.status();
    begin = 0;
    if (*r) {
      auto h = At(**r);
      if (!h.ok()) return h.status();
      begin = h->depth == d ? **r : **r + 1;
    }
  }
  if (up > 0 || here->kind != EventKind::kReturn) {
    auto r = Scan(event, true, [t, d](const IndexedChunk& c, size_t i) {
      return c.d.thread[i] == t && c.depth[i] == d && static_cast<EventKind>(c.d.kind[i]) == EventKind::kReturn;
    });
    if (!r.ok()) return r.status();
    end = *r ? **r : size() - 1;
  }
  return std::make_pair(begin, end);
}

StatusOr<int> Engine::AddWatch(const std::string& name, uint32_t up) {
  auto state = State();
  if (!state.ok()) return state.status();
  if (up >= state->stack.size()) return Status::InvalidArgument("no such frame");
  const uint32_t depth = static_cast<uint32_t>(state->stack.size()) - up;
  bool known = false;
  for (const auto& [n, v] : state->stack[depth - 1].locals) known |= n == name;
  auto bounds = FrameBounds(pos_, up);
  if (!bounds.ok()) return bounds.status();
  if (!known) {
    // It may be bound later in this frame: accept it if any event of the frame changes it.
    auto changes = When(name, up);
    if (!changes.ok()) return changes.status();
    if (changes->empty()) return Status::InvalidArgument("'" + name + "' is never captured in this frame");
  }
  Watch w;
  w.id = next_watch_id_++;
  w.name = name;
  w.thread = state->thread;
  w.depth = depth;
  w.frame_begin = bounds->first;
  w.frame_end = bounds->second;
  watches_.push_back(w);
  return w.id;
}

Status Engine::ClearWatch(int id) {
  for (auto it = watches_.begin(); it != watches_.end(); ++it) {
    if (it->id == id) {
      watches_.erase(it);
      return Status::Ok();
    }
  }
  return Status::InvalidArgument("no watch number " + std::to_string(id));
}

StatusOr<std::vector<std::pair<uint64_t, std::string>>> Engine::When(const std::string& name, uint32_t up) {
  auto here = At(pos_);
  if (!here.ok()) return here.status();
  auto bounds = FrameBounds(pos_, up);
  if (!bounds.ok()) return bounds.status();
  std::vector<std::pair<uint64_t, std::string>> out;
  const uint32_t t = here->thread, d = here->depth - up;
  bool changed_at_begin = false;
  for (size_t ci = tape_->ChunkFor(bounds->first); ci < tape_->chunks().size(); ++ci) {
    auto c = Chunk(ci);
    if (!c.ok()) return c.status();
    const IndexedChunk& chunk = **c;
    if (chunk.d.first_event > bounds->second) break;
    for (size_t i = 0; i < chunk.d.size(); ++i) {
      uint64_t g = chunk.d.first_event + i;
      if (g < bounds->first || g > bounds->second || chunk.d.thread[i] != t || chunk.depth[i] != d) continue;
      for (uint32_t k = chunk.d.delta_begin[i]; k < chunk.d.delta_begin[i + 1]; ++k) {
        const Binding& b = chunk.d.deltas[k];
        if (chunk.d.strings[b.name] != name) continue;
        changed_at_begin |= g == bounds->first;
        out.emplace_back(g, b.value == kUnbound ? std::string("<unbound>") : chunk.d.strings[b.value]);
      }
    }
  }
  // A frame that began before the recording (or a chunk's start state)
  // holds values no delta of this frame set: the first is where it is
  // first seen.
  if (!changed_at_begin) {
    auto first = StateAt(bounds->first);
    if (!first.ok()) return first.status();
    if (first->stack.size() >= d) {
      for (const auto& [n, v] : first->stack[d - 1].locals) {
        if (n == name) {
          out.insert(out.begin(), {bounds->first, v});
          break;
        }
      }
    }
    TRACETAPE_RETURN_IF_ERROR(WalkTo(pos_));  // StateAt moved the walker
  }
  return out;
}

StatusOr<Value> Engine::Eval(const std::string& expr, uint32_t depth_offset) {
  auto state = State();
  if (!state.ok()) return state.status();
  if (depth_offset >= state->stack.size()) return Status::InvalidArgument("no such frame");
  const auto& locals = state->stack[state->stack.size() - 1 - depth_offset].locals;
  return Evaluate(expr, [&](const std::string& name) -> std::optional<Value> {
    for (const auto& [n, text] : locals) {
      if (n == name) return ParseRendered(text);
    }
    return std::nullopt;
  });
}

const std::vector<std::string>* Engine::SourceLines(const std::string& file) {
  auto it = source_lines_.find(file);
  if (it != source_lines_.end()) return &it->second;
  auto src = tape_->sources().find(file);
  if (src == tape_->sources().end() || !src->second.omitted_reason.empty()) return nullptr;
  std::vector<std::string> lines;
  const std::string text = DecodeSource(src->second.text);
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = nl + 1;
  }
  return &source_lines_.emplace(file, std::move(lines)).first->second;
}

}  // namespace tracetape::replayer
