// cellmgr: wires the command groups onto one CLI11 app and runs the chosen command.
#include <CLI/CLI.hpp>

#include "cli/cellmgr/apply_cmd.h"
#include "cli/cellmgr/backup_cmd.h"
#include "cli/cellmgr/common.h"
#include "cli/cellmgr/journal_cmd.h"
#include "cli/cellmgr/cp_support.h"
#include "cli/cellmgr/serve_cmd.h"

namespace {

// The chosen command as its chain of subcommand names, e.g. {"cell", "list"}.
std::vector<std::string> command_path(CLI::App& app) {
  std::vector<std::string> path;
  for (CLI::App* cur = &app; !cur->get_subcommands().empty();) {
    cur = cur->get_subcommands().front();
    path.push_back(cur->get_name());
  }
  return path;
}

// Commands that change nothing: they never take the writer lock, so they never run recovery
// (reads never block and never write). apply and rollback recover themselves (not in
// --dry-run), recover is recovery, and shell only enters a running cell.
bool needs_no_recovery(const std::vector<std::string>& p) {
  if (p.empty()) return true;
  const std::string& verb = p.back();
  if (p[0] == "journal" || p[0] == "history" || p[0] == "recover" || p[0] == "apply" ||
      p[0] == "rollback" || p[0] == "serve") {
    return true;
  }
  if (p[0] == "system") return verb == "status";
  return verb == "list" || verb == "show" || verb == "fields" || verb == "verify" ||
         verb == "shell";
}

}  // namespace

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
  cells::cellmgr::add_serve_commands(app, ctx);  // serve: its actions recover themselves

  if (auto done = cells::cli::parse_command_line(app, argc, argv, "cellmgr")) return *done;
  if (!ctx.run) return 0;
  if (!needs_no_recovery(command_path(app))) {
    if (auto s = cells::cellmgr::recover_before_mutating(ctx); !s) return cells::cellmgr::fail(s.error());
  }
  return ctx.run();
}
