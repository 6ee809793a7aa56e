// Canonical TOML for manifests: a fixed key order, every effective value written out, so a
// rendered manifest reads the same to a human and parses back to the same struct.
#include <cstdio>

#include "engine/manifest.h"
#include "engine/manifest_check.h"

namespace cells::engine {
namespace {

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string string_array(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + quote(v[i]);
  return out + "]";
}

std::string rlimit(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : quote("unlimited");
}

}  // namespace

std::string render_cell(const CellManifest& m) {
  std::string out;
  out += "name = " + quote(m.name) + "\n";
  out += "command = " + quote(m.command) + "\n";
  out += std::string("autostart = ") + (m.autostart ? "true" : "false") + "\n";
  out += "profile = " + quote(m.profile) + "\n";
  if (m.base) out += "base = " + quote(*m.base) + "\n";
  out += "reserved_ports = [";
  for (size_t i = 0; i < m.reserved_ports.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(m.reserved_ports[i]);
  }
  out += "]\n";
  if (m.run_as) out += "run_as = " + quote(to_string(*m.run_as)) + "\n";
  if (m.reload_signal) out += "reload_signal = " + quote(*m.reload_signal) + "\n";
  out += "depends_on = " + string_array(m.depends_on) + "\n";
  out += "\n[rlimits]\n";
  out += "nofile = " + rlimit(m.rlimits.nofile) + "\n";
  out += "as = " + rlimit(m.rlimits.as) + "\n";
  out += "core = " + rlimit(m.rlimits.core) + "\n";
  out += "\n[log]\n";
  out += "facility = " + quote(m.log.facility) + "\n";
  out += "stdout_level = " + quote(m.log.stdout_level) + "\n";
  out += "stderr_level = " + quote(m.log.stderr_level) + "\n";
  out += "tag = " + quote(m.log.tag) + "\n";
  if (m.healthcheck) {
    out += "\n[healthcheck]\n";
    out += "command = " + quote(m.healthcheck->command) + "\n";
    out += "timeout = " + quote(format_duration(m.healthcheck->timeout)) + "\n";
    out += "interval = " + quote(format_duration(m.healthcheck->interval)) + "\n";
    out += "retries = " + std::to_string(m.healthcheck->retries) + "\n";
  }
  for (const Mount& mount : m.mounts) {
    out += "\n[[mounts]]\n";
    out += std::string(mount.source == Mount::Source::kVolume ? "volume" : "host") + " = " +
           quote(mount.from) + "\n";
    out += "target = " + quote(mount.target) + "\n";
    out += std::string("mode = ") + (mount.read_only ? "\"ro\"" : "\"rw\"") + "\n";
  }
  return out;
}

std::string render_volume(const VolumeManifest& v) {
  return "name = " + quote(v.name) + "\nmode = " + quote(format_octal_mode(v.mode)) + "\n";
}

std::string render_config(const HostConfig& c) {
  std::string out;
  out += std::string("allow_host_mounts = ") + (c.allow_host_mounts ? "true" : "false") + "\n";
  out += "allowed_host_paths = " + string_array(c.allowed_host_paths) + "\n";
  out += "debian_mirror = " + quote(c.debian_mirror) + "\n";
  out += "debian_suite = " + quote(c.debian_suite) + "\n";
  out += "default_base = " + quote(c.default_base) + "\n";
  out += "stop_timeout = " + quote(format_duration(c.stop_timeout)) + "\n";
  out += "restart_budget = " + quote(std::to_string(c.restart_budget_count) + "/" +
                                     format_duration(c.restart_budget_window)) + "\n";
  out += "backup_keep = " + std::to_string(c.backup_keep) + "\n";
  return out;
}

}  // namespace cells::engine
