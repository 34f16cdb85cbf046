// What a recording captures and where it goes. Filled by the Python front end
// (CLI flags, tracetape.record(...) keywords), read by the hook and the writer.
#ifndef TRACETAPE_RECORDER_OPTIONS_H_
#define TRACETAPE_RECORDER_OPTIONS_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace tracetape::recorder {

enum class LocalsMode { kAll, kArgs, kNone };

struct RenderLimits {
  size_t max_string = 200;  // characters of a str (bytes of a bytes) shown before "..."
  size_t max_items = 30;    // items of a container, attributes of an instance
  int max_depth = 4;        // nesting levels below the top value
  size_t max_total = 1000;  // bytes of one rendered value
};

struct Metadata {
  std::string writer_version;
  std::string python_version;
  std::string python_implementation;
  std::string platform;
  std::string executable;
  std::vector<std::string> argv;
  std::string cwd;
  int64_t start_time_ns = 0;
  int64_t pid = 0;
  std::string hook_backend;
  std::vector<std::pair<std::string, std::string>> options;  // as given, for `info`
};

struct RecordOptions {
  std::string path;
  // Absolute filename globs (fnmatch semantics: `*` also matches `/`).
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  // Directories excluded when `include` is empty: stdlib, site-packages,
  // tracetape itself.
  std::vector<std::string> default_exclude_dirs;
  // Pseudo-filenames such as "<string>" are excluded unless listed here,
  // with the source text to embed for them (the code of `record -c`).
  std::vector<std::pair<std::string, std::string>> pseudo_files;
  LocalsMode locals = LocalsMode::kAll;
  std::vector<std::string> redact;  // extra name patterns (ECMAScript regex, case-insensitive)
  bool embed_source = true;
  size_t ring_bytes = 32u << 20;    // the hook-to-writer buffer; the memory bound
  int zstd_level = 3;
  RenderLimits limits;
  Metadata metadata;
};

}  // namespace tracetape::recorder

#endif  // TRACETAPE_RECORDER_OPTIONS_H_
