// The read contract of `cellmgr cell|volume list|show|fields` (anchor-cells.md 4.1 and 4.2):
// fields, views, state labels, and the three output forms (table, TSV, JSON).
//
// A read gathers one ReadSnapshot (manifests, the store's runtime records opened read-only,
// the telemetry snapshot, the runtime directories and the mount table) and projects it. It never
// takes the writer lock and never creates a store, so it cannot block on a writer.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "engine/manifest.h"
#include "store/records.h"

namespace cells::engine {

enum class View { kCompact, kDesired, kRuntime, kMerged };
Result<View> parse_view(const std::string& s);

// One cell value. Empty prints as "-" in tables and TSV and null in JSON.
struct ReadValue {
  enum class Kind { kEmpty, kText, kBool, kInt, kAge, kFloat };
  Kind kind = Kind::kEmpty;
  std::string text;
  int64_t number = 0;
  double real = 0;
  bool flag = false;
  static ReadValue text_of(std::string s) {
    return s.empty() ? ReadValue{} : ReadValue{Kind::kText, std::move(s)};
  }
  static ReadValue boolean(bool b) { return ReadValue{Kind::kBool, "", 0, 0, b}; }
  static ReadValue integer(int64_t n) { return ReadValue{Kind::kInt, "", n}; }
  static ReadValue age(int64_t seconds) { return ReadValue{Kind::kAge, "", seconds}; }
  static ReadValue floating(double d) { return ReadValue{Kind::kFloat, "", 0, d}; }
};

struct ReadTable {
  std::vector<std::string> fields;
  std::vector<std::vector<ReadValue>> rows;
};

// The live half of one cell, as far as the reader can tell without the kernel layer's lock.
struct CellLive {
  std::optional<store::RuntimeCell> record;  // the store's runtime record
  bool running = false;  // the record names a started cell and its cgroup exists
  bool stats = false;    // the telemetry fields below come from a snapshot
  uint32_t procs = 0, refs = 0, cpu1s = 0;
  double cpu10s = 0;
  uint64_t memory = 0;  // resident bytes
  // Pending policy drift (drift.h): the fields ("profile", "ports", "rlimits") in which the
  // running kernel cell's policy differs from its manifest. It stays until the cell is
  // re-created, so `cell show` reports it as long as `apply --dry-run` does.
  std::vector<std::string> policy_drift;
};

struct ReadSnapshot {
  DesiredSet desired;
  std::map<std::string, CellLive> live;  // by cell name
  std::set<std::string> rendered_cells;    // <cells>/<name> exists
  std::set<std::string> rendered_volumes;  // <volumes>/<name> exists
  std::set<std::string> apply_present;     // <etc>/<name>.apply exists
  std::set<std::string> mount_points;      // the volume targets that are mounted now
  std::string cells_dir, volumes_dir;
  int64_t now_ns = 0;
};

// Reads everything a list needs. A root without a store has no runtime records (not an error).
Result<ReadSnapshot> gather(const Paths& paths);

// "I 1 R 0" style labels: managed, parked, pending, declared, orphaned, absent.
std::string cell_state(bool manifest, bool rendered, bool desired_running);
std::string volume_state(bool manifest, bool rendered);

// Field names of VIEW, in order. Volumes have no compact view (desired = runtime = merged).
std::vector<std::string> cell_fields(View view);
std::vector<std::string> volume_fields(View view);

// Projects FIELDS (validated against VIEW's fields; an unknown field is an error naming it
// and listing the valid ones) for every cell (or just ONLY, an error if it is unknown).
Result<ReadTable> cell_table(const ReadSnapshot& snap, View view, std::vector<std::string> fields,
                         const std::optional<std::string>& only);
Result<ReadTable> volume_table(const ReadSnapshot& snap, View view, std::vector<std::string> fields,
                           const std::optional<std::string>& only);

// "42s", "7m12s", "3h5m", "2d4h", "1w3d".
std::string humanise_age(int64_t seconds);

// Output forms. Tables: upper-case headers, column width = max(header, values), two spaces
// between columns, no trailing blanks. TSV: field names as header, raw values. JSON: an array
// of objects (one object for show).
std::string format_table(const ReadTable& t, bool header);
std::string format_tsv(const ReadTable& t, bool header);
std::string format_json(const ReadTable& t, bool single);
// `show`: "FIELD  VALUE" lines for one row.
std::string format_vertical(const ReadTable& t);

// "-o a,b" -> {"a","b"}; empty text -> empty list (use the view's default).
std::vector<std::string> split_fields(const std::string& text);

}  // namespace cells::engine
