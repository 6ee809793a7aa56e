// The pass that hands toml++ 3.3 only ASCII (toml_guard.h). What it refuses must be invalid
// TOML anyway, what it rewrites must mean the same, and invalid text must stay invalid. The
// fuzzer (tests/fuzz, UBSan) checks that nothing reaches toml++'s unreachable branch;
// corpus/manifest holds the inputs it found.
#include "engine/toml_guard.h"

#include <gtest/gtest.h>

#include <toml++/toml.h>
#include <algorithm>

#include "engine/manifest.h"

namespace cells::engine {
namespace {

TEST(TomlGuard, LeavesAsciiTextAlone) {
  for (std::string_view text :
       {"name = \"web\"\n", "a = 'C:\\x' # note\n", "a = \"\"\"q\"\"\"\"\"\n"}) {
    GuardedToml g = guard_toml(text);
    EXPECT_TRUE(g.refusal.empty()) << text << ": " << g.refusal;
    EXPECT_FALSE(g.changed) << text;
  }
}

// The rewritten text, parsed, holds the values the original says. (The original is not parsed
// here for comparison: that is what reaches the undefined behaviour.)
TEST(TomlGuard, RewritesToAsciiThatMeansTheSame) {
  GuardedToml g = guard_toml(
      "\xEF\xBB\xBF# é comment\n"
      "basic = \"Café \\\"x\\\" \\\\ 末\"  # ü\n"
      "literal = 'C:\\été\\\"q\"'\n"
      "'ключ' = 1\n"
      "multi = \"\"\"\nÉté\\\n   \xC2\xA0y\"\"\"\"\"\n"
      "multilit = '''\nl1 \\ \"é\"\"\"\nl2 ''é'''''\n"
      "bee = \"\xF0\x9F\x90\x9D\"\n");
  ASSERT_TRUE(g.refusal.empty()) << g.refusal;
  ASSERT_TRUE(g.changed);
  for (char c : g.rewritten) ASSERT_LT(static_cast<uint8_t>(c), 0x80) << g.rewritten;
  EXPECT_EQ(std::count(g.rewritten.begin(), g.rewritten.end(), '\n'), 11) << "lines keep numbers";
  toml::table t = toml::parse(g.rewritten);
  EXPECT_EQ(t["basic"].value_or(std::string()), "Café \"x\" \\ 末");
  EXPECT_EQ(t["literal"].value_or(std::string()), "C:\\été\\\"q\"");
  EXPECT_EQ(t["ключ"].value_or(0), 1);
  // TOML whitespace is space and tab, so the no-break space after a line-ending backslash is
  // content (toml++ 3.3 would have skipped it).
  EXPECT_EQ(t["multi"].value_or(std::string()), "Été\xC2\xA0y\"\"");
  EXPECT_EQ(t["multilit"].value_or(std::string()), "l1 \\ \"é\"\"\"\nl2 ''é''");
  EXPECT_EQ(t["bee"].value_or(std::string()), "\xF0\x9F\x90\x9D");
}

TEST(TomlGuard, KeepsInvalidTextInvalid) {
  // The first: what the fuzzer found second, a bare value scan that looks past the quotes.
  for (std::string_view text : {"name =0\"db\"'c\xD2\x91\xD7\x9A'c.n(a\x7Fm", "a = 'é\nb = 1\n",
                                "a = '''x'''''''\nb = 'é'\n", "a = \"\"\"é\"\"\"\"\"\"\n"}) {
    GuardedToml g = guard_toml(text);
    ASSERT_TRUE(g.refusal.empty()) << text;
    EXPECT_THROW(toml::parse(g.rewritten), toml::parse_error) << g.rewritten;
  }
  // And toml++ still names the line of the first error.
  GuardedToml g = guard_toml("a = 1\nb = 'é\nc = 1\n");
  ASSERT_TRUE(g.changed);
  try {
    toml::table parsed = toml::parse(g.rewritten);
    ADD_FAILURE() << "parsed: " << g.rewritten << " (" << parsed.size() << " keys)";
  } catch (const toml::parse_error& e) {
    EXPECT_EQ(e.source().begin.line, 2u);
  }
}

TEST(TomlGuard, RefusesNonAsciiOutsideStringsAndNamesTheLine) {
  GuardedToml g = guard_toml("name = \"web\"\ncname\xD1\xBD = 0\n");  // what the fuzzer found
  EXPECT_EQ(g.line, 2u);
  EXPECT_EQ(g.refusal,
            "non-ASCII character U+047D outside a string or comment (TOML keys and whitespace are "
            "ASCII; quote the key)");
  for (std::string_view text : {"é = 1\n", "a = 1é\n", "a = [1,é]\n", "[é]\n", "a = 3.1é\n",
                                "a = \"x\"é\n", "a = \"\"\"x\"\"\"\xEF\xAD\x90\n"}) {
    EXPECT_NE(guard_toml(text).refusal.find("outside a string or comment"), std::string::npos)
        << text;
  }
}

TEST(TomlGuard, RefusesInvalidUtf8AndBackslashBeforeNonAscii) {
  EXPECT_EQ(guard_toml("a = \"\xC3\"\n").refusal, "invalid UTF-8 (byte 0xC3)");
  EXPECT_EQ(guard_toml("# \xC0\xAF overlong\n").refusal, "invalid UTF-8 (byte 0xC0)");
  EXPECT_EQ(guard_toml("a = '\xED\xA0\x80'\n").refusal, "invalid UTF-8 (byte 0xED)");
  EXPECT_EQ(guard_toml("a = \"\\\xFF\"\n").refusal, "invalid UTF-8 (byte 0xFF)");
  GuardedToml g = guard_toml("a = 1\nb = \"\"\"x\\é\"\"\"\n");
  EXPECT_EQ(g.line, 2u);
  EXPECT_EQ(g.refusal, "a backslash before U+00E9 is no TOML escape sequence");
  EXPECT_TRUE(g.rewritten.empty());
}

TEST(TomlGuard, ARefusedManifestIsAnErrorNamingFileAndLine) {
  auto r = parse_cell("/etc/cellmgr/web.cell",
                      "name = \"web\"\ncommand = \"x\"\nautostart\xC3\xA9 = true\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(),
            "/etc/cellmgr/web.cell:3: TOML syntax error: non-ASCII character U+00E9 outside a "
            "string or comment (TOML keys and whitespace are ASCII; quote the key)");
}

TEST(TomlGuard, ARewrittenManifestMeansWhatItSaid) {
  auto r = parse_cell("/etc/cellmgr/web.cell",
                      "name = \"web\"  # café\ncommand = '''/bin/echo \"été\" \\n'''\n");
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->command, "/bin/echo \"été\" \\n");
}

}  // namespace
}  // namespace cells::engine
