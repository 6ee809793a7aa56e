#include "engine/rpc/bridge_actions.h"

#include <sys/stat.h>
#include <unistd.h>

#include "backup/backup.h"
#include "base/files.h"
#include "engine/apply.h"
#include "engine/backups.h"
#include "engine/controlplane.h"
#include "engine/recover.h"
#include "engine/rpc/bridge_reads.h"
#include "store/store.h"

namespace cells::rpc {
namespace {

backup::Kind to_backup(BackupKind k) {
  return k == BackupKind::kVolume ? backup::Kind::kVolume : backup::Kind::kOverlay;
}

Status require_root() {
  if (::geteuid() != 0) return Error(ErrorKind::kPermission, "this action must run as root");
  return ok_status();
}

Status check_names(const std::vector<std::string>& names) {
  if (names.size() > kMaxNames) {
    return Error::invalid(std::to_string(names.size()) + " names: at most " +
                          std::to_string(kMaxNames) + " per request");
  }
  for (const auto& n : names) {
    if (!engine::valid_name(n)) return Error::invalid("cell name '" + n.substr(0, 80) + "' is invalid");
  }
  return ok_status();
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The manifest files of the subject as generation GEN had them (the desired-state edit that
// puts them back). A cell's .apply that generation did not have is removed.
Result<std::vector<engine::FileChange>> manifest_changes(const Paths& paths, BackupKind kind,
                                                         const std::string& name, uint64_t gen) {
  auto st = CELLS_TRY(store::Store::open(paths, store::OpenMode::kReadOnly));
  auto g = CELLS_TRY(st.generation(gen));
  if (!g) return Error::not_found("generation " + std::to_string(gen) + " does not exist");
  std::vector<engine::FileChange> changes;
  if (kind == BackupKind::kVolume) {
    for (const auto& v : g->desired.volumes) {
      if (v.name == name) changes.push_back({engine::volume_manifest_path(paths, name), v.manifest_text});
    }
  } else {
    for (const auto& c : g->desired.cells) {
      if (c.name == name) changes.push_back({engine::cell_manifest_path(paths, name), c.manifest_text});
    }
    if (!changes.empty()) {
      std::optional<std::string> plan;
      for (const auto& p : g->desired.plans) {
        if (p.cell == name) plan = p.text;
      }
      if (plan || exists(engine::apply_plan_path(paths, name))) {
        changes.push_back({engine::apply_plan_path(paths, name), plan});
      }
    }
  }
  if (changes.empty()) {
    return Error::not_found("generation " + std::to_string(gen) + " has no manifest of " +
                            engine::subject_label(to_backup(kind), name));
  }
  // Only files whose content differs are edits.
  std::vector<engine::FileChange> out;
  for (auto& c : changes) {
    auto now = read_file(c.path);
    if (c.content ? (!now || *now != *c.content) : now.ok()) out.push_back(std::move(c));
  }
  return out;
}

}  // namespace

Status BridgeActions::recover_first() {
  auto r = engine::recover(paths_, cfg_, cfg_.say);
  if (!r) return std::move(r).error().wrap("recover an interrupted operation first");
  for (auto id : *r) cfg_.say("recovered operation " + std::to_string(id));
  return ok_status();
}

Result<std::vector<std::string>> BridgeActions::lifecycle(Verb verb,
                                                          const std::vector<std::string>& names,
                                                          bool all) {
  CELLS_TRY(check_names(names));
  if (all == !names.empty()) return Error::invalid("give exactly one of names or all");
  CELLS_TRY(require_root());
  CELLS_TRY(recover_first());
  std::vector<std::string> targets = names;
  if (all && verb == Verb::kStop) targets = engine::running_cells(paths_);
  if (all && verb != Verb::kStop) {
    for (const auto& c : engine::load_desired(paths_.etc_dir()).cells) targets.push_back(c.name);
  }
  std::vector<std::string> done;
  if (verb != Verb::kStart) done = CELLS_TRY(engine::stop_cells(paths_, targets, cfg_));
  if (verb != Verb::kStop) done = CELLS_TRY(engine::start_cells(paths_, targets, cfg_));
  return done;
}

Result<ApplyResult> BridgeActions::apply(const std::vector<std::string>& names, bool dry_run) {
  CELLS_TRY(check_names(names));
  if (!dry_run) CELLS_TRY(require_root());
  ApplyResult out;
  engine::ApplyOptions o;
  o.names = names;
  o.dry_run = dry_run;
  o.say = [&out](const std::string& line) { out.text += line + "\n"; };
  engine::LifecycleConfig cfg = cfg_;
  cfg.say = [](const std::string&) {};  // apply reports its own step lines
  auto r = CELLS_TRY(engine::apply(paths_, o, cfg));
  out.exit_code = r.exit_code;
  out.cells = uint32_t(r.cells);
  out.changed = uint32_t(r.changed);
  out.failed = uint32_t(r.failed);
  out.operation = r.operation_id;
  out.generation = r.generation;
  return out;
}

Result<BackupMade> BridgeActions::backup_create(BackupKind kind, const std::string& name) {
  CELLS_TRY(require_root());
  auto subject = CELLS_TRY(engine::backup_subject(paths_, to_backup(kind), name));
  CELLS_TRY(recover_first());
  backup::CreateOptions co;
  co.freeze_cgroups = subject.cgroups;
  co.source_generation = engine::current_generation(paths_);
  auto b = CELLS_TRY(backup::Backups::open(paths_));
  auto made = CELLS_TRY(b.create(to_backup(kind), name, subject.data_dir, co));
  BackupMade out;
  out.file = made.record.file;
  out.path = made.path;
  out.size = made.record.size;
  out.entries = made.record.entries;
  out.sha256 = made.record.sha256;
  out.frozen_cells = subject.cells;
  out.freeze_ns = made.freeze_time.count();
  return out;
}

Result<RestoreDone> BridgeActions::backup_restore(BackupKind kind, const std::string& name,
                                                  const std::string& file, bool stop,
                                                  bool with_manifest) {
  CELLS_TRY(require_root());
  const backup::Kind k = to_backup(kind);
  auto subject = CELLS_TRY(engine::backup_subject(paths_, k, name));
  if (!file.empty()) CELLS_TRY(engine::check_archive_file(k, name, file));
  // Which archive, and (with the manifest) which generation: all decided before any change.
  std::string archive;
  uint64_t generation = 0;
  {
    auto b = CELLS_TRY(backup::Backups::open(paths_));
    auto picked = CELLS_TRY(engine::find_archive(b, k, name, file));
    archive = picked.name.file();
    if (with_manifest) {
      if (!picked.record || picked.record->generation == 0) {
        return Error::invalid("archive " + archive + " records no generation: its manifest " +
                              "cannot be restored (restore the data alone)");
      }
      generation = picked.record->generation;
    }
  }  // closed: stopping and starting cells opens the store too
  std::vector<engine::FileChange> changes;
  if (with_manifest) {
    changes = CELLS_TRY(manifest_changes(paths_, kind, name, generation));
    auto candidate = engine::candidate_desired(paths_, changes);
    if (!candidate.problems.empty()) {
      return engine::problems_error("the manifest of generation " + std::to_string(generation),
                                    candidate.problems);
    }
  }
  // Refused before the recovery writes anything.
  if (!stop) CELLS_TRY(engine::check_not_in_use(subject));
  CELLS_TRY(recover_first());
  auto r = CELLS_TRY(engine::restore_subject(paths_, subject, archive, stop, cfg_, {}));
  RestoreDone out;
  out.file = archive;
  out.entries = r.entries;
  out.data_bytes = r.data_bytes;
  if (with_manifest) {
    if (!changes.empty()) {
      const std::string target = (kind == BackupKind::kVolume ? "volume/" : "cell/") + name;
      auto committed = engine::commit_desired_edit(paths_, "backup.manifest", target, changes);
      if (!committed) {
        return std::move(committed).error().wrap("data restored from " + archive +
                                                 ", but the manifest was not");
      }
    }
    out.manifest_generation = generation;
  }
  return out;
}

Status BridgeActions::backup_delete(BackupKind kind, const std::string& name,
                                    const std::string& file) {
  CELLS_TRY(require_root());
  CELLS_TRY(engine::backup_subject(paths_, to_backup(kind), name));
  if (file.empty()) return Error::invalid("backup delete needs the archive file name");
  CELLS_TRY(engine::check_archive_file(to_backup(kind), name, file));
  CELLS_TRY(recover_first());
  auto b = CELLS_TRY(backup::Backups::open(paths_));
  return b.remove(to_backup(kind), file);
}

Result<std::vector<std::string>> BridgeActions::shell(const std::string& name) {
  CELLS_TRY(check_names({name}));
  if (!engine::cell_running(paths_, name)) {
    return Error(ErrorKind::kInvalid, "cell " + name + " is not running");
  }
  return std::vector<std::string>{cfg_.cellctl, "--root", paths_.root, "exec", name, "/bin/sh"};
}

}  // namespace cells::rpc
