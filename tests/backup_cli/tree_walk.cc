#include "tests/backup_cli/tree_walk.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <vector>

#include "base/files.h"

namespace cells::backup_cli::testing {
namespace {

std::string xattrs_of(const std::string& path) {
  char names[4096];
  ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
  std::vector<std::string> out;
  for (ssize_t i = 0; i < n; i += ssize_t(std::char_traits<char>::length(names + i)) + 1) {
    std::string name = names + i;
    if (name.rfind("user.", 0) != 0) continue;
    char value[1024];
    ssize_t v = ::lgetxattr(path.c_str(), name.c_str(), value, sizeof value);
    out.push_back(name + "=" + std::string(value, size_t(std::max<ssize_t>(v, 0))));
  }
  std::sort(out.begin(), out.end());
  std::string s;
  for (const auto& x : out) s += x + ";";
  return s;
}

void walk(const std::string& root, const std::string& rel, std::map<ino_t, std::string>& links,
          std::string& out) {
  std::string path = rel.empty() ? root : root + "/" + rel;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    out += rel + " MISSING\n";
    return;
  }
  char head[256];
  std::snprintf(head, sizeof head, "%s mode=%o uid=%u gid=%u", rel.empty() ? "." : rel.c_str(),
                unsigned(st.st_mode), unsigned(st.st_uid), unsigned(st.st_gid));
  std::string line = head;
  line += " xattr=" + xattrs_of(path);
  if (S_ISREG(st.st_mode)) {
    line += " size=" + std::to_string(st.st_size) + " mtime=" + std::to_string(st.st_mtim.tv_sec) +
            "." + std::to_string(st.st_mtim.tv_nsec);
    if (st.st_nlink > 1) {
      auto [it, fresh] = links.emplace(st.st_ino, rel);
      if (!fresh) line += " hardlink=" + it->second;
    }
    // Sparse: a file with holes allocates far fewer blocks than its size.
    line += std::string(" sparse=") + (st.st_blocks * 512 < st.st_size ? "1" : "0");
    line += " data=" + read_file(path).value_or("?").substr(0, 256);
  } else if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = ::readlink(path.c_str(), target, sizeof target);
    line += " ->" + std::string(target, size_t(std::max<ssize_t>(n, 0)));
  }
  out += line + "\n";
  if (!S_ISDIR(st.st_mode)) return;
  std::vector<std::string> names;
  if (DIR* d = ::opendir(path.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) walk(root, rel.empty() ? n : rel + "/" + n, links, out);
}

}  // namespace

std::string describe_tree(const std::string& dir) {
  std::map<ino_t, std::string> links;
  std::string out;
  walk(dir, "", links, out);
  return out;
}

}  // namespace cells::backup_cli::testing
