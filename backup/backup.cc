#include "backup/backup.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "backup/tree_remove.h"
#include "base/files.h"
#include "base/syscall.h"

namespace cells::backup {
namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string parent_of(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

Status unlink_durably(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "unlink " + path);
  return fsync_parent_dir(path);
}

// A JSON object (a list of pairs would otherwise become an array of arrays).
std::string json_text(std::initializer_list<std::pair<const std::string, nlohmann::json>> kv) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : kv) j[k] = v;
  return j.dump();
}

// Estimate of the file data below DIR, for the progress total (best effort: 0 on error).
// Allocated size caps the logical one, so sparse holes (never read) do not count, and each
// hard-linked inode counts once, as it is archived once.
uint64_t tree_bytes(const std::string& dir) {
  static thread_local uint64_t total;
  static thread_local std::set<std::pair<dev_t, ino_t>>* linked;
  std::set<std::pair<dev_t, ino_t>> seen;
  total = 0;
  linked = &seen;
  auto add = [](const char*, const struct stat* st, int type, struct FTW*) {
    if (type != FTW_F || !S_ISREG(st->st_mode)) return 0;
    if (st->st_nlink > 1 && !linked->insert({st->st_dev, st->st_ino}).second) return 0;
    total += std::min<uint64_t>(static_cast<uint64_t>(st->st_size),
                                static_cast<uint64_t>(st->st_blocks) * 512);
    return 0;
  };
  if (::nftw(dir.c_str(), add, 64, FTW_PHYS | FTW_MOUNT) != 0) return 0;
  return total;
}

// Appends the failed outcome of OP; the caller's error ERR is what is returned either way.
Error fail(store::Operation& op, const std::string& kind, const std::string& target, Error err) {
  (void)op.append({kind, target, store::Phase::kFailed, "", json_text({{"error", err.message()}})});
  return err;
}

}  // namespace

Result<Backups> Backups::open(const Paths& paths) {
  auto store =
      CELLS_TRY_CTX(store::Store::open(paths, store::OpenMode::kReadWrite), "open backups");
  return Backups(paths, std::move(store));
}

Result<std::optional<ArchiveRecord>> Backups::find_record(const std::string& file) const {
  auto entries = CELLS_TRY(store_.list_journal({.kind = "backup.create"}));
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->kind != "backup.create" || it->phase != store::Phase::kDone) continue;
    auto rec = decode_record(it->after);
    if (rec && rec->file == file) return std::optional<ArchiveRecord>(*rec);
  }
  return std::optional<ArchiveRecord>();
}

Result<Backups::Resolved> Backups::resolve(Kind kind, const std::string& archive) const {
  Resolved r;
  if (archive.find('/') != std::string::npos) {
    if (archive[0] != '/') return Error::invalid("archive path '" + archive + "' is not absolute");
    r.path = archive;
    r.file = archive.substr(archive.rfind('/') + 1);
    if (!exists(r.path)) return Error(ErrorKind::kNotFound, "no archive " + r.path, ENOENT);
  } else {
    if (!parse_archive_file(archive)) {
      return Error::invalid("'" + archive + "' is not an archive name (expected " +
                            "<name>_YYYYmmddHHMMSS.tar.zst)");
    }
    r.file = archive;
    r.path = kind_dir(paths_, kind) + "/" + archive;
    if (!exists(r.path)) {
      Kind other = kind == Kind::kVolume ? Kind::kOverlay : Kind::kVolume;
      if (exists(kind_dir(paths_, other) + "/" + archive)) {
        return Error::invalid("archive " + archive + " is an " + std::string(to_string(other)) +
                              " backup, not a " + std::string(to_string(kind)) + " backup");
      }
      return Error(ErrorKind::kNotFound,
                   "no " + std::string(to_string(kind)) + " archive " + archive, ENOENT);
    }
  }
  r.record = CELLS_TRY(find_record(r.file));
  if (r.record && r.record->kind != kind) {
    return Error::invalid("archive " + r.file + " is " +
                          (r.record->kind == Kind::kVolume ? "a volume" : "an overlay") +
                          " backup, not " + (kind == Kind::kVolume ? "a volume" : "an overlay") +
                          " backup");
  }
  return r;
}

Result<CreateResult> Backups::create(Kind kind, const std::string& name,
                                     const std::string& source_dir, const CreateOptions& options) {
  // Checks that change nothing come first, so bad input leaves no journal entry behind.
  CELLS_TRY_CTX(validate_name(name), "backup");
  struct stat st {};
  if (::stat(source_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(ErrorKind::kNotFound, "backup " + name + ": no source directory " + source_dir,
                 ENOENT);
  }
  CELLS_TRY(recover());

  std::string target = journal_target(kind, name);
  auto op = CELLS_TRY(store_.begin_operation("backup.create", target));
  std::string dir = kind_dir(paths_, kind);
  CELLS_TRY(make_dirs(dir, 0700));

  // Step 1: pick the name. The writer lock makes "lowest free suffix" race-free.
  time_t now = ::time(nullptr);
  ArchiveName an = make_archive_name(name, now, 0);
  while (exists(dir + "/" + an.file())) ++an.seq;
  std::string final_path = dir + "/" + an.file();
  std::string partial = final_path + std::string(kPartialSuffix);

  // Step 2: the intent names the file, so recovery knows which partial file is whose, and the
  // cgroups about to be frozen, so recovery thaws them if this process is killed meanwhile.
  ArchiveRecord rec{kind, name, an.file(), 0, "", options.source_generation, 0, 0};
  std::string to_freeze;
  if (!options.no_freeze) {
    for (const auto& cg : options.freeze_cgroups) to_freeze += cg + "\n";
  }
  CELLS_TRY(op.append({"backup.create", target, store::Phase::kIntent, to_freeze, encode_record(rec)}));

  auto attempt = [&]() -> Result<CreateResult> {
    // Step 3: the partial file; O_EXCL because a leftover would have been removed by recover().
    Fd fd = CELLS_SYSCALL_FD(::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600),
                             "create " + partial);
    WriteOptions wo;
    wo.level = options.level;
    wo.threads = options.threads;
    wo.progress = options.progress;
    if (options.progress) wo.progress_total = tree_bytes(source_dir);

    // Step 4: freeze the cells, read the tree, thaw as soon as the last byte was read (the
    // freeze object thaws on every error path too).
    std::optional<CgroupFreeze> frozen;
    if (!options.no_freeze && !options.freeze_cgroups.empty()) {
      frozen.emplace(
          CELLS_TRY(CgroupFreeze::freeze(options.freeze_cgroups, options.freeze_timeout)));
    }
    wo.on_source_read = [&] {
      if (frozen) frozen->thaw();
    };
    // The archive's path in the error: a full or read-only backup disk must be findable.
    WriteStats ws =
        CELLS_TRY_CTX(write_tree(source_dir, fd.get(), wo), "backup " + name + " to " + final_path);
    if (frozen) frozen->thaw();

    // Step 5: durable before visible: fsync the data, then rename, then fsync the directory.
    CELLS_SYSCALL(::fsync(fd.get()), "fsync " + partial);
    fd.reset();
    CELLS_SYSCALL(
        ::renameat2(AT_FDCWD, partial.c_str(), AT_FDCWD, final_path.c_str(), RENAME_NOREPLACE),
        "rename " + partial);
    CELLS_TRY(fsync_parent_dir(final_path));

    CreateResult out;
    out.path = final_path;
    out.freeze_time = frozen ? frozen->frozen_for() : std::chrono::nanoseconds(0);
    out.record = rec;
    out.record.size = ws.compressed_bytes;
    out.record.sha256 = ws.sha256;
    out.record.freeze_ns = out.freeze_time.count();
    out.record.entries = ws.entries;
    return out;
  };
  auto made = attempt();
  if (!made) {
    // Nothing that looks complete may stay: drop the partial file (the final name was never
    // created, since the rename is the last step that can fail before the record).
    (void)unlink_durably(partial);
    return fail(op, "backup.create", target, std::move(made).error());
  }
  // Step 6: the record. A crash before it leaves a complete archive that recover() records.
  CELLS_TRY(
      op.append({"backup.create", target, store::Phase::kDone, "", encode_record(made->record)}));
  return made;
}

Result<std::vector<ArchiveInfo>> Backups::list(Kind kind, const std::string& name) const {
  if (!name.empty()) CELLS_TRY_CTX(validate_name(name), "list backups");
  std::vector<ArchiveInfo> out;
  std::string dir = kind_dir(paths_, kind);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return Error::sys(errno, "open " + dir);
  }
  std::vector<ArchiveName> names;
  while (struct dirent* de = ::readdir(d)) {
    auto an = parse_archive_file(de->d_name);
    if (an && (name.empty() || an->name == name)) names.push_back(*an);
  }
  ::closedir(d);
  if (names.empty()) return out;

  std::map<std::string, ArchiveRecord> records;
  auto entries = CELLS_TRY(store_.list_journal({.kind = "backup.create"}));
  for (const auto& e : entries) {
    if (e.kind != "backup.create" || e.phase != store::Phase::kDone) continue;
    if (auto rec = decode_record(e.after); rec && rec->kind == kind) records[rec->file] = *rec;
  }
  for (const auto& an : names) {
    ArchiveInfo info{an, kind, dir + "/" + an.file(), 0, std::nullopt};
    struct stat st {};
    if (::stat(info.path.c_str(), &st) == 0) info.size = static_cast<uint64_t>(st.st_size);
    if (auto it = records.find(an.file()); it != records.end()) info.record = it->second;
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(),
            [](const ArchiveInfo& a, const ArchiveInfo& b) { return a.name.newer_than(b.name); });
  return out;
}

Result<ArchiveRecord> Backups::verify(Kind kind, const std::string& archive) const {
  Resolved r = CELLS_TRY_CTX(resolve(kind, archive), "verify");
  if (!r.record) {
    return Error(ErrorKind::kNotFound, "verify: no journal record for archive " + r.file);
  }
  ReadOptions ro;
  ro.policy.allow_absolute_symlinks = kind == Kind::kOverlay;
  ro.policy.allow_devices = true;  // verify reads; whether to write them is restore's call
  ReadStats rs = CELLS_TRY_CTX(scan_archive(r.path, ro), "verify");
  if (rs.sha256 != r.record->sha256 || rs.compressed_bytes != r.record->size) {
    return Error(ErrorKind::kCorrupt, "verify: archive " + r.file +
                                          " was modified after it was recorded (sha256 " +
                                          rs.sha256 + ", journal says " + r.record->sha256 + ")");
  }
  return *r.record;
}

Result<RestoreResult> Backups::restore(Kind kind, const std::string& name,
                                       const std::string& archive, const std::string& target_dir,
                                       const RestoreOptions& options) {
  // Checks that change nothing.
  CELLS_TRY_CTX(validate_name(name), "restore");
  if (target_dir.empty() || target_dir[0] != '/' || target_dir.back() == '/') {
    return Error::invalid("restore: target '" + target_dir + "' is not an absolute path");
  }
  Resolved r = CELLS_TRY_CTX(resolve(kind, archive), "restore");
  if (!r.record && !options.allow_unrecorded) {
    return Error(ErrorKind::kNotFound, "restore: no journal record for archive " + r.file +
                                           " (allow unrecorded archives to restore it anyway)");
  }
  std::string parent = parent_of(target_dir);
  struct stat st {};
  if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(ErrorKind::kNotFound, "restore: no directory " + parent, ENOENT);
  }
  bool target_exists = ::lstat(target_dir.c_str(), &st) == 0;
  if (target_exists && !S_ISDIR(st.st_mode)) {
    return Error::invalid("restore: target " + target_dir + " is not a directory");
  }
  for (const std::string& cg : options.in_use_cgroups) {
    if (CELLS_TRY_CTX(cgroup_event(cg, "populated"), "restore") != 0) {
      return Error(ErrorKind::kBusy,
                   "restore: " + target_dir + " is in use by " + cg + " (stop the cell first)");
    }
  }
  CELLS_TRY(recover());

  std::string target = journal_target(kind, name);
  auto op = CELLS_TRY(store_.begin_operation("backup.restore", target));
  // Step 1: the intent names the staging directory before it exists, so recovery can remove
  // it whatever the moment of a crash.
  std::string staging = target_dir + ".restore-" + std::to_string(op.id());
  CELLS_TRY(
      op.append({"backup.restore", target, store::Phase::kIntent, "",
                 json_text({{"archive", r.path}, {"staging", staging}, {"target", target_dir}})}));

  using Clock = std::chrono::steady_clock;
  RestoreResult::Spans spans;
  auto attempt = [&]() -> Result<RestoreResult> {
    auto t0 = Clock::now();
    // Step 2: a fresh staging directory beside the target (same filesystem, so the swap is
    // one rename).
    CELLS_SYSCALL(::mkdir(staging.c_str(), 0700), "mkdir " + staging);
    struct statvfs vfs {};
    CELLS_SYSCALL(::statvfs(staging.c_str(), &vfs), "statvfs " + staging);
    uint64_t free_bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;

    // Step 3: extract, every entry checked, bounded by free space (decompression bombs).
    ReadOptions ro;
    ro.policy.allow_devices = options.allow_devices;
    ro.policy.allow_absolute_symlinks = kind == Kind::kOverlay;
    ro.max_bytes = options.max_bytes > 0 ? std::min(options.max_bytes, free_bytes) : free_bytes;
    ro.progress = options.progress;
    ro.progress_total = r.record ? r.record->size : 0;
    // The syncfs of step 5 would otherwise write the whole tree after extraction ends; started
    // per file, the disk writes while later members are still being decompressed.
    ro.early_writeback = true;
    ro.libarchive_writer = options.libarchive_writer;
    ReadStats rs = CELLS_TRY_CTX(extract_archive(r.path, staging, ro), "restore");

    // Step 4: the checksum covers the file as recorded; a mismatch means it changed since.
    if (r.record && (rs.sha256 != r.record->sha256 || rs.compressed_bytes != r.record->size)) {
      return Error(ErrorKind::kCorrupt, "restore: archive " + r.file +
                                            " was modified after it was recorded (sha256 " +
                                            rs.sha256 + ", journal says " + r.record->sha256 + ")");
    }
    auto t1 = Clock::now();
    spans.extract = t1 - t0;
    // Step 5: the new tree is on disk before any name points at it.
    {
      Fd sfd = CELLS_SYSCALL_FD(::open(staging.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC),
                                "open " + staging);
      CELLS_SYSCALL(::syncfs(sfd.get()), "syncfs " + staging);
    }
    auto t2 = Clock::now();
    spans.sync = t2 - t1;
    // Step 6: swap. After RENAME_EXCHANGE the staging name holds the old content.
    if (target_exists) {
      CELLS_SYSCALL(
          ::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target_dir.c_str(), RENAME_EXCHANGE),
          "swap " + staging + " and " + target_dir);
    } else {
      CELLS_SYSCALL(
          ::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, target_dir.c_str(), RENAME_NOREPLACE),
          "rename " + staging + " to " + target_dir);
    }
    CELLS_TRY(fsync_parent_dir(target_dir));
    spans.swap = Clock::now() - t2;
    return RestoreResult{rs.entries, rs.data_bytes, r.path, {}};
  };
  auto done = attempt();
  // Step 7: the staging name holds either the rejected new tree or the old content: both go,
  // the old content in the background when asked (moved to the trash first, so that a crash
  // before the done record leaves it where recover() looks).
  auto t3 = Clock::now();
  std::optional<std::string> trashed;
  if (done && options.background_cleanup) trashed = move_to_trash(staging, op.id());
  Status cleaned = trashed ? ok_status() : remove_tree(staging);
  if (!cleaned) {
    // The staging tree could not go (the disk turned read-only, say). Journaling `failed` would
    // close the intent that names it, and nothing would ever remove it: leave the intent open,
    // exactly as a crash here would, so the next operation's recover() removes it once it can.
    return done ? std::move(cleaned).error() : std::move(done).error();
  }
  if (!done) return fail(op, "backup.restore", target, std::move(done).error());
  CELLS_TRY(op.append({"backup.restore", target, store::Phase::kDone, "",
                       json_text({{"archive", r.path},
                                  {"target", target_dir},
                                  {"entries", done->entries},
                                  {"bytes", done->data_bytes}})}));
  if (trashed) remove_in_background(*trashed);
  spans.cleanup = Clock::now() - t3;
  done->spans = spans;
  return done;
}

std::string Backups::trash_dir() const { return paths_.lib_dir() + "/backup-trash"; }

std::optional<std::string> Backups::move_to_trash(const std::string& dir, uint64_t op_id) {
  // Any failure (another filesystem: EXDEV) just means the caller removes DIR itself.
  if (!make_dirs(trash_dir(), 0700)) return std::nullopt;
  std::string to = trash_dir() + "/" + std::to_string(op_id);
  if (::renameat2(AT_FDCWD, dir.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
    return std::nullopt;
  }
  // The rename is durable before the done record, which leaves no open intent to find DIR by.
  (void)fsync_parent_dir(to);
  return to;
}

void Backups::remove_in_background(const std::string& trashed) {
  // The remover holds this flock until it is done; recover() skips a locked entry.
  // Without a remover the tree stays in the trash for the next recover(); the restore itself
  // succeeded, so that is not an error of it.
  Fd lock(::open(trashed.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (lock.valid() && ::flock(lock.get(), LOCK_EX) == 0) {
    (void)remove_tree_detached(trashed, lock.get());
  }
}

Status Backups::remove(Kind kind, const std::string& archive) {
  if (archive.find('/') != std::string::npos) {
    return Error::invalid("delete: '" + archive + "' is a path, expected an archive name");
  }
  Resolved r = CELLS_TRY_CTX(resolve(kind, archive), "delete");
  CELLS_TRY(recover());
  auto an = parse_archive_file(r.file);
  std::string target = journal_target(kind, an->name);
  auto op = CELLS_TRY(store_.begin_operation("backup.delete", target));
  std::string image = json_text({{"file", r.file}});
  CELLS_TRY(op.append({"backup.delete", target, store::Phase::kIntent, image, ""}));
  if (auto st = unlink_durably(r.path); !st) return fail(op, "backup.delete", target, st.error());
  CELLS_TRY(op.append({"backup.delete", target, store::Phase::kDone, image, ""}));
  return ok_status();
}

Result<std::vector<std::string>> Backups::prune(Kind kind, const std::string& name, size_t keep) {
  CELLS_TRY_CTX(validate_name(name), "prune");
  auto all = CELLS_TRY(list(kind, name));
  std::vector<std::string> deleted;
  for (size_t i = keep; i < all.size(); ++i) {
    CELLS_TRY(remove(kind, all[i].name.file()));
    deleted.push_back(all[i].name.file());
  }
  return deleted;
}

Result<RecoveryReport> Backups::recover() {
  auto op = CELLS_TRY(store_.begin_operation("backup.recover", "backups"));
  RecoveryReport report = CELLS_TRY(recover_locked(op));
  if (!report.removed.empty() || !report.recorded.empty() || !report.closed.empty()) {
    CELLS_TRY(op.append({"backup.recover", "backups", store::Phase::kDone, "",
                         json_text({{"removed", report.removed},
                                    {"recorded", report.recorded},
                                    {"closed", report.closed}})}));
  }
  return report;
}

Result<RecoveryReport> Backups::recover_locked(store::Operation& op) {
  // Holding the writer lock, no backup operation is running: every leftover is stale. Each
  // killed operation handled here gets its outcome in its own name, so it is no longer open
  // and the next recovery (which every mutating command runs) does not handle it again.
  RecoveryReport report;
  auto open_ops = CELLS_TRY(store_.incomplete_operations());
  for (const auto& inc : open_ops) {
    const auto& e = inc.intent;
    const std::string interrupted =
        "interrupted; cleaned up by operation " + std::to_string(op.id());
    if (e.kind == "backup.restore") {
      auto j = nlohmann::json::parse(e.after, nullptr, false);
      if (j.is_object() && j.contains("staging") && j["staging"].is_string()) {
        std::string staging = j["staging"].get<std::string>();
        if (exists(staging)) {
          CELLS_TRY(remove_tree(staging));
          report.removed.push_back(staging);
        }
      }
      // The target holds the old tree or the new one, whole; which one depends on whether the
      // swap was reached.
      CELLS_TRY(op.close_abandoned(inc.operation_id,
                                   {e.kind, e.target, store::Phase::kFailed, "",
                                    json_text({{"error", interrupted + " (the target holds the "
                                                                       "old or the new tree)"}})}));
    } else if (e.kind == "backup.create") {
      // Killed while the cells were frozen: they would stay frozen forever.
      std::vector<std::string> frozen;
      std::istringstream lines(e.before);
      for (std::string cg; std::getline(lines, cg);) {
        if (!cg.empty()) frozen.push_back(cg);
      }
      CgroupFreeze::thaw_left(frozen);
      store::EntryDraft outcome{e.kind, e.target, store::Phase::kFailed, "",
                                json_text({{"error", interrupted + " before the archive was complete"}})};
      auto rec = decode_record(e.after);
      std::string final_path = rec ? kind_dir(paths_, rec->kind) + "/" + rec->file : "";
      // Killed after the rename but before the record: the file was fsynced before it got its
      // name, so it is complete; record it (after reading it through) instead of losing it.
      // (A recovery before operations were closed may have recorded it already.)
      const bool complete = rec && exists(final_path);
      std::optional<ArchiveRecord> known;
      if (complete) known = CELLS_TRY(find_record(rec->file));
      if (known) {
        outcome.phase = store::Phase::kDone;
        outcome.after = encode_record(*known);
      } else if (complete) {
        ReadOptions ro;
        ro.policy = {true, true};
        auto rs = scan_archive(final_path, ro);
        if (!rs) {
          CELLS_TRY(unlink_durably(final_path));
          report.removed.push_back(final_path);
        } else {
          rec->size = rs->compressed_bytes;
          rec->sha256 = rs->sha256;
          rec->entries = rs->entries;
          outcome.phase = store::Phase::kDone;
          outcome.after = encode_record(*rec);
          report.recorded.push_back(final_path);
        }
      }
      CELLS_TRY(op.close_abandoned(inc.operation_id, std::move(outcome)));
    } else {
      continue;
    }
    report.closed.push_back(inc.operation_id);
  }
  // Replaced trees of finished restores whose remover is gone (crashed, killed, never
  // started); one whose remover still runs holds its flock and is left to it.
  if (DIR* t = ::opendir(trash_dir().c_str())) {
    std::vector<std::string> names;
    while (struct dirent* de = ::readdir(t)) {
      if (de->d_name[0] != '.') names.emplace_back(de->d_name);
    }
    ::closedir(t);
    for (const auto& n : names) {
      std::string p = trash_dir() + "/" + n;
      Fd fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (fd.valid() && ::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
      CELLS_TRY(remove_tree(p));
      report.removed.push_back(p);
    }
  }
  // Partial archives are stale whether or not their intent made it to the journal.
  for (Kind kind : {Kind::kVolume, Kind::kOverlay}) {
    std::string dir = kind_dir(paths_, kind);
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) continue;
    std::vector<std::string> partials;
    while (struct dirent* de = ::readdir(d)) {
      std::string_view n = de->d_name;
      if (n.ends_with(kPartialSuffix)) partials.emplace_back(dir + "/" + std::string(n));
    }
    ::closedir(d);
    for (const auto& p : partials) {
      CELLS_TRY(unlink_durably(p));
      report.removed.push_back(p);
    }
  }
  return report;
}

}  // namespace cells::backup
