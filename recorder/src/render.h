// Renders Python values as text without running the program's code (see
// docs/RENDERING.md, whose rules this implements and the tests re-implement).
#ifndef TRACETAPE_RECORDER_RENDER_H_
#define TRACETAPE_RECORDER_RENDER_H_

#include <Python.h>

#include <string>
#include <vector>

#include "tracetape/recorder/options.h"
#include "tracetape/recorder/redactor.h"

namespace tracetape::recorder {

class Renderer {
 public:
  Renderer(const RenderLimits& limits, Redactor* redactor) : limits_(limits), redactor_(redactor) {}

  // Replaces *out with the rendering of v. Never raises: any Python error
  // met on the way is cleared and the value is shown as <TypeName object>.
  void Render(PyObject* v, std::string* out);
  // Replaces *out with "TypeName: message" for an exception instance.
  void RenderException(PyObject* exc, std::string* out);

  // Exact int/float/complex/str/bytes/bool/None: immutable, and rendering
  // cannot differ for the same object.
  static bool IsImmutableScalar(PyObject* v);
  // Computes what RenderException needs once; call with the GIL before use.
  static void Prepare();

 private:
  void Value(PyObject* v, int depth, std::string* out);
  bool Scalar(PyObject* v, std::string* out);  // rules 1-5 on the exact types
  void Str(PyObject* s, std::string* out);
  void Bytes(const char* data, Py_ssize_t n, std::string* out);
  void Int(PyObject* v, std::string* out);
  void Sequence(PyObject* v, PyTypeObject* base, int depth, std::string* out);
  void Dict(PyObject* v, int depth, std::string* out);
  void Set(PyObject* v, PyTypeObject* base, int depth, std::string* out);
  void Instance(PyObject* v, int depth, std::string* out);
  bool Over(const std::string& out) const { return out.size() > start_ + limits_.max_total; }
  bool Active(PyObject* v) const;
  void Finish(std::string* out);

  RenderLimits limits_;
  Redactor* redactor_;
  std::vector<PyObject*> active_;  // containers being rendered, for cycles
  size_t start_ = 0;
};

// The UTF-8 text of a str, or "" (and no error) if it has none.
std::string Utf8(PyObject* s);

}  // namespace tracetape::recorder

#endif  // TRACETAPE_RECORDER_RENDER_H_
