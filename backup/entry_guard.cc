#include "backup/entry_guard.h"

#include <vector>

namespace cells::backup {
namespace {

std::vector<std::string_view> split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

Result<std::string> EntryGuard::normalise(std::string_view path, std::string_view what) {
  if (path.empty()) return Error::invalid(std::string(what) + " has an empty path");
  if (path[0] == '/') {
    return Error::invalid(std::string(what) + " " + quoted(path) + " has an absolute path");
  }
  std::string out;
  for (std::string_view part : split(path)) {
    if (part == ".") continue;
    if (part == "..") {
      return Error::invalid(std::string(what) + " " + quoted(path) +
                            " has a '..' component (path traversal)");
    }
    if (!out.empty()) out += '/';
    out += part;
  }
  return out.empty() ? std::string(".") : out;
}

Status EntryGuard::check_not_below_symlink(const std::string& path, std::string_view what) const {
  // Every proper prefix of PATH must not be an earlier symlink entry: writing "a/x" after the
  // symlink "a -> /etc" would write /etc/x.
  for (size_t i = path.find('/'); i != std::string::npos; i = path.find('/', i + 1)) {
    std::string prefix = path.substr(0, i);
    if (symlinks_.contains(prefix)) {
      return Error::invalid(std::string(what) + " " + quoted(path) + " lies below the symlink " +
                            quoted(prefix) + " (write through a symlink)");
    }
  }
  return ok_status();
}

Status EntryGuard::check_symlink_target(const std::string& path, std::string_view target) const {
  std::string what = "symlink " + quoted(path) + " -> " + quoted(target);
  if (target.empty()) return Error::invalid(what + " has an empty target");
  if (target[0] == '/') {
    if (policy_.allow_absolute_symlinks) return ok_status();
    return Error::invalid(what + " points outside the target (absolute)");
  }
  // Resolve lexically from the link's directory. A ".." right after a component that is itself
  // an earlier symlink cannot be judged lexically (the kernel applies ".." to the symlink's
  // destination), so it is refused too.
  std::vector<std::string> stack;
  for (std::string_view part : split(path)) stack.emplace_back(part);
  stack.pop_back();
  for (std::string_view part : split(target)) {
    if (part == ".") continue;
    if (part == "..") {
      if (stack.empty()) return Error::invalid(what + " points outside the target");
      std::string joined;
      for (const auto& s : stack) joined += (joined.empty() ? "" : "/") + s;
      if (symlinks_.contains(joined)) {
        return Error::invalid(what + " applies '..' to the symlink " + quoted(joined));
      }
      stack.pop_back();
      continue;
    }
    stack.emplace_back(part);
  }
  return ok_status();
}

Result<std::string> EntryGuard::check(std::string_view raw_path, EntryType type,
                                      std::string_view link) {
  std::string path = CELLS_TRY(normalise(raw_path, "entry"));
  std::string what = "entry " + quoted(path);
  CELLS_TRY(check_not_below_symlink(path, "entry"));
  if (path == "." && type != EntryType::kDir) {
    return Error::invalid("entry " + quoted(raw_path) +
                          " names the target itself but is not a directory");
  }
  // Replacing an earlier symlink member by another object is refused outright: whether the
  // new object would be written through the link is then libarchive's call alone.
  if (symlinks_.contains(path)) {
    return Error::invalid(what + " replaces the earlier symlink " + quoted(path));
  }
  switch (type) {
    case EntryType::kFile:
    case EntryType::kFifo:
      linkable_.insert(path);
      break;
    case EntryType::kDir:
      break;
    case EntryType::kSymlink:
      CELLS_TRY(check_symlink_target(path, link));
      symlinks_.insert(path);
      linkable_.insert(path);
      break;
    case EntryType::kHardlink: {
      if (link.empty()) return Error::invalid(what + " is a hard link without a target");
      if (link[0] == '/') {
        return Error::invalid("hard link " + quoted(path) + " -> " + quoted(link) +
                              " points outside the target (absolute)");
      }
      std::string to = CELLS_TRY(normalise(link, "hard link " + quoted(path) + " target"));
      CELLS_TRY(check_not_below_symlink(to, "hard link target"));
      if (!linkable_.contains(to)) {
        return Error::invalid("hard link " + quoted(path) + " -> " + quoted(to) +
                              " does not name an earlier file of the archive");
      }
      linkable_.insert(path);
      break;
    }
    case EntryType::kCharDev:
    case EntryType::kBlockDev:
      if (!policy_.allow_devices) {
        return Error::invalid(what + " is a device node (refused unless devices are allowed)");
      }
      linkable_.insert(path);
      break;
    case EntryType::kSocket:
      return Error::invalid(what + " is a socket");
  }
  // A later entry of another type at the same path replaces the symlink on disk, but the
  // conservative choice is to keep refusing writes below it.
  return path;
}

}  // namespace cells::backup
