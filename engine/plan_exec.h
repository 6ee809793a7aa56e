// Runs a loaded plan against a cell root. Host-side steps (FILE, DIR, LINE, SYMLINK, COPY,
// TEMPLATE, PATCH) write through CellRoot, so nothing the cell planted can redirect them; EXEC
// and PKG must run inside the cell, which only the caller can do, so they go to a PlanRunner.
#pragma once
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/plan.h"
#include "engine/rootwrite.h"
#include "engine/template.h"

namespace cells::engine {

class PlanRunner {
 public:
  virtual ~PlanRunner() = default;
  // Run COMMAND with /bin/sh -c inside the cell; a non-zero exit is an error.
  virtual Status exec(const std::string& command) = 0;
  // Install PACKAGES with the cell base's package manager (skipping ones already present).
  virtual Status pkg(const std::vector<std::string>& packages) = 0;
};

struct StepOutcome {
  int line = 0;
  StepKind kind = StepKind::kExec;
  std::string target;  // path, command or package list, for the apply output
  bool changed = false;
};

struct PlanReport {
  std::vector<StepOutcome> steps;
  size_t changed = 0;  // host-side steps that changed something, plus every EXEC/PKG run
};

// Renders every TEMPLATE first (an unknown token fails before anything is written), then runs
// the steps in order. Stops at the first failing step; the error names "<plan>:<line>".
// Steps that ran before it stay applied: the caller's pre-apply snapshot is the rollback.
Result<PlanReport> run_plan(const LoadedPlan& plan, CellRoot& root, const TokenMap& tokens,
                            PlanRunner& runner);

}  // namespace cells::engine
