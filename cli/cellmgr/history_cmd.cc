// cellmgr history: the generations of the desired state, newest last.
#include <cstdio>

#include "cli/cellmgr/apply_cmd.h"

namespace cells::cellmgr {
namespace {

int run_history(const Context& ctx) {
  auto st = open_for_read(ctx);
  if (!st) return fail(st.error());
  if (!*st) {
    std::printf("No store yet: nothing has been committed\n");
    return 0;
  }
  auto cur = (*st)->current_generation();
  if (!cur) return fail(cur.error());
  std::printf("%-6s %-24s %-9s %-6s %-8s %s\n", "GEN", "TIME", "OPERATION", "CELLS", "VOLUMES", "PLANS");
  for (uint64_t n = 1; n <= *cur; ++n) {
    auto g = (*st)->generation_summary(n);
    if (!g) return fail(g.error());
    if (!*g) continue;
    std::printf("%-6llu %-24s %-9llu %-6u %-8u %u%s\n", (unsigned long long)n,
                format_time((*g)->time_ns).c_str(), (unsigned long long)(*g)->operation_id,
                (*g)->cells, (*g)->volumes, (*g)->plans, n == *cur ? "  (current)" : "");
  }
  return 0;
}

}  // namespace

void add_history_commands(CLI::App& app, Context& ctx) {
  CLI::App* h = app.add_subcommand("history", "list the generations of the desired state");
  h->callback([&ctx] { ctx.run = [&ctx] { return run_history(ctx); }; });
}

}  // namespace cells::cellmgr
