// Privileged end-to-end tests of the control plane: the real cellmgr and cellctl binaries on a
// scratch --root (a mkdtemp directory, so cgroups and BPF pins are this test's own), real
// cells, real mounts. TearDown resets the root and checks that nothing is left: no mount under
// the root, no cgroup of the instance, no supervisor, no BPF pin.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "tests/support/free_port.h"

namespace cells::controlplane::testing {

struct Outcome {
  int status = -1;  // exit code, or 128 + signal
  std::string out, err;
};

class ControlPlaneTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs cellmgr --root <scratch> ARGS in a new session (no controlling terminal), with ENV
  // ("K=V") added.
  Outcome cellmgr(const std::vector<std::string>& args, const std::vector<std::string>& env = {});
  // Runs ARGV on the host in a new session, with ENV ("K=V") added.
  Outcome host(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});
  static uint16_t free_port() { return cells::testing::free_port(); }
  // Every file of the manifest directory with its content.
  std::map<std::string, std::string> etc_snapshot() const;
  uint64_t generation() const;
  // Mounts under the scratch root that belong to cells: every one but the seed mount
  // namespace's pin (kernel/seed_ns.h), which stays until system reset.
  std::vector<std::string> mounts_under_root() const;
  // Every mount under the scratch root, the seed's included.
  std::vector<std::string> all_mounts_under_root() const;
  bool cgroup_parent_exists() const;
  // Host pids whose environment names this root (CELLS_ROOT): its supervisors, and with
  // WITH_SAMPLER its telemetry sampler too, which leaves only with the last cell's next second
  // or a system reset (kernel/instance_sampler.h).
  std::vector<std::string> root_processes(bool with_sampler) const;
  std::vector<std::string> supervisors() const { return root_processes(false); }
  void bootstrap();

  std::string scratch_;
  std::optional<Paths> paths_;
};

}  // namespace cells::controlplane::testing
