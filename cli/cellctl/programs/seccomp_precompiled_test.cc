// The filters cells-supervise carries must be the ones libseccomp builds now, instruction for
// instruction: the supervisor enforces them on every service start.
#include <gtest/gtest.h>

#include <cstring>

#include "kernel/seccomp.h"

namespace cells::kernel {
namespace {

class PrecompiledSeccomp : public testing::TestWithParam<Profile> {};

TEST_P(PrecompiledSeccomp, MatchesTheFilterLibseccompBuilds) {
  auto built = build_seccomp_filter(GetParam());
  ASSERT_TRUE(built.ok()) << built.error().message();
  auto pre = precompiled_seccomp_filter(GetParam());
  ASSERT_EQ(pre.size(), built->size());
  for (size_t i = 0; i < pre.size(); ++i) {
    const sock_filter& a = pre[i];
    const sock_filter& b = (*built)[i];
    EXPECT_TRUE(a.code == b.code && a.jt == b.jt && a.jf == b.jf && a.k == b.k)
        << "instruction " << i << " differs";
  }
}

TEST(PrecompiledSeccompProfiles, AreDistinctAndStricterUpwards) {
  // low denies less than medium; medium and high share the deny list.
  EXPECT_LT(precompiled_seccomp_filter(Profile::kLow).size(),
            precompiled_seccomp_filter(Profile::kMedium).size());
  EXPECT_FALSE(precompiled_seccomp_filter(Profile::kHigh).empty());
}

INSTANTIATE_TEST_SUITE_P(Profiles, PrecompiledSeccomp,
                         testing::Values(Profile::kLow, Profile::kMedium, Profile::kHigh));

}  // namespace
}  // namespace cells::kernel
