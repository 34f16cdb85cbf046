// tracetape._core: the pybind11 bindings, the only pybind11 code. Errors of
// the C++ libraries arrive as Status values and are turned into Python
// exceptions here, in ThrowIfError, and nowhere else.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

#include "tracetape/cli/cli.h"
#include "tracetape/cli/replay_session.h"
#include "tracetape/replayer/engine.h"
#include "tracetape/recorder/hook.h"
#include "tracetape/recorder/tape_writer.h"
#include "tracetape/recorder/options.h"

namespace py = pybind11;
using tracetape::Status;
namespace rec = tracetape::recorder;

namespace {

void ThrowIfError(const Status& s) {
  if (s.ok()) return;
  switch (s.code()) {
    case Status::Code::kInvalidArgument:
      throw py::value_error(s.message());
    case Status::Code::kNotFound:
      PyErr_SetString(PyExc_FileNotFoundError, s.message().c_str());
      throw py::error_already_set();
    case Status::Code::kCorrupt:
    case Status::Code::kTruncated:
    case Status::Code::kUnsupported:
      throw py::value_error(s.ToString());
    case Status::Code::kIoError:
      PyErr_SetString(PyExc_OSError, s.message().c_str());
      throw py::error_already_set();
    default:
      throw std::runtime_error(s.ToString());
  }
}

rec::LocalsMode ParseLocals(const std::string& mode) {
  if (mode == "all") return rec::LocalsMode::kAll;
  if (mode == "args") return rec::LocalsMode::kArgs;
  if (mode == "none") return rec::LocalsMode::kNone;
  throw py::value_error("locals must be 'all', 'args' or 'none', not '" + mode + "'");
}

void Start(const std::string& path, const std::vector<std::string>& include, const std::vector<std::string>& exclude,
           const std::vector<std::string>& default_exclude_dirs,
           const std::vector<std::pair<std::string, std::string>>& pseudo_files, const std::string& locals,
           const std::vector<std::string>& redact, bool embed_source, double ring_mb,
           const std::vector<std::pair<std::string, std::string>>& metadata, const std::vector<std::string>& argv,
           const std::vector<std::pair<std::string, std::string>>& options, py::object thread_registry) {
  rec::RecordOptions o;
  o.path = path;
  o.include = include;
  o.exclude = exclude;
  o.default_exclude_dirs = default_exclude_dirs;
  o.pseudo_files = pseudo_files;
  o.locals = ParseLocals(locals);
  o.redact = redact;
  o.embed_source = embed_source;
  if (!(ring_mb >= 1 && ring_mb <= 4096)) throw py::value_error("ring size must be between 1 and 4096 MB");
  o.ring_bytes = static_cast<size_t>(ring_mb * 1024 * 1024);
  for (const auto& [k, v] : metadata) {
    if (k == "writer_version") o.metadata.writer_version = v;
    else if (k == "python_version") o.metadata.python_version = v;
    else if (k == "python_implementation") o.metadata.python_implementation = v;
    else if (k == "platform") o.metadata.platform = v;
    else if (k == "executable") o.metadata.executable = v;
    else if (k == "cwd") o.metadata.cwd = v;
    else if (k == "start_time_ns") o.metadata.start_time_ns = std::stoll(v);
    else if (k == "pid") o.metadata.pid = std::stoll(v);
    else if (k == "hook_backend") o.metadata.hook_backend = v;
    else throw py::value_error("unknown metadata key " + k);
  }
  o.metadata.argv = argv;
  o.metadata.options = options;
  ThrowIfError(rec::StartRecording(std::move(o), thread_registry.ptr()));
}

std::string Stop(int exit_status, bool discard, bool keep_hook) {
  std::string path;
  ThrowIfError(rec::StopRecording(exit_status, &path, discard, keep_hook));
  return path;
}

// An ostream over a file descriptor with a large buffer: inside the Python
// process std::cout is synchronised with C stdio and would write() per token.
class FdBuf : public std::streambuf {
 public:
  explicit FdBuf(int fd) : fd_(fd), buf_(1 << 16) { setp(buf_.data(), buf_.data() + buf_.size()); }
  ~FdBuf() override { sync(); }

 protected:
  int overflow(int c) override {
    if (sync() != 0) return traits_type::eof();
    if (c != traits_type::eof()) {
      *pptr() = static_cast<char>(c);
      pbump(1);
    }
    return c == traits_type::eof() ? 0 : c;
  }
  int sync() override {
    const char* p = pbase();
    while (p < pptr()) {
      ssize_t n = ::write(fd_, p, static_cast<size_t>(pptr() - p));
      if (n < 0) {
        if (errno == EINTR) continue;
        setp(buf_.data(), buf_.data() + buf_.size());
        return -1;  // a closed pipe: drop the rest
      }
      p += n;
    }
    setp(buf_.data(), buf_.data() + buf_.size());
    return 0;
  }

 private:
  int fd_;
  std::vector<char> buf_;
};

int CliMain(const std::vector<std::string>& args) {
  int rc;
  {
    py::gil_scoped_release release;
    FdBuf out_buf(1);
    std::ostream out(&out_buf);
    // stderr stays unbuffered so warnings come before what follows them; the
    // prompt flushes `out` itself before each read.
    rc = tracetape::cli::Main(args, out, std::cerr);
    out.flush();
  }
  return rc;
}

namespace rep = tracetape::replayer;

std::unique_ptr<rep::Engine> OpenEngine(const std::string& path) {
  auto engine = rep::Engine::Open(path);
  ThrowIfError(engine.status());
  return std::move(engine).value();
}

py::dict FrameDict(const rep::FrameView& f) {
  py::dict d;
  d["file"] = f.file;
  d["function"] = f.func;
  d["qualname"] = f.qualname;
  d["line"] = f.line;
  d["depth"] = f.depth;
  d["args"] = f.args;
  py::dict locals;
  for (const auto& [k, v] : f.locals) locals[py::str(k)] = v;
  d["locals"] = locals;
  return d;
}

py::dict StateDict(rep::Engine& e) {
  auto s = e.State();
  ThrowIfError(s.status());
  py::dict d;
  d["index"] = s->index;
  d["thread"] = s->thread;
  d["thread_name"] = s->thread_name;
  d["kind"] = rep::EventKindName(s->kind);
  py::list stack;
  for (const auto& f : s->stack) stack.append(FrameDict(f));
  d["stack"] = stack;
  d["value"] = s->has_value ? py::object(py::str(s->value)) : py::object(py::none());
  d["changed"] = s->changed;
  return d;
}

// A move: True if the cursor moved, False at either end of the tape.
bool Moved(const Status& s) {
  if (s.code() == Status::Code::kNotFound) return false;
  ThrowIfError(s);
  return true;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "tracetape's C++ core: the recorder hook and the offline commands";
  m.def("start", &Start, py::arg("path"), py::arg("include"), py::arg("exclude"), py::arg("default_exclude_dirs"),
        py::arg("pseudo_files"), py::arg("locals"), py::arg("redact"), py::arg("embed_source"), py::arg("ring_mb"),
        py::arg("metadata"), py::arg("argv"), py::arg("options"), py::arg("thread_registry"),
        "Start recording into `path`. Raises ValueError for bad options, OSError if the tape cannot be created.");
  m.def("stop", &Stop, py::arg("exit_status") = 0, py::arg("discard") = false, py::arg("keep_hook") = false,
        "Stop recording, finish the tape, return its path. Raises OSError if writing failed. "
        "discard: remove the tape instead (nothing more is written, no error is raised). "
        "keep_hook: leave the sys.monitoring hook installed, idle, for a next recording with the same options "
        "(release_hook() removes it).");
  m.def("release_hook", &rec::ReleaseHook, "Remove the hook that stop(keep_hook=True) left installed, if any.");
  m.def("is_recording", &rec::IsRecording);
  m.def("last_event_count", &rec::LastRecordingEvents, "The events the tape of the last stop() holds.");
  m.def(
      "set_source_finder", [](py::object finder) { rec::SetSourceFinder(finder.is_none() ? nullptr : finder.ptr()); },
      py::arg("finder"), "finder(path) -> str or None: the source of a recorded file not readable from disk.");
  m.def("recording_path", &rec::RecordingPath);
  m.def(
      "_thread_trace",
      [](py::object frame, py::object event, py::object) {
        // Only a `call` arrives here (threading.settrace's hook is the new
        // thread's global trace function).
        bool call = py::isinstance<py::str>(event) && event.cast<std::string>() == "call";
        rec::InstallOnCurrentThread(call ? frame.ptr() : nullptr);
        return py::none();
      },
      "threading.settrace bootstrap: installs the C hook on the new thread.");
  m.def("_pause_thread", &rec::PauseCurrentThread,
        "pytest --tape, between a test's phases: the settrace hook off this thread (see recorder/hook.h).");
  m.def("_resume_thread", &rec::ResumeCurrentThread, "The hook back on the thread _pause_thread took it from.");
  m.def("_thread_paused", &rec::CurrentThreadPaused, "_pause_thread took the hook off this thread.");
  m.def("_quiet_thread", &rec::QuietCurrentThread,
        "After the program's main module: this thread's calls into the standard library are the runner's, not recorded.");
  m.def(
      "_trace_handle",
      []() -> py::object {
        PyObject* h = rec::TraceHandleObject();
        return h ? py::reinterpret_borrow<py::object>(h) : py::none();
      },
      "What sys.gettrace() returns while the settrace backend records (None before the first recording).");
  m.def(
      "_probe_rendering",
      [](py::object value, py::object between) {
        rec::RenderProbe p = rec::ProbeRendering(value.ptr(), between.is_none() ? nullptr : between.ptr());
        if (p.failed) {
          if (PyErr_Occurred()) throw py::error_already_set();
          throw std::runtime_error("the renderer could not be set up");
        }
        return py::make_tuple(py::bytes(p.before), p.unchanged, py::bytes(p.after));
      },
      py::arg("value"), py::arg("between") = py::none(),
      "Tests only: (text, unchanged, text again) for a value rendered as a local, `between()` called "
      "in between (see recorder::ProbeRendering).");
  m.def("_install_term_guard", &rec::InstallTermGuard,
        "SIGTERM finishes the tape, then ends the process by SIGTERM (see recorder::InstallTermGuard); "
        "False where SIGTERM does not have its default action.");
  m.def("_remove_term_guard", &rec::RemoveTermGuard);
  m.def("_before_fork", &rec::BeforeFork);
  m.def("_after_fork_parent", &rec::AfterForkInParent);
  m.def("_after_fork_child", &rec::AfterForkInChild);
  py::class_<rep::Engine>(m, "Engine", "Replay engine over one tape (see tracetape.open).")
      .def(py::init(&OpenEngine), py::arg("path"))
      .def("__len__", &rep::Engine::size)
      .def_property_readonly("position", &rep::Engine::position)
      .def_property_readonly("complete", [](rep::Engine& e) { return e.tape().complete(); })
      .def_property_readonly("tail_status", [](rep::Engine& e) { return e.tape().tail_status().message(); })
      .def_property_readonly("header", [](rep::Engine& e) {
        const auto& h = e.tape().header();
        py::dict d;
        d["writer_version"] = h.writer_version;
        d["python_version"] = h.python_version;
        d["platform"] = h.platform;
        d["argv"] = h.argv;
        d["cwd"] = h.cwd;
        d["start_time_ns"] = h.start_time_ns;
        d["pid"] = h.pid;
        return d;
      })
      .def("goto", [](rep::Engine& e, uint64_t n) { ThrowIfError(e.Goto(n)); })
      .def("exception_event", [](rep::Engine& e) {
        auto r = e.ExceptionEvent();
        if (r.status().code() == Status::Code::kNotFound) return py::object(py::none());
        ThrowIfError(r.status());
        return py::object(py::int_(*r));
      })
      .def("state", &StateDict)
      .def("step", [](rep::Engine& e, bool forward, bool frame_ends) {
        return Moved(e.Step(forward, frame_ends ? rep::Engine::Stops::kFrameEnds : rep::Engine::Stops::kLines));
      }, py::arg("forward") = true, py::arg("frame_ends") = true)
      .def("next", [](rep::Engine& e, bool forward, uint32_t up, bool frame_ends) {
        return Moved(e.Next(forward, up, frame_ends ? rep::Engine::Stops::kFrameEnds : rep::Engine::Stops::kLines));
      }, py::arg("forward") = true, py::arg("up") = 0, py::arg("frame_ends") = true)
      .def("finish", [](rep::Engine& e, bool forward, uint32_t up) { return Moved(e.Finish(forward, up)); },
           py::arg("forward") = true, py::arg("up") = 0)
      .def("cont", [](rep::Engine& e, bool forward) {
        std::string why;
        ThrowIfError(e.Continue(forward, &why));
        return why;
      }, py::arg("forward") = true)
      .def("add_breakpoint", [](rep::Engine& e, const std::string& spec, const std::string& cond, bool temporary) {
        auto r = e.AddBreakpoint(spec, cond, temporary);
        ThrowIfError(r.status());
        return *r;
      }, py::arg("spec"), py::arg("condition") = "", py::arg("temporary") = false)
      .def("clear_breakpoint", [](rep::Engine& e, int id) { ThrowIfError(e.ClearBreakpoint(id)); })
      .def("breakpoint_note", [](rep::Engine& e, int id) {
        for (const auto& bp : e.breakpoints()) {
          if (bp.id == id) return bp.note;
        }
        return std::string();
      })
      .def("add_watch", [](rep::Engine& e, const std::string& name, uint32_t up) {
        auto r = e.AddWatch(name, up);
        ThrowIfError(r.status());
        return *r;
      }, py::arg("name"), py::arg("up") = 0)
      .def("clear_watch", [](rep::Engine& e, int id) { ThrowIfError(e.ClearWatch(id)); })
      .def("set_exception_stops", &rep::Engine::SetExceptionStops, py::arg("raised"), py::arg("uncaught"))
      .def("when", [](rep::Engine& e, const std::string& name, uint32_t up) {
        auto r = e.When(name, up);
        ThrowIfError(r.status());
        return *r;
      }, py::arg("name"), py::arg("up") = 0)
      .def("eval", [](rep::Engine& e, const std::string& expr, uint32_t up) {
        auto r = e.Eval(expr, up);
        ThrowIfError(r.status());
        return rep::Repr(*r);
      }, py::arg("expr"), py::arg("up") = 0)
      .def("source", [](rep::Engine& e, const std::string& spec) {
        auto file = e.RecordedFile(spec);
        if (!file.ok()) return py::object(py::none());
        const auto* lines = e.SourceLines(*file);
        return lines ? py::object(py::cast(*lines)) : py::object(py::none());
      });

  py::class_<tracetape::cli::ReplaySession>(m, "ReplaySession", "The replay prompt's command interpreter.")
      .def(py::init([](const std::string& path) {
        return std::make_unique<tracetape::cli::ReplaySession>(OpenEngine(path));
      }), py::arg("path"))
      .def("execute", [](tracetape::cli::ReplaySession& s, const std::string& line) {
        std::ostringstream out;
        bool go_on = s.Execute(line, out);
        return py::make_tuple(out.str(), go_on);
      })
      .def("goto", [](tracetape::cli::ReplaySession& s, const std::string& spec) {
        std::ostringstream out;
        bool ok = s.GotoSpec(spec, out);
        return py::make_tuple(out.str(), ok);
      })
      .def("start", [](tracetape::cli::ReplaySession& s) {
        std::ostringstream out;
        s.Start(out);
        return out.str();
      })
      .def("location", [](tracetape::cli::ReplaySession& s) {
        std::ostringstream out;
        s.PrintLocation(out);
        return out.str();
      })
      .def("prompt", &tracetape::cli::ReplaySession::Prompt)
      .def_property_readonly("errors", &tracetape::cli::ReplaySession::errors)
      .def_property_readonly("complete", [](tracetape::cli::ReplaySession& s) { return s.engine().tape().complete(); })
      .def_property_readonly("tail_status", [](tracetape::cli::ReplaySession& s) {
        return s.engine().tape().tail_status().message();
      });

  m.def("cli_main", &CliMain, py::arg("args"), "Run an offline command (dump, info, verify, export, dap); returns the exit status.");
}
