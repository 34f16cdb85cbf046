// Status and StatusOr: errors in the C++ libraries are values. Exceptions appear
// only at the pybind11 boundary.
#ifndef TRACETAPE_FORMAT_STATUS_H_
#define TRACETAPE_FORMAT_STATUS_H_

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace tracetape {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the caller asked for something impossible
    kNotFound,
    kIoError,          // the operating system refused
    kCorrupt,          // the bytes contradict the format
    kTruncated,        // the bytes stop early (an incomplete tape)
    kUnsupported,      // a newer or unknown format version
    kResourceLimit,    // a bound on size or memory was reached
    kInternal,
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status NotFound(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status IoError(std::string m) { return Status(Code::kIoError, std::move(m)); }
  static Status Corrupt(std::string m) { return Status(Code::kCorrupt, std::move(m)); }
  static Status Truncated(std::string m) { return Status(Code::kTruncated, std::move(m)); }
  static Status Unsupported(std::string m) { return Status(Code::kUnsupported, std::move(m)); }
  static Status ResourceLimit(std::string m) { return Status(Code::kResourceLimit, std::move(m)); }
  static Status Internal(std::string m) { return Status(Code::kInternal, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(const std::string& context) const;

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class StatusOr {
 public:
  StatusOr(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT
  StatusOr(T value) : value_(std::move(value)) {}                                    // NOLINT

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace tracetape

#define TRACETAPE_RETURN_IF_ERROR(expr)         \
  do {                                          \
    ::tracetape::Status _tt_status = (expr);    \
    if (!_tt_status.ok()) return _tt_status;    \
  } while (0)

#endif  // TRACETAPE_FORMAT_STATUS_H_
