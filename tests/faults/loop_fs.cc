#include "tests/faults/loop_fs.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <thread>
#include <vector>

#include "base/fd.h"
#include "base/files.h"
#include "base/syscall.h"

extern char** environ;

namespace cells::faults::testing {
namespace {

Status run(std::vector<std::string> argv) {
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return Error::sys(rc, "spawn " + argv[0]);
  int status = 0;
  CELLS_SYSCALL(::waitpid(pid, &status, 0), "wait for " + argv[0]);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error(ErrorKind::kSystem, argv[0] + " failed (status " + std::to_string(status) + ")");
  }
  return ok_status();
}

// Attaches IMAGE to a free loop device. LOOP_CTL_GET_FREE and LOOP_CONFIGURE race with other
// tests doing the same (ctest -j2), so a device taken in between is retried. The returned fd
// must stay open until the device is mounted: with autoclear, closing the last reference to
// an unmounted device detaches it.
Result<std::pair<std::string, Fd>> attach(const std::string& image) {
  Fd control = CELLS_SYSCALL_FD(::open("/dev/loop-control", O_RDWR | O_CLOEXEC),
                                "open /dev/loop-control");
  Fd backing = CELLS_SYSCALL_FD(::open(image.c_str(), O_RDWR | O_CLOEXEC), "open " + image);
  for (int attempt = 0; attempt < 20; ++attempt) {
    int n = CELLS_SYSCALL(::ioctl(control.get(), LOOP_CTL_GET_FREE), "LOOP_CTL_GET_FREE");
    std::string dev = "/dev/loop" + std::to_string(n);
    Fd loop = CELLS_SYSCALL_FD(::open(dev.c_str(), O_RDWR | O_CLOEXEC), "open " + dev);
    loop_config config{};
    config.fd = static_cast<uint32_t>(backing.get());
    // Autoclear: the device detaches itself once unmounted and closed, even if we crash.
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    if (::ioctl(loop.get(), LOOP_CONFIGURE, &config) == 0) {
      return std::make_pair(dev, std::move(loop));
    }
    if (errno != EBUSY) return Error::sys(errno, "LOOP_CONFIGURE " + dev);
  }
  return Error(ErrorKind::kBusy, "no free loop device after 20 attempts");
}

}  // namespace

Result<LoopFs> LoopFs::mount(const std::string& mountpoint, const LoopFsOptions& options) {
  // Step 1: the image beside the scratch roots (not under the mount point it will cover).
  char tmpl[] = "/var/tmp/cells-fault-img-XXXXXX";
  Fd img = CELLS_SYSCALL_FD(::mkstemp(tmpl), "mkstemp image");
  LoopFs fs("", tmpl);  // owns the image from here: removed on every error below
  CELLS_SYSCALL(::ftruncate(img.get(), static_cast<off_t>(options.size_mib << 20)), "size image");
  img.reset();

  // Step 2: format it.
  std::vector<std::string> mkfs = {"mkfs.ext4", "-q", "-F", "-m", "0"};
  if (options.inodes > 0) mkfs.insert(mkfs.end(), {"-N", std::to_string(options.inodes)});
  mkfs.push_back(fs.image_);
  CELLS_TRY(run(mkfs));

  // Step 3: attach and mount; the device fd closes only after the mount holds the device.
  auto attached = CELLS_TRY(attach(fs.image_));
  const std::string dev = attached.first;  // not a structured binding: CELLS_SYSCALL's lambda
  CELLS_SYSCALL(::mount(dev.c_str(), mountpoint.c_str(), "ext4", 0, nullptr),
                "mount " + dev + " on " + mountpoint);
  fs.dir_ = mountpoint;
  // A fresh ext4 has lost+found; nothing in the tests looks for it, but remove it so the
  // directory starts as empty as the one it covers.
  ::rmdir((mountpoint + "/lost+found").c_str());
  return fs;
}

LoopFs::LoopFs(LoopFs&& other) noexcept
    : dir_(std::exchange(other.dir_, {})), image_(std::exchange(other.image_, {})) {}

LoopFs::~LoopFs() {
  if (!dir_.empty() && ::umount2(dir_.c_str(), 0) != 0 && errno == EBUSY) {
    // Something (a failed test's child) still has it open: detach it from the tree now; the
    // kernel frees the device when the last user goes.
    ::umount2(dir_.c_str(), MNT_DETACH);
  }
  if (!image_.empty()) ::unlink(image_.c_str());
}

Status LoopFs::fill(uint64_t leave_bytes) {
  CELLS_TRY(make_dirs(filler_dir(), 0700));
  struct statvfs sv {};
  CELLS_SYSCALL(::statvfs(dir_.c_str(), &sv), "statvfs " + dir_);
  uint64_t avail = uint64_t(sv.f_bavail) * sv.f_frsize;
  if (avail <= leave_bytes) return ok_status();
  std::string path = filler_dir() + "/blocks";
  Fd fd = CELLS_SYSCALL_FD(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600),
                           "create " + path);
  // The filler's own extent tree needs blocks too, so "all but LEAVE" may not fit exactly:
  // back off 16 KiB at a time until it does.
  for (uint64_t want = avail - leave_bytes;; want -= std::min<uint64_t>(want, 16 << 10)) {
    if (want == 0) return ok_status();
    if (::fallocate(fd.get(), 0, 0, static_cast<off_t>(want)) == 0) return ok_status();
    if (errno != ENOSPC) return Error::sys(errno, "fallocate " + path);
  }
}

Status LoopFs::fill_inodes(uint64_t leave_inodes) {
  CELLS_TRY(make_dirs(filler_dir(), 0700));
  for (uint64_t i = 0;; ++i) {
    struct statvfs sv {};
    CELLS_SYSCALL(::statvfs(dir_.c_str(), &sv), "statvfs " + dir_);
    if (sv.f_favail <= leave_inodes) return ok_status();
    std::string path = filler_dir() + "/inode-" + std::to_string(i);
    Fd fd = CELLS_SYSCALL_FD(::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600),
                             "create " + path);
  }
}

Status LoopFs::unfill() {
  std::error_code ec;
  std::filesystem::remove_all(filler_dir(), ec);
  if (ec) return Error::sys(ec.value(), "remove " + filler_dir());
  return ok_status();
}

Status LoopFs::remount_read_only() {
  CELLS_SYSCALL(::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr),
                "remount " + dir_ + " read-only");
  return ok_status();
}

Status LoopFs::remount_read_write() {
  CELLS_SYSCALL(::mount(nullptr, dir_.c_str(), nullptr, MS_REMOUNT, nullptr),
                "remount " + dir_ + " read-write");
  return ok_status();
}

}  // namespace cells::faults::testing
