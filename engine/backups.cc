#include "engine/backups.h"

#include <sys/stat.h>

#include <algorithm>

#include "engine/controlplane.h"
#include "engine/rootfs_build.h"
#include "engine/volumes.h"
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

Status with_cells_stopped(const Paths& paths, const BackupSubject& subject, bool stop,
                          const LifecycleConfig& cfg, const std::function<Status()>& restore) {
  if (subject.cells.empty()) return restore();
  if (!stop) {
    return Error(ErrorKind::kBusy, subject_noun(subject.kind) + " " + subject.name +
                                       " is in use by running cell(s) " + join(subject.cells) +
                                       " (pass --stop to stop them, restore and start them "
                                       "again); nothing changed");
  }
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

}  // namespace cells::engine
