#include "engine/boot.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "base/files.h"

namespace cells::engine {
namespace {

CellManifest cell(std::string name, bool autostart, std::vector<std::string> deps = {}) {
  CellManifest m;
  m.name = std::move(name);
  m.autostart = autostart;
  m.depends_on = std::move(deps);
  return m;
}

std::string describe(const std::vector<BootStep>& plan) {
  std::string out;
  for (const auto& s : plan) {
    out += s.cell + "=";
    out += s.action == BootAction::kStart     ? "start"
           : s.action == BootAction::kRunning ? "running"
                                              : "stopped";
    for (const auto& n : s.needed_by) out += "<" + n;
    out += " ";
  }
  return out;
}

TEST(BootPlan, AutostartCellsStartAfterWhatTheyDependOn) {
  DesiredSet set;
  // Sorted by name as load_desired returns them; web needs db, which needs the volume cell.
  set.cells = {cell("db", true, {"store"}), cell("store", true), cell("tools", false),
               cell("web", true, {"db"})};
  auto plan = boot_plan(set, {});
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(describe(*plan), "store=start db=start tools=stopped web=start ");
}

TEST(BootPlan, RunningCellsAreLeftAloneAndNeededNonAutostartCellsStart) {
  DesiredSet set;
  set.cells = {cell("api", true, {"cache"}), cell("cache", false), cell("db", true),
               cell("report", false, {"db"}), cell("ui", true, {"cache"})};
  auto plan = boot_plan(set, {"db"});
  ASSERT_TRUE(plan.ok()) << plan.error().message();
  EXPECT_EQ(describe(*plan), "cache=start<api<ui api=start db=running report=stopped ui=start ");
}

TEST(BootPlan, ACycleIsRefused) {
  DesiredSet set;
  set.cells = {cell("a", true, {"b"}), cell("b", true, {"a"})};
  auto plan = boot_plan(set, {});
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().message().find("dependency cycle"), std::string::npos) << plan.error().message();
}

TEST(BootPlan, NothingDeclaredIsAnEmptyPlan) {
  auto plan = boot_plan(DesiredSet{}, {"ghost"});
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->empty());
}

class BootId : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cells-bootid-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    ::unsetenv("CELLS_BOOT_ID_FILE");
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
};

TEST_F(BootId, IsTheKernelsOneWordId) {
  auto id = current_boot_id();
  ASSERT_TRUE(id.ok()) << id.error().message();
  EXPECT_EQ(id->size(), 36u) << *id;  // a UUID
  EXPECT_EQ(*id + "\n", *read_file("/proc/sys/kernel/random/boot_id"));
}

TEST_F(BootId, TestsMayReadItFromAnotherFile) {
  ASSERT_TRUE(write_file_atomic(dir_ + "/id", "  simulated-boot-2\n").ok());
  ::setenv("CELLS_BOOT_ID_FILE", (dir_ + "/id").c_str(), 1);
  EXPECT_EQ(*current_boot_id(), "simulated-boot-2");
}

TEST_F(BootId, AnUnreadableOrMalformedFileNamesTheProblem) {
  ::setenv("CELLS_BOOT_ID_FILE", (dir_ + "/missing").c_str(), 1);
  auto missing = current_boot_id();
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find(dir_ + "/missing"), std::string::npos)
      << missing.error().message();
  ASSERT_TRUE(write_file_atomic(dir_ + "/two", "one two\n").ok());
  ::setenv("CELLS_BOOT_ID_FILE", (dir_ + "/two").c_str(), 1);
  auto two = current_boot_id();
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(two.error().message(), "boot id in " + dir_ + "/two is not one word");
  ASSERT_TRUE(write_file_atomic(dir_ + "/empty", "\n").ok());
  ::setenv("CELLS_BOOT_ID_FILE", (dir_ + "/empty").c_str(), 1);
  EXPECT_FALSE(current_boot_id().ok());
}

TEST(BootIdPath, LivesInTheRunDirectoryARebootClears) {
  auto p = Paths::from_root("/srv/x");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(boot_id_path(*p), "/srv/x/run/cellmgr/boot_id");
}

}  // namespace
}  // namespace cells::engine
