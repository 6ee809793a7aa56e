// A bridge in this process fed raw bytes, for fuzzers and the protocol tests: the same
// Session that `cellmgr serve --stdio` runs, over an in-memory pipe instead of fds 0 and 1.
//
//   auto h = CELLS_TRY(rpc::FrameHarness::create({.paths = scratch_paths}));
//   Status s = h->handle_frame(bytes);   // ok: still serving; error: the Abort reason
//
// The bridge acts for real on CFG.paths (a call to `stop` stops cells): give it a scratch root.
// One harness per thread (it owns a kj event loop).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "engine/rpc/server.h"

namespace cells::rpc {

class FrameHarness {
 public:
  static Result<std::unique_ptr<FrameHarness>> create(ServeConfig cfg);
  ~FrameHarness();

  // Writes BYTES (any number of frames, or part of one) to the bridge and runs it until it is
  // idle. Ok while the connection lives (a partial frame waits for the next call's bytes); once
  // the bridge ended it, an error naming why (the reason of its Abort), and the next call
  // starts a fresh connection.
  Status handle_frame(std::string_view bytes);
  // Everything the bridge wrote since the last call (RPC messages, e.g. an Abort).
  std::string take_output();

  struct Impl;

 private:
  explicit FrameHarness(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Hand-made frames for seed corpora and tests.
std::string bootstrap_frame(uint32_t question);
// A call of METHOD of interface IFACE on the bootstrap capability asked for by BOOT (empty
// params).
std::string call_frame(uint32_t question, uint32_t boot, uint64_t iface, uint16_t method);
uint64_t bridge_interface_id();

// What the bridge wrote, message by message: each Return by question (the exception reason,
// or nullopt for results) and the reason of an Abort. Errors: kCorrupt for a partial frame.
struct PeerView {
  std::map<uint32_t, std::optional<std::string>> returns;
  std::optional<std::string> abort;
};
Result<PeerView> read_output(std::string_view bytes);

}  // namespace cells::rpc
