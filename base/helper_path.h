// Where the helper programs of an installed cells live (implemented in files.cc).
#pragma once

#include <string>

#include "base/result.h"

namespace cells {

// Where a helper program NAME (cells-init, cells-supervise) is installed for the program EXE
// (default: the running one, /proc/self/exe): "<prefix>/libexec/cells/NAME" for EXE in
// "<prefix>/sbin" or any other directory of the prefix. Looked up before the build tree's
// copy, so an installed program never runs a helper of the tree it was built in. Empty when
// EXE cannot be resolved.
std::string installed_helper_path(const std::string& name, const std::string& exe = "");

// The helper program NAME to run: $ENV_VAR when set, else the one installed with the running
// program (installed_helper_path), else BUILD_PATH (the copy built with this tree; may be
// null), else /usr/libexec/cells/NAME. kNotFound naming every path tried.
Result<std::string> find_helper_program(const std::string& name, const char* env_var,
                                        const char* build_path);

}  // namespace cells
