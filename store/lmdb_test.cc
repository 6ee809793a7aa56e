#include "store/lmdb.h"

#include <gtest/gtest.h>

#include <string>

#include "base/files.h"
#include "store/test_support.h"

namespace cells::store {
namespace {

struct Fixture {
  testing::ScratchRoot root;
  Env env;
  MDB_dbi dbi = 0;
  Fixture() {
    EXPECT_TRUE(make_dirs(root.dir() + "/env").ok());
    // A small map so that MDB_MAP_FULL is easy to provoke.
    env = *Env::open(root.dir() + "/env", {.map_size = 1 << 20});
    Txn txn = *Txn::begin(env, true);
    dbi = *txn.open_db("t");
    EXPECT_TRUE(txn.commit().ok());
  }
  std::optional<std::string> read(const std::string& key) {
    Txn txn = *Txn::begin(env, false);
    auto v = *txn.get(dbi, key);
    return v ? std::optional<std::string>(std::string(*v)) : std::nullopt;
  }
};

TEST(LmdbTxn, AbortsUnlessCommitted) {
  Fixture f;
  {
    Txn txn = *Txn::begin(f.env, true);
    ASSERT_TRUE(txn.put(f.dbi, "k", "v").ok());
  }  // destroyed without commit
  EXPECT_EQ(f.read("k"), std::nullopt);
  {
    Txn txn = *Txn::begin(f.env, true);
    ASSERT_TRUE(txn.put(f.dbi, "k", "v").ok());
    ASSERT_TRUE(txn.commit().ok());
  }
  EXPECT_EQ(f.read("k"), "v");
}

TEST(LmdbTxn, FailedWritePoisonsTheTransaction) {
  Fixture f;
  Txn txn = *Txn::begin(f.env, true);
  std::string big(64 * 1024, 'x');
  Status st;
  for (int i = 0; i < 100 && st.ok(); ++i) st = txn.put(f.dbi, "k" + std::to_string(i), big);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("MDB_MAP_FULL"), std::string::npos) << st.error().message();
  EXPECT_TRUE(txn.poisoned());
  auto again = txn.put(f.dbi, "other", "v");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message().find("poisoned"), std::string::npos);
  EXPECT_FALSE(txn.get(f.dbi, "k0").ok());
  EXPECT_FALSE(txn.commit().ok());
  txn.abort();
  EXPECT_EQ(f.read("k0"), std::nullopt);  // nothing of the poisoned txn landed
}

TEST(LmdbTxn, KeyExistsIsAnAnswerNotAPoison) {
  Fixture f;
  Txn txn = *Txn::begin(f.env, true);
  ASSERT_TRUE(txn.put(f.dbi, "k", "1").ok());
  auto dup = txn.put(f.dbi, "k", "2", MDB_NOOVERWRITE);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().kind(), ErrorKind::kExists);
  EXPECT_FALSE(txn.poisoned());
  ASSERT_TRUE(txn.commit().ok());
  EXPECT_EQ(f.read("k"), "1");
}

TEST(LmdbTxn, CommittedTxnRefusesFurtherUse) {
  Fixture f;
  Txn txn = *Txn::begin(f.env, true);
  ASSERT_TRUE(txn.commit().ok());
  EXPECT_FALSE(txn.put(f.dbi, "k", "v").ok());
  EXPECT_FALSE(txn.commit().ok());
}

TEST(LmdbCursor, WalksInKeyOrder) {
  Fixture f;
  {
    Txn txn = *Txn::begin(f.env, true);
    for (const char* k : {"b", "c", "a"}) ASSERT_TRUE(txn.put(f.dbi, k, k).ok());
    ASSERT_TRUE(txn.commit().ok());
  }
  Txn txn = *Txn::begin(f.env, false);
  Cursor cur = *Cursor::open(txn, f.dbi);
  std::string seen;
  for (auto it = *cur.get(MDB_FIRST); it; it = *cur.get(MDB_NEXT)) seen += it->first;
  EXPECT_EQ(seen, "abc");
}

TEST(LmdbEnv, ForeignFileIsCorrupt) {
  testing::ScratchRoot root;
  ASSERT_TRUE(make_dirs(root.dir() + "/env").ok());
  ASSERT_TRUE(write_file_atomic(root.dir() + "/env/data.mdb", std::string(16384, 'z')).ok());
  auto env = Env::open(root.dir() + "/env", {.read_only = true, .no_lock = true});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.error().kind(), ErrorKind::kCorrupt) << env.error().message();
}

}  // namespace
}  // namespace cells::store
