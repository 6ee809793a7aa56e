// cellctl destroy [--force] <cid|name>
// Refused while processes other than the cell's init live, unless --force: then every process
// of the cell is killed (cgroup.kill) and the command returns once the cell is gone.
#include <memory>

#include "cli/cellctl/common.h"

namespace cells::cellctl {
namespace {

struct DestroyOptions {
  std::string target;
  bool force = false;
};

int run_destroy(const Context& ctx, const DestroyOptions& o) {
  auto runtime = open_runtime(ctx);
  if (!runtime) return fail(runtime.error());
  if (auto st = runtime->destroy(o.target, o.force); !st) return fail(st.error());
  return 0;
}

}  // namespace

void add_destroy_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<DestroyOptions>();
  CLI::App* sub = app.add_subcommand("destroy", "stop a cell and remove it");
  sub->add_flag("-f,--force", o->force, "kill the cell's processes instead of refusing");
  sub->add_option("target", o->target, "cell id or name")->required();
  sub->callback([&ctx, o] { ctx.run = [&ctx, o] { return run_destroy(ctx, *o); }; });
}

}  // namespace cells::cellctl
