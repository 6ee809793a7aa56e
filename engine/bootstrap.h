// `cellmgr system bootstrap|status|reset` (DESIGN sections 3, 4, 6).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/lifecycle.h"
#include "kernel/features.h"

namespace cells::engine {

struct BootstrapOptions {
  bool debian = false;  // also build the `debian` base (debootstrap, ~25 s)
  std::function<void(const std::string&)> say = [](const std::string&) {};
};

struct BootstrapReport {
  std::vector<kernel::Feature> features;
  std::vector<std::string> changes;  // what this run did; empty: everything was in place
};

// Idempotent. Steps, in order:
//   1. probe the kernel (deep) and refuse, naming the feature, if one is missing: nothing is
//      created on a kernel that cannot enforce the policy;
//   2. the directory tree of DESIGN section 4 and a default cellmgr.conf (an existing one is
//      kept: it is the operator's);
//   3. the store (so the first generation has somewhere to go);
//   4. the cell BPF programs (mounts bpffs if needed, loads and pins them once per instance);
//   5. the `host` base, then the `debian` base when asked (it reads the mirror from the conf
//      written in step 2).
Result<BootstrapReport> bootstrap(const Paths& paths, const BootstrapOptions& opts);

// The feature table and the counts (`cellmgr system status`). Never creates anything.
Result<std::string> status_text(const Paths& paths);

// Runtime reset: stops every running cell; CELLS removes every cell's runtime directory
// (overlays), VOLUMES every volume's data directory. Manifests and the store's desired state
// are untouched. Returns one line per thing done.
Result<std::vector<std::string>> reset_runtime(const Paths& paths, bool cells, bool volumes,
                                               const LifecycleConfig& cfg);

}  // namespace cells::engine
