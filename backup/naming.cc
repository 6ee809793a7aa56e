#include "backup/naming.h"

#include <cstdio>
#include <tuple>

#include <nlohmann/json.hpp>

namespace cells::backup {

std::string_view to_string(Kind kind) {
  return kind == Kind::kVolume ? "volume" : "overlay";
}

Result<Kind> parse_kind(std::string_view text) {
  if (text == "volume") return Kind::kVolume;
  if (text == "overlay") return Kind::kOverlay;
  return Error::invalid("unknown backup kind '" + std::string(text) +
                        "' (expected volume or overlay)");
}

std::string kind_dir(const Paths& paths, Kind kind) {
  return paths.backups_dir() + (kind == Kind::kVolume ? "/volumes" : "/overlays");
}

std::string journal_target(Kind kind, const std::string& name) {
  return kind == Kind::kVolume ? "volume/" + name : "cell/" + name + "/overlay";
}

Status validate_name(const std::string& name) {
  if (name.empty()) return Error::invalid("empty name");
  if (name.size() > 64) return Error::invalid("name '" + name + "' is longer than 64 characters");
  if (name[0] == '.' || name[0] == '-') {
    return Error::invalid("name '" + name + "' starts with '" + name.substr(0, 1) + "'");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return Error::invalid("name '" + name + "' contains '" + std::string(1, c) + "'");
  }
  return ok_status();
}

std::string ArchiveName::file() const {
  std::string f = name + "_" + timestamp;
  if (seq > 0) f += "-" + std::to_string(seq);
  return f + std::string(kArchiveSuffix);
}

bool ArchiveName::newer_than(const ArchiveName& other) const {
  return std::tie(timestamp, seq) > std::tie(other.timestamp, other.seq);
}

ArchiveName make_archive_name(const std::string& name, time_t t, uint32_t seq) {
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return {name, buf, seq};
}

std::optional<ArchiveName> parse_archive_file(std::string_view file) {
  if (file.size() <= kArchiveSuffix.size() || !file.ends_with(kArchiveSuffix)) return {};
  file.remove_suffix(kArchiveSuffix.size());
  size_t us = file.rfind('_');
  if (us == std::string_view::npos || us == 0) return {};
  ArchiveName out;
  out.name = std::string(file.substr(0, us));
  std::string_view rest = file.substr(us + 1);
  std::string_view ts = rest.substr(0, std::min<size_t>(14, rest.size()));
  if (ts.size() != 14) return {};
  for (char c : ts) {
    if (c < '0' || c > '9') return {};
  }
  out.timestamp = std::string(ts);
  rest.remove_prefix(14);
  if (!rest.empty()) {
    if (rest[0] != '-' || rest.size() < 2 || rest.size() > 10 || rest[1] == '0') return {};
    uint64_t v = 0;
    for (char c : rest.substr(1)) {
      if (c < '0' || c > '9') return {};
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > UINT32_MAX) return {};
    out.seq = static_cast<uint32_t>(v);
  }
  if (!validate_name(out.name)) return {};
  return out;
}

std::string encode_record(const ArchiveRecord& r) {
  nlohmann::json j = {{"kind", to_string(r.kind)},
                      {"name", r.name},
                      {"file", r.file},
                      {"size", r.size},
                      {"sha256", r.sha256},
                      {"generation", r.generation},
                      {"freeze_ns", r.freeze_ns},
                      {"entries", r.entries}};
  return j.dump();
}

Result<ArchiveRecord> decode_record(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return Error(ErrorKind::kCorrupt, "archive record is not a JSON object");
  auto field = [&](const char* key) -> const nlohmann::json* {
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  };
  ArchiveRecord r;
  const char* strings[] = {"kind", "name", "file", "sha256"};
  for (const char* key : strings) {
    const auto* v = field(key);
    if (v == nullptr || !v->is_string()) {
      return Error(ErrorKind::kCorrupt, std::string("archive record lacks string field ") + key);
    }
  }
  const char* numbers[] = {"size", "generation", "freeze_ns", "entries"};
  for (const char* key : numbers) {
    const auto* v = field(key);
    if (v == nullptr || !v->is_number_integer()) {
      return Error(ErrorKind::kCorrupt, std::string("archive record lacks number field ") + key);
    }
  }
  auto kind = parse_kind(j["kind"].get<std::string>());
  if (!kind) return Error(ErrorKind::kCorrupt, "archive record: " + kind.error().message());
  r.kind = *kind;
  r.name = j["name"].get<std::string>();
  r.file = j["file"].get<std::string>();
  r.sha256 = j["sha256"].get<std::string>();
  r.size = j["size"].get<uint64_t>();
  r.generation = j["generation"].get<uint64_t>();
  r.freeze_ns = j["freeze_ns"].get<int64_t>();
  r.entries = j["entries"].get<uint64_t>();
  return r;
}

}  // namespace cells::backup
