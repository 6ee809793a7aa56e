// Desired-state edits: whole-set validation before any write, atomic files + one generation.
#include "engine/controlplane.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/files.h"

namespace cells::engine {
namespace {

using ::testing::HasSubstr;

class Edits : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cells-cp-unit-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    paths_ = *Paths::from_root(dir_);
  }
  void TearDown() override { (void)!std::system(("rm -rf '" + dir_ + "'").c_str()); }
  std::string cell(const std::string& name, const std::string& extra = "") {
    return "name = \"" + name + "\"\ncommand = \"sleep 1\"\n" + extra;
  }
  uint64_t generation() {
    auto st = store::Store::open(paths_, store::OpenMode::kReadOnly);
    return st ? st->current_generation().value_or(0) : 0;
  }
  std::string dir_;
  Paths paths_;
};

TEST_F(Edits, ValidEditWritesTheFileAndCommitsAGeneration) {
  auto gen = commit_desired_edit(paths_, "cell.create", "cell/a",
                                 {{cell_manifest_path(paths_, "a"), cell("a")}});
  ASSERT_TRUE(gen.ok()) << gen.error().message();
  EXPECT_EQ(*gen, 1u);
  EXPECT_EQ(*read_file(cell_manifest_path(paths_, "a")), cell("a"));
  auto st = store::Store::open(paths_, store::OpenMode::kReadOnly);
  ASSERT_TRUE(st.ok());
  auto g = st->generation(1);
  ASSERT_TRUE(g.ok() && g->has_value());
  ASSERT_EQ((*g)->desired.cells.size(), 1u);
  EXPECT_EQ((*g)->desired.cells[0].name, "a");
  EXPECT_EQ((*g)->desired.cells[0].manifest_text, cell("a"));
  EXPECT_EQ((*g)->desired.cells[0].command, (std::vector<std::string>{"/bin/sh", "-c", "sleep 1"}));
}

TEST_F(Edits, InvalidWholeSetChangesNothing) {
  ASSERT_TRUE(commit_desired_edit(paths_, "cell.create", "cell/a",
                                  {{cell_manifest_path(paths_, "a"), cell("a", "reserved_ports = [9000]\n")}})
                  .ok());
  // The new file is fine on its own; the duplicate port only shows across files.
  auto dup = commit_desired_edit(paths_, "cell.create", "cell/b",
                                 {{cell_manifest_path(paths_, "b"), cell("b", "reserved_ports = [9000]\n")}});
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.error().message(), HasSubstr("port 9000"));
  struct stat sb;
  EXPECT_NE(::stat(cell_manifest_path(paths_, "b").c_str(), &sb), 0);
  EXPECT_EQ(generation(), 1u);
  // Removing a cell others depend on is refused the same way.
  ASSERT_TRUE(commit_desired_edit(paths_, "cell.create", "cell/c",
                                  {{cell_manifest_path(paths_, "c"), cell("c", "depends_on = [\"a\"]\n")}})
                  .ok());
  auto rm = commit_desired_edit(paths_, "cell.remove", "cell/a", {{cell_manifest_path(paths_, "a"), std::nullopt}});
  ASSERT_FALSE(rm.ok());
  EXPECT_THAT(rm.error().message(), HasSubstr("depends on cell 'a'"));
  EXPECT_EQ(::stat(cell_manifest_path(paths_, "a").c_str(), &sb), 0);
  EXPECT_EQ(generation(), 2u);
}

TEST_F(Edits, CandidateSeesTheEditNotTheDisk) {
  auto cand = candidate_desired(paths_, {{cell_manifest_path(paths_, "x"), cell("x")},
                                         {volume_manifest_path(paths_, "v"), "name = \"v\"\nmode = \"0700\"\n"}});
  EXPECT_TRUE(cand.problems.empty());
  ASSERT_EQ(cand.set.cells.size(), 1u);
  ASSERT_EQ(cand.set.volumes.size(), 1u);
  EXPECT_EQ(cand.set.volumes[0].mode, 0700u);
  auto bad = candidate_desired(paths_, {{cell_manifest_path(paths_, "x"), cell("x", "colour = 1\n")}});
  ASSERT_EQ(bad.problems.size(), 1u);
  EXPECT_THAT(bad.problems[0], HasSubstr("x.cell:3: key 'colour'"));
}

// The desired state records the bytes load_desired parsed, read once: a file that changes
// after the load does not leak into the generation, and only cells the listing showed with a
// .apply file get a plan.
TEST_F(Edits, DesiredStateRecordsTheBytesThatWereChecked) {
  const std::string etc = paths_.etc_dir();
  ASSERT_TRUE(make_dirs(etc, 0755));
  ASSERT_TRUE(write_file_atomic(etc + "/a.cell", cell("a")));
  ASSERT_TRUE(write_file_atomic(etc + "/b.cell", cell("b")));
  ASSERT_TRUE(write_file_atomic(etc + "/a.apply", "DIR /x\n"));
  DesiredSet set = load_desired(etc);
  ASSERT_TRUE(set.problems.empty());
  EXPECT_TRUE(set.listed);
  EXPECT_EQ(set.plan_cells, std::set<std::string>{"a"});
  ASSERT_TRUE(write_file_atomic(etc + "/a.cell", cell("a", "autostart = true\n")));
  ASSERT_TRUE(write_file_atomic(etc + "/b.apply", "DIR /y\n"));  // after the listing
  store::DesiredState state = to_store_state(set, etc);
  ASSERT_EQ(state.cells.size(), 2u);
  EXPECT_EQ(state.cells[0].manifest_text, cell("a"));
  ASSERT_EQ(state.plans.size(), 1u);
  EXPECT_EQ(state.plans[0].cell, "a");
  EXPECT_EQ(state.plans[0].text, "DIR /x\n");
}

}  // namespace
}  // namespace cells::engine
