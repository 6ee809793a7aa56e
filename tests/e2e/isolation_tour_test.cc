// examples/isolation-tour end to end: its README's blocks on a scratch root, and every cell of
// the matrix tour.sh prints checked against the DESIGN section 3 table (what each profile must
// deny, and what the weaker profiles still allow, so the tour shows a difference).
#include <gmock/gmock.h>

#include <array>
#include <map>
#include <sstream>

#include "base/files.h"
#include "tests/e2e/harness.h"

namespace cells::e2e::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// check -> {low, medium, high}: true = must be allowed, false = must be denied.
const std::map<std::string, std::array<bool, 3>> kDesign = {
    // Row 1: no seeing, signalling or tracing processes outside the cell, in every profile.
    {"see_host_process", {false, false, false}},
    {"signal_host_process", {false, false, false}},
    {"ptrace_host_process", {false, false, false}},
    // Row 2: another cell's reserved port, in every profile; its own is always bindable.
    {"bind_own_port", {true, true, true}},
    {"bind_other_cells_port", {false, false, false}},
    // Row 3: bpf(), the kernel log, new namespaces, in every profile.
    {"load_bpf_program", {false, false, false}},
    {"read_kernel_log", {false, false, false}},
    {"unshare_namespace", {false, false, false}},
    // Rows 4 and 5: mount and raw sockets from medium up.
    {"mount_tmpfs", {true, false, false}},
    {"open_raw_socket", {true, false, false}},
    // Row 6: root in the cell is an unprivileged host uid in high only.
    {"root_is_host_root", {true, true, false}},
    // Row 7: only its own ports, writes only to writable paths, in high only.
    {"bind_unreserved_port", {true, true, false}},
    {"write_outside_writable", {true, true, false}},
};

class IsolationTour : public ExampleTest {};

TEST_F(IsolationTour, MatrixMatchesTheDesignTable) {
  load_example("isolation-tour");
  ASSERT_EQ(blocks_.size(), 4u) << "setup, apply, tour, clean up";
  Outcome up = run_block(1);
  ASSERT_EQ(up.status, 0) << up.out << up.err;
  EXPECT_THAT(up.out, HasSubstr("summary: cells=3 changed=3 failed=0"));

  Outcome tour = run_block(2);
  ASSERT_EQ(tour.status, 0) << tour.out << tour.err;
  std::printf("%s", tour.out.c_str());
  std::istringstream in(tour.out);
  std::string header;
  std::getline(in, header);
  EXPECT_THAT(header, StartsWith("check "));
  std::map<std::string, std::array<std::string, 3>> seen;
  for (std::string line; std::getline(in, line);) {
    std::istringstream row(line);
    std::string check;
    std::array<std::string, 3> v;
    row >> check >> v[0] >> v[1] >> v[2];
    seen[check] = v;
  }
  const char* profiles[] = {"low", "medium", "high"};
  for (const auto& [check, want] : kDesign) {
    auto it = seen.find(check);
    ASSERT_NE(it, seen.end()) << "the tour printed no row " << check;
    for (int p = 0; p < 3; ++p) {
      if (want[p]) {
        EXPECT_EQ(it->second[p], "allowed") << check << " in " << profiles[p];
      } else {
        EXPECT_THAT(it->second[p], StartsWith("denied:")) << check << " in " << profiles[p];
      }
    }
  }
  EXPECT_EQ(seen.size(), kDesign.size()) << "the tour printed rows this test does not check";

  // The matrix the README shows is the one the tour prints (errno names included).
  auto readme = read_file(std::string(CELLS_SOURCE_DIR) + "/examples/isolation-tour/README.md");
  ASSERT_TRUE(readme.ok());
  EXPECT_THAT(*readme, HasSubstr(tour.out)) << "README's sample output is out of date";

  Outcome clean = run_block(3);
  ASSERT_EQ(clean.status, 0) << clean.out << clean.err;
  EXPECT_EQ(etc_snapshot().size(), 1u) << "only cellmgr.conf is left";
}

}  // namespace
}  // namespace cells::e2e::testing
