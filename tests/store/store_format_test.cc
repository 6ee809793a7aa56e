// Store format 1 (the whole desired state in every generation record) against this build,
// which writes format 2 (store/generations.h): a reader reads format 1 as it is, the first
// writer migrates it in one transaction, and a record that does not decode stops the
// migration with nothing changed.
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <sstream>

#include "store/codec.h"
#include "store/generations.h"
#include "store/store.h"
#include "tests/store/harness.h"

namespace cells::store {
namespace {

using testing::cellmgr;
using testing::ScratchRoot;

CellManifest cell(const std::string& name, const std::string& arg) {
  CellManifest c;
  c.name = name;
  c.autostart = true;
  c.profile = "medium";
  c.command = {"sleep", arg};
  c.manifest_text = "name = \"" + name + "\"\ncommand = \"sleep " + arg + "\"\n";
  return c;
}

// Three generations: the first has web, db, a volume and web's plan; the second changes web
// and adds cache; the third removes web, its plan and the volume.
std::vector<Generation> history() {
  Generation g1{1,
                1000,
                1,
                {{cell("db", "1"), cell("web", "1")},
                 {{"data", "size = 1G"}},
                 {{"web", "copy a b", {{"a", sha256("x")}}}}}};
  Generation g2{2, 2000, 2, g1.desired};
  g2.desired.cells[1] = cell("web", "2");
  g2.desired.cells.push_back(cell("cache", "1"));
  std::sort(g2.desired.cells.begin(), g2.desired.cells.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  Generation g3{3, 3000, 3, {{cell("cache", "1"), cell("db", "1")}, {}, {}}};
  return {g1, g2, g3};
}

// A format-1 store as a build before format 2 left it. GARBLED replaces that generation's
// record with bytes that do not decode.
void plant_format1(const ScratchRoot& root, uint64_t garbled = 0) {
  ASSERT_TRUE(make_dirs(root.state(), 0700).ok());
  testing::RawEnv raw(root.state());
  raw.write("meta", [](Txn& txn, MDB_dbi dbi) {
    ASSERT_TRUE(txn.put(dbi, "format_version", encode_u64_be(1, 4)).ok());
    ASSERT_TRUE(txn.put(dbi, "generation", encode_u64_be(3)).ok());
  });
  for (const char* db : {"journal", "open_ops", "runtime"}) raw.write(db, [](Txn&, MDB_dbi) {});
  raw.write("generations", [&](Txn& txn, MDB_dbi dbi) {
    for (const auto& g : history()) {
      std::string bytes =
          g.number == garbled ? std::string(64, '\x7f') : detail::encode_generation(g);
      ASSERT_TRUE(txn.put(dbi, encode_u64_be(g.number), bytes).ok());
    }
  });
}

// `cellmgr history` of ROOT: per generation, "cells volumes plans" as it prints them.
std::map<uint64_t, std::string> history_counts(const ScratchRoot& root) {
  auto listed = cellmgr(root.dir(), {"history"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  std::map<uint64_t, std::string> out;
  std::istringstream lines(listed.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream f(line);
    std::string n, time, op, cells, volumes, plans;
    f >> n >> time >> op >> cells >> volumes >> plans;
    if (!n.empty() && std::isdigit(static_cast<unsigned char>(n[0]))) {
      out[std::stoull(n)] = cells + " " + volumes + " " + plans;
    }
  }
  return out;
}

void expect_history(const Store& s) {
  for (const auto& want : history()) {
    auto g = s.generation(want.number);
    ASSERT_TRUE(g.ok()) << g.error().message();
    ASSERT_TRUE(g->has_value()) << want.number;
    EXPECT_EQ((*g)->desired, want.desired) << "generation " << want.number;
    EXPECT_EQ((*g)->time_ns, want.time_ns);
    auto sum = **s.generation_summary(want.number);
    EXPECT_EQ(sum.cells, want.desired.cells.size());
    EXPECT_EQ(sum.volumes, want.desired.volumes.size());
    EXPECT_EQ(sum.plans, want.desired.plans.size());
    for (const auto& c : want.desired.cells) {
      auto one = **s.generation_cell(want.number, c.name);
      EXPECT_EQ(one.manifest, c);
      EXPECT_EQ(one.plan.has_value(), c.name == "web" && want.number < 3);
    }
  }
  EXPECT_EQ(*s.generation_cell(3, "web"), std::nullopt);  // removed by generation 3
  EXPECT_EQ(*s.generation(4), std::nullopt);
}

TEST(StoreFormat, Format1IsReadAsItIsAndMigratedByTheFirstWriter) {
  ScratchRoot root;
  plant_format1(root);
  auto before = testing::snapshot(root.state());
  {
    Store ro = *Store::open(root.paths(), OpenMode::kReadOnly);
    EXPECT_EQ(ro.format(), 1u);
    expect_history(ro);
  }
  const std::map<uint64_t, std::string> counts{{1, "2 1 1"}, {2, "3 1 1"}, {3, "2 0 0"}};
  EXPECT_EQ(history_counts(root), counts);  // format 1: from the whole records
  EXPECT_EQ(testing::snapshot(root.state()).at("data.mdb"), before.at("data.mdb"));

  {
    Store rw = *Store::open(root.paths(), OpenMode::kReadWrite);
    EXPECT_EQ(rw.format(), kFormatVersion);
    expect_history(rw);
    // A change of one cell writes one item, whatever the generation holds.
    auto cur = **rw.generation(3);
    DesiredState next = cur.desired;
    next.cells[0] = cell("cache", "2");
    Operation op = *rw.begin_operation("apply", "cells");
    ASSERT_EQ(*op.commit_generation(next, {}, &cur), 4u);
    EXPECT_EQ((**rw.generation(4)).desired, next);
    EXPECT_EQ((**rw.generation(3)).desired, history()[2].desired);
  }
  auto after = counts;
  after[4] = "2 0 0";
  EXPECT_EQ(history_counts(root), after);  // format 2: from the headers alone
  testing::RawEnv raw(root.state());
  raw.write("generation_items", [](Txn& txn, MDB_dbi dbi) {
    Cursor cur = *Cursor::open(txn, dbi);
    std::map<uint64_t, int> per_generation;
    for (auto item = *cur.get(MDB_FIRST); item; item = *cur.get(MDB_NEXT)) {
      ++per_generation[decode_u64_be(item->first.substr(item->first.size() - 8))];
    }
    // 1: four items; 2: web and cache; 3: web, its plan and the volume removed; 4: cache.
    EXPECT_EQ(per_generation, (std::map<uint64_t, int>{{1, 4}, {2, 2}, {3, 3}, {4, 1}}));
  });
  raw.write("meta", [](Txn& txn, MDB_dbi dbi) {
    EXPECT_EQ(decode_u64_be(**txn.get(dbi, "format_version"), 4), kFormatVersion);
  });
}

// A reader that opened the store as format 1 refuses to answer once a writer has migrated
// it: a format-2 header would decode as a generation without cells.
TEST(StoreFormat, AReaderOpenedBeforeTheMigrationAsksToBeOpenedAgain) {
  ScratchRoot root;
  plant_format1(root);
  Store ro = *Store::open(root.paths(), OpenMode::kReadOnly);
  EXPECT_EQ((**ro.generation(2)).desired, history()[1].desired);
  { Store rw = *Store::open(root.paths(), OpenMode::kReadWrite); }
  auto g = ro.generation(2);
  auto one = ro.generation_cell(2, "web");
  auto summary = ro.generation_summary(2);
  ASSERT_FALSE(g.ok());
  ASSERT_FALSE(one.ok());
  ASSERT_FALSE(summary.ok());
  for (const Error* e : {&g.error(), &one.error(), &summary.error()}) {
    EXPECT_EQ(e->kind(), ErrorKind::kBusy);
    EXPECT_NE(e->message().find("open it again"), std::string::npos) << e->message();
  }
  Store again = *Store::open(root.paths(), OpenMode::kReadOnly);
  EXPECT_EQ((**again.generation(2)).desired, history()[1].desired);
}

TEST(StoreFormat, ARecordThatDoesNotDecodeStopsTheMigrationAndChangesNothing) {
  ScratchRoot root;
  plant_format1(root, 2);
  auto before = testing::snapshot(root.state());
  auto rw = Store::open(root.paths(), OpenMode::kReadWrite);
  ASSERT_FALSE(rw.ok());
  EXPECT_EQ(rw.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(rw.error().message().find("migrate generation 2 to store format 2"), std::string::npos)
      << rw.error().message();
  EXPECT_EQ(testing::snapshot(root.state()).at("data.mdb"), before.at("data.mdb"));
  Store ro = *Store::open(root.paths(), OpenMode::kReadOnly);
  EXPECT_EQ(ro.format(), 1u);
  EXPECT_EQ((**ro.generation(1)).desired, history()[0].desired);
}

}  // namespace
}  // namespace cells::store
