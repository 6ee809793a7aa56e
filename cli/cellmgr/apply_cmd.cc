// cellmgr apply [NAME...] [--dry-run] [--reapply] [--restart-changed] [--no-rollback] [-v],
// cellmgr apply --boot (engine/boot.h) and cellmgr rollback [--to GEN] [--dry-run] (DESIGN
// section 8). Exit codes: 0 converged, 1 failed (after rollback) or refused, 2 --dry-run found
// drift or a usage error.
#include "cli/cellmgr/apply_cmd.h"

#include <cstdio>
#include <memory>
#include <set>

#include "base/files.h"
#include "cli/cellmgr/cp_support.h"
#include "engine/apply.h"
#include "engine/boot.h"
#include "engine/controlplane.h"

namespace cells::cellmgr {
namespace {

void say(const std::string& line) {
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

// Apply's step lines: buffered by stdio (a line at a time on a terminal anyway), and pushed out
// whenever the engine is about to act, so a pipe or log sees each cell's lines before its
// slow steps run.
void say_buffered(const std::string& line) { std::printf("%s\n", line.c_str()); }

int run_apply(const Context& ctx, engine::ApplyOptions o) {
  if (!o.dry_run) {
    if (auto s = require_root(); !s) return fail(s.error());
  }
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  o.say = say_buffered;
  o.flush = [] { std::fflush(stdout); };
  auto cfg = lifecycle_config();
  cfg.say = [](const std::string&) {};  // apply prints its own step lines
  auto r = engine::apply(*paths, o, cfg);
  if (!r) return fail(r.error());
  return r->exit_code;
}

// apply --boot: the cells back after a reboot, one line per cell.
int run_boot(const Context& ctx) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  auto cfg = lifecycle_config();
  cfg.say = [](const std::string&) {};  // boot prints one line per cell itself
  auto r = engine::boot(*paths, cfg, say);
  if (!r) return fail(r.error());
  return r->exit_code;
}

struct RollbackOptions {
  uint64_t to = 0;
  bool dry_run = false;
};

// The manifest directory as generation GEN had it: .cell, .volume and .apply files.
int run_rollback(const Context& ctx, const RollbackOptions& o) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  auto st = store::Store::open(*paths, store::OpenMode::kReadOnly);
  if (!st) return fail(st.error());
  auto cur = st->current_generation();
  if (!cur) return fail(cur.error());
  uint64_t to = o.to != 0 ? o.to : (*cur > 1 ? *cur - 1 : 0);
  if (to == 0) return fail("there is no earlier generation to roll back to");
  auto gen = st->generation(to);
  if (!gen) return fail(gen.error());
  if (!*gen) return fail("--to " + std::to_string(to) + ": no such generation (newest is " + std::to_string(*cur) + ")");

  std::vector<engine::FileChange> changes;
  std::set<std::string> keep;
  auto want = [&](const std::string& path, const std::string& text) {
    keep.insert(path);
    if (read_file(path).value_or("\x01") != text) changes.push_back({path, text});
  };
  for (const auto& c : (*gen)->desired.cells) want(engine::cell_manifest_path(*paths, c.name), c.manifest_text);
  for (const auto& v : (*gen)->desired.volumes) want(engine::volume_manifest_path(*paths, v.name), v.manifest_text);
  for (const auto& p : (*gen)->desired.plans) want(engine::apply_plan_path(*paths, p.cell), p.text);
  auto now = engine::load_desired(paths->etc_dir());
  for (const auto& c : now.cells) {
    for (const auto& f : {engine::cell_manifest_path(*paths, c.name), engine::apply_plan_path(*paths, c.name)}) {
      if (!keep.count(f) && read_file(f)) changes.push_back({f, std::nullopt});
    }
  }
  for (const auto& v : now.volumes) {
    auto f = engine::volume_manifest_path(*paths, v.name);
    if (!keep.count(f)) changes.push_back({f, std::nullopt});
  }
  std::printf("rollback: to generation %llu (newest %llu) dry-run=%s\n", (unsigned long long)to,
              (unsigned long long)*cur, o.dry_run ? "YES" : "NO");
  for (const auto& c : changes) std::printf("  %-12s %s\n", c.content ? "REWRITE" : "REMOVE", c.path.c_str());
  if (o.dry_run) return changes.empty() ? 0 : 2;
  if (!changes.empty()) {
    auto committed = engine::commit_desired_edit(*paths, "rollback.manifests", "generation/" + std::to_string(to), changes);
    if (!committed) return fail(committed.error());
  }
  engine::ApplyOptions ao;
  ao.kind = "rollback";
  ao.restart_changed = true;  // the earlier generation's policy is what rollback asks for
  return run_apply(ctx, ao);
}

}  // namespace

void add_apply_commands(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<engine::ApplyOptions>();
  CLI::App* a = app.add_subcommand("apply", "converge cells to the manifests (rolls back on failure)");
  a->add_option("names", o->names, "cells to apply (default: all)");
  a->add_flag("--dry-run", o->dry_run, "show what would change; exit 2 on drift");
  a->add_flag("--reapply", o->reapply, "run plans even when unchanged");
  a->add_flag("--restart-changed", o->restart_changed, "re-create cells with policy drift");
  a->add_flag("--no-rollback", o->no_rollback, "keep the failed state for debugging");
  a->add_flag("-v,--verbose", o->verbose, "show the drift of each cell");
  auto boot = std::make_shared<bool>(false);
  a->add_flag("--boot", *boot, "after a reboot: discard stale state, reload, start autostart cells");
  a->callback([&ctx, o, boot] {
    if (*boot) {
      // The boot replay acts on every cell as its autostart says, so apply's selections and
      // modes do not combine with it: a usage error (exit 2), checked before anything runs.
      // (Checked here rather than with CLI11's excludes, which would clutter every line of
      // --help that the completion and the man page test read.)
      const char* other = !o->names.empty() ? "cell names"
                          : o->dry_run      ? "--dry-run"
                          : o->reapply      ? "--reapply"
                          : o->restart_changed ? "--restart-changed"
                          : o->no_rollback  ? "--no-rollback"
                          : o->verbose      ? "--verbose"
                                            : nullptr;
      if (other != nullptr) throw CLI::ValidationError("--boot", std::string("takes no ") + other);
    }
    ctx.run = [&ctx, o, boot] { return *boot ? run_boot(ctx) : run_apply(ctx, *o); };
  });

  auto r = std::make_shared<RollbackOptions>();
  CLI::App* rb = app.add_subcommand("rollback", "rewrite the manifests from an earlier generation and apply them");
  rb->add_option("--to", r->to, "generation (default: the one before the newest)");
  rb->add_flag("--dry-run", r->dry_run, "show the files that would change");
  rb->callback([&ctx, r] { ctx.run = [&ctx, r] { return run_rollback(ctx, *r); }; });
}

}  // namespace cells::cellmgr
