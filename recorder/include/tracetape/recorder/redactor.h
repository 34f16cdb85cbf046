// Default redaction (DESIGN section 5): values of names matching, as a
// case-insensitive substring, a built-in pattern or a user's --redact pattern
// are stored as "<redacted>".
#ifndef TRACETAPE_RECORDER_REDACTOR_H_
#define TRACETAPE_RECORDER_REDACTOR_H_

#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tracetape/format/status.h"

namespace tracetape::recorder {

inline constexpr const char* kDefaultRedactPattern =
    "passw|pwd|secret|token|api_?key|auth|credential|private_?key|session|cookie";
inline constexpr const char* kRedacted = "<redacted>";

class Redactor {
 public:
  // Fails with InvalidArgument naming the pattern that does not compile.
  static StatusOr<Redactor> Create(const std::vector<std::string>& extra_patterns);
  // Cached per distinct name, so the regex runs once per name; a cached
  // lookup allocates nothing (it runs for every attribute and dict key the
  // hook renders).
  bool ShouldRedact(std::string_view name);
  // Unique in the process (never 0): what a cache of its decisions kept
  // elsewhere is keyed by.
  uint64_t id() const { return id_; }

 private:
  bool Matches(std::string_view name);  // uncached
  uint64_t id_ = 0;
  // Patterns that are alternations of words (the default is one) are
  // searched as these literals, lowercased: std::regex took about 20,000
  // instructions per name, a tenth of the recording thread's work while a
  // large package is imported. The rest stay regexes.
  std::vector<std::string> literals_;
  std::string lowered_;  // scratch
  std::vector<std::regex> patterns_;
  std::vector<std::unique_ptr<std::string>> names_;  // owns the cache's keys; stable addresses
  std::unordered_map<std::string_view, bool> cache_;
};

}  // namespace tracetape::recorder

#endif  // TRACETAPE_RECORDER_REDACTOR_H_
