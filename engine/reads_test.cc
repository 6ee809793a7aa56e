// The read contract: table/TSV/JSON forms, age humanising, state labels, field validation.
#include "engine/reads.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace cells::engine {
namespace {

using ::testing::HasSubstr;

ReadSnapshot one_running_cell() {
  ReadSnapshot s;
  s.cells_dir = "/var/lib/cellmgr/cells";
  s.now_ns = 1000LL * 1000000000;
  CellManifest m;
  m.name = "mysite-edge-httpd";
  m.file = "/etc/cellmgr/mysite-edge-httpd.cell";
  m.autostart = true;
  m.reserved_ports = {8080};
  m.command = "busybox httpd -f";
  s.desired.cells.push_back(m);
  CellManifest d;
  d.name = "idle";
  d.file = "/etc/cellmgr/idle.cell";
  d.command = "sleep 1";
  s.desired.cells.push_back(d);
  CellLive live;
  live.record = store::RuntimeCell{};
  live.record->name = "mysite-edge-httpd";
  live.record->cid = 1;
  live.record->start_time_ns = (1000LL - 31) * 1000000000;
  live.running = true;
  s.live["mysite-edge-httpd"] = live;
  s.rendered_cells = {"mysite-edge-httpd", "stale"};
  return s;
}

TEST(Reads, TableMatchesTheContractExactly) {
  auto s = one_running_cell();
  s.desired.cells.pop_back();
  s.rendered_cells = {"mysite-edge-httpd"};
  auto t = cell_table(s, View::kMerged, {"name", "running", "cid", "age"}, std::nullopt);
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(format_table(*t, true),
            "NAME               RUNNING  CID  AGE\n"
            "mysite-edge-httpd  YES      1    31s\n");
  EXPECT_EQ(format_table(*t, false), "mysite-edge-httpd  YES  1  31s\n");
  EXPECT_EQ(format_tsv(*t, true), "name\trunning\tcid\tage\nmysite-edge-httpd\t1\t1\t31\n");
  EXPECT_EQ(format_json(*t, true),
            "{\n  \"age\": 31,\n  \"cid\": 1,\n  \"name\": \"mysite-edge-httpd\",\n  \"running\": true\n}\n");
}

TEST(Reads, EmptyValuesAreDashesAndStatesFollowTheThreeInputs) {
  auto s = one_running_cell();
  auto t = cell_table(s, View::kCompact, {"name", "state", "cid", "reserved_ports"}, std::nullopt);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(format_tsv(*t, false),
            "idle\tdeclared\t-\t-\n"
            "mysite-edge-httpd\tmanaged\t1\t8080\n"
            "stale\torphaned\t-\t-\n");
  EXPECT_EQ(cell_state(true, true, true), "managed");
  EXPECT_EQ(cell_state(true, true, false), "parked");
  EXPECT_EQ(cell_state(true, false, true), "pending");
  EXPECT_EQ(cell_state(true, false, false), "declared");
  EXPECT_EQ(cell_state(false, true, false), "orphaned");
  EXPECT_EQ(cell_state(false, false, false), "absent");
  EXPECT_EQ(volume_state(true, false), "pending");
  EXPECT_EQ(volume_state(false, true), "orphaned");
}

TEST(Reads, PendingPolicyDriftIsShownForRunningCellsOnly) {
  auto s = one_running_cell();
  s.live["mysite-edge-httpd"].policy_drift = {"profile", "ports"};
  auto t = cell_table(s, View::kRuntime, {"name", "policy_drift"}, std::string("mysite-edge-httpd"));
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(format_vertical(*t), "NAME          mysite-edge-httpd\nPOLICY_DRIFT  profile,ports\n");
  // No drift, or a cell that does not run (nothing is in force to drift from): empty.
  s.live["mysite-edge-httpd"].policy_drift.clear();
  t = cell_table(s, View::kRuntime, {"policy_drift"}, std::string("mysite-edge-httpd"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(format_json(*t, true), "{\n  \"policy_drift\": null\n}\n");
  s.live["mysite-edge-httpd"].policy_drift = {"ports"};
  s.live["mysite-edge-httpd"].running = false;
  t = cell_table(s, View::kRuntime, {"policy_drift"}, std::string("mysite-edge-httpd"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(format_tsv(*t, false), "-\n");
}

TEST(Reads, UnknownFieldNamesItAndListsTheValidOnes) {
  auto s = one_running_cell();
  auto t = cell_table(s, View::kMerged, {"name", "colour"}, std::nullopt);
  ASSERT_FALSE(t.ok());
  EXPECT_THAT(t.error().message(), HasSubstr("unknown cell field 'colour' (valid: name, state, running"));
  // A field outside an explicit view is an error too.
  auto d = cell_table(s, View::kDesired, {"cid"}, std::nullopt);
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(d.error().message(), HasSubstr("'cid'"));
  EXPECT_FALSE(parse_view("wide").ok());
  auto missing = cell_table(s, View::kMerged, {}, std::string("nope"));
  EXPECT_FALSE(missing.ok());
}

TEST(Reads, AgeIsHumanisedInTables) {
  EXPECT_EQ(humanise_age(42), "42s");
  EXPECT_EQ(humanise_age(7 * 60 + 12), "7m12s");
  EXPECT_EQ(humanise_age(3 * 3600 + 5 * 60 + 9), "3h5m");
  EXPECT_EQ(humanise_age(2 * 86400 + 4 * 3600 + 1), "2d4h");
  EXPECT_EQ(humanise_age(10 * 86400 + 7), "1w3d");
}

TEST(Reads, ViewsAreSubsetsOfMerged) {
  auto merged = cell_fields(View::kMerged);
  for (View v : {View::kCompact, View::kDesired, View::kRuntime}) {
    for (const auto& f : cell_fields(v)) {
      EXPECT_NE(std::find(merged.begin(), merged.end(), f), merged.end()) << f;
    }
  }
  EXPECT_EQ(cell_fields(View::kCompact),
            (std::vector<std::string>{"name", "state", "running", "cid", "procs", "age",
                                      "autostart", "reserved_ports"}));
  EXPECT_EQ(split_fields("a,,b"), (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace cells::engine
