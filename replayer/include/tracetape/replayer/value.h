// Captured values are stored as their rendering (docs/RENDERING.md). To let
// the user look inside them (p accounts['ann'].balance) and to evaluate
// breakpoint conditions, a rendering is parsed back into a structure here.
// Parsing never fails: what is not understood becomes an opaque value.
#ifndef TRACETAPE_REPLAYER_VALUE_H_
#define TRACETAPE_REPLAYER_VALUE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tracetape::replayer {

struct Value {
  enum class Kind { kNone, kBool, kInt, kFloat, kStr, kBytes, kList, kTuple, kDict, kSet, kObject, kOpaque, kEllipsis };
  Kind kind = Kind::kOpaque;
  bool boolean = false;
  int64_t integer = 0;
  bool big_int = false;  // did not fit in 64 bits: only text is meaningful
  double real = 0;
  std::string str;       // decoded content of str/bytes; type name of kObject
  bool truncated = false;  // a str/bytes cut by the recorder's bounds; a dict or instance cut (see cut)
  bool cut = false;        // a container or instance whose rendering was cut at max_total, closed there
  std::vector<Value> items;                          // list, tuple, set; positional args of kObject
  std::vector<std::pair<Value, Value>> entries;      // dict
  std::vector<std::pair<std::string, Value>> attrs;  // kObject keyword attributes
  std::string text;      // the rendering this value was parsed from

  static Value Opaque(std::string text);
  static Value Int(int64_t v);
  static Value Real(double v);
  static Value Bool(bool v);
  static Value Str(std::string s);
  static Value None();
};

// repr() of a float, as Python writes it (shortest round trip).
std::string FloatRepr(double x);

// Parses one rendering.
Value ParseRendered(const std::string& text);

// Python-like repr of a value built by evaluation (values parsed from a
// rendering print as their original text).
std::string Repr(const Value& v);

// Python equality and truth, where they can be decided from the rendering.
bool ValuesEqual(const Value& a, const Value& b);
bool Truthy(const Value& v);

}  // namespace tracetape::replayer

#endif  // TRACETAPE_REPLAYER_VALUE_H_
