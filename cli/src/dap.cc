// `tracetape dap`: the replay engine behind the Debug Adapter Protocol, over
// stdin/stdout, for editors (VS Code, nvim-dap, Emacs dap-mode...). The same
// moves as the prompt, both directions: DAP's stepBack and reverseContinue
// (capability supportsStepBack) are `bn` and `bc`.
//
// The program is not there: `launch` opens a tape ("tape", or "program" for
// clients that only know that name), sources come from the tape
// (sourceReference), and nothing runs between stops. The debug console is the
// prompt: a line is evaluated as an expression in the selected frame, and
// else run as a prompt command (`goto 120`, `when x`, `watch x`, `bs`, `w`).
//
// Input is untrusted like a tape: a message's size is bounded, malformed JSON
// or a request with wrong argument types gets an error response (or a line on
// stderr when it cannot be answered), never a crash.
#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <ostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "text.h"
#include "tracetape/cli/cli.h"
#include "tracetape/cli/replay_session.h"
#include "tracetape/replayer/engine.h"
#include "tracetape/replayer/expr.h"
#include "tracetape/replayer/value.h"

namespace tracetape::cli {
namespace {

using json = nlohmann::json;
using replayer::Engine;
using replayer::EventKind;
using replayer::StateView;
using replayer::Value;

constexpr const char* kDapUsage =
    "usage: tracetape dap\n"
    "  Serves the Debug Adapter Protocol on stdin/stdout. Launch arguments:\n"
    "  {\"tape\": FILE, \"goto\": \"start|end|exception|N\", \"stopOnEntry\": true|false}\n";

// A message larger than this is refused (and ends the session: the stream
// cannot be resynchronised without reading it). Requests are kilobytes.
constexpr size_t kMaxMessage = 1u << 20;

// Checked accessors: a client's JSON is untrusted, and nlohmann's own
// accessors throw on a type mismatch.
const json* Member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}
std::string GetString(const json& object, const char* key, const std::string& fallback = "") {
  const json* v = Member(object, key);
  return v && v->is_string() ? v->get<std::string>() : fallback;
}
bool GetBool(const json& object, const char* key, bool fallback) {
  const json* v = Member(object, key);
  return v && v->is_boolean() ? v->get<bool>() : fallback;
}
// An integer in [lo, hi], else `fallback`.
int64_t GetInt(const json& object, const char* key, int64_t fallback, int64_t lo = INT32_MIN,
               int64_t hi = INT32_MAX) {
  const json* v = Member(object, key);
  if (!v || !v->is_number_integer()) return fallback;
  const int64_t i = v->is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(v->get<uint64_t>(), INT64_MAX))
                                            : v->get<int64_t>();
  return i < lo || i > hi ? fallback : i;
}

std::string Basename(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

class DapServer {
 public:
  DapServer(std::istream& in, std::ostream& out, std::ostream& err) : in_(in), out_(out), err_(err) {}

  int Run() {
    while (!done_) {
      json message;
      std::string error;
      const int got = Read(&message, &error);
      if (got == 0) break;  // end of input
      if (got < 0) {
        err_ << "tracetape dap: error: " << error << "\n";
        return 1;
      }
      if (!message.is_object() || GetString(message, "type") != "request" || !Member(message, "seq") ||
          !Member(message, "seq")->is_number_integer() || GetString(message, "command").empty()) {
        err_ << "tracetape dap: warning: ignored a message that is not a DAP request\n";
        continue;
      }
      try {
        Handle(message);
      } catch (const std::exception& e) {  // a malformed argument that got past the checks
        Fail(message, std::string("malformed request: ") + e.what());
      }
    }
    return 0;
  }

 private:
  // 1: a message; 0: end of input before one began; -1: a framing error.
  int Read(json* message, std::string* error) {
    size_t length = 0;
    bool have_length = false, any = false;
    std::string line;
    for (int lines = 0;; ++lines) {
      // Bounded before it is read: a header line is at most 1024 bytes, a
      // header at most 32 lines.
      line.clear();
      int ch;
      while ((ch = in_.get()) != std::char_traits<char>::eof() && ch != '\n') {
        if (line.size() == 1024) {
          *error = "a header line longer than 1024 bytes";
          return -1;
        }
        line.push_back(static_cast<char>(ch));
      }
      if (ch == std::char_traits<char>::eof()) {
        if (!any && line.empty()) return 0;
        *error = "input ended inside a message header";
        return -1;
      }
      any = true;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) break;
      if (lines == 32) {
        *error = "a message header of more than 32 lines";
        return -1;
      }
      const auto colon = line.find(':');
      if (colon == std::string::npos) {
        *error = "a header line without ':' (" + Printable(line) + ")";
        return -1;
      }
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      if (name != "content-length") continue;
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      if (value.empty() || value.size() > 12 || value.find_first_not_of("0123456789") != std::string::npos) {
        *error = "Content-Length is not a number (" + Printable(value) + ")";
        return -1;
      }
      length = std::stoull(value);
      have_length = true;
    }
    if (!have_length) {
      *error = "a message without Content-Length";
      return -1;
    }
    if (length > kMaxMessage) {
      *error = "a message of " + std::to_string(length) + " bytes (at most " + std::to_string(kMaxMessage) + ")";
      return -1;
    }
    std::string body(length, '\0');
    in_.read(body.data(), static_cast<std::streamsize>(length));
    if (static_cast<size_t>(in_.gcount()) != length) {
      *error = "input ended inside a message (" + std::to_string(in_.gcount()) + " of " + std::to_string(length) +
               " bytes)";
      return -1;
    }
    *message = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (message->is_discarded()) {
      err_ << "tracetape dap: warning: ignored a message that is not JSON\n";
      *message = json();  // not a request: skipped by Run
    }
    return 1;
  }

  void Send(json message) {
    message["seq"] = seq_++;
    const std::string body = message.dump(-1, ' ', false, json::error_handler_t::replace);
    out_ << "Content-Length: " << body.size() << "\r\n\r\n" << body;
    out_.flush();
  }
  void Respond(const json& request, json body = nullptr) {
    json r = {{"type", "response"},
              {"request_seq", request["seq"]},
              {"success", true},
              {"command", request["command"]}};
    if (!body.is_null()) r["body"] = std::move(body);
    Send(std::move(r));
  }
  void Fail(const json& request, const std::string& message) {
    Send({{"type", "response"},
          {"request_seq", request["seq"]},
          {"success", false},
          {"command", request["command"]},
          {"message", message},
          {"body", {{"error", {{"id", 1}, {"format", message}, {"showUser", true}}}}}});
  }
  void Event(const std::string& name, json body = nullptr) {
    json e = {{"type", "event"}, {"event", name}};
    if (!body.is_null()) e["body"] = std::move(body);
    Send(std::move(e));
  }
  void Output(const std::string& text, const std::string& category = "console") {
    Event("output", {{"category", category}, {"output", text}});
  }

  Engine& engine() { return session_->engine(); }

  // Lines and columns as the client counts them (initialize's
  // linesStartAt1 / columnsStartAt1).
  int64_t ClientLine(int64_t line) const { return lines_from_1_ ? line : line - 1; }
  int64_t TapeLine(int64_t line) const { return lines_from_1_ ? line : line + 1; }

  void Handle(const json& request) {
    const std::string command = GetString(request, "command");
    static const json kNoArgs = json::object();
    const json* a = Member(request, "arguments");
    const json& args = a && a->is_object() ? *a : kNoArgs;
    if (command == "initialize") return Initialize(request, args);
    if (command == "launch" || command == "attach") return Launch(request, args);
    if (command == "disconnect") {
      Respond(request);
      done_ = true;
      return;
    }
    if (command == "terminate") {
      Respond(request);
      Event("terminated");
      return;
    }
    static const std::set<std::string> kCommands = {
        "setBreakpoints", "setFunctionBreakpoints", "setExceptionBreakpoints", "configurationDone", "threads",
        "stackTrace", "scopes", "variables", "source", "loadedSources", "evaluate", "pause", "continue",
        "reverseContinue", "next", "stepBack", "stepIn", "stepOut", "dataBreakpointInfo", "setDataBreakpoints",
        "exceptionInfo"};
    if (!kCommands.count(command)) return Fail(request, "'" + command + "' is not supported by tracetape's replay");
    if (!session_) return Fail(request, "no tape: send 'launch' with {\"tape\": FILE} first");
    if (command == "setBreakpoints") return SetBreakpoints(request, args);
    if (command == "setFunctionBreakpoints") return SetFunctionBreakpoints(request, args);
    if (command == "setExceptionBreakpoints") return SetExceptionBreakpoints(request, args);
    if (command == "exceptionInfo") return ExceptionInfo(request);
    if (command == "dataBreakpointInfo") return DataBreakpointInfo(request, args);
    if (command == "setDataBreakpoints") return SetDataBreakpoints(request, args);
    if (command == "configurationDone") return ConfigurationDone(request);
    if (command == "threads") return Threads(request);
    if (command == "stackTrace") return StackTrace(request, args);
    if (command == "scopes") return Scopes(request, args);
    if (command == "variables") return Variables(request, args);
    if (command == "source") return Source(request, args);
    if (command == "loadedSources") return LoadedSources(request);
    if (command == "evaluate") return Evaluate(request, args);
    if (command == "pause") {
      Respond(request);
      return Stopped("pause", "");
    }
    if (command == "continue" || command == "reverseContinue") {
      std::string why;
      Status s = engine().Continue(command == "continue", &why);
      if (!s.ok()) return Fail(request, s.message());
      Respond(request, {{"allThreadsContinued", true}});
      return StoppedBy(why);
    }
    if (command == "next" || command == "stepBack" || command == "stepIn" || command == "stepOut") {
      auto state = engine().State();
      if (!state.ok()) return Fail(request, state.status().message());
      const json* thread = Member(args, "threadId");
      if (thread && thread->is_number_integer() && GetInt(args, "threadId", 0, 0, INT64_MAX) != state->thread + 1) {
        return Fail(request, "steps follow the thread of the current event (" + std::to_string(state->thread + 1) +
                                 ", " + state->thread_name + "): continue to a breakpoint in this one, or goto");
      }
      // An IDE's steps (debugpy's): over a frame's return, not onto it.
      using Stops = Engine::Stops;
      Status s = command == "next"       ? engine().Next(true, 0, Stops::kLines)
                 : command == "stepBack" ? engine().Next(false, 0, Stops::kLines)
                 : command == "stepIn"   ? engine().Step(true, Stops::kLines)
                                         : engine().Finish(true);
      Respond(request);
      // Nowhere to go (the tape's edge, the outermost frame): it stays, as
      // the prompt does, and says why.
      if (!s.ok()) Output(s.message() + "\n");
      return Stopped("step", s.ok() ? "" : s.message());
    }
  }

  void Initialize(const json& request, const json& args) {
    lines_from_1_ = GetBool(args, "linesStartAt1", true);
    columns_from_1_ = GetBool(args, "columnsStartAt1", true);
    Respond(request, {{"supportsConfigurationDoneRequest", true},
                      {"supportsStepBack", true},
                      {"supportsConditionalBreakpoints", true},
                      {"supportsFunctionBreakpoints", true},
                      {"supportsEvaluateForHovers", true},
                      {"supportsTerminateRequest", true},
                      {"supportsLoadedSourcesRequest", true},
                      {"supportsDataBreakpoints", true},
                      {"supportsExceptionInfoRequest", true},
                      {"exceptionBreakpointFilters",
                       json::array({{{"filter", "raised"},
                                     {"label", "Raised Exceptions"},
                                     {"description", "Where any exception was raised (StopIteration and "
                                                     "GeneratorExit of the iteration protocol aside)"},
                                     {"default", false}},
                                    {{"filter", "uncaught"},
                                     {"label", "Uncaught Exceptions"},
                                     {"description", "Where the exception that ended the run was raised"},
                                     {"default", true}}})}});
  }

  void Launch(const json& request, const json& args) {
    if (session_) return Fail(request, "a tape is already open");
    std::string path = GetString(args, "tape", GetString(args, "program"));
    if (path.empty()) return Fail(request, "launch needs {\"tape\": FILE}");
    auto opened = Engine::Open(path);
    if (!opened.ok()) return Fail(request, "cannot replay " + path + ": " + opened.status().message());
    session_ = std::make_unique<ReplaySession>(std::move(opened).value());
    goto_ = GetString(args, "goto");
    if (const json* g = Member(args, "goto"); g && g->is_number_unsigned()) goto_ = std::to_string(g->get<uint64_t>());
    stop_on_entry_ = GetBool(args, "stopOnEntry", true);
    Respond(request);
    const auto& tape = engine().tape();
    std::ostringstream where;
    where << "tracetape: replaying " << tape.path() << " (" << engine().size() << " events";
    if (!tape.complete()) where << "; incomplete: " << tape.tail_status().message();
    where << ")\n";
    Output(where.str());
    Event("initialized");
  }

  void ConfigurationDone(const json& request) {
    Respond(request);
    std::ostringstream said;
    if (!goto_.empty()) {
      if (!session_->GotoSpec(goto_, said)) Output(said.str(), "stderr");
      return Stopped("entry", "");
    }
    session_->Start(said);  // the failure of a failed test's tape, else the first event
    if (said.str().rfind("Test ", 0) == 0) {
      auto state = engine().State();
      std::string what = said.str().substr(0, said.str().find('\n'));
      if (state.ok() && state->has_value) what += " " + state->value;
      return Stopped("exception", what);
    }
    if (stop_on_entry_) return Stopped("entry", "");
    std::string why;
    Status s = engine().Continue(true, &why);
    if (!s.ok()) Output(s.message() + "\n", "stderr");
    StoppedBy(why);
  }

  void SetExceptionBreakpoints(const json& request, const json& args) {
    bool raised = false, uncaught = false;
    json result = json::array();
    const json* filters = Member(args, "filters");
    if (filters && filters->is_array()) {
      for (const json& f : *filters) {
        const std::string name = f.is_string() ? f.get<std::string>() : "";
        raised |= name == "raised";
        uncaught |= name == "uncaught";
        if (name == "raised" || name == "uncaught") {
          result.push_back({{"verified", true}});
        } else {
          result.push_back({{"verified", false}, {"message", "no exception filter '" + name + "'"}});
        }
      }
    }
    engine().SetExceptionStops(raised, uncaught);
    Respond(request, {{"breakpoints", std::move(result)}});
  }

  void ExceptionInfo(const json& request) {
    auto state = engine().State();
    if (!state.ok()) return Fail(request, state.status().message());
    if (state->kind != EventKind::kException || !state->has_value) {
      return Fail(request, "not at an exception");
    }
    auto uncaught = engine().UncaughtException();
    const bool ended = uncaught.ok() && *uncaught && **uncaught == state->index;
    const std::string& value = state->value;  // "TypeName: message"
    const auto colon = value.find(':');
    Respond(request, {{"exceptionId", value.substr(0, colon)},
                      {"description", value},
                      {"breakMode", ended ? "unhandled" : "always"}});
  }

  // The stop a continue came to, from the engine's reason ("Breakpoint 2
  // at app.py:7", "Watchpoint 1: x changed", "Exception raised: ...",
  // "end of the tape").
  void StoppedBy(const std::string& why) {
    if (why.rfind("Exception raised: ", 0) == 0 || why.rfind("Uncaught exception: ", 0) == 0) {
      return Stopped("exception", why);
    }
    int id = 0;
    for (const char* prefix : {"Breakpoint ", "Temporary breakpoint "}) {
      const size_t n = std::char_traits<char>::length(prefix);
      if (why.compare(0, n, prefix) == 0) id = std::atoi(why.c_str() + n);
    }
    if (id == 0 && why.rfind("Watchpoint ", 0) == 0) {
      return Stopped("data breakpoint", why, kWatchIds + std::atoi(why.c_str() + 11));
    }
    if (id == 0) return Stopped("pause", why);
    bool function = false;
    for (const auto& b : engine().breakpoints()) function |= b.id == id && b.function;
    Stopped(function ? "function breakpoint" : "breakpoint", why, id);
  }

  // A stop: what the client holds about frames and values is stale.
  void Stopped(const std::string& reason, const std::string& description, int breakpoint = 0) {
    values_.clear();
    expanded_.clear();
    frames_.clear();
    frame_ids_.clear();
    auto state = engine().State();
    json body = {{"reason", reason}, {"allThreadsStopped", true}};
    if (breakpoint > 0) body["hitBreakpointIds"] = json::array({breakpoint});
    if (state.ok()) body["threadId"] = state->thread + 1;
    if (!description.empty()) {
      body["description"] = description;
      body["text"] = description;
    }
    Event("stopped", std::move(body));
  }

  void Threads(const json& request) {
    // Every thread of a complete tape (its footer lists them); of one
    // without a footer (the process died), those with frames here: finding
    // the others would read the whole tape.
    std::map<uint32_t, std::string> threads;
    if (const auto* footer = engine().tape().footer()) {
      for (const auto& t : footer->threads) threads[t.index] = t.name;
    }
    auto live = engine().LiveThreads();
    if (!live.ok()) return Fail(request, live.status().message());
    for (uint32_t t : *live) threads.try_emplace(t, engine().ThreadName(t));
    json list = json::array();
    for (const auto& [index, name] : threads) {
      list.push_back({{"id", index + 1}, {"name", name.empty() ? "thread " + std::to_string(index) : name}});
    }
    Respond(request, {{"threads", std::move(list)}});
  }

  json SourceOf(const std::string& file) {
    json source = {{"name", Basename(file)}, {"path", file}};
    auto it = engine().tape().sources().find(file);
    if (it != engine().tape().sources().end() && it->second.omitted_reason.empty()) {
      auto [ref, added] = source_refs_.try_emplace(file, static_cast<int64_t>(source_files_.size() + 1));
      if (added) source_files_.push_back(file);
      // The recorded text, not whatever is at that path on this machine.
      source["sourceReference"] = ref->second;
      source["origin"] = "recorded";
    }
    return source;
  }

  // A frame the client was handed: its thread, and its level (0: that
  // thread's innermost). Ids are indexes + 1 into frames_, valid until the
  // next stop; a frame's id is also its Locals' variablesReference.
  struct FrameRef {
    uint32_t thread;
    size_t level;
  };
  // 0 once kFrameRefs frames were handed out this stop (ids above are
  // value references).
  int64_t FrameId(uint32_t thread, size_t level) {
    auto [it, added] = frame_ids_.try_emplace({thread, level}, 0);
    if (added) {
      if (frames_.size() >= static_cast<size_t>(kFrameRefs)) {
        frame_ids_.erase(it);
        return 0;
      }
      frames_.push_back({thread, level});
      it->second = static_cast<int64_t>(frames_.size());
    }
    return it->second;
  }
  const FrameRef* FrameOf(int64_t id) const {
    return id >= 1 && static_cast<size_t>(id) <= frames_.size() ? &frames_[static_cast<size_t>(id) - 1] : nullptr;
  }
  // The frame an id names, as the tape shows it now; null if none.
  StatusOr<std::optional<replayer::FrameView>> FrameAt(int64_t id) {
    const FrameRef* ref = FrameOf(id);
    if (!ref) return std::optional<replayer::FrameView>();
    auto stack = engine().ThreadStack(ref->thread);
    if (!stack.ok()) return stack.status();
    if (ref->level >= stack->size()) return std::optional<replayer::FrameView>();
    return std::optional<replayer::FrameView>((*stack)[stack->size() - 1 - ref->level]);
  }

  void StackTrace(const json& request, const json& args) {
    auto state = engine().State();
    if (!state.ok()) return Fail(request, state.status().message());
    const int64_t id = GetInt(args, "threadId", 0, 1, int64_t{UINT32_MAX} + 1);
    if (id == 0) return Fail(request, "stackTrace needs a threadId from 'threads'");
    const uint32_t thread = static_cast<uint32_t>(id - 1);
    // Every thread's frames as its own last event left them.
    auto stack = engine().ThreadStack(thread);
    if (!stack.ok()) return Fail(request, stack.status().message());
    json frames = json::array();
    const size_t total = stack->size();
    const size_t start = static_cast<size_t>(GetInt(args, "startFrame", 0, 0));
    const size_t levels = static_cast<size_t>(GetInt(args, "levels", 0, 0));
    for (size_t level = start; level < total && (levels == 0 || level - start < levels); ++level) {
      const auto& f = (*stack)[total - 1 - level];
      const int64_t id = FrameId(thread, level);
      if (id == 0) break;  // (a million frames shown this stop)
      // A module's call event is at line 0 (as sys.settrace reports it); a
      // frame with a source needs a line of it: its first.
      const int64_t line = f.line >= 1 ? f.line : std::max<int64_t>(f.first_line, 1);
      frames.push_back({{"id", id},
                        {"name", f.qualname},
                        {"source", SourceOf(f.file)},
                        {"line", ClientLine(line)},
                        {"column", columns_from_1_ ? 1 : 0}});
    }
    Respond(request, {{"stackFrames", std::move(frames)}, {"totalFrames", total}});
  }

  void Scopes(const json& request, const json& args) {
    const int64_t frame = GetInt(args, "frameId", 0);
    if (!FrameOf(frame)) return Fail(request, "no such frame (frames are only valid until the next stop)");
    json locals = {{"name", "Locals"}, {"presentationHint", "locals"}, {"variablesReference", frame},
                   {"expensive", false}};
    json scopes = json::array();
    scopes.push_back(std::move(locals));
    Respond(request, {{"scopes", std::move(scopes)}});
  }

  // Variable references: 1..kFrameRefs are the frames' locals (their
  // ids); above, values_ (the parsed values being expanded), valid until
  // the next stop.
  static constexpr int64_t kFrameRefs = 1 << 20;

  // A value the client may open: a node of a parsed tree, kept alive by
  // its root. Each is handed out once per stop (expanded_: the same child
  // of the same parent keeps its reference), so refreshes and hovers do not
  // pile up copies.
  struct Expanded {
    std::shared_ptr<const Value> root;
    const Value* node;
  };

  // A sequence cut by the recorder's bounds ends with an ellipsis item
  // (`[0, 1, ...]`): not an item of the program's, shown as the named mark.
  static size_t Items(const Value& v) {
    size_t n = v.items.size();
    while (n > 0 && v.items[n - 1].kind == Value::Kind::kEllipsis) --n;
    return n;
  }
  static bool Cut(const Value& v) { return v.cut || v.truncated || Items(v) != v.items.size(); }

  json VariableOf(const std::string& key, const std::string& name, const std::shared_ptr<const Value>& root,
                  const Value& v) {
    json var = {{"name", name}, {"value", v.text.empty() ? replayer::Repr(v) : v.text}, {"variablesReference", 0}};
    const size_t items = Items(v);
    if (items > 0 || !v.entries.empty() || !v.attrs.empty()) {
      auto [it, added] = expanded_.try_emplace(key, 0);
      if (added) {
        values_.push_back({root, &v});
        it->second = kFrameRefs + static_cast<int64_t>(values_.size());
      }
      var["variablesReference"] = it->second;
      // Items are indexed (a client pages them with filter, start and
      // count); a dict's entries, an instance's attributes and the mark of
      // a value cut by the recorder's bounds are named.
      var["namedVariables"] = v.attrs.size() + v.entries.size() + (Cut(v) ? 1 : 0);
      var["indexedVariables"] = items;
    }
    return var;
  }
  json VariableOf(const std::string& key, const std::string& name, Value v) {
    auto root = std::make_shared<const Value>(std::move(v));
    return VariableOf(key, name, root, *root);
  }

  void Variables(const json& request, const json& args) {
    const int64_t ref = GetInt(args, "variablesReference", 0, 1, INT64_MAX);
    const std::string parent = std::to_string(ref) + "/";
    json vars = json::array();
    if (ref >= 1 && ref <= kFrameRefs) {
      auto frame = FrameAt(ref);
      if (!frame.ok()) return Fail(request, frame.status().message());
      if (!*frame) return Fail(request, "no such frame (frames are only valid until the next stop)");
      for (const auto& [name, text] : (*frame)->locals) {
        vars.push_back(VariableOf(parent + name, name, replayer::ParseRendered(text)));
      }
      // The current event's return value or exception, in its own frame.
      auto state = engine().State();
      if (state.ok() && state->has_value && FrameOf(ref)->thread == state->thread && FrameOf(ref)->level == 0) {
        const char* name = state->kind == EventKind::kException ? "(exception)" : "(return value)";
        vars.push_back(VariableOf(parent + name, name, replayer::ParseRendered(state->value)));
      }
    } else if (ref > kFrameRefs && static_cast<size_t>(ref - kFrameRefs) <= values_.size()) {
      const Expanded x = values_[static_cast<size_t>(ref - kFrameRefs - 1)];  // values_ may grow below
      const Value& v = *x.node;
      const std::string filter = GetString(args, "filter");
      if (filter != "named") {
        const size_t items = Items(v);
        const size_t start = std::min(items, static_cast<size_t>(GetInt(args, "start", 0, 0)));
        const int64_t count = GetInt(args, "count", 0, 0);
        const size_t end = count == 0 ? items : std::min(items, start + static_cast<size_t>(count));
        for (size_t i = start; i < end; ++i) {
          vars.push_back(VariableOf(parent + "i" + std::to_string(i), std::to_string(i), x.root, v.items[i]));
        }
      }
      if (filter != "indexed") {
        for (size_t i = 0; i < v.entries.size(); ++i) {
          const auto& [k, item] = v.entries[i];
          vars.push_back(VariableOf(parent + "k" + std::to_string(i), k.text.empty() ? replayer::Repr(k) : k.text,
                                    x.root, item));
        }
        for (const auto& [name, item] : v.attrs) vars.push_back(VariableOf(parent + "a" + name, name, x.root, item));
        if (Cut(v)) {
          vars.push_back({{"name", "..."}, {"value", "(cut by the recorder's bounds)"}, {"variablesReference", 0}});
        }
      }
    } else {
      return Fail(request, "no such variables reference (values are only valid until the next stop)");
    }
    Respond(request, {{"variables", std::move(vars)}});
  }

  void Source(const json& request, const json& args) {
    int64_t ref = GetInt(args, "sourceReference", 0, 0);
    std::string file;
    if (ref > 0 && static_cast<size_t>(ref) <= source_files_.size()) {
      file = source_files_[static_cast<size_t>(ref) - 1];
    } else if (const json* s = Member(args, "source")) {
      file = GetString(*s, "path");
      const int64_t r = GetInt(*s, "sourceReference", 0, 0);
      if (r > 0 && static_cast<size_t>(r) <= source_files_.size()) file = source_files_[static_cast<size_t>(r) - 1];
    }
    const auto* lines = file.empty() ? nullptr : engine().SourceLines(file);
    if (!lines) return Fail(request, file.empty() ? "no such source" : "the tape has no source of " + file);
    std::string text;
    for (const auto& l : *lines) text += l + "\n";
    Respond(request, {{"content", std::move(text)}, {"mimeType", "text/x-python"}});
  }

  void LoadedSources(const json& request) {
    json list = json::array();
    for (const auto& [file, src] : engine().tape().sources()) {
      if (src.omitted_reason.empty()) list.push_back(SourceOf(file));
    }
    Respond(request, {{"sources", std::move(list)}});
  }

  // The file a setBreakpoints names, as recorded: a source this adapter
  // handed out (its reference), else its path as given (the engine matches
  // a suffix, or a path relative to where the program was recorded).
  std::string BreakpointFile(const json& args) {
    const json* s = Member(args, "source");
    if (!s) return "";
    const int64_t r = GetInt(*s, "sourceReference", 0, 0);
    if (r > 0 && static_cast<size_t>(r) <= source_files_.size()) return source_files_[static_cast<size_t>(r) - 1];
    std::string path = GetString(*s, "path");
    return path.empty() ? GetString(*s, "name") : path;
  }

  void SetBreakpoints(const json& request, const json& args) {
    const std::string file = BreakpointFile(args);
    if (file.empty()) return Fail(request, "setBreakpoints needs a source with a path");
    // A client keeps a list per document: the file on disk and the recorded
    // text handed out by reference are two, even where they name one file.
    const json* source = Member(args, "source");
    const int64_t reference = source ? GetInt(*source, "sourceReference", 0, 0) : 0;
    const std::string key = reference > 0 ? "ref:" + std::to_string(reference) : "path:" + file;
    ReplaceBreakpoints(request, args, &by_source_[key], [&](const json& b) {
      const int64_t line = GetInt(b, "line", -1);
      json bp = AddBreakpoint(line < 0 ? "" : file + ":" + std::to_string(TapeLine(line)), GetString(b, "condition"),
                              &by_source_[key]);
      if (line >= 0) bp["line"] = line;
      return bp;
    });
  }

  void SetFunctionBreakpoints(const json& request, const json& args) {
    ReplaceBreakpoints(request, args, &function_breakpoints_, [&](const json& b) {
      return AddBreakpoint(GetString(b, "name"), GetString(b, "condition"), &function_breakpoints_);
    });
  }

  // A set*Breakpoints request: the list replaces the one `ids` holds (the
  // engine's breakpoints of that document, or the function breakpoints);
  // `add` sets one and says how it went.
  template <class Add>
  void ReplaceBreakpoints(const json& request, const json& args, std::vector<int>* ids, const Add& add) {
    for (int id : *ids) (void)engine().ClearBreakpoint(id);
    ids->clear();
    json result = json::array();
    const json* list = Member(args, "breakpoints");
    if (list && list->is_array()) {
      for (const json& b : *list) result.push_back(add(b));
    }
    Respond(request, {{"breakpoints", std::move(result)}});
  }

  json AddBreakpoint(const std::string& spec, const std::string& condition, std::vector<int>* ids) {
    if (spec.empty()) return {{"verified", false}, {"message", "a breakpoint needs a line or a function name"}};
    auto id = engine().AddBreakpoint(spec, condition, false);
    if (!id.ok()) return {{"verified", false}, {"message", id.status().message()}};
    ids->push_back(*id);
    json bp = {{"id", *id}, {"verified", true}};
    for (const auto& b : engine().breakpoints()) {
      // Set, but nothing on the tape reaches it: said, as the prompt does.
      if (b.id == *id && !b.note.empty()) bp = {{"id", *id}, {"verified", false}, {"message", b.note}};
    }
    return bp;
  }

  // Data breakpoints are the prompt's `watch`: a local of a frame of the
  // current event's thread, which stops where it changes, in either
  // direction. The dataId names the frame by an event it was on the stack
  // at (where it was offered), so that a watch set after a move still means
  // that frame. Their ids follow the line breakpoints' (one id space).
  static constexpr int kWatchIds = 1000000;

  void DataBreakpointInfo(const json& request, const json& args) {
    const std::string name = GetString(args, "name");
    const FrameRef* frame = FrameOf(GetInt(args, "variablesReference", 0, 0, kFrameRefs));
    auto state = engine().State();
    if (!state.ok()) return Fail(request, state.status().message());
    json info = {{"dataId", nullptr}};
    bool bound = false;
    if (frame && frame->thread == state->thread && frame->level < state->stack.size()) {
      for (const auto& [n, v] : state->stack[state->stack.size() - 1 - frame->level].locals) bound |= n == name;
    }
    // (Cheap: an editor asks at every right click. The frame's bounds are
    // found when the watch is set.)
    if (!frame || name.empty() || name[0] == '(') {
      info["description"] = "only a frame's locals can be watched";
    } else if (frame->thread != state->thread) {
      info["description"] = "only the frames of the current event's thread can be watched";
    } else if (!bound) {
      info["description"] = "'" + name + "' is not a local of this frame here";
    } else {
      info["dataId"] = std::to_string(engine().position()) + ":" + std::to_string(state->thread) + ":" +
                       std::to_string(state->stack.size() - frame->level) + ":" + name;
      info["description"] = name + " (stops where it changes, in either direction)";
      info["accessTypes"] = json::array({"write"});
      info["canPersist"] = false;
    }
    Respond(request, std::move(info));
  }

  // A watch for a dataId, if its frame is on the stack here; else why not.
  StatusOr<int> WatchFor(const std::string& data_id) {
    uint64_t offered = 0;
    unsigned long thread = 0, depth = 0;
    int name_at = 0;
    if (std::sscanf(data_id.c_str(), "%" SCNu64 ":%lu:%lu:%n", &offered, &thread, &depth, &name_at) != 3 ||
        name_at <= 0 || static_cast<size_t>(name_at) >= data_id.size()) {
      return Status::InvalidArgument("not a dataId of this adapter: " + data_id);
    }
    auto state = engine().State();
    if (!state.ok()) return state.status();
    const size_t stack = state->stack.size();
    const Status elsewhere = Status::NotFound("its frame is not on the stack of this event's thread");
    if (thread != state->thread || depth == 0 || depth > stack) return elsewhere;
    auto id = engine().AddWatch(data_id.substr(static_cast<size_t>(name_at)), static_cast<uint32_t>(stack - depth));
    if (!id.ok()) return id.status();
    // The frame at that depth now spans [frame_begin, frame_end] of its
    // thread: the one offered if the event it was offered at is in it.
    const replayer::Watch& w = engine().watches().back();
    if (offered < w.frame_begin || offered > w.frame_end) {
      (void)engine().ClearWatch(*id);
      return elsewhere;
    }
    return id;
  }

  void SetDataBreakpoints(const json& request, const json& args) {
    std::map<std::string, int> kept;
    json result = json::array();
    const json* list = Member(args, "breakpoints");
    auto exists = [&](int id) {
      for (const auto& w : engine().watches()) {
        if (w.id == id) return true;  // (the console's `unwatch` may have cleared it)
      }
      return false;
    };
    if (list && list->is_array()) {
      for (const json& b : *list) {
        const std::string data_id = GetString(b, "dataId");
        const std::string access = GetString(b, "accessType", "write");
        if (!GetString(b, "condition").empty() || !GetString(b, "hitCondition").empty()) {
          result.push_back({{"verified", false},
                            {"message", "a value change stops at every change: no condition or hit count"}});
          continue;
        }
        if (access != "write") {
          result.push_back({{"verified", false}, {"message", "the tape records changes, not reads"}});
          continue;
        }
        int id = 0;
        if (auto it = kept.find(data_id); it != kept.end()) {
          id = it->second;
        } else if (auto old = watches_.find(data_id); old != watches_.end() && exists(old->second)) {
          id = old->second;
          watches_.erase(old);
        } else {
          auto added = WatchFor(data_id);
          if (!added.ok()) {
            result.push_back({{"verified", false}, {"message", added.status().message()}});
            continue;
          }
          id = *added;
        }
        kept[data_id] = id;
        result.push_back({{"id", kWatchIds + id}, {"verified", true}});
      }
    }
    for (const auto& [data_id, id] : watches_) (void)engine().ClearWatch(id);  // no longer asked for
    watches_ = std::move(kept);
    Respond(request, {{"breakpoints", std::move(result)}});
  }

  void Evaluate(const json& request, const json& args) {
    const std::string expression = GetString(args, "expression");
    // (An empty line at the prompt repeats the last command: not here.)
    if (expression.find_first_not_of(" \t\r\n") == std::string::npos) {
      return Fail(request, "evaluate needs an expression");
    }
    const std::string context = GetString(args, "context");  // only "repl" runs prompt commands
    auto state = engine().State();
    if (!state.ok()) return Fail(request, state.status().message());
    // No frame given (the console before any stop): the event's own.
    const FrameRef here{state->thread, 0};
    const int64_t frame_id = GetInt(args, "frameId", 0);
    const json* given = Member(args, "frameId");
    const FrameRef* ref = given && !given->is_null() ? FrameOf(frame_id) : &here;
    if (!ref) return Fail(request, "no such frame (frames are only valid until the next stop)");
    StatusOr<Value> value = Status::NotFound("");
    if (ref->thread == state->thread) {
      value = engine().Eval(expression, static_cast<uint32_t>(ref->level));
    } else {
      auto frame = FrameAt(frame_id);
      if (!frame.ok()) return Fail(request, frame.status().message());
      if (!*frame) return Fail(request, "no such frame");
      const auto& locals = (*frame)->locals;
      value = replayer::Evaluate(expression, [&](const std::string& name) -> std::optional<Value> {
        for (const auto& [n, text] : locals) {
          if (n == name) return replayer::ParseRendered(text);
        }
        return std::nullopt;
      });
    }
    if (value.ok()) {
      return Respond(request, VariableResult("e" + std::to_string(frame_id) + "/" + expression, *value));
    }
    if (context != "repl") return Fail(request, value.status().message());
    // Not an expression here: a prompt command (goto 120, when x, bs, w),
    // in the frame shown if it is one of the current event's thread.
    const uint64_t before = engine().position();
    const int errors = session_->errors();
    std::ostringstream said;
    session_->SelectFrame(ref->thread == state->thread ? static_cast<uint32_t>(ref->level) : 0);
    if (!session_->Execute(expression, said)) said << "(the debugger's stop button ends the replay)\n";
    std::string text = said.str();
    while (!text.empty() && text.back() == '\n') text.pop_back();
    if (session_->errors() > errors) {
      // Neither: the expression's error says more, unless it was a command.
      if (text.rfind("*** Unknown command", 0) == 0) return Fail(request, value.status().message());
      return Fail(request, text.rfind("*** ", 0) == 0 ? text.substr(4) : text);
    }
    Respond(request, {{"result", text}, {"variablesReference", 0}});
    if (engine().position() != before) Stopped("goto", "");
  }

  json VariableResult(const std::string& key, Value v) {
    json var = VariableOf(key, "", std::move(v));
    json result = {{"result", var["value"]}, {"variablesReference", var["variablesReference"]}};
    for (const char* count : {"namedVariables", "indexedVariables"}) {
      if (var.contains(count)) result[count] = var[count];
    }
    return result;
  }

  std::istream& in_;
  std::ostream& out_;
  std::ostream& err_;
  int64_t seq_ = 1;
  bool done_ = false;
  bool lines_from_1_ = true;
  bool columns_from_1_ = true;
  std::unique_ptr<ReplaySession> session_;
  std::string goto_;
  bool stop_on_entry_ = true;
  std::vector<Expanded> values_;
  std::map<std::string, int64_t> expanded_;  // parent reference / child -> its reference
  std::vector<FrameRef> frames_;
  std::map<std::pair<uint32_t, size_t>, int64_t> frame_ids_;  // (thread, level) -> index in frames_ + 1
  std::map<std::string, int64_t> source_refs_;
  std::vector<std::string> source_files_;
  std::map<std::string, std::vector<int>> by_source_;
  std::vector<int> function_breakpoints_;
  std::map<std::string, int> watches_;  // dataId -> the engine's watch
};

}  // namespace

int Dap(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err) {
  for (const auto& a : args) {
    if (a == "-h" || a == "--help") {
      out << kDapUsage;
      return 0;
    }
    err << "tracetape dap: error: unexpected argument " << Printable(a) << "\n" << kDapUsage;
    return 2;
  }
  return DapServer(in, out, err).Run();
}

}  // namespace tracetape::cli
