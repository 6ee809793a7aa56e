// What every cellmgr command shares: the --root option, opening the store, error reporting and
// time formatting. Commands register themselves on the CLI11 app and leave their action in
// Context::run, which main() executes once parsing succeeded (so no command runs on a bad line).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/paths.h"
#include "base/result.h"
#include "cli/cli_common.h"
#include "store/store.h"

namespace cells::cellmgr {

using Context = cli::Context;
using cli::paths_of;

// Prints "cellmgr: <message>" to stderr; returns 1, the exit status of a failed command.
inline int fail(const std::string& message) { return cli::fail("cellmgr", message); }
inline int fail(const Error& error) { return fail(error.message()); }


// Opens the store for a read-only command. nullopt when the root has no store yet: the command
// should say so on stdout and exit 0 (DESIGN section 5: reads never create a store).
Result<std::optional<store::Store>> open_for_read(const Context& ctx);

// "2024-05-01T12:34:56.789Z"
std::string format_time(int64_t ns);
// Parses --since: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS]" (UTC), "@UNIXSECONDS", or a duration
// ago "<N>s|m|h|d". NOW_NS anchors durations. Errors: kInvalid naming the text.
Result<int64_t> parse_time(const std::string& text, int64_t now_ns);
int64_t now_ns();

}  // namespace cells::cellmgr
