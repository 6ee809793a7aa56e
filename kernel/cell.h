// The kernel layer's public API: create, find, list, destroy cells and spawn processes in them.
//
// A cell is (DESIGN section 3):
//   - a cgroup v2 directory <Paths::cgroup_parent()>/<name> (its kernel identity: the cgroup
//     id is the directory's inode number); processes are born into it with
//     clone3(CLONE_INTO_CGROUP) and cannot leave it;
//   - a per-cell init process that owns the cell's PID, mount, UTS and IPC namespaces (and, for
//     the high profile, its user namespace), reaps zombies, and samples telemetry every second;
//   - the policy of its profile, enforced by the kernel (seccomp, capability bounding set,
//     cgroup-BPF, Landlock, user namespace + idmapped mounts).
// Every process of a cell (service, exec shells, healthchecks, plan commands) is spawned into
// that same namespace set, cgroup and policy by Runtime::spawn().
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "base/paths.h"
#include "base/result.h"

namespace cells::kernel {

enum class Profile { kLow = 0, kMedium = 1, kHigh = 2 };
std::string_view to_string(Profile p);
Result<Profile> parse_profile(std::string_view s);  // "low" | "medium" | "high"

// Per-process resource limits applied to processes spawned in the cell. nullopt = unlimited.
struct Rlimits {
  std::optional<uint64_t> nofile;
  std::optional<uint64_t> as;
  std::optional<uint64_t> core;
};

struct CellSpec {
  std::string name;             // [A-Za-z0-9._-]{1,63}
  uint32_t cid = 0;             // allocated by the caller (the store keeps the counter)
  std::string root;             // absolute path of an existing directory, prepared by the caller
  Profile profile = Profile::kHigh;
  std::vector<uint16_t> ports;  // reserved ports, 1..65535, at most 32, unique across cells
  Rlimits rlimits;
  // Paths inside the cell that stay writable under the high profile's Landlock rules
  // (the overlay's own dirs and rw volume targets). Empty = the kernel layer's defaults.
  std::vector<std::string> writable_paths;
  // High only: ROOT's mounts already show the ids of the cell's range (the caller built them
  // idmapped, kernel/mapped_root.h), so the runtime uses the tree as it is.
  bool root_mapped = false;
};

struct CellInfo {
  uint32_t cid = 0;
  std::string name;
  std::string root;
  Profile profile = Profile::kHigh;
  std::vector<uint16_t> ports;
  Rlimits rlimits;
  std::vector<std::string> writable_paths;  // as CellSpec; empty = the kernel layer's defaults
  uint64_t cgroup_id = 0;
  pid_t init_pid = 0;          // host pid of the cell's init
  int64_t created_unix_ns = 0;  // wall clock at creation (age = now - created)
};

// Who a spawned process runs as. Inside a high-profile cell the ids are those of the cell's
// user namespace (0 = the cell's root, which is an unprivileged uid on the host).
struct Credentials {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups; empty clears them
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in the cell's PATH if not absolute
  std::string program;            // the file to exec when it differs from argv[0] (login
                                  // shells: program "/bin/sh", argv[0] "-sh"); same lookup
  std::vector<std::string> env;   // "K=V"; empty = a minimal default environment
  std::optional<Credentials> run_as;
  Rlimits rlimits;                // applied on top of the cell's own rlimits
  int stdin_fd = -1;              // -1 = /dev/null
  int stdout_fd = -1;
  int stderr_fd = -1;
  bool new_session = true;        // setsid() in the child
  std::string cwd = "/";
  // Fork the process from the cell's init, inside the cell's one Landlock domain, so that
  // every process spawned this way (the service, exec shells, healthchecks) can signal the
  // others while other cells stay out of reach (cell_spawner.h). The child is then NOT the
  // caller's child: wait for it with wait_spawned(), and it always gets a session of its own
  // (new_session is implied). False keeps the original behaviour: the caller's own child, in
  // a Landlock domain of its own.
  bool shared_domain = false;
};

struct Child {
  pid_t pid = -1;  // host pid
  Fd pidfd;        // for waiting (waitid(P_PIDFD)) and signalling without pid reuse races
  // Spawned with shared_domain: the cell's init is its parent and reaps it; its exit status
  // is read through the pidfd (wait_spawned), waitid() on it fails with ECHILD.
  bool reaped_by_cell = false;
};

// The wait status (as waitpid's) of CHILD once it has exited, for both kinds of children;
// reaps it if it is the caller's. try_wait_spawned returns nullopt while it still runs.
Result<int> wait_spawned(Child& child);
Result<std::optional<int>> try_wait_spawned(Child& child);

class Runtime {
 public:
  // Opens the runtime of one installation. Probes the kernel features the policy needs and
  // fails naming the first one that is missing (never a silent downgrade).
  static Result<Runtime> open(const Paths& paths);

  // Validates everything before committing anything; on any failure nothing is left behind
  // (no cgroup, pin, mount or process).
  Result<CellInfo> create(const CellSpec& spec);
  // The checks create() makes before it commits anything, for callers that must commit
  // something of their own first (cellctl allocates the cid in the store only for a spec that
  // passes): name, ports, root, profile, and conflicts with live cells. SPEC.cid is ignored.
  Status check(const CellSpec& spec) const;
  // Host pids of every process in the cell's cgroup, its init included.
  Result<std::vector<pid_t>> pids(const CellInfo& cell) const;
  // A numeric argument is looked up as a cid first, otherwise as an exact name.
  Result<CellInfo> find(std::string_view cid_or_name) const;
  // The registry record of NAME as written, without opening its cgroup: for a caller that
  // checks the cgroup itself (a live record's cgroup_id is the inode of the cgroup directory).
  Result<CellInfo> record(std::string_view name) const;
  Result<std::vector<CellInfo>> list() const;
  // Refused (kBusy) while processes other than init live, unless FORCE: then everything in
  // the cell is killed through cgroup.kill and this returns once the cgroup is empty.
  Status destroy(std::string_view cid_or_name, bool force);
  // The child is the caller's own child (clone3 with CLONE_PARENT from a short-lived helper
  // that joined the cell's namespaces), so waitid(P_PIDFD, child.pidfd) works; the caller
  // must reap it: a dying cell's init waits for every zombie of its PID namespace. Returns
  // once the child has exec'd; a failure before execve is an Error naming the step.
  Result<Child> spawn(const CellInfo& cell, const SpawnOptions& opts);

  const Paths& paths() const { return paths_; }

 private:
  explicit Runtime(Paths paths) : paths_(std::move(paths)) {}
  Paths paths_;
};

}  // namespace cells::kernel
