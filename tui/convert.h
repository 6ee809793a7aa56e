// From the bridge's values (engine/rpc/types.h) to the view model. Pure functions, so what
// the screen shows for a given reply is unit-tested without starting a bridge.
#pragma once

#include <vector>

#include "engine/rpc/types.h"
#include "tui/model.h"

namespace cells::tui {

CellRow cell_row(const rpc::CellInfo& c);
std::vector<CellRow> cell_rows(const std::vector<rpc::CellInfo>& cells);
// A telemetry tick updates the counters of the cells it names and leaves the rest alone.
void apply_telemetry(std::vector<CellRow>& rows, const std::vector<rpc::CellTelemetry>& t);

StorageRow storage_row(const rpc::VolumeInfo& v);
StorageRow storage_row(const rpc::OverlayInfo& o);
BackupRow backup_row(const rpc::BackupInfo& b);
// Volumes first, then overlays, each sorted by name.
std::vector<StorageRow> storage_rows(const std::vector<rpc::VolumeInfo>& volumes,
                                     const std::vector<rpc::OverlayInfo>& overlays);

JournalRow journal_row(const rpc::JournalRecord& r);
// Whether an entry changes what storage mode shows (a backup made, restored or deleted).
bool touches_storage(const rpc::JournalRecord& r);

// Local time of NS (Unix nanoseconds) as "YYYY-MM-DD HH:MM:SS", and the clock as "HH:MM:SS".
std::string local_time(int64_t ns);
std::string clock_now();

}  // namespace cells::tui
