// A high cell's root built by the host with the cell's ids already mapped, so that overlayfs
// can stack layers under it (the pre-apply snapshot, engine/snapshot.h).
//
// overlayfs cannot itself be idmapped (mount_setattr(MOUNT_ATTR_IDMAP) on it is EINVAL), but
// since Linux 5.19 its layers can be idmapped mounts, and since 6.13 they can be passed as
// file descriptors (fsconfig FSCONFIG_SET_FD "lowerdir+", "upperdir", "workdir"), so the
// detached idmapped layers never appear in any mount table. overlayfs does its own work in the
// upper layer (workdir, copy-up, whiteouts) with the credentials of whoever created it; host
// root's uid 0 has no mapping in the layers' idmap (EOVERFLOW, and overlayfs then mounts
// read-only), so the overlay is created with the filesystem ids of the cell's root.
// Host-side writes into the mounted root need the same (engine/rootwrite.h).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

namespace cells::kernel {

// The calling thread's filesystem uid and gid become ID while this lives. The thread keeps its
// capabilities (SECBIT_NO_SETUID_FIXUP), so files it creates belong to ID and it may still
// chown and bypass permission checks. Restores the previous ids and securebits when destroyed
// (scopes nest). Per thread: other threads keep their ids.
class MappedFsIds {
 public:
  static Result<MappedFsIds> enter(uint32_t id);
  MappedFsIds(MappedFsIds&& o) noexcept
      : active_(o.active_), old_bits_(o.old_bits_), old_uid_(o.old_uid_), old_gid_(o.old_gid_) {
    o.active_ = false;
  }
  MappedFsIds& operator=(MappedFsIds&&) = delete;
  MappedFsIds(const MappedFsIds&) = delete;
  ~MappedFsIds();

 private:
  MappedFsIds(int old_bits, uid_t old_uid, gid_t old_gid)
      : active_(true), old_bits_(old_bits), old_uid_(old_uid), old_gid_(old_gid) {}
  bool active_;
  int old_bits_;
  uid_t old_uid_;  // restored, not reset to the euid, so scopes nest
  gid_t old_gid_;
};

// The layers of one mapped overlay, as directories below DIR.
struct MappedOverlay {
  std::string dir;                  // one idmapped clone of this directory holds every layer
  std::vector<std::string> lowers;  // names below DIR, topmost first
  std::string upper, work;          // names below DIR (same filesystem, as overlayfs requires)
};

// A detached overlay mount (nosuid, nodev) of L's layers, each seen through USERNS_FD's
// mapping, created with filesystem ids HOST_ROOT (the host id of the cell's root).
Result<Fd> mapped_overlay(const MappedOverlay& l, int userns_fd, uint32_t host_root);

// A detached recursive clone of the directory PATH seen through USERNS_FD's mapping,
// read-only (and nosuid, nodev) if RO.
Result<Fd> mapped_bind(const std::string& path, int userns_fd, bool ro);

}  // namespace cells::kernel
