// Any edit, deletion or reordering of journal entries makes `cellmgr journal verify` exit 1
// naming the damaged entry.
#include <gtest/gtest.h>

#include <cstring>

#include "store/codec.h"
#include "store/journal.h"
#include "store/store.h"
#include "tests/store/harness.h"

namespace cells::store {
namespace {

using testing::cellmgr;
using testing::RawEnv;
using testing::ScratchRoot;

constexpr int kEntries = 10;

// A store with entries seq 1..10; entry N's target is "cell/tamper-me-N".
void populate(const ScratchRoot& root) {
  Store s = *Store::open(root.paths(), OpenMode::kReadWrite);
  Operation op = *s.begin_operation("test.fill", "");
  for (int i = 1; i <= kEntries; ++i) {
    ASSERT_TRUE(op.append({"test.fill", "cell/tamper-me-" + std::to_string(i),
                           i % 2 ? Phase::kIntent : Phase::kDone, "b", "a"})
                    .ok());
  }
}

void expect_verify_fails_at(const ScratchRoot& root, uint64_t seq, const std::string& what) {
  auto r = cellmgr(root.dir(), {"journal", "verify"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("cellmgr: journal verify: seq " + std::to_string(seq) + ": "),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(what), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(JournalTamper, IntactJournalVerifies) {
  ScratchRoot root;
  populate(root);
  auto r = cellmgr(root.dir(), {"journal", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "journal intact: 10 entries\n");
}

TEST(JournalTamper, FlippedByteInTheFileIsNamed) {
  ScratchRoot root;
  populate(root);
  // Edit a copy of the environment's file directly, inside entry 5's value.
  std::string path = root.state() + "/data.mdb";
  std::string bytes = *read_file(path);
  // Copy-on-write leaves stale copies of the leaf in free pages: edit every copy, so that the
  // live one is certainly among them.
  int edits = 0;
  for (auto at = bytes.find("cell/tamper-me-5"); at != std::string::npos;
       at = bytes.find("cell/tamper-me-5", at + 1), ++edits) {
    bytes[at + 5] ^= 0x20;  // "tamper" -> "Tamper"
  }
  ASSERT_GT(edits, 0);
  ASSERT_TRUE(write_file_atomic(path, bytes, 0600).ok());
  expect_verify_fails_at(root, 5, "entry edited");
}

TEST(JournalTamper, EditWithRecomputedHashBreaksTheChainAtTheSuccessor) {
  ScratchRoot root;
  populate(root);
  RawEnv raw(root.state());
  raw.write("journal", [](Txn& txn, MDB_dbi dbi) {
    auto e = *detail::decode_entry(**txn.get(dbi, encode_u64_be(5)));
    e.after = "forged";
    ASSERT_TRUE(txn.put(dbi, encode_u64_be(5), detail::encode_entry(e)).ok());
  });
  expect_verify_fails_at(root, 6, "does not match seq 5");
}

TEST(JournalTamper, DeletedMiddleEntryIsNamed) {
  ScratchRoot root;
  populate(root);
  RawEnv raw(root.state());
  raw.write("journal", [](Txn& txn, MDB_dbi dbi) {
    ASSERT_TRUE(*txn.del(dbi, encode_u64_be(4)));
  });
  expect_verify_fails_at(root, 4, "entry missing (deleted)");
}

TEST(JournalTamper, DeletedLastEntryIsCaughtByTheHead) {
  ScratchRoot root;
  populate(root);
  RawEnv raw(root.state());
  raw.write("journal", [](Txn& txn, MDB_dbi dbi) {
    ASSERT_TRUE(*txn.del(dbi, encode_u64_be(kEntries)));
  });
  expect_verify_fails_at(root, kEntries, "entry missing (deleted)");
}

TEST(JournalTamper, SwappedEntriesAreNamed) {
  ScratchRoot root;
  populate(root);
  RawEnv raw(root.state());
  raw.write("journal", [](Txn& txn, MDB_dbi dbi) {
    std::string a(**txn.get(dbi, encode_u64_be(3))), b(**txn.get(dbi, encode_u64_be(4)));
    ASSERT_TRUE(txn.put(dbi, encode_u64_be(3), b).ok());
    ASSERT_TRUE(txn.put(dbi, encode_u64_be(4), a).ok());
  });
  expect_verify_fails_at(root, 3, "reordered");
}

TEST(JournalTamper, TruncatedValueIsNamed) {
  ScratchRoot root;
  populate(root);
  RawEnv raw(root.state());
  raw.write("journal", [](Txn& txn, MDB_dbi dbi) {
    std::string v(**txn.get(dbi, encode_u64_be(7)));
    ASSERT_TRUE(txn.put(dbi, encode_u64_be(7), v.substr(0, 20)).ok());
  });
  expect_verify_fails_at(root, 7, "too short");
}

TEST(JournalTamper, ListStillReadsUpToTheDamageAndSaysWhere) {
  ScratchRoot root;
  populate(root);
  std::string path = root.state() + "/data.mdb";
  std::string bytes = *read_file(path);
  for (auto at = bytes.find("cell/tamper-me-8"); at != std::string::npos;
       at = bytes.find("cell/tamper-me-8", at + 1)) {
    bytes[at + 6] ^= 0x01;
  }
  ASSERT_TRUE(write_file_atomic(path, bytes, 0600).ok());
  auto r = cellmgr(root.dir(), {"journal", "list"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("journal entry 8"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cells::store
