// Small file helpers shared by every layer: whole-file reads and crash-safe writes.
#pragma once

#include <string>

#include "base/result.h"

namespace cells {

Result<std::string> read_file(const std::string& path);

// Writes CONTENT to PATH so that a crash leaves either the old file or the new one, never a
// mix: write PATH.tmp.<pid>, fsync it, rename over PATH, fsync the directory.
Status write_file_atomic(const std::string& path, const std::string& content, int mode = 0644);

// mkdir -p with MODE for each created component. Existing directories are fine.
Status make_dirs(const std::string& path, int mode = 0755);

// fsync the directory containing PATH (makes a rename or create in it durable).
Status fsync_parent_dir(const std::string& path);

}  // namespace cells
