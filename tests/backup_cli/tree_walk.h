// A tree walk that describes everything a backup must keep, one line per entry, so two trees
// compare as strings: type, mode, owner, size, nanosecond mtime (not for directories, whose
// mtime the walk order of a restore may touch), content, link target, user.* xattrs, hard-link
// group and allocated blocks of sparse files.
#pragma once

#include <string>

namespace cells::backup_cli::testing {

std::string describe_tree(const std::string& dir);

}  // namespace cells::backup_cli::testing
