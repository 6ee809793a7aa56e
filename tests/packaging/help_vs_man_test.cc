// Every --help matches its man page's SYNOPSIS. The comparison is mechanical and driven by
// what the programs print at test time (commands added later are checked as they appear):
//  - every command that --help lists, down to the leaves, has a synopsis line in the page
//    (`.Nm prog` followed by `.Cm` with its path), and the page has no synopsis line for a
//    command --help does not list, except commands the page marks as planned
//    (`.\" cells-planned: NAME...`, documented from the design before the code lands);
//  - likewise an option the page marks as planned (`.\" cells-planned-option: PATH... FLAG`)
//    may be in the synopsis before --help lists it;
//  - every option of a command is in that command's synopsis line, by its short name when it
//    has one, and then its long name appears in the page too (the option lists);
//  - every option in a synopsis line is one that command's --help lists;
//  - every positional that --help names is an `Ar` of that synopsis line.
// `-h,--help` itself is left out (for `cellctl stats`, -h is the HTTP header).
#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>

#include "support.h"

namespace cells::packaging_test {
namespace {

struct Option {
  std::string short_name;  // "-l", or empty
  std::string long_name;   // "--level", or empty
};

struct Command {
  std::vector<std::string> path;
  std::vector<Option> options;
  std::vector<std::string> positionals;
  std::vector<std::string> subcommands;
};

std::string join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

// The first word of each entry of each CLI11 help section ("Options:", ...).
std::map<std::string, std::vector<std::string>> help_sections(const std::string& help) {
  std::map<std::string, std::vector<std::string>> out;
  std::string section;
  for (const auto& l : lines_of(help)) {
    if (!l.empty() && l[0] != ' ') {
      section = l.back() == ':' ? l.substr(0, l.size() - 1) : "";
    } else if (!section.empty() && l.size() > 2 && l.rfind("  ", 0) == 0 && l[2] != ' ') {
      out[section].push_back(l.substr(2, l.find(' ', 2) - 2));
    }
  }
  return out;
}

void collect(const std::string& binary, std::vector<std::string> path, std::vector<Command>& out) {
  auto r = run(binary + " " + join(path) + " --help");
  ASSERT_EQ(r.status, 0) << join(path) << ": " << r.out;
  auto sections = help_sections(r.out);
  Command c{.path = path};
  for (const auto& spec : sections["Options"]) {
    Option o;
    std::istringstream names(spec);
    for (std::string n; std::getline(names, n, ',');) {
      (n.rfind("--", 0) == 0 ? o.long_name : o.short_name) = n;
    }
    if (o.long_name != "--help") c.options.push_back(o);
  }
  c.positionals = sections["Positionals"];
  c.subcommands = sections["Subcommands"];
  out.push_back(c);
  for (const auto& sub : c.subcommands) {
    auto p = path;
    p.push_back(sub);
    collect(binary, p, out);
  }
}

struct Synopsis {
  std::vector<std::string> path;
  std::set<std::string> flags;  // as typed: "-l", "--level"
  std::set<std::string> args;   // Ar names
};

struct Page {
  std::vector<Synopsis> synopses;
  std::set<std::string> all_flags;  // every Fl anywhere in the page
  std::set<std::string> planned;
  std::set<std::string> planned_options;  // "apply --boot": command path, blank, flag
};

bool is_macro(const std::string& t) { return std::regex_match(t, std::regex("[A-Z][a-z]{1,2}")); }
bool is_delimiter(const std::string& t) { return t.size() == 1 && std::string("|,:;.()[]").find(t) != std::string::npos; }

// Adds the Fl and Ar arguments of one macro line to FLAGS and ARGS.
void scan_macros(const std::string& line, std::set<std::string>& flags, std::set<std::string>& args) {
  std::istringstream in(line.substr(1));
  std::string mode;
  for (std::string t; in >> t;) {
    if (is_macro(t)) { mode = t; continue; }
    if (is_delimiter(t)) { mode.clear(); continue; }
    if (mode == "Fl") flags.insert("-" + t);
    if (mode == "Ar") args.insert(t);
  }
}

Page parse_page(const std::string& text) {
  Page page;
  bool in_synopsis = false;
  Synopsis* current = nullptr;
  bool in_path = false;
  std::set<std::string> ignored_args;
  for (const auto& l : lines_of(text)) {
    static const std::regex planned(R"(^\.\\" cells-planned:(.*)$)");
    std::smatch m;
    if (std::regex_match(l, m, planned)) {
      std::istringstream in(m[1].str());
      for (std::string w; in >> w;) page.planned.insert(w);
      continue;
    }
    static const std::regex planned_option(R"(^\.\\" cells-planned-option: (.*\S)\s*$)");
    if (std::regex_match(l, m, planned_option)) {
      page.planned_options.insert(m[1].str());
      continue;
    }
    if (l.empty() || l[0] != '.') continue;
    scan_macros(l, page.all_flags, ignored_args);
    if (l.rfind(".Sh ", 0) == 0) { in_synopsis = l == ".Sh SYNOPSIS"; continue; }
    if (!in_synopsis) continue;
    if (l.rfind(".Nm", 0) == 0) {
      page.synopses.emplace_back();
      current = &page.synopses.back();
      in_path = true;
      continue;
    }
    if (current == nullptr) continue;
    if (in_path && l.rfind(".Cm ", 0) == 0) {
      std::istringstream in(l.substr(4));
      for (std::string w; in >> w;) current->path.push_back(w);
      continue;
    }
    in_path = false;
    scan_macros(l, current->flags, current->args);
  }
  return page;
}

// Every mismatch between the commands --help lists and the page, one line each.
std::vector<std::string> compare(const std::vector<Command>& commands, const Page& page) {
  std::vector<std::string> problems;
  std::set<std::string> listed;
  for (const auto& c : commands) listed.insert(join(c.path));
  std::set<std::string> top_level;
  for (const auto& c : commands) if (c.path.size() == 1) top_level.insert(c.path[0]);

  for (const auto& c : commands) {
    const std::string name = c.path.empty() ? "(global)" : join(c.path);
    // A group without options of its own (`cellmgr cell`) needs no line: its leaves have one.
    if (!c.subcommands.empty() && c.options.empty() && !c.path.empty()) continue;
    const Synopsis* s = nullptr;
    for (const auto& syn : page.synopses) if (syn.path == c.path) s = &syn;
    if (s == nullptr) { problems.push_back(name + ": no SYNOPSIS line"); continue; }
    std::set<std::string> known;
    for (const auto& o : c.options) {
      const std::string& primary = o.short_name.empty() ? o.long_name : o.short_name;
      known.insert(o.short_name);
      known.insert(o.long_name);
      if (!s->flags.contains(primary)) problems.push_back(name + ": SYNOPSIS lacks " + primary);
      if (!o.short_name.empty() && !o.long_name.empty() && !page.all_flags.contains(o.long_name)) {
        problems.push_back(name + ": page never mentions " + o.long_name + " (long form of " +
                           o.short_name + ")");
      }
    }
    for (const auto& f : s->flags) {
      if (!known.contains(f) && !page.planned_options.contains(join(c.path) + " " + f))
        problems.push_back(name + ": SYNOPSIS has " + f + ", --help does not");
    }
    for (const auto& p : c.positionals) {
      if (!s->args.contains(p)) problems.push_back(name + ": SYNOPSIS lacks positional Ar " + p);
    }
  }
  for (const auto& s : page.synopses) {
    if (listed.contains(join(s.path))) continue;
    if (!s.path.empty() && page.planned.contains(s.path[0]) && !top_level.contains(s.path[0])) continue;
    problems.push_back(join(s.path) + ": in SYNOPSIS but not in --help");
  }
  return problems;
}

std::string lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& l : v) out += l + "\n";
  return out;
}

class HelpVsMan : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(HelpVsMan, SynopsisMatchesHelp) {
  const auto& [binary, page_file] = GetParam();
  std::vector<Command> commands;
  collect(binary, {}, commands);
  ASSERT_GT(commands.size(), 3u);
  auto page = parse_page(slurp(std::string(CELLS_MAN_DIR) + "/" + page_file));
  EXPECT_EQ(lines(compare(commands, page)), "");
  for (const auto& p : page.planned) {
    bool landed = false;
    for (const auto& c : commands) landed |= c.path.size() == 1 && c.path[0] == p;
    if (landed) std::printf("note: %s is listed by --help now; drop it from cells-planned\n", p.c_str());
  }
}

INSTANTIATE_TEST_SUITE_P(Programs, HelpVsMan,
                         ::testing::Values(std::make_pair(std::string(CELLCTL_PATH), std::string("cellctl.8")),
                                           std::make_pair(std::string(CELLMGR_PATH), std::string("cellmgr.8"))),
                         [](const auto& info) { return info.index == 0 ? "cellctl" : "cellmgr"; });

// The comparison must be able to fail, in each direction.
TEST(HelpVsManCompare, ReportsEachKindOfMismatch) {
  std::vector<Command> commands = {
      {.path = {}, .options = {{"", "--root"}}, .subcommands = {"reset"}},
      {.path = {"reset"}, .options = {{"-y", "--yes"}, {"", "--cells"}}, .positionals = {"name"}},
  };
  const std::string good =
      ".Sh SYNOPSIS\n.Nm p\n.Op Fl -root Ar dir\n.Nm p\n.Cm reset\n.Op Fl y\n.Op Fl -cells\n.Ar name\n"
      ".Sh DESCRIPTION\n.It Fl y , Fl -yes\n";
  EXPECT_EQ(lines(compare(commands, parse_page(good))), "");

  std::string no_cells = good;
  no_cells.replace(no_cells.find(".Op Fl -cells\n"), 14, "");
  EXPECT_EQ(lines(compare(commands, parse_page(no_cells))), "reset: SYNOPSIS lacks --cells\n");

  std::string unknown_flag = good;
  unknown_flag.replace(unknown_flag.find(".Ar name"), 8, ".Op Fl -force\n.Ar name");
  EXPECT_EQ(lines(compare(commands, parse_page(unknown_flag))),
            "reset: SYNOPSIS has --force, --help does not\n");

  std::string no_long = good;
  no_long.replace(no_long.find(", Fl -yes"), 9, "");
  EXPECT_EQ(lines(compare(commands, parse_page(no_long))),
            "reset: page never mentions --yes (long form of -y)\n");

  std::string no_arg = good;
  no_arg.replace(no_arg.find(".Ar name\n"), 9, "");
  EXPECT_EQ(lines(compare(commands, parse_page(no_arg))), "reset: SYNOPSIS lacks positional Ar name\n");

  std::string stale = good;
  stale.replace(stale.find(".Sh DESCRIPTION"), 0, ".Nm p\n.Cm apply\n");
  EXPECT_EQ(lines(compare(commands, parse_page(stale))), "apply: in SYNOPSIS but not in --help\n");
  EXPECT_EQ(lines(compare(commands, parse_page(".\\\" cells-planned: apply\n" + stale))), "");

  std::string early = unknown_flag;
  EXPECT_EQ(lines(compare(commands, parse_page(".\\\" cells-planned-option: reset --force\n" + early))), "");

  commands.push_back({.path = {"apply"}, .options = {{"", "--dry-run"}}});
  EXPECT_EQ(lines(compare(commands, parse_page(".\\\" cells-planned: apply\n" + stale))),
            "apply: SYNOPSIS lacks --dry-run\n");
}

}  // namespace
}  // namespace cells::packaging_test
