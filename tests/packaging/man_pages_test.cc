// The man pages: clean under `mandoc -T lint`, and every example in them accepted by the
// real parsers (manifests and plans) or run for real against a scratch --root (commands).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>

#include "engine/manifest.h"
#include "engine/plan.h"
#include "support.h"

namespace cells::packaging_test {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kPages = {"cellctl.8",        "cellmgr.8",        "cellui.1",
                                         "cellmgr.cell.5",   "cellmgr.volume.5", "cellmgr.apply.5",
                                         "cellmgr.conf.5"};

std::string page_path(const std::string& page) { return std::string(CELLS_MAN_DIR) + "/" + page; }

TEST(ManPages, EveryPageIsCleanUnderMandocLint) {
  for (const auto& page : kPages) {
    ASSERT_TRUE(fs::exists(page_path(page))) << page;
    auto r = run("mandoc -T lint -W style " + quote(page_path(page)));
    std::string problems;
    for (const auto& l : lines_of(r.out)) {
      // Cross references are looked up in the man pages this machine has installed (ours are
      // not, before the package is), so only that lookup is left out.
      if (l.find("referenced manual not found") != std::string::npos) continue;
      if (l.find("mandoc.db") != std::string::npos) continue;
      problems += l + "\n";
    }
    EXPECT_EQ(problems, "") << page;
  }
}

TEST(ManPages, LintCatchesABrokenPage) {
  // The check above must be able to fail: a page with an unknown macro and no title.
  std::string dir = make_temp_dir("man-lint");
  std::ofstream(dir + "/bad.8") << ".Sh NAME\n.Xyz nothing\n";
  auto r = run("mandoc -T lint -W style " + quote(dir + "/bad.8"));
  fs::remove_all(dir);
  EXPECT_NE(r.out.find("ERROR"), std::string::npos) << r.out;
}

// Literal displays preceded by `.\" example-file: NAME`, keyed by NAME.
std::map<std::string, std::string> example_files(const std::string& page) {
  std::map<std::string, std::string> out;
  auto lines = lines_of(slurp(page_path(page)));
  static const std::regex marker(R"(^\.\\" example-file: (\S+)$)");
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (!std::regex_match(lines[i], m, marker)) continue;
    size_t j = i + 1;
    if (j >= lines.size() || lines[j].rfind(".Bd -literal", 0) != 0) continue;
    std::string body;
    for (++j; j < lines.size() && lines[j] != ".Ed"; ++j) body += unroff(lines[j]) + "\n";
    out[m[1]] = body;
  }
  return out;
}

TEST(ManPages, ExampleManifestsAndPlansParse) {
  int seen = 0;
  for (const auto& page : kPages) {
    for (const auto& [name, text] : example_files(page)) {
      ++seen;
      std::string file = "/etc/cellmgr/" + name;
      SCOPED_TRACE(page + ": " + name);
      if (name.ends_with(".cell")) {
        auto m = engine::parse_cell(file, text);
        ASSERT_TRUE(m.ok()) << m.error().message();
        EXPECT_EQ(m->name + ".cell", name);
      } else if (name.ends_with(".volume")) {
        auto m = engine::parse_volume(file, text);
        ASSERT_TRUE(m.ok()) << m.error().message();
        EXPECT_EQ(m->name + ".volume", name);
      } else if (name == "cellmgr.conf") {
        auto c = engine::parse_config(file, text);
        ASSERT_TRUE(c.ok()) << c.error().message();
        EXPECT_NE(*c, engine::HostConfig{.file = file}) << "the example sets nothing";
      } else if (name.ends_with(".apply")) {
        auto p = engine::parse_plan(file, text);
        ASSERT_TRUE(p.ok()) << p.error().message();
        EXPECT_FALSE(p->steps.empty());
      } else {
        ADD_FAILURE() << "no parser for example " << name;
      }
    }
  }
  EXPECT_EQ(seen, 4) << "one example each in cellmgr.cell(5), .volume(5), .apply(5), .conf(5)";
}

TEST(ManPages, ExampleParsingRejectsABrokenManifest) {
  // The parser used above is strict: a typo in a key of the page's example is an error.
  auto text = example_files("cellmgr.cell.5").at("web.cell");
  text.replace(text.find("autostart"), 9, "autostrat");
  auto m = engine::parse_cell("/etc/cellmgr/web.cell", text);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("autostrat"), std::string::npos) << m.error().message();
}

// The "# prog ..." command lines of a page's EXAMPLES section, continuation lines joined.
std::vector<std::string> example_commands(const std::string& page, const std::string& prog) {
  std::vector<std::string> out;
  bool in_examples = false, in_display = false;
  std::string pending;
  for (const auto& raw : lines_of(slurp(page_path(page)))) {
    if (raw.rfind(".Sh ", 0) == 0) in_examples = raw == ".Sh EXAMPLES";
    if (!in_examples) continue;
    if (raw.rfind(".Bd -literal", 0) == 0) { in_display = true; continue; }
    if (raw == ".Ed") { in_display = false; continue; }
    if (!in_display) continue;
    std::string line = unroff(raw);
    if (pending.empty() && line.rfind("# " + prog + " ", 0) != 0) continue;
    pending += line;
    if (!pending.empty() && pending.back() == '\\') { pending.pop_back(); continue; }
    out.push_back(pending.substr(2 + prog.size()));  // the arguments, after "# prog"
    pending.clear();
  }
  return out;
}

TEST(ManPages, ExampleCommandsRunAgainstAScratchRoot) {
  const std::map<std::string, std::string> programs = {{"cellctl.8", CELLCTL_PATH},
                                                        {"cellmgr.8", CELLMGR_PATH}};
  for (const auto& [page, binary] : programs) {
    std::string prog = page.substr(0, page.find('.'));
    std::string root = make_temp_dir("man-examples");
    auto commands = example_commands(page, prog);
    EXPECT_GE(commands.size(), 2u) << page;
    for (const auto& args : commands) {
      auto r = run(binary + " --root " + root + args);
      EXPECT_EQ(r.status, 0) << page << ": " << prog << args << "\n" << r.out;
    }
    fs::remove_all(root);
  }
}

}  // namespace
}  // namespace cells::packaging_test
