#include "tracetape/recorder/scope.h"

namespace tracetape::recorder {

bool GlobMatch(std::string_view p, std::string_view t) {
  size_t pi = 0, ti = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (ti < t.size()) {
    if (pi < p.size()) {
      char c = p[pi];
      if (c == '*') {
        star_p = pi++;
        star_t = ti;
        continue;
      }
      if (c == '?') {
        ++pi;
        ++ti;
        continue;
      }
      if (c == '[') {
        size_t j = pi + 1;
        bool negate = j < p.size() && (p[j] == '!' || p[j] == '^');
        if (negate) ++j;
        bool matched = false;
        size_t start = j;
        while (j < p.size() && (p[j] != ']' || j == start)) {
          if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
            if (p[j] <= t[ti] && t[ti] <= p[j + 2]) matched = true;
            j += 3;
          } else {
            if (p[j] == t[ti]) matched = true;
            ++j;
          }
        }
        if (j < p.size()) {  // a closed class
          if (matched != negate) {
            pi = j + 1;
            ++ti;
            continue;
          }
        } else if (c == t[ti]) {  // an unclosed '[' is a literal
          ++pi;
          ++ti;
          continue;
        }
      } else if (c == t[ti]) {
        ++pi;
        ++ti;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p + 1;
    ti = ++star_t;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Scope::Scope(const RecordOptions& options)
    : include_(options.include),
      exclude_(options.exclude),
      default_exclude_dirs_(options.default_exclude_dirs),
      pseudo_files_(options.pseudo_files) {
  for (auto& d : default_exclude_dirs_) {
    if (!d.empty() && d.back() != '/') d.push_back('/');
  }
}

bool Scope::Includes(const std::string& filename) {
  auto it = cache_.find(filename);
  if (it != cache_.end()) return it->second;
  bool decision = Decide(filename);
  cache_.emplace(filename, decision);
  return decision;
}

bool Scope::Decide(const std::string& filename) const {
  for (const auto& pseudo : pseudo_files_) {
    if (filename == pseudo.first) return true;
  }
  // "<frozen importlib._bootstrap>", "<string>" from exec, dataclass and
  // namedtuple generated methods: no file to show, not the user's code.
  if (filename.empty() || filename.front() == '<') return false;
  for (const auto& pattern : exclude_) {
    if (GlobMatch(pattern, filename)) return false;
  }
  if (!include_.empty()) {
    for (const auto& pattern : include_) {
      if (GlobMatch(pattern, filename)) return true;
    }
    return false;
  }
  return !InDefaultExcludedDir(filename);
}

bool Scope::InDefaultExcludedDir(const std::string& filename) const {
  for (const auto& dir : default_exclude_dirs_) {
    if (filename.compare(0, dir.size(), dir) == 0) return true;
  }
  return false;
}

}  // namespace tracetape::recorder
