// Glue between the control plane and backup/ (DESIGN section 11): what a backup of a volume or
// of a cell's overlay reads, which cells use that data (their cgroups are frozen while it is
// read, and a restore is refused while they run), and a restore that stops those cells first
// and starts them again afterwards (`--stop`). The archive format and the crash-safety protocol
// are backup/'s; this file only decides *what* and *who*.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "backup/backup.h"
#include "base/paths.h"
#include "base/result.h"
#include "engine/lifecycle.h"

namespace cells::engine {

// One thing that can be backed up: volume NAME (its data directory) or cell NAME's writable
// layer (engine/rootfs_build.h: <cells>/<name>/overlay).
struct BackupSubject {
  backup::Kind kind = backup::Kind::kVolume;
  std::string name;
  std::string data_dir;
  // Cells using the data right now (the cell itself for an overlay; for a volume every cell
  // whose manifest mounts it), with their cgroup v2 directories. Only running cells are listed.
  std::vector<std::string> cells;
  std::vector<std::string> cgroups;
};

// "volume" or "cell", as the user sees the kind.
std::string subject_noun(backup::Kind kind);

// Resolves NAME. A volume exists when it has a manifest or a data directory; a cell when it has
// a manifest or a cell directory. Errors: kInvalid (bad name), kNotFound ("no volume named X").
Result<BackupSubject> backup_subject(const Paths& paths, backup::Kind kind,
                                     const std::string& name);

// The desired-state generation the data belongs to now (0 when the root has no store yet).
uint64_t current_generation(const Paths& paths);

// Runs RESTORE with the subject's cells stopped: refused (kBusy, nothing changed) while any of
// them runs unless STOP; with STOP they are stopped, RESTORE runs, and they are started again
// whether or not it succeeded (the old data is intact on failure, so the cells come back as they
// were). An error of RESTORE wins over an error of the restart; both are in the message.
// While the cells are stopped, <lib>/restore.stopped names them and is flock'ed by this
// process, so a restore killed before it started them again is finished by recovery.
Status with_cells_stopped(const Paths& paths, const BackupSubject& subject, bool stop,
                          const LifecycleConfig& cfg, const std::function<Status()>& restore);

// "<lib>/restore.stopped"
std::string restore_stopped_path(const Paths& paths);

// Recovery (recover.h): starts the cells a killed `restore --stop` left stopped (those with a
// manifest; running ones are left alone), then removes the marker. A marker still locked by a
// live restore is left alone.
Status restart_cells_left_stopped(const Paths& paths, const LifecycleConfig& cfg);

}  // namespace cells::engine
