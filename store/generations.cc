#include "store/generations.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "base/text.h"
#include "store/codec.h"

namespace cells::store::detail {
namespace {

constexpr size_t kGenBytes = 8;

std::string prefix_of(ItemKind kind, std::string_view name) {
  std::string p(1, static_cast<char>(kind));
  p.append(name);
  p.push_back('\0');
  return p;
}

// The name in KEY, a key of KIND's range. Names hold no NUL, so the separator is the ninth
// byte from the end.
Result<std::string_view> name_in_key(std::string_view key, ItemKind kind) {
  const size_t sep = key.size() >= kGenBytes + 3 ? key.size() - kGenBytes - 1 : 0;
  std::string_view name = sep ? key.substr(1, sep - 1) : std::string_view();
  if (sep == 0 || key[0] != static_cast<char>(kind) || key[sep] != '\0' ||
      name.find('\0') != std::string_view::npos) {
    return Error(ErrorKind::kCorrupt,
                 "generation item key of " + std::to_string(key.size()) + " bytes is malformed");
  }
  return name;
}

// The value NAME had in generation NUMBER: its newest version at or before NUMBER. nullopt
// when it had none or that version removed it. Leaves CUR anywhere.
Result<std::optional<std::string_view>> version_at(Cursor& cur, ItemKind kind,
                                                   std::string_view name, uint64_t number) {
  if (number == std::numeric_limits<uint64_t>::max()) return std::optional<std::string_view>();
  // The first key past NUMBER's, then one back: the newest version at or before NUMBER, if
  // that key is still NAME's.
  auto past = CELLS_TRY(cur.get(MDB_SET_RANGE, item_key(kind, name, number + 1)));
  auto at = CELLS_TRY(cur.get(past ? MDB_PREV : MDB_LAST));
  const std::string prefix = prefix_of(kind, name);
  if (!at || at->first.size() != prefix.size() + kGenBytes || !at->first.starts_with(prefix) ||
      at->second.empty()) {
    return std::optional<std::string_view>();
  }
  return std::optional<std::string_view>(at->second);
}

// Every item of KIND in generation NUMBER, in name order. A name's versions are read in order
// until one is newer than NUMBER; a name with many versions (a cell changed by every apply) is
// searched instead, so the walk costs about the number of names, not of versions.
template <typename T, typename Decode, typename NameOf>
Result<std::vector<T>> items_at(const Txn& txn, const GenerationDbs& dbs, ItemKind kind,
                                uint64_t number, Decode decode, NameOf name_of) {
  constexpr int kScanBeforeSeek = 4;
  Cursor cur = CELLS_TRY(Cursor::open(txn, dbs.items));
  std::vector<T> out;
  const std::string start(1, static_cast<char>(kind));
  auto item = CELLS_TRY(cur.get(MDB_SET_RANGE, start));
  while (item && !item->first.empty() && item->first[0] == start[0]) {
    // Views into the map stay valid for the whole read txn (nothing writes in it).
    const std::string_view name = CELLS_TRY(name_in_key(item->first, kind));
    const std::string_view group = item->first.substr(0, item->first.size() - kGenBytes);
    std::optional<std::string_view> value;  // the newest version at or before NUMBER
    int scanned = 0;
    while (item && item->first.size() == group.size() + kGenBytes &&
           item->first.starts_with(group) &&
           decode_u64_be(item->first.substr(group.size())) <= number) {
      value = item->second;
      if (++scanned == kScanBeforeSeek) {
        value = CELLS_TRY(version_at(cur, kind, name, number));
        item = std::nullopt;  // positioned anywhere: seek past the name below
        break;
      }
      item = CELLS_TRY(cur.get(MDB_NEXT));
    }
    if (!item ||
        (item->first.size() == group.size() + kGenBytes && item->first.starts_with(group))) {
      item = CELLS_TRY(
          cur.get(MDB_SET_RANGE, std::string(group.substr(0, group.size() - 1)) + '\x01'));
    }
    if (!value || value->empty()) continue;  // not there yet, or removed
    auto x = decode(*value);
    // Names come from the stored keys and records: one line, whatever bytes they hold.
    if (!x) {
      return std::move(x).error().wrap("generation " + std::to_string(number) + ", " +
                                       one_line(name));
    }
    if (name_of(*x) != name) {
      return Error(ErrorKind::kCorrupt, "generation " + std::to_string(number) +
                                            ": the record of " + one_line(name) + " names " +
                                            one_line(name_of(*x)));
    }
    out.push_back(std::move(*x));
  }
  return out;
}

template <typename T, typename NameOf>
std::vector<const T*> sorted_by_name(const std::vector<T>& v, NameOf name_of) {
  std::vector<const T*> out;
  for (const T& x : v) out.push_back(&x);
  std::stable_sort(out.begin(), out.end(),
                   [&](const T* a, const T* b) { return name_of(*a) < name_of(*b); });
  return out;
}

// Writes the items of KIND that changed from PREVIOUS to DESIRED under generation NUMBER.
template <typename T, typename NameOf, typename Encode>
Status write_changed(Txn& txn, const GenerationDbs& dbs, ItemKind kind, uint64_t number,
                     const std::vector<T>& desired, const std::vector<T>& previous, NameOf name_of,
                     Encode encode, const char* what) {
  auto want = sorted_by_name(desired, name_of);
  auto had = sorted_by_name(previous, name_of);
  for (size_t i = 0; i < want.size(); ++i) {
    std::string_view n = name_of(*want[i]);
    if (n.empty()) return Error::invalid(std::string("generation: a ") + what + " has no name");
    if (n.find('\0') != std::string_view::npos) {
      return Error::invalid(std::string("generation: a ") + what + " name holds a NUL byte");
    }
    if (i > 0 && name_of(*want[i - 1]) == n) {
      return Error::invalid(std::string("generation: ") + what + " " + std::string(n) +
                            " appears twice");
    }
  }
  size_t i = 0, j = 0;
  while (i < want.size() || j < had.size()) {
    if (j == had.size() || (i < want.size() && name_of(*want[i]) < name_of(*had[j]))) {
      CELLS_TRY(txn.put(dbs.items, item_key(kind, name_of(*want[i]), number), encode(*want[i])));
      ++i;
    } else if (i == want.size() || name_of(*had[j]) < name_of(*want[i])) {
      CELLS_TRY(txn.put(dbs.items, item_key(kind, name_of(*had[j]), number), ""));  // removed
      ++j;
    } else {
      if (!(*want[i] == *had[j])) {
        CELLS_TRY(txn.put(dbs.items, item_key(kind, name_of(*want[i]), number), encode(*want[i])));
      }
      ++i;
      ++j;
    }
  }
  return ok_status();
}

std::string_view cell_name(const CellManifest& c) {
  return c.name;
}
std::string_view volume_name(const VolumeManifest& v) {
  return v.name;
}
std::string_view plan_name(const ApplyPlan& p) {
  return p.cell;
}

Status write_items(Txn& txn, const GenerationDbs& dbs, uint64_t number, const DesiredState& desired,
                   const DesiredState& previous) {
  CELLS_TRY(write_changed(txn, dbs, ItemKind::kCell, number, desired.cells, previous.cells,
                          cell_name, encode_cell, "cell"));
  CELLS_TRY(write_changed(txn, dbs, ItemKind::kVolume, number, desired.volumes, previous.volumes,
                          volume_name, encode_volume, "volume"));
  return write_changed(txn, dbs, ItemKind::kPlan, number, desired.plans, previous.plans, plan_name,
                       encode_plan, "plan");
}

}  // namespace

GenerationSummary summary_of(const Generation& g) {
  return {g.number,
          g.time_ns,
          g.operation_id,
          static_cast<uint32_t>(g.desired.cells.size()),
          static_cast<uint32_t>(g.desired.volumes.size()),
          static_cast<uint32_t>(g.desired.plans.size())};
}

std::string item_key(ItemKind kind, std::string_view name, uint64_t generation) {
  return prefix_of(kind, name) + encode_u64_be(generation);
}

Status write_generation(Txn& txn, const GenerationDbs& dbs, const GenerationSummary& header,
                        const DesiredState& desired, const DesiredState& previous) {
  // NOOVERWRITE: a generation is immutable once written.
  CELLS_TRY(txn.put(dbs.headers, encode_u64_be(header.number), encode_generation_header(header),
                    MDB_NOOVERWRITE));
  return write_items(txn, dbs, header.number, desired, previous);
}

Result<std::optional<GenerationSummary>> read_generation_summary(const Txn& txn,
                                                                 const GenerationDbs& dbs,
                                                                 uint64_t number) {
  auto raw = CELLS_TRY(txn.get(dbs.headers, encode_u64_be(number)));
  if (!raw) return std::optional<GenerationSummary>();
  return std::optional<GenerationSummary>(
      CELLS_TRY_CTX(decode_generation_header(*raw), "generation " + std::to_string(number)));
}

Result<std::optional<Generation>> read_generation(const Txn& txn, const GenerationDbs& dbs,
                                                  uint64_t number) {
  auto header = CELLS_TRY(read_generation_summary(txn, dbs, number));
  if (!header) return std::optional<Generation>();
  Generation g{header->number, header->time_ns, header->operation_id, {}};
  g.desired.cells =
      CELLS_TRY(items_at<CellManifest>(txn, dbs, ItemKind::kCell, number, decode_cell, cell_name));
  g.desired.volumes = CELLS_TRY(
      items_at<VolumeManifest>(txn, dbs, ItemKind::kVolume, number, decode_volume, volume_name));
  g.desired.plans =
      CELLS_TRY(items_at<ApplyPlan>(txn, dbs, ItemKind::kPlan, number, decode_plan, plan_name));
  // The header counts what its generation held: a difference means items were lost.
  if (summary_of(g) != *header) {
    return Error(ErrorKind::kCorrupt,
                 "generation " + std::to_string(number) + " holds " +
                     std::to_string(g.desired.cells.size()) + " cells, " +
                     std::to_string(g.desired.volumes.size()) + " volumes and " +
                     std::to_string(g.desired.plans.size()) + " plans, its header counts " +
                     std::to_string(header->cells) + ", " + std::to_string(header->volumes) +
                     " and " + std::to_string(header->plans));
  }
  return std::optional<Generation>(std::move(g));
}

Result<std::optional<GenerationCell>> read_generation_cell(const Txn& txn, const GenerationDbs& dbs,
                                                           uint64_t number, std::string_view name) {
  if (!CELLS_TRY(txn.get(dbs.headers, encode_u64_be(number)))) {
    return std::optional<GenerationCell>();
  }
  const std::string ctx = "generation " + std::to_string(number) + ", " + std::string(name);
  Cursor cur = CELLS_TRY(Cursor::open(txn, dbs.items));
  auto cell = CELLS_TRY(version_at(cur, ItemKind::kCell, name, number));
  if (!cell) return std::optional<GenerationCell>();
  GenerationCell out{CELLS_TRY_CTX(decode_cell(*cell), ctx), std::nullopt};
  if (auto plan = CELLS_TRY(version_at(cur, ItemKind::kPlan, name, number))) {
    out.plan = CELLS_TRY_CTX(decode_plan(*plan), ctx);
  }
  return std::optional<GenerationCell>(std::move(out));
}

Result<uint64_t> migrate_format1_generations(Txn& txn, const GenerationDbs& dbs) {
  std::vector<uint64_t> numbers;
  {
    Cursor cur = CELLS_TRY(Cursor::open(txn, dbs.headers));
    for (auto item = CELLS_TRY(cur.get(MDB_FIRST)); item; item = CELLS_TRY(cur.get(MDB_NEXT))) {
      numbers.push_back(decode_u64_be(item->first));
    }
  }
  DesiredState previous;
  for (uint64_t n : numbers) {
    const std::string key = encode_u64_be(n);
    const std::string ctx = "migrate generation " + std::to_string(n) + " to store format 2";
    auto raw = CELLS_TRY(txn.get(dbs.headers, key));
    // Decoded into owned values first: the writes below may move the page RAW points into.
    Generation g = CELLS_TRY_CTX(decode_generation(raw.value_or("")), ctx);
    g.number = n;  // the key is what every reader looks the generation up by
    CELLS_TRY_CTX(txn.put(dbs.headers, key, encode_generation_header(summary_of(g))), ctx);
    CELLS_TRY_CTX(write_items(txn, dbs, n, g.desired, previous), ctx);
    previous = std::move(g.desired);
  }
  return numbers.size();
}

}  // namespace cells::store::detail
