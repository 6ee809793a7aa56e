#include "engine/apply.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>
#include <optional>

#include "base/files.h"
#include "engine/controlplane.h"
#include "engine/drift.h"
#include "engine/health.h"
#include "engine/plan.h"
#include "engine/plan_exec.h"
#include "engine/preimage.h"
#include "engine/recover.h"
#include "engine/rootwrite.h"
#include "engine/snapshot.h"
#include "engine/template.h"
#include "kernel/cell.h"
#include "kernel/cgroup.h"
#include "kernel/supervise.h"
#include "store/store.h"

namespace cells::engine {
namespace {

std::string step(const std::string& verb, const std::string& text) {
  std::string v = verb;
  v.resize(std::max<size_t>(v.size() + 1, 13), ' ');
  return "  " + v + text;
}

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

// Everything apply needs, loaded and checked before anything is touched.
struct Loaded {
  DesiredSet set;
  std::map<std::string, LoadedPlan> plans;  // cells with a .apply file
  store::DesiredState state;
};

Result<Loaded> load_all(const Paths& paths) {
  Loaded l;
  l.set = load_desired(paths.etc_dir());
  std::vector<std::string> problems = l.set.problems;
  for (const auto& c : l.set.cells) {
    if (!l.set.plan_cells.contains(c.name)) continue;
    const std::string file = apply_plan_path(paths, c.name);
    auto text = read_file(file);
    if (!text) {
      problems.push_back(text.error().message());
      continue;
    }
    auto plan = load_plan_text(file, *text, paths.etc_dir());
    l.set.texts.emplace(file, std::move(*text));
    if (!plan) {
      problems.push_back(plan.error().message());
      continue;
    }
    // Templates render now with the cell's real tokens (the cid is not known yet, but only
    // the token names matter), so an unknown token is refused before anything changes.
    auto tokens = plan_tokens(c.name, 0, c.profile);
    for (const auto& s : plan->plan.steps) {
      if (s.kind != StepKind::kTemplate || !tokens) continue;
      if (auto t = expand_template(file + ":" + std::to_string(s.line) + ": " + s.source,
                                   plan->assets[s.source], *tokens);
          !t) {
        problems.push_back(t.error().message());
      }
    }
    l.plans.emplace(c.name, std::move(*plan));
  }
  if (!problems.empty()) return problems_error("refusing to apply, nothing was changed", problems);
  l.state = to_store_state(l.set, paths.etc_dir());
  // A plan's identity includes its assets' bytes, so editing an asset is plan drift.
  for (auto& p : l.state.plans) {
    auto it = l.plans.find(p.cell);
    if (it == l.plans.end()) continue;
    for (const auto& [name, bytes] : it->second.assets)
      p.assets.push_back({name, store::sha256(bytes)});
  }
  return l;
}

// What one cell needs, from its drift.
struct CellPlan {
  const CellManifest* m = nullptr;
  CellDrift drift;
  bool create = false, apply = false, restart = false, warn_policy = false, skip = false;
  // Live: the plan only writes files and the service has a reload signal, so the files change
  // under the running service, which reloads; no stop, no snapshot (preimage.h).
  bool live = false;
  bool acts() const { return create || apply || restart; }
};

// A cell this operation changed, with what is needed to put it back.
struct Touched {
  std::string name;
  bool was_running = false;
  uint64_t old_generation = 0;
  std::optional<CellManifest> old_manifest;
  bool live = false;  // undone from its pre-image, not its snapshot
};

class Applier {
 public:
  Applier(const Paths& paths, const ApplyOptions& opts, const LifecycleConfig& cfg, Loaded loaded,
          store::Store& st, store::Operation& op, uint64_t gen)
      : paths_(paths), opts_(opts), cfg_(cfg), l_(std::move(loaded)), st_(st), op_(op), gen_(gen) {}

  // Acts on one cell; a failure is returned after the cell's own entries are journaled.
  Status act(const CellPlan& p) {
    if (p.live) return act_live(p);
    const CellManifest& m = *p.m;
    const std::string target = "cell/" + m.name;
    const auto layout = cell_root_layout(paths_, m.name);
    // BEFORE tells recovery what to restore: "<generation> running|stopped".
    CELLS_TRY(op_.append(
        {"apply.cell", target, store::Phase::kIntent,
         std::to_string(p.drift.applied_generation) + (p.drift.running ? " running" : " stopped"),
         std::to_string(gen_)}));
    touched_.push_back({m.name, p.drift.running, p.drift.applied_generation, p.drift.applied});
    auto failed = [&](Error e) -> Status {
      (void)op_.append({"apply.cell", target, store::Phase::kFailed, "", e.message()});
      return std::move(e).wrap("cell " + m.name);
    };
    // Step 1: the running cell stops; its layer is only snapshotted while nothing uses it.
    if (p.drift.running) {
      if (auto s = stop_cell_in(st_, op_, paths_, l_.set.conf, m.name); !s)
        return failed(s.error());
    }
    // Step 2: a leftover stack of the previous apply folds, then the snapshot (journaled apart:
    // recovery finishes an interrupted fold, but discards an interrupted snapshot).
    if (file_exists(layout.snapshot)) {
      CELLS_TRY(op_.append({"apply.fold", target, store::Phase::kIntent, "", ""}));
      if (auto s = snapshot::fold(layout); !s) return failed(s.error());
      CELLS_TRY(op_.append({"apply.fold", target, store::Phase::kDone, "", ""}));
    }
    CELLS_TRY(op_.append({"apply.snapshot", target, store::Phase::kIntent, "", ""}));
    if (auto s = snapshot::take(layout); !s) return failed(s.error());
    CELLS_TRY(op_.append({"apply.snapshot", target, store::Phase::kDone, "", ""}));
    // Step 3: the kernel cell without its service, so the plan runs before the service does.
    if (auto s = start_cell_in(st_, op_, paths_, l_.set, m, cfg_, /*with_service=*/false); !s) {
      return failed(s.error());
    }
    // Step 4: the plan, host-side writes confined to the root, EXEC/PKG inside the cell.
    if (p.apply) {
      auto root = open_running_root(paths_, m.name);
      if (!root) return failed(root.error());
      if (auto s = run_cell_plan(m, *root); !s) return failed(s.error());
    }
    // Step 5: the service, then its healthcheck.
    if (auto s = start_service_in(st_, op_, paths_, l_.set, m, cfg_); !s) return failed(s.error());
    if (m.healthcheck) {
      if (auto s = run_healthcheck(paths_, m.name, *m.healthcheck); !s) return failed(s.error());
    }
    // Step 6: success. The runtime record says which generation is applied.
    CELLS_TRY(record_generation(m.name, gen_));
    CELLS_TRY(op_.append({"apply.cell", target, store::Phase::kDone, "", std::to_string(gen_)}));
    return ok_status();
  }

  // A running cell whose plan only writes files, with a reload signal: the plan changes the
  // files under the running service and the service reloads. The undo is the pre-image,
  // durable before the first write, so a failure or a crash puts exactly those files back.
  Status act_live(const CellPlan& p) {
    const CellManifest& m = *p.m;
    const std::string target = "cell/" + m.name;
    const std::string pre_path = preimage_path(cell_root_layout(paths_, m.name));
    // Step 1: a record an earlier crash left once its cell was done belongs to no one now;
    // gone before this operation's intent, it can never be taken for this one's.
    CELLS_TRY(drop_preimage(pre_path));
    CELLS_TRY(
        op_.append({"apply.cell", target, store::Phase::kIntent,
                    std::to_string(p.drift.applied_generation) + " live", std::to_string(gen_)}));
    touched_.push_back({m.name, true, p.drift.applied_generation, p.drift.applied, /*live=*/true});
    auto failed = [&](Error e) -> Status {
      (void)op_.append({"apply.cell", target, store::Phase::kFailed, "", e.message()});
      return std::move(e).wrap("cell " + m.name);
    };
    // Step 2: the pre-image, on disk before anything is written.
    auto root = open_running_root(paths_, m.name);
    if (!root) return failed(root.error());
    auto images = capture_preimage(l_.plans.at(m.name).plan, *root);
    if (!images) return failed(images.error());
    const size_t n = images->size();
    if (auto s = save_preimage(pre_path, {op_.id(), std::move(*images)}); !s)
      return failed(s.error());
    CELLS_TRY(op_.append(
        {"apply.preimage", target, store::Phase::kDone, "", std::to_string(n) + " entries"}));
    // Step 3: the plan's writes, then the reload and the healthcheck of the reloaded service.
    if (auto s = run_cell_plan(m, *root); !s) return failed(s.error());
    if (auto s = kernel::reload_supervisor(paths_, m.name, std::chrono::seconds(10)); !s) {
      return failed(s.error().wrap("reload"));
    }
    if (m.healthcheck) {
      if (auto s = run_healthcheck(paths_, m.name, *m.healthcheck); !s) return failed(s.error());
    }
    // Step 4: success; the record goes after the cell's outcome (a crash between leaves a file
    // that step 1 of the next live apply drops).
    CELLS_TRY(record_generation(m.name, gen_));
    CELLS_TRY(op_.append({"apply.cell", target, store::Phase::kDone, "", std::to_string(gen_)}));
    CELLS_TRY(drop_preimage(pre_path));
    return ok_status();
  }

  // The cell's plan against its mounted ROOT: host-side writes confined to the root, EXEC and
  // PKG inside the cell.
  Status run_cell_plan(const CellManifest& m, CellRoot& root) {
    auto rec = CELLS_TRY(st_.runtime(m.name));
    auto tokens = CELLS_TRY(plan_tokens(m.name, rec ? rec->cid : 0, m.profile));
    CellPlanRunner runner(paths_, m.name, m.base.value_or(l_.set.conf.default_base));
    CELLS_TRY(run_plan(l_.plans.at(m.name), root, tokens, runner));
    return ok_status();
  }

  // Puts every touched cell back, newest first. Returns false if any could not be.
  bool roll_back() {
    bool all = true;
    for (auto it = touched_.rbegin(); it != touched_.rend(); ++it) {
      auto s = it->live ? roll_back_live_cell(paths_, st_, op_, l_.set, it->name, it->old_manifest,
                                              it->old_generation, op_.id(), cfg_)
                        : roll_back_cell(paths_, st_, op_, l_.set, it->name, it->was_running,
                                         it->old_manifest, it->old_generation, cfg_);
      if (s) {
        opts_.say(step("ROLLBACK",
                       it->name + " restored to generation " + std::to_string(it->old_generation)));
      } else {
        all = false;
        opts_.say(step("ROLLBACK", it->name + " FAILED: " + s.error().message()));
      }
    }
    return all;
  }

  Status record_generation(const std::string& name, uint64_t gen) {
    auto rec = CELLS_TRY(st_.runtime(name));
    if (!rec || rec->applied_generation == gen) return ok_status();
    rec->applied_generation = gen;
    return op_.put_runtime(*rec);
  }

  const Loaded& loaded() const { return l_; }

 private:
  const Paths& paths_;
  const ApplyOptions& opts_;
  const LifecycleConfig& cfg_;
  Loaded l_;
  store::Store& st_;
  store::Operation& op_;
  uint64_t gen_;
  std::vector<Touched> touched_;
};

// What each selected cell needs, in dependency order.
Result<std::vector<CellPlan>> plan_cells(const Paths& paths, const Loaded& l,
                                         const store::Store& st, const ApplyOptions& opts) {
  for (const auto& n : opts.names) {
    if (!l.set.find_cell(n)) {
      return Error::not_found("no cell manifest " + n + " (create it with cellmgr cell create)");
    }
  }
  auto order = CELLS_TRY(dependency_order(l.set.cells));
  auto rt = CELLS_TRY(kernel::Runtime::open(paths));
  // An apply of every cell reads the cgroup ids once (one directory read, not a stat per cell);
  // one of named cells looks up only theirs, so its cost stays flat in the number of cells.
  std::optional<std::map<std::string, uint64_t>> cgroup_ids;
  if (opts.names.empty()) {
    cgroup_ids = CELLS_TRY(kernel::CellCgroup::ids_under(paths.cgroup_parent()));
  }
  std::vector<CellPlan> out;
  for (const auto& name : order) {
    if (!opts.names.empty() &&
        std::find(opts.names.begin(), opts.names.end(), name) == opts.names.end())
      continue;
    CellPlan p;
    p.m = l.set.find_cell(name);
    std::optional<store::ApplyPlan> want;
    for (const auto& x : l.state.plans) {
      if (x.cell == name) want = x;
    }
    // The state's cells are sorted by name, as the set's are.
    auto text = std::lower_bound(
        l.state.cells.begin(), l.state.cells.end(), name,
        [](const store::CellManifest& c, const std::string& n) { return c.name < n; });
    const bool found = text != l.state.cells.end() && text->name == name;
    const std::string_view want_text = found ? std::string_view(text->manifest_text) : "";
    const std::string want_policy = policy_json(*p.m, p.m->base.value_or(l.set.conf.default_base),
                                                cell_root_layout(paths, name).root);
    p.drift = CELLS_TRY(cell_drift(rt, st, *p.m, want, want_text, want_policy,
                                   cgroup_ids ? &*cgroup_ids : nullptr));
    auto lp = l.plans.find(name);
    const bool has_steps = lp != l.plans.end() && !lp->second.plan.steps.empty();
    if (!p.drift.running) {
      p.skip = !p.m->autostart;
      p.create = !p.skip;
      p.apply = p.create && has_steps;
    } else {
      p.apply = has_steps && (p.drift.plan || opts.reapply);
      p.restart = p.apply || p.drift.service || (p.drift.policy && opts.restart_changed);
      // Only the files change (the service and the policy in force stay): reload, not restart.
      p.live = p.apply && p.m->reload_signal && !p.drift.service &&
               !(p.drift.policy && opts.restart_changed) && plan_is_live(lp->second.plan);
      if (p.live) p.restart = false;
      p.warn_policy = p.drift.policy && !opts.restart_changed;
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string yes_no(bool b) {
  return b ? "YES" : "NO";
}

}  // namespace

Result<ApplyOutcome> apply(const Paths& paths, const ApplyOptions& opts,
                           const LifecycleConfig& cfg) {
  // Step 0: an operation a crash interrupted is finished or compensated first.
  if (!opts.dry_run) CELLS_TRY(recover(paths, cfg, [](const std::string&) {}));
  // Step 1: everything is loaded and checked before anything changes.
  Loaded l = CELLS_TRY(load_all(paths));
  auto st = CELLS_TRY(store::Store::open(
      paths, opts.dry_run ? store::OpenMode::kReadOnly : store::OpenMode::kReadWrite));
  ApplyOutcome out;
  opts.say("apply: dry-run=" + yes_no(opts.dry_run) + " reapply=" + yes_no(opts.reapply) +
           " restart-changed=" + yes_no(opts.restart_changed) + " verbose=" + yes_no(opts.verbose));

  // What each cell needs, decided before the operation starts (a refusal changes nothing).
  auto plans = CELLS_TRY(plan_cells(paths, l, st, opts));
  std::optional<store::Operation> op;
  uint64_t gen = CELLS_TRY(st.current_generation());
  if (!opts.dry_run) {
    // Step 2: the operation, its intent, and a generation only when the desired state changed.
    op.emplace(CELLS_TRY(st.begin_operation(opts.kind, "cells")));
    // Read again under the lock: an edit may have committed a generation since.
    gen = CELLS_TRY(st.current_generation());
    CELLS_TRY(op->append({opts.kind, "cells", store::Phase::kIntent, std::to_string(gen), ""}));
    CELLS_TRY(write_file_atomic(inflight_path(paths), std::to_string(op->id()) + "\n", 0644));
    auto cur = CELLS_TRY(st.generation(gen));
    if (!cur || !(cur->desired == l.state)) {
      // CUR, read under this operation's lock, is what the new generation is written against.
      gen = CELLS_TRY(op->commit_generation(l.state, {}, cur ? &*cur : nullptr));
    }
    out.operation_id = op->id();
  }
  out.generation = gen;
  const std::string etc = paths.etc_dir();

  // Step 3: act per cell, in dependency order; the first failure stops and rolls back.
  std::optional<Applier> applier;
  if (op) applier.emplace(paths, opts, cfg, std::move(l), st, *op, gen);
  bool failed = false;
  for (const auto& p : plans) {
    ++out.cells;
    const CellManifest& m = *p.m;
    opts.say("cell " + m.name);
    if (opts.verbose) {
      for (const auto& f : p.drift.service_fields) opts.say(step("DRIFT", "service: " + f));
      if (p.drift.plan) opts.say(step("DRIFT", "plan"));
    }
    if (p.warn_policy) {
      std::string fields;
      for (const auto& f : p.drift.policy_fields) fields += (fields.empty() ? "" : ",") + f;
      opts.say(step("WARN", "policy drift pending (" + fields +
                                "): the cell keeps its old policy until apply --restart-changed"));
    }
    if (p.create) opts.say(step("CREATE", "render runtime cell state"));
    if (p.apply) opts.say(step("APPLY", "run " + apply_plan_path(paths, m.name)));
    if (p.create) opts.say(step("START", "supervised service after apply"));
    if (p.live)
      opts.say(step("RELOAD", "supervised service (" + *m.reload_signal + ") after apply"));
    if (p.restart) {
      std::string why = p.apply           ? "after apply"
                        : p.drift.service ? "service changed"
                                          : "policy changed";
      opts.say(step("RESTART", "supervised service " + why));
    }
    if (p.acts() && m.healthcheck) opts.say(step("HEALTHCHECK", m.healthcheck->command));
    if (!p.acts()) {
      opts.say(step("RESULT", p.warn_policy ? "pending" : "unchanged"));
      if (p.warn_policy && opts.dry_run) out.exit_code = 2;
      continue;
    }
    ++out.changed;
    if (opts.dry_run) {
      out.exit_code = 2;
      opts.say(step("RESULT", "changed"));
      continue;
    }
    opts.flush();
    if (auto s = applier->act(p); !s) {
      ++out.failed;
      failed = true;
      opts.say(step("ERROR", s.error().message()));
      opts.say(step("RESULT", "failed"));
      break;
    }
    opts.say(step("RESULT", "changed"));
  }

  // Step 4: the outcome. A failure compensates every touched cell unless --no-rollback.
  if (failed) {
    out.exit_code = 1;
    opts.flush();
    bool restored = !opts.no_rollback && applier->roll_back();
    CELLS_TRY(op->append({opts.kind, "cells",
                          restored ? store::Phase::kCompensated : store::Phase::kFailed, "",
                          opts.no_rollback ? "kept failed state (--no-rollback)" : ""}));
  } else if (op) {
    CELLS_TRY(op->append({opts.kind, "cells", store::Phase::kDone, "", std::to_string(gen)}));
  }
  if (op) CELLS_TRY(remove_tree(inflight_path(paths)));
  opts.say("");
  opts.say("summary: cells=" + std::to_string(out.cells) +
           " changed=" + std::to_string(out.changed) + " failed=" + std::to_string(out.failed) +
           " dry-run=" + yes_no(opts.dry_run));
  if (!opts.dry_run) {
    opts.say("operation " + std::to_string(out.operation_id) + " generation " +
             std::to_string(gen));
  }
  opts.flush();
  return out;
}

}  // namespace cells::engine
