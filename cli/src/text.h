// Text helpers shared by the offline commands and the replay prompt.
#ifndef TRACETAPE_CLI_TEXT_H_
#define TRACETAPE_CLI_TEXT_H_

#include <string>

namespace tracetape::cli {

// Makes recorded text safe to print on a terminal: a tape is untrusted, and
// its strings must not carry escape sequences to the user's terminal. Control
// characters (tab too, unless keep_tabs) become \xNN.
std::string Printable(const std::string& s, bool keep_tabs = false);

}  // namespace tracetape::cli

#endif  // TRACETAPE_CLI_TEXT_H_
