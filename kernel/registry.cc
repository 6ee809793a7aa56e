#include "kernel/registry.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <map>
#include <optional>

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

namespace {

std::vector<std::string> index_keys(uint32_t cid, std::span<const uint16_t> ports) {
  std::vector<std::string> keys{"cid-" + std::to_string(cid)};
  for (uint16_t p : ports) keys.push_back("port-" + std::to_string(p));
  return keys;
}

std::vector<std::string> index_keys(const CellInfo& info) {
  return index_keys(info.cid, info.ports);
}

// The cell an index entry names; nullopt when there is none.
Result<std::optional<std::string>> index_owner(const std::string& link) {
  char target[kMaxCellName + 2];
  ssize_t n = ::readlink(link.c_str(), target, sizeof target);
  if (n < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return Error::sys(errno, "read " + link);
  }
  return std::optional<std::string>(std::string(target, size_t(n)));
}

// Index directories left half-built by a build that was killed (they hold only links).
void remove_scratch_indexes(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (struct dirent* e = ::readdir(d)) {
    if (std::string_view(e->d_name).rfind(".index.tmp.", 0) != 0) continue;
    const std::string scratch = dir + "/" + e->d_name;
    if (DIR* s = ::opendir(scratch.c_str())) {
      while (struct dirent* l = ::readdir(s)) {
        if (l->d_name[0] != '.') (void)::unlink((scratch + "/" + l->d_name).c_str());
      }
      ::closedir(s);
    }
    (void)::rmdir(scratch.c_str());
  }
  ::closedir(d);
}

}  // namespace

Status Registry::index(const CellInfo& info) const {
  for (const auto& key : index_keys(info)) {
    // A new link renamed over the old one: readers see one owner or the other, never none.
    const std::string link = index_dir() + "/" + key;
    const std::string tmp = link + ".tmp." + std::to_string(::getpid());
    (void)::unlink(tmp.c_str());
    CELLS_SYSCALL(::symlink(info.name.c_str(), tmp.c_str()), "index " + link);
    if (::rename(tmp.c_str(), link.c_str()) != 0) {
      int err = errno;
      (void)::unlink(tmp.c_str());
      return Error::sys(err, "index " + link);
    }
  }
  return ok_status();
}

void Registry::unindex(const CellInfo& info) const {
  for (const auto& key : index_keys(info)) {
    // Only the name's own entries: another cell may have claimed the cid or port since.
    const std::string link = index_dir() + "/" + key;
    auto owner = index_owner(link);
    if (owner && *owner == info.name) (void)::unlink(link.c_str());
  }
}

Status Registry::ensure_index() const {
  struct stat st;
  if (::stat(index_dir().c_str(), &st) == 0) return ok_status();
  // Built in a scratch directory and renamed into place, so a crash midway leaves no index
  // that lacks a record.
  CELLS_TRY(make_dirs(dir_, 0700));
  remove_scratch_indexes(dir_);
  const std::string scratch = dir_ + "/.index.tmp." + std::to_string(::getpid());
  CELLS_SYSCALL(::mkdir(scratch.c_str(), 0700), "create " + scratch);
  for (const auto& name : CELLS_TRY(names())) {
    auto info = load(name);
    if (!info) continue;  // a corrupt record claims nothing; find and list report it
    for (const auto& key : index_keys(*info)) {
      const std::string link = scratch + "/" + key;
      CELLS_SYSCALL(::symlink(name.c_str(), link.c_str()), "index " + link);
    }
  }
  CELLS_SYSCALL(::rename(scratch.c_str(), index_dir().c_str()), "install " + index_dir());
  return ok_status();
}

Status Registry::save(const CellInfo& info) const {
  CELLS_TRY(ensure_index());
  CELLS_TRY(index(info));
  return write_file_atomic(dir_ + "/" + info.name, encode_record(info), 0600);
}

Result<std::vector<std::string>> Registry::claimants(uint32_t cid,
                                                     std::span<const uint16_t> ports) const {
  CELLS_TRY(ensure_index());
  std::vector<std::string> out;
  for (const auto& key : index_keys(cid, ports)) {
    if (auto owner = CELLS_TRY(index_owner(index_dir() + "/" + key))) out.push_back(*owner);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
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
  auto info = load(name);  // what it claims, read before the record goes
  if (unlink(path.c_str()) != 0 && errno != ENOENT) return Error::sys(errno, "unlink " + path);
  if (info) unindex(*info);
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
