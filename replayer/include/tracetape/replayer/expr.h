// A small, safe subset of Python expressions over captured values, for `p`,
// `display` and breakpoint conditions: names, literals, attribute and item
// access, len(), arithmetic, comparisons, `in`, and/or/not. Nothing runs: the
// program is not there, only its recorded values.
#ifndef TRACETAPE_REPLAYER_EXPR_H_
#define TRACETAPE_REPLAYER_EXPR_H_

#include <functional>
#include <optional>
#include <string>

#include "tracetape/format/status.h"
#include "tracetape/replayer/value.h"

namespace tracetape::replayer {

// Returns the value bound to a name at the current event, or nullopt.
using NameLookup = std::function<std::optional<Value>(const std::string&)>;

// Errors are InvalidArgument with a pdb-like message ("NameError: ...").
StatusOr<Value> Evaluate(const std::string& expression, const NameLookup& lookup);

// Checks syntax only (for `b file:line, cond` and `condition`).
Status CheckSyntax(const std::string& expression);

}  // namespace tracetape::replayer

#endif  // TRACETAPE_REPLAYER_EXPR_H_
