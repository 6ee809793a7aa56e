#include "engine/plan_patch.h"

#include "base/text.h"

namespace cells::engine {
namespace {

// Start indices where BLOCK occurs as consecutive whole lines of LINES.
std::vector<size_t> find_block(const std::vector<std::string>& lines,
                               const std::vector<std::string>& block) {
  std::vector<size_t> at;
  if (block.empty() || block.size() > lines.size()) return at;
  for (size_t i = 0; i + block.size() <= lines.size(); ++i) {
    bool match = true;
    for (size_t j = 0; j < block.size() && match; ++j) match = lines[i + j] == block[j];
    if (match) at.push_back(i);
  }
  return at;
}

}  // namespace

Result<PatchResult> apply_patch(std::string_view content, const std::vector<PatchHunk>& hunks,
                                const std::string& plan_file) {
  std::vector<std::string> lines;
  bool trailing_newline = content.empty() || content.back() == '\n';
  for (std::string_view line : ::cells::lines(content)) lines.emplace_back(line);

  PatchResult out;
  for (const PatchHunk& h : hunks) {
    auto where = [&](const std::string& why) {
      return Error::invalid(plan_file + ":" + std::to_string(h.line) + ": PATCH hunk " + why);
    };
    std::vector<size_t> old_at = find_block(lines, h.before);
    std::vector<size_t> new_at = find_block(lines, h.after);
    bool apply;
    if (!old_at.empty() && new_at.empty()) {
      apply = true;
    } else if (old_at.empty() && !new_at.empty()) {
      apply = false;
    } else if (!old_at.empty()) {
      if (h.before.size() == h.after.size()) {
        return where("is ambiguous: both the original and the patched text are present");
      }
      apply = h.before.size() > h.after.size();
    } else {
      return where("does not apply: neither the original nor the patched text is present");
    }
    if (!apply) continue;
    if (old_at.size() > 1) {
      return where("matches " + std::to_string(old_at.size()) + " places; add context lines");
    }
    auto first = lines.begin() + static_cast<ptrdiff_t>(old_at[0]);
    lines.erase(first, first + static_cast<ptrdiff_t>(h.before.size()));
    lines.insert(lines.begin() + static_cast<ptrdiff_t>(old_at[0]), h.after.begin(),
                 h.after.end());
    out.changed = true;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    out.content += lines[i];
    if (i + 1 < lines.size() || trailing_newline) out.content += '\n';
  }
  if (!out.changed) out.content = std::string(content);
  return out;
}

}  // namespace cells::engine
