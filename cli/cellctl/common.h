// What every cellctl command shares: the --root option, opening the runtime, one-line error
// reporting and the number formats of the command line. Commands register themselves on the
// CLI11 app and leave their action in Context::run, which main() executes once parsing
// succeeded, so no command runs on a bad command line.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/paths.h"
#include "base/result.h"
#include "cli/cli_common.h"
#include "kernel/cell.h"

namespace cells::cellctl {

using Context = cli::Context;
using cli::paths_of;

// Prints "cellctl: <message>" to stderr; returns 1, the exit status of a failed command.
inline int fail(const std::string& message) { return cli::fail("cellctl", message); }
inline int fail(const Error& error) { return fail(error.message()); }

Result<kernel::Runtime> open_runtime(const Context& ctx);

// "1024", or "unlimited" -> nullopt. kInvalid naming FLAG otherwise.
Result<std::optional<uint64_t>> parse_limit(const std::string& flag, const std::string& text);
// The inverse, for tables: "unlimited" for nullopt.
std::string format_limit(const std::optional<uint64_t>& v);

// One command per file; each adds its subcommand to APP.
void add_create_command(CLI::App& app, Context& ctx);
void add_exec_command(CLI::App& app, Context& ctx);
void add_destroy_command(CLI::App& app, Context& ctx);
void add_list_command(CLI::App& app, Context& ctx);
void add_supervise_command(CLI::App& app, Context& ctx);
void add_stats_command(CLI::App& app, Context& ctx);

}  // namespace cells::cellctl
