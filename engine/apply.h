// `cellmgr apply`: reconcile the declared cells with what runs, transactionally (DESIGN
// section 8). One journaled operation "apply":
//   1. load and validate every manifest and plan (nothing is touched on any problem);
//   2. commit a new generation if the desired state changed;
//   3. per cell in dependency order: drift (drift.h), then CREATE / STOP+snapshot / APPLY /
//      START / RESTART / HEALTHCHECK; or, for a running cell with a reload signal whose plan
//      only writes files, live: pre-image (preimage.h) / APPLY / RELOAD / HEALTHCHECK;
//   4. on a failure, every cell this operation touched goes back to what it was: layer restored
//      (snapshot.h) or its pre-image's files put back and reloaded, previous manifest's service
//      and policy back in force, `compensated`.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/lifecycle.h"

namespace cells::engine {

struct ApplyOptions {
  std::vector<std::string> names;  // empty: every declared cell
  bool dry_run = false, reapply = false, restart_changed = false, no_rollback = false;
  bool verbose = false;
  std::string kind = "apply";  // journal kind ("rollback" for cellmgr rollback)
  std::function<void(const std::string&)> say = [](const std::string&) {};  // one output line
  // Lines said so far must reach the reader now: called before each slow step (acting on a
  // cell, rolling back) and at the end. SAY may buffer until then, so a no-op apply over 1,000
  // cells writes its 2,000 lines in a few writes instead of one each.
  std::function<void()> flush = [] {};
};

struct ApplyOutcome {
  int exit_code = 0;  // 0 converged, 1 failed (rolled back), 2 dry-run found drift
  size_t cells = 0, changed = 0, failed = 0;
  uint64_t operation_id = 0, generation = 0;
};

// Errors are for refusals before anything changed (invalid input, busy store); a failure
// while acting is an outcome with exit_code 1.
Result<ApplyOutcome> apply(const Paths& paths, const ApplyOptions& opts, const LifecycleConfig& cfg);

}  // namespace cells::engine
