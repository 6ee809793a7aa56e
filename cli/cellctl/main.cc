// cellctl: the low-level, kernel-facing runtime adapter. main() only wires the commands (one
// *_cmd.cc each) onto one CLI11 app and runs the chosen one.
#include <CLI/CLI.hpp>

#include "cli/cellctl/common.h"

int main(int argc, char** argv) {
  cells::cellctl::Context ctx;
  CLI::App app{"cellctl: create, enter, list and destroy cells"};
  app.require_subcommand(1);
  app.add_option("--root", ctx.root, "install prefix holding etc/, var/ and run/ (default /)")
      ->envname("CELLS_ROOT");

  cells::cellctl::add_create_command(app, ctx);
  cells::cellctl::add_exec_command(app, ctx);
  cells::cellctl::add_destroy_command(app, ctx);
  cells::cellctl::add_list_command(app, ctx);
  cells::cellctl::add_supervise_command(app, ctx);
  cells::cellctl::add_stats_command(app, ctx);

  if (auto done = cells::cli::parse_command_line(app, argc, argv, "cellctl")) return *done;
  return ctx.run ? ctx.run() : 0;
}
