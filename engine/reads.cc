#include "engine/reads.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>

#include "engine/drift.h"
#include "engine/manifest_check.h"
#include "engine/mount_table.h"
#include "engine/rootfs_build.h"
#include "kernel/cgroup.h"
#include "kernel/telemetry.h"
#include "store/store.h"

namespace cells::engine {
namespace {

struct CellRow {
  const std::string* name;
  const CellManifest* manifest;  // null: no manifest
  const CellLive* live;          // null: no runtime record
  bool rendered, apply;
  const ReadSnapshot* snap;
};
using CellGetter = std::function<ReadValue(const CellRow&)>;

std::string join(const std::vector<std::string>& v, const char* sep = ",") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}
std::string ports_csv(const std::vector<uint16_t>& ports) {
  std::vector<std::string> s;
  for (auto p : ports) s.push_back(std::to_string(p));
  return join(s);
}
std::string limit(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : "unlimited";
}
std::string mount_text(const Mount& m) {
  return (m.source == Mount::Source::kVolume ? m.from : "host:" + m.from) + ":" + m.target +
         (m.read_only ? ":ro" : ":rw");
}
bool running(const CellRow& r) {
  return r.live && r.live->running;
}

// Field table of cells, merged order. The bitmask says which views carry the field.
enum : unsigned { kC = 1, kD = 2, kR = 4 };
struct CellField {
  const char* name;
  unsigned views;
  CellGetter get;
};
const std::vector<CellField>& cell_field_defs() {
  static const std::vector<CellField> defs = {
      {"name", kC | kD | kR, [](const CellRow& r) { return ReadValue::text_of(*r.name); }},
      {"state", kC | kD | kR,
       [](const CellRow& r) {
         return ReadValue::text_of(
             cell_state(r.manifest, r.rendered, r.manifest && r.manifest->autostart));
       }},
      {"running", kC | kR, [](const CellRow& r) { return ReadValue::boolean(running(r)); }},
      {"cid", kC | kR,
       [](const CellRow& r) {
         return running(r) ? ReadValue::integer(r.live->record->cid) : ReadValue{};
       }},
      {"procs", kC | kR,
       [](const CellRow& r) {
         return running(r) && r.live->stats ? ReadValue::integer(r.live->procs) : ReadValue{};
       }},
      {"refs", kR,
       [](const CellRow& r) {
         return running(r) && r.live->stats ? ReadValue::integer(r.live->refs) : ReadValue{};
       }},
      {"cpu1s", kR,
       [](const CellRow& r) {
         return running(r) && r.live->stats ? ReadValue::integer(r.live->cpu1s) : ReadValue{};
       }},
      {"cpu10s", kR,
       [](const CellRow& r) {
         return running(r) && r.live->stats ? ReadValue::floating(r.live->cpu10s) : ReadValue{};
       }},
      {"memory", kR,
       [](const CellRow& r) {
         return running(r) && r.live->stats ? ReadValue::integer(int64_t(r.live->memory))
                                            : ReadValue{};
       }},
      {"age", kC | kR,
       [](const CellRow& r) {
         if (!running(r)) return ReadValue{};
         int64_t s = (r.snap->now_ns - r.live->record->start_time_ns) / 1000000000;
         return ReadValue::age(std::max<int64_t>(s, 0));
       }},
      {"root", kR,
       [](const CellRow& r) {
         return r.rendered ? ReadValue::text_of(r.snap->cells_dir + "/" + *r.name + "/root")
                           : ReadValue{};
       }},
      {"autostart", kC | kD,
       [](const CellRow& r) {
         return r.manifest ? ReadValue::boolean(r.manifest->autostart) : ReadValue{};
       }},
      {"profile", kD,
       [](const CellRow& r) {
         return r.manifest ? ReadValue::text_of(r.manifest->profile) : ReadValue{};
       }},
      {"reserved_ports", kC | kD,
       [](const CellRow& r) {
         return r.manifest ? ReadValue::text_of(ports_csv(r.manifest->reserved_ports))
                           : ReadValue{};
       }},
      {"rlimit_nofile", kD,
       [](const CellRow& r) {
         return r.manifest ? ReadValue::text_of(limit(r.manifest->rlimits.nofile)) : ReadValue{};
       }},
      {"rlimit_as", kD,
       [](const CellRow& r) {
         return r.manifest ? ReadValue::text_of(limit(r.manifest->rlimits.as)) : ReadValue{};
       }},
      {"rlimit_core", kD,
       [](const CellRow& r) {
         return r.manifest ? ReadValue::text_of(limit(r.manifest->rlimits.core)) : ReadValue{};
       }},
      {"depends_on", kD,
       [](const CellRow& r) {
         return r.manifest ? ReadValue::text_of(join(r.manifest->depends_on)) : ReadValue{};
       }},
      {"healthcheck", kD,
       [](const CellRow& r) {
         return r.manifest && r.manifest->healthcheck
                    ? ReadValue::text_of(r.manifest->healthcheck->command)
                    : ReadValue{};
       }},
      {"supervise_cmd", kD,
       [](const CellRow& r) {
         return r.manifest ? ReadValue::text_of(r.manifest->command) : ReadValue{};
       }},
      {"supervise_run_as", kD | kR,
       [](const CellRow& r) {
         return r.manifest && r.manifest->run_as
                    ? ReadValue::text_of(to_string(*r.manifest->run_as))
                    : ReadValue{};
       }},
      {"reload_signal", kD,
       [](const CellRow& r) {
         return r.manifest && r.manifest->reload_signal
                    ? ReadValue::text_of(*r.manifest->reload_signal)
                    : ReadValue{};
       }},
      {"volume_mounts", kD,
       [](const CellRow& r) {
         if (!r.manifest) return ReadValue{};
         std::vector<std::string> s;
         for (const auto& m : r.manifest->mounts) s.push_back(mount_text(m));
         return ReadValue::text_of(join(s));
       }},
      {"base", kD,
       [](const CellRow& r) {
         return r.manifest ? ReadValue::text_of(
                                 r.manifest->base.value_or(r.snap->desired.conf.default_base))
                           : ReadValue{};
       }},
      {"log", kD,
       [](const CellRow& r) {
         if (!r.manifest) return ReadValue{};
         const auto& l = r.manifest->log;
         return ReadValue::text_of(l.facility + "/" + l.stdout_level + "/" + l.stderr_level + "/" +
                                   l.tag);
       }},
      {"manifest", 0,
       [](const CellRow& r) {
         return r.manifest ? ReadValue::text_of(r.manifest->file) : ReadValue{};
       }},
      {"rendered", 0, [](const CellRow& r) { return ReadValue::boolean(r.rendered); }},
      {"apply_present", kD, [](const CellRow& r) { return ReadValue::boolean(r.apply); }},
      {"policy_drift", kR,
       [](const CellRow& r) {
         return running(r) ? ReadValue::text_of(join(r.live->policy_drift)) : ReadValue{};
       }},
      {"generation", kR,
       [](const CellRow& r) {
         return r.live && r.live->record && r.live->record->applied_generation
                    ? ReadValue::integer(int64_t(r.live->record->applied_generation))
                    : ReadValue{};
       }},
  };
  return defs;
}

unsigned view_bit(View v) {
  switch (v) {
    case View::kCompact:
      return kC;
    case View::kDesired:
      return kD;
    case View::kRuntime:
      return kR;
    case View::kMerged:
      return ~0u;
  }
  return ~0u;
}

const std::vector<std::string> kVolumeFields = {"name",    "state", "mode",   "path",
                                                "mounted", "refs",  "used_by"};

// Checks FIELDS against VALID (an unknown one is an error naming it and the valid ones); empty
// FIELDS means all of VALID.
Result<std::vector<std::string>> pick(std::vector<std::string> fields,
                                      const std::vector<std::string>& valid, const char* what) {
  if (fields.empty()) return valid;
  for (const auto& f : fields) {
    if (std::find(valid.begin(), valid.end(), f) == valid.end()) {
      return Error::invalid("unknown " + std::string(what) + " field '" + f +
                            "' (valid: " + join(valid, ", ") + ")");
    }
  }
  return fields;
}

std::set<std::string> dir_names(const std::string& dir, const std::string& suffix = "") {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.empty() || n[0] == '.') continue;
    if (!suffix.empty()) {
      if (n.size() <= suffix.size() ||
          n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      n.resize(n.size() - suffix.size());
    }
    out.insert(n);
  }
  ::closedir(d);
  return out;
}

std::string plain(const ReadValue& v, bool table) {
  switch (v.kind) {
    case ReadValue::Kind::kEmpty:
      return "-";
    case ReadValue::Kind::kText:
      return v.text;
    case ReadValue::Kind::kBool:
      return table ? (v.flag ? "YES" : "NO") : (v.flag ? "1" : "0");
    case ReadValue::Kind::kInt:
      return std::to_string(v.number);
    case ReadValue::Kind::kAge:
      return table ? humanise_age(v.number) : std::to_string(v.number);
    case ReadValue::Kind::kFloat: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.1f", v.real);
      return buf;
    }
  }
  return "-";
}

nlohmann::json json_of(const ReadValue& v) {
  switch (v.kind) {
    case ReadValue::Kind::kEmpty:
      return nullptr;
    case ReadValue::Kind::kText:
      return v.text;
    case ReadValue::Kind::kBool:
      return v.flag;
    case ReadValue::Kind::kInt:
    case ReadValue::Kind::kAge:
      return v.number;
    case ReadValue::Kind::kFloat:
      return v.real;
  }
  return nullptr;
}

std::string upper(std::string s) {
  for (auto& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<View> parse_view(const std::string& s) {
  if (s == "compact") return View::kCompact;
  if (s == "desired") return View::kDesired;
  if (s == "runtime") return View::kRuntime;
  if (s == "merged") return View::kMerged;
  return Error::invalid("unknown view '" + s + "' (valid: compact, desired, runtime, merged)");
}

std::string cell_state(bool manifest, bool rendered, bool desired_running) {
  if (manifest && rendered) return desired_running ? "managed" : "parked";
  if (manifest) return desired_running ? "pending" : "declared";
  return rendered ? "orphaned" : "absent";
}

std::string volume_state(bool manifest, bool rendered) {
  if (manifest) return rendered ? "managed" : "pending";
  return rendered ? "orphaned" : "absent";
}

std::vector<std::string> cell_fields(View view) {
  std::vector<std::string> out;
  unsigned bit = view_bit(view);
  for (const auto& f : cell_field_defs()) {
    if (view == View::kMerged || (f.views & bit)) out.push_back(f.name);
  }
  return out;
}

std::vector<std::string> volume_fields(View) {
  return kVolumeFields;
}

Result<ReadSnapshot> gather(const Paths& paths) {
  ReadSnapshot s;
  s.now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  s.cells_dir = paths.cells_dir();
  s.volumes_dir = paths.volumes_dir();
  s.desired = load_desired(paths.etc_dir());
  s.rendered_cells = dir_names(paths.cells_dir());
  s.rendered_volumes = dir_names(paths.volumes_dir());
  s.apply_present = dir_names(paths.etc_dir(), ".apply");
  // Read-only: never creates a store; a root without one simply has no runtime records.
  auto st = store::Store::open(paths, store::OpenMode::kReadOnly);
  if (!st && st.error().kind() != ErrorKind::kNotFound) return std::move(st).error();
  std::map<std::string, uint64_t> cgroup_ino;  // of each running cell: its kernel cell's identity
  if (st) {
    // Every cell's cgroup id from one read of the parent directory, not a stat per cell.
    const auto ids = CELLS_TRY(kernel::CellCgroup::ids_under(paths.cgroup_parent()));
    for (auto& rec : CELLS_TRY(st->runtimes())) {
      CellLive live;
      auto id = rec.cid != 0 ? ids.find(rec.name) : ids.end();
      live.running = id != ids.end();
      if (live.running) cgroup_ino[rec.name] = id->second;
      live.record = std::move(rec);
      s.live[live.record->name] = std::move(live);
    }
  }
  if (auto stats = kernel::SnapshotFile::read_all(paths); stats) {
    for (const auto& c : *stats) {
      auto it = s.live.find(c.name);
      if (it == s.live.end() || !it->second.record || it->second.record->cid != c.cid) continue;
      auto& l = it->second;
      l.stats = true;
      l.procs = c.processes;
      l.refs = c.references;
      l.cpu1s = c.cpu_ticks_1s;
      l.cpu10s = c.cpu_ticks_10s_avg;
      l.memory = c.rss_bytes;
    }
  }
  // Which volume targets are mounted, asked of each target (the whole host table costs ~10 ms
  // at 1,000 running cells, and only these paths are ever looked up).
  for (const auto& c : s.desired.cells) {
    for (const auto& m : c.mounts) {
      if (m.source != Mount::Source::kVolume) continue;
      std::string target = s.cells_dir + "/" + c.name + "/root" + m.target;
      if (is_mount_point(target)) s.mount_points.insert(std::move(target));
    }
  }
  // Pending policy drift of running cells that have a manifest. The runtime record already
  // read names the policy the cell started with: when it names the cgroup found above and is
  // exactly what the manifest would start, nothing can be pending. Otherwise the kernel cell's
  // policy is read from the kernel layer's registry (one small file per cell), and counts only
  // when it names that cgroup (a stale record of an earlier cell of that name does not).
  std::optional<kernel::Runtime> rt;
  for (const auto& m : s.desired.cells) {
    auto it = s.live.find(m.name);
    if (it == s.live.end() || !it->second.running) continue;
    const auto& rec = it->second.record;
    if (rec && rec->cgroup_id == cgroup_ino[m.name] &&
        rec->policy == policy_json(m, m.base.value_or(s.desired.conf.default_base),
                                   cell_root_layout(paths, m.name).root)) {
      continue;
    }
    if (!rt) {
      auto opened = kernel::Runtime::open(paths);
      if (!opened) break;  // no kernel features, no kernel cells: nothing can be pending
      rt.emplace(std::move(opened).value());
    }
    auto info = rt->record(m.name);
    if (!info || info->cgroup_id != cgroup_ino[m.name]) continue;
    it->second.policy_drift = policy_drift(*info, m);
  }
  return s;
}

Result<ReadTable> cell_table(const ReadSnapshot& snap, View view, std::vector<std::string> fields,
                             const std::optional<std::string>& only) {
  ReadTable t;
  t.fields = CELLS_TRY(pick(std::move(fields), cell_fields(view), "cell"));
  std::vector<const CellField*> defs;
  for (const auto& f : t.fields) {
    for (const auto& d : cell_field_defs()) {
      if (f == d.name) defs.push_back(&d);
    }
  }
  // Every name anything knows about: manifests, runtime directories, runtime records.
  std::map<std::string, const CellManifest*> names;
  for (const auto& c : snap.desired.cells) names[c.name] = &c;
  for (const auto& n : snap.rendered_cells) names.emplace(n, nullptr);
  for (const auto& [n, l] : snap.live) {
    if (l.running) names.emplace(n, nullptr);
  }
  if (only && !names.count(*only)) {
    return Error::not_found("no cell named " + *only + " (no manifest, no runtime state)");
  }
  for (const auto& [name, manifest] : names) {
    if (only && name != *only) continue;
    auto live = snap.live.find(name);
    CellRow row{&name,
                manifest,
                live == snap.live.end() ? nullptr : &live->second,
                snap.rendered_cells.count(name) > 0,
                snap.apply_present.count(name) > 0,
                &snap};
    std::vector<ReadValue> values;
    for (const auto* d : defs) values.push_back(d->get(row));
    t.rows.push_back(std::move(values));
  }
  return t;
}

Result<ReadTable> volume_table(const ReadSnapshot& snap, View view, std::vector<std::string> fields,
                               const std::optional<std::string>& only) {
  if (view == View::kCompact)
    return Error::invalid("volumes have no compact view (use desired, runtime or merged)");
  ReadTable t;
  t.fields = CELLS_TRY(pick(std::move(fields), kVolumeFields, "volume"));
  std::map<std::string, const VolumeManifest*> names;
  for (const auto& v : snap.desired.volumes) names[v.name] = &v;
  for (const auto& n : snap.rendered_volumes) names.emplace(n, nullptr);
  if (only && !names.count(*only)) return Error::not_found("no volume named " + *only);
  for (const auto& [name, manifest] : names) {
    if (only && name != *only) continue;
    bool rendered = snap.rendered_volumes.count(name) > 0;
    std::vector<std::string> users;
    bool mounted = false;
    for (const auto& c : snap.desired.cells) {
      for (const auto& m : c.mounts) {
        if (m.source != Mount::Source::kVolume || m.from != name) continue;
        if (users.empty() || users.back() != c.name) users.push_back(c.name);
        if (snap.mount_points.count(snap.cells_dir + "/" + c.name + "/root" + m.target))
          mounted = true;
      }
    }
    std::vector<ReadValue> row;
    for (const auto& f : t.fields) {
      if (f == "name") row.push_back(ReadValue::text_of(name));
      if (f == "state") row.push_back(ReadValue::text_of(volume_state(manifest, rendered)));
      if (f == "mode")
        row.push_back(manifest ? ReadValue::text_of(format_octal_mode(manifest->mode))
                               : ReadValue{});
      if (f == "path")
        row.push_back(rendered ? ReadValue::text_of(snap.volumes_dir + "/" + name) : ReadValue{});
      if (f == "mounted") row.push_back(ReadValue::boolean(mounted));
      if (f == "refs") row.push_back(ReadValue::integer(int64_t(users.size())));
      if (f == "used_by") row.push_back(ReadValue::text_of(join(users)));
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::string humanise_age(int64_t s) {
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  if (s < 86400) return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
  if (s < 7 * 86400)
    return std::to_string(s / 86400) + "d" + std::to_string(s % 86400 / 3600) + "h";
  return std::to_string(s / (7 * 86400)) + "w" + std::to_string(s % (7 * 86400) / 86400) + "d";
}

std::string format_table(const ReadTable& t, bool header) {
  std::vector<std::vector<std::string>> cells;
  if (header) {
    std::vector<std::string> h;
    for (const auto& f : t.fields) h.push_back(upper(f));
    cells.push_back(std::move(h));
  }
  for (const auto& r : t.rows) {
    std::vector<std::string> line;
    for (const auto& v : r) line.push_back(plain(v, true));
    cells.push_back(std::move(line));
  }
  std::vector<size_t> width(t.fields.size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  std::string out;
  for (const auto& line : cells) {
    std::string l;
    for (size_t i = 0; i < line.size(); ++i) {
      l += line[i];
      if (i + 1 < line.size()) l += std::string(width[i] - line[i].size() + 2, ' ');
    }
    out += l + "\n";
  }
  return out;
}

std::string format_tsv(const ReadTable& t, bool header) {
  std::string out;
  if (header) out += join(t.fields, "\t") + "\n";
  for (const auto& r : t.rows) {
    std::vector<std::string> s;
    for (const auto& v : r) s.push_back(plain(v, false));
    out += join(s, "\t") + "\n";
  }
  return out;
}

std::string format_json(const ReadTable& t, bool single) {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : t.rows) {
    nlohmann::json o = nlohmann::json::object();
    for (size_t i = 0; i < r.size(); ++i) o[t.fields[i]] = json_of(r[i]);
    arr.push_back(std::move(o));
  }
  if (single && arr.size() == 1) return arr[0].dump(2) + "\n";
  return arr.dump(2) + "\n";
}

std::string format_vertical(const ReadTable& t) {
  size_t w = 0;
  for (const auto& f : t.fields) w = std::max(w, f.size());
  std::string out;
  for (const auto& r : t.rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      out += upper(t.fields[i]) + std::string(w - t.fields[i].size() + 2, ' ') + plain(r[i], true) +
             "\n";
    }
  }
  return out;
}

std::vector<std::string> split_fields(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    size_t comma = text.find(',', start);
    std::string f =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!f.empty()) out.push_back(f);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace cells::engine
