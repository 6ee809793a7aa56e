#include "engine/manifest_check.h"

#include <charconv>
#include <cstdio>

#include "engine/manifest.h"

namespace cells::engine {
namespace {

Result<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) {
    return Error::invalid("'" + std::string(s) + "' is not a non-negative integer");
  }
  return v;
}

}  // namespace

Reason check_abs_path(std::string_view path) {
  if (path.empty() || path[0] != '/') return "'" + std::string(path) + "' is not an absolute path";
  if (path == "/") return std::nullopt;
  if (path.find('\0') != std::string_view::npos || path.find('\n') != std::string_view::npos) {
    return "path contains a NUL or newline";
  }
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view comp = path.substr(pos, end - pos);
    if (comp == "..") return "'" + std::string(path) + "' has a '..' component";
    if (comp == ".") return "'" + std::string(path) + "' has a '.' component";
    if (comp.empty()) return "'" + std::string(path) + "' has an empty component ('//' or trailing '/')";
    pos = end + 1;
  }
  return std::nullopt;
}

Reason check_mount_target(std::string_view target) {
  if (auto why = check_abs_path(target)) return why;
  if (target == "/") return std::string("'/' cannot be a mount target");
  for (std::string_view banned : {"/dev", "/proc", "/sys"}) {
    if (path_within(target, banned)) {
      return "'" + std::string(target) + "' is under " + std::string(banned) +
             ", which the runtime owns";
    }
  }
  return std::nullopt;
}

Reason check_host_source(std::string_view source) {
  if (auto why = check_abs_path(source)) return why;
  if (source == "/") return std::string("the host's '/' cannot be mounted into a cell");
  return std::nullopt;
}

Reason check_command(std::string_view command) {
  if (command.find_first_not_of(" \t") == std::string_view::npos) return std::string("is empty");
  if (command.find('\0') != std::string_view::npos || command.find('\n') != std::string_view::npos) {
    return std::string("must be one line");
  }
  return std::nullopt;
}

Reason check_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 48) return std::string("must be 1..48 characters");
  for (char c : tag) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return "'" + std::string(tag) + "' may contain only [A-Za-z0-9._-]";
  }
  return std::nullopt;
}

bool path_within(std::string_view path, std::string_view root) {
  if (root == "/") return true;
  return path == root || (path.starts_with(root) && path[root.size()] == '/');
}

bool targets_overlap(std::string_view a, std::string_view b) {
  return path_within(a, b) || path_within(b, a);
}

std::optional<uint32_t> parse_octal_mode(std::string_view s, bool allow_three) {
  if (s.size() != 4 && !(allow_three && s.size() == 3)) return std::nullopt;
  uint32_t mode = 0;
  for (char c : s) {
    if (c < '0' || c > '7') return std::nullopt;
    mode = mode * 8 + static_cast<uint32_t>(c - '0');
  }
  return mode;
}

std::string format_octal_mode(uint32_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

Result<std::chrono::milliseconds> parse_duration(std::string_view s) {
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  std::string_view unit = s.substr(digits);
  auto bad = [&] {
    return Error::invalid("'" + std::string(s) +
                          "' is not a duration (a whole number with ms, s, m or h, e.g. \"5s\")");
  };
  if (digits == 0 || digits > 9) return bad();
  uint64_t n = CELLS_TRY(parse_u64(s.substr(0, digits)));
  uint64_t scale = 0;
  if (unit == "ms") scale = 1;
  else if (unit == "s") scale = 1000;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else return bad();
  return std::chrono::milliseconds(static_cast<int64_t>(n * scale));
}

std::string format_duration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

Result<std::pair<uint32_t, std::chrono::milliseconds>> parse_restart_budget(std::string_view s) {
  size_t slash = s.find('/');
  auto bad = Error::invalid("'" + std::string(s) + "' is not a restart budget like \"5/60s\"");
  if (slash == std::string_view::npos) return bad;
  auto n = parse_u64(s.substr(0, slash));
  auto window = parse_duration(s.substr(slash + 1));
  if (!n || !window || *n == 0 || *n > 1000 || window->count() == 0) return bad;
  return std::pair{static_cast<uint32_t>(*n), *window};
}

std::string to_string(const RunAs& r) {
  std::string kind = r.kind == RunAs::Kind::kHost ? "host" : r.kind == RunAs::Kind::kCell ? "cell" : "uid";
  std::string out = kind + ":" + r.user;
  if (!r.group.empty()) out += ":" + r.group;
  return out;
}

Result<RunAs> parse_run_as(std::string_view s) {
  auto bad = [&](const std::string& why) {
    return Error::invalid("'" + std::string(s) + "' " + why +
                          " (expected host:user[:group], cell:user[:group] or uid:N[:M])");
  };
  RunAs r;
  size_t c1 = s.find(':');
  if (c1 == std::string_view::npos) return bad("has no kind");
  std::string_view kind = s.substr(0, c1);
  std::string_view rest = s.substr(c1 + 1);
  size_t c2 = rest.find(':');
  std::string_view user = rest.substr(0, c2);
  std::string_view group = c2 == std::string_view::npos ? "" : rest.substr(c2 + 1);
  if (c2 != std::string_view::npos && group.empty()) return bad("has an empty group");
  if (kind == "host") r.kind = RunAs::Kind::kHost;
  else if (kind == "cell") r.kind = RunAs::Kind::kCell;
  else if (kind == "uid") r.kind = RunAs::Kind::kUid;
  else return bad("has an unknown kind '" + std::string(kind) + "'");
  if (user.empty()) return bad("has an empty user");
  for (std::string_view part : {user, group}) {
    if (part.empty()) continue;
    if (r.kind == RunAs::Kind::kUid) {
      auto id = parse_u64(part);
      if (!id || *id >= 4294967295ULL) return bad("has a bad numeric id '" + std::string(part) + "'");
    } else if (!valid_name(part)) {
      return bad("has a bad account name '" + std::string(part) + "'");
    }
  }
  r.user = std::string(user);
  r.group = std::string(group);
  return r;
}

}  // namespace cells::engine
