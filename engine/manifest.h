// Desired-state manifests: <name>.cell, <name>.volume and cellmgr.conf (TOML, DESIGN sections 4
// and 6). Plain structs, parsed strictly (unknown keys and bad values are errors naming
// "file:line: key 'k': reason"), rendered back to canonical TOML, and checked across files.
//
// These are the engine's own types on purpose: the store's Cap'n Proto records are mapped to
// and from them at the store boundary, so the manifest language can be tested on its own.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace cells::engine {

// "host:user[:group]" (a host account, resolved on the host), "cell:user[:group]" (an account
// in the cell's own /etc/passwd), or "uid:N[:M]" (numeric ids as seen inside the cell).
struct RunAs {
  enum class Kind { kHost, kCell, kUid };
  Kind kind = Kind::kCell;
  std::string user;   // a name, or the decimal uid for kUid
  std::string group;  // empty: the user's primary group (kUid: gid = uid)
  bool operator==(const RunAs&) const = default;
};
std::string to_string(const RunAs& r);
Result<RunAs> parse_run_as(std::string_view s);

// nullopt = unlimited (the reference's default for every limit).
struct ManifestRlimits {
  std::optional<uint64_t> nofile;
  std::optional<uint64_t> as;
  std::optional<uint64_t> core;
  bool operator==(const ManifestRlimits&) const = default;
};

struct Healthcheck {
  std::string command;
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  std::chrono::milliseconds interval{std::chrono::seconds(30)};
  uint32_t retries = 3;
  bool operator==(const Healthcheck&) const = default;
};

struct LogSettings {
  std::string facility = "daemon";
  std::string stdout_level = "notice";
  std::string stderr_level = "err";
  std::string tag;  // the parser fills in the cell name when the manifest leaves it out
  bool operator==(const LogSettings&) const = default;
};

struct Mount {
  enum class Source { kVolume, kHost };
  Source source = Source::kVolume;
  std::string from;    // volume name, or absolute host path
  std::string target;  // absolute path inside the cell
  bool read_only = false;
  bool operator==(const Mount&) const = default;
};

struct CellManifest {
  std::string file;  // where it was read from (names it in errors); not rendered
  std::string name;
  bool autostart = false;
  std::string profile = "high";
  std::vector<uint16_t> reserved_ports;
  std::string command;
  std::optional<RunAs> run_as;  // nullopt: the cell's root
  ManifestRlimits rlimits;
  std::vector<std::string> depends_on;
  std::optional<Healthcheck> healthcheck;
  LogSettings log;
  std::vector<Mount> mounts;
  std::optional<std::string> base;  // nullopt: cellmgr.conf's default_base
  // The signal that makes the service re-read its files ("SIGHUP", canonical name). With one,
  // a plan change that only writes files reloads the running service instead of restarting
  // it (engine/apply.h, live apply); nullopt: every plan change restarts the service.
  std::optional<std::string> reload_signal;
  bool operator==(const CellManifest&) const = default;
};

struct VolumeManifest {
  std::string file;
  std::string name;
  uint32_t mode = 0755;
  bool operator==(const VolumeManifest&) const = default;
};

// cellmgr.conf: host-wide settings. Every key is optional; see engine/README.md.
struct HostConfig {
  std::string file;
  bool allow_host_mounts = false;
  std::vector<std::string> allowed_host_paths;  // empty with allow_host_mounts: any path
  std::string debian_mirror = "http://deb.debian.org/debian";
  std::string debian_suite = "bookworm";
  std::string default_base = "host";
  std::chrono::milliseconds stop_timeout{std::chrono::seconds(10)};
  uint32_t restart_budget_count = 5;  // "5/60s": at most 5 restarts per 60 s window
  std::chrono::milliseconds restart_budget_window{std::chrono::seconds(60)};
  uint32_t backup_keep = 7;  // archives kept per volume/overlay by `backup prune`
  bool operator==(const HostConfig&) const = default;
};

// The bases `cellmgr system bootstrap` knows how to build (DESIGN section 6).
inline constexpr std::string_view kKnownBases[] = {"host", "debian"};
inline constexpr size_t kMaxReservedPorts = 32;

// [A-Za-z0-9][A-Za-z0-9._-]{0,62}: the name doubles as hostname, cgroup directory and file stem.
bool valid_name(std::string_view name);

// Parse TEXT as if read from FILE (FILE names it in errors and must have the right stem).
Result<CellManifest> parse_cell(const std::string& file, std::string_view text);
Result<VolumeManifest> parse_volume(const std::string& file, std::string_view text);
Result<HostConfig> parse_config(const std::string& file, std::string_view text);

// read_file + parse_*.
Result<CellManifest> load_cell(const std::string& file);
Result<VolumeManifest> load_volume(const std::string& file);
// A missing cellmgr.conf is not an error: every setting has a default.
Result<HostConfig> load_config(const std::string& file);

// Canonical TOML: fixed key order, defaults written out, so parse(render(m)) == m.
std::string render_cell(const CellManifest& m);
std::string render_volume(const VolumeManifest& m);
std::string render_config(const HostConfig& c);

// "5s", "250ms", "2m", "1h" <-> milliseconds. Rendering picks the largest exact unit.
Result<std::chrono::milliseconds> parse_duration(std::string_view s);
std::string format_duration(std::chrono::milliseconds d);

// Checks that need every manifest at once: duplicate reserved ports, missing volumes, missing
// dependencies, dependency cycles, host mounts the configuration does not allow, duplicate
// names. Returns every problem as "file: reason", in a deterministic order; empty = valid.
std::vector<std::string> validate_desired(const std::vector<CellManifest>& cells,
                                          const std::vector<VolumeManifest>& volumes,
                                          const HostConfig& conf);

// Everything desired in one manifest directory (/etc/cellmgr under the --root prefix).
struct DesiredSet {
  HostConfig conf;
  std::vector<CellManifest> cells;      // sorted by name
  std::vector<VolumeManifest> volumes;  // sorted by name
  // Every problem found: each unreadable or invalid file, then validate_desired's findings.
  // Files that failed to parse are left out of CELLS/VOLUMES.
  std::vector<std::string> problems;
  // The bytes of each file the set was parsed from, by path: the desired state records these
  // (to_store_state), so a file is read once per command, and what is recorded is exactly what
  // was checked even if the file changes meanwhile.
  std::map<std::string, std::string> texts;
  // The cells with a NAME.apply file, when the set came from a directory listing (LISTED):
  // then a cell without one needs no lookup.
  bool listed = false;
  std::set<std::string> plan_cells;

  // The manifest of cell (volume) NAME, or nullptr; valid while CELLS (VOLUMES) is unchanged.
  const CellManifest* find_cell(std::string_view name) const;
  const VolumeManifest* find_volume(std::string_view name) const;
};
// Reads DIR/*.cell, DIR/*.volume and DIR/cellmgr.conf (hidden files and other names, such as
// editor backups, are ignored). A missing DIR is an empty desired state, not an error.
DesiredSet load_desired(const std::string& dir);

// Cell names so that each cell comes after everything it depends on; ties broken by name.
// Dependencies on cells not in CELLS are ignored (validate_desired reports them). A cycle is an
// error naming it: "dependency cycle: a -> b -> a".
Result<std::vector<std::string>> dependency_order(const std::vector<CellManifest>& cells);

}  // namespace cells::engine
