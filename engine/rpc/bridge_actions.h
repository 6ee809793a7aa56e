// The bridge's actions: the same engine calls the cellmgr commands make (cell start|stop|
// restart, apply, volume|cell backup create|restore|delete, cell shell), so an action from the
// bridge is journaled exactly like the CLI's. Mutating actions first recover an interrupted
// operation, as every mutating cellmgr command does (apply recovers itself). Every refusal
// (bad name, too many names, unknown archive) happens before anything changes.
#pragma once

#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/lifecycle.h"
#include "engine/rpc/types.h"

namespace cells::rpc {

enum class Verb { kStart, kStop, kRestart };

class BridgeActions {
 public:
  // CFG.cellctl is the cellctl binary of the bridge's host; CFG.say gets progress lines (the
  // server sends them to stderr: stdout carries only RPC).
  BridgeActions(Paths paths, engine::LifecycleConfig cfg)
      : paths_(std::move(paths)), cfg_(std::move(cfg)) {}

  // NAMES, or every declared cell (stop: every running cell) with ALL; exactly one of them.
  // Returns the cells started (start, restart) or stopped (stop).
  Result<std::vector<std::string>> lifecycle(Verb verb, const std::vector<std::string>& names,
                                             bool all);
  Result<ApplyResult> apply(const std::vector<std::string>& names, bool dry_run);
  Result<BackupMade> backup_create(BackupKind kind, const std::string& name);
  // FILE empty: the newest archive of NAME. WITH_MANIFEST: the subject's manifest (a cell's
  // .cell and .apply, a volume's .volume) is put back as it was at the archive's generation,
  // as one journaled desired-state edit ("backup.manifest") after the data is restored; it is
  // validated before the data is touched.
  Result<RestoreDone> backup_restore(BackupKind kind, const std::string& name,
                                     const std::string& file, bool stop, bool with_manifest);
  Status backup_delete(BackupKind kind, const std::string& name, const std::string& file);
  // `cellctl --root R exec NAME /bin/sh` for a running cell.
  Result<std::vector<std::string>> shell(const std::string& name);

 private:
  Status recover_first();

  Paths paths_;
  engine::LifecycleConfig cfg_;
};

}  // namespace cells::rpc
