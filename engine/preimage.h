// The undo record of a live apply (engine/apply.h): the images of exactly the entries a plan
// changes, taken before its first write, so a failed or interrupted live apply can put them
// back while the service keeps running.
//
// The pre-apply snapshot (snapshot.h) needs the cell's root unmounted, so it needs the service
// stopped. A live apply instead changes the files under the running service and reloads it;
// its rollback is this record. That only works for a plan whose every step names the one path
// it writes: FILE, DIR, LINE, SYMLINK, COPY, TEMPLATE and PATCH. EXEC and PKG can change
// anything, so a plan with them always takes the stop + snapshot path.
//
// On disk: <cell dir>/preimage, one file written atomically (temp, fsync, rename, fsync of the
// directory) before any write of the plan, and removed once the cell's apply is done or undone.
// It carries the id of the operation it belongs to, so a file some earlier crash left behind
// is never restored by a later operation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/plan.h"
#include "engine/rootfs_build.h"
#include "engine/rootwrite.h"

namespace cells::engine {

struct Preimage {
  uint64_t operation = 0;
  std::vector<EntryImage> entries;  // in capture order; restored newest first
  bool operator==(const Preimage&) const = default;
};

// Whether PLAN can be applied live: every step is a host-side write of one named path.
bool plan_is_live(const Plan& plan);

// The entries PLAN's steps will change, as they are in ROOT now, each once (a missing
// directory stands for everything the plan creates below it). kInvalid for a plan with EXEC or
// PKG steps.
Result<std::vector<EntryImage>> capture_preimage(const Plan& plan, CellRoot& root);

// Puts every entry back, newest first (so a directory the plan created goes last).
Status restore_preimage(CellRoot& root, const Preimage& p);

std::string preimage_path(const CellRootLayout& layout);  // <cell dir>/preimage

// Atomic and durable: the file is complete on disk, or absent, when this returns.
Status save_preimage(const std::string& path, const Preimage& p);
// nullopt when there is none; kCorrupt for a file that does not decode.
Result<std::optional<Preimage>> load_preimage(const std::string& path);
// Removes it (and makes the removal durable); nothing to do when there is none.
Status drop_preimage(const std::string& path);

// The byte form of the file (exposed for the fuzz-style round-trip tests).
std::string encode_preimage(const Preimage& p);
Result<Preimage> decode_preimage(std::string_view bytes);

}  // namespace cells::engine
