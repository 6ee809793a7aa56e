// Recovery of an apply (or rollback) that a crash interrupted (DESIGN section 8): every cell
// it had started to change goes back to its previous generation, exactly as a failed apply's
// rollback does; an interrupted fold of an earlier apply's layer stack is finished. Every
// mutating cellmgr command runs recover() first.
//
// An apply marks itself in flight in <lib>/apply.inflight (its operation id) from its intent to
// its outcome; the journal's open-operation index cannot tell, because the steps inside an
// apply (cell.stop done, ...) close and reopen it. recover() under the writer lock: a marker
// whose operation has no outcome belonged to a process that died.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/lifecycle.h"
#include "store/store.h"

namespace cells::engine {

// Puts cell NAME back as it was before an apply touched it: stopped, its layer snapshot
// discarded (the layer as it was), and started again with OLD_MANIFEST if WAS_RUNNING; the
// runtime record names OLD_GENERATION. Journals "apply.cell" compensated.
Status roll_back_cell(const Paths& paths, store::Store& st, store::Operation& op,
                      const DesiredSet& set, const std::string& name, bool was_running,
                      const std::optional<CellManifest>& old_manifest, uint64_t old_generation,
                      const LifecycleConfig& cfg);

// Puts a cell a live apply changed (apply.h, preimage.h) back: the files of its pre-image
// (when the record belongs to OPERATION: a crash before it was saved means nothing was
// written), then the service reloads them. A cell found not running (a reboot since) gets its
// root mounted for the restore and is started with OLD_MANIFEST. The runtime record names
// OLD_GENERATION. Journals "apply.cell" compensated.
Status roll_back_live_cell(const Paths& paths, store::Store& st, store::Operation& op,
                           const DesiredSet& set, const std::string& name,
                           const std::optional<CellManifest>& old_manifest,
                           uint64_t old_generation, uint64_t operation,
                           const LifecycleConfig& cfg);

// "<lib>/apply.inflight"
std::string inflight_path(const Paths& paths);

// Recovers an interrupted apply/rollback, then a killed backup or restore (partial archives,
// staging, frozen cells: backup/), then starts cells a killed `restore --stop` left stopped
// (engine/backups.h); returns the apply/rollback ids recovered. SAY gets one line per
// cell. Nothing to do (or no store yet) is an empty list.
Result<std::vector<uint64_t>> recover(const Paths& paths, const LifecycleConfig& cfg,
                                      const std::function<void(const std::string&)>& say);

}  // namespace cells::engine
