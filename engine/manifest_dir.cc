// Loading a whole manifest directory: the first step of `cellmgr apply` (DESIGN section 8:
// validate everything before touching anything), reporting every problem at once.
#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/files.h"
#include "engine/manifest.h"

namespace cells::engine {

DesiredSet load_desired(const std::string& dir) {
  DesiredSet set;
  auto conf = load_config(dir + "/cellmgr.conf");
  if (conf) {
    set.conf = std::move(*conf);
  } else {
    set.problems.push_back(conf.error().message());
    set.conf.file = dir + "/cellmgr.conf";
  }

  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (struct dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
  } else if (errno != ENOENT) {
    set.problems.push_back(dir + ": " + std::strerror(errno));
  }
  std::sort(names.begin(), names.end());
  set.listed = true;
  for (const std::string& name : names) {
    if (name.starts_with(".")) continue;  // editor swap files, our own temp files
    std::string path = dir + "/" + name;
    const bool cell = name.ends_with(".cell");
    if (name.ends_with(".apply")) {
      set.plan_cells.insert(name.substr(0, name.size() - std::string_view(".apply").size()));
      continue;
    }
    if (!cell && !name.ends_with(".volume")) continue;
    auto text = read_file(path);
    if (!text) {
      set.problems.push_back(text.error().message());
      continue;
    }
    if (cell) {
      if (auto c = parse_cell(path, *text)) set.cells.push_back(std::move(*c));
      else set.problems.push_back(c.error().message());
    } else {
      if (auto v = parse_volume(path, *text)) set.volumes.push_back(std::move(*v));
      else set.problems.push_back(v.error().message());
    }
    set.texts.emplace(std::move(path), std::move(*text));
  }
  for (std::string& p : validate_desired(set.cells, set.volumes, set.conf)) {
    set.problems.push_back(std::move(p));
  }
  return set;
}

namespace {

template <typename T>
const T* by_name(const std::vector<T>& all, std::string_view name) {
  auto it = std::find_if(all.begin(), all.end(), [&](const T& x) { return x.name == name; });
  return it == all.end() ? nullptr : &*it;
}

}  // namespace

const CellManifest* DesiredSet::find_cell(std::string_view name) const {
  return by_name(cells, name);
}

const VolumeManifest* DesiredSet::find_volume(std::string_view name) const {
  return by_name(volumes, name);
}

}  // namespace cells::engine
