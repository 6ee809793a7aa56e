// cellmgr apply, rollback (apply_cmd.cc), history (history_cmd.cc) and recover
// (recover_cmd.cc): the transactional apply of engine/apply.h.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cellmgr/common.h"

namespace cells::cellmgr {

void add_apply_commands(CLI::App& app, Context& ctx);    // apply, rollback
void add_history_commands(CLI::App& app, Context& ctx);  // history
void add_recover_commands(CLI::App& app, Context& ctx);  // recover

// Runs before every mutating command (DESIGN section 5): finishes or compensates an operation
// a crash interrupted, printing one line per cell it touched. Fails (kBusy) while another
// operation holds the writer lock, naming it.
Status recover_before_mutating(const Context& ctx);

}  // namespace cells::cellmgr
