#include "tracetape/recorder/redactor.h"

namespace tracetape::recorder {

StatusOr<Redactor> Redactor::Create(const std::vector<std::string>& extra_patterns) {
  Redactor r;
  std::vector<std::string> all{kDefaultRedactPattern};
  all.insert(all.end(), extra_patterns.begin(), extra_patterns.end());
  for (const auto& p : all) {
    try {
      r.patterns_.emplace_back(p, std::regex::ECMAScript | std::regex::icase | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument("--redact pattern '" + p + "' is not a valid regular expression: " + e.what());
    }
  }
  return r;
}

bool Redactor::ShouldRedact(std::string_view name) {
  auto it = cache_.find(name);
  if (it != cache_.end()) return it->second;
  bool hit = false;
  for (const auto& re : patterns_) {
    if (std::regex_search(name.begin(), name.end(), re)) {
      hit = true;
      break;
    }
  }
  if (cache_.size() < 100000) {
    names_.push_back(std::make_unique<std::string>(name));
    cache_.emplace(*names_.back(), hit);
  }
  return hit;
}

}  // namespace tracetape::recorder
