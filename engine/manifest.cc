// Strict parsing of .cell, .volume and cellmgr.conf. Every error reads
// "<file>:<line>: key '<key>': <reason>" so an operator can jump straight to it.
#include "engine/manifest.h"

#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>

#include "base/files.h"
#include "base/signals.h"
#include "base/text.h"
#include "engine/manifest_check.h"
#include "engine/toml_guard.h"

namespace cells::engine {
namespace {

constexpr std::string_view kFacilities[] = {
    "auth",   "authpriv", "cron",   "daemon", "ftp",    "kern",   "lpr",    "mail",
    "news",   "syslog",   "user",   "uucp",   "local0", "local1", "local2", "local3",
    "local4", "local5",   "local6", "local7"};
constexpr std::string_view kLevels[] = {"emerg",   "alert",  "crit", "err",
                                        "warning", "notice", "info", "debug"};
constexpr std::string_view kProfiles[] = {"low", "medium", "high"};

template <size_t N>
bool one_of(std::string_view v, const std::string_view (&set)[N]) {
  return std::find(std::begin(set), std::end(set), v) != std::end(set);
}
template <size_t N>
std::string list_of(const std::string_view (&set)[N]) {
  std::string out;
  for (auto s : set) out += (out.empty() ? "" : "|") + std::string(s);
  return out;
}

// Reads one TOML table of a manifest; knows the file and the dotted key prefix so that every
// error it makes names both.
class TableReader {
 public:
  TableReader(const std::string& file, const toml::table& table, std::string prefix)
      : file_(file), table_(table), prefix_(std::move(prefix)) {}

  Error error(const toml::source_region& where, std::string_view key,
              const std::string& reason) const {
    std::string msg = file_;
    if (where.begin.line > 0) msg += ":" + std::to_string(where.begin.line);
    // REASON may quote the value it refuses, and a TOML string may hold a newline: the
    // error stays one line whatever the operator wrote (found by fuzz_manifest).
    msg += ": key '" + prefix_ + std::string(key) + "': " + one_line(reason);
    return Error::invalid(std::move(msg));
  }
  Error error_at(const toml::node& n, std::string_view key, const std::string& reason) const {
    return error(n.source(), key, reason);
  }
  // A key missing from the document root has no line to point at; one missing from a
  // sub-table points at the table's header.
  Error missing(std::string_view key) const {
    toml::source_region where = table_.source();
    if (prefix_.empty()) where.begin.line = 0;
    return error(where, key, "required key is missing");
  }

  // Unknown keys are errors rather than being ignored: a typo must not silently fall back to
  // a default (e.g. "autostrat = true").
  Status check_keys(std::initializer_list<std::string_view> allowed) const {
    for (auto&& [k, v] : table_) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
        return error(k.source(), k.str(), "unknown key");
      }
    }
    return {};
  }

  const toml::node* get(std::string_view key) const { return table_.get(key); }

  Result<std::optional<std::string>> string(std::string_view key) const {
    const toml::node* n = get(key);
    if (n == nullptr) return std::optional<std::string>();
    if (!n->is_string()) return error_at(*n, key, "must be a string, not " + type_name(*n));
    return std::optional<std::string>(n->as_string()->get());
  }
  Result<std::optional<bool>> boolean(std::string_view key) const {
    const toml::node* n = get(key);
    if (n == nullptr) return std::optional<bool>();
    if (!n->is_boolean()) {
      return error_at(*n, key, "must be true or false, not " + type_name(*n));
    }
    return std::optional<bool>(n->as_boolean()->get());
  }
  Result<std::optional<int64_t>> integer(std::string_view key) const {
    const toml::node* n = get(key);
    if (n == nullptr) return std::optional<int64_t>();
    if (!n->is_integer()) return error_at(*n, key, "must be an integer, not " + type_name(*n));
    return std::optional<int64_t>(n->as_integer()->get());
  }
  Result<const toml::array*> array(std::string_view key) const {
    const toml::node* n = get(key);
    if (n == nullptr) return static_cast<const toml::array*>(nullptr);
    if (!n->is_array()) return error_at(*n, key, "must be an array, not " + type_name(*n));
    return n->as_array();
  }
  Result<const toml::table*> table(std::string_view key) const {
    const toml::node* n = get(key);
    if (n == nullptr) return static_cast<const toml::table*>(nullptr);
    if (!n->is_table()) return error_at(*n, key, "must be a table, not " + type_name(*n));
    return n->as_table();
  }
  // An array of strings, each checked by CHECK (returns a reason or nullopt).
  template <typename Check>
  Result<std::vector<std::string>> strings(std::string_view key, Check check) const {
    std::vector<std::string> out;
    const toml::array* arr = CELLS_TRY(array(key));
    if (arr == nullptr) return out;
    for (const toml::node& el : *arr) {
      if (!el.is_string()) return error_at(el, key, "elements must be strings");
      std::string s = el.as_string()->get();
      if (auto why = check(s)) return error_at(el, key, *why);
      if (std::find(out.begin(), out.end(), s) != out.end()) {
        return error_at(el, key, "'" + s + "' is listed twice");
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<std::chrono::milliseconds> duration(std::string_view key,
                                             std::chrono::milliseconds fallback) const {
    auto s = CELLS_TRY(string(key));
    if (!s) return fallback;
    auto d = parse_duration(*s);
    if (!d) return error_at(*get(key), key, d.error().message());
    if (d->count() == 0) return error_at(*get(key), key, "must be longer than 0");
    return *d;
  }

  static std::string type_name(const toml::node& n) {
    switch (n.type()) {
      case toml::node_type::string: return "a string";
      case toml::node_type::integer: return "an integer";
      case toml::node_type::floating_point: return "a float";
      case toml::node_type::boolean: return "a boolean";
      case toml::node_type::array: return "an array";
      case toml::node_type::table: return "a table";
      default: return "a date/time";
    }
  }

  const std::string& prefix() const { return prefix_; }

 private:
  const std::string& file_;
  const toml::table& table_;
  std::string prefix_;
};

Result<toml::table> parse_toml(const std::string& file, std::string_view text) {
  // toml_guard.h: the text toml++ 3.3 may be given without reaching undefined behaviour.
  GuardedToml guarded = guard_toml(text);
  if (!guarded.refusal.empty()) {
    return Error::invalid(file + ":" + std::to_string(guarded.line) +
                          ": TOML syntax error: " + guarded.refusal);
  }
  try {
    return toml::parse(guarded.changed ? std::string_view(guarded.rewritten) : text, file);
  } catch (const toml::parse_error& e) {
    return Error::invalid(file + ":" + std::to_string(e.source().begin.line) +
                          ": TOML syntax error: " + one_line(e.description()));
  }
}

// The stem of FILE must be the manifest's name, so that `<name>.cell` is always the cell NAME.
Status check_stem(const TableReader& r, const std::string& file, const std::string& name,
                  const toml::node& at) {
  std::string stem = std::filesystem::path(file).stem().string();
  if (stem != name) {
    return r.error_at(at, "name", "'" + name + "' does not match the file name '" + stem + "'");
  }
  return {};
}

Result<std::string> required_name(const TableReader& r, const std::string& file) {
  auto name = CELLS_TRY(r.string("name"));
  if (!name) return r.missing("name");
  if (!valid_name(*name)) {
    return r.error_at(*r.get("name"), "name",
                      "'" + *name + "' is not a valid name ([A-Za-z0-9][A-Za-z0-9._-]{0,62})");
  }
  CELLS_TRY(check_stem(r, file, *name, *r.get("name")));
  return *name;
}

Result<std::optional<uint64_t>> parse_rlimit(const TableReader& r, std::string_view key) {
  const toml::node* n = r.get(key);
  if (n == nullptr) return std::optional<uint64_t>();
  if (n->is_string() && n->as_string()->get() == "unlimited") return std::optional<uint64_t>();
  if (n->is_integer() && n->as_integer()->get() >= 0) {
    return std::optional<uint64_t>(static_cast<uint64_t>(n->as_integer()->get()));
  }
  return r.error_at(*n, key, "must be a non-negative integer or \"unlimited\"");
}

Status parse_ports(const TableReader& r, CellManifest& m) {
  const toml::array* arr = CELLS_TRY(r.array("reserved_ports"));
  if (arr == nullptr) return {};
  if (arr->size() > kMaxReservedPorts) {
    return r.error_at(*arr, "reserved_ports", "at most " + std::to_string(kMaxReservedPorts) +
                                                  " ports may be reserved, not " +
                                                  std::to_string(arr->size()));
  }
  for (const toml::node& el : *arr) {
    if (!el.is_integer()) return r.error_at(el, "reserved_ports", "ports must be integers");
    int64_t p = el.as_integer()->get();
    if (p < 1 || p > 65535) {
      return r.error_at(el, "reserved_ports",
                        "port " + std::to_string(p) + " is out of range 1..65535");
    }
    auto port = static_cast<uint16_t>(p);
    if (std::find(m.reserved_ports.begin(), m.reserved_ports.end(), port) !=
        m.reserved_ports.end()) {
      return r.error_at(el, "reserved_ports", "port " + std::to_string(p) + " is listed twice");
    }
    m.reserved_ports.push_back(port);
  }
  return {};
}

Status parse_healthcheck(const std::string& file, const TableReader& r, CellManifest& m) {
  const toml::node* n = r.get("healthcheck");
  if (n == nullptr) return {};
  Healthcheck hc;
  if (n->is_string()) {
    hc.command = n->as_string()->get();
  } else if (n->is_table()) {
    TableReader t(file, *n->as_table(), "healthcheck.");
    CELLS_TRY(t.check_keys({"command", "timeout", "interval", "retries"}));
    auto cmd = CELLS_TRY(t.string("command"));
    if (!cmd) return t.missing("command");
    hc.command = *cmd;
    hc.timeout = CELLS_TRY(t.duration("timeout", hc.timeout));
    hc.interval = CELLS_TRY(t.duration("interval", hc.interval));
    if (auto retries = CELLS_TRY(t.integer("retries"))) {
      if (*retries < 1 || *retries > 1000) {
        return t.error_at(*t.get("retries"), "retries", "must be in range 1..1000");
      }
      hc.retries = static_cast<uint32_t>(*retries);
    }
  } else {
    return r.error_at(*n, "healthcheck", "must be a command string or a table");
  }
  if (auto why = check_command(hc.command)) {
    return r.error_at(*n, "healthcheck", "command " + *why);
  }
  m.healthcheck = std::move(hc);
  return {};
}

Status parse_log(const std::string& file, const TableReader& r, CellManifest& m) {
  m.log.tag = m.name;
  const toml::table* tbl = CELLS_TRY(r.table("log"));
  if (tbl == nullptr) return {};
  TableReader t(file, *tbl, "log.");
  CELLS_TRY(t.check_keys({"facility", "stdout_level", "stderr_level", "tag"}));
  if (auto f = CELLS_TRY(t.string("facility"))) {
    if (!one_of(*f, kFacilities)) {
      return t.error_at(*t.get("facility"), "facility",
                        "unknown facility '" + *f + "' (one of " + list_of(kFacilities) + ")");
    }
    m.log.facility = *f;
  }
  for (auto [key, field] : {std::pair{"stdout_level", &m.log.stdout_level},
                            std::pair{"stderr_level", &m.log.stderr_level}}) {
    if (auto l = CELLS_TRY(t.string(key))) {
      if (!one_of(*l, kLevels)) {
        return t.error_at(*t.get(key), key,
                          "unknown level '" + *l + "' (one of " + list_of(kLevels) + ")");
      }
      *field = *l;
    }
  }
  if (auto tag = CELLS_TRY(t.string("tag"))) {
    if (auto why = check_tag(*tag)) return t.error_at(*t.get("tag"), "tag", *why);
    m.log.tag = *tag;
  }
  return {};
}

Status parse_mounts(const std::string& file, const TableReader& r, CellManifest& m) {
  const toml::array* arr = CELLS_TRY(r.array("mounts"));
  if (arr == nullptr) return {};
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::node& el = *arr->get(i);
    std::string prefix = "mounts[" + std::to_string(i) + "].";
    if (!el.is_table()) return r.error_at(el, "mounts", "elements must be tables");
    TableReader t(file, *el.as_table(), prefix);
    CELLS_TRY(t.check_keys({"volume", "host", "target", "mode"}));
    Mount mount;
    auto vol = CELLS_TRY(t.string("volume"));
    auto host = CELLS_TRY(t.string("host"));
    if (vol && host) return t.error_at(el, "volume", "give either volume or host, not both");
    if (vol) {
      if (!valid_name(*vol)) {
        return t.error_at(*t.get("volume"), "volume", "'" + *vol + "' is not a valid name");
      }
      mount.source = Mount::Source::kVolume;
      mount.from = *vol;
    } else if (host) {
      if (auto why = check_host_source(*host)) return t.error_at(*t.get("host"), "host", *why);
      mount.source = Mount::Source::kHost;
      mount.from = *host;
    } else {
      return t.error_at(el, "volume", "a mount needs a volume or a host path");
    }
    auto target = CELLS_TRY(t.string("target"));
    if (!target) return t.error_at(el, "target", "required key is missing");
    if (auto why = check_mount_target(*target)) {
      return t.error_at(*t.get("target"), "target", *why);
    }
    mount.target = *target;
    if (auto mode = CELLS_TRY(t.string("mode"))) {
      if (*mode != "ro" && *mode != "rw") {
        return t.error_at(*t.get("mode"), "mode", "must be \"ro\" or \"rw\", not '" + *mode + "'");
      }
      mount.read_only = *mode == "ro";
    }
    for (const Mount& other : m.mounts) {
      if (targets_overlap(other.target, mount.target)) {
        return t.error_at(*t.get("target"), "target",
                          "'" + mount.target + "' overlaps the target '" + other.target + "'");
      }
    }
    m.mounts.push_back(std::move(mount));
  }
  return {};
}

Result<std::string> parse_base(const TableReader& r, std::string_view key) {
  auto base = CELLS_TRY(r.string(key));
  if (!one_of(*base, kKnownBases)) {
    return r.error_at(*r.get(key), key,
                      "unknown base '" + *base + "' (one of " + list_of(kKnownBases) + ")");
  }
  return *base;
}

}  // namespace

bool valid_name(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  auto ok = [](char c, bool first) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    return alnum || (!first && (c == '.' || c == '_' || c == '-'));
  };
  for (size_t i = 0; i < name.size(); ++i) {
    if (!ok(name[i], i == 0)) return false;
  }
  return true;
}

Result<CellManifest> parse_cell(const std::string& file, std::string_view text) {
  toml::table root = CELLS_TRY(parse_toml(file, text));
  TableReader r(file, root, "");
  CELLS_TRY(r.check_keys({"name", "autostart", "profile", "reserved_ports", "command", "run_as",
                          "rlimits", "depends_on", "healthcheck", "log", "mounts", "base",
                          "reload_signal"}));
  CellManifest m;
  m.file = file;
  m.name = CELLS_TRY(required_name(r, file));
  m.autostart = CELLS_TRY(r.boolean("autostart")).value_or(false);
  if (auto p = CELLS_TRY(r.string("profile"))) {
    if (!one_of(*p, kProfiles)) {
      return r.error_at(*r.get("profile"), "profile",
                        "unknown profile '" + *p + "' (one of " + list_of(kProfiles) + ")");
    }
    m.profile = *p;
  }
  CELLS_TRY(parse_ports(r, m));
  auto cmd = CELLS_TRY(r.string("command"));
  if (!cmd) return r.missing("command");
  if (auto why = check_command(*cmd)) return r.error_at(*r.get("command"), "command", *why);
  m.command = *cmd;
  if (auto ra = CELLS_TRY(r.string("run_as"))) {
    auto parsed = parse_run_as(*ra);
    if (!parsed) return r.error_at(*r.get("run_as"), "run_as", parsed.error().message());
    m.run_as = *parsed;
  }
  if (const toml::table* rl = CELLS_TRY(r.table("rlimits"))) {
    TableReader t(file, *rl, "rlimits.");
    CELLS_TRY(t.check_keys({"nofile", "as", "core"}));
    m.rlimits.nofile = CELLS_TRY(parse_rlimit(t, "nofile"));
    m.rlimits.as = CELLS_TRY(parse_rlimit(t, "as"));
    m.rlimits.core = CELLS_TRY(parse_rlimit(t, "core"));
  }
  m.depends_on = CELLS_TRY(r.strings("depends_on", [&](const std::string& d) {
    std::optional<std::string> why;
    if (!valid_name(d)) why = "'" + d + "' is not a valid cell name";
    else if (d == m.name) why = "a cell cannot depend on itself";
    return why;
  }));
  CELLS_TRY(parse_healthcheck(file, r, m));
  CELLS_TRY(parse_log(file, r, m));
  CELLS_TRY(parse_mounts(file, r, m));
  if (r.get("base") != nullptr) m.base = CELLS_TRY(parse_base(r, "base"));
  if (auto sig = CELLS_TRY(r.string("reload_signal"))) {
    auto number = parse_signal_name(*sig);
    if (!number) return r.error_at(*r.get("reload_signal"), "reload_signal", number.error().message());
    m.reload_signal = signal_name(*number);
  }
  return m;
}

Result<VolumeManifest> parse_volume(const std::string& file, std::string_view text) {
  toml::table root = CELLS_TRY(parse_toml(file, text));
  TableReader r(file, root, "");
  CELLS_TRY(r.check_keys({"name", "mode"}));
  VolumeManifest v;
  v.file = file;
  v.name = CELLS_TRY(required_name(r, file));
  if (const toml::node* n = r.get("mode")) {
    auto mode = n->is_string() ? parse_octal_mode(n->as_string()->get()) : std::nullopt;
    if (!mode) return r.error_at(*n, "mode", "must be four octal digits as a string, e.g. \"0755\"");
    v.mode = *mode;
  }
  return v;
}

Result<HostConfig> parse_config(const std::string& file, std::string_view text) {
  toml::table root = CELLS_TRY(parse_toml(file, text));
  TableReader r(file, root, "");
  CELLS_TRY(r.check_keys({"allow_host_mounts", "allowed_host_paths", "debian_mirror",
                          "debian_suite", "default_base", "stop_timeout", "restart_budget",
                          "backup_keep"}));
  HostConfig c;
  c.file = file;
  c.allow_host_mounts = CELLS_TRY(r.boolean("allow_host_mounts")).value_or(false);
  c.allowed_host_paths = CELLS_TRY(r.strings("allowed_host_paths", check_host_source));
  if (auto mirror = CELLS_TRY(r.string("debian_mirror"))) {
    if (!mirror->starts_with("http://") && !mirror->starts_with("https://") &&
        !mirror->starts_with("file:/")) {
      return r.error_at(*r.get("debian_mirror"), "debian_mirror",
                        "must be an http://, https:// or file:/ URL");
    }
    c.debian_mirror = *mirror;
  }
  if (auto suite = CELLS_TRY(r.string("debian_suite"))) {
    if (!valid_name(*suite)) {
      return r.error_at(*r.get("debian_suite"), "debian_suite", "'" + *suite + "' is not a suite name");
    }
    c.debian_suite = *suite;
  }
  if (r.get("default_base") != nullptr) c.default_base = CELLS_TRY(parse_base(r, "default_base"));
  c.stop_timeout = CELLS_TRY(r.duration("stop_timeout", c.stop_timeout));
  if (auto budget = CELLS_TRY(r.string("restart_budget"))) {
    auto parsed = parse_restart_budget(*budget);
    if (!parsed) {
      return r.error_at(*r.get("restart_budget"), "restart_budget", parsed.error().message());
    }
    c.restart_budget_count = parsed->first;
    c.restart_budget_window = parsed->second;
  }
  if (auto keep = CELLS_TRY(r.integer("backup_keep"))) {
    if (*keep < 1 || *keep > 10000) {
      return r.error_at(*r.get("backup_keep"), "backup_keep", "must be in range 1..10000");
    }
    c.backup_keep = static_cast<uint32_t>(*keep);
  }
  return c;
}

Result<CellManifest> load_cell(const std::string& file) {
  std::string text = CELLS_TRY(read_file(file));
  return parse_cell(file, text);
}

Result<VolumeManifest> load_volume(const std::string& file) {
  std::string text = CELLS_TRY(read_file(file));
  return parse_volume(file, text);
}

Result<HostConfig> load_config(const std::string& file) {
  auto text = read_file(file);
  if (!text) {
    if (text.error().sys_errno() == ENOENT) {
      HostConfig c;
      c.file = file;
      return c;
    }
    return std::move(text).error();
  }
  return parse_config(file, *text);
}

}  // namespace cells::engine
