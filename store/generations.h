// Generations in store format 2: a header per generation, and each cell, volume and plan a
// record of its own, written only by the generation that changed it. Internal to store/.
//
// Format 1 kept the whole desired state in every generation record: a one-cell change at
// 1,000 cells encoded and wrote 1,000 manifests (half a megabyte, about 3 ms of an apply),
// which made the cost of a change grow with the number of cells (issue #10). Format 2 writes
// what changed, so a change writes the same at any N; reading generation G finds each item's
// newest version at or before G.
//
//   generations       u64be(G)                       -> header (number, time, op, counts)
//   generation_items  kind name \0 u64be(G)         -> the item as generation G set it,
//                                                      or empty: G removed it
// KIND is 'c' (cell manifest), 'v' (volume manifest) or 'p' (apply plan, by cell name). Names
// hold no NUL (commit refuses one), so one name's versions are adjacent and ordered by G, and
// names sort as std::string compares them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"
#include "store/lmdb.h"
#include "store/records.h"

namespace cells::store::detail {

struct GenerationDbs {
  MDB_dbi headers = 0;  // "generations"
  MDB_dbi items = 0;    // "generation_items"
};

enum class ItemKind : char { kCell = 'c', kVolume = 'v', kPlan = 'p' };

std::string item_key(ItemKind kind, std::string_view name, uint64_t generation);

// G's header: its number, time, operation and counts.
GenerationSummary summary_of(const Generation& g);

// Writes generation HEADER.number: its header, each item of DESIRED that PREVIOUS (the state
// of the generation before it; empty for the first) lacks or holds differently, and a removal
// for each item of PREVIOUS that DESIRED lacks. Errors: kInvalid for an empty name, a name
// with a NUL, or a name twice in one list (nothing can address such an item); LMDB errors as
// the txn reports them.
Status write_generation(Txn& txn, const GenerationDbs& dbs, const GenerationSummary& header,
                        const DesiredState& desired, const DesiredState& previous);

// Generation NUMBER in full, its lists sorted by name; nullopt when it does not exist.
// Errors: kCorrupt naming the record that does not decode or the key that is malformed.
Result<std::optional<Generation>> read_generation(const Txn& txn, const GenerationDbs& dbs,
                                                  uint64_t number);
Result<std::optional<GenerationSummary>> read_generation_summary(const Txn& txn,
                                                                 const GenerationDbs& dbs,
                                                                 uint64_t number);
// Cell NAME and its plan in generation NUMBER: two lookups, whatever the number of cells.
Result<std::optional<GenerationCell>> read_generation_cell(const Txn& txn, const GenerationDbs& dbs,
                                                           uint64_t number, std::string_view name);

// Rewrites every format-1 generation record (the whole state) as a format-2 header and the
// items each generation changed, oldest first, in TXN. Returns how many it rewrote. Errors:
// kCorrupt naming a record that does not decode, kInvalid for one whose names cannot be
// addressed (as write_generation); the caller aborts TXN, so nothing changes.
Result<uint64_t> migrate_format1_generations(Txn& txn, const GenerationDbs& dbs);

}  // namespace cells::store::detail
