// Fuzzes the store's record decoders: journal entries and head (store/journal.h), the
// generation records of both store formats and the runtime records (store/records.h). The
// first input byte picks the decoder; for journal entries one mode prepends the correct
// SHA-256 so that mutations get past the hash check and reach the Cap'n Proto message itself.
// Properties: a malformed record is a kCorrupt error (never a crash or a throw), on one line;
// a record that decodes re-encodes to one that decodes to the same value.
#include <cstdint>
#include <string>
#include <string_view>

#include "store/codec.h"
#include "store/journal.h"
#include "store/records.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace cells;
using namespace cells::store;

template <typename T>
bool refused_cleanly(const Result<T>& r) {
  if (r) return false;
  CELLS_FUZZ_CHECK(r.error().kind() == ErrorKind::kCorrupt, "bad record is kCorrupt");
  CELLS_FUZZ_CHECK(r.error().message().find('\n') == std::string::npos, "error is one line");
  return true;
}

bool same_entry(const JournalEntry& a, const JournalEntry& b) {
  return a.seq == b.seq && a.time_ns == b.time_ns && a.actor.uid == b.actor.uid &&
         a.actor.pid == b.actor.pid && a.actor.command_line == b.actor.command_line &&
         a.operation_id == b.operation_id && a.kind == b.kind && a.target == b.target &&
         a.phase == b.phase && a.before == b.before && a.after == b.after &&
         a.prev_hash == b.prev_hash;
}

void entry(std::string_view stored) {
  auto e = detail::decode_entry(stored);
  if (refused_cleanly(e)) return;
  auto again = detail::decode_entry(detail::encode_entry(*e));
  CELLS_FUZZ_CHECK(again.ok() && same_entry(*again, *e), "entry round-trips");
}

// Store format 2 keeps a generation's header and each item apart (store/generations.h); the
// same bytes are fed to each of their decoders.
template <typename T, typename Decode, typename Encode>
void round_trips(std::string_view bytes, Decode decode, Encode encode, const char* what) {
  Result<T> r = decode(bytes);
  if (refused_cleanly(r)) return;
  Result<T> again = decode(encode(*r));
  CELLS_FUZZ_CHECK(again.ok() && *again == *r, what);
}

void items(std::string_view bytes) {
  round_trips<GenerationSummary>(bytes, detail::decode_generation_header,
                                 detail::encode_generation_header, "generation header round-trips");
  round_trips<CellManifest>(bytes, detail::decode_cell, detail::encode_cell, "cell round-trips");
  round_trips<VolumeManifest>(bytes, detail::decode_volume, detail::encode_volume,
                              "volume round-trips");
  round_trips<ApplyPlan>(bytes, detail::decode_plan, detail::encode_plan, "plan round-trips");
}

void generation(std::string_view bytes) {
  items(bytes);
  (void)detail::find_generation_cell(bytes, "web");  // damaged bytes: refused, never a crash
  auto g = detail::decode_generation(bytes);
  if (refused_cleanly(g)) return;
  // Encoding sorts cells, volumes and plans by name, so a damaged record's order may change:
  // compare canonical encodings (corpus: generation-unsorted-lists).
  const std::string canonical = detail::encode_generation(*g);
  auto again = detail::decode_generation(canonical);
  CELLS_FUZZ_CHECK(again.ok(), "generation re-decodes");
  CELLS_FUZZ_CHECK(detail::encode_generation(*again) == canonical, "generation round-trips");
  // The one-cell lookup drift uses: on the canonical (sorted) encoding it finds each name's
  // first entry, as the full decode lists it.
  for (size_t i = 0; i < again->desired.cells.size(); ++i) {
    const auto& c = again->desired.cells[i];
    if (i > 0 && again->desired.cells[i - 1].name == c.name) continue;
    auto one = detail::find_generation_cell(canonical, c.name);
    CELLS_FUZZ_CHECK(one.ok() && *one && (*one)->manifest == c, "each cell is found by name");
  }
}

void runtime(std::string_view bytes) {
  auto r = detail::decode_runtime(bytes);
  if (refused_cleanly(r)) return;
  auto again = detail::decode_runtime(detail::encode_runtime(*r));
  CELLS_FUZZ_CHECK(again.ok() && *again == *r, "runtime record round-trips");
}

void head(std::string_view bytes) {
  auto h = detail::decode_head(bytes);
  if (refused_cleanly(h)) return;
  auto again = detail::decode_head(detail::encode_head(*h));
  CELLS_FUZZ_CHECK(again.ok() && again->last_seq == h->last_seq &&
                       again->last_hash == h->last_hash,
                   "journal head round-trips");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:  // a stored entry as LMDB holds it: hash || message
      entry(rest);
      break;
    case 1: {  // a message with its correct hash, so the decoder proper is reached
      Hash h = sha256(rest);
      entry(std::string(reinterpret_cast<const char*>(h.data()), h.size()) + std::string(rest));
      break;
    }
    case 2:
      head(rest);
      break;
    case 3:
      generation(rest);
      break;
    case 4:
      runtime(rest);
      break;
  }
  return 0;
}
