// Where the helper programs of an installed cells live (implemented in files.cc).
#pragma once

#include <string>

namespace cells {

// Where a helper program NAME (cells-init, cells-supervise) is installed for the program EXE
// (default: the running one, /proc/self/exe): "<prefix>/libexec/cells/NAME" for EXE in
// "<prefix>/sbin" or any other directory of the prefix. Looked up before the build tree's
// copy, so an installed program never runs a helper of the tree it was built in. Empty when
// EXE cannot be resolved.
std::string installed_helper_path(const std::string& name, const std::string& exe = "");

}  // namespace cells
