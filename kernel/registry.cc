#include "kernel/registry.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <map>

#include "base/files.h"
#include "base/syscall.h"
#include "base/text.h"

namespace cells::kernel {
namespace {

std::string encode_limit(const std::optional<uint64_t>& v) {
  return v ? std::to_string(*v) : std::string();
}

template <typename T>
bool parse_number(std::string_view s, T* out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

Status validate_cell_name(std::string_view name) {
  if (name.empty()) return Error::invalid("cell name is empty");
  if (name.size() > kMaxCellName) {
    return Error::invalid("cell name '" + std::string(name) + "' is longer than " +
                          std::to_string(kMaxCellName) + " characters");
  }
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Error::invalid("cell name '" + std::string(name) +
                            "' may only contain letters, digits, '.', '_' and '-'");
    }
  }
  if (name == "." || name == "..") {
    return Error::invalid("cell name '" + std::string(name) + "' is reserved");
  }
  return ok_status();
}

std::string encode_record(const CellInfo& info) {
  std::string ports;
  for (size_t i = 0; i < info.ports.size(); ++i) {
    if (i) ports += ',';
    ports += std::to_string(info.ports[i]);
  }
  std::string out;
  out += "cid=" + std::to_string(info.cid) + "\n";
  out += "name=" + info.name + "\n";
  out += "root=" + info.root + "\n";
  out += "profile=" + std::string(to_string(info.profile)) + "\n";
  out += "ports=" + ports + "\n";
  out += "nofile=" + encode_limit(info.rlimits.nofile) + "\n";
  out += "as=" + encode_limit(info.rlimits.as) + "\n";
  out += "core=" + encode_limit(info.rlimits.core) + "\n";
  // Spawns long after create need the same Landlock writable set, so it is part of the record
  // (':'-separated: create refuses paths containing ':').
  std::string writable;
  for (size_t i = 0; i < info.writable_paths.size(); ++i) {
    if (i) writable += ':';
    writable += info.writable_paths[i];
  }
  out += "writable=" + writable + "\n";
  out += "cgroup_id=" + std::to_string(info.cgroup_id) + "\n";
  out += "init_pid=" + std::to_string(info.init_pid) + "\n";
  out += "created_unix_ns=" + std::to_string(info.created_unix_ns) + "\n";
  return out;
}

Result<CellInfo> decode_record(std::string_view text) {
  std::map<std::string, std::string, std::less<>> kv;
  for (std::string_view line : lines(text)) {
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return Error(ErrorKind::kCorrupt, "cell record line '" + std::string(line) + "' has no '='");
    }
    kv.emplace(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  auto get = [&](std::string_view key) -> Result<std::string> {
    auto it = kv.find(key);
    if (it == kv.end()) {
      return Error(ErrorKind::kCorrupt, "cell record lacks '" + std::string(key) + "'");
    }
    return it->second;
  };
  auto bad = [](std::string_view key, const std::string& v) {
    return Error(ErrorKind::kCorrupt,
                 "cell record has a bad " + std::string(key) + " '" + v + "'");
  };
  CellInfo info;
  std::string v = CELLS_TRY(get("cid"));
  if (!parse_number(v, &info.cid) || info.cid == 0) return bad("cid", v);
  info.name = CELLS_TRY(get("name"));
  info.root = CELLS_TRY(get("root"));
  v = CELLS_TRY(get("profile"));
  auto profile = parse_profile(v);
  if (!profile) return bad("profile", v);
  info.profile = *profile;
  v = CELLS_TRY(get("ports"));
  for (size_t p = 0; p < v.size();) {
    size_t comma = v.find(',', p);
    if (comma == std::string::npos) comma = v.size();
    uint16_t port = 0;
    if (!parse_number(std::string_view(v).substr(p, comma - p), &port)) return bad("ports", v);
    info.ports.push_back(port);
    p = comma + 1;
  }
  for (auto [key, field] : {std::pair{"nofile", &info.rlimits.nofile},
                            std::pair{"as", &info.rlimits.as},
                            std::pair{"core", &info.rlimits.core}}) {
    v = CELLS_TRY(get(key));
    if (v.empty()) continue;
    uint64_t n = 0;
    if (!parse_number(v, &n)) return bad(key, v);
    *field = n;
  }
  // Optional for records written before it existed: absent = the defaults, as before.
  if (auto it = kv.find("writable"); it != kv.end() && !it->second.empty()) {
    const std::string& w = it->second;
    for (size_t p = 0; p <= w.size();) {
      size_t colon = w.find(':', p);
      if (colon == std::string::npos) colon = w.size();
      std::string path = w.substr(p, colon - p);
      if (path.empty() || path[0] != '/') return bad("writable", w);
      info.writable_paths.push_back(std::move(path));
      p = colon + 1;
    }
  }
  v = CELLS_TRY(get("cgroup_id"));
  if (!parse_number(v, &info.cgroup_id)) return bad("cgroup_id", v);
  v = CELLS_TRY(get("init_pid"));
  if (!parse_number(v, &info.init_pid)) return bad("init_pid", v);
  v = CELLS_TRY(get("created_unix_ns"));
  if (!parse_number(v, &info.created_unix_ns)) return bad("created_unix_ns", v);
  return info;
}

Result<Fd> Registry::lock() const {
  CELLS_TRY(make_dirs(dir_, 0700));
  std::string path = dir_ + "/.lock";
  Fd fd = CELLS_SYSCALL_FD(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600),
                           "open " + path);
  CELLS_SYSCALL(flock(fd.get(), LOCK_EX), "lock " + path);
  return fd;
}

Status Registry::save(const CellInfo& info) const {
  CELLS_TRY(make_dirs(dir_, 0700));
  return write_file_atomic(dir_ + "/" + info.name, encode_record(info), 0600);
}

Result<CellInfo> Registry::load(std::string_view name) const {
  std::string path = dir_ + "/" + std::string(name);
  auto text = read_file(path);
  if (!text) {
    if (text.error().sys_errno() == ENOENT) {
      return Error::not_found("no cell named '" + std::string(name) + "'");
    }
    return std::move(text).error();
  }
  auto info = decode_record(*text);
  if (!info) return std::move(info).error().wrap(path);
  return info;
}

Status Registry::remove(std::string_view name) const {
  std::string path = dir_ + "/" + std::string(name);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "unlink " + path);
  return ok_status();
}

Result<std::vector<std::string>> Registry::names() const {
  std::vector<std::string> out;
  DIR* d = opendir(dir_.c_str());
  if (!d) {
    if (errno == ENOENT) return out;
    return Error::sys(errno, "opendir " + dir_);
  }
  while (struct dirent* e = readdir(d)) {
    std::string n = e->d_name;
    // Dot files are the lock and write_file_atomic's temporaries, never records.
    if (n.empty() || n[0] == '.' || n.find(".tmp.") != std::string::npos) continue;
    out.push_back(std::move(n));
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace cells::kernel
