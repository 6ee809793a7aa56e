// The server side of the bridge: `cellmgr serve --stdio` (serve_stdio) and the in-process
// pieces the frame harness (frame.h) reuses. One connection, one client: the bridge serves
// until its peer disconnects, then returns.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "base/paths.h"
#include "base/result.h"
#include "engine/lifecycle.h"

namespace kj {
class AsyncInputStream;
class AsyncOutputStream;
class Timer;
template <typename T>
class Promise;
}  // namespace kj

namespace cells::rpc {

// The largest message the bridge reads (requests are small; the limit keeps a hostile or
// broken peer from making it allocate). A frame above it is a protocol error: see
// engine/rpc/README.md.
inline constexpr size_t kMaxFrameWords = size_t{1} << 20;  // 8 MiB
// How often the bridge looks for a change to push (a few stat() calls), and how many of those
// ticks make one telemetry tick.
inline constexpr std::chrono::milliseconds kWatchTick{50};
inline constexpr int kTicksPerTelemetry = 20;

struct ServeConfig {
  Paths paths;
  engine::LifecycleConfig lifecycle;  // cellctl binary; say goes to the bridge's log (stderr)
};

// One bridge connection over IN and OUT (two-party RPC, the bridge is the server side).
class Session {
 public:
  Session(ServeConfig cfg, kj::AsyncInputStream& in, kj::AsyncOutputStream& out, kj::Timer& timer);
  ~Session();
  // Resolves when the peer disconnects or the connection aborts.
  kj::Promise<void> run();
  // Why the connection ended, when it was not a clean end of input: the reason the bridge
  // sent in its Abort message (a frame that does not parse, a frame above kMaxFrameWords).
  std::optional<std::string> failure() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Serves on fds 0 and 1. First moves them out of the way (stdin becomes /dev/null, stdout
// becomes stderr), so that neither a stray print nor a child the bridge starts can write into
// the RPC stream or keep the client's pipe open. Returns when the client disconnects; an error
// (the Abort reason) when the connection failed.
Status serve_stdio(const ServeConfig& cfg);

}  // namespace cells::rpc
