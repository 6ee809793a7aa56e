// Volumes (DESIGN section 6): plain host directories under Paths::volumes_dir(), independent of
// any cell's lifecycle and shareable between cells (rw in one, ro in another).
#pragma once

#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/manifest.h"

namespace cells::engine {

std::string volume_dir(const Paths& paths, const std::string& name);

// Creates the volume's directory with the manifest's mode when missing; an existing one keeps
// its content and gets the mode. Returns true when it created the directory.
Result<bool> ensure_volume_dir(const Paths& paths, const VolumeManifest& volume);

// Removes volume NAME's data all at once as far as anyone can see: the directory is renamed to
// a tombstone (".<name>.removing-<pid>", never a volume name) and then deleted, so a crash
// leaves the data whole or gone, plus a tombstone that sweep_volume_tombstones() removes.
Status remove_volume_data(const Paths& paths, const std::string& name);

// Recovery: deletes the tombstones of removals whose process is gone.
Status sweep_volume_tombstones(const Paths& paths);

// Cells whose manifests mount volume NAME (sorted, unique).
std::vector<std::string> volume_users(const DesiredSet& set, const std::string& name);

// Mount points of volume NAME inside cell roots right now (the host mount table, for the cells
// whose manifests mount it). Empty: not mounted anywhere.
std::vector<std::string> volume_mounts_now(const Paths& paths, const DesiredSet& set,
                                           const std::string& name);

}  // namespace cells::engine
