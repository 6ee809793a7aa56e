// cellctl create [-l low|medium|high] [-r port[,port...]]... [-N nofile|unlimited]
//                [-A as|unlimited] [-C core|unlimited] -n name <root>
// Prints "cell <id>". Everything is validated (including conflicts with live cells) before the
// store allocates the cid, so a bad command line changes nothing.
#include <charconv>
#include <cstdio>
#include <memory>

#include "cli/cellctl/common.h"
#include "store/store.h"

namespace cells::cellctl {
namespace {

struct CreateOptions {
  std::string profile = "high";
  std::vector<std::string> ports;  // each may be a comma list
  std::string nofile = "unlimited", as = "unlimited", core = "unlimited";
  std::string name;
  std::string root;
};

Result<std::vector<uint16_t>> parse_ports(const std::vector<std::string>& args) {
  std::vector<uint16_t> out;
  for (const auto& arg : args) {
    size_t pos = 0;
    for (;;) {
      size_t comma = arg.find(',', pos);
      std::string item = arg.substr(pos, comma == std::string::npos ? std::string::npos
                                                                    : comma - pos);
      unsigned long v = 0;
      auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
      if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || v == 0 ||
          v > 65535) {
        return Error::invalid("port '" + item + "' is not a number in 1..65535");
      }
      out.push_back(static_cast<uint16_t>(v));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  return out;
}

Result<kernel::CellSpec> build_spec(const CreateOptions& o) {
  kernel::CellSpec spec;
  spec.name = o.name;
  spec.root = o.root;
  spec.profile = CELLS_TRY(kernel::parse_profile(o.profile));
  spec.ports = CELLS_TRY(parse_ports(o.ports));
  spec.rlimits.nofile = CELLS_TRY(parse_limit("-N nofile", o.nofile));
  spec.rlimits.as = CELLS_TRY(parse_limit("-A as", o.as));
  spec.rlimits.core = CELLS_TRY(parse_limit("-C core", o.core));
  return spec;
}

int run_create(const Context& ctx, const CreateOptions& o) {
  auto spec = build_spec(o);
  if (!spec) return fail(spec.error());
  auto runtime = open_runtime(ctx);
  if (!runtime) return fail(runtime.error());
  if (auto st = runtime->check(*spec); !st) return fail(st.error());
  auto store = store::Store::open(runtime->paths(), store::OpenMode::kReadWrite);
  if (!store) return fail(store.error());
  auto cid = store->allocate_cid();
  if (!cid) return fail(cid.error());
  spec->cid = *cid;
  auto info = runtime->create(*spec);
  if (!info) return fail(info.error());
  std::printf("cell %u\n", info->cid);
  return 0;
}

}  // namespace

void add_create_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<CreateOptions>();
  CLI::App* sub = app.add_subcommand("create", "create a cell and start its init");
  sub->add_option("-l,--level", o->profile, "profile: low, medium or high (default high)");
  sub->add_option("-r,--reserve", o->ports, "reserve port(s), comma separated; repeatable")
      ->take_all();
  sub->add_option("-N,--nofile", o->nofile, "RLIMIT_NOFILE of processes in the cell, or unlimited");
  sub->add_option("-A,--as", o->as, "RLIMIT_AS in bytes, or unlimited");
  sub->add_option("-C,--core", o->core, "RLIMIT_CORE in bytes, or unlimited");
  sub->add_option("-n,--name", o->name, "cell name, [A-Za-z0-9._-]{1,63}")->required();
  sub->add_option("root", o->root, "the cell's root directory (prepared by the caller)")
      ->required();
  sub->callback([&ctx, o] { ctx.run = [&ctx, o] { return run_create(ctx, *o); }; });
}

}  // namespace cells::cellctl
