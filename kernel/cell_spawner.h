// The cell's init as the forker of the cell's processes, so they all share ONE Landlock domain.
//
// Why: Landlock's signal scope lets a process signal only processes of its own domain (or of
// domains nested in it), and a domain is inherited only across fork. A process that entered
// its own domain at spawn could therefore not signal the service although both live in the
// same cell (`cellctl exec web kill <pid>` failed with EPERM). Instead, the cell's init enters
// the cell's Landlock domain once, at start, and forks every process spawned with
// SpawnOptions::shared_domain; those skip Landlock (they are in the domain already) and enter
// the rest of the policy (capabilities, NO_NEW_PRIVS, seccomp) themselves. Processes of other
// cells are in other domains and stay out of reach (besides living in another PID namespace).
//
// Channel: init holds both ends of a SOCK_SEQPACKET socketpair, kInitSpawnHostFd and
// kInitSpawnFd. The host takes a copy of the first with pidfd_getfd() (root only: it needs
// ptrace rights over init) and sends one message per spawn carrying five descriptors: a reply
// socket, a sealed memfd with the encoded request, and stdin/stdout/stderr. Init forks the
// process (clone3 with CLONE_PIDFD) and sends its pidfd back on the reply socket; the process
// reports a failure before execve as a StatusRecord on the same socket, whose last copy closes
// at execve, so the host reads either a record or EOF. Init reaps these processes; the host
// reads their exit status through the pidfd (PIDFD_INFO_EXIT, Linux 6.15), see wait_spawned().
#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "kernel/cell.h"

namespace cells::kernel {

inline constexpr int kInitSpawnHostFd = 5;  // the end the host copies with pidfd_getfd()
inline constexpr int kInitSpawnFd = 6;      // the end init reads requests from
inline constexpr int kInitLandlockFd = 7;   // the cell's Landlock ruleset, entered by init
// Init's environment carries the filesystem half of its Landlock plan (rules on paths must
// be added inside the cell's mount namespace, after pivot_root):
//   CELLS_LANDLOCK=<restrict_fs 0|1>:<read access>:<write access>
//   CELLS_LANDLOCK_WRITABLE=<path>:<path>...
inline constexpr const char* kInitLandlockEnv = "CELLS_LANDLOCK";
inline constexpr const char* kInitWritableEnv = "CELLS_LANDLOCK_WRITABLE";

struct SpawnLimit {
  int32_t resource = 0;
  uint64_t value = 0;
};

// Everything init's child needs besides its descriptors, prepared by the host.
struct SpawnRequest {
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::vector<std::string> candidates;  // absolute paths to try for the program
  std::string cwd = "/";
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::vector<SpawnLimit> limits;
  uint64_t caps_keep = 0;
  int32_t caps_last_cap = 0;
  std::vector<sock_filter> seccomp;
};

std::string encode_spawn_request(const SpawnRequest& r);
// kCorrupt when the bytes are not one whole request.
Result<SpawnRequest> decode_spawn_request(std::string_view bytes);

// Host side. kUnsupported when the cell's init has no spawn channel (a cell created before
// it existed): the caller then spawns the old way. STDIO are borrowed.
Result<Child> spawn_through_init(int init_pidfd, const SpawnRequest& request,
                                 const int (&stdio)[3], std::string_view what);

// Init side: enters the Landlock domain described by kInitLandlockFd and the environment.
// Returns 0 (also when there is no plan: an init started without one stays unrestricted) or
// an errno.
int init_enter_landlock() noexcept;
// Init side: serves every request waiting on kInitSpawnFd (non-blocking); never throws, and a
// bad request only gets an error reply.
void init_serve_spawns();

}  // namespace cells::kernel
