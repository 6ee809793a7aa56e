// Commands run inside a running cell for apply (DESIGN sections 7-9): plan EXEC and PKG steps
// and the manifest's healthcheck, each through kernel::Runtime::spawn (same namespaces, cgroup
// and policy as the service) with a timeout after which the command is killed.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/manifest.h"
#include "engine/plan_exec.h"

namespace cells::engine {

struct CommandResult {
  int exit_status = -1;  // 128 + signal when killed
  bool timed_out = false;
  std::string output;  // stdout and stderr, at most 64 KiB
};

// Runs `/bin/sh -c COMMAND` in cell NAME as the cell's root. Errors only when it cannot be
// started (no such cell, spawn failed); a failing command is a result.
Result<CommandResult> run_in_cell(const Paths& paths, const std::string& name,
                                  const std::string& command, std::chrono::milliseconds timeout);

// The healthcheck of apply: up to max(1, retries) attempts, each with the manifest's timeout,
// PAUSE apart (apply uses a short pause rather than the supervisor's interval, so a failing
// apply rolls back promptly). Ok on the first success; else kFailed naming the last result.
Status run_healthcheck(const Paths& paths, const std::string& name, const Healthcheck& hc,
                       std::chrono::milliseconds pause = std::chrono::seconds(1));

// PlanRunner for apply: EXEC via run_in_cell; PKG with the base's package manager (apt-get for
// the debian base; the host base has none and refuses).
class CellPlanRunner : public PlanRunner {
 public:
  CellPlanRunner(Paths paths, std::string cell, std::string base,
                 std::chrono::milliseconds timeout = std::chrono::minutes(10))
      : paths_(std::move(paths)), cell_(std::move(cell)), base_(std::move(base)), timeout_(timeout) {}
  Status exec(const std::string& command) override;
  Status pkg(const std::vector<std::string>& packages) override;

 private:
  Paths paths_;
  std::string cell_, base_;
  std::chrono::milliseconds timeout_;
};

}  // namespace cells::engine
