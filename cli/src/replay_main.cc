// tracetape-replay: the offline commands without Python. With libedit, the
// replay prompt has line editing and a history kept in ~/.tracetape_history.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "tracetape/cli/cli.h"

#ifdef TRACETAPE_HAVE_LIBEDIT
#include <editline/readline.h>

namespace {

std::string HistoryPath() {
  const char* home = std::getenv("HOME");
  return home ? std::string(home) + "/.tracetape_history" : std::string();
}

bool ReadLine(const std::string& prompt, std::string* line) {
  static bool loaded = false;
  if (!loaded) {
    loaded = true;
    using_history();
    std::string path = HistoryPath();
    if (!path.empty()) read_history(path.c_str());
  }
  char* text = readline(prompt.c_str());
  if (text == nullptr) return false;
  *line = text;
  if (!line->empty()) {
    add_history(text);
    std::string path = HistoryPath();
    if (!path.empty()) write_history(path.c_str());
  }
  std::free(text);
  return true;
}

}  // namespace
#endif

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
#ifdef TRACETAPE_HAVE_LIBEDIT
  int rc = tracetape::cli::Main(args, std::cout, std::cerr, ReadLine);
#else
  int rc = tracetape::cli::Main(args, std::cout, std::cerr);
#endif
  std::cout.flush();
  return rc;
}
