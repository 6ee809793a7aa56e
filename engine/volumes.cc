#include "engine/volumes.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <set>

#include "base/files.h"
#include "base/syscall.h"
#include "engine/mount_table.h"
#include "engine/rootfs_build.h"
#include "store/store.h"

namespace cells::engine {

std::string volume_dir(const Paths& paths, const std::string& name) {
  return paths.volumes_dir() + "/" + name;
}

Result<bool> ensure_volume_dir(const Paths& paths, const VolumeManifest& v) {
  const std::string dir = volume_dir(paths, v.name);
  struct stat st;
  bool created = ::lstat(dir.c_str(), &st) != 0;
  if (!created && !S_ISDIR(st.st_mode)) {
    return Error(ErrorKind::kExists, "volume " + v.name + ": " + dir + " exists and is not a directory");
  }
  CELLS_TRY(make_dirs(paths.volumes_dir(), 0755));
  if (created) CELLS_SYSCALL(::mkdir(dir.c_str(), 0700), "mkdir " + dir);
  // chmod after mkdir: the umask must not weaken (or strengthen) the declared mode.
  CELLS_SYSCALL(::chmod(dir.c_str(), v.mode), "chmod " + dir);
  return created;
}

Status remove_volume_data(const Paths& paths, const std::string& name) {
  const std::string dir = volume_dir(paths, name);
  const std::string tomb = paths.volumes_dir() + "/." + name + ".removing-" + std::to_string(::getpid());
  if (::rename(dir.c_str(), tomb.c_str()) != 0) {
    if (errno == ENOENT) return ok_status();
    return Error::sys(errno, "rename " + dir + " to " + tomb);
  }
  CELLS_TRY(fsync_parent_dir(tomb));  // the rename is the commit point: durable before deleting
  return remove_tree(tomb);
}

Status sweep_volume_tombstones(const Paths& paths) {
  std::vector<std::string> dead;
  DIR* d = ::opendir(paths.volumes_dir().c_str());
  if (d == nullptr) return ok_status();
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    auto at = n.rfind(".removing-");
    if (n.empty() || n[0] != '.' || at == std::string::npos) continue;
    pid_t pid = static_cast<pid_t>(std::strtol(n.c_str() + at + 10, nullptr, 10));
    if (pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH)) continue;  // still removing it
    dead.push_back(paths.volumes_dir() + "/" + n);
  }
  ::closedir(d);
  for (const auto& t : dead) CELLS_TRY(remove_tree(t));
  return ok_status();
}

std::vector<std::string> volume_users(const DesiredSet& set, const std::string& name) {
  std::set<std::string> users;
  for (const auto& c : set.cells) {
    for (const auto& m : c.mounts) {
      if (m.source == Mount::Source::kVolume && m.from == name) users.insert(c.name);
    }
  }
  return {users.begin(), users.end()};
}

std::vector<std::string> volume_mounts_now(const Paths& paths, const DesiredSet& set,
                                           const std::string& name) {
  auto mps = mounts_below(paths.cells_dir()).value_or(std::vector<std::string>{});
  // Where the volume may be mounted: the manifests' targets, and the targets in force recorded
  // at start (a manifest may have changed since).
  std::set<std::string> candidates;
  for (const auto& c : set.cells) {
    for (const auto& m : c.mounts) {
      if (m.source == Mount::Source::kVolume && m.from == name) {
        candidates.insert(cell_root_layout(paths, c.name).root + m.target);
      }
    }
  }
  if (auto st = store::Store::open(paths, store::OpenMode::kReadOnly); st) {
    for (const auto& rec : st->runtimes().value_or(std::vector<store::RuntimeCell>{})) {
      if (rec.cid == 0 || rec.policy.empty()) continue;
      auto policy = nlohmann::json::parse(rec.policy, nullptr, /*allow_exceptions=*/false);
      if (!policy.is_object() || !policy["mounts"].is_array()) continue;
      for (const auto& m : policy["mounts"]) {
        if (m.value("kind", "") == "volume" && m.value("source", "") == name) {
          candidates.insert(cell_root_layout(paths, rec.name).root + m.value("target", ""));
        }
      }
    }
  }
  std::vector<std::string> out;
  for (const auto& mp : candidates) {
    if (std::find(mps.begin(), mps.end(), mp) != mps.end()) out.push_back(mp);
  }
  return out;
}

}  // namespace cells::engine
