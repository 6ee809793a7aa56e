#include "kernel/landlock.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "base/syscall.h"
#include "kernel/compat.h"

namespace cells::kernel {
namespace {

// Rights a rule may grant on a non-directory; the kernel rejects directory rights on files.
constexpr uint64_t kFileAccess = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                                 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |
                                 LANDLOCK_ACCESS_FS_IOCTL_DEV;

// Every filesystem right up to ABI 5 (ABI 6 and 7 added no filesystem rights). Handling all of
// them makes anything not granted below a denial (EACCES), including renames across dirs.
constexpr uint64_t kAllFsAccess = (LANDLOCK_ACCESS_FS_IOCTL_DEV << 1) - 1;

constexpr uint64_t kReadAccess =
    LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;

long sys_create_ruleset(const compat::LandlockRulesetAttr* attr, size_t size, uint32_t flags) {
  return syscall(__NR_landlock_create_ruleset, attr, size, flags);
}
long sys_add_rule(int ruleset, int type, const void* attr, uint32_t flags) {
  return syscall(__NR_landlock_add_rule, ruleset, type, attr, flags);
}

bool is_normalised_absolute(const std::string& p) {
  if (p.empty() || p[0] != '/') return false;
  if (p.size() > 1 && p.back() == '/') return false;
  for (size_t i = 0; i < p.size();) {
    size_t j = p.find('/', i + 1);
    if (j == std::string::npos) j = p.size();
    std::string_view part(p.data() + i + 1, j - i - 1);
    if (p.size() > 1 && (part.empty() || part == "." || part == "..")) return false;
    i = j;
  }
  return true;
}

}  // namespace

Result<int> landlock_abi() {
  long abi = sys_create_ruleset(nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 0) {
    int err = errno;
    if (err == ENOSYS || err == EOPNOTSUPP) {
      return Error(ErrorKind::kUnsupported,
                   "Landlock is not available in this kernel (CONFIG_SECURITY_LANDLOCK or "
                   "lsm= boot parameter)",
                   err);
    }
    return Error::sys(err, "landlock_create_ruleset(VERSION)");
  }
  if (abi < kLandlockMinAbi) {
    return Error(ErrorKind::kUnsupported,
                 "Landlock ABI " + std::to_string(abi) + " is too old: the cell policy needs ABI " +
                     std::to_string(kLandlockMinAbi) + " (signal and abstract-unix scoping)");
  }
  return static_cast<int>(abi);
}

std::vector<std::string> default_writable_paths() {
  return {"/tmp",      "/var",      "/run",     "/dev/shm",  "/dev/null",
          "/dev/zero", "/dev/full", "/dev/tty", "/dev/ptmx", "/dev/pts"};
}

Result<LandlockPlan> build_landlock(const LandlockOptions& options) {
  // Validate everything first: a bad option changes nothing.
  for (const auto& p : options.writable) {
    if (!is_normalised_absolute(p)) {
      return Error::invalid("writable path '" + p +
                            "' is not a normalised absolute path (no '.', '..', '//' or "
                            "trailing '/')");
    }
  }
  for (uint16_t port : options.bind_ports) {
    if (port == 0) return Error::invalid("reserved port 0 is not a port (expected 1..65535)");
  }
  CELLS_TRY(landlock_abi());

  compat::LandlockRulesetAttr attr;
  attr.scoped = LANDLOCK_SCOPE_SIGNAL | LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET;
  if (options.restrict_fs) attr.handled_access_fs = kAllFsAccess;
  // Only bind is handled: connect() (and the implicit ephemeral bind it does) stays free.
  if (options.restrict_bind) attr.handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP;

  LandlockPlan plan;
  plan.ruleset =
      CELLS_SYSCALL_FD(sys_create_ruleset(&attr, sizeof attr, 0), "landlock_create_ruleset");
  if (options.restrict_bind) {
    for (uint16_t port : options.bind_ports) {
      compat::LandlockNetPortAttr rule;
      rule.allowed_access = LANDLOCK_ACCESS_NET_BIND_TCP;
      rule.port = port;
      CELLS_SYSCALL(sys_add_rule(plan.ruleset.get(), LANDLOCK_RULE_NET_PORT, &rule, 0),
                    "landlock_add_rule(port " + std::to_string(port) + ")");
    }
  }
  plan.restrict_fs = options.restrict_fs;
  plan.read_access = kReadAccess;
  plan.write_access = kAllFsAccess;
  plan.writable = options.writable;
  return plan;
}

namespace {

// Adds one path-beneath rule; a path that does not exist is skipped (see landlock.h).
int add_path_rule(int ruleset, const char* path, uint64_t access) noexcept {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : errno;
  struct stat st;
  int err = 0;
  if (fstat(fd, &st) != 0) {
    err = errno;
  } else {
    compat::LandlockPathBeneathAttr rule;
    rule.allowed_access = S_ISDIR(st.st_mode) ? access : (access & kFileAccess);
    rule.parent_fd = fd;
    if (sys_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) err = errno;
  }
  close(fd);
  return err;
}

}  // namespace

int landlock_enter(const LandlockPlan& plan) noexcept {
  if (!plan.ruleset.valid()) return EBADF;
  if (plan.restrict_fs) {
    if (int err = add_path_rule(plan.ruleset.get(), "/", plan.read_access)) return err;
    for (const auto& p : plan.writable) {
      if (int err = add_path_rule(plan.ruleset.get(), p.c_str(), plan.write_access)) return err;
    }
  }
  if (syscall(__NR_landlock_restrict_self, plan.ruleset.get(), 0) != 0) return errno;
  return 0;
}

}  // namespace cells::kernel
