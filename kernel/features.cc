#include "kernel/features.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/magic.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/files.h"
#include "kernel/namespaces.h"

namespace cells::kernel {
namespace {

constexpr const char* kCgroup2Mount = "/sys/fs/cgroup/unified";
constexpr int kMinLandlockAbi = 4;  // TCP port rules, which the high profile needs

Feature probe_cgroup2() {
  Feature f{"cgroup2", false, ""};
  struct statfs sfs {};
  if (statfs(kCgroup2Mount, &sfs) != 0 || sfs.f_type != CGROUP2_SUPER_MAGIC) {
    f.detail = std::string("no cgroup2 filesystem at ") + kCgroup2Mount;
    return f;
  }
  f.present = true;
  f.detail = std::string("mounted at ") + kCgroup2Mount;
  return f;
}

// The root cgroup has no cgroup.kill file, so the check looks at this process's own cgroup
// when it is not the root, and otherwise trusts the kernel version that introduced it (5.14).
Feature probe_cgroup_kill() {
  Feature f{"cgroup_kill", false, ""};
  auto self = read_file("/proc/self/cgroup");
  if (self) {
    auto pos = self->find("0::");
    if (pos != std::string::npos) {
      auto end = self->find('\n', pos);
      std::string rel = self->substr(pos + 3, end == std::string::npos ? end : end - pos - 3);
      if (rel != "/") {
        std::string file = std::string(kCgroup2Mount) + rel + "/cgroup.kill";
        f.present = access(file.c_str(), F_OK) == 0;
        f.detail = f.present ? "cgroup.kill present" : "no " + file;
        return f;
      }
    }
  }
  auto release = read_file("/proc/sys/kernel/osrelease");
  // "<major>.<minor>[.<patch>...]"; from_chars, not sscanf: scanf and its float parsing would
  // stay in every static program that links this file (the supervisor).
  int major = 0, minor = 0;
  auto version = [&]() {
    if (!release) return false;
    const char* p = release->data();
    const char* end = p + release->size();
    auto r = std::from_chars(p, end, major);
    if (r.ec != std::errc() || r.ptr == end || *r.ptr != '.') return false;
    return std::from_chars(r.ptr + 1, end, minor).ec == std::errc();
  };
  if (version()) {
    f.present = major > 5 || (major == 5 && minor >= 14);
    f.detail = "kernel " + std::to_string(major) + "." + std::to_string(minor) +
               (f.present ? "" : " predates cgroup.kill (5.14)");
  } else {
    f.detail = "cannot read the kernel release";
  }
  return f;
}

Feature probe_user_namespaces() {
  Feature f{"user_namespaces", false, ""};
  auto max = read_file("/proc/sys/user/max_user_namespaces");
  if (!max) {
    f.detail = "kernel built without user namespaces";
    return f;
  }
  long n = std::strtol(max->c_str(), nullptr, 10);
  f.present = n > 0;
  f.detail = "max_user_namespaces=" + std::to_string(n);
  return f;
}

Feature probe_landlock() {
  Feature f{"landlock", false, ""};
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  if (abi < 0) {
    f.detail = Error::sys(errno, "landlock_create_ruleset").message();
    return f;
  }
  f.present = abi >= kMinLandlockAbi;
  f.detail = "ABI " + std::to_string(abi) +
             (f.present ? "" : " (ABI " + std::to_string(kMinLandlockAbi) + " needed)");
  return f;
}

Feature probe_seccomp() {
  Feature f{"seccomp", false, ""};
  if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) < 0) {
    f.detail = Error::sys(errno, "prctl(PR_GET_SECCOMP)").message();
    return f;
  }
  f.present = access("/proc/sys/kernel/seccomp/actions_avail", R_OK) == 0;
  f.detail = f.present ? "filter mode available" : "no seccomp filter support";
  return f;
}

Feature probe_bpffs() {
  Feature f{"bpffs", false, ""};
  auto fs = read_file("/proc/filesystems");
  f.present = fs && fs->find("\tbpf\n") != std::string::npos;
  f.detail = f.present ? "bpf filesystem available" : "bpf filesystem not in /proc/filesystems";
  return f;
}

// Starts a child with FLAGS (optionally into CGROUP_FD) that exits at once, and reaps it.
int try_clone(uint64_t flags, int cgroup_fd) {
  struct clone_args args {};
  args.flags = flags;
  args.exit_signal = SIGCHLD;
  if (cgroup_fd >= 0) args.cgroup = static_cast<uint64_t>(cgroup_fd);
  pid_t pid = clone3_fork(&args);
  if (pid < 0) return errno;
  if (pid == 0) _exit(0);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return 0;
}

Feature probe_clone_into_cgroup() {
  Feature f{"clone_into_cgroup", false, ""};
  std::string dir = std::string(kCgroup2Mount) + "/cells-probe-" + std::to_string(getpid());
  if (mkdir(dir.c_str(), 0755) != 0) {
    int err = errno;
    f.detail = Error::sys(err, "mkdir " + dir).message();
    return f;
  }
  int fd = open(dir.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  int err = fd < 0 ? errno : try_clone(CLONE_INTO_CGROUP, fd);
  if (fd >= 0) close(fd);
  rmdir(dir.c_str());
  f.present = err == 0;
  f.detail = f.present ? "clone3 into a cgroup works" : Error::sys(err, "clone3").message();
  return f;
}

void deepen_user_namespaces(Feature& f) {
  if (!f.present) return;
  int err = try_clone(CLONE_NEWUSER, -1);
  if (err != 0) {
    f.present = false;
    f.detail = Error::sys(err, "clone3(CLONE_NEWUSER)").message();
  }
}

}  // namespace

std::vector<Feature> probe_features(bool deep) {
  std::vector<Feature> out;
  out.push_back(probe_cgroup2());
  out.push_back(probe_cgroup_kill());
  if (deep) {
    out.push_back(probe_clone_into_cgroup());
  } else {
    // clone3 with CLONE_INTO_CGROUP arrived in 5.7, long before cgroup.kill (5.14); a cheap
    // probe infers it, and Runtime::create reports the flag by name if clone3 rejects it.
    Feature f{"clone_into_cgroup", out[1].present, out[1].present ? "implied by cgroup_kill" :
                                                                    "needs kernel 5.7"};
    out.push_back(f);
  }
  out.push_back(probe_user_namespaces());
  if (deep) deepen_user_namespaces(out.back());
  out.push_back(probe_landlock());
  out.push_back(probe_seccomp());
  out.push_back(probe_bpffs());
  return out;
}

Status require_features(const std::vector<Feature>& features) {
  for (const auto& f : features) {
    if (!f.present) {
      return Error(ErrorKind::kUnsupported,
                   "kernel feature " + f.name + " is missing: " + f.detail);
    }
  }
  return ok_status();
}

std::string format_feature_table(const std::vector<Feature>& features) {
  size_t width = 7;  // "FEATURE"
  for (const auto& f : features) width = std::max(width, f.name.size());
  auto pad = [](std::string s, size_t w) {
    s.resize(std::max(s.size(), w), ' ');
    return s;
  };
  std::string out = pad("FEATURE", width) + "  PRESENT  DETAIL\n";
  for (const auto& f : features) {
    out += pad(f.name, width) + "  " + pad(f.present ? "YES" : "NO", 7) + "  " + f.detail + "\n";
  }
  return out;
}

}  // namespace cells::kernel
