// Positioned reads of a file, for readers that must not trust its contents.
#ifndef TRACETAPE_FORMAT_FILE_H_
#define TRACETAPE_FORMAT_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "tracetape/format/status.h"

namespace tracetape::format {

class RandomAccessFile {
 public:
  static StatusOr<std::unique_ptr<RandomAccessFile>> Open(const std::string& path);
  ~RandomAccessFile();
  RandomAccessFile(const RandomAccessFile&) = delete;
  RandomAccessFile& operator=(const RandomAccessFile&) = delete;

  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Reads up to n bytes at offset into *out; fewer only at end of file.
  Status Read(uint64_t offset, size_t n, std::string* out) const;

 private:
  RandomAccessFile(int fd, uint64_t size, std::string path) : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_;
  uint64_t size_;
  std::string path_;
};

}  // namespace tracetape::format

#endif  // TRACETAPE_FORMAT_FILE_H_
