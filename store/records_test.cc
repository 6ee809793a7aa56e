// Record decoding of damaged bytes (store/records.h, store/capnp_adapter.h). The fuzz target
// tests/fuzz/journal_fuzz.cc drives these decoders with arbitrary input; the cases here pin
// what it found.
#include "store/records.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>

#include "base/text.h"
#include "store/capnp_adapter.h"

namespace cells::store {
namespace {

// Found by fuzz_journal (corpus: generation-multiline-error): a text field whose terminating
// NUL was replaced by a newline made Cap'n Proto's exception text, and so the error, span two
// lines. Errors are one line (they end up in `cellmgr` output and the journal).
TEST(Records, DamagedTextGivesAOneLineCorruptError) {
  Generation g;
  g.number = 3;
  CellManifest c;
  c.name = "web";
  g.desired.cells = {c};
  std::string bytes = detail::encode_generation(g);
  size_t at = bytes.find(std::string("web\0", 4));
  ASSERT_NE(at, std::string::npos);
  bytes[at + 3] = '\n';

  auto r = detail::decode_generation(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("decode generation"), std::string::npos);
  // The one-cell lookup reads that name too, and refuses the same way.
  auto one = detail::find_generation_cell(bytes, "web");
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.error().kind(), ErrorKind::kCorrupt);
  EXPECT_EQ(one.error().message().find('\n'), std::string::npos) << one.error().message();
}

TEST(Records, OneLineReplacesEveryControlCharacter) {
  EXPECT_EQ(one_line("a\nb\rc\td\x7f" "e"), "a b c d e");
  EXPECT_EQ(one_line(std::string("x\0y", 3)), "x y");
}

// Found by fuzz_journal (corpus: generation-zero-size-cells): a record whose cell list claims a
// million elements of zero size costs Cap'n Proto nothing to describe but the decoder a whole
// CellManifest each. The traversal limit proportional to the message refuses it quickly.
TEST(Records, ZeroSizedListAmplificationIsRefused) {
  Generation g;
  g.desired.cells.resize(1);
  std::string bytes = detail::encode_generation(g);
  // Find the cells list: the first composite-list pointer (pointer kind 1, element size 7),
  // then rewrite its tag word to say 1,000,000 elements of no data and no pointers.
  bool patched = false;
  const size_t words = (bytes.size() - 8) / 8;  // after the one-segment table
  for (size_t i = 0; i < words && !patched; ++i) {
    uint64_t ptr;
    std::memcpy(&ptr, bytes.data() + 8 + i * 8, 8);
    if ((ptr & 3) != 1 || ((ptr >> 32) & 7) != 7) continue;
    int64_t offset = static_cast<int32_t>(static_cast<uint32_t>(ptr)) >> 2;
    const uint64_t tag = uint64_t{1000000} << 2;  // element count in the offset field; sizes 0
    std::memcpy(bytes.data() + 8 + (i + 1 + offset) * 8, &tag, 8);
    patched = true;
  }
  ASSERT_TRUE(patched);
  auto start = std::chrono::steady_clock::now();
  auto r = detail::decode_generation(bytes);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  ASSERT_FALSE(r.ok()) << r->desired.cells.size() << " cells decoded";
  EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
}

}  // namespace
}  // namespace cells::store
