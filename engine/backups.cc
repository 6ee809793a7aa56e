#include "engine/backups.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>

#include "base/fd.h"
#include "base/files.h"
#include "base/syscall.h"
#include "engine/controlplane.h"
#include "engine/rootfs_build.h"
#include "engine/volumes.h"
#include "kernel/supervise.h"
#include "store/store.h"

namespace cells::engine {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

}  // namespace

std::string subject_noun(backup::Kind kind) {
  return kind == backup::Kind::kVolume ? "volume" : "cell";
}

std::string subject_label(backup::Kind kind, const std::string& name) {
  return subject_noun(kind) + " " + name;
}

Result<std::vector<backup::ArchiveInfo>> list_archives(const Paths& paths, backup::Kind kind,
                                                       const std::string& name) {
  if (!name.empty() && !valid_name(name)) {
    return Error::invalid(subject_noun(kind) + " name '" + name.substr(0, 80) + "' is invalid");
  }
  {
    auto st = store::Store::open(paths, store::OpenMode::kReadOnly);
    if (!st && st.error().kind() == ErrorKind::kNotFound) return std::vector<backup::ArchiveInfo>{};
    if (!st) return std::move(st).error();
  }  // closed: Backups opens its own environment (one per process at a time)
  auto b = CELLS_TRY(backup::Backups::open(paths));
  return b.list(kind, name);
}

std::string archive_time(const backup::ArchiveName& name) {
  const std::string& ts = name.timestamp;
  if (ts.size() != 14) return ts;
  return ts.substr(0, 4) + "-" + ts.substr(4, 2) + "-" + ts.substr(6, 2) + "T" + ts.substr(8, 2) +
         ":" + ts.substr(10, 2) + ":" + ts.substr(12, 2) + "Z";
}

Status check_archive_file(backup::Kind kind, const std::string& name, const std::string& file) {
  auto parsed = backup::parse_archive_file(file);
  if (file.find('/') != std::string::npos || !parsed || parsed->name != name) {
    return Error::invalid("archive '" + file.substr(0, 120) + "' is not a backup file name of " +
                          subject_label(kind, name));
  }
  return ok_status();
}

Result<backup::ArchiveInfo> find_archive(const backup::Backups& backups, backup::Kind kind,
                                         const std::string& name, const std::string& file) {
  auto all = CELLS_TRY(backups.list(kind, name));  // newest first
  if (all.empty()) return Error::not_found("no backups of " + subject_label(kind, name));
  if (file.empty()) return std::move(all.front());
  for (auto& a : all) {
    if (a.name.file() == file) return std::move(a);
  }
  return Error::not_found("no archive " + file + " of " + subject_label(kind, name));
}

Result<BackupSubject> backup_subject(const Paths& paths, backup::Kind kind,
                                     const std::string& name) {
  if (!valid_name(name)) return Error::invalid(subject_noun(kind) + " name '" + name + "' is invalid");
  BackupSubject s;
  s.kind = kind;
  s.name = name;
  std::vector<std::string> candidates;
  if (kind == backup::Kind::kVolume) {
    s.data_dir = volume_dir(paths, name);
    if (!exists(volume_manifest_path(paths, name)) && !exists(s.data_dir)) {
      return Error(ErrorKind::kNotFound, "no volume named " + name + " (no manifest, no data)");
    }
    // A cell may mount the volume under a manifest that changed since it started, so both
    // the declared users and the cells whose roots have it mounted now count.
    DesiredSet set = load_desired(paths.etc_dir());
    candidates = volume_users(set, name);
  } else {
    CellRootLayout layout = cell_root_layout(paths, name);
    s.data_dir = layout.overlay;
    if (!exists(cell_manifest_path(paths, name)) && !exists(layout.cell_dir)) {
      return Error(ErrorKind::kNotFound, "no cell named " + name + " (no manifest, no cell directory)");
    }
    candidates = {name};
  }
  for (const auto& c : candidates) {
    // A live cgroup is what matters: it is what gets frozen, and what has processes writing.
    std::string cg = paths.cgroup_parent() + "/" + c;
    if (!exists(cg)) continue;
    s.cells.push_back(c);
    s.cgroups.push_back(cg);
  }
  return s;
}

uint64_t current_generation(const Paths& paths) {
  auto st = store::Store::open(paths, store::OpenMode::kReadOnly);
  if (!st) return 0;
  return st->current_generation().value_or(0);
}

namespace {

// The restore.stopped marker, opened and flock'ed (LOCK_NB: kBusy while another process holds
// it). A holder unlinks it before closing, so a lock taken on an inode that is no longer the
// path's is dropped and the path opened again.
Result<Fd> lock_marker(const std::string& path) {
  for (;;) {
    Fd fd = CELLS_SYSCALL_FD(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644), "open " + path);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return Error(ErrorKind::kBusy, "a restore --stop is running (" + path + ")");
      return Error::sys(errno, "flock " + path);
    }
    struct stat held, now;
    if (::fstat(fd.get(), &held) == 0 && ::stat(path.c_str(), &now) == 0 && held.st_ino == now.st_ino) {
      return fd;
    }
  }
}

// Holds the marker naming the stopped cells; removes it when the restore is over.
class StoppedMarker {
 public:
  static Result<StoppedMarker> write(const std::string& path, const std::vector<std::string>& cells) {
    StoppedMarker m;
    m.path_ = path;
    m.fd_ = CELLS_TRY(lock_marker(path));
    std::string text;
    for (const auto& c : cells) text += c + "\n";
    CELLS_SYSCALL(::ftruncate(m.fd_.get(), 0), "truncate " + path);
    CELLS_SYSCALL(::pwrite(m.fd_.get(), text.data(), text.size(), 0), "write " + path);
    CELLS_SYSCALL(::fsync(m.fd_.get()), "fsync " + path);
    return m;
  }
  StoppedMarker(StoppedMarker&&) = default;
  StoppedMarker& operator=(StoppedMarker&&) = default;
  ~StoppedMarker() {
    if (fd_.valid()) (void)::unlink(path_.c_str());  // before the lock goes with the fd
  }

 private:
  StoppedMarker() = default;
  std::string path_;
  Fd fd_;
};

}  // namespace

std::string restore_stopped_path(const Paths& paths) { return paths.lib_dir() + "/restore.stopped"; }

Status restart_cells_left_stopped(const Paths& paths, const LifecycleConfig& cfg) {
  const std::string path = restore_stopped_path(paths);
  if (!exists(path)) return ok_status();
  auto fd = lock_marker(path);
  if (!fd && fd.error().kind() == ErrorKind::kBusy) return ok_status();  // a live restore
  if (!fd) return std::move(fd).error();
  auto text = CELLS_TRY(read_file(path));
  DesiredSet set = load_desired(paths.etc_dir());
  std::vector<std::string> names;
  std::istringstream in(text);
  for (std::string n; std::getline(in, n);) {
    if (std::any_of(set.cells.begin(), set.cells.end(), [&](const CellManifest& c) { return c.name == n; })) {
      names.push_back(n);
    }
  }
  // The restore may have been killed while it stopped the cells or started them again,
  // leaving one half stopped (its supervisor gone, its kernel cell and record still there) or
  // half started (its kernel cell made, its runtime record not yet naming it): stop those
  // first, as `cell stop` would, so that the start begins clean (both found by crash_restore).
  std::vector<std::string> half_started;
  for (const auto& n : names) {
    const bool serves = !set.find_cell(n)->command.empty();  // NAMES are cells of SET
    if (!cell_running(paths, n) || (serves && !kernel::supervisor_running(paths, n))) {
      half_started.push_back(n);
    }
  }
  if (!half_started.empty()) {
    CELLS_TRY_CTX(stop_cells(paths, half_started, cfg), "stop cells a killed restore left half started");
  }
  if (!names.empty()) CELLS_TRY_CTX(start_cells(paths, names, cfg), "start cells a killed restore stopped");
  CELLS_SYSCALL(::unlink(path.c_str()), "remove " + path);
  return ok_status();
}

Status check_not_in_use(const BackupSubject& subject) {
  if (subject.cells.empty()) return ok_status();
  return Error(ErrorKind::kBusy, subject_label(subject.kind, subject.name) +
                                     " is in use by running cell(s) " + join(subject.cells) +
                                     " (pass --stop to stop them, restore and start them "
                                     "again); nothing changed");
}

Status with_cells_stopped(const Paths& paths, const BackupSubject& subject, bool stop,
                          const LifecycleConfig& cfg, const std::function<Status()>& restore) {
  if (subject.cells.empty()) return restore();
  if (!stop) return check_not_in_use(subject);
  // The marker first, so a crash from here on leaves cells that recovery starts again.
  auto marker = CELLS_TRY(StoppedMarker::write(restore_stopped_path(paths), subject.cells));
  // Stop first: the cells must hold no files of the data (and for an overlay, the overlay
  // mount must be gone) before the restore swaps the directory.
  auto stopped = stop_cells(paths, subject.cells, cfg);
  if (!stopped) {
    // A partial stop: bring back whatever did stop, so the failure changes nothing.
    (void)start_cells(paths, subject.cells, cfg);
    return std::move(stopped).error().wrap("restore --stop: stopping " + join(subject.cells));
  }
  Status restored = restore();
  // Started again either way: on failure the old data is still in place.
  auto started = start_cells(paths, subject.cells, cfg);
  if (!restored) {
    if (!started) {
      return Error(restored.error().kind(), restored.error().message() +
                                                "; starting the cells again failed too: " +
                                                started.error().message());
    }
    return restored;
  }
  if (!started) {
    return std::move(started).error().wrap("restored, but starting " + join(subject.cells) +
                                           " again failed");
  }
  return ok_status();
}

Result<backup::RestoreResult> restore_subject(const Paths& paths, const BackupSubject& subject,
                                              const std::string& archive, bool stop,
                                              const LifecycleConfig& cfg,
                                              backup::RestoreOptions options) {
  const std::string cell_dir = cell_root_layout(paths, subject.name).cell_dir;
  const bool made_cell_dir = subject.kind == backup::Kind::kOverlay && !exists(cell_dir);
  if (made_cell_dir) CELLS_TRY(make_dirs(cell_dir, 0700));
  backup::RestoreResult result;
  Status s = with_cells_stopped(paths, subject, stop, cfg, [&]() -> Status {
    auto b = CELLS_TRY(backup::Backups::open(paths));
    options.in_use_cgroups = backup_subject(paths, subject.kind, subject.name).value_or(subject).cgroups;
    result = CELLS_TRY(b.restore(subject.kind, subject.name, archive, subject.data_dir, options));
    return ok_status();
  });
  if (!s) {
    if (made_cell_dir) ::rmdir(cell_dir.c_str());
    return std::move(s).error();
  }
  return result;
}

}  // namespace cells::engine
