// Shared by the control-plane commands (system_cmd.cc, cell_cmd.cc, cell_run_cmd.cc,
// volume_cmd.cc): confirmation of destructive commands, the cellctl binary, read options.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "base/paths.h"
#include "base/result.h"
#include "cli/cellmgr/common.h"
#include "engine/lifecycle.h"
#include "engine/reads.h"

namespace cells::cellmgr {

void add_system_commands(CLI::App& app, Context& ctx);
void add_cell_commands(CLI::App& app, Context& ctx);
void add_volume_commands(CLI::App& app, Context& ctx);

// Destructive commands: ok with --yes; otherwise the operator types `yes` on /dev/tty after a
// warning that WHAT may cause irreversible data loss. No terminal and no --yes: refused.
Status confirm(bool yes, const std::string& what);

// Mutating commands need root (they mount, create cgroups and write the store).
Status require_root();

// The cellctl binary: $CELLS_CELLCTL, else beside cellmgr, else the build tree's sibling
// directory, else "cellctl" on PATH.
std::string cellctl_path();

engine::LifecycleConfig lifecycle_config();

// --view, -o, -T, -H, --json of list/show/fields.
struct ReadOptions {
  std::string view;
  std::string fields;
  bool tsv = false;
  bool no_header = false;
  bool json = false;
};
void add_read_options(CLI::App* sub, ReadOptions& o, bool with_fields = true);

enum class ReadKind { kCells, kVolumes };
// list (ONLY empty), show (ONLY set; default view merged, vertical table) and fields.
int run_read(const Context& ctx, ReadKind kind, const ReadOptions& o,
             const std::optional<std::string>& only, engine::View default_view);
int run_fields(ReadKind kind, const ReadOptions& o);

// "a,b" -> {"a","b"}
std::vector<std::string> split_csv(const std::string& text);

}  // namespace cells::cellmgr
