#include "tracetape/recorder/redactor.h"

#include <atomic>
#include <optional>

namespace tracetape::recorder {

namespace {

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool WordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// The literals a pattern matches as a substring when it is only an
// alternation of words whose characters may be made optional by `?`
// ("passw|api_?key": passw, api_key, apikey), lowercased; nullopt for any
// other pattern (anchors, classes, groups, an empty alternative...), which
// keeps the regex. On these patterns, an ECMAScript case-insensitive
// regex_search and a search for any of the literals in the lowercased name
// give the same answer (std::regex folds case through the classic locale:
// ASCII letters only, as LowerAscii does).
std::optional<std::vector<std::string>> Literals(const std::string& pattern) {
  constexpr size_t kMaxLiterals = 256;
  std::vector<std::string> all;
  size_t start = 0;
  while (true) {
    size_t bar = pattern.find('|', start);
    std::string_view alt(pattern.data() + start, (bar == std::string::npos ? pattern.size() : bar) - start);
    if (alt.empty()) return std::nullopt;
    std::vector<std::string> expansions{""};
    for (size_t i = 0; i < alt.size(); ++i) {
      char c = alt[i];
      if (!WordChar(c)) return std::nullopt;
      bool optional = i + 1 < alt.size() && alt[i + 1] == '?';
      if (optional && i + 2 < alt.size() && (alt[i + 2] == '?' || alt[i + 2] == '*' || alt[i + 2] == '+')) {
        return std::nullopt;  // a lazy quantifier, or worse: keep the regex
      }
      size_t n = expansions.size();
      if (optional) {
        if (2 * n + all.size() > kMaxLiterals) return std::nullopt;
        for (size_t k = 0; k < n; ++k) expansions.push_back(expansions[k]);
        ++i;
      }
      for (size_t k = 0; k < n; ++k) expansions[k] += LowerAscii(c);
    }
    for (auto& e : expansions) {
      if (e.empty()) return std::nullopt;  // matches everywhere: leave it to the regex
      all.push_back(std::move(e));
    }
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  return all;
}

}  // namespace

StatusOr<Redactor> Redactor::Create(const std::vector<std::string>& extra_patterns) {
  static std::atomic<uint64_t> next_id{1};
  Redactor r;
  r.id_ = next_id.fetch_add(1);
  std::vector<std::string> all{kDefaultRedactPattern};
  all.insert(all.end(), extra_patterns.begin(), extra_patterns.end());
  for (const auto& p : all) {
    try {
      // Compiled even when its literals are used: an invalid pattern is an
      // error either way, with the regex library's message.
      std::regex re(p, std::regex::ECMAScript | std::regex::icase | std::regex::optimize);
      if (auto literals = Literals(p)) {
        r.literals_.insert(r.literals_.end(), literals->begin(), literals->end());
      } else {
        r.patterns_.push_back(std::move(re));
      }
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument("--redact pattern '" + p + "' is not a valid regular expression: " + e.what());
    }
  }
  return r;
}

bool Redactor::Matches(std::string_view name) {
  if (!literals_.empty()) {
    lowered_.assign(name.begin(), name.end());
    for (char& c : lowered_) c = LowerAscii(c);
    for (const auto& literal : literals_) {
      if (lowered_.find(literal) != std::string::npos) return true;
    }
  }
  for (const auto& re : patterns_) {
    if (std::regex_search(name.begin(), name.end(), re)) return true;
  }
  return false;
}

bool Redactor::ShouldRedact(std::string_view name) {
  auto it = cache_.find(name);
  if (it != cache_.end()) return it->second;
  bool hit = Matches(name);
  if (cache_.size() < 100000) {
    names_.push_back(std::make_unique<std::string>(name));
    cache_.emplace(*names_.back(), hit);
  }
  return hit;
}

}  // namespace tracetape::recorder
