#include "kernel/registry.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

namespace cells::kernel {
namespace {

TEST(CellName, AcceptsTheDocumentedAlphabet) {
  EXPECT_TRUE(validate_cell_name("web").ok());
  EXPECT_TRUE(validate_cell_name("A-z_0.9").ok());
  EXPECT_TRUE(validate_cell_name(std::string(63, 'x')).ok());
  EXPECT_TRUE(validate_cell_name("123").ok());
}

TEST(CellName, RejectsEverythingElseNamingTheProblem) {
  EXPECT_EQ(validate_cell_name("").error().message(), "cell name is empty");
  EXPECT_NE(validate_cell_name(std::string(64, 'x')).error().message().find("longer than 63"),
            std::string::npos);
  for (const char* bad : {"a/b", "a b", "a\tb", "é", "a:b", "a\nb"}) {
    auto st = validate_cell_name(bad);
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().kind(), ErrorKind::kInvalid);
  }
  EXPECT_FALSE(validate_cell_name(".").ok());
  EXPECT_FALSE(validate_cell_name("..").ok());
}

CellInfo sample() {
  CellInfo info;
  info.cid = 42;
  info.name = "web";
  info.root = "/srv/with space/root";
  info.profile = Profile::kMedium;
  info.ports = {80, 443, 65535};
  info.rlimits.nofile = 1024;
  info.rlimits.core = 0;
  info.cgroup_id = 123456789;
  info.init_pid = 4242;
  info.created_unix_ns = 1700000000123456789;
  return info;
}

TEST(Record, RoundTrips) {
  CellInfo in = sample();
  auto out = decode_record(encode_record(in));
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->cid, in.cid);
  EXPECT_EQ(out->name, in.name);
  EXPECT_EQ(out->root, in.root);
  EXPECT_EQ(out->profile, in.profile);
  EXPECT_EQ(out->ports, in.ports);
  EXPECT_EQ(out->rlimits.nofile, in.rlimits.nofile);
  EXPECT_FALSE(out->rlimits.as.has_value());
  EXPECT_EQ(out->rlimits.core, std::optional<uint64_t>(0));
  EXPECT_EQ(out->cgroup_id, in.cgroup_id);
  EXPECT_EQ(out->init_pid, in.init_pid);
  EXPECT_EQ(out->created_unix_ns, in.created_unix_ns);
}

TEST(Record, KeepsTheWritablePathsSpawnsNeed) {
  CellInfo in = sample();
  in.writable_paths = {"/data", "/var/lib/app"};
  auto out = decode_record(encode_record(in));
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->writable_paths, in.writable_paths);
  // Records written before the key existed still load, with the defaults.
  std::string text = encode_record(sample());
  text.erase(text.find("writable="), text.find('\n', text.find("writable=")) + 1 -
                                         text.find("writable="));
  ASSERT_TRUE(decode_record(text).ok());
  EXPECT_TRUE(decode_record(text)->writable_paths.empty());
  std::string relative = encode_record(in);
  relative.replace(relative.find("/data"), 5, "data");
  EXPECT_NE(decode_record(relative).error().message().find("bad writable"), std::string::npos);
}

TEST(Record, CorruptRecordsNameTheKey) {
  std::string text = encode_record(sample());
  auto missing = decode_record(text.substr(0, text.find("cgroup_id=")));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind(), ErrorKind::kCorrupt);
  EXPECT_NE(missing.error().message().find("cgroup_id"), std::string::npos);

  std::string bad_port = text;
  bad_port.replace(bad_port.find("65535"), 5, "65536");
  EXPECT_NE(decode_record(bad_port).error().message().find("bad ports"), std::string::npos);

  std::string bad_profile = text;
  bad_profile.replace(bad_profile.find("medium"), 6, "ultra");
  EXPECT_NE(decode_record(bad_profile).error().message().find("bad profile"), std::string::npos);
  EXPECT_EQ(decode_record("no equals sign\n").error().kind(), ErrorKind::kCorrupt);
}

TEST(Registry, SavesLoadsListsAndRemoves) {
  char tmpl[] = "/tmp/cells-registry-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  auto paths = *Paths::from_root(tmpl);
  Registry reg(paths);
  EXPECT_TRUE(reg.names()->empty()) << "no directory yet means no cells";
  CellInfo a = sample();
  CellInfo b = sample();
  b.name = "db";
  ASSERT_TRUE(reg.save(a).ok());
  ASSERT_TRUE(reg.save(b).ok());
  {
    auto lock = reg.lock();  // the lock file is not a record
    ASSERT_TRUE(lock.ok());
  }
  EXPECT_EQ(*reg.names(), (std::vector<std::string>{"db", "web"}));
  EXPECT_EQ(reg.load("web")->cid, 42u);
  EXPECT_EQ(reg.load("nosuch").error().kind(), ErrorKind::kNotFound);
  ASSERT_TRUE(reg.remove("web").ok());
  ASSERT_TRUE(reg.remove("web").ok()) << "removing twice is fine";
  EXPECT_EQ(*reg.names(), std::vector<std::string>{"db"});
  std::filesystem::remove_all(tmpl);
}

// The index names who claims a cid or a port; a removal clears only the remover's own claims,
// and a registry written before the index existed is indexed in full on first use.
TEST(Registry, IndexNamesTheClaimantsOfACidOrPort) {
  char tmpl[] = "/tmp/cells-registry-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  auto paths = *Paths::from_root(tmpl);
  Registry reg(paths);
  using Names = std::vector<std::string>;
  EXPECT_EQ(*reg.claimants(42, {}), Names{});
  CellInfo web = sample();  // cid 42
  web.ports = {80, 443};
  CellInfo db = sample();
  db.name = "db";
  db.cid = 7;
  db.ports = {5432};
  ASSERT_TRUE(reg.save(web).ok());
  ASSERT_TRUE(reg.save(db).ok());
  const std::vector<uint16_t> none, https{443}, both{5432, 80}, other{8080};
  EXPECT_EQ(*reg.claimants(1, none), Names{});
  EXPECT_EQ(*reg.claimants(42, none), Names{"web"});
  EXPECT_EQ(*reg.claimants(1, https), Names{"web"});
  EXPECT_EQ(*reg.claimants(42, both), (Names{"db", "web"})) << "each name once";
  EXPECT_EQ(*reg.claimants(1, other), Names{});

  // web's port 80 passes to a new cell before web's record goes: web's removal keeps it.
  CellInfo next = sample();
  next.name = "next";
  next.cid = 43;
  next.ports = {80};
  ASSERT_TRUE(reg.save(next).ok());
  ASSERT_TRUE(reg.remove("web").ok());
  const std::vector<uint16_t> web_ports{80, 443};
  EXPECT_EQ(*reg.claimants(42, web_ports), Names{"next"});

  // A registry from before the index: the records alone. The first lookup indexes them all.
  std::filesystem::remove_all(reg.dir() + "/.index");
  EXPECT_EQ(*reg.claimants(7, none), Names{"db"});
  EXPECT_EQ(*reg.claimants(1, std::vector<uint16_t>{80}), Names{"next"});
  EXPECT_EQ(*reg.names(), (Names{"db", "next"})) << "the index is not a record";
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace cells::kernel
