// Which source files are recorded: coverage.py-like include/exclude globs over
// absolute filenames, with a default that leaves out the standard library,
// site-packages and tracetape itself.
#ifndef TRACETAPE_RECORDER_SCOPE_H_
#define TRACETAPE_RECORDER_SCOPE_H_

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tracetape/recorder/options.h"

namespace tracetape::recorder {

// fnmatch(3) without flags: `*` matches any run (including `/`), `?` one
// character, `[abc]`, `[a-z]` and `[!abc]` a class.
bool GlobMatch(std::string_view pattern, std::string_view text);

class Scope {
 public:
  explicit Scope(const RecordOptions& options);
  // Decides for one filename (co_filename). Results are cached by filename.
  bool Includes(const std::string& filename);
  // Under a directory the default scope leaves out (the standard library,
  // site-packages, tracetape's own), whatever --include says.
  bool InDefaultExcludedDir(const std::string& filename) const;

 private:
  bool Decide(const std::string& filename) const;
  std::vector<std::string> include_;
  std::vector<std::string> exclude_;
  std::vector<std::string> default_exclude_dirs_;
  std::vector<std::pair<std::string, std::string>> pseudo_files_;
  std::unordered_map<std::string, bool> cache_;
};

}  // namespace tracetape::recorder

#endif  // TRACETAPE_RECORDER_SCOPE_H_
