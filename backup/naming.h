// Names and journal records of archives: pure functions, unit-tested in naming_test.cc.
//
// An archive of volume "data" made at 2026-11-22 05:21:23 UTC is
//   <backups_dir>/volumes/data_20261122052123.tar.zst
// and a second one in the same second is data_20261122052123-1.tar.zst (then -2, ...): the
// suffix is the lowest free one, so names are deterministic and sort in creation order.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>

#include "base/paths.h"
#include "base/result.h"

namespace cells::backup {

enum class Kind { kVolume, kOverlay };

std::string_view to_string(Kind kind);                // "volume", "overlay"
Result<Kind> parse_kind(std::string_view text);       // kInvalid for anything else
std::string kind_dir(const Paths& paths, Kind kind);  // <backups_dir>/volumes or /overlays
// The journal target: "volume/<name>" or "cell/<name>/overlay".
std::string journal_target(Kind kind, const std::string& name);

// Volume and cell names: 1-64 characters of [A-Za-z0-9._-], not starting with '.' or '-'.
// Errors: kInvalid naming the bad name and why.
Status validate_name(const std::string& name);

inline constexpr std::string_view kArchiveSuffix = ".tar.zst";
inline constexpr std::string_view kPartialSuffix = ".partial";

// The parts of an archive file name.
struct ArchiveName {
  std::string name;       // volume or cell name
  std::string timestamp;  // YYYYmmddHHMMSS (UTC)
  uint32_t seq = 0;       // same-second disambiguator, 0 for the first
  std::string file() const;
  bool newer_than(const ArchiveName& other) const;
};

// Builds the name for NAME at unix time T (UTC) with suffix SEQ.
ArchiveName make_archive_name(const std::string& name, time_t t, uint32_t seq);
// Parses a bare file name ("data_20261122052123-1.tar.zst"); nullopt for anything else
// (including *.partial, so partial files are never listed).
std::optional<ArchiveName> parse_archive_file(std::string_view file);

// What the journal records for one archive (the "after" image of backup.create/done).
struct ArchiveRecord {
  Kind kind = Kind::kVolume;
  std::string name;
  std::string file;  // bare file name
  uint64_t size = 0;
  std::string sha256;  // hex, of the compressed file
  uint64_t generation = 0;
  int64_t freeze_ns = 0;
  uint64_t entries = 0;
};
std::string encode_record(const ArchiveRecord& record);
// Errors: kCorrupt naming the missing or malformed field.
Result<ArchiveRecord> decode_record(std::string_view text);

}  // namespace cells::backup
