#include "engine/drift.h"

#include <gtest/gtest.h>

namespace cells::engine {
namespace {

CellManifest web() {
  CellManifest m;
  m.name = "web";
  m.profile = "medium";
  m.reserved_ports = {8080};
  m.rlimits.nofile = 1024;
  return m;
}

// `cell list` trusts a runtime record whose policy equals what the manifest would start: the
// text must be the same for the same manifest, and differ whenever anything policy_drift
// compares (profile, ports, rlimits) differs.
TEST(PolicyJson, IsCanonicalAndChangesWithEveryComparedField) {
  const std::string base = policy_json(web(), "host", "/c/web/root");
  EXPECT_EQ(policy_json(web(), "host", "/c/web/root"), base);
  CellManifest other_file = web();
  other_file.file = "/elsewhere/web.cell";  // where it was read from is not policy
  EXPECT_EQ(policy_json(other_file, "host", "/c/web/root"), base);

  CellManifest profile = web(), ports = web(), nofile = web(), core = web();
  profile.profile = "high";
  ports.reserved_ports = {8081};
  nofile.rlimits.nofile = 2048;
  core.rlimits.core = 0;  // unset and zero are different limits
  for (const auto* m : {&profile, &ports, &nofile, &core}) {
    EXPECT_NE(policy_json(*m, "host", "/c/web/root"), base);
  }
  EXPECT_NE(policy_json(web(), "debian", "/c/web/root"), base);
}

}  // namespace
}  // namespace cells::engine
