#include "kernel/cell_spawner.h"

#include <gtest/gtest.h>

namespace cells::kernel {
namespace {

SpawnRequest sample() {
  SpawnRequest r;
  r.argv = {"sh", "-c", "echo 'a b'\n"};
  r.env = {"PATH=/bin", "X="};
  r.candidates = {"/bin/sh"};
  r.cwd = "/srv";
  r.uid = 1000;
  r.gid = 1001;
  r.groups = {5, 6};
  r.limits = {{7, 1024}, {9, ~0ULL}};
  r.caps_keep = 0x1234;
  r.caps_last_cap = 40;
  r.seccomp = {{0x20, 0, 0, 4}, {0x06, 0, 0, 0x7fff0000}};
  return r;
}

TEST(SpawnRequest, RoundTrips) {
  SpawnRequest in = sample();
  auto out = decode_spawn_request(encode_spawn_request(in));
  ASSERT_TRUE(out.ok()) << out.error().message();
  EXPECT_EQ(out->argv, in.argv);
  EXPECT_EQ(out->env, in.env);
  EXPECT_EQ(out->candidates, in.candidates);
  EXPECT_EQ(out->cwd, in.cwd);
  EXPECT_EQ(out->uid, in.uid);
  EXPECT_EQ(out->gid, in.gid);
  EXPECT_EQ(out->groups, in.groups);
  ASSERT_EQ(out->limits.size(), 2u);
  EXPECT_EQ(out->limits[1].resource, 9);
  EXPECT_EQ(out->limits[1].value, ~0ULL);
  EXPECT_EQ(out->caps_keep, in.caps_keep);
  EXPECT_EQ(out->caps_last_cap, in.caps_last_cap);
  ASSERT_EQ(out->seccomp.size(), 2u);
  EXPECT_EQ(out->seccomp[1].k, 0x7fff0000u);
}

TEST(SpawnRequest, RejectsTruncatedPaddedAndEmptyRequests) {
  std::string bytes = encode_spawn_request(sample());
  for (size_t cut : {size_t(0), size_t(3), size_t(10), bytes.size() - 1}) {
    auto r = decode_spawn_request(std::string_view(bytes).substr(0, cut));
    ASSERT_FALSE(r.ok()) << cut;
    EXPECT_EQ(r.error().kind(), ErrorKind::kCorrupt);
  }
  EXPECT_EQ(decode_spawn_request(bytes + "x").error().message(), "spawn request: bad length");
  SpawnRequest no_argv = sample();
  no_argv.argv.clear();
  EXPECT_EQ(decode_spawn_request(encode_spawn_request(no_argv)).error().message(),
            "spawn request: bad argv");
  SpawnRequest nul = sample();
  nul.env.push_back(std::string("A=\0B", 4));
  EXPECT_NE(decode_spawn_request(encode_spawn_request(nul)).error().message().find("NUL"),
            std::string::npos);
}

}  // namespace
}  // namespace cells::kernel
