// Bad state files: every read command of the cellmgr binary answers with one line on stderr and
// a non-zero exit, never crashes, and writes nothing.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "store/codec.h"
#include "store/store.h"
#include "tests/store/harness.h"

namespace cells::store {
namespace {

using testing::cellmgr;
using testing::ScratchRoot;

// A real store with a few entries; returns the bytes of its data.mdb.
std::string real_store_bytes(const ScratchRoot& root) {
  {
    Store s = *Store::open(root.paths(), OpenMode::kReadWrite);
    Operation op = *s.begin_operation("t", "");
    for (int i = 0; i < 50; ++i) {
      EXPECT_TRUE(op.append({"t", "cell/x", Phase::kDone, "", std::string(300, 'a')}).ok());
    }
  }
  return *read_file(root.state() + "/data.mdb");
}

// Puts CONTENT as data.mdb of a fresh root (no lock.mdb, as after a careless copy).
void plant(const ScratchRoot& root, const std::string& content) {
  ASSERT_TRUE(make_dirs(root.state(), 0700).ok());
  ASSERT_TRUE(write_file_atomic(root.state() + "/data.mdb", content, 0600).ok());
}

void expect_refused_without_writes(const ScratchRoot& root, const std::string& what) {
  auto before = testing::snapshot(root.state());
  for (std::vector<std::string> cmd : {std::vector<std::string>{"journal", "verify"},
                                       {"journal", "list"},
                                       {"journal", "export"},
                                       {"journal", "show", "1"}}) {
    auto r = cellmgr(root.dir(), cmd);
    EXPECT_NE(r.exit_code, 0) << cmd[1] << ": " << r.out;
    EXPECT_LT(r.exit_code, 128) << cmd[1] << " crashed: " << r.err;
    EXPECT_TRUE(r.err.starts_with("cellmgr: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  }
  EXPECT_EQ(testing::snapshot(root.state()), before) << "a read command changed the store";
}

TEST(StoreBadInput, NonLmdbFile) {
  ScratchRoot root;
  plant(root, "this is not a database\n");
  expect_refused_without_writes(root, "is not an LMDB environment");
}

TEST(StoreBadInput, EmptyFile) {
  ScratchRoot root;
  plant(root, "");
  expect_refused_without_writes(root, "data.mdb");
}

TEST(StoreBadInput, CorruptHeader) {
  ScratchRoot src, root;
  std::string bytes = real_store_bytes(src);
  for (size_t i = 0; i < 8192; i += 7) bytes[i] = static_cast<char>(i * 31);  // both meta pages
  plant(root, bytes);
  expect_refused_without_writes(root, "is not an LMDB environment");
}

TEST(StoreBadInput, TruncatedFile) {
  ScratchRoot src, root;
  std::string bytes = real_store_bytes(src);
  ASSERT_GT(bytes.size(), 5 * 4096u);
  plant(root, bytes.substr(0, 3 * 4096));
  expect_refused_without_writes(root, "is truncated");
}

TEST(StoreBadInput, NewerFormatVersion) {
  ScratchRoot root;
  real_store_bytes(root);
  {
    testing::RawEnv raw(root.state());
    raw.write("meta", [](Txn& txn, MDB_dbi dbi) {
      ASSERT_TRUE(txn.put(dbi, "format_version", encode_u64_be(kFormatVersion + 1, 4)).ok());
    });
  }
  expect_refused_without_writes(
      root, "store format version " + std::to_string(kFormatVersion + 1) + " is newer than");
  // A writer refuses too, before touching anything.
  auto before = testing::snapshot(root.state());
  auto s = Store::open(root.paths(), OpenMode::kReadWrite);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().kind(), ErrorKind::kUnsupported);
  EXPECT_EQ(testing::snapshot(root.state()).at("data.mdb"), before.at("data.mdb"));
}

TEST(StoreBadInput, LmdbButNotACellsStore) {
  ScratchRoot root;
  ASSERT_TRUE(make_dirs(root.state(), 0700).ok());
  {
    testing::RawEnv raw(root.state());
    raw.write("something_else", [](Txn& txn, MDB_dbi dbi) {
      ASSERT_TRUE(txn.put(dbi, "k", "v").ok());
    });
  }
  expect_refused_without_writes(root, "not a cells store");
}

TEST(StoreBadInput, NoStoreIsNotAnErrorAndCreatesNothing) {
  ScratchRoot root;
  for (std::vector<std::string> cmd : {std::vector<std::string>{"journal", "verify"},
                                       {"journal", "list"},
                                       {"journal", "export"}}) {
    auto r = cellmgr(root.dir(), cmd);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("no store at " + root.state()), std::string::npos) << r.out;
  }
  EXPECT_TRUE(std::filesystem::is_empty(root.dir()));
}

TEST(StoreBadInput, BadArgumentsAreOneLineErrors) {
  ScratchRoot root;
  real_store_bytes(root);
  auto before = testing::snapshot(root.state());
  for (std::vector<std::string> cmd : {std::vector<std::string>{"journal", "show", "banana"},
                                       {"journal", "show", "op-x"},
                                       {"journal", "show", "999"},
                                       {"journal", "list", "--since", "someday"},
                                       {"journal", "list", "-n", "lots"}}) {
    auto r = cellmgr(root.dir(), cmd);
    EXPECT_NE(r.exit_code, 0) << cmd[2];
    EXPECT_TRUE(r.err.starts_with("cellmgr: ")) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  EXPECT_EQ(testing::snapshot(root.state()).at("data.mdb"), before.at("data.mdb"));
}

}  // namespace
}  // namespace cells::store
