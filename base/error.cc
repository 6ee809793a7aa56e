#include "base/error.h"

#include <cstring>

namespace cells {

std::string_view to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalid: return "invalid";
    case ErrorKind::kNotFound: return "not found";
    case ErrorKind::kExists: return "exists";
    case ErrorKind::kBusy: return "busy";
    case ErrorKind::kSystem: return "system";
    case ErrorKind::kCorrupt: return "corrupt";
    case ErrorKind::kUnsupported: return "unsupported";
    case ErrorKind::kPermission: return "permission";
  }
  return "unknown";
}

Error Error::sys(int err, std::string_view what) {
  // Map the errno values callers branch on to kinds, so "File exists" is kExists everywhere.
  ErrorKind kind = ErrorKind::kSystem;
  switch (err) {
    case ENOENT: kind = ErrorKind::kNotFound; break;
    case EEXIST: kind = ErrorKind::kExists; break;
    case EBUSY: kind = ErrorKind::kBusy; break;
    case EPERM:
    case EACCES: kind = ErrorKind::kPermission; break;
    case ENOSYS:
    case EOPNOTSUPP: kind = ErrorKind::kUnsupported; break;
    default: break;
  }
  std::string msg(what);
  msg += ": ";
  // strerrordesc_np: the C locale's text without strerror's gettext lookup, which would link
  // gettext, iconv and static dlopen into every static program (the supervisor's memory).
  if (const char* desc = strerrordesc_np(err)) {
    msg += desc;
  } else {
    msg += "Unknown error " + std::to_string(err);  // strerror's text for these
  }
  return Error(kind, std::move(msg), err);
}

Error Error::wrap(std::string_view context) && {
  std::string msg(context);
  msg += ": ";
  msg += message_;
  message_ = std::move(msg);
  return std::move(*this);
}

Error Error::wrap(std::string_view context) const& { return Error(*this).wrap(context); }

}  // namespace cells
