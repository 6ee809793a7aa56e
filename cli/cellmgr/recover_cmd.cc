// cellmgr recover: finishes or compensates an apply that a crash interrupted (engine/recover.h).
// apply runs the same recovery implicitly first.
#include <cstdio>

#include "cli/cellmgr/apply_cmd.h"
#include "cli/cellmgr/cp_support.h"
#include "engine/recover.h"

namespace cells::cellmgr {
namespace {

int run_recover(const Context& ctx) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  auto cfg = lifecycle_config();
  cfg.say = [](const std::string&) {};
  auto r = engine::recover(*paths, cfg, [](const std::string& l) { std::printf("%s\n", l.c_str()); });
  if (!r) return fail(r.error());
  if (r->empty()) std::printf("Nothing to recover\n");
  for (auto id : *r) std::printf("recovered operation %llu\n", (unsigned long long)id);
  return 0;
}

}  // namespace

Status recover_before_mutating(const Context& ctx) {
  Paths paths = CELLS_TRY(paths_of(ctx));
  auto cfg = lifecycle_config();
  cfg.say = [](const std::string&) {};
  auto r = engine::recover(paths, cfg, [](const std::string& l) { std::printf("%s\n", l.c_str()); });
  if (!r) return std::move(r).error().wrap("recover an interrupted operation first");
  for (auto id : *r) std::printf("recovered operation %llu\n", (unsigned long long)id);
  return ok_status();
}

void add_recover_commands(CLI::App& app, Context& ctx) {
  CLI::App* r = app.add_subcommand("recover", "finish or compensate an interrupted apply");
  r->callback([&ctx] { ctx.run = [&ctx] { return run_recover(ctx); }; });
}

}  // namespace cells::cellmgr
