// The high profile's user namespace: root in the cell is an unprivileged uid on the host.
//
// ID scheme: cell CID maps ids 0..65535 of its namespace to host ids
//   base(cid) = 2^30 + 65536 * (cid mod 49151)
// i.e. 1073741824 upwards, above the ranges hosts hand out to users (< 2^16) and to
// /etc/subuid (100000 + 65536 * n). 49151 slots fit below 2^32 - 1 (an invalid uid); cids are
// never reused, so two live cells share a range only if 49151 cells were created in between.
//
// How it is used (see init.cc for the reasons): the namespace is created *before* the cell's
// init, by a short-lived helper, so that init can build its mounts as host root (idmapped
// mounts need CAP_SYS_ADMIN in the initial namespace) and join the namespace last. The mount,
// PID, UTS, IPC and cgroup namespaces therefore stay owned by the initial user namespace:
// root in the cell has no capability over them (it cannot mount, or set the hostname), only
// over its own uid range.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace cells::kernel {

inline constexpr uint32_t kIdRangeSize = 65536;

struct IdRange {
  uint32_t host_base = 0;
  uint32_t count = kIdRangeSize;
};

IdRange id_range_for_cid(uint32_t cid);

// A user namespace whose ids 0..count-1 map to RANGE on the host (uid and gid alike), held
// open by an fd (it lives while the fd or a member process does).
Result<Fd> create_user_namespace(const IdRange& range);

// A detached copy of the mount tree at PATH (recursive) whose files owned by host ids appear
// through USERNS's mapping, so the cell's root owns the files host root owns on disk.
Result<Fd> idmapped_tree(const std::string& path, int userns_fd);

// A detached recursive copy of the mount tree at PATH without id mapping (low, medium).
Result<Fd> plain_tree(const std::string& path);

}  // namespace cells::kernel
