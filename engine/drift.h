// Drift of one declared cell against what is in force (DESIGN section 8, step 2):
//   service: command, run_as, log, healthcheck, mounts, depends_on, base, against the manifest
//            of the generation last applied to the cell (runtime record's applied_generation);
//   policy:  profile, reserved ports, rlimits, against the kernel cell that is running now.
//            Derived every time from the policy in force, so pending policy drift is never
//            forgotten: it is reported until the kernel cell is re-created;
//   plan:    the plan text or any asset's bytes, against the plan of the applied generation.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/manifest.h"
#include "kernel/cell.h"
#include "store/records.h"
#include "store/store.h"

namespace cells::engine {

struct CellDrift {
  bool running = false;  // a kernel cell exists
  bool service = false, policy = false, plan = false;
  std::vector<std::string> service_fields, policy_fields;  // e.g. "command", "ports"
  uint64_t applied_generation = 0;
  std::optional<CellManifest> applied;  // the manifest in force, when it is known
};

// WANT_PLAN: the desired plan (nullopt: none). Reads the runtime record and the cell's entry in
// its applied generation from ST (Store::generation_cell: cells applied by different applies
// hold different generations, and each lookup reads only its own cell), the policy in force
// from the kernel.
// RT: the kernel runtime, opened once by the caller (opening probes kernel features).
// WANT_TEXT: WANT's manifest text, when known: a generation that holds the same text applied
// WANT itself, so its copy need not be parsed again (empty: always parse).
// WANT_POLICY: policy_json of WANT, when known: a runtime record that holds exactly it and names
// the cgroup that exists is a running cell with no policy drift, so the kernel's registry is
// not read (as `cell list` does, reads.cc). Empty: always ask the kernel layer.
// CGROUP_IDS: the id of every cell cgroup (kernel::CellCgroup::ids_under), when the caller read
// them once for all its cells; null: this cell's is looked up by itself.
Result<CellDrift> cell_drift(const kernel::Runtime& rt, const store::Store& st,
                             const CellManifest& want,
                             const std::optional<store::ApplyPlan>& want_plan,
                             std::string_view want_text = {}, std::string_view want_policy = {},
                             const std::map<std::string, uint64_t>* cgroup_ids = nullptr);

// The service and policy fields that differ between two manifests.
std::vector<std::string> service_diff(const CellManifest& a, const CellManifest& b);

// "profile, ports" of the policy in force that differs from WANT; empty when none or the cell
// is not running. For `cell show` and `apply --dry-run`.
std::vector<std::string> pending_policy_drift(const Paths& paths, const CellManifest& want);
std::vector<std::string> pending_policy_drift(const kernel::Runtime& rt, const CellManifest& want);
// The same for a cell already looked up: INFO is its policy in force.
std::vector<std::string> policy_drift(const kernel::CellInfo& info, const CellManifest& want);

// The policy a cell started from M is given, as its runtime record keeps it (volume remove
// reads the mounts): profile, ports, rlimits, base, root and mounts, as canonical JSON. BASE is
// M's base or the host's default; ROOT the cell's root directory.
std::string policy_json(const CellManifest& m, const std::string& base, const std::string& root);

// The manifest of cell NAME in generation GEN of ST (parsed from its stored text).
Result<std::optional<CellManifest>> manifest_in_generation(const store::Store& st, uint64_t gen,
                                                           const std::string& name);

}  // namespace cells::engine
