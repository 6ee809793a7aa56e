// cellmgr serve --stdio: the RPC bridge for cellui (engine/rpc/README.md).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cellmgr/common.h"

namespace cells::cellmgr {

void add_serve_commands(CLI::App& app, Context& ctx);

}  // namespace cells::cellmgr
