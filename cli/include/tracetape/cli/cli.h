// The offline commands (replay, dump, info, verify, export, dap), as a library: the Python
// `tracetape` entry point and the Python-free `tracetape-replay` binary both
// call Main.
#ifndef TRACETAPE_CLI_CLI_H_
#define TRACETAPE_CLI_CLI_H_

#include <functional>
#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace tracetape::cli {

// args[0] is the subcommand. Returns the process exit status: 0 success,
// 1 a bad or unreadable tape, 2 a usage error.
int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

int Dump(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// Replays a tape at a prompt; with --batch (or input that is not a terminal)
// commands come from `in` and are echoed after the prompt. Exit status 1 if
// any command was unknown or malformed.
int Replay(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err);

// Reads one line at an interactive prompt; false at end of input. Lets a
// front end bring line editing and history (the binary uses libedit).
using LineReader = std::function<bool(const std::string& prompt, std::string* line)>;
// Main with an interactive line reader for `replay` on a terminal.
int Main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, const LineReader& reader);
int Info(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
int Verify(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// Writes a tape's frames as a Chrome trace or a speedscope file (-o OUT; `-`
// is `out`), the event number as the time axis. Exit status 1 if the tape
// is corrupt (what was read before is exported) or OUT cannot be written.
int Export(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
// Serves the Debug Adapter Protocol on `in`/`out` until `disconnect` or the
// end of input (cli/src/dap.cc). Exit status 1 if the input stops being DAP.
int Dap(const std::vector<std::string>& args, std::istream& in, std::ostream& out, std::ostream& err);

// JSON string literal of s (quotes included). Invalid UTF-8 becomes U+FFFD:
// a tape is untrusted and its strings are not guaranteed valid.
std::string JsonString(const std::string& s);

}  // namespace tracetape::cli

#endif  // TRACETAPE_CLI_CLI_H_
