// The quickstart with the installed programs only: cpack builds the .deb from this build
// tree, `dpkg-deb -x` installs it into a scratch prefix (as dpkg would, without touching the
// host's /usr, so it runs beside deb_test), and tools/quickstart runs with PATH holding that
// prefix's sbin and the host's basic tools, on a scratch CELLS_ROOT and a free port.
// The cell's init and supervisor must be the installed helpers: their /proc/<pid>/exe is the
// installed file, never the build tree's (whose paths the programs still carry as a fallback).
// Privileged (real cells).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <sstream>

#include "base/paths.h"
#include "engine/mount_table.h"
#include "kernel/bpf_policy.h"
#include "support.h"
#include "tests/support/free_port.h"

namespace cells::packaging_test {
namespace {

namespace fs = std::filesystem;

using cells::testing::free_port;

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const FileId&) const = default;
};

std::optional<FileId> file_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{st.st_dev, st.st_ino};
}

// Every pid in the cgroup DIR and its descendants.
std::vector<std::string> cgroup_pids(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  std::vector<fs::path> dirs = {dir};
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_directory()) dirs.push_back(e.path());
  }
  for (const auto& d : dirs) {
    for (const auto& l : lines_of(slurp(d.string() + "/cgroup.procs"))) out.push_back(l);
  }
  return out;
}

class InstalledQuickstart : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (real cells)";
    work_ = make_temp_dir("instqs");
    ASSERT_FALSE(work_.empty());
    prefix_ = work_ + "/installed";
    char tmpl[] = "/var/tmp/cells-instqs-root-XXXXXX";  // cells need a root off tmpfs-noexec
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    auto p = Paths::from_root(root_);
    ASSERT_TRUE(p.ok());
    paths_ = *p;
  }
  void TearDown() override {
    if (root_.empty()) return;
    if (fs::exists(prefix_ + "/usr/sbin/cellmgr")) {
      auto r = run(quote(prefix_ + "/usr/sbin/cellmgr") + " --root " + quote(root_) + " system reset --yes");
      EXPECT_EQ(r.status, 0) << r.out;
    }
    struct stat st {};
    EXPECT_NE(::stat(paths_->cgroup_parent().c_str(), &st), 0) << "cgroups left";
    (void)kernel::BpfPolicy::unload(*paths_);
    auto mounts = engine::mounts_below(root_).value_or(std::vector<std::string>{"?"});
    EXPECT_TRUE(mounts.empty()) << mounts.front();
    if (mounts.empty()) fs::remove_all(root_);
    fs::remove_all(work_);
  }

  std::string work_, prefix_, root_;
  std::optional<Paths> paths_;
};

TEST_F(InstalledQuickstart, ServesHelloWithTheInstalledProgramsAndHelpersOnly) {
  auto pack = run("cd " + quote(CELLS_BUILD_DIR) + " && cpack -G DEB -B " + quote(work_ + "/deb"));
  ASSERT_EQ(pack.status, 0) << pack.out;
  std::string deb;
  for (const auto& e : fs::directory_iterator(work_ + "/deb")) {
    if (e.path().extension() == ".deb") deb = e.path();
  }
  ASSERT_FALSE(deb.empty()) << pack.out;
  auto extract = run("dpkg-deb -x " + quote(deb) + " " + quote(prefix_));
  ASSERT_EQ(extract.status, 0) << extract.out;

  // The environment an operator's shell has after `dpkg -i`: nothing of the build tree.
  const std::string port = std::to_string(free_port());
  auto qs = run("env -i PATH=" + quote(prefix_ + "/usr/sbin:/usr/bin:/bin") +
                " CELLS_ROOT=" + quote(root_) + " CELLS_QUICKSTART_INSTALLED=1 CELLS_QUICKSTART_PORT=" +
                port + " bash " + quote(std::string(CELLS_SOURCE_DIR) + "/tools/quickstart"));
  ASSERT_EQ(qs.status, 0) << qs.out;
  EXPECT_NE(qs.out.find(prefix_ + "/usr/sbin/cellmgr\n" + prefix_ + "/usr/sbin/cellctl\n"),
            std::string::npos) << qs.out;
  EXPECT_NE(qs.out.find("Hello from cell mysite-edge-httpd"), std::string::npos) << qs.out;
  EXPECT_NE(qs.out.find("summary: cells=1 changed=1 failed=0 dry-run=NO"), std::string::npos) << qs.out;
  EXPECT_EQ(qs.out.find(CELLS_BUILD_DIR), std::string::npos) << qs.out;

  // The running cell's init and its supervisor are the installed programs.
  const auto installed_init = file_id(prefix_ + "/usr/libexec/cells/cells-init");
  const auto installed_sup = file_id(prefix_ + "/usr/libexec/cells/cells-supervise");
  const auto built_init = file_id(CELLS_INIT_BUILD_PATH);
  const auto built_sup = file_id(CELLS_SUPERVISE_BUILD_PATH);
  ASSERT_TRUE(installed_init && installed_sup && built_init && built_sup);
  bool init_seen = false;
  for (const auto& pid : cgroup_pids(paths_->cgroup_parent() + "/mysite-edge-httpd")) {
    auto exe = file_id("/proc/" + pid + "/exe");
    EXPECT_FALSE(exe == built_init) << "pid " << pid << " runs the build tree's cells-init";
    init_seen = init_seen || exe == installed_init;
  }
  EXPECT_TRUE(init_seen) << "no process of the cell runs the installed cells-init";
  std::string sup_pid;
  std::istringstream(slurp(paths_->run_dir() + "/supervise/mysite-edge-httpd.pid")) >> sup_pid;
  ASSERT_FALSE(sup_pid.empty());
  auto sup = file_id("/proc/" + sup_pid + "/exe");
  EXPECT_TRUE(sup == installed_sup) << "supervisor " << sup_pid << " is not the installed cells-supervise";
  EXPECT_FALSE(sup == built_sup);
  // So is the instance's telemetry sampler.
  const auto installed_sampler = file_id(prefix_ + "/usr/libexec/cells/cells-sampler");
  const auto built_sampler = file_id(CELLS_SAMPLER_BUILD_PATH);
  ASSERT_TRUE(installed_sampler && built_sampler);
  const std::string sampler_cmd = std::string("cells-sampler") + '\0' + "--root" + '\0' + root_;
  bool sampler_seen = false;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (slurp("/proc/" + pid + "/cmdline").rfind(sampler_cmd, 0) != 0) continue;
    auto exe = file_id("/proc/" + pid + "/exe");
    EXPECT_TRUE(exe == installed_sampler) << "sampler " << pid << " is not the installed cells-sampler";
    EXPECT_FALSE(exe == built_sampler);
    sampler_seen = true;
  }
  EXPECT_TRUE(sampler_seen) << "no cells-sampler runs for " << root_;

  // The unit's start command runs with the installed cellmgr: the cell runs already.
  auto boot = run("env -i PATH=" + quote(prefix_ + "/usr/sbin:/usr/bin:/bin") + " cellmgr --root " +
                  quote(root_) + " apply --boot");
  EXPECT_EQ(boot.status, 0) << boot.out;
  EXPECT_NE(boot.out.find("cell mysite-edge-httpd: running already"), std::string::npos) << boot.out;
}

}  // namespace
}  // namespace cells::packaging_test
