// Idempotent PATCH: applies hunks to a file's content in memory.
//
// A hunk turns the consecutive lines BEFORE into AFTER. Applying decides per hunk:
//   - BEFORE is present and AFTER is not       -> replace it (it must occur exactly once);
//   - AFTER is present and BEFORE is not       -> already applied, skip;
//   - both present (one contains the other, e.g. a pure addition with context) -> the longer
//     block tells: AFTER longer means applied, BEFORE longer means not yet;
//   - neither present                          -> conflict: an error, nothing is written.
// So applying a patch twice is a no-op, and an edited file that no longer matches is refused.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/plan.h"

namespace cells::engine {

struct PatchResult {
  std::string content;
  bool changed = false;
};

// PLAN_FILE names the plan in errors ("<plan>:<hunk line>: ...").
Result<PatchResult> apply_patch(std::string_view content, const std::vector<PatchHunk>& hunks,
                                const std::string& plan_file);

}  // namespace cells::engine
