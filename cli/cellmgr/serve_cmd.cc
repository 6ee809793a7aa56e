// cellmgr serve --stdio: serves the Cap'n Proto RPC bridge (engine/rpc/cells.capnp) on stdin
// and stdout until the client disconnects. stdout carries only RPC; progress lines of the
// actions and errors go to stderr. Exit status: 0 after a clean disconnect, 1 when the
// connection failed (a frame that is not a Cap'n Proto message, or one above the size limit:
// the bridge sends an Abort naming the problem and prints the same line on stderr).
#include "cli/cellmgr/serve_cmd.h"

#include <cstdio>
#include <memory>

#include "cli/cellmgr/cp_support.h"
#include "engine/rpc/server.h"

namespace cells::cellmgr {
namespace {

int run_serve(const Context& ctx, bool stdio) {
  if (!stdio) return fail("serve needs --stdio (the only transport; remote clients use ssh)");
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  rpc::ServeConfig cfg{*paths, lifecycle_config()};
  cfg.lifecycle.say = [](const std::string& line) { std::fprintf(stderr, "cellmgr serve: %s\n", line.c_str()); };
  if (auto s = rpc::serve_stdio(cfg); !s) return fail(s.error());
  return 0;
}

}  // namespace

void add_serve_commands(CLI::App& app, Context& ctx) {
  auto stdio = std::make_shared<bool>(false);
  CLI::App* serve = app.add_subcommand("serve", "serve the RPC bridge for cellui on stdin/stdout");
  serve->add_flag("--stdio", *stdio, "speak Cap'n Proto RPC on stdin and stdout");
  serve->callback([&ctx, stdio] { ctx.run = [&ctx, stdio] { return run_serve(ctx, *stdio); }; });
}

}  // namespace cells::cellmgr
