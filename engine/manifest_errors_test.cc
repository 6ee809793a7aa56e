// Parse errors of damaged manifests stay on one line. Found by fuzz_manifest (corpus:
// toml-error-quotes-newline): toml++'s description quotes the text it saw, newline included.
#include <gtest/gtest.h>

#include "engine/manifest.h"

namespace cells::engine {
namespace {

TEST(ManifestErrors, TomlSyntaxErrorIsOneLineAndNamesTheLine) {
  auto r =
      parse_cell("/etc/cellmgr/web.cell", "name = \"web\"\ncommand = \"x\"\nautostart = tru\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos) << r.error().message();
  EXPECT_EQ(r.error().message().rfind("/etc/cellmgr/web.cell:3: TOML syntax error: ", 0), 0u)
      << r.error().message();
  auto c = parse_config("/etc/cellmgr/cellmgr.conf", "allow_host_mounts = fals\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message().find('\n'), std::string::npos) << c.error().message();
}

// corpus: regress-value-quotes-newline. A validation error quoting a string value that holds
// a newline stays one line too.
TEST(ManifestErrors, ValidationErrorQuotingANewlineIsOneLine) {
  auto r = parse_cell("/etc/cellmgr/web.cell",
                      "name = \"web\"\ncommand = \"x\"\nrun_as = \"uid:1:2\\nmore\"\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("key 'run_as'"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace cells::engine
