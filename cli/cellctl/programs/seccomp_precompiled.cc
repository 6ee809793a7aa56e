// The seccomp filters compiled at build time (kernel/seccomp.h, precompiled_seccomp_filter).
#include <linux/filter.h>

#include "kernel/seccomp.h"

namespace cells::kernel {
namespace {
#include "seccomp_filters.inc"
}  // namespace

std::span<const sock_filter> precompiled_seccomp_filter(Profile profile) {
  switch (profile) {
    case Profile::kLow: return kLowFilter;
    case Profile::kMedium: return kMediumFilter;
    case Profile::kHigh: return kHighFilter;
  }
  return {};
}

}  // namespace cells::kernel
