#include "tests/kernel/fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/process.h"
#include "kernel/bpf_policy.h"
#include "kernel/seed_ns.h"

namespace cells::kernel::testing {
namespace fs = std::filesystem;

namespace {

std::string slurp(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

int wait_status(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> list_dirs(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory()) out.push_back(e.path().filename());
  }
  return out;
}

}  // namespace

Captured run_host(const std::vector<std::string>& argv) {
  auto run = run_process(argv);
  if (!run) return {-1, "", run.error().message()};
  return {run->status(), std::move(run->out), std::move(run->err)};
}

void RuntimeTest::SetUp() {
  ASSERT_EQ(geteuid(), 0u) << "privileged test: run as root";
  char tmpl[] = "/tmp/cells-kernel-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  scratch_ = tmpl;
  paths_.emplace(*Paths::from_root(scratch_ + "/inst"));
  auto rt = Runtime::open(*paths_);
  ASSERT_TRUE(rt.ok()) << rt.error().message();
  runtime_.emplace(std::move(*rt));
}

void RuntimeTest::TearDown() {
  if (runtime_) {
    auto cells = runtime_->list();
    if (cells.ok()) {
      for (const auto& c : *cells) {
        auto st = runtime_->destroy(c.name, /*force=*/true);
        EXPECT_TRUE(st.ok()) << st.error().message();
      }
    }
    // Every child a test spawned (CLONE_PARENT makes them ours) is reaped here.
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    EXPECT_TRUE(cgroups().empty()) << "cgroups left behind under " << paths_->cgroup_parent();
    EXPECT_TRUE(BpfPolicy::unload(*paths_).ok());
    EXPECT_FALSE(fs::exists(paths_->bpf_pin_dir())) << "BPF pins left behind";
    auto seed = release_seed_mount_ns(*paths_);
    EXPECT_TRUE(seed.ok()) << seed.error().message();
    EXPECT_FALSE(fs::exists(seed_pin_path(*paths_))) << "seed mount namespace left pinned";
    rmdir(paths_->cgroup_parent().c_str());
    EXPECT_FALSE(fs::exists(paths_->cgroup_parent()));
  }
  std::error_code ec;
  fs::remove_all(scratch_, ec);
}

std::string RuntimeTest::make_busybox_root() {
  static int n = 0;
  std::string root = scratch_ + "/root" + std::to_string(n++);
  fs::create_directories(root + "/bin");
  fs::create_directories(root + "/tmp");
  fs::copy_file("/bin/busybox", root + "/bin/busybox");
  // busybox --install -s writes links to /bin/busybox; run in a chroot so they land in ROOT.
  Captured c = run_host({"/usr/sbin/chroot", root, "/bin/busybox", "--install", "-s", "/bin"});
  EXPECT_EQ(c.status, 0) << c.err;
  return root;
}

CellInfo RuntimeTest::create_cell(const std::string& name, Profile profile, uint32_t cid,
                                  std::vector<uint16_t> ports) {
  CellSpec spec;
  spec.name = name;
  spec.cid = cid;
  spec.root = make_busybox_root();
  spec.profile = profile;
  spec.ports = std::move(ports);
  auto info = runtime_->create(spec);
  EXPECT_TRUE(info.ok()) << (info.ok() ? "" : info.error().message());
  return info.ok() ? *info : CellInfo{};
}

Captured RuntimeTest::run_in(const CellInfo& cell, const std::vector<std::string>& argv) {
  int out[2], err[2];
  pipe2(out, O_CLOEXEC);
  pipe2(err, O_CLOEXEC);
  SpawnOptions opts;
  opts.argv = argv;
  opts.stdout_fd = out[1];
  opts.stderr_fd = err[1];
  auto child = runtime_->spawn(cell, opts);
  close(out[1]);
  close(err[1]);
  Captured c;
  if (!child.ok()) {
    c.err = child.error().message();
    close(out[0]);
    close(err[0]);
    return c;
  }
  c.out = slurp(out[0]);
  c.err = slurp(err[0]);
  close(out[0]);
  close(err[0]);
  c.status = wait_status(child->pid);
  return c;
}

Captured RuntimeTest::cellctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {CELLCTL_PATH, "--root", paths_->root};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_host(argv);
}

std::vector<std::string> RuntimeTest::cgroups() const {
  return list_dirs(paths_->cgroup_parent());
}

std::vector<std::string> RuntimeTest::registry_records() const {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(paths_->run_dir() + "/cells", ec)) {
    std::string n = e.path().filename();
    if (n[0] != '.') out.push_back(n);
  }
  return out;
}

}  // namespace cells::kernel::testing
