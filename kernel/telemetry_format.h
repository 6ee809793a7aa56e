// Output formats of `cellctl stats` (and the metrics endpoint), from telemetry snapshots.
//
// table    ID NAME CPU1S CPU10S PROC AGE MEMORY             (reference `cellctl stats`)
// verbose  ID NAME ROOT CPU1S CPU10S PROC REFS AGE MEMORY   (-v)
// tsv      CID NAME CPU1S CPU10S PROCS REFS MEMORY AGE ROOT (-T; raw numbers, -H drops the header)
// prometheus text exposition (-P; -h prepends a minimal HTTP header for inetd)
// json     one object per cell with every field (--json)
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "kernel/telemetry.h"

namespace cells::kernel {

enum class StatsFormat { kTable, kVerbose, kTsv, kPrometheus, kJson };

struct StatsOutput {
  StatsFormat format = StatsFormat::kTable;
  bool header = true;       // false with -H (TSV only)
  bool http_header = false; // -h (Prometheus only)
};

// The flag rules of the reference: -T not with -P, -v or -h; -H needs -T; -h needs -P;
// --json stands alone. Errors name the offending flags.
Result<StatsOutput> choose_stats_output(bool prometheus, bool http, bool verbose, bool tsv,
                                        bool no_header, bool json);

std::string format_stats(const std::vector<CellStats>& cells, const StatsOutput& out,
                         int64_t now_unix_ns);
// The same text handed to SINK in pieces, in order: the Prometheus exposition of many cells is
// megabytes, and a scrape that writes it as it goes never holds it whole.
using StatsSink = std::function<void(std::string_view)>;
void write_stats(const std::vector<CellStats>& cells, const StatsOutput& out, int64_t now_unix_ns,
                 const StatsSink& sink);

// Pieces exposed for tests.
std::string prometheus_label_value(std::string_view raw);  // escaped, without quotes
std::string human_bytes(uint64_t bytes);                   // "512B", "1.5K", "12.0M", "3.2G"
std::string human_age(int64_t seconds);                    // "31s", "5m", "2h", "3d"

}  // namespace cells::kernel
