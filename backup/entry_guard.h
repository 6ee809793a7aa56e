// EntryGuard: the restore-side check of every archive entry before anything is written for it.
// It is the second line of defence: libarchive's ARCHIVE_EXTRACT_SECURE_* flags are the first,
// and the kernel's O_NOFOLLOW-style refusals inside libarchive the last. Its errors name the
// entry, so an operator learns which member of which archive is hostile.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "base/result.h"

namespace cells::backup {

enum class EntryType { kFile, kDir, kSymlink, kHardlink, kFifo, kCharDev, kBlockDev, kSocket };

struct GuardPolicy {
  bool allow_devices = false;  // character and block device nodes
  // Absolute symlink targets. An overlay is a cell's root filesystem, where "/usr/lib/x"
  // resolves inside the cell; in a volume it would point into the host.
  bool allow_absolute_symlinks = false;
};

class EntryGuard {
 public:
  explicit EntryGuard(GuardPolicy policy) : policy_(policy) {}

  // Checks one entry in archive order and remembers it (symlinks and files are needed to judge
  // later entries). Returns the normalised relative path ("." for the archive root, no "./"
  // prefix, no trailing or doubled '/'). LINK is the symlink target or the hard link target.
  // Errors (kInvalid, naming the entry): absolute path, ".." component, a path below an
  // earlier symlink (writing through it), a symlink whose target leaves the tree, a hard link
  // that is absolute, has "..", or does not name an earlier non-directory entry, a device node
  // (unless allowed), a socket.
  Result<std::string> check(std::string_view path, EntryType type, std::string_view link = {});

  // The normalised spelling of a member path (as check returns it). Errors: kInvalid for an
  // empty or absolute path or a ".." component; WHAT names the path in the message.
  static Result<std::string> normalise(std::string_view path, std::string_view what);

 private:
  Status check_not_below_symlink(const std::string& path, std::string_view what) const;
  Status check_symlink_target(const std::string& path, std::string_view target) const;

  GuardPolicy policy_;
  std::set<std::string> symlinks_;  // normalised paths of symlink entries so far
  std::set<std::string> linkable_;  // non-directory entries so far (valid hard link targets)
};

}  // namespace cells::backup
