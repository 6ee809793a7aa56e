// Checks across all manifests at once (DESIGN section 8, step 1: refuse conflicts before
// touching anything). Every problem is reported, not only the first.
#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "engine/manifest.h"
#include "engine/manifest_check.h"

namespace cells::engine {
namespace {

using CellIndex = std::map<std::string, const CellManifest*>;

// Depth-first search for cycles; each cycle is reported once, rotated so that it starts at its
// smallest name, which makes the output deterministic.
void find_cycles(const CellIndex& index, std::vector<std::vector<std::string>>& cycles) {
  enum class Mark { kNew, kActive, kDone };
  std::map<std::string, Mark> mark;
  std::vector<std::string> stack;
  std::set<std::vector<std::string>> seen;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    mark[name] = Mark::kActive;
    stack.push_back(name);
    std::vector<std::string> deps = index.at(name)->depends_on;
    std::sort(deps.begin(), deps.end());
    for (const std::string& dep : deps) {
      if (!index.contains(dep)) continue;
      Mark m = mark.contains(dep) ? mark[dep] : Mark::kNew;
      if (m == Mark::kNew) {
        visit(dep);
      } else if (m == Mark::kActive) {
        auto from = std::find(stack.begin(), stack.end(), dep);
        std::vector<std::string> cycle(from, stack.end());
        std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
        if (seen.insert(cycle).second) cycles.push_back(cycle);
      }
    }
    stack.pop_back();
    mark[name] = Mark::kDone;
  };
  for (const auto& [name, cell] : index) {
    if (!mark.contains(name)) visit(name);
  }
}

std::string cycle_text(const std::vector<std::string>& cycle) {
  std::string out;
  for (const std::string& n : cycle) out += n + " -> ";
  return out + cycle.front();
}

}  // namespace

std::vector<std::string> validate_desired(const std::vector<CellManifest>& cells,
                                          const std::vector<VolumeManifest>& volumes,
                                          const HostConfig& conf) {
  std::vector<std::string> problems;
  CellIndex index;
  for (const CellManifest& c : cells) {
    if (!index.emplace(c.name, &c).second) {
      problems.push_back(c.file + ": cell '" + c.name + "' is also defined in " +
                         index[c.name]->file);
    }
  }
  std::set<std::string> volume_names;
  for (const VolumeManifest& v : volumes) {
    if (!volume_names.insert(v.name).second) {
      problems.push_back(v.file + ": volume '" + v.name + "' is defined twice");
    }
  }

  // Reservations are unique across cells (DESIGN section 3); name the first owner.
  std::map<uint16_t, const CellManifest*> port_owner;
  for (const auto& [name, c] : index) {
    for (uint16_t port : c->reserved_ports) {
      auto [it, fresh] = port_owner.emplace(port, c);
      if (!fresh) {
        problems.push_back(c->file + ": port " + std::to_string(port) +
                           " is also reserved by cell '" + it->second->name + "' (" +
                           it->second->file + ")");
      }
    }
  }

  for (const auto& [name, c] : index) {
    for (const std::string& dep : c->depends_on) {
      if (!index.contains(dep)) {
        problems.push_back(c->file + ": depends on cell '" + dep + "', which has no manifest");
      }
    }
    for (const Mount& m : c->mounts) {
      if (m.source == Mount::Source::kVolume) {
        if (!volume_names.contains(m.from)) {
          problems.push_back(c->file + ": mount on " + m.target + " uses volume '" + m.from +
                             "', which has no manifest");
        }
        continue;
      }
      if (!conf.allow_host_mounts) {
        problems.push_back(c->file + ": host mount of " + m.from +
                           " is not allowed: set allow_host_mounts = true in " + conf.file);
        continue;
      }
      bool listed = conf.allowed_host_paths.empty() ||
                    std::any_of(conf.allowed_host_paths.begin(), conf.allowed_host_paths.end(),
                                [&](const std::string& p) { return path_within(m.from, p); });
      if (!listed) {
        problems.push_back(c->file + ": host mount of " + m.from +
                           " is not under any allowed_host_paths entry in " + conf.file);
      }
    }
  }

  std::vector<std::vector<std::string>> cycles;
  find_cycles(index, cycles);
  for (const auto& cycle : cycles) {
    problems.push_back(index.at(cycle.front())->file + ": dependency cycle: " + cycle_text(cycle));
  }
  return problems;
}

Result<std::vector<std::string>> dependency_order(const std::vector<CellManifest>& cells) {
  CellIndex index;
  for (const CellManifest& c : cells) index.emplace(c.name, &c);
  std::vector<std::vector<std::string>> cycles;
  find_cycles(index, cycles);
  if (!cycles.empty()) return Error::invalid("dependency cycle: " + cycle_text(cycles.front()));

  // Kahn's algorithm with an ordered ready set: deterministic, ties by name.
  std::map<std::string, size_t> pending;
  std::map<std::string, std::vector<std::string>> dependents;
  for (const auto& [name, c] : index) {
    std::set<std::string> deps(c->depends_on.begin(), c->depends_on.end());
    size_t n = 0;
    for (const std::string& d : deps) {
      if (!index.contains(d)) continue;
      dependents[d].push_back(name);
      ++n;
    }
    pending[name] = n;
  }
  std::set<std::string> ready;
  for (const auto& [name, n] : pending) {
    if (n == 0) ready.insert(name);
  }
  std::vector<std::string> order;
  while (!ready.empty()) {
    std::string next = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(next);
    for (const std::string& d : dependents[next]) {
      if (--pending[d] == 0) ready.insert(d);
    }
  }
  return order;
}

}  // namespace cells::engine
