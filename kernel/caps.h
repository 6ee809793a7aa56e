// Capability half of the cell policy: which capabilities a cell's processes may ever hold.
//
// The bounding set caps what execve() can grant (root's execve gets exactly the bounding set,
// since inheritable and ambient are cleared and NO_NEW_PRIVS disables file capabilities), and
// the permitted/effective sets are cut down at once so that the rules hold even before execve.
#pragma once

#include <cstdint>

#include "base/result.h"
#include "kernel/cell.h"

namespace cells::kernel {

// Bit N set = capability N may stay in the bounding set.
uint64_t caps_keep_mask(Profile profile);

struct CapsPlan {
  uint64_t keep = 0;
  int last_cap = 0;  // /proc/sys/kernel/cap_last_cap of the running kernel
};

Result<CapsPlan> build_caps(Profile profile);

// In the child: drops every capability outside plan.keep from the bounding set, clears the
// ambient and inheritable sets, and masks permitted and effective. Returns 0 or an errno;
// async-signal-safe. Needs CAP_SETPCAP if anything is left to drop from the bounding set.
int caps_enter(const CapsPlan& plan) noexcept;

}  // namespace cells::kernel
