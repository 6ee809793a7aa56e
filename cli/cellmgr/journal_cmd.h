// cellmgr journal list|show|verify|export: read-only views of the store's journal.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cellmgr/common.h"

namespace cells::cellmgr {

void add_journal_commands(CLI::App& app, Context& ctx);

}  // namespace cells::cellmgr
