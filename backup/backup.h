// cells::backup::Backups: archives of volumes and cell overlays (DESIGN section 11).
// README.md in this folder has the format and the crash-safety protocol step by step.
//
//   auto b = CELLS_TRY(backup::Backups::open(paths));
//   auto made = CELLS_TRY(b.create(Kind::kVolume, "data", "/var/lib/cellmgr/volumes/data",
//                                  {.freeze_cgroups = {paths.cgroup_parent() + "/web"}}));
//   CELLS_TRY(b.restore(Kind::kVolume, "data", made.record.file, target, {}));
//
// Every mutating call is one journaled operation under the store's writer lock, and first runs
// recover() so that leftovers of a killed earlier call are gone before it starts.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backup/archive_io.h"
#include "backup/freeze.h"
#include "backup/naming.h"
#include "backup/progress.h"
#include "base/paths.h"
#include "base/result.h"
#include "store/store.h"

namespace cells::backup {

struct CreateOptions {
  std::vector<std::string> freeze_cgroups;  // cgroup v2 directories of the cells using the data
  bool no_freeze = false;                   // read without freezing (not point-in-time)
  std::chrono::milliseconds freeze_timeout{10000};
  uint64_t source_generation = 0;  // the desired-state generation the data belongs to
  int level = 3;
  int threads = 0;  // zstd workers; 0 = one per CPU
  ProgressFn progress;
};

struct CreateResult {
  ArchiveRecord record;  // as journaled
  std::string path;
  std::chrono::nanoseconds freeze_time{0};
};

struct ArchiveInfo {
  ArchiveName name;
  Kind kind = Kind::kVolume;
  std::string path;
  uint64_t size = 0;
  std::optional<ArchiveRecord> record;  // nullopt: no backup.create record in the journal
};

struct RestoreOptions {
  bool allow_devices = false;
  // Restore an archive the journal does not know (copied in from elsewhere): no checksum and
  // no kind check, every entry check still applies.
  bool allow_unrecorded = false;
  // Upper bound on the file data the archive may expand to; the free space of the target's
  // filesystem is always a bound too (0 = only that).
  uint64_t max_bytes = 0;
  // Cells that use the target: restore is refused while any of them has processes.
  std::vector<std::string> in_use_cgroups;
  ProgressFn progress;
  // Remove the replaced tree in a detached process instead of before returning: the swap is
  // done and durable either way; the old tree waits in <lib>/backup-trash/<op id> (same
  // filesystem, else it is removed here) and recover() removes whatever a crash left there.
  bool background_cleanup = false;
  // Write members with libarchive's archive_write_disk instead of StagingWriter (as before
  // it); for bench/backup's before/after in one run, not for callers.
  bool libarchive_writer = false;
};

struct RestoreResult {
  uint64_t entries = 0;
  uint64_t data_bytes = 0;
  std::string archive_path;
  // Where the time went (wall clock): extraction with the checksum, the syncfs that makes the
  // new tree durable, the swap with its directory fsync, and removing the old tree.
  struct Spans {
    std::chrono::nanoseconds extract{0}, sync{0}, swap{0}, cleanup{0};
  } spans;
};

struct RecoveryReport {
  std::vector<std::string> removed;   // partial archives and staging directories deleted
  std::vector<std::string> recorded;  // complete archives whose done record was missing
  std::vector<uint64_t> closed;       // killed operations given their outcome (by their id)
};

class Backups {
 public:
  // Opens (creating if needed) the store of PATHS. Errors: as store::Store::open.
  static Result<Backups> open(const Paths& paths);

  // Archives SOURCE_DIR as the next backup of NAME. Errors: kInvalid (bad name), kNotFound
  // (no source; a cgroup to freeze is missing), kBusy (another operation; a cell did not
  // freeze), kSystem (e.g. ENOSPC). On error no archive is left and the cells are thawed.
  Result<CreateResult> create(Kind kind, const std::string& name, const std::string& source_dir,
                              const CreateOptions& options);

  // Archives of KIND (of NAME, or all when NAME is empty), newest first. *.partial files are
  // never listed.
  Result<std::vector<ArchiveInfo>> list(Kind kind, const std::string& name) const;

  // Recomputes the SHA-256 of ARCHIVE (a file name from list(), or an absolute path) and reads
  // every entry. Errors: kNotFound (no file, no journal record), kInvalid (wrong kind),
  // kCorrupt (checksum or stream damage, naming what).
  Result<ArchiveRecord> verify(Kind kind, const std::string& archive) const;

  // Replaces TARGET_DIR's content by ARCHIVE's: extract into TARGET_DIR.restore-<op>, check,
  // swap with renameat2(RENAME_EXCHANGE), delete the old content. TARGET_DIR need not exist
  // (its parent must). Errors: kInvalid (refused entry, size limit, wrong kind), kNotFound,
  // kCorrupt (checksum), kBusy (target in use), kSystem. On error TARGET_DIR is untouched.
  Result<RestoreResult> restore(Kind kind, const std::string& name, const std::string& archive,
                                const std::string& target_dir, const RestoreOptions& options);

  // Deletes one archive; prune keeps the KEEP newest of NAME and deletes the rest (returns the
  // deleted file names). Errors: kNotFound, kInvalid, kBusy.
  Status remove(Kind kind, const std::string& archive);
  Result<std::vector<std::string>> prune(Kind kind, const std::string& name, size_t keep);

  // Cleans up after killed operations: deletes partial archives and restore staging
  // directories, records complete-but-unrecorded archives, and closes each killed operation
  // with its outcome (done for a create whose archive it recorded, else failed), so it is
  // handled once. Errors: kBusy while another operation runs.
  Result<RecoveryReport> recover();

 private:
  Backups(Paths paths, store::Store store) : paths_(std::move(paths)), store_(std::move(store)) {}

  struct Resolved {
    std::string path;
    std::string file;
    std::optional<ArchiveRecord> record;
  };
  Result<Resolved> resolve(Kind kind, const std::string& archive) const;
  Result<std::optional<ArchiveRecord>> find_record(const std::string& file) const;
  Result<RecoveryReport> recover_locked(store::Operation& op);
  // Where restores leave replaced trees for their background removal.
  std::string trash_dir() const;
  // DIR renamed into the trash as <op_id>, or nullopt when that cannot be done.
  std::optional<std::string> move_to_trash(const std::string& dir, uint64_t op_id);
  void remove_in_background(const std::string& trashed);

  Paths paths_;
  store::Store store_;
};

}  // namespace cells::backup
