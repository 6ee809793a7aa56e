// Desired-state edits made through the CLI (`cell create|set|remove|edit`, `volume
// create|set|remove`): each edit validates the WHOLE resulting desired set before anything is
// written, then writes the manifest files atomically and commits a new generation, all in one
// journaled store operation (DESIGN sections 4, 5, 12).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/manifest.h"
#include "store/records.h"
#include "store/store.h"

namespace cells::engine {

// One file of the manifest directory: new CONTENT, or nullopt to delete it.
struct FileChange {
  std::string path;  // absolute, inside Paths::etc_dir()
  std::optional<std::string> content;
};

// The desired set as it would be after CHANGES: every problem of the result ("file: reason"),
// empty when it is valid. Problems of files the edit does not touch count too, so one edit
// never commits a broken whole.
struct CandidateSet {
  DesiredSet set;
  std::vector<std::string> problems;
};
CandidateSet candidate_desired(const Paths& paths, const std::vector<FileChange>& changes);

// The store's record of a desired set (cells, volumes and apply plan texts of DIR).
store::DesiredState to_store_state(const DesiredSet& set, const std::string& dir);

// Validates, then (one operation KIND on TARGET, e.g. "cell.create" / "cell/web"):
//   1. journal an intent (before/after = the old and new text of each changed file),
//   2. write or delete each file atomically,
//   3. commit the new generation,
//   4. journal done.
// Any problem before step 2 changes nothing: kInvalid listing every problem. A failure in
// step 2 or 3 puts the old files back and journals `failed`. Returns the new generation.
Result<uint64_t> commit_desired_edit(const Paths& paths, const std::string& kind,
                                     const std::string& target,
                                     const std::vector<FileChange>& changes);

// "<etc>/<name>.cell", "<etc>/<name>.volume", "<etc>/<name>.apply", "<etc>/cellmgr.conf".
std::string cell_manifest_path(const Paths& paths, const std::string& name);
std::string volume_manifest_path(const Paths& paths, const std::string& name);
std::string apply_plan_path(const Paths& paths, const std::string& name);
std::string config_path(const Paths& paths);

// Joins PROBLEMS into one error: "invalid desired state: p1; p2".
Error problems_error(const std::string& what, const std::vector<std::string>& problems);

}  // namespace cells::engine
