#include "tracetape/cli/replay_session.h"

#include "text.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

namespace tracetape::cli {
namespace {

using replayer::EventKind;
using replayer::FrameView;
using replayer::StateView;

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string Safe(const std::string& s) { return Printable(s, /*keep_tabs=*/true); }

// An `=` outside string literals and brackets (a keyword argument's) that
// is not part of ==, !=, <= or >=.
bool LooksLikeAssignment(const std::string& s) {
  char quote = 0;
  int nesting = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == '\\') ++i;
      else if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(' || c == '[' || c == '{') {
      ++nesting;
    } else if (c == ')' || c == ']' || c == '}') {
      if (nesting > 0) --nesting;
    } else if (c == '=' && nesting == 0) {
      bool part_of_op = (i + 1 < s.size() && s[i + 1] == '=') ||
                        (i > 0 && (s[i - 1] == '=' || s[i - 1] == '!' || s[i - 1] == '<' || s[i - 1] == '>'));
      if (!part_of_op) return true;
    }
  }
  return false;
}

bool ParseUint(const std::string& s, uint64_t* v) {
  if (s.empty() || s.size() > 19 || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  *v = std::stoull(s);
  return true;
}

// Pretty-prints a rendering: containers one item per line when long.
void Pretty(const replayer::Value& v, int indent, std::ostream& out) {
  using K = replayer::Value::Kind;
  std::string text = replayer::Repr(v);
  if (text.size() + static_cast<size_t>(indent) <= 79 ||
      (v.kind != K::kList && v.kind != K::kTuple && v.kind != K::kDict && v.kind != K::kSet && v.kind != K::kObject)) {
    out << Safe(text);
    return;
  }
  std::string pad(static_cast<size_t>(indent) + 1, ' ');
  char open = v.kind == K::kList ? '[' : v.kind == K::kTuple ? '(' : '{';
  char close = v.kind == K::kList ? ']' : v.kind == K::kTuple ? ')' : '}';
  if (v.kind == K::kObject) {
    out << Safe(v.str) << "(";
    pad = std::string(static_cast<size_t>(indent) + v.str.size() + 1, ' ');
    bool first = true;
    for (const auto& item : v.items) {
      if (!first) out << ",\n" << pad;
      first = false;
      Pretty(item, static_cast<int>(pad.size()), out);
    }
    for (const auto& [k, val] : v.attrs) {
      if (!first) out << ",\n" << pad;
      first = false;
      out << Safe(k) << "=";
      Pretty(val, static_cast<int>(pad.size() + k.size() + 1), out);
    }
    out << ")";
    return;
  }
  out << open;
  bool first = true;
  if (v.kind == K::kDict) {
    for (const auto& [k, val] : v.entries) {
      if (!first) out << ",\n" << pad;
      first = false;
      std::string key = Safe(replayer::Repr(k));
      out << key << ": ";
      Pretty(val, static_cast<int>(pad.size() + key.size() + 2), out);
    }
    if (v.truncated) out << ",\n" << pad << "...";
  } else {
    for (const auto& item : v.items) {
      if (!first) out << ",\n" << pad;
      first = false;
      Pretty(item, static_cast<int>(pad.size()), out);
    }
  }
  out << close;
}

constexpr const char* kHelp =
    "Moving (forward / backward):\n"
    "  s(tep) / rs, bs        next / previous line, call or exception on this thread\n"
    "  n(ext) / rn, bn        next / previous line or exception in this frame (the one\n"
    "                         u/d selected), or in its caller once it has ended\n"
    "  r(eturn) / rr, bfinish to this frame's return / back to the line that called it\n"
    "  c(ontinue) / rc, bc    to the next / previous breakpoint or watch hit\n"
    "  goto N|start|end|exception\n"
    "  (gdb's and rr's reverse-step, reverse-next, reverse-finish, reverse-continue too)\n"
    "Breakpoints:\n"
    "  b(reak) [FILE:LINE | LINE | FUNCTION][, CONDITION]   list or set\n"
    "  tbreak ...             one-shot breakpoint\n"
    "  cl(ear) [N... | all]   delete breakpoints\n"
    "  condition N [EXPR]     set or remove a breakpoint's condition\n"
    "  disable N / enable N\n"
    "  catch [raised] [uncaught] | catch off\n"
    "                         c/bc also stop where exceptions were raised: every one\n"
    "                         (not again as it unwinds), or the one that ended the run\n"
    "  watch NAME             stop where NAME changes in this frame (either direction)\n"
    "  unwatch N\n"
    "  when NAME              every event where NAME changed in this frame\n"
    "Looking:\n"
    "  w(here), u(p) [N], d(own) [N]     the stack and the selected frame\n"
    "  l(ist) [FIRST[, LAST] | .], ll    source, from the tape\n"
    "  a(rgs), p EXPR, pp EXPR           captured values: names, [item], [a:b], .attr, len(),\n"
    "                                    arithmetic, comparisons, (tuples), [lists], x if c else y\n"
    "  display [EXPR], undisplay [EXPR]  show EXPR after each move when it changed\n"
    "  retval (rv)                       this event's return value or exception\n"
    "  locals                            every captured local of the selected frame\n"
    "  info                              the tape, the position, breakpoints, watches\n"
    "  q(uit)\n"
    "An empty line repeats the last command; ';;' separates commands. The tape is read-only.\n";

}  // namespace

ReplaySession::ReplaySession(std::unique_ptr<replayer::Engine> engine) : engine_(std::move(engine)) {}

std::string ReplaySession::Prompt() const { return "(tape " + std::to_string(engine_->position()) + ") "; }

void ReplaySession::Error(std::ostream& out, const std::string& message, bool user_error) {
  out << "*** " << Safe(message) << "\n";
  if (user_error) ++errors_;
}

const FrameView* ReplaySession::Selected(const StateView& s) const {
  if (s.stack.empty()) return nullptr;
  size_t offset = std::min<size_t>(frame_offset_, s.stack.size() - 1);
  return &s.stack[s.stack.size() - 1 - offset];
}

void ReplaySession::PrintLocation(std::ostream& out) {
  auto state = engine_->State();
  if (!state.ok()) return Error(out, state.status().message(), false);
  const StateView& s = *state;
  const FrameView* f = Selected(s);
  if (!f) return Error(out, "no frame at this event", false);
  if (frame_offset_ == 0) {
    if (s.kind == EventKind::kCall) out << "--Call--\n";
    if (s.kind == EventKind::kReturn) out << "--Return--\n";
    if (s.kind == EventKind::kException) {
      // A message may span lines (pytest's assertion explanations do).
      std::string text = s.value;
      std::string shown;
      size_t start = 0;
      while (true) {
        size_t nl = text.find('\n', start);
        shown += Safe(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
        if (nl == std::string::npos) break;
        shown += "\n    ";
        start = nl + 1;
      }
      out << "--Exception-- " << shown << "\n";
    }
  }
  out << "> " << Safe(f->file) << "(" << f->line << ")" << Safe(f->func) << "()";
  if (frame_offset_ == 0 && s.kind == EventKind::kReturn) out << "->" << Safe(s.value);
  out << "\n";
  const auto* lines = engine_->SourceLines(f->file);
  if (lines && f->line >= 1 && static_cast<size_t>(f->line) <= lines->size()) {
    std::string src = (*lines)[static_cast<size_t>(f->line) - 1];
    out << "-> " << Safe(Trim(src)) << "\n";
  }
  if (frame_offset_ > 0) {
    // A frame's locals are captured at its own events: a caller shows them
    // as its last event (at this line) left them, not as the frames below
    // changed them since.
    out << "   (its locals as of its own last event, at this line)\n";
  }
}

void ReplaySession::Moved(std::ostream& out) {
  frame_offset_ = 0;
  list_next_ = -1;
  PrintLocation(out);
  for (auto& [expr, last] : displays_) {
    auto v = engine_->Eval(expr);
    std::string now = v.ok() ? replayer::Repr(*v) : "*** " + v.status().message();
    if (now != last) {
      out << "display " << Safe(expr) << ": " << Safe(now);
      if (!last.empty()) out << "  [old: " << Safe(last) << "]";
      out << "\n";
      last = now;
    }
  }
}

void ReplaySession::Move(const Status& s, std::ostream& out) {
  if (!s.ok()) {
    // Running off either end is information, not a mistake.
    if (s.code() == Status::Code::kNotFound) {
      out << Safe(s.message()) << "\n";
      return;
    }
    return Error(out, s.message(), false);
  }
  Moved(out);
}

bool ReplaySession::GotoSpec(const std::string& spec, std::ostream& out) {
  uint64_t n;
  Status s;
  if (spec == "start") {
    s = engine_->Goto(0);
  } else if (spec == "end") {
    s = engine_->Goto(engine_->size() - 1);
  } else if (spec == "exception") {
    auto e = engine_->ExceptionEvent();
    if (!e.ok()) {
      Error(out, e.status().message());
      return false;
    }
    s = engine_->Goto(*e);
  } else if (ParseUint(spec, &n)) {
    s = engine_->Goto(n);
  } else {
    Error(out, "goto wants an event number, start, end or exception (got '" + spec + "')");
    return false;
  }
  if (!s.ok()) {
    Error(out, s.message());
    return false;
  }
  Moved(out);
  return true;
}

void ReplaySession::Start(std::ostream& out) {
  const auto& tape = engine_->tape();
  bool test_tape = false;
  for (const auto& [k, v] : tape.header().options) test_tape |= k == "pytest_nodeid";
  bool failed = tape.footer() == nullptr || tape.footer()->exit_status != 0;
  if (test_tape && failed && engine_->ExceptionEvent().ok()) {
    for (const auto& [k, v] : tape.header().options) {
      if (k == "pytest_nodeid") out << "Test " << Safe(v) << " failed here:\n";
    }
    if (GotoSpec("exception", out)) {
      PrintLocals(out, /*all=*/false);
      return;
    }
  }
  PrintLocation(out);
}

void ReplaySession::PrintLocals(std::ostream& out, bool all) {
  auto s = engine_->State();
  if (!s.ok()) return;
  const FrameView* f = Selected(*s);
  if (!f) return;
  size_t hidden = 0;
  for (const auto& [name, value] : f->locals) {
    if (!all && !name.empty() && (name[0] == '@' || name[0] == '.')) {
      ++hidden;
      continue;
    }
    out << "  " << Safe(name) << " = " << Safe(value) << "\n";
  }
  if (hidden > 0) {
    out << "  (and " << hidden << (hidden == 1 ? " temporary" : " temporaries")
        << " of pytest's assertion rewriting or the compiler: `locals` shows them)\n";
  }
}

void ReplaySession::PrintSource(std::ostream& out, const FrameView& f, int first, int last, int current) {
  const auto* lines = engine_->SourceLines(f.file);
  if (!lines) {
    out << "*** no source for " << Safe(f.file) << " in this tape\n";
    return;
  }
  first = std::max(first, 1);
  if (first > static_cast<int>(lines->size())) {
    out << "[EOF]\n";
    return;
  }
  last = std::min<int>(last, static_cast<int>(lines->size()));
  std::set<int> bps;
  for (const auto& bp : engine_->breakpoints()) {
    if (!bp.function && bp.file == f.file) bps.insert(bp.line);
  }
  for (int i = first; i <= last; ++i) {
    char num[16];
    std::snprintf(num, sizeof(num), "%4d", i);
    out << num << " " << (bps.count(i) ? 'B' : ' ') << (i == current ? "->" : "  ") << " "
        << Safe((*lines)[static_cast<size_t>(i) - 1]) << "\n";
  }
  list_next_ = last + 1;
}

void ReplaySession::Help(const std::string& topic, std::ostream& out) {
  (void)topic;
  out << kHelp;
}

bool ReplaySession::Execute(const std::string& line_in, std::ostream& out) {
  std::string line = Trim(line_in);
  if (line.empty()) {
    if (last_command_.empty()) return true;
    line = last_command_;
  } else {
    last_command_ = line;
  }
  size_t start = 0;
  while (true) {
    size_t sep = line.find(";;", start);
    std::string cmd = Trim(line.substr(start, sep == std::string::npos ? std::string::npos : sep - start));
    if (!cmd.empty() && !Run(cmd, out)) return false;
    if (sep == std::string::npos) break;
    start = sep + 2;
  }
  return true;
}

bool ReplaySession::Run(const std::string& command, std::ostream& out) {
  std::string cmd = command, arg;
  size_t sp = command.find_first_of(" \t");
  if (sp != std::string::npos) {
    cmd = command.substr(0, sp);
    arg = Trim(command.substr(sp + 1));
  }
  if (!cmd.empty() && cmd[0] == '!') {
    Error(out, "the tape is read-only: statements cannot change the past");
    return true;
  }
  auto is = [&](std::initializer_list<const char*> names) {
    for (const char* n : names) {
      if (cmd == n) return true;
    }
    return false;
  };
  auto no_arg = [&]() {
    if (arg.empty()) return true;
    Error(out, cmd + " takes no argument");
    return false;
  };

  if (is({"q", "quit", "exit"})) return false;
  if (is({"h", "help", "?"})) {
    Help(arg, out);
  } else if (is({"s", "step"})) {
    if (no_arg()) Move(engine_->Step(true), out);
  } else if (is({"rs", "bs", "back-step", "reverse-step"})) {
    if (no_arg()) Move(engine_->Step(false), out);
  } else if (is({"n", "next"})) {
    if (no_arg()) Move(engine_->Next(true, frame_offset_), out);
  } else if (is({"rn", "bn", "reverse-next"})) {
    if (no_arg()) Move(engine_->Next(false, frame_offset_), out);
  } else if (is({"r", "return", "finish"})) {
    if (no_arg()) Move(engine_->Finish(true, frame_offset_), out);
  } else if (is({"rr", "bfinish", "reverse-finish"})) {
    if (no_arg()) Move(engine_->Finish(false, frame_offset_), out);
  } else if (is({"c", "cont", "continue", "rc", "bc", "reverse-continue"})) {
    if (!no_arg()) return true;
    std::string why;
    Status s = engine_->Continue(!is({"rc", "bc", "reverse-continue"}), &why);
    if (!s.ok()) {
      Error(out, s.message(), false);
    } else {
      out << Safe(why) << "\n";
      Moved(out);
    }
  } else if (is({"catch"})) {
    // gdb's `catch throw`: continue, either way, also stops at exceptions.
    if (!arg.empty()) {
      bool raised = false, uncaught = false, off = false;
      std::istringstream words(arg);
      for (std::string w; words >> w;) {
        if (w == "raised") {
          raised = true;
        } else if (w == "uncaught") {
          uncaught = true;
        } else if (w == "off") {
          off = true;
        } else {
          Error(out, "catch takes raised, uncaught or off (got '" + w + "')");
          return true;
        }
      }
      if (off && (raised || uncaught)) {
        Error(out, "catch off takes nothing more");
        return true;
      }
      engine_->SetExceptionStops(raised, uncaught);
    }
    const bool r = engine_->stops_at_raised(), u = engine_->stops_at_uncaught();
    if (!r && !u) {
      out << "Continue stops at no exception.\n";
    } else {
      out << "Continue stops where " << (r ? "any exception was raised" : "")
          << (r && u ? ", and names " : "") << (u ? "the exception that ended the run" : "")
          << (u && !r ? " was raised" : "") << ".\n";
    }
  } else if (is({"goto", "g"})) {
    if (arg.empty()) {
      Error(out, "goto wants an event number, start, end or exception");
    } else {
      GotoSpec(arg, out);
    }
  } else if (is({"b", "break", "tbreak"})) {
    if (arg.empty() && cmd != "tbreak") {
      if (engine_->breakpoints().empty()) out << "No breakpoints.\n";
      for (const auto& bp : engine_->breakpoints()) {
        out << bp.id << "  " << (bp.temporary ? "del " : "keep") << "  " << (bp.enabled ? "yes" : "no ") << "  at "
            << Safe(bp.function ? bp.name : bp.file + ":" + std::to_string(bp.line));
        if (!bp.condition.empty()) out << "  if " << Safe(bp.condition);
        out << "  (hit " << bp.hits << (bp.hits == 1 ? " time)" : " times)") << "\n";
      }
      return true;
    }
    std::string spec = arg, cond;
    auto comma = arg.find(',');
    if (comma != std::string::npos) {
      spec = Trim(arg.substr(0, comma));
      cond = Trim(arg.substr(comma + 1));
    }
    auto id = engine_->AddBreakpoint(spec, cond, cmd == "tbreak");
    if (!id.ok()) {
      Error(out, id.status().message());
    } else {
      const auto& bp = engine_->breakpoints().back();
      out << (bp.temporary ? "Temporary breakpoint " : "Breakpoint ") << *id << " at "
          << Safe(bp.function ? bp.name : bp.file + ":" + std::to_string(bp.line)) << "\n";
      if (!bp.note.empty()) out << "    (" << Safe(bp.note) << ")\n";
    }
  } else if (is({"cl", "clear"})) {
    if (arg.empty() || arg == "all") {
      engine_->ClearAllBreakpoints();
      out << "Deleted all breakpoints\n";
    } else {
      std::istringstream ids(arg);
      std::string tok;
      while (ids >> tok) {
        uint64_t n;
        if (!ParseUint(tok, &n)) {
          Error(out, "clear wants breakpoint numbers or 'all' (got '" + tok + "')");
          continue;
        }
        Status s = engine_->ClearBreakpoint(static_cast<int>(n));
        if (s.ok()) {
          out << "Deleted breakpoint " << n << "\n";
        } else {
          Error(out, s.message());
        }
      }
    }
  } else if (is({"condition"})) {
    std::string num = arg, cond;
    auto sp2 = arg.find(' ');
    if (sp2 != std::string::npos) {
      num = arg.substr(0, sp2);
      cond = Trim(arg.substr(sp2 + 1));
    }
    uint64_t n;
    if (!ParseUint(num, &n)) {
      Error(out, "condition wants a breakpoint number");
    } else {
      Status s = engine_->SetCondition(static_cast<int>(n), cond);
      if (!s.ok()) {
        Error(out, s.message());
      } else {
        out << (cond.empty() ? "Breakpoint " + num + " is now unconditional." : "New condition set for breakpoint " + num + ".")
            << "\n";
      }
    }
  } else if (is({"disable", "enable"})) {
    uint64_t n;
    bool found = false;
    if (ParseUint(arg, &n)) {
      for (auto& bp : const_cast<std::vector<replayer::Breakpoint>&>(engine_->breakpoints())) {
        if (bp.id == static_cast<int>(n)) {
          bp.enabled = cmd == "enable";
          found = true;
          out << (bp.enabled ? "Enabled" : "Disabled") << " breakpoint " << n << "\n";
        }
      }
    }
    if (!found) Error(out, cmd + " wants a breakpoint number");
  } else if (is({"watch"})) {
    if (arg.empty()) {
      for (const auto& w : engine_->watches()) out << w.id << "  " << Safe(w.name) << "  (thread " << w.thread << ", depth " << w.depth << ")\n";
      if (engine_->watches().empty()) out << "No watches.\n";
    } else {
      auto id = engine_->AddWatch(arg, frame_offset_);
      if (!id.ok()) {
        Error(out, id.status().message());
      } else {
        out << "Watchpoint " << *id << ": " << Safe(arg) << " (in this frame)\n";
      }
    }
  } else if (is({"unwatch"})) {
    uint64_t n;
    if (!ParseUint(arg, &n)) {
      Error(out, "unwatch wants a watch number");
    } else {
      Status s = engine_->ClearWatch(static_cast<int>(n));
      if (!s.ok()) {
        Error(out, s.message());
      } else {
        out << "Deleted watchpoint " << n << "\n";
      }
    }
  } else if (is({"when"})) {
    if (arg.empty()) {
      Error(out, "when wants a name");
    } else {
      auto here = engine_->State();
      const size_t depth = here.ok() && here->stack.size() > frame_offset_ ? here->stack.size() - frame_offset_ : 0;
      auto changes = engine_->When(arg, frame_offset_);
      if (!changes.ok()) {
        Error(out, changes.status().message());
      } else if (changes->empty()) {
        // Its first binding is a change too: none means it never had a value here.
        out << Safe(arg) << " is not bound at any event of this frame\n";
      } else {
        for (const auto& [e, v] : *changes) {
          auto st = engine_->StateAt(e);
          int line = st.ok() && depth > 0 && st->stack.size() >= depth ? st->stack[depth - 1].line : 0;
          out << "  event " << e << "  line " << line << "  " << Safe(arg) << " = " << Safe(v) << "\n";
        }
        // StateAt moved the walker, not the cursor: keep the cursor where it is.
        (void)engine_->Goto(engine_->position());
      }
    }
  } else if (is({"w", "where", "bt"})) {
    if (!no_arg()) return true;
    auto s = engine_->State();
    if (!s.ok()) return Error(out, s.status().message(), false), true;
    if (s->stack.empty()) out << "(no recorded frames)\n";
    for (size_t i = 0; i < s->stack.size(); ++i) {
      const auto& f = s->stack[i];
      bool selected = s->stack.size() - 1 - i == std::min<size_t>(frame_offset_, s->stack.size() - 1);
      out << (selected ? "> " : "  ") << Safe(f.file) << "(" << f.line << ")" << Safe(f.func) << "()\n";
      const auto* lines = engine_->SourceLines(f.file);
      if (lines && f.line >= 1 && static_cast<size_t>(f.line) <= lines->size()) {
        out << "-> " << Safe(Trim((*lines)[static_cast<size_t>(f.line) - 1])) << "\n";
      }
    }
    if (!s->thread_name.empty()) out << "  (thread " << s->thread << ": " << Safe(s->thread_name) << ")\n";
  } else if (is({"u", "up", "d", "down"})) {
    uint64_t n = 1;
    if (!arg.empty() && !ParseUint(arg, &n)) return Error(out, cmd + " wants a count"), true;
    auto s = engine_->State();
    if (!s.ok()) return Error(out, s.status().message(), false), true;
    bool up = cmd[0] == 'u';
    uint64_t max_offset = s->stack.empty() ? 0 : s->stack.size() - 1;
    if (up && frame_offset_ >= max_offset) {
      Error(out, "Oldest frame", false);
    } else if (!up && frame_offset_ == 0) {
      Error(out, "Newest frame", false);
    } else {
      frame_offset_ = up ? static_cast<uint32_t>(std::min<uint64_t>(frame_offset_ + n, max_offset))
                         : static_cast<uint32_t>(frame_offset_ > n ? frame_offset_ - n : 0);
      list_next_ = -1;
      PrintLocation(out);
    }
  } else if (is({"l", "list", "ll", "longlist"})) {
    auto s = engine_->State();
    if (!s.ok()) return Error(out, s.status().message(), false), true;
    const FrameView* f = Selected(*s);
    if (!f) return Error(out, "no frame", false), true;
    if (cmd == "ll" || cmd == "longlist") {
      const auto* lines = engine_->SourceLines(f->file);
      int first = f->first_line > 0 ? f->first_line : f->line;
      int last = first;
      if (lines) {
        auto indent = [](const std::string& l) { return l.find_first_not_of(" \t"); };
        // co_firstlineno is the first decorator: the body is indented
        // relative to the `def` (or `class`) line that follows them.
        size_t def_line = static_cast<size_t>(first);
        while (def_line >= 1 && def_line <= lines->size()) {
          std::string t = Trim((*lines)[def_line - 1]);
          if (t.rfind("@", 0) != 0) break;
          ++def_line;
        }
        size_t base = def_line >= 1 && def_line <= lines->size() ? indent((*lines)[def_line - 1]) : 0;
        last = static_cast<int>(lines->size());
        for (size_t i = def_line; i < lines->size(); ++i) {
          const std::string& l = (*lines)[i];
          size_t in = indent(l);
          if (in == std::string::npos || l[in] == '#') continue;
          if (in <= base && f->func != "<module>") {
            last = static_cast<int>(i);
            break;
          }
        }
        while (last > first && Trim((*lines)[static_cast<size_t>(last) - 1]).empty()) --last;
      }
      PrintSource(out, *f, first, last, f->line);
    } else {
      int first, last;
      if (arg.empty()) {
        first = list_next_ > 0 ? list_next_ : std::max(1, f->line - 5);
        last = first + 10;
      } else if (arg == ".") {
        first = std::max(1, f->line - 5);
        last = first + 10;
      } else {
        std::string a = arg, b;
        auto comma = arg.find(',');
        if (comma != std::string::npos) {
          a = Trim(arg.substr(0, comma));
          b = Trim(arg.substr(comma + 1));
        }
        uint64_t x, y = 0;
        if (!ParseUint(a, &x) || (!b.empty() && !ParseUint(b, &y))) {
          return Error(out, "list wants [FIRST[, LAST]] or '.'"), true;
        }
        first = static_cast<int>(x);
        last = b.empty() ? first + 10 : (y < x ? first + static_cast<int>(y) : static_cast<int>(y));
        if (b.empty()) {
          first = std::max(1, first - 5);
          last = first + 10;
        }
      }
      PrintSource(out, *f, first, last, f->line);
    }
  } else if (is({"a", "args"})) {
    if (!no_arg()) return true;
    auto s = engine_->State();
    if (!s.ok()) return Error(out, s.status().message(), false), true;
    const FrameView* f = Selected(*s);
    if (!f) return true;
    for (const auto& name : f->args) {
      auto it = std::find_if(f->locals.begin(), f->locals.end(), [&](const auto& kv) { return kv.first == name; });
      out << Safe(name) << " = " << (it == f->locals.end() ? std::string("<not captured>") : Safe(it->second)) << "\n";
    }
  } else if (is({"p", "pp", "print"})) {
    if (arg.empty()) return Error(out, cmd + " wants an expression"), true;
    if (LooksLikeAssignment(arg)) {
      return Error(out, "the tape is read-only: assignments cannot change the past"), true;
    }
    auto v = engine_->Eval(arg, frame_offset_);
    if (!v.ok()) {
      Error(out, v.status().message());
    } else if (cmd == "pp") {
      Pretty(*v, 0, out);
      out << "\n";
    } else {
      out << Safe(replayer::Repr(*v)) << "\n";
    }
  } else if (is({"display"})) {
    if (arg.empty()) {
      if (displays_.empty()) out << "No displays.\n";
      for (const auto& [e, v] : displays_) out << "display " << Safe(e) << ": " << Safe(v) << "\n";
    } else {
      auto v = engine_->Eval(arg, frame_offset_);
      std::string now = v.ok() ? replayer::Repr(*v) : "*** " + v.status().message();
      // After a move it is shown in the event's own frame: a value of a frame
      // selected with `up` is no "old" value there.
      displays_.emplace_back(arg, frame_offset_ == 0 ? now : std::string());
      out << "display " << Safe(arg) << ": " << Safe(now) << "\n";
    }
  } else if (is({"undisplay"})) {
    if (arg.empty()) {
      displays_.clear();
    } else {
      auto before = displays_.size();
      displays_.erase(std::remove_if(displays_.begin(), displays_.end(), [&](const auto& d) { return d.first == arg; }),
                      displays_.end());
      if (displays_.size() == before) Error(out, "not displaying " + arg);
    }
  } else if (is({"locals"})) {
    if (no_arg()) PrintLocals(out);
  } else if (is({"retval", "rv"})) {
    if (!no_arg()) return true;
    auto s = engine_->State();
    if (!s.ok()) return Error(out, s.status().message(), false), true;
    if (!s->has_value) {
      Error(out, "not at a return or exception event", false);
    } else {
      out << Safe(s->value) << "\n";
    }
  } else if (is({"info"})) {
    const auto& tape = engine_->tape();
    auto s = engine_->State();
    out << "tape: " << Safe(tape.path()) << ", " << engine_->size() << " events, "
        << (tape.complete() ? "complete" : "incomplete: " + Safe(tape.tail_status().message())) << "\n";
    out << "recorded: " << Safe(tape.header().python_implementation) << " " << Safe(tape.header().python_version.substr(0, tape.header().python_version.find(' ')))
        << " on " << Safe(tape.header().platform) << ", argv:";
    for (const auto& a : tape.header().argv) out << " " << Safe(a);
    out << "\n";
    if (s.ok()) {
      out << "at: event " << s->index << " (" << replayer::EventKindName(s->kind) << ") on thread " << s->thread << " ("
          << Safe(s->thread_name) << "), depth " << s->stack.size() << "\n";
    }
    out << "breakpoints: " << engine_->breakpoints().size() << ", watches: " << engine_->watches().size()
        << ", displays: " << displays_.size() << "\n";
  } else if (is({"j", "jump", "interact", "restart", "run", "debug", "commands", "alias", "source"})) {
    Error(out, "the tape is read-only: '" + cmd + "' would change the past");
  } else if (cmd.rfind("back", 0, 4) == 0 || cmd.rfind("rev", 0, 3) == 0) {
    // A word for going backwards that is not one of ours.
    Error(out, "Unknown command '" + cmd + "': backwards, rs (step), rn (next), rr (finish), rc (continue)");
  } else {
    Error(out, "Unknown command '" + cmd + "' (type 'help')");
  }
  return true;
}

}  // namespace tracetape::cli
