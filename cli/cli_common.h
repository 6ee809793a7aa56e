// What both command-line programs share: the parsed-command context, the --root option's
// paths, and the one-line error convention "<program>: <message>" on stderr (exit status 1).
// Header-only so each program links it without another library in its (static) link line.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/paths.h"
#include "base/result.h"

namespace cells::cli {

// Commands register themselves on the CLI11 app and leave their action in run, which main()
// executes once parsing succeeded, so no command runs on a bad command line.
struct Context {
  std::string root;          // --root DIR (empty: $CELLS_ROOT, else /)
  std::function<int()> run;  // the chosen command's action; returns the exit status
};

inline int fail(std::string_view program, const std::string& message) {
  std::fflush(stdout);  // lines a command printed before failing come first in a shared log
  std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(),
               message.c_str());
  return 1;
}

// Parses the command line. Returns the exit status when parsing ends the program (--help: 0;
// a usage error: one line on stderr and 2, distinct from a failed command's 1), nullopt when
// the chosen command is to run.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv,
                                             std::string_view program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    fail(program, e.what());
    return 2;
  }
  return std::nullopt;
}

inline Result<Paths> paths_of(const Context& ctx) { return Paths::from_root(ctx.root); }

}  // namespace cells::cli
