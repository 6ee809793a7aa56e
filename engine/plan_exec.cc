#include "engine/plan_exec.h"

#include <map>

#include "engine/plan_patch.h"

namespace cells::engine {
namespace {

std::string describe(const PlanStep& s) {
  switch (s.kind) {
    case StepKind::kExec: return s.text;
    case StepKind::kPkg: {
      std::string out;
      for (const std::string& p : s.packages) out += (out.empty() ? "" : " ") + p;
      return out;
    }
    case StepKind::kSymlink: return s.path + " -> " + s.source;
    default: return s.path;
  }
}

// The bytes a COPY or TEMPLATE step writes.
Result<std::string> asset_bytes(const LoadedPlan& plan, const PlanStep& s) {
  auto it = plan.assets.find(s.source);
  if (it == plan.assets.end()) {
    return Error::not_found("asset '" + s.source + "' was not loaded with the plan");
  }
  return it->second;
}

Result<bool> run_step(const LoadedPlan& plan, const PlanStep& s, const std::string* rendered,
                      CellRoot& root, PlanRunner& runner) {
  switch (s.kind) {
    case StepKind::kFile: return root.write_file(s.path, s.text, s.attrs);
    case StepKind::kDir: return root.make_dir(s.path, s.attrs);
    case StepKind::kLine: return root.ensure_line(s.path, s.text);
    case StepKind::kSymlink: return root.symlink(s.source, s.path);
    case StepKind::kCopy: {
      std::string bytes = CELLS_TRY(asset_bytes(plan, s));
      return root.write_file(s.path, bytes, s.attrs);
    }
    case StepKind::kTemplate: return root.write_file(s.path, *rendered, s.attrs);
    case StepKind::kPatch: {
      std::string current = CELLS_TRY(root.read(s.path));
      PatchResult r = CELLS_TRY(apply_patch(current, s.hunks, plan.plan.file));
      if (!r.changed) return false;
      return root.write_file(s.path, r.content, FileAttrs{});
    }
    case StepKind::kExec:
      CELLS_TRY(runner.exec(s.text));
      return true;
    case StepKind::kPkg:
      CELLS_TRY(runner.pkg(s.packages));
      return true;
  }
  return Error::invalid("unknown step");
}

}  // namespace

Result<PlanReport> run_plan(const LoadedPlan& plan, CellRoot& root, const TokenMap& tokens,
                            PlanRunner& runner) {
  auto where = [&](const PlanStep& s) {
    return plan.plan.file + ":" + std::to_string(s.line) + ": " + std::string(to_string(s.kind)) +
           " " + describe(s);
  };
  // Step 1: everything that can be checked without touching the cell is checked first, so a
  // bad template or a missing asset changes nothing.
  std::map<size_t, std::string> rendered;
  for (size_t i = 0; i < plan.plan.steps.size(); ++i) {
    const PlanStep& s = plan.plan.steps[i];
    if (s.kind != StepKind::kCopy && s.kind != StepKind::kTemplate) continue;
    std::string bytes = CELLS_TRY_CTX(asset_bytes(plan, s), where(s));
    if (s.kind == StepKind::kTemplate) {
      rendered[i] = CELLS_TRY_CTX(expand_template(s.source, bytes, tokens), where(s));
    }
  }
  // Step 2: the steps, in plan order (a later step may rely on an earlier EXEC or PKG, e.g. a
  // package that creates the user a DIR's owner= names).
  PlanReport report;
  for (size_t i = 0; i < plan.plan.steps.size(); ++i) {
    const PlanStep& s = plan.plan.steps[i];
    auto it = rendered.find(i);
    bool changed = CELLS_TRY_CTX(run_step(plan, s, it == rendered.end() ? nullptr : &it->second,
                                          root, runner),
                                 where(s));
    report.steps.push_back({s.line, s.kind, describe(s), changed});
    if (changed) ++report.changed;
  }
  return report;
}

}  // namespace cells::engine
