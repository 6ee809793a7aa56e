// The bridge's protocol edges, in-process through FrameHarness: raw RPC messages, an unknown
// method and interface, a bad value, garbage and oversized frames. The root is an empty scratch
// directory, so no read finds anything; the tests check that it stays empty.
#include "engine/rpc/frame.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace cells::rpc {
namespace {

using ::testing::HasSubstr;

class FrameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cells-rpc-frame-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto paths = Paths::from_root(dir_);
    ASSERT_TRUE(paths.ok());
    auto h = FrameHarness::create({*paths, {}});
    ASSERT_TRUE(h.ok()) << h.error().message();
    harness_ = std::move(*h);
  }
  void TearDown() override {
    harness_.reset();
    EXPECT_TRUE(std::filesystem::is_empty(dir_));  // no store, no manifests: nothing changed
    std::filesystem::remove_all(dir_);
  }

  PeerView output() {
    auto v = read_output(harness_->take_output());
    EXPECT_TRUE(v.ok()) << v.error().message();
    return v.value_or(PeerView{});
  }

  std::string dir_;
  std::unique_ptr<FrameHarness> harness_;
};

TEST_F(FrameTest, AVersionCallIsAnswered) {
  ASSERT_TRUE(harness_->handle_frame(bootstrap_frame(0)).ok());
  ASSERT_TRUE(harness_->handle_frame(call_frame(1, 0, bridge_interface_id(), 0)).ok());
  auto v = output();
  ASSERT_TRUE(v.returns.count(1));
  EXPECT_EQ(v.returns[1], std::nullopt);
}

TEST_F(FrameTest, UnknownMethodAndInterfaceGetErrorsAndTheBridgeKeepsServing) {
  ASSERT_TRUE(harness_->handle_frame(bootstrap_frame(0)).ok());
  ASSERT_TRUE(harness_->handle_frame(call_frame(1, 0, bridge_interface_id(), 999)).ok());
  ASSERT_TRUE(harness_->handle_frame(call_frame(2, 0, 0x1234567890abcdefull, 0)).ok());
  ASSERT_TRUE(harness_->handle_frame(call_frame(3, 0, bridge_interface_id(), 0)).ok());
  auto v = output();
  ASSERT_TRUE(v.returns.count(1) && v.returns[1].has_value());
  EXPECT_THAT(*v.returns[1], HasSubstr("not implemented"));
  ASSERT_TRUE(v.returns.count(2) && v.returns[2].has_value());
  ASSERT_TRUE(v.returns.count(3));
  EXPECT_EQ(v.returns[3], std::nullopt);  // still serving
  EXPECT_FALSE(v.abort.has_value());
}

TEST_F(FrameTest, ABadValueIsRefusedNamingIt) {
  ASSERT_TRUE(harness_->handle_frame(bootstrap_frame(0)).ok());
  // journal (method 5) with empty params: limit 0 is outside 1..10000.
  ASSERT_TRUE(harness_->handle_frame(call_frame(1, 0, bridge_interface_id(), 5)).ok());
  auto v = output();
  ASSERT_TRUE(v.returns.count(1) && v.returns[1].has_value());
  EXPECT_THAT(*v.returns[1], HasSubstr("[invalid] journal: limit 0 is not in 1..10000"));
}

TEST_F(FrameTest, GarbageIsAnAbortNamingTheProblemAndTheNextConnectionServes) {
  ASSERT_TRUE(harness_->handle_frame(bootstrap_frame(0)).ok());
  // A segment table claiming 0x7fffffff segments: not a Cap'n Proto frame.
  Status s = harness_->handle_frame(std::string("\xff\xff\xff\x7fGARBAGE!GARBAGE!", 20));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message(), HasSubstr("bridge ended the connection"));
  auto v = output();
  ASSERT_TRUE(v.abort.has_value());
  EXPECT_THAT(s.error().message(), HasSubstr(*v.abort));
  ASSERT_TRUE(harness_->handle_frame(bootstrap_frame(0)).ok());
  ASSERT_TRUE(harness_->handle_frame(call_frame(1, 0, bridge_interface_id(), 0)).ok());
  v = output();
  ASSERT_TRUE(v.returns.count(1));
  EXPECT_EQ(v.returns[1], std::nullopt);
}

TEST_F(FrameTest, AFrameAboveTheLimitIsRefusedFromItsHeader) {
  uint32_t header[2] = {0, uint32_t(kMaxFrameWords + 1)};  // one segment, one word too many
  Status s = harness_->handle_frame(std::string(reinterpret_cast<const char*>(header), sizeof header));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message(), HasSubstr("too large"));
}

TEST_F(FrameTest, AWellFramedMessageWithABrokenPointerAborts) {
  // One segment of two words whose root pointer points far outside the segment.
  uint32_t frame[6] = {0, 2, 0x7ffffff0u, 0x00010000u, 0, 0};
  Status s = harness_->handle_frame(std::string(reinterpret_cast<const char*>(frame), sizeof frame));
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().message(), HasSubstr("bridge ended the connection"));
}

}  // namespace
}  // namespace cells::rpc
