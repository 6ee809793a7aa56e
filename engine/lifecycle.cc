#include "engine/lifecycle.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/files.h"
#include "base/process.h"
#include "engine/controlplane.h"
#include "engine/drift.h"
#include "engine/mount_table.h"
#include "engine/rootwrite.h"
#include "engine/volumes.h"
#include "kernel/cell.h"
#include "kernel/landlock.h"
#include "kernel/supervise.h"
#include "kernel/userns.h"
#include "store/store.h"

namespace cells::engine {
namespace {

// The shell script that runs a service command. A simple command is exec'd, so the service is
// the supervisor's direct child and gets its signals; a command with shell operators
// (`a || b`, pipes, redirections, `;`) runs as a script, because `exec` would run only its
// first simple command.
std::string service_script(const std::string& command) {
  if (command.find_first_of(";&|<>()`$\n") == std::string::npos) return "exec " + command;
  return command;
}

std::optional<uint64_t> opt(const std::optional<uint64_t>& v) { return v; }

// run_as of the manifest as ids inside the cell: host accounts resolve on the host, cell
// accounts in the cell's own /etc (through the mounted root, symlink-safe).
Result<std::optional<kernel::Credentials>> resolve_run_as(const CellManifest& m,
                                                          const std::string& root) {
  if (!m.run_as) return std::optional<kernel::Credentials>();
  const RunAs& r = *m.run_as;
  kernel::Credentials c;
  switch (r.kind) {
    case RunAs::Kind::kUid:
      c.uid = uid_t(std::stoul(r.user));
      c.gid = r.group.empty() ? c.uid : gid_t(std::stoul(r.group));
      break;
    case RunAs::Kind::kHost: {
      struct passwd* pw = ::getpwnam(r.user.c_str());
      if (pw == nullptr) return Error::invalid("run_as " + to_string(r) + ": no host user " + r.user);
      c.uid = pw->pw_uid;
      c.gid = pw->pw_gid;
      if (!r.group.empty()) {
        struct group* gr = ::getgrnam(r.group.c_str());
        if (gr == nullptr) return Error::invalid("run_as " + to_string(r) + ": no host group " + r.group);
        c.gid = gr->gr_gid;
      }
      break;
    }
    case RunAs::Kind::kCell: {
      auto cr = CELLS_TRY(CellRoot::open(root));
      c.uid = CELLS_TRY_CTX(cr.resolve_user(r.user), "run_as " + to_string(r));
      // Without a group: the user's primary group from the cell's passwd.
      if (r.group.empty()) {
        auto passwd = cr.read("/etc/passwd").value_or("");
        std::istringstream in(passwd);
        c.gid = c.uid;
        for (std::string line; std::getline(in, line);) {
          std::vector<std::string> f;
          std::istringstream ls(line);
          for (std::string x; std::getline(ls, x, ':');) f.push_back(x);
          if (f.size() >= 4 && f[0] == r.user) c.gid = gid_t(std::stoul(f[3]));
        }
      } else {
        c.gid = CELLS_TRY_CTX(cr.resolve_group(r.group), "run_as " + to_string(r));
      }
      break;
    }
  }
  return std::optional<kernel::Credentials>(c);
}

// `cellctl supervise ...` for the manifest; it returns once the supervisor runs (or failed).
Status start_supervisor(const Paths& paths, const LifecycleConfig& cfg, const CellManifest& m,
                        const HostConfig& conf, const std::optional<kernel::Credentials>& cred) {
  std::vector<std::string> argv = {cfg.cellctl, "--root", paths.root, "supervise",
                                   "-f", m.log.facility, "-o", m.log.stdout_level,
                                   "-e", m.log.stderr_level, "-t", m.log.tag};
  if (cred) {
    argv.insert(argv.end(), {"-U", std::to_string(cred->uid), "-G", std::to_string(cred->gid)});
  }
  auto lim = [](const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : "unlimited"; };
  argv.insert(argv.end(), {"--rlimit", "nofile=" + lim(m.rlimits.nofile) + ",as=" +
                                           lim(m.rlimits.as) + ",core=" + lim(m.rlimits.core)});
  argv.insert(argv.end(),
              {"--restart-budget", std::to_string(conf.restart_budget_count) + "/" +
                                       std::to_string(conf.restart_budget_window.count() / 1000) + "s",
               "--grace", std::to_string(double(conf.stop_timeout.count()) / 1000.0)});
  if (m.healthcheck) {
    // The supervisor keeps checking after apply: failures past `retries` restart the service.
    argv.insert(argv.end(), {"--health-cmd", m.healthcheck->command, "--health-timeout",
                             format_duration(m.healthcheck->timeout), "--health-interval",
                             format_duration(m.healthcheck->interval), "--health-retries",
                             std::to_string(m.healthcheck->retries)});
  }
  if (m.reload_signal) argv.insert(argv.end(), {"--reload-signal", *m.reload_signal});
  argv.insert(argv.end(), {m.name, "/bin/sh", "-c", service_script(m.command)});
  // `cellctl supervise` exits once its supervisor is ready (the supervisor itself holds only
  // /dev/null), so its exit ends the wait.
  // A cellmgr killed while its supervisor starts takes the launcher with it; a supervisor the
  // launcher already forked holds the cell's supervise lock, so recovery waits for and stops it.
  auto run = run_process(argv, {.die_with_parent = true});
  if (!run) return std::move(run).error().wrap("start supervisor");
  if (run->ok()) return ok_status();
  std::string text = run->err;
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return Error(ErrorKind::kSystem, "start supervisor: " + text);
}

Result<pid_t> supervisor_pid(const Paths& paths, const std::string& name) {
  auto text = CELLS_TRY(read_file(kernel::supervisor_pid_path(paths, name)));
  pid_t pid = 0;
  std::istringstream(text) >> pid;
  return pid;
}

// One cell's start, journaled in OP (the caller holds the writer lock). The steps undo in
// reverse on failure.
Status start_one_in(store::Store& st, store::Operation& op, const Paths& paths,
                    const DesiredSet& set, const CellManifest& m, const LifecycleConfig& cfg,
                    bool with_service = true) {
  const std::string ctx = "start cell " + m.name;
  const std::string base = m.base.value_or(set.conf.default_base);
  auto binds = CELLS_TRY_CTX(binds_for(paths, set, m), ctx);
  auto layout = cell_root_layout(paths, m.name);
  auto runtime = CELLS_TRY_CTX(kernel::Runtime::open(paths), ctx);
  struct stat sb;
  // A first start that fails leaves no runtime directory behind (the cell stays `declared`).
  const bool fresh = ::stat(layout.cell_dir.c_str(), &sb) != 0;

  // Step 1: the operation and its intent, durable before anything is mounted or created, so an
  // interrupted start is visible in the journal (and its mounts are cleaned by the next start
  // or stop of the cell, which always unmounts leftovers first).
  const std::string policy = policy_json(m, base, layout.root);
  CELLS_TRY(op.append({"cell.start", "cell/" + m.name, store::Phase::kIntent, "", policy}));
  auto failed = [&](Error e) -> Status {
    if (fresh && mounts_below(layout.root).value_or(std::vector<std::string>{"?"}).empty()) {
      (void)remove_tree(layout.cell_dir);
    }
    (void)op.append({"cell.start", "cell/" + m.name, store::Phase::kFailed, "", e.message()});
    return std::move(e).wrap(ctx);
  };

  // Step 2: leftovers of an interrupted start (no kernel cell, but mounts) go first.
  if (runtime.find(m.name)) return failed(Error(ErrorKind::kExists, "a kernel cell named " + m.name + " exists already"));
  if (auto s = unmount_cell_root(paths, m.name); !s) return failed(std::move(s).error());

  // Step 3: the CID (durable, never reused) first: a high cell's root is mounted with the ids
  // of the cid's range already mapped (an unused cid only leaves a gap).
  auto cid = st.allocate_cid();
  if (!cid) return failed(std::move(cid).error());
  const kernel::IdRange ids = kernel::id_range_for_cid(*cid);

  // Step 4: the root. From here on failures unmount it again.
  const RootMode mode = m.profile == "high" ? RootMode::kCopyUp : RootMode::kOverlay;
  if (auto s = mount_cell_root(paths, m.name, base, binds, mode, &ids); !s) return failed(std::move(s).error());
  auto unmount = [&] { (void)unmount_cell_root(paths, m.name); };
  auto cred = resolve_run_as(m, layout.root);
  if (!cred) return unmount(), failed(std::move(cred).error());

  // Step 5: the kernel cell.
  kernel::CellSpec spec;
  spec.name = m.name;
  spec.cid = *cid;
  spec.root = layout.root;
  spec.profile = CELLS_TRY(kernel::parse_profile(m.profile));
  spec.root_mapped = mode == RootMode::kCopyUp;
  spec.ports = m.reserved_ports;
  spec.rlimits = {opt(m.rlimits.nofile), opt(m.rlimits.as), opt(m.rlimits.core)};
  std::vector<std::string> writable;
  for (const auto& b : binds) {
    if (!b.read_only) writable.push_back(b.target);
  }
  if (!writable.empty()) {
    spec.writable_paths = kernel::default_writable_paths();
    spec.writable_paths.insert(spec.writable_paths.end(), writable.begin(), writable.end());
  }
  auto info = runtime.create(spec);
  if (!info) return unmount(), failed(std::move(info).error());
  auto destroy = [&] {
    (void)runtime.destroy(m.name, /*force=*/true);
    unmount();
  };

  // Step 6: the supervisor (a daemon of its own; it outlives this command). Apply starts it
  // later, after the plan ran in the created cell (start_service_in).
  if (with_service) {
    if (auto s = start_supervisor(paths, cfg, m, set.conf, *cred); !s) {
      return destroy(), failed(std::move(s).error());
    }
  }
  auto sup_pid = with_service ? supervisor_pid(paths, m.name) : Result<pid_t>(pid_t(0));

  // Step 7: the runtime record, then done.
  store::RuntimeCell rec;
  rec.name = m.name;
  rec.cid = info->cid;
  rec.cgroup_id = info->cgroup_id;
  rec.supervisor_pid = sup_pid.value_or(0);
  rec.start_time_ns = info->created_unix_ns;
  rec.applied_generation = st.current_generation().value_or(0);
  rec.policy = policy;
  if (auto s = op.put_runtime(rec); !s) {
    (void)kernel::stop_supervisor(paths, m.name, set.conf.stop_timeout + std::chrono::seconds(30));
    return destroy(), failed(std::move(s).error());
  }
  CELLS_TRY(op.append({"cell.start", "cell/" + m.name, store::Phase::kDone, "",
                       "cid " + std::to_string(rec.cid)}));
  return ok_status();
}

// One cell's start as one journaled operation of its own.
Status start_one(const Paths& paths, const DesiredSet& set, const CellManifest& m,
                 const LifecycleConfig& cfg) {
  auto st = CELLS_TRY(store::Store::open(paths, store::OpenMode::kReadWrite));
  auto op = CELLS_TRY(st.begin_operation("cell.start", "cell/" + m.name));
  return start_one_in(st, op, paths, set, m, cfg);
}

Status stop_one_in(store::Store& st, store::Operation& op, const Paths& paths,
                   const HostConfig& conf, const std::string& name) {
  const std::string ctx = "stop cell " + name;
  auto old = CELLS_TRY(st.runtime(name));
  CELLS_TRY(op.append({"cell.stop", "cell/" + name, store::Phase::kIntent,
                       old ? old->policy : "", ""}));
  auto failed = [&](Error e) -> Status {
    (void)op.append({"cell.stop", "cell/" + name, store::Phase::kFailed, "", e.message()});
    return std::move(e).wrap(ctx);
  };
  // Step 1: the supervisor; it returns once the service and every process but init are gone.
  auto s = kernel::stop_supervisor(paths, name, conf.stop_timeout + std::chrono::seconds(30));
  if (!s && s.error().kind() != ErrorKind::kNotFound) return failed(std::move(s).error());
  // Step 2: the kernel cell (forced: a straggler such as an exec shell is killed, not waited on).
  auto runtime = kernel::Runtime::open(paths);
  if (!runtime) return failed(std::move(runtime).error());
  if (auto d = runtime->destroy(name, /*force=*/true); !d && d.error().kind() != ErrorKind::kNotFound) {
    return failed(std::move(d).error());
  }
  // Step 3: the mounts, deepest first (the kernel cell held the last reference to its copy).
  if (auto u = unmount_cell_root(paths, name); !u) return failed(std::move(u).error());
  // Step 4: the record says stopped; the applied generation stays for history.
  store::RuntimeCell rec;
  rec.name = name;
  if (old) rec.applied_generation = old->applied_generation;
  if (auto p = op.put_runtime(rec); !p) return failed(std::move(p).error());
  CELLS_TRY(op.append({"cell.stop", "cell/" + name, store::Phase::kDone, "", ""}));
  return ok_status();
}

Status stop_one(const Paths& paths, const HostConfig& conf, const std::string& name) {
  auto st = CELLS_TRY(store::Store::open(paths, store::OpenMode::kReadWrite));
  auto op = CELLS_TRY(st.begin_operation("cell.stop", "cell/" + name));
  return stop_one_in(st, op, paths, conf, name);
}

// NAMES plus their transitive dependencies, in dependency order.
Result<std::vector<std::string>> closure_order(const DesiredSet& set,
                                               const std::vector<std::string>& names) {
  std::map<std::string, const CellManifest*> by_name;
  for (const auto& c : set.cells) by_name[c.name] = &c;
  std::set<std::string> want;
  std::vector<std::string> todo = names;
  while (!todo.empty()) {
    std::string n = todo.back();
    todo.pop_back();
    auto it = by_name.find(n);
    if (it == by_name.end()) return Error::not_found("no cell manifest " + n + " (create it with cellmgr cell create)");
    if (!want.insert(n).second) continue;
    for (const auto& d : it->second->depends_on) todo.push_back(d);
  }
  std::vector<CellManifest> subset;
  for (const auto& n : want) subset.push_back(*by_name[n]);
  return dependency_order(subset);
}

}  // namespace

Status start_cell_in(store::Store& st, store::Operation& op, const Paths& paths,
                     const DesiredSet& set, const CellManifest& m, const LifecycleConfig& cfg,
                     bool with_service) {
  return start_one_in(st, op, paths, set, m, cfg, with_service);
}

Status start_service_in(store::Store& st, store::Operation& op, const Paths& paths,
                        const DesiredSet& set, const CellManifest& m, const LifecycleConfig& cfg) {
  const std::string ctx = "start service of cell " + m.name;
  auto cred = CELLS_TRY_CTX(resolve_run_as(m, cell_root_layout(paths, m.name).root), ctx);
  CELLS_TRY_CTX(start_supervisor(paths, cfg, m, set.conf, cred), ctx);
  auto rec = CELLS_TRY(st.runtime(m.name));
  if (!rec) return Error::not_found(ctx + ": no runtime record");
  rec->supervisor_pid = supervisor_pid(paths, m.name).value_or(0);
  return op.put_runtime(*rec);
}

Status stop_cell_in(store::Store& st, store::Operation& op, const Paths& paths,
                    const HostConfig& conf, const std::string& name) {
  return stop_one_in(st, op, paths, conf, name);
}

bool cell_running(const Paths& paths, const std::string& name) {
  auto st = store::Store::open(paths, store::OpenMode::kReadOnly);
  if (!st) return false;
  auto rec = st->runtime(name);
  struct stat sb;
  return rec && *rec && (*rec)->cid != 0 &&
         ::stat((paths.cgroup_parent() + "/" + name).c_str(), &sb) == 0;
}

std::vector<std::string> running_cells(const Paths& paths) {
  std::set<std::string> out;
  if (auto st = store::Store::open(paths, store::OpenMode::kReadOnly); st) {
    for (const auto& r : st->runtimes().value_or(std::vector<store::RuntimeCell>{})) {
      if (cell_running(paths, r.name)) out.insert(r.name);
    }
  }
  if (auto rt = kernel::Runtime::open(paths); rt) {
    for (const auto& c : rt->list().value_or(std::vector<kernel::CellInfo>{})) out.insert(c.name);
  }
  return {out.begin(), out.end()};
}

Result<std::vector<BindSpec>> binds_for(const Paths& paths, const DesiredSet& set,
                                        const CellManifest& cell) {
  std::vector<BindSpec> out;
  for (const auto& m : cell.mounts) {
    if (m.source == Mount::Source::kHost) {
      out.push_back({m.from, m.target, m.read_only});
      continue;
    }
    auto v = std::find_if(set.volumes.begin(), set.volumes.end(),
                          [&](const VolumeManifest& x) { return x.name == m.from; });
    if (v == set.volumes.end()) return Error::not_found("volume " + m.from + " has no manifest");
    CELLS_TRY(ensure_volume_dir(paths, *v));
    out.push_back({volume_dir(paths, m.from), m.target, m.read_only});
  }
  return out;
}

Result<std::vector<std::string>> start_cells(const Paths& paths,
                                             const std::vector<std::string>& names,
                                             const LifecycleConfig& cfg) {
  DesiredSet set = load_desired(paths.etc_dir());
  if (!set.problems.empty()) return problems_error("refusing to start, the desired state is invalid", set.problems);
  auto order = CELLS_TRY(closure_order(set, names));
  std::vector<std::string> started;
  for (const auto& n : order) {
    if (cell_running(paths, n)) {
      cfg.say("cell " + n + " is already running");
      continue;
    }
    const auto& m = *std::find_if(set.cells.begin(), set.cells.end(),
                                  [&](const CellManifest& c) { return c.name == n; });
    CELLS_TRY(start_one(paths, set, m, cfg));
    cfg.say("Started cell " + n);
    started.push_back(n);
  }
  return started;
}

Result<std::vector<std::string>> stop_cells(const Paths& paths,
                                            const std::vector<std::string>& names,
                                            const LifecycleConfig& cfg) {
  DesiredSet set = load_desired(paths.etc_dir());
  // Dependents stop before what they depend on: reverse dependency order where known.
  std::vector<std::string> order = names;
  if (auto all = dependency_order(set.cells); all) {
    std::vector<std::string> sorted;
    for (auto it = all->rbegin(); it != all->rend(); ++it) {
      if (std::find(names.begin(), names.end(), *it) != names.end()) sorted.push_back(*it);
    }
    for (const auto& n : names) {
      if (std::find(sorted.begin(), sorted.end(), n) == sorted.end()) sorted.push_back(n);
    }
    order = sorted;
  }
  std::vector<std::string> stopped;
  auto running = running_cells(paths);
  for (const auto& n : order) {
    // A running cell needs no look at the mount table (reading it costs ~10 ms at 1,000 cells).
    const bool is_running = std::find(running.begin(), running.end(), n) != running.end();
    if (!is_running && mounts_below(cell_root_layout(paths, n).root)
                           .value_or(std::vector<std::string>{})
                           .empty()) {
      cfg.say("cell " + n + " is not running");
      continue;
    }
    CELLS_TRY(stop_one(paths, set.conf, n));
    cfg.say("Stopped cell " + n);
    stopped.push_back(n);
  }
  return stopped;
}

Result<CellRoot> open_running_root(const Paths& paths, const std::string& name) {
  auto rt = CELLS_TRY(kernel::Runtime::open(paths));
  auto cell = rt.find(name);
  if (!cell) return Error::not_found("cell " + name + " is not running");
  const auto layout = cell_root_layout(paths, name);
  if (!is_mount_point(layout.root)) {
    return Error::not_found("the root of cell " + name + " (" + layout.root + ") is not mounted");
  }
  uint32_t id_base =
      cell->profile == kernel::Profile::kHigh ? kernel::id_range_for_cid(cell->cid).host_base : 0;
  return CellRoot::open(layout.root, id_base);
}

}  // namespace cells::engine
