// Fuzzes the RPC bridge's message handling in process (engine/rpc/frame.h): each input is the
// byte stream a client sends over one fresh connection to a bridge whose --root is an empty
// scratch directory (wiped after every input, so inputs do not depend on each other; with no
// cells and no volumes every action finds nothing to act on). Properties: no crash or
// sanitizer finding, and everything the bridge writes back is whole RPC messages that parse
// (a bridge that answers garbage would break every client).
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/paths.h"
#include "engine/rpc/frame.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace fs = std::filesystem;
using namespace cells;

// The scratch root, removed when the process exits (its static destructor).
struct ScratchRoot {
  std::string dir;
  ScratchRoot() {
    char tmpl[] = "/tmp/cells-fuzz-rpc-XXXXXX";
    CELLS_FUZZ_CHECK(::mkdtemp(tmpl) != nullptr, "mkdtemp");
    dir = tmpl;
  }
  ~ScratchRoot() { fs::remove_all(dir); }
};

const std::string& scratch_root() {
  static const ScratchRoot root;
  return root.dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& root = scratch_root();
  auto paths = Paths::from_root(root);
  CELLS_FUZZ_CHECK(paths.ok(), "scratch paths");
  {
    auto harness = rpc::FrameHarness::create({*paths, {}});
    CELLS_FUZZ_CHECK(harness.ok(), "frame harness");
    (void)(*harness)->handle_frame(std::string_view(reinterpret_cast<const char*>(data), size));
    auto out = rpc::read_output((*harness)->take_output());
    CELLS_FUZZ_CHECK(out.ok(), "the bridge writes whole, parseable messages");
  }
  for (const auto& e : fs::directory_iterator(root)) fs::remove_all(e.path());
  return 0;
}
