#include "engine/drift.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "kernel/cell.h"
#include "kernel/cgroup.h"

namespace cells::engine {

std::vector<std::string> service_diff(const CellManifest& a, const CellManifest& b) {
  std::vector<std::string> out;
  if (a.command != b.command) out.push_back("command");
  if (a.run_as != b.run_as) out.push_back("run_as");
  if (a.log != b.log) out.push_back("log");
  if (a.healthcheck != b.healthcheck) out.push_back("healthcheck");
  if (a.mounts != b.mounts) out.push_back("mounts");
  if (a.depends_on != b.depends_on) out.push_back("depends_on");
  if (a.base != b.base) out.push_back("base");
  if (a.reload_signal != b.reload_signal) out.push_back("reload_signal");
  return out;
}

std::vector<std::string> pending_policy_drift(const Paths& paths, const CellManifest& want) {
  auto rt = kernel::Runtime::open(paths);
  if (!rt) return {};
  return pending_policy_drift(*rt, want);
}

std::vector<std::string> pending_policy_drift(const kernel::Runtime& rt, const CellManifest& want) {
  auto info = rt.find(want.name);
  if (!info) return {};
  return policy_drift(*info, want);
}

std::string policy_json(const CellManifest& m, const std::string& base, const std::string& root) {
  nlohmann::json mounts = nlohmann::json::array();
  for (const auto& mt : m.mounts) {
    mounts.push_back({{"source", mt.from},
                      {"kind", mt.source == Mount::Source::kVolume ? "volume" : "host"},
                      {"target", mt.target},
                      {"ro", mt.read_only}});
  }
  auto limit = [](const std::optional<uint64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json();
  };
  // rlimits let a reader that has the record skip the kernel's registry when nothing differs
  // (reads.cc); records written before they were added simply never match.
  nlohmann::json rlimits = {{"nofile", limit(m.rlimits.nofile)}, {"as", limit(m.rlimits.as)},
                            {"core", limit(m.rlimits.core)}};
  return nlohmann::json{{"profile", m.profile}, {"ports", m.reserved_ports}, {"base", base},
                        {"root", root},         {"mounts", mounts},         {"rlimits", rlimits}}
      .dump();
}

std::vector<std::string> policy_drift(const kernel::CellInfo& info, const CellManifest& want) {
  std::vector<std::string> out;
  if (kernel::to_string(info.profile) != want.profile) out.push_back("profile");
  std::vector<uint16_t> have = info.ports, need = want.reserved_ports;
  std::sort(have.begin(), have.end());
  std::sort(need.begin(), need.end());
  if (have != need) out.push_back("ports");
  if (info.rlimits.nofile != want.rlimits.nofile || info.rlimits.as != want.rlimits.as ||
      info.rlimits.core != want.rlimits.core) {
    out.push_back("rlimits");
  }
  return out;
}

Result<std::optional<CellManifest>> manifest_in_generation(const store::Store& st, uint64_t gen,
                                                           const std::string& name) {
  if (gen == 0) return std::optional<CellManifest>();
  auto entry = CELLS_TRY(st.generation_cell(gen, name));
  if (!entry) return std::optional<CellManifest>();
  auto m = CELLS_TRY_CTX(parse_cell(name + ".cell", entry->manifest.manifest_text),
                         "generation " + std::to_string(gen));
  return std::optional<CellManifest>(std::move(m));
}

Result<CellDrift> cell_drift(const kernel::Runtime& rt, const store::Store& st,
                             const CellManifest& want,
                             const std::optional<store::ApplyPlan>& want_plan,
                             std::string_view want_text, std::string_view want_policy,
                             const std::map<std::string, uint64_t>* cgroup_ids) {
  CellDrift d;
  auto rec = CELLS_TRY(st.runtime(want.name));
  if (rec) d.applied_generation = rec->applied_generation;
  // The record vouches for the cell when its cgroup is the one that exists: one stat instead
  // of the registry file and an open of the cgroup (six syscalls per cell of every apply).
  bool vouched = false;
  if (rec && rec->cid != 0 && !want_policy.empty() && rec->policy == want_policy) {
    std::optional<uint64_t> id;
    if (cgroup_ids) {
      if (auto it = cgroup_ids->find(want.name); it != cgroup_ids->end()) id = it->second;
    } else {
      id = kernel::CellCgroup::id_of(rt.paths().cgroup_parent(), want.name);
    }
    vouched = id == rec->cgroup_id;
  }
  std::optional<kernel::CellInfo> running;
  if (!vouched) {
    if (auto found = rt.find(want.name)) running = std::move(*found);  // the record and the cgroup
  }
  d.running = vouched || running.has_value();
  std::optional<store::GenerationCell> applied;
  if (d.applied_generation != 0) {
    applied = CELLS_TRY(st.generation_cell(d.applied_generation, want.name));
  }
  if (applied) {
    const auto& text = applied->manifest.manifest_text;
    if (!want_text.empty() && text == want_text) {
      d.applied = want;  // the same text parses to the same manifest: a no-op apply's common case
    } else {
      d.applied = CELLS_TRY_CTX(parse_cell(want.name + ".cell", text),
                                "generation " + std::to_string(d.applied_generation));
    }
  }
  if (d.running) {
    if (d.applied) {
      d.service_fields = service_diff(*d.applied, want);
    } else {
      d.service_fields.push_back("unknown");  // started before any generation named it
    }
    d.service = !d.service_fields.empty();
    if (running) d.policy_fields = policy_drift(*running, want);  // vouched: none pending
    d.policy = !d.policy_fields.empty();
  }
  // The plan last applied: the applied generation's plan for this cell.
  d.plan = (applied ? applied->plan : std::nullopt) != want_plan;
  return d;
}

}  // namespace cells::engine
