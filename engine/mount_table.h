#pragma once

// The mount points of this process's mount namespace, read from /proc/self/mountinfo and
// re-read only when the kernel reports that the table changed.
//
// Why: with N running cells the table holds N overlay mounts whose option strings the kernel
// formats on every read (about 10 ms at 1,000 cells), and one apply asks "is anything mounted
// below X?" several times. mountinfo signals POLLPRI after any mount or unmount in the
// namespace, so a copy whose descriptor reports no event is exactly what a new read would
// return.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace cells::engine {

// Mount points at or below DIR (string prefix on path components), in mount order.
Result<std::vector<std::string>> mounts_below(const std::string& dir);

// The first mount point found at or below DIR, or nullopt when nothing is mounted there (a
// missing DIR included). It walks DIR and asks statx whether each entry is the root of a
// mount, so its cost follows the size of DIR, not the number of mounts on the host. It
// answers the yes/no question of remove_tree; for the list of mounts use mounts_below.
Result<std::optional<std::string>> first_mount_at_or_below(const std::string& dir);

// The mounts of the tree mounted on DIR, DIR first and parents before children, from the
// kernel's listmount(2)/statmount(2) (Linux 6.8): the cost follows the size of that tree, not
// the number of mounts on the host. Empty when nothing is mounted on DIR itself (mounts on its
// subdirectories then are not looked for: use first_mount_at_or_below). nullopt when the
// kernel cannot answer this way (callers then use mounts_below).
Result<std::optional<std::vector<std::string>>> mount_tree_at(const std::string& dir);

// Whether something is mounted on PATH itself (statx; the table only on kernels before 5.8).
bool is_mount_point(const std::string& path);

// How many times this process has read the table into its cache (for tests and benchmarks).
uint64_t mount_table_reads();

// One mountinfo mount point field with its \ooo escapes decoded.
std::string unescape_mountinfo(const std::string& field);

// Every mount point in TEXT (mountinfo lines), in order. Lines without one are skipped.
std::vector<std::string> parse_mount_points(const std::string& text);

}  // namespace cells::engine
