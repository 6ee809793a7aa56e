// Value checks shared by the manifest parser, cross-manifest validation and the plan language.
// Each check returns nullopt when the value is fine, otherwise the reason (no file, no key:
// callers add those).
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.h"

namespace cells::engine {

using Reason = std::optional<std::string>;

// Absolute, and no "." / ".." / empty components (no "//", no trailing "/" except "/" itself).
Reason check_abs_path(std::string_view path);
// A mount target: an absolute path as above, not "/", not under /dev, /proc or /sys.
Reason check_mount_target(std::string_view target);
// A host mount source: an absolute path as above, not "/".
Reason check_host_source(std::string_view source);
// A service or healthcheck command: non-empty, no NUL or newline.
Reason check_command(std::string_view command);
// A syslog tag: 1..48 of [A-Za-z0-9._-].
Reason check_tag(std::string_view tag);

// Equal, or one is a parent directory of the other ("/a" and "/a/b", not "/a" and "/ab").
bool targets_overlap(std::string_view a, std::string_view b);
// True if PATH is ROOT or below it (both canonical absolute paths).
bool path_within(std::string_view path, std::string_view root);

// Exactly four octal digits ("0755"); plans also accept three ("755").
std::optional<uint32_t> parse_octal_mode(std::string_view s, bool allow_three = false);
std::string format_octal_mode(uint32_t mode);

// "N/DURATION", e.g. "5/60s": at most N restarts within DURATION.
Result<std::pair<uint32_t, std::chrono::milliseconds>> parse_restart_budget(std::string_view s);

}  // namespace cells::engine
