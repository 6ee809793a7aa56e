// BpfPolicy: the cgroup-BPF half of the cell policy (DESIGN section 3), pinned in bpffs.
//
// One set of programs per installation instance (Paths::instance()), attached to the cgroup2
// root with BPF_F_ALLOW_MULTI and pinned (links and maps) under Paths::bpf_pin_dir(), so they
// keep enforcing after the loading process exits and several instances coexist. Programs:
//   bind4 / bind6  a reserved port may be bound only by processes of its owner cell; other
//                  cells and host non-root processes get EPERM; host root is never restricted
//   sysctl         cells of profile medium/high cannot write sysctls
//   dev            cells of profile medium/high may only use the device allow-list
//   sock_create    cells of profile medium/high cannot open raw inet sockets
// A cell is recognised by its cgroup id (the cell directory, or any descendant of it).
// Denials are counted per cell and kind in a pinned map.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/paths.h"
#include "base/result.h"
#include "kernel/cell.h"

namespace cells::kernel {

enum class DenialKind { kBind = 0, kSysctl = 1, kDevice = 2, kSocket = 3 };
inline constexpr int kDenialKinds = 4;
std::string_view to_string(DenialKind k);  // "bind", "sysctl", "device", "socket"

// The one adapter for libbpf's error convention: RC is a negative errno (libbpf 1.x returns
// -errno from int functions and sets errno when a pointer result is NULL; pass -errno then).
Error from_libbpf(int rc, std::string_view op);

// Depth of a cell's cgroup below the cgroup2 root for PATHS: the cgroup2 root is level 0,
// Paths::cgroup_parent() is level 1 ("/sys/fs/cgroup/unified/<instance>"), a cell is one more.
Result<uint32_t> cell_cgroup_level(const Paths& paths);

// At most this many ports per cell (CellSpec::ports).
inline constexpr size_t kMaxPortsPerCell = 32;

struct DenialCounts {
  uint64_t by_kind[kDenialKinds] = {};
};

class BpfPolicy {
 public:
  // Mounts bpffs at /sys/fs/bpf if it is not mounted, then reuses the pinned programs and maps
  // of this instance, or loads, attaches and pins them when missing (e.g. after a reboot).
  static Result<BpfPolicy> ensure_loaded(const Paths& paths);
  // The pinned maps of an instance that is loaded already, loading nothing (an error naming the
  // pin when one is missing). For readers like the supervisor, whose binary then links no loader.
  static Result<BpfPolicy> open_loaded(const Paths& paths);

  // Records CGROUP_ID as cell CID with PROFILE and reserves PORTS for it. Fails with kExists,
  // naming the port and its owner cid, if another cell owns one; then nothing is recorded.
  Status register_cell(uint64_t cgroup_id, uint32_t cid, Profile profile,
                       std::span<const uint16_t> ports);
  // Forgets the cell and releases its ports. Unknown cells are not an error.
  Status unregister_cell(uint64_t cgroup_id, uint32_t cid);
  // Forgets whatever cell CGROUP_ID was registered as (a create killed before its registry
  // record: the caller knows the cgroup, not the cid). Unknown cgroups are not an error.
  Status forget_cgroup(uint64_t cgroup_id);
  // The cid owning PORT in this instance, or 0.
  Result<uint32_t> port_owner(uint16_t port) const;
  Result<DenialCounts> denials(uint32_t cid) const;

  // Detaches and unpins everything of this instance (tests, `cellmgr system reset`).
  static Status unload(const Paths& paths);

  BpfPolicy(BpfPolicy&&) noexcept;
  BpfPolicy& operator=(BpfPolicy&&) noexcept;
  ~BpfPolicy();

 private:
  BpfPolicy();
  struct Maps;  // fds of the pinned maps
  Maps* maps_;
};

}  // namespace cells::kernel
