#include "tests/controlplane/harness.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/files.h"
#include "base/process.h"
#include "engine/mount_table.h"
#include "kernel/bpf_policy.h"
#include "kernel/seed_ns.h"
#include "store/store.h"

namespace cells::controlplane::testing {

void ControlPlaneTest::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (real cells and mounts)";
  char tmpl[] = "/var/tmp/cells-cp-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  scratch_ = tmpl;
  auto p = Paths::from_root(scratch_);
  ASSERT_TRUE(p.ok());
  paths_ = *p;
}

void ControlPlaneTest::TearDown() {
  if (scratch_.empty()) return;
  Outcome r = cellmgr({"system", "reset", "--yes"});
  EXPECT_EQ(r.status, 0) << r.err;
  // Reset leaves nothing mounted, the seed's pin included.
  EXPECT_TRUE(all_mounts_under_root().empty()) << all_mounts_under_root().front();
  EXPECT_FALSE(cgroup_parent_exists());
  // Nothing of this root runs on: no supervisor, and no telemetry sampler either.
  EXPECT_TRUE(root_processes(true).empty());
  (void)kernel::BpfPolicy::unload(*paths_);
  struct stat st;
  EXPECT_NE(::stat(paths_->bpf_pin_dir().c_str(), &st), 0) << "BPF pins left";
  if (all_mounts_under_root().empty()) host({"rm", "-rf", scratch_});
}

Outcome ControlPlaneTest::host(const std::vector<std::string>& argv,
                              const std::vector<std::string>& env) {
  // A new session has no controlling terminal: confirmations must come from --yes.
  auto run = run_process(argv, {.env = env, .new_session = true});
  if (!run) return {-1, "", run.error().message()};
  return {run->status(), std::move(run->out), std::move(run->err)};
}

Outcome ControlPlaneTest::cellmgr(const std::vector<std::string>& args,
                                  const std::vector<std::string>& env) {
  std::vector<std::string> argv = {CELLMGR_PATH, "--root", scratch_};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> all_env = {std::string("CELLS_CELLCTL=") + CELLCTL_PATH};
  all_env.insert(all_env.end(), env.begin(), env.end());
  return host(argv, all_env);
}

std::map<std::string, std::string> ControlPlaneTest::etc_snapshot() const {
  std::map<std::string, std::string> out;
  DIR* d = ::opendir(paths_->etc_dir().c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    out[n] = read_file(paths_->etc_dir() + "/" + n).value_or("?");
  }
  ::closedir(d);
  return out;
}

uint64_t ControlPlaneTest::generation() const {
  auto st = store::Store::open(*paths_, store::OpenMode::kReadOnly);
  if (!st) return 0;
  return st->current_generation().value_or(0);
}

std::vector<std::string> ControlPlaneTest::all_mounts_under_root() const {
  return engine::mounts_below(scratch_).value_or(std::vector<std::string>{"?"});
}

std::vector<std::string> ControlPlaneTest::mounts_under_root() const {
  const std::string seed_dir = std::filesystem::path(kernel::seed_pin_path(*paths_)).parent_path();
  std::vector<std::string> out;
  for (auto& m : all_mounts_under_root()) {
    if (m != seed_dir && m != kernel::seed_pin_path(*paths_)) out.push_back(std::move(m));
  }
  return out;
}

bool ControlPlaneTest::cgroup_parent_exists() const {
  struct stat st;
  return ::stat(paths_->cgroup_parent().c_str(), &st) == 0;
}

std::vector<std::string> ControlPlaneTest::root_processes(bool with_sampler) const {
  std::vector<std::string> out;
  DIR* d = ::opendir("/proc");
  while (dirent* e = ::readdir(d)) {
    std::string pid = e->d_name;
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream env("/proc/" + pid + "/environ");
    std::string text((std::istreambuf_iterator<char>(env)), std::istreambuf_iterator<char>());
    if (text.find("CELLS_ROOT=" + scratch_ + '\0') == std::string::npos) continue;
    if (!with_sampler) {
      std::ifstream comm("/proc/" + pid + "/comm");
      std::string name;
      std::getline(comm, name);
      if (name == "cells-sampler") continue;
    }
    out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

void ControlPlaneTest::bootstrap() {
  Outcome r = cellmgr({"system", "bootstrap"});
  ASSERT_EQ(r.status, 0) << r.out << r.err;
}

}  // namespace cells::controlplane::testing
