// The bridge's reads: the rows of engine/reads.h (gather + cell_table / volume_table), the
// backup list of backup::Backups and the store's journal, projected into the plain values of
// types.h. Nothing here takes the writer lock or creates a store.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/rpc/types.h"

namespace cells::engine {
struct ReadSnapshot;
}
namespace cells::kernel {
struct CellStats;
}

namespace cells::rpc {

// Limits of one request (a bigger one is refused naming the limit, and changes nothing).
inline constexpr size_t kMaxNames = 1024;
inline constexpr uint32_t kMaxJournalPage = 10000;

class BridgeReads {
 public:
  explicit BridgeReads(Paths paths) : paths_(std::move(paths)) {}

  Result<std::vector<CellInfo>> cells();
  Result<std::vector<VolumeInfo>> volumes();
  Result<std::vector<OverlayInfo>> overlays();
  Result<std::vector<BackupInfo>> backups(BackupKind kind, const std::string& name);
  Result<std::vector<JournalRecord>> journal(const std::string& cell, uint32_t limit,
                                             uint64_t before);
  // Entries with seq > AFTER, oldest first, at most LIMIT of them.
  Result<std::vector<JournalRecord>> journal_after(uint64_t after, size_t limit);
  Result<uint64_t> journal_head();
  Result<std::vector<CellTelemetry>> telemetry();

  // cells() and, WITH_TELEMETRY, telemetry() from one gather and one read of the telemetry
  // snapshot (the event hub's once-a-second tick pushes both). TELEMETRY is nullopt without
  // WITH_TELEMETRY or when the snapshot could not be read.
  struct Live {
    std::vector<CellInfo> cells;
    std::optional<std::vector<CellTelemetry>> telemetry;
  };
  Result<Live> live(bool with_telemetry);

  const Paths& paths() const { return paths_; }

 private:
  Result<std::vector<CellInfo>> cells_of(const engine::ReadSnapshot& snap,
                                         const std::vector<kernel::CellStats>& stats);

  // Commit time of generation N (generations never change, so the answer is cached).
  int64_t generation_time(uint64_t n);

  Paths paths_;
  std::map<uint64_t, int64_t> generation_times_;
};

}  // namespace cells::rpc
