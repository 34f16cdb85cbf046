// A strict RFC 8259 JSON reader for the tests: it checks what `dump --format
// jsonl` and cli::JsonString produce. Strings must be valid UTF-8 with control
// characters escaped; \u escapes (surrogate pairs included) decode to UTF-8;
// duplicate object keys are an error.
#ifndef TRACETAPE_TESTS_JSON_READER_H_
#define TRACETAPE_TESTS_JSON_READER_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tracetape::testing {

struct JsonValue {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  std::string number;  // the literal text, as written
  std::string string;  // decoded, UTF-8
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;  // in document order

  // The member `key` of an object, or nullptr.
  const JsonValue* Get(const std::string& key) const;
  bool is_string() const { return type == Type::kString; }
  bool is_integer() const;
  int64_t AsInt() const;  // for an integer number
};

// Parses one JSON value that spans all of `text` (surrounding whitespace
// allowed). On failure returns false and says why in *error.
bool ParseJson(std::string_view text, JsonValue* out, std::string* error);

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or values past
// U+10FFFF).
bool IsValidUtf8(std::string_view s);

}  // namespace tracetape::testing

#endif  // TRACETAPE_TESTS_JSON_READER_H_
