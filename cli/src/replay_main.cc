// tracetape-replay: the offline commands without Python.
#include <iostream>
#include <string>
#include <vector>

#include "tracetape/cli/cli.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  std::vector<std::string> args(argv + 1, argv + argc);
  int rc = tracetape::cli::Main(args, std::cout, std::cerr);
  std::cout.flush();
  return rc;
}
