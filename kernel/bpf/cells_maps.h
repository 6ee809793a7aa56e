/* Layouts of the pinned maps' keys and values, shared by the BPF programs (cells.bpf.c) and the
 * loader (kernel/bpf_policy.cc). Plain C with fixed-width UAPI types so both compilers agree on
 * the layout; a change here is a change of the pinned format, so pins of an older build must be
 * unloaded first. */
#ifndef CELLS_KERNEL_BPF_CELLS_MAPS_H_
#define CELLS_KERNEL_BPF_CELLS_MAPS_H_

#include <linux/types.h>

/* Value of the `cells` map, keyed by the cell's cgroup id (the inode of its cgroup v2 dir). */
struct cell_entry {
  __u32 cid;
  __u32 profile; /* 0 low, 1 medium, 2 high (cells::kernel::Profile) */
};

/* Key of the `denials` map; the value is a u64 counter. cid 0 = a host process. */
struct denial_key {
  __u32 cid;
  __u32 kind; /* 0 bind, 1 sysctl, 2 device, 3 socket (cells::kernel::DenialKind) */
};

#define CELLS_MAX_CELLS 8192
#define CELLS_MAX_DENIAL_KEYS (4 * (CELLS_MAX_CELLS + 1))

#endif /* CELLS_KERNEL_BPF_CELLS_MAPS_H_ */
