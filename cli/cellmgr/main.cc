// cellmgr: wires the command groups onto one CLI11 app and runs the chosen command.
#include <CLI/CLI.hpp>

#include "cli/cellmgr/apply_cmd.h"
#include "cli/cellmgr/backup_cmd.h"
#include "cli/cellmgr/common.h"
#include "cli/cellmgr/journal_cmd.h"
#include "cli/cellmgr/cp_support.h"

int main(int argc, char** argv) {
  cells::cellmgr::Context ctx;
  CLI::App app{"cellmgr: manage cells (journaled, kernel-enforced service isolation)"};
  app.require_subcommand(1);
  app.add_option("--root", ctx.root, "install prefix holding etc/ and var/ (default /)")
      ->envname("CELLS_ROOT");

  cells::cellmgr::add_journal_commands(app, ctx);
  cells::cellmgr::add_system_commands(app, ctx);
  cells::cellmgr::add_cell_commands(app, ctx);
  cells::cellmgr::add_volume_commands(app, ctx);
  cells::cellmgr::add_backup_commands(app, ctx);  // under volume and cell
  cells::cellmgr::add_apply_commands(app, ctx);
  cells::cellmgr::add_history_commands(app, ctx);
  cells::cellmgr::add_recover_commands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    cells::cellmgr::fail(e.what());
    return 2;  // usage error, distinct from a failed command
  }
  return ctx.run ? ctx.run() : 0;
}
