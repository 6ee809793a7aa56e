#include "base/files.h"
#include "base/helper_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "base/syscall.h"

namespace cells {

Result<std::string> read_file(const std::string& path) {
  Fd fd = CELLS_SYSCALL_FD(::open(path.c_str(), O_RDONLY | O_CLOEXEC), "open " + path);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = CELLS_SYSCALL(::read(fd.get(), buf, sizeof buf), "read " + path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status fsync_parent_dir(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == 0 ? "/" : (slash == std::string::npos ? "." : path.substr(0, slash));
  Fd fd = CELLS_SYSCALL_FD(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open " + dir);
  CELLS_SYSCALL(::fsync(fd.get()), "fsync " + dir);
  return ok_status();
}

Status write_file_atomic(const std::string& path, const std::string& content, int mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    Fd fd = CELLS_SYSCALL_FD(
        ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode), "create " + tmp);
    size_t off = 0;
    while (off < content.size()) {
      ssize_t n = ::write(fd.get(), content.data() + off, content.size() - off);
      if (n < 0) {
        if (errno == EINTR) continue;
        int err = errno;
        ::unlink(tmp.c_str());
        return Error::sys(err, "write " + tmp);
      }
      off += static_cast<size_t>(n);
    }
    if (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Error::sys(err, "fsync " + tmp);
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Error::sys(err, "rename " + tmp + " to " + path);
  }
  return fsync_parent_dir(path);
}

Status make_dirs(const std::string& path, int mode) {
  if (path.empty()) return ok_status();
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) {
      return Error::sys(errno, "mkdir " + cur);
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Error::sys(errno, "stat " + path);
  if (!S_ISDIR(st.st_mode)) return Error::invalid(path + " exists and is not a directory");
  return ok_status();
}

std::string installed_helper_path(const std::string& name, const std::string& exe) {
  std::string self = exe;
  if (self.empty()) {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return {};
    self.assign(buf, size_t(n));
  }
  // <prefix>/<dir>/<program> -> <prefix>
  size_t program = self.rfind('/');
  if (program == std::string::npos || program == 0) return {};
  size_t dir = self.rfind('/', program - 1);
  if (dir == std::string::npos) return {};
  return self.substr(0, dir) + "/libexec/cells/" + name;
}

Result<std::string> find_helper_program(const std::string& name, const char* env_var,
                                        const char* build_path) {
  std::string tried;
  auto usable = [&](const std::string& p) {
    if (!tried.empty()) tried += ", ";
    tried += p;
    return ::access(p.c_str(), X_OK) == 0;
  };
  if (const char* env = std::getenv(env_var); env && *env) {
    if (usable(env)) return std::string(env);
    return Error::not_found(name + " program " + env + " (from " + env_var +
                            ") is not executable");
  }
  // An installed program uses the helpers installed with it, never those of its build tree.
  if (auto installed = installed_helper_path(name); !installed.empty() && usable(installed)) {
    return installed;
  }
  if (build_path && usable(build_path)) return std::string(build_path);
  if (std::string fixed = "/usr/libexec/cells/" + name; usable(fixed)) return fixed;
  return Error::not_found("no " + name + " program (tried " + tried + ")");
}

}  // namespace cells
