// The kernel features cells depends on (DESIGN section 3), probed once per Runtime::open and
// printed as a table by `cellmgr system bootstrap`. A missing feature is an Error naming it:
// cells never downgrades silently to weaker isolation.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"

namespace cells::kernel {

struct Feature {
  std::string name;    // "cgroup2", "clone_into_cgroup", "user_namespaces", ...
  bool present = false;
  std::string detail;  // what was found ("ABI 7", "mounted at ...") or why it is missing
};

// Cheap checks (a few stat/statfs calls and one syscall each), suitable for every command.
// DEEP also starts and reaps short-lived processes to prove CLONE_INTO_CGROUP and user
// namespaces work (about a millisecond); bootstrap and tests use it.
std::vector<Feature> probe_features(bool deep);

// ok, or kUnsupported naming the first missing feature and why.
Status require_features(const std::vector<Feature>& features);

// "FEATURE  PRESENT  DETAIL" table, two-space gaps, one line per feature.
std::string format_feature_table(const std::vector<Feature>& features);

}  // namespace cells::kernel
