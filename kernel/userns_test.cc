#include "kernel/userns.h"

#include <gtest/gtest.h>

#include <set>

namespace cells::kernel {
namespace {

TEST(IdRange, StartsAboveHostAndSubuidRanges) {
  EXPECT_EQ(id_range_for_cid(1).host_base, (1u << 30) + 65536u);
  EXPECT_EQ(id_range_for_cid(1).count, 65536u);
}

TEST(IdRange, LiveCellsGetDisjointRangesBelowTheInvalidUid) {
  std::set<uint32_t> bases;
  for (uint32_t cid = 1; cid <= 49151; ++cid) {
    IdRange r = id_range_for_cid(cid);
    uint64_t last = uint64_t{r.host_base} + r.count - 1;
    ASSERT_LT(last, 0xFFFFFFFFull) << "cid " << cid;  // (uid_t)-1 is never a valid id
    ASSERT_TRUE(bases.insert(r.host_base).second) << "cid " << cid << " reuses a range";
  }
  // Ranges are reused only after 49151 more cells (cids are never reused).
  EXPECT_EQ(id_range_for_cid(49152).host_base, id_range_for_cid(1).host_base);
}

}  // namespace
}  // namespace cells::kernel
