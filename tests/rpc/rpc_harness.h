// The control-plane harness plus a bridge client on the same scratch root.
#pragma once

#include <memory>

#include "engine/rpc/client.h"
#include "store/store.h"
#include "tests/controlplane/harness.h"

namespace cells::rpc::testing {

class BridgeTest : public controlplane::testing::ControlPlaneTest {
 protected:
  // The client goes first: its bridge must be gone before the base class resets the root.
  void TearDown() override {
    client_.reset();
    ControlPlaneTest::TearDown();
  }

  ClientOptions options() const {
    ClientOptions o;
    o.root = scratch_;
    o.cellmgr = CELLMGR_PATH;
    o.env = {std::string("CELLS_CELLCTL=") + CELLCTL_PATH};
    // Not the test's stderr: a supervisor the bridge starts inherits it, and ctest waits for
    // every holder of its output pipe.
    o.log_path = scratch_ + "/bridge.log";
    return o;
  }
  void connect() {
    auto c = Client::connect(options());
    ASSERT_TRUE(c.ok()) << c.error().message();
    client_ = std::move(*c);
  }
  uint64_t journal_head() {
    auto st = store::Store::open(*paths_, store::OpenMode::kReadOnly);
    if (!st) return 0;
    return st->journal_head().value_or(store::JournalHead{}).last_seq;
  }

  std::unique_ptr<Client> client_;
};

}  // namespace cells::rpc::testing
