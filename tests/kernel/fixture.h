// Shared setup of the kernel runtime tests: a scratch installation root, a busybox-static
// userland to use as a cell root, and a check that nothing is left behind.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/paths.h"
#include "kernel/cell.h"

namespace cells::kernel::testing {

struct Captured {
  int status = -1;  // exit code, or 128 + signal
  std::string out;
  std::string err;
};

// Runs ARGV on the host (not in a cell), capturing stdout and stderr.
Captured run_host(const std::vector<std::string>& argv);

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A busybox-static userland (busybox --install) in a fresh directory; returns its path.
  std::string make_busybox_root();
  CellInfo create_cell(const std::string& name, Profile profile, uint32_t cid,
                       std::vector<uint16_t> ports = {});
  // Spawns ARGV in CELL and waits; returns its exit status and output.
  Captured run_in(const CellInfo& cell, const std::vector<std::string>& argv);
  // Runs the real cellctl binary with --root of this test.
  Captured cellctl(const std::vector<std::string>& args);

  // Every cgroup of this instance, or none when the parent is absent.
  std::vector<std::string> cgroups() const;
  std::vector<std::string> registry_records() const;

  std::string scratch_;
  std::optional<Paths> paths_;
  std::optional<Runtime> runtime_;
};

}  // namespace cells::kernel::testing
