// Fuzzes the apply-plan parser (engine/plan.h) and the PATCH matcher it feeds
// (engine/plan_patch.h). Properties: errors are one line and name the plan; a parsed plan's
// hash covers each of its assets; and each PATCH hunk applied to the text it expects is
// idempotent (applying it to its own result changes nothing), which plan_patch.h promises.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "engine/plan.h"
#include "engine/plan_patch.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace cells::engine;

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// Each hunk on its own, applied to exactly the text it expects. A whole PATCH of several
// hunks is not checked: hunks whose texts overlap (one's AFTER inside another's BEFORE) can
// legitimately stop matching after the first pass (corpus: overlapping-hunks).
void check_patch_idempotent(const std::string& file, const PlanStep& step) {
  for (const auto& hunk : step.hunks) {
    const std::vector<PatchHunk> one = {hunk};
    auto first = apply_patch(join_lines(hunk.before), one, file);
    if (!first) {
      CELLS_FUZZ_CHECK(first.error().message().find('\n') == std::string::npos,
                       "patch error is one line");
      continue;
    }
    auto second = apply_patch(first->content, one, file);
    CELLS_FUZZ_CHECK(second.ok(), "a hunk applies to its own result");
    CELLS_FUZZ_CHECK(!second->changed && second->content == first->content,
                     "applying a hunk twice is a no-op");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string file = "/etc/cellmgr/web.apply";
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto plan = parse_plan(file, text);
  if (!plan) {
    const std::string& m = plan.error().message();
    CELLS_FUZZ_CHECK(m.find('\n') == std::string::npos, "plan error is one line");
    CELLS_FUZZ_CHECK(m.find(file) != std::string::npos, "plan error names the plan");
    return 0;
  }
  for (const auto& step : plan->steps) {
    CELLS_FUZZ_CHECK(step.line >= 1, "every step has a line");
    if (step.kind == StepKind::kPatch) check_patch_idempotent(file, step);
  }
  // The hash covers every asset: changing one asset's bytes changes it (a plan whose asset
  // changed must be applied again).
  std::map<std::string, std::string> assets;
  for (const auto& name : plan->asset_names()) assets[name] = name;
  const std::string hash = plan_hash(text, assets);
  CELLS_FUZZ_CHECK(hash.size() == 64, "plan hash is a hex SHA-256");
  for (auto& [name, bytes] : assets) {
    bytes += "x";
    CELLS_FUZZ_CHECK(plan_hash(text, assets) != hash, "an asset's content changes the plan hash");
    bytes.pop_back();
  }
  return 0;
}
