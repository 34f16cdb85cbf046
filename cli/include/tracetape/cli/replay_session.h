// The replay prompt: pdb's commands and habits plus reverse execution, over a
// replayer::Engine. Shared by `tracetape replay` (Python front end, readline)
// and the Python-free `tracetape-replay` binary.
#ifndef TRACETAPE_CLI_REPLAY_SESSION_H_
#define TRACETAPE_CLI_REPLAY_SESSION_H_

#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "tracetape/replayer/engine.h"

namespace tracetape::cli {

class ReplaySession {
 public:
  explicit ReplaySession(std::unique_ptr<replayer::Engine> engine);

  // Runs one input line (commands separated by ';;'). An empty line repeats
  // the previous command. Returns false once the user quits.
  bool Execute(const std::string& line, std::ostream& out);

  std::string Prompt() const;
  // Prints where the cursor is, as after a move.
  void PrintLocation(std::ostream& out);
  // Positions the cursor: N, start, end or exception.
  bool GotoSpec(const std::string& spec, std::ostream& out);
  // Where a replay starts without --goto: at the failure for the tape of a
  // failed test (with its locals shown), else at the first event.
  void Start(std::ostream& out);
  // Prints the selected frame's locals, one per line. Without `all`, those with names no
  // program can write (pytest's assertion temporaries `@py_assert1`,
  // `@py_format3`...; a comprehension's `.0`) are left out and counted.
  void PrintLocals(std::ostream& out, bool all = true);

  // Selects the frame `offset` levels above the event's, as `u` would
  // (clamped to the outermost), without printing.
  void SelectFrame(uint32_t offset) { frame_offset_ = offset; }

  // Unknown or malformed commands so far (batch mode's exit status).
  int errors() const { return errors_; }
  replayer::Engine& engine() { return *engine_; }

 private:
  bool Run(const std::string& command, std::ostream& out);
  void Error(std::ostream& out, const std::string& message, bool user_error = true);
  void Moved(std::ostream& out);
  void Move(const Status& s, std::ostream& out);
  void PrintSource(std::ostream& out, const replayer::FrameView& f, int first, int last, int current);
  const replayer::FrameView* Selected(const replayer::StateView& s) const;
  void Help(const std::string& topic, std::ostream& out);

  std::unique_ptr<replayer::Engine> engine_;
  std::string last_command_;
  uint32_t frame_offset_ = 0;  // u/d: 0 is the event's own frame
  int list_next_ = -1;         // where a bare `l` continues
  std::vector<std::pair<std::string, std::string>> displays_;  // expression, last shown value
  int errors_ = 0;
};

}  // namespace tracetape::cli

#endif  // TRACETAPE_CLI_REPLAY_SESSION_H_
