// The apply-plan language (<cell>.apply, DESIGN section 7): parsed into data (a list of steps)
// here, executed separately by plan_exec.h. Grammar in engine/README.md. Every error carries
// "<file>:<line>: ".
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace cells::engine {

enum class StepKind { kFile, kDir, kLine, kSymlink, kCopy, kTemplate, kPatch, kExec, kPkg };
std::string_view to_string(StepKind kind);  // the directive: "FILE_BEGIN", "DIR", ...

// mode=, owner=, group= options. Owner and group are names (looked up in the CELL's
// /etc/passwd and /etc/group when the step runs) or decimal ids.
struct FileAttrs {
  std::optional<uint32_t> mode;
  std::optional<std::string> owner;
  std::optional<std::string> group;
  bool operator==(const FileAttrs&) const = default;
};

// One "@@" block of a PATCH: BEFORE (context and '-' lines) becomes AFTER (context and '+'
// lines). See plan_patch.h for how a hunk is matched.
struct PatchHunk {
  int line = 0;  // of its "@@" in the plan
  std::vector<std::string> before;
  std::vector<std::string> after;
  bool operator==(const PatchHunk&) const = default;
};

struct PlanStep {
  StepKind kind = StepKind::kExec;
  int line = 0;
  std::string path;    // the absolute path in the cell (all but EXEC and PKG)
  std::string source;  // COPY/TEMPLATE: the asset name; SYMLINK: the link's target
  std::string text;    // FILE: the body; LINE: the line; EXEC: the command
  std::vector<std::string> packages;  // PKG
  std::vector<PatchHunk> hunks;       // PATCH
  FileAttrs attrs;
  bool operator==(const PlanStep&) const = default;
};

struct Plan {
  std::string file;  // names the plan in errors; assets are relative to its directory
  std::string text;
  std::vector<PlanStep> steps;
  // The distinct asset names the steps use, sorted.
  std::vector<std::string> asset_names() const;
};

// Parses TEXT as if read from FILE. Pure: does not look at assets.
Result<Plan> parse_plan(const std::string& file, std::string_view text);

// A plan with the bytes of every asset it names, read from the plan's directory, and its
// identity hash.
struct LoadedPlan {
  Plan plan;
  std::map<std::string, std::string> assets;
  std::string hash;  // hex SHA-256 over the plan text and every asset (plan_hash)
};

// Reads FILE, parses it, and reads every asset relative to FILE's directory. An asset that is
// missing, not a regular file, or resolves outside that directory (through ".." or a symlink)
// is an error naming the plan line that uses it.
Result<LoadedPlan> load_plan(const std::string& file);
// As load_plan, with the plan text given (e.g. from the store) and assets read from ASSET_DIR.
Result<LoadedPlan> load_plan_text(const std::string& file, std::string_view text,
                                  const std::string& asset_dir);

// The commented starter `<name>.apply` that `cellmgr cell create` writes: no steps, a reminder
// of every directive.
std::string starter_plan(const std::string& cell_name);

// SHA-256 over a versioned, length-prefixed encoding of TEXT and each (name, bytes) asset, so
// that no two different inputs encode alike. The caller re-runs a plan when this changes.
std::string plan_hash(std::string_view text, const std::map<std::string, std::string>& assets);

}  // namespace cells::engine
