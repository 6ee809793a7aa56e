// The end-to-end suite's fixture: an example's README run block by block against a scratch
// root. It extends the control plane's harness (scratch --root, and a TearDown that resets the
// root and checks for leftover mounts, cgroups, supervisors and BPF pins) with the README
// runner, `cellmgr journal verify` after every test, and a small HTTP client for sampling
// traffic while an apply runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tests/controlplane/harness.h"

namespace cells::e2e::testing {

using controlplane::testing::Outcome;

// The ```sh blocks of a Markdown file, in order (other fences, such as sample output, are
// skipped).
std::vector<std::string> shell_blocks(const std::string& markdown);

struct HttpReply {
  int status = 0;
  std::string body;
};
// One HTTP/1.0 request to 127.0.0.1:PORT. nullopt when no answer came (refused, reset, timed
// out): what a client of the service would see as an outage.
std::optional<HttpReply> http(uint16_t port, const std::string& method, const std::string& path,
                              const std::string& body = "",
                              std::chrono::milliseconds timeout = std::chrono::seconds(2));

class ExampleTest : public controlplane::testing::ControlPlaneTest {
 protected:
  // Reads examples/<EXAMPLE>/README.md; its first shell block is the shell setup (PATH and
  // $etc), which every later block runs after.
  void load_example(const std::string& example);
  void TearDown() override;

  // Runs block I of the README with bash -euo pipefail in the repository root, as root, with
  // CELLS_ROOT the scratch root and CELLS_BUILD_DIR this build: exactly what an operator
  // pasting the setup block and then block I into a shell would run.
  Outcome run_block(size_t i);
  // Runs a repository script (such as tools/quickstart) the same way, with this build's
  // cellmgr and cellctl on PATH as if installed (CELLS_QUICKSTART_INSTALLED=1).
  Outcome run_script(const std::string& relative_path);

  std::vector<std::string> blocks_;
};

}  // namespace cells::e2e::testing
