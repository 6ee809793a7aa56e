// Cell lifecycle of the control plane (`cellmgr cell start|stop|restart`, DESIGN sections 6
// and 9): dependencies first, the root prepared (overlay + volumes), a CID from the store, the
// kernel cell (kernel::Runtime::create), its supervisor (`cellctl supervise`, kernel/
// supervise.h), and the runtime record. Each start and stop is one journaled operation whose
// intent is on disk before anything is mounted or created.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/manifest.h"
#include "engine/rootfs_build.h"
#include "engine/rootwrite.h"
#include "store/store.h"

namespace cells::engine {

struct LifecycleConfig {
  std::string cellctl;  // the cellctl binary: it daemonises the supervisor
  std::function<void(const std::string&)> say = [](const std::string&) {};
};

// True if the store's runtime record names a started cell whose cgroup exists.
bool cell_running(const Paths& paths, const std::string& name);

// Starts NAMES and everything they depend on (transitively), dependencies first; cells already
// running are left alone. The whole desired set must be valid. Returns the cells started.
// Stops at the first failure, which leaves that cell with nothing mounted or created.
Result<std::vector<std::string>> start_cells(const Paths& paths,
                                             const std::vector<std::string>& names,
                                             const LifecycleConfig& cfg);

// Stops NAMES (in reverse dependency order when they have manifests); cells not running are
// skipped. Stop = supervisor stopped and waited for (the cell holds nothing but init), the
// kernel cell destroyed, every mount under the root removed, the runtime record updated.
Result<std::vector<std::string>> stop_cells(const Paths& paths,
                                            const std::vector<std::string>& names,
                                            const LifecycleConfig& cfg);

// One cell's start or stop as steps of an operation the caller holds (apply, recover): the
// same steps as start_cells/stop_cells, journaled into OP, with M as given (for a rollback, the
// manifest of an earlier generation). Dependencies are the caller's.
// Without WITH_SERVICE the kernel cell is created but its supervisor is not started (apply
// runs the plan in it first, then start_service_in).
Status start_cell_in(store::Store& st, store::Operation& op, const Paths& paths,
                     const DesiredSet& set, const CellManifest& m, const LifecycleConfig& cfg,
                     bool with_service = true);
Status start_service_in(store::Store& st, store::Operation& op, const Paths& paths,
                        const DesiredSet& set, const CellManifest& m, const LifecycleConfig& cfg);
Status stop_cell_in(store::Store& st, store::Operation& op, const Paths& paths,
                    const HostConfig& conf, const std::string& name);

// The mounts a manifest asks for, as host sources (volume directories created with the
// volume's mode when missing).
Result<std::vector<BindSpec>> binds_for(const Paths& paths, const DesiredSet& set,
                                        const CellManifest& cell);

// Every cell name with a runtime record that says running, or a live cgroup.
std::vector<std::string> running_cells(const Paths& paths);

// The mounted root of running cell NAME, for host-side writes (rootwrite.h): a high cell's
// root is idmapped, so writes act as the cell's root through it. kNotFound when the kernel cell
// does not exist or its root is not mounted (writes would land in the bare mount point).
Result<CellRoot> open_running_root(const Paths& paths, const std::string& name);

}  // namespace cells::engine
