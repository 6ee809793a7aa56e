// cellmgr system bootstrap|status|reset.
#include <cstdio>
#include <memory>

#include "cli/cellmgr/cp_support.h"
#include "engine/bootstrap.h"

namespace cells::cellmgr {
namespace {

int run_bootstrap(const Context& ctx, const std::string& base) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  if (!base.empty() && base != "host" && base != "debian") {
    return fail("--base '" + base + "' is not one of host, debian");
  }
  engine::BootstrapOptions opts;
  opts.debian = base == "debian";
  opts.say = [](const std::string& line) { std::printf("%s\n", line.c_str()); std::fflush(stdout); };
  // The feature table first, even when a feature is missing: it says which one.
  auto features = kernel::probe_features(/*deep=*/true);
  std::printf("%s\n", kernel::format_feature_table(features).c_str());
  std::fflush(stdout);
  auto r = engine::bootstrap(*paths, opts);
  if (!r) return fail(r.error());
  if (r->changes.empty()) {
    std::printf("Nothing to do: %s is bootstrapped already\n", paths->root.c_str());
  }
  for (const auto& c : r->changes) std::printf("%s\n", c.c_str());
  return 0;
}

int run_status(const Context& ctx) {
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  auto text = engine::status_text(*paths);
  if (!text) return fail(text.error());
  std::fwrite(text->data(), 1, text->size(), stdout);
  return 0;
}

struct ResetOptions {
  bool cells = false, volumes = false, yes = false;
};

int run_reset(const Context& ctx, const ResetOptions& o) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  bool cells = o.cells || !o.volumes, volumes = o.volumes || !o.cells;
  std::string what = std::string("resetting the runtime state of ") +
                     (cells && volumes ? "all cells and volumes" : cells ? "all cells" : "all volumes");
  if (auto s = confirm(o.yes, what); !s) return fail(s.error());
  auto done = engine::reset_runtime(*paths, cells, volumes, lifecycle_config());
  if (!done) return fail(done.error());
  for (const auto& d : *done) std::printf("%s\n", d.c_str());
  if (done->empty()) std::printf("Nothing to reset\n");
  return 0;
}

}  // namespace

void add_system_commands(CLI::App& app, Context& ctx) {
  CLI::App* sys = app.add_subcommand("system", "host setup and state");
  sys->require_subcommand(1);
  auto base = std::make_shared<std::string>();
  CLI::App* boot = sys->add_subcommand("bootstrap", "probe the kernel, create the tree, build bases");
  boot->add_option("--base", *base, "also build this base (debian)");
  boot->callback([&ctx, base] { ctx.run = [&ctx, base] { return run_bootstrap(ctx, *base); }; });
  CLI::App* status = sys->add_subcommand("status", "kernel features and counts");
  status->callback([&ctx] { ctx.run = [&ctx] { return run_status(ctx); }; });
  auto ro = std::make_shared<ResetOptions>();
  CLI::App* reset = sys->add_subcommand("reset", "stop every cell and remove runtime state");
  reset->add_flag("--cells", ro->cells, "cells only");
  reset->add_flag("--volumes", ro->volumes, "volumes only");
  reset->add_flag("--yes", ro->yes, "do not ask for confirmation");
  reset->callback([&ctx, ro] { ctx.run = [&ctx, ro] { return run_reset(ctx, *ro); }; });
}

}  // namespace cells::cellmgr
