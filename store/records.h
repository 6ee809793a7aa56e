// Desired-state and runtime records as plain C++ values, and their Cap'n Proto encoding
// (schema/records.capnp documents every field). The engine fills these from manifests; the
// store keeps them in generations and runtime records.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "store/codec.h"

namespace cells::store {

struct Rlimits {
  uint64_t nofile = 0, as = 0, core = 0;  // 0 = inherit
  bool operator==(const Rlimits&) const = default;
};

struct Healthcheck {
  std::vector<std::string> command;
  uint32_t timeout_ms = 0, interval_ms = 0, retries = 0;
  bool operator==(const Healthcheck&) const = default;
};

struct LogSettings {
  std::string facility, stdout_level, stderr_level, tag;
  bool operator==(const LogSettings&) const = default;
};

struct MountSpec {
  enum class Source { kVolume, kHostPath };
  Source source_kind = Source::kVolume;
  std::string source;  // volume name or absolute host path
  std::string target;
  bool read_only = false;
  bool operator==(const MountSpec&) const = default;
};

struct CellManifest {
  std::string name;
  bool autostart = false;
  std::string profile;
  std::vector<uint16_t> reserved_ports;
  std::vector<std::string> command;
  std::string run_as;
  Rlimits rlimits;
  std::vector<std::string> depends_on;
  Healthcheck healthcheck;
  LogSettings log;
  std::vector<MountSpec> mounts;
  std::string base;
  std::string manifest_text;
  bool operator==(const CellManifest&) const = default;
};

struct VolumeManifest {
  std::string name;
  std::string manifest_text;
  bool operator==(const VolumeManifest&) const = default;
};

struct AssetHash {
  std::string path;
  Hash sha256{};
  bool operator==(const AssetHash&) const = default;
};

struct ApplyPlan {
  std::string cell;
  std::string text;
  std::vector<AssetHash> assets;
  bool operator==(const ApplyPlan&) const = default;
};

// The whole desired state; a generation is one immutable, numbered copy of it.
struct DesiredState {
  std::vector<CellManifest> cells;
  std::vector<VolumeManifest> volumes;
  std::vector<ApplyPlan> plans;
  bool operator==(const DesiredState&) const = default;
};

struct Generation {
  uint64_t number = 0;
  int64_t time_ns = 0;
  uint64_t operation_id = 0;
  DesiredState desired;
};

// What `cellmgr history` shows of a generation, read from its header alone.
struct GenerationSummary {
  uint64_t number = 0;
  int64_t time_ns = 0;
  uint64_t operation_id = 0;
  uint32_t cells = 0, volumes = 0, plans = 0;
  bool operator==(const GenerationSummary&) const = default;
};

// One cell's entry in a generation, read without decoding the others (Store::generation_cell).
struct GenerationCell {
  CellManifest manifest;
  std::optional<ApplyPlan> plan;  // the generation's plan for the cell, when it had one
  bool operator==(const GenerationCell&) const = default;
};

struct HealthResult {
  int64_t time_ns = 0;
  bool ok = false;
  int32_t exit_status = 0;
  std::string output;
  bool operator==(const HealthResult&) const = default;
};

struct RuntimeCell {
  std::string name;
  uint32_t cid = 0;
  uint64_t cgroup_id = 0;
  int32_t supervisor_pid = 0;
  int64_t start_time_ns = 0;
  uint64_t applied_generation = 0;
  std::string policy;
  HealthResult last_health;
  bool operator==(const RuntimeCell&) const = default;
};

namespace detail {
// Encodings are canonical for a given value (cells, volumes and plans are sorted by name
// first), so equal states encode to equal bytes. Decode errors: kCorrupt naming the record.
std::string encode_generation(const Generation& g);
Result<Generation> decode_generation(std::string_view bytes);
// Cell NAME's entry in the encoded generation BYTES, found by binary search (generations are
// encoded sorted); nullopt when the generation has no such cell. Errors as decode_generation.
Result<std::optional<GenerationCell>> find_generation_cell(std::string_view bytes,
                                                           std::string_view name);
// Store format 2 (store/generations.h): a generation's header, and each item a message of
// its own. Decode errors: kCorrupt naming the record.
std::string encode_generation_header(const GenerationSummary& g);
Result<GenerationSummary> decode_generation_header(std::string_view bytes);
std::string encode_cell(const CellManifest& c);
Result<CellManifest> decode_cell(std::string_view bytes);
std::string encode_volume(const VolumeManifest& v);
Result<VolumeManifest> decode_volume(std::string_view bytes);
std::string encode_plan(const ApplyPlan& p);
Result<ApplyPlan> decode_plan(std::string_view bytes);
std::string encode_runtime(const RuntimeCell& r);
Result<RuntimeCell> decode_runtime(std::string_view bytes);
}  // namespace detail

}  // namespace cells::store
