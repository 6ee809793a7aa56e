// cellmgr volume backup ... and cellmgr cell backup ... (DESIGN section 11).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cellmgr/common.h"

namespace cells::cellmgr {

// Adds `backup create|list|verify|restore|delete|prune` under the existing `volume` and `cell`
// subcommands (call after add_volume_commands and add_cell_commands).
void add_backup_commands(CLI::App& app, Context& ctx);

}  // namespace cells::cellmgr
