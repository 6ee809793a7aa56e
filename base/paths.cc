#include "base/paths.h"

#include <cstdio>
#include <cstdlib>

namespace cells {

Result<Paths> Paths::from_root(std::string root) {
  if (root.empty()) {
    const char* env = std::getenv("CELLS_ROOT");
    root = (env && *env) ? env : "/";
  }
  if (root[0] != '/') {
    return Error::invalid("root '" + root + "' must be an absolute path");
  }
  for (char c : root) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return Error::invalid("root path contains a control character");
    }
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return Paths{root};
}

std::string Paths::under(const std::string& rel) const {
  return root == "/" ? rel : root + rel;
}

std::string Paths::instance() const {
  if (root == "/") return "cells";
  // FNV-1a is enough here: the name only has to differ between roots on one host, it is not
  // a security boundary (the kernel checks identity by cgroup id, not by this name).
  uint32_t h = 2166136261u;
  for (unsigned char c : root) {
    h ^= c;
    h *= 16777619u;
  }
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return std::string("cells-") + buf;
}

std::string Paths::cgroup_parent() const { return "/sys/fs/cgroup/unified/" + instance(); }
std::string Paths::bpf_pin_dir() const { return "/sys/fs/bpf/" + instance(); }

}  // namespace cells
