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

// "volume" or "cell", as the user sees the kind; subject_label: "volume NAME", "cell NAME".
std::string subject_noun(backup::Kind kind);
std::string subject_label(backup::Kind kind, const std::string& name);

// Resolves NAME. A volume exists when it has a manifest or a data directory; a cell when it has
// a manifest or a cell directory. Errors: kInvalid (bad name), kNotFound ("no volume named X").
Result<BackupSubject> backup_subject(const Paths& paths, backup::Kind kind,
                                     const std::string& name);

// The archives of NAME (of every name when NAME is empty), newest first; none for a root
// without a store (a read never creates one). Errors: kInvalid (bad name), those of
// Backups::list.
Result<std::vector<backup::ArchiveInfo>> list_archives(const Paths& paths, backup::Kind kind,
                                                       const std::string& name);

// The archive's timestamp as lists show it: "20261122052123" -> "2026-11-22T05:21:23Z".
std::string archive_time(const backup::ArchiveName& name);

// FILE is a bare file name (never a path) of an archive of NAME. Errors: kInvalid naming both.
Status check_archive_file(backup::Kind kind, const std::string& name, const std::string& file);

// The archive of NAME called FILE, or with FILE empty the newest one. Errors: kNotFound ("no
// backups of volume x", "no archive F of volume x"), and those of Backups::list.
Result<backup::ArchiveInfo> find_archive(const backup::Backups& backups, backup::Kind kind,
                                         const std::string& name, const std::string& file);

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

// The refusal of with_cells_stopped without STOP, for callers that refuse before they change
// or ask anything: kBusy naming the running cells, ok when none runs.
Status check_not_in_use(const BackupSubject& subject);

// Replaces SUBJECT's data by ARCHIVE (a file name from find_archive, or an absolute path) under
// with_cells_stopped(STOP). OPTIONS.in_use_cgroups is set here: the subject's cells as they are
// once stopped. A cell that never started has no cell directory, but the restore stages beside
// its overlay: the directory is made first and removed again when the restore fails.
Result<backup::RestoreResult> restore_subject(const Paths& paths, const BackupSubject& subject,
                                              const std::string& archive, bool stop,
                                              const LifecycleConfig& cfg,
                                              backup::RestoreOptions options);

// "<lib>/restore.stopped"
std::string restore_stopped_path(const Paths& paths);

// Recovery (recover.h): starts the cells a killed `restore --stop` left stopped (those with a
// manifest; running ones are left alone), then removes the marker. A marker still locked by a
// live restore is left alone.
Status restart_cells_left_stopped(const Paths& paths, const LifecycleConfig& cfg);

}  // namespace cells::engine
