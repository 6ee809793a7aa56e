// cellmgr cell list|show|fields|start|stop|restart|shell.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli/cellmgr/cp_support.h"
#include "engine/controlplane.h"
#include "engine/lifecycle.h"

namespace cells::cellmgr {
namespace {

struct RunOptions {
  std::string name;
  bool all = false;
  std::string scope = "runtime";
};

Result<std::vector<std::string>> targets(const Paths& paths, const RunOptions& o, bool running_only) {
  if (o.all == !o.name.empty()) return Error::invalid("give exactly one of <name> or --all");
  if (!o.all) return std::vector<std::string>{o.name};
  if (running_only) return engine::running_cells(paths);
  std::vector<std::string> out;
  for (const auto& c : engine::load_desired(paths.etc_dir()).cells) out.push_back(c.name);
  return out;
}

// --scope both: the manifest's autostart follows the command.
Status set_autostart(const Paths& paths, const std::vector<std::string>& names, bool on) {
  std::vector<engine::FileChange> changes;
  for (const auto& n : names) {
    auto m = CELLS_TRY(engine::load_cell(engine::cell_manifest_path(paths, n)));
    if (m.autostart == on) continue;
    m.autostart = on;
    changes.push_back({engine::cell_manifest_path(paths, n), engine::render_cell(m)});
  }
  if (changes.empty()) return ok_status();
  CELLS_TRY(engine::commit_desired_edit(paths, "cell.autostart", names.size() == 1 ? "cell/" + names[0] : "cell/*",
                                        changes));
  return ok_status();
}

enum class Verb { kStart, kStop, kRestart };

int run_lifecycle(const Context& ctx, const RunOptions& o, Verb verb) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  if (o.scope != "runtime" && o.scope != "both") {
    return fail("--scope '" + o.scope + "' is not one of runtime, both");
  }
  auto names = targets(*paths, o, verb == Verb::kStop);
  if (!names) return fail(names.error());
  auto cfg = lifecycle_config();
  if (o.scope == "both" && verb != Verb::kRestart) {
    if (auto s = set_autostart(*paths, *names, verb == Verb::kStart); !s) return fail(s.error());
  }
  if (verb != Verb::kStart) {
    if (auto s = engine::stop_cells(*paths, *names, cfg); !s) return fail(s.error());
  }
  if (verb != Verb::kStop) {
    if (auto s = engine::start_cells(*paths, *names, cfg); !s) return fail(s.error());
  }
  return 0;
}

int run_shell(const Context& ctx, const std::string& name, std::vector<std::string> command) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  if (!engine::cell_running(*paths, name)) {
    return fail("cell " + name + " is not running (start it with cellmgr cell start " + name + ")");
  }
  // cellctl exec semantics, terminal and all: this process becomes cellctl.
  std::vector<std::string> argv = {cellctl_path(), "--root", paths->root, "exec", name};
  if (command.empty()) command = {"/bin/sh"};
  argv.insert(argv.end(), command.begin(), command.end());
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::fflush(nullptr);
  ::execvp(args[0], args.data());
  return fail(Error::sys(errno, "exec " + argv[0]));
}

}  // namespace

void add_cell_run_commands(CLI::App* cell, Context& ctx) {
  for (auto [verb_name, verb] : {std::pair{"start", Verb::kStart}, std::pair{"stop", Verb::kStop},
                                 std::pair{"restart", Verb::kRestart}}) {
    auto o = std::make_shared<RunOptions>();
    CLI::App* sub = cell->add_subcommand(verb_name, std::string(verb_name) + " a cell (dependencies first)");
    sub->add_option("name", o->name, "cell name");
    sub->add_flag("--all", o->all, "every declared cell (stop: every running cell)");
    sub->add_option("--scope", o->scope, "runtime (default) or both (also sets autostart)");
    Verb v = verb;
    sub->callback([&ctx, o, v] { ctx.run = [&ctx, o, v] { return run_lifecycle(ctx, *o, v); }; });
  }

  auto sh_name = std::make_shared<std::string>();
  auto sh_cmd = std::make_shared<std::vector<std::string>>();
  CLI::App* shell = cell->add_subcommand("shell", "run a shell (or COMMAND) in a running cell");
  shell->add_option("name", *sh_name, "cell name")->required();
  // Everything after the name is the command, its options included.
  shell->prefix_command();
  shell->callback([&ctx, sh_name, sh_cmd, shell] {
    *sh_cmd = shell->remaining();
    ctx.run = [&ctx, sh_name, sh_cmd] { return run_shell(ctx, *sh_name, *sh_cmd); };
  });

  auto lo = std::make_shared<ReadOptions>();
  CLI::App* list = cell->add_subcommand("list", "list cells");
  add_read_options(list, *lo);
  list->callback([&ctx, lo] {
    ctx.run = [&ctx, lo] {
      return run_read(ctx, ReadKind::kCells, *lo, std::nullopt, engine::View::kCompact);
    };
  });

  auto so = std::make_shared<ReadOptions>();
  auto sname = std::make_shared<std::string>();
  CLI::App* show = cell->add_subcommand("show", "show one cell");
  show->add_option("name", *sname, "cell name")->required();
  add_read_options(show, *so);
  show->callback([&ctx, so, sname] {
    ctx.run = [&ctx, so, sname] {
      return run_read(ctx, ReadKind::kCells, *so, *sname, engine::View::kMerged);
    };
  });

  auto fo = std::make_shared<ReadOptions>();
  CLI::App* fields = cell->add_subcommand("fields", "list the cell fields of a view");
  add_read_options(fields, *fo, false);
  fields->callback([fo, &ctx] { ctx.run = [fo] { return run_fields(ReadKind::kCells, *fo); }; });
}

}  // namespace cells::cellmgr
