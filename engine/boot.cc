#include "engine/boot.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>

#include "base/files.h"
#include "engine/controlplane.h"
#include "engine/health.h"
#include "engine/recover.h"
#include "kernel/bpf_policy.h"
#include "kernel/supervise.h"
#include "store/store.h"

namespace cells::engine {
namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t i = s.find_first_not_of(" \t\n");
  return i == std::string::npos ? std::string() : s.substr(i);
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool dir_has_entries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return false;
  bool any = false;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") any = true;
  }
  ::closedir(d);
  return any;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Step 3: a record that says started (a cid) whose cgroup is gone describes a cell of an
// earlier boot (or one that died with its cgroup removed); it is set back to stopped, keeping
// the applied generation. On a new boot the cell's supervisor pid file goes too, should /run
// have survived: its pid and start time belong to the earlier boot. Returns the names
// discarded, in name order.
Result<std::vector<std::string>> discard_stale(const Paths& paths, store::Store& st,
                                               store::Operation& op, bool new_boot,
                                               const std::function<void(const std::string&)>& say) {
  std::vector<std::string> out;
  for (const auto& rec : CELLS_TRY(st.runtimes())) {
    if (rec.cid == 0 || exists(paths.cgroup_parent() + "/" + rec.name)) continue;
    const std::string what = "cid " + std::to_string(rec.cid) + " cgroup " +
                             std::to_string(rec.cgroup_id) + " supervisor " +
                             std::to_string(rec.supervisor_pid);
    CELLS_TRY(op.append({"boot.discard", "cell/" + rec.name, store::Phase::kDone, what, "stopped"}));
    store::RuntimeCell stopped;
    stopped.name = rec.name;
    stopped.applied_generation = rec.applied_generation;
    CELLS_TRY(op.put_runtime(stopped));
    if (new_boot) {
      const std::string pid_file = kernel::supervisor_pid_path(paths, rec.name);
      if (::unlink(pid_file.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "remove " + pid_file);
    }
    say("stale: runtime record of " + rec.name + " (cid " + std::to_string(rec.cid) + ") discarded");
    out.push_back(rec.name);
  }
  return out;
}

}  // namespace

Result<std::string> current_boot_id() {
  const char* env = std::getenv("CELLS_BOOT_ID_FILE");
  const std::string file = env && *env ? env : "/proc/sys/kernel/random/boot_id";
  auto text = CELLS_TRY_CTX(read_file(file), "read the boot id");
  std::string id = trimmed(text);
  if (id.empty() || id.find_first_of(" \t\n") != std::string::npos) {
    return Error::invalid("boot id in " + file + " is not one word");
  }
  return id;
}

std::string boot_id_path(const Paths& paths) { return paths.run_dir() + "/boot_id"; }

Result<std::vector<BootStep>> boot_plan(const DesiredSet& set, const std::set<std::string>& running) {
  auto order = CELLS_TRY(dependency_order(set.cells));
  std::map<std::string, const CellManifest*> by_name;
  for (const auto& c : set.cells) by_name[c.name] = &c;
  // Which cells start, and for which autostart cells a non-autostart one is needed.
  std::map<std::string, std::vector<std::string>> wanted;  // cell -> autostart cells needing it
  for (const auto& c : set.cells) {
    if (!c.autostart) continue;
    std::vector<std::string> todo = {c.name};
    std::set<std::string> seen;
    while (!todo.empty()) {
      std::string n = todo.back();
      todo.pop_back();
      auto it = by_name.find(n);
      if (it == by_name.end() || !seen.insert(n).second) continue;
      auto& by = wanted[n];
      if (n != c.name && !it->second->autostart) by.push_back(c.name);
      for (const auto& d : it->second->depends_on) todo.push_back(d);
    }
  }
  std::vector<BootStep> out;
  for (const auto& name : order) {
    BootStep s;
    s.cell = name;
    auto w = wanted.find(name);
    if (running.contains(name)) {
      s.action = BootAction::kRunning;
    } else if (w != wanted.end()) {
      s.action = BootAction::kStart;
      s.needed_by = w->second;
      std::sort(s.needed_by.begin(), s.needed_by.end());
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<BootOutcome> boot(const Paths& paths, const LifecycleConfig& cfg,
                         const std::function<void(const std::string&)>& say) {
  // Step 1: an apply interrupted by the reboot (or a crash) is finished or compensated first,
  // so the cells below are each wholly at one generation.
  CELLS_TRY(recover(paths, cfg, say));

  // Step 2: everything is read and checked before anything changes.
  DesiredSet set = load_desired(paths.etc_dir());
  if (!set.problems.empty()) return problems_error("refusing to boot, nothing was changed", set.problems);
  CELLS_TRY(dependency_order(set.cells));
  const std::string boot_id = CELLS_TRY(current_boot_id());
  auto recorded = read_file(boot_id_path(paths));
  const std::string was = recorded ? trimmed(*recorded) : "";
  BootOutcome out;
  out.new_boot = was != boot_id;

  // The operation holds the writer lock from here to the end: no other command sees the
  // records half discarded or the cells half started.
  auto st = CELLS_TRY(store::Store::open(paths, store::OpenMode::kReadWrite));
  auto op = CELLS_TRY(st.begin_operation("boot", "cells"));
  out.operation_id = op.id();
  say(out.new_boot ? "boot: new boot " + boot_id + " (recorded: " + (was.empty() ? "none" : was) + ")"
                   : "boot: same boot " + boot_id);
  CELLS_TRY(op.append({"boot", "cells", store::Phase::kIntent, was, boot_id}));

  // Step 3: stale runtime records, before anything asks whether a cell runs.
  out.discarded = CELLS_TRY(discard_stale(paths, st, op, out.new_boot, say)).size();

  // Step 4: the kernel programs, before the first cell registers its ports with them.
  const bool pinned = dir_has_entries(paths.bpf_pin_dir());
  CELLS_TRY_CTX(kernel::BpfPolicy::ensure_loaded(paths), "reload the kernel programs");
  CELLS_TRY(op.append({"boot.bpf", "bpf/" + paths.instance(), store::Phase::kDone,
                       pinned ? "pinned" : "missing", "loaded"}));
  say(pinned ? "bpf: kernel programs in place" : "bpf: kernel programs loaded (pins were missing)");

  // The boot is recorded once its leftovers are gone; a failing cell below does not make the
  // next apply --boot treat the same boot as new.
  CELLS_TRY(make_dirs(paths.run_dir(), 0755));
  CELLS_TRY(write_file_atomic(boot_id_path(paths), boot_id + "\n", 0644));

  // Step 5: the cells, dependencies first. A cell that does not come up only holds back the
  // cells that depend on it.
  auto running_now = running_cells(paths);
  auto plan = CELLS_TRY(boot_plan(set, {running_now.begin(), running_now.end()}));
  std::set<std::string> down;  // failed or skipped
  for (const auto& step : plan) {
    const CellManifest& m = *set.find_cell(step.cell);  // boot_plan's names come from SET
    const std::string line = "cell " + m.name + ": ";
    auto cid_of = [&]() -> std::string {
      auto rec = st.runtime(m.name);
      return rec && *rec ? std::to_string((*rec)->cid) : "?";
    };
    if (step.action == BootAction::kRunning) {
      ++out.running;
      say(line + "running already (cid " + cid_of() + ")");
      continue;
    }
    if (step.action == BootAction::kStayStopped) {
      ++out.stopped;
      say(line + "stays stopped (autostart=NO)");
      continue;
    }
    auto dep = std::find_if(m.depends_on.begin(), m.depends_on.end(),
                            [&](const std::string& d) { return down.contains(d); });
    if (dep != m.depends_on.end()) {
      ++out.failed;
      down.insert(m.name);
      say(line + "skipped: depends on " + *dep + ", which did not start");
      continue;
    }
    auto before = CELLS_TRY(st.runtime(m.name));
    auto started = start_cell_in(st, op, paths, set, m, cfg);
    // A start records the current generation; the layer is still the one last applied.
    if (started && before && before->applied_generation != 0) {
      auto rec = CELLS_TRY(st.runtime(m.name));
      if (rec && rec->applied_generation != before->applied_generation) {
        rec->applied_generation = before->applied_generation;
        started = op.put_runtime(*rec);
      }
    }
    if (started && m.healthcheck) {
      // Dependents start only once this cell answers; a failing one keeps running under its
      // supervisor, which goes on checking and restarting it.
      started = run_healthcheck(paths, m.name, *m.healthcheck);
    }
    if (!started) {
      ++out.failed;
      down.insert(m.name);
      say(line + "FAILED: " + started.error().message());
      continue;
    }
    ++out.started;
    say(line + "started (cid " + cid_of() + ")" +
        (step.needed_by.empty() ? "" : ", needed by " + join(step.needed_by)));
  }

  out.exit_code = out.failed == 0 ? 0 : 1;
  const std::string counts = "started=" + std::to_string(out.started) +
                             " failed=" + std::to_string(out.failed);
  CELLS_TRY(op.append({"boot", "cells", out.failed == 0 ? store::Phase::kDone : store::Phase::kFailed,
                       "", counts}));
  say("");
  say("summary: cells=" + std::to_string(plan.size()) + " started=" + std::to_string(out.started) +
      " running=" + std::to_string(out.running) + " stopped=" + std::to_string(out.stopped) +
      " failed=" + std::to_string(out.failed) + " discarded=" + std::to_string(out.discarded) +
      " new-boot=" + (out.new_boot ? "YES" : "NO"));
  say("operation " + std::to_string(out.operation_id));
  return out;
}

}  // namespace cells::engine
