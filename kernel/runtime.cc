// Runtime: create, find, list and destroy cells. Spawning is in runtime_spawn.cc.
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <functional>
#include <optional>
#include <set>

#include "kernel/bpf_policy.h"
#include "kernel/cell.h"
#include "kernel/cgroup.h"
#include "kernel/features.h"
#include "kernel/init_setup.h"
#include "kernel/instance_sampler.h"
#include "kernel/landlock.h"
#include "kernel/namespaces.h"
#include "kernel/policy.h"
#include "kernel/registry.h"
#include "kernel/rootfs.h"
#include "kernel/seed_ns.h"
#include "kernel/telemetry.h"
#include "kernel/userns.h"

namespace cells::kernel {
namespace {

constexpr auto kStopTimeout = std::chrono::seconds(10);

// Undo actions registered while a create commits, run in reverse unless dismissed.
class Rollback {
 public:
  Rollback() = default;
  Rollback(const Rollback&) = delete;
  Rollback& operator=(const Rollback&) = delete;
  ~Rollback() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
  }
  void add(std::function<void()> f) { undo_.push_back(std::move(f)); }
  void dismiss() { undo_.clear(); }

 private:
  std::vector<std::function<void()>> undo_;
};

int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 10 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Status validate_spec(const CellSpec& spec) {
  CELLS_TRY(validate_cell_name(spec.name));
  if (spec.ports.size() > kMaxPorts) {
    return Error::invalid(std::to_string(spec.ports.size()) + " reserved ports given; at most " +
                          std::to_string(kMaxPorts) + " are allowed");
  }
  std::set<uint16_t> seen;
  for (uint16_t p : spec.ports) {
    if (p == 0) return Error::invalid("port 0 cannot be reserved (ports are 1..65535)");
    if (!seen.insert(p).second) {
      return Error::invalid("port " + std::to_string(p) + " is given twice");
    }
  }
  CELLS_TRY(check_root(spec.root));
  // The registry stores the list ':'-separated; Landlock validates the rest when the cell's
  // policy is prepared (below, before anything is committed).
  for (const auto& w : spec.writable_paths) {
    if (w.empty() || w[0] != '/' || w.find(':') != std::string::npos ||
        w.find('\n') != std::string::npos) {
      return Error::invalid("writable path '" + w +
                            "' must be absolute and contain no ':' or newline");
    }
  }
  if (spec.profile == Profile::kHigh && !spec.writable_paths.empty()) {
    LandlockOptions ll;
    ll.restrict_fs = true;
    ll.writable = spec.writable_paths;
    CELLS_TRY(build_landlock(ll));  // refuses relative or non-normalised paths by name
  }
  switch (spec.profile) {
    case Profile::kLow:
    case Profile::kMedium:
    case Profile::kHigh:
      break;
    default:
      return Error::invalid("unknown profile " + std::to_string(static_cast<int>(spec.profile)));
  }
  return ok_status();
}

// What makes SPEC clash with the cell OTHER (its cid or a reserved port), or "".
std::string clash(const CellSpec& spec, const CellInfo& other) {
  if (spec.cid != 0 && other.cid == spec.cid) {
    return "cell id " + std::to_string(spec.cid) + " is used by cell " + other.name;
  }
  for (uint16_t p : spec.ports) {
    if (std::find(other.ports.begin(), other.ports.end(), p) != other.ports.end()) {
      return "port " + std::to_string(p) + " is reserved by cell " + other.name + " (cid " +
             std::to_string(other.cid) + ")";
    }
  }
  return "";
}

// A new cell must not share its name, cid or any reserved port with a live cell. The registry's
// index names the records that could clash; only those are read, and only a record that does
// clash is checked for being live (a stale one is dropped, as list() drops it): a create among
// N cells reads a record per port, not N.
Status check_conflicts(const CellSpec& spec, const Registry& registry, const Paths& paths) {
  if (CellCgroup::exists(paths.cgroup_parent(), spec.name)) {
    return Error(ErrorKind::kExists, "a cell named " + spec.name + " exists already");
  }
  for (const auto& name : CELLS_TRY(registry.claimants(spec.cid, spec.ports))) {
    auto other = registry.load(name);
    if (!other) {
      if (other.error().kind() == ErrorKind::kNotFound) continue;  // removed meanwhile
      return std::move(other).error();
    }
    std::string why = clash(spec, *other);
    if (why.empty()) continue;
    auto cg = CellCgroup::open(paths.cgroup_parent(), name);
    if (!cg || cg->id() != other->cgroup_id) {
      (void)registry.remove(name);
      continue;
    }
    return Error(ErrorKind::kExists, why);
  }
  return ok_status();
}

// Stops every process of the cell and waits for the cgroup to empty.
Status kill_and_wait(const CellCgroup& cg) {
  CELLS_TRY(cg.kill());
  return cg.wait_empty(std::chrono::duration_cast<std::chrono::milliseconds>(kStopTimeout));
}

// Reaps INIT_PID if it is our own child (a test or a long-lived caller that created the cell);
// for anyone else's pid this is ECHILD at once. Called only after the cgroup emptied, when
// init is exiting: the cgroup reports empty slightly before the task becomes a zombie, so a
// single WNOHANG would race. The wait is bounded because a dying namespace init also waits
// for every zombie of its namespace, and processes spawned with CLONE_PARENT are the
// caller's to reap: a caller that has not reaped them yet would otherwise deadlock here.
void reap_if_child(pid_t init_pid) {
  if (init_pid <= 0) return;
  for (int i = 0; i < 200; ++i) {
    siginfo_t si{};
    if (waitid(P_PID, static_cast<id_t>(init_pid), &si, WEXITED | WNOHANG) < 0) return;
    if (si.si_pid == init_pid) return;
    usleep(1000);
  }
}

}  // namespace

Result<Runtime> Runtime::open(const Paths& paths) {
  CELLS_TRY(require_features(probe_features(/*deep=*/false)));
  return Runtime(paths);
}

Result<CellInfo> Runtime::create(const CellSpec& spec) {
  const std::string ctx = "create cell " + spec.name;
  // Step 1: every check that needs no lock, so bad input changes nothing.
  CELLS_TRY_CTX(validate_spec(spec), ctx);
  if (spec.cid == 0) return Error::invalid(ctx + ": cell id 0 is the host; cells start at 1");
  std::string program = CELLS_TRY_CTX(find_init_program(), ctx);
  CELLS_TRY_CTX(find_sampler_program(), ctx);

  // Step 2: under the registry lock, uniqueness of name, cid and ports among live cells.
  Registry registry(paths_);
  Fd lock = CELLS_TRY_CTX(registry.lock(), ctx);
  CELLS_TRY_CTX(check_conflicts(spec, registry, paths_), ctx);

  // Step 3: the kernel identity. From here on every step registers its undo.
  // (The objects the undo actions use are declared before the Rollback, so they outlive it.)
  std::optional<CellCgroup> cg_holder;
  std::optional<BpfPolicy> bpf_holder;
  std::optional<SnapshotFile> snapshot_holder;
  Rollback rollback;
  CELLS_TRY_CTX(ensure_mount_points(spec.root), ctx);
  cg_holder.emplace(CELLS_TRY_CTX(CellCgroup::create(paths_.cgroup_parent(), spec.name), ctx));
  CellCgroup& cg = *cg_holder;
  rollback.add([&cg] { (void)cg.remove(); });

  // Step 4: cgroup-BPF knows the cell (ports, profile) before any of its processes exists,
  // so no process of the cell ever runs unrestricted.
  bpf_holder.emplace(CELLS_TRY_CTX(BpfPolicy::ensure_loaded(paths_), ctx));
  BpfPolicy& bpf = *bpf_holder;
  CELLS_TRY_CTX(bpf.register_cell(cg.id(), spec.cid, spec.profile, spec.ports), ctx);
  rollback.add([&bpf, &cg, &spec] { (void)bpf.unregister_cell(cg.id(), spec.cid); });

  // Step 5: the root tree init will pivot into; high maps its ids through the cell's user
  // namespace, which must therefore exist before init.
  Fd userns;
  Fd tree;
  if (spec.profile == Profile::kHigh) {
    userns = CELLS_TRY_CTX(create_user_namespace(id_range_for_cid(spec.cid)), ctx);
    tree = spec.root_mapped ? CELLS_TRY_CTX(plain_tree(spec.root), ctx)
                            : CELLS_TRY_CTX(idmapped_tree(spec.root, userns.get()), ctx);
  } else {
    tree = CELLS_TRY_CTX(plain_tree(spec.root), ctx);
  }

  // telemetry: the cell's slot holds its identity before init; the instance's sampler finds
  // the cell there once its record exists (instance_sampler.h).
  int64_t created_unix_ns = now_unix_ns();
  SnapshotFile& snapshot = snapshot_holder.emplace(CELLS_TRY_CTX(SnapshotFile::open_rw(paths_), ctx));
  CELLS_TRY_CTX(snapshot.publish_identity(spec.cid, spec.name, spec.root, created_unix_ns), ctx);
  rollback.add([&snapshot, &spec] { (void)snapshot.clear(spec.cid); });

  // Step 6: init, born into the cgroup and the cell's namespaces. It enters the cell's
  // Landlock domain itself (the rules on paths resolve only inside the cell's root) and forks
  // the processes spawned with shared_domain, which therefore share that one domain.
  CellInfo policy_view;
  policy_view.name = spec.name;
  policy_view.profile = spec.profile;
  policy_view.ports = spec.ports;
  policy_view.writable_paths = spec.writable_paths;
  PreparedPolicy init_policy = CELLS_TRY_CTX(prepare_policy(policy_view), ctx);
  // The seed is made (once per instance) under the registry lock, which serialises creators.
  Fd seed = CELLS_TRY_CTX(ensure_seed_mount_ns(paths_), ctx);
  InitLaunch launch{spec.name, spec.cid, spec.root, cg.fd(), seed.get(), tree.get(),
                    userns.valid() ? userns.get() : -1, program};
  launch.landlock = &init_policy.landlock;
  LaunchedInit init = CELLS_TRY(launch_init(launch));
  rollback.add([&cg, pid = init.pid] {
    (void)kill_and_wait(cg);
    reap_if_child(pid);
  });

  // Step 7: the record that makes find/list see the cell; written last, so a record always
  // describes a cell whose cgroup and init exist.
  CellInfo info;
  info.cid = spec.cid;
  info.name = spec.name;
  info.root = spec.root;
  info.profile = spec.profile;
  info.ports = spec.ports;
  info.rlimits = spec.rlimits;
  info.writable_paths = spec.writable_paths;
  info.cgroup_id = cg.id();
  info.init_pid = init.pid;
  info.created_unix_ns = created_unix_ns;
  CELLS_TRY_CTX(registry.save(info), ctx);
  rollback.dismiss();
  // Step 8: the instance's sampler, started unless it runs. The cell exists whatever happens
  // here: a sampler that cannot start now is started by the next create or supervisor (and
  // step 1 already refused an installation without the program).
  (void)ensure_sampler(paths_);
  return info;
}

Status Runtime::check(const CellSpec& spec) const {
  const std::string ctx = "create cell " + spec.name;
  CELLS_TRY_CTX(validate_spec(spec), ctx);
  CELLS_TRY_CTX(find_init_program(), ctx);
  CELLS_TRY_CTX(find_sampler_program(), ctx);
  CELLS_TRY_CTX(check_conflicts(spec, Registry(paths_), paths_), ctx);
  return ok_status();
}

Result<std::vector<pid_t>> Runtime::pids(const CellInfo& cell) const {
  CellCgroup cg = CELLS_TRY(CellCgroup::open(paths_.cgroup_parent(), cell.name));
  if (cg.id() != cell.cgroup_id) return Error::not_found("cell " + cell.name + " is gone");
  return cg.pids();
}

Result<CellInfo> Runtime::find(std::string_view cid_or_name) const {
  if (all_digits(cid_or_name)) {
    uint64_t cid = std::stoull(std::string(cid_or_name));
    auto cells = CELLS_TRY(list());
    for (auto& c : cells) {
      if (c.cid == cid) return c;
    }
    // Not a cid: a name made of digits is valid, so fall through to the name lookup.
  }
  CELLS_TRY(validate_cell_name(cid_or_name));
  Registry registry(paths_);
  CellInfo info = CELLS_TRY(registry.load(cid_or_name));
  auto cg = CellCgroup::open(paths_.cgroup_parent(), info.name);
  if (!cg || cg->id() != info.cgroup_id) {
    (void)registry.remove(info.name);  // stale: the cgroup is gone (or is another cell's)
    return Error::not_found("no cell named '" + std::string(cid_or_name) + "'");
  }
  return info;
}

Result<CellInfo> Runtime::record(std::string_view name) const {
  CELLS_TRY(validate_cell_name(name));
  return Registry(paths_).load(name);
}

Result<std::vector<CellInfo>> Runtime::list() const {
  Registry registry(paths_);
  std::vector<CellInfo> out;
  for (const auto& name : CELLS_TRY(registry.names())) {
    auto info = registry.load(name);
    if (!info) {
      if (info.error().kind() == ErrorKind::kNotFound) continue;  // removed meanwhile
      return std::move(info).error();
    }
    auto cg = CellCgroup::open(paths_.cgroup_parent(), name);
    if (!cg || cg->id() != info->cgroup_id) {
      (void)registry.remove(name);
      continue;
    }
    out.push_back(std::move(*info));
  }
  std::sort(out.begin(), out.end(),
            [](const CellInfo& a, const CellInfo& b) { return a.cid < b.cid; });
  return out;
}

Status Runtime::destroy(std::string_view cid_or_name, bool force) {
  Registry registry(paths_);
  Fd lock = CELLS_TRY(registry.lock());
  auto found = find(cid_or_name);
  if (!found && found.error().kind() == ErrorKind::kNotFound &&
      validate_cell_name(cid_or_name).ok() &&
      CellCgroup::exists(paths_.cgroup_parent(), std::string(cid_or_name))) {
    // A create killed between its cgroup and its registry record (found by tools/crashtest
    // apply): the cgroup, whatever runs in it, and its BPF registration go.
    const std::string ctx = "destroy unregistered cell " + std::string(cid_or_name);
    CellCgroup cg = CELLS_TRY_CTX(CellCgroup::open(paths_.cgroup_parent(), std::string(cid_or_name)), ctx);
    CELLS_TRY_CTX(kill_and_wait(cg), ctx);
    // Its BPF registration (if it got that far) goes, or its ports would stay reserved.
    BpfPolicy bpf = CELLS_TRY_CTX(BpfPolicy::ensure_loaded(paths_), ctx);
    CELLS_TRY_CTX(bpf.forget_cgroup(cg.id()), ctx);
    CELLS_TRY_CTX(cg.remove(), ctx);
    (void)rmdir(paths_.cgroup_parent().c_str());
    return ok_status();
  }
  CellInfo info = CELLS_TRY(std::move(found));
  const std::string ctx = "destroy cell " + info.name;
  CellCgroup cg = CELLS_TRY_CTX(CellCgroup::open(paths_.cgroup_parent(), info.name), ctx);
  auto pids = CELLS_TRY_CTX(cg.pids(), ctx);
  bool init_alive = std::find(pids.begin(), pids.end(), info.init_pid) != pids.end();
  size_t others = pids.size() - (init_alive ? 1 : 0);
  if (others > 0 && !force) {
    return Error(ErrorKind::kBusy, "cell " + info.name + " has " + std::to_string(others) +
                                       (others == 1 ? " process" : " processes") +
                                       "; use --force");
  }
  // cgroup.kill rather than SIGTERM to init: it reaches every process at once, including
  // ones that were born between the count above and now.
  CELLS_TRY_CTX(kill_and_wait(cg), ctx);
  // Only a pid seen in the cgroup above is surely still init (unreaped pids are not reused).
  if (init_alive) reap_if_child(info.init_pid);
  // BPF forgets the cell before its (now empty) cgroup goes. A destroy killed between the
  // two then leaves a registry record naming a live cgroup, which the next destroy finishes;
  // in the other order list() dropped the record of the vanished cgroup and the registration
  // kept the cell's ports reserved for good (found by tools/crashtest apply 100, kill 41).
  BpfPolicy bpf = CELLS_TRY_CTX(BpfPolicy::ensure_loaded(paths_), ctx);
  CELLS_TRY_CTX(bpf.unregister_cell(info.cgroup_id, info.cid), ctx);
  CELLS_TRY_CTX(cg.remove(), ctx);
  CELLS_TRY_CTX(registry.remove(info.name), ctx);
  // telemetry: a destroyed cell leaves list/stats (its cid is never reused).
  if (auto snapshot = SnapshotFile::open_rw(paths_); snapshot.ok()) (void)snapshot->clear(info.cid);
  // The instance's parent cgroup goes with its last cell (it is re-made on demand), so
  // scratch roots leave nothing behind; a non-empty parent simply stays.
  (void)rmdir(paths_.cgroup_parent().c_str());
  return ok_status();
}

}  // namespace cells::kernel
