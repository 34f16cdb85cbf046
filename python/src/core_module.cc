// tracetape._core: the pybind11 bindings, the only pybind11 code. Errors of
// the C++ libraries arrive as Status values and are turned into Python
// exceptions here, in ThrowIfError, and nowhere else.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <iostream>
#include <string>
#include <vector>

#include "tracetape/cli/cli.h"
#include "tracetape/recorder/hook.h"
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
      throw py::value_error(s.message());  // pybind11 has no FileNotFoundError; the message says it
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

std::string Stop(int exit_status) {
  std::string path;
  ThrowIfError(rec::StopRecording(exit_status, &path));
  return path;
}

int CliMain(const std::vector<std::string>& args) {
  int rc;
  {
    py::gil_scoped_release release;
    rc = tracetape::cli::Main(args, std::cout, std::cerr);
    std::cout.flush();
    std::cerr.flush();
  }
  return rc;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "tracetape's C++ core: the recorder hook and the offline commands";
  m.def("start", &Start, py::arg("path"), py::arg("include"), py::arg("exclude"), py::arg("default_exclude_dirs"),
        py::arg("pseudo_files"), py::arg("locals"), py::arg("redact"), py::arg("embed_source"), py::arg("ring_mb"),
        py::arg("metadata"), py::arg("argv"), py::arg("options"), py::arg("thread_registry"),
        "Start recording into `path`. Raises ValueError for bad options, OSError if the tape cannot be created.");
  m.def("stop", &Stop, py::arg("exit_status") = 0,
        "Stop recording, finish the tape, return its path. Raises OSError if writing failed.");
  m.def("is_recording", &rec::IsRecording);
  m.def("recording_path", &rec::RecordingPath);
  m.def(
      "_thread_trace",
      [](py::object, py::object, py::object) {
        rec::InstallOnCurrentThread();
        return py::none();
      },
      "threading.settrace bootstrap: installs the C hook on the new thread.");
  m.def("_before_fork", &rec::BeforeFork);
  m.def("_after_fork_parent", &rec::AfterForkInParent);
  m.def("_after_fork_child", &rec::AfterForkInChild);
  m.def("cli_main", &CliMain, py::arg("args"), "Run an offline command (dump, info, verify); returns the exit status.");
}
