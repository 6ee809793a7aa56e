// The cgroup-BPF half of the cell policy (see kernel/bpf_policy.h for the rules).
//
// One copy of these programs is loaded per cells instance and attached to the cgroup2 root
// with BPF_F_ALLOW_MULTI, so every process on the host runs them; a process that is neither in
// one of this instance's cells nor binding one of its ports is left alone. When several
// instances are attached, the kernel ANDs their verdicts.
//
// Return values follow the cgroup-BPF convention: 1 lets the operation proceed, 0 makes the
// system call fail with EPERM.
#include <linux/bpf.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "cells_maps.h"

// Kept local: <sys/socket.h> and <linux/socket.h> do not build for the bpf target.
#define CELLS_AF_INET 2
#define CELLS_AF_INET6 10
#define CELLS_SOCK_RAW 3

enum { kProfileLow = 0 };
enum { kKindBind = 0, kKindSysctl = 1, kKindDevice = 2, kKindSocket = 3 };

// Depth of a cell's cgroup below the cgroup2 root; set by the loader between open and load
// from Paths::cgroup_parent(), so sub-cgroups of a cell resolve to the cell.
const volatile __u32 cell_level = 2;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, CELLS_MAX_CELLS);
  __type(key, __u64);  // cgroup id
  __type(value, struct cell_entry);
} cells SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, __u16);  // port, host byte order
  __type(value, __u32);  // owner cid
} ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, CELLS_MAX_DENIAL_KEYS);
  __type(key, struct denial_key);
  __type(value, __u64);
} denials SEC(".maps");

// The cell of the current task: its own cgroup first (the common case, one lookup), then the
// ancestor at the cell level so that processes in a cell's sub-cgroups count as the cell.
static __always_inline struct cell_entry *current_cell(void) {
  __u64 id = bpf_get_current_cgroup_id();
  struct cell_entry *cell = bpf_map_lookup_elem(&cells, &id);
  if (cell) return cell;
  id = bpf_get_current_ancestor_cgroup_id(cell_level);
  if (id == 0) return 0;  // the task sits above the cell level
  return bpf_map_lookup_elem(&cells, &id);
}

static __always_inline int deny(__u32 cid, __u32 kind) {
  struct denial_key key = {.cid = cid, .kind = kind};
  __u64 *count = bpf_map_lookup_elem(&denials, &key);
  if (!count) {
    __u64 zero = 0;
    // Another CPU may insert the key first; either way the lookup below finds it.
    bpf_map_update_elem(&denials, &key, &zero, BPF_NOEXIST);
    count = bpf_map_lookup_elem(&denials, &key);
  }
  if (count) __sync_fetch_and_add(count, 1);
  return 0;
}

static __always_inline int check_bind(__u32 user_port_be) {
  __u16 port = bpf_ntohs((__u16)user_port_be);
  if (port == 0) return 1;  // "any port": the kernel picks one that nobody reserved
  __u32 *owner = bpf_map_lookup_elem(&ports, &port);
  if (!owner) return 1;
  struct cell_entry *cell = current_cell();
  if (cell) return cell->cid == *owner ? 1 : deny(cell->cid, kKindBind);
  // Not in a cell of this instance: host root is the operator and is never restricted.
  __u32 uid = (__u32)bpf_get_current_uid_gid();
  if (uid == 0) return 1;
  return deny(0, kKindBind);
}

SEC("cgroup/bind4")
int cells_bind4(struct bpf_sock_addr *ctx) { return check_bind(ctx->user_port); }

SEC("cgroup/bind6")
int cells_bind6(struct bpf_sock_addr *ctx) { return check_bind(ctx->user_port); }

SEC("cgroup/sysctl")
int cells_sysctl(struct bpf_sysctl *ctx) {
  if (!ctx->write) return 1;
  struct cell_entry *cell = current_cell();
  if (!cell || cell->profile == kProfileLow) return 1;
  return deny(cell->cid, kKindSysctl);
}

// Character devices a medium/high cell may create or open: what a minimal /dev needs.
static __always_inline int char_dev_allowed(__u32 major, __u32 minor) {
  if (major == 1) return minor == 3 || minor == 5 || minor == 7 || minor == 8 || minor == 9;
  if (major == 5) return minor == 0 || minor == 2;  // tty, ptmx
  return major == 136;                               // pts/*
}

SEC("cgroup/dev")
int cells_dev(struct bpf_cgroup_dev_ctx *ctx) {
  struct cell_entry *cell = current_cell();
  if (!cell || cell->profile == kProfileLow) return 1;
  __u32 type = ctx->access_type & 0xffff;
  if (type == BPF_DEVCG_DEV_CHAR && char_dev_allowed(ctx->major, ctx->minor)) return 1;
  return deny(cell->cid, kKindDevice);
}

// Only runs for AF_INET/AF_INET6 sockets; packet sockets are left to seccomp and capabilities.
SEC("cgroup/sock_create")
int cells_sock_create(struct bpf_sock *ctx) {
  if (ctx->type != CELLS_SOCK_RAW) return 1;
  if (ctx->family != CELLS_AF_INET && ctx->family != CELLS_AF_INET6) return 1;
  struct cell_entry *cell = current_cell();
  if (!cell || cell->profile == kProfileLow) return 1;
  return deny(cell->cid, kKindSocket);
}

char LICENSE[] SEC("license") = "GPL";
