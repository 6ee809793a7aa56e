// cells::Error: the one error value that crosses layer boundaries.
//
// Public functions of store/, kernel/, backup/ and engine/ return Result<T> (result.h). An
// Error carries what kind of failure it is (so callers can branch without string matching),
// the errno when a system call failed, and a message that reads as a sentence for operators:
// "create cell web: mkdir /sys/fs/cgroup/unified/cells/web: File exists". Context is added as
// the error travels up with wrap().
#pragma once

#include <string>
#include <string_view>

namespace cells {

enum class ErrorKind {
  kInvalid,      // bad input from the operator or caller; nothing was changed
  kNotFound,     // the named thing does not exist
  kExists,       // the named thing exists already
  kBusy,         // in use, or another operation holds the lock
  kSystem,       // a system call failed (see sys_errno)
  kCorrupt,      // on-disk data failed a check (journal chain, archive checksum)
  kUnsupported,  // the kernel or a format version lacks what is needed
  kPermission,   // the caller lacks the privilege
};

std::string_view to_string(ErrorKind kind);

class Error {
 public:
  Error(ErrorKind kind, std::string message, int sys_errno = 0)
      : kind_(kind), sys_errno_(sys_errno), message_(std::move(message)) {}

  // A failed system call: message becomes "<what>: <strerror(err)>".
  static Error sys(int err, std::string_view what);
  static Error invalid(std::string message) { return {ErrorKind::kInvalid, std::move(message)}; }
  static Error not_found(std::string message) {
    return {ErrorKind::kNotFound, std::move(message)};
  }

  ErrorKind kind() const { return kind_; }
  int sys_errno() const { return sys_errno_; }
  const std::string& message() const { return message_; }

  // Prefixes context: Error("x").wrap("create cell web") reads "create cell web: x".
  Error wrap(std::string_view context) &&;
  Error wrap(std::string_view context) const&;

 private:
  ErrorKind kind_;
  int sys_errno_;
  std::string message_;
};

}  // namespace cells
