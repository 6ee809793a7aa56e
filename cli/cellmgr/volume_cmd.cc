// cellmgr volume create|set|remove|list|show|fields.
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <set>

#include "cli/cellmgr/cp_support.h"
#include "engine/controlplane.h"
#include "engine/manifest_check.h"
#include "engine/rootfs_build.h"
#include "engine/volumes.h"

namespace cells::cellmgr {
namespace {

struct VolumeOptions {
  std::string name;
  std::optional<std::string> mode;
  std::string scope = "desired";
};

int write_volume(const Context& ctx, const VolumeOptions& o, bool create) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  if (o.scope != "desired" && o.scope != "both") {
    return fail("--scope '" + o.scope + "' is not one of desired, both");
  }
  if (!engine::valid_name(o.name)) return fail("volume name '" + o.name + "' is invalid");
  const std::string path = engine::volume_manifest_path(*paths, o.name);
  engine::VolumeManifest v;
  v.name = o.name;
  struct stat st;
  bool exists = ::stat(path.c_str(), &st) == 0;
  if (create && exists) return fail("manifest " + path + " exists already (change it with cellmgr volume set)");
  if (!create) {
    auto old = engine::load_volume(path);
    if (!old) return fail(old.error());
    v = *old;
  }
  if (o.mode) {
    auto m = engine::parse_octal_mode(*o.mode);
    if (!m) return fail("-m '" + *o.mode + "' must be four octal digits, e.g. 0755");
    v.mode = *m;
  }
  auto gen = engine::commit_desired_edit(*paths, create ? "volume.create" : "volume.set",
                                         "volume/" + o.name, {{path, engine::render_volume(v)}});
  if (!gen) return fail(gen.error());
  std::printf("%s manifest %s\n", create ? "Created" : "Updated", path.c_str());
  if (o.scope == "both") {
    auto made = engine::ensure_volume_dir(*paths, v);
    if (!made) return fail(made.error());
    std::printf("Volume data in %s\n", engine::volume_dir(*paths, o.name).c_str());
  }
  return 0;
}

struct RemoveOptions {
  std::string target;
  bool all = false, orphans = false, yes = false;
  std::string scope = "desired";
};

int run_remove(const Context& ctx, const RemoveOptions& o) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  if (o.scope != "desired" && o.scope != "runtime" && o.scope != "both") {
    return fail("--scope '" + o.scope + "' is not one of desired, runtime, both");
  }
  if (int(o.all) + int(o.orphans) + int(!o.target.empty()) != 1) {
    return fail("volume remove takes exactly one of <name>, --all, --orphans");
  }
  if (o.orphans && o.scope == "desired") return fail("--orphans needs --scope runtime or both");
  bool runtime = o.scope != "desired", desired = o.scope != "runtime";
  auto set = engine::load_desired(paths->etc_dir());
  std::set<std::string> names;
  if (!o.target.empty()) names.insert(o.target);
  if (o.all && desired) {
    for (const auto& v : set.volumes) names.insert(v.name);
  }
  if ((o.all || o.orphans) && runtime) {
    auto snap = engine::gather(*paths);
    if (!snap) return fail(snap.error());
    for (const auto& n : snap->rendered_volumes) {
      bool declared = std::any_of(set.volumes.begin(), set.volumes.end(),
                                  [&](const engine::VolumeManifest& v) { return v.name == n; });
      if (o.all || !declared) names.insert(n);
    }
  }
  // Every refusal before any change.
  for (const auto& n : names) {
    if (desired) {
      auto users = engine::volume_users(set, n);
      bool removing_users = false;
      (void)removing_users;
      if (!users.empty()) {
        std::string list;
        for (const auto& u : users) list += (list.empty() ? "" : ",") + u;
        return fail("volume " + n + " is referenced by cell manifest(s) " + list +
                    " (remove the mounts first); nothing changed");
      }
    }
    if (runtime) {
      auto mounted = engine::volume_mounts_now(*paths, set, n);
      if (!mounted.empty()) {
        return fail("volume " + n + " is mounted at " + mounted.front() +
                    " (stop the cell first); nothing changed");
      }
    }
  }
  if (runtime || o.all || o.orphans) {
    if (auto s = confirm(o.yes, "removing the data of " + std::to_string(names.size()) + " volume(s)");
        !s && runtime) {
      return fail(s.error());
    }
  }
  if (runtime) {
    for (const auto& n : names) {
      if (auto s = engine::remove_volume_data(*paths, n); !s) return fail(s.error());
      std::printf("Removed data of volume %s\n", n.c_str());
    }
  }
  if (desired) {
    std::vector<engine::FileChange> changes;
    for (const auto& n : names) {
      const std::string path = engine::volume_manifest_path(*paths, n);
      struct stat st;
      if (::stat(path.c_str(), &st) != 0) {
        if (!o.target.empty()) return fail("no volume manifest " + path);
        continue;
      }
      changes.push_back({path, std::nullopt});
    }
    if (!changes.empty()) {
      auto gen = engine::commit_desired_edit(*paths, "volume.remove",
                                             o.target.empty() ? "volume/*" : "volume/" + o.target, changes);
      if (!gen) return fail(gen.error());
      for (const auto& c : changes) std::printf("Removed manifest %s\n", c.path.c_str());
    }
  }
  return 0;
}

}  // namespace

void add_volume_commands(CLI::App& app, Context& ctx) {
  CLI::App* vol = app.add_subcommand("volume", "volume manifests and data");
  vol->require_subcommand(1);
  for (bool create : {true, false}) {
    auto o = std::make_shared<VolumeOptions>();
    CLI::App* sub = vol->add_subcommand(create ? "create" : "set",
                                        create ? "write a new volume manifest" : "change a volume manifest");
    sub->add_option("name", o->name, "volume name")->required();
    sub->add_option("-m,--mode", o->mode, "four octal digits (default 0755)");
    sub->add_option("--scope", o->scope, "desired (default) or both (also creates the data directory)");
    sub->callback([&ctx, o, create] { ctx.run = [&ctx, o, create] { return write_volume(ctx, *o, create); }; });
  }
  auto ro = std::make_shared<RemoveOptions>();
  CLI::App* remove = vol->add_subcommand("remove", "remove a volume manifest and/or its data");
  remove->add_option("name", ro->target, "volume name");
  remove->add_flag("--all", ro->all, "every volume");
  remove->add_flag("--orphans", ro->orphans, "data without a manifest");
  remove->add_option("--scope", ro->scope, "desired (default), runtime or both");
  remove->add_flag("--yes", ro->yes, "do not ask for confirmation");
  remove->callback([&ctx, ro] { ctx.run = [&ctx, ro] { return run_remove(ctx, *ro); }; });

  auto lo = std::make_shared<ReadOptions>();
  CLI::App* list = vol->add_subcommand("list", "list volumes");
  add_read_options(list, *lo);
  list->callback([&ctx, lo] {
    ctx.run = [&ctx, lo] { return run_read(ctx, ReadKind::kVolumes, *lo, std::nullopt, engine::View::kMerged); };
  });
  auto so = std::make_shared<ReadOptions>();
  auto sname = std::make_shared<std::string>();
  CLI::App* show = vol->add_subcommand("show", "show one volume");
  show->add_option("name", *sname, "volume name")->required();
  add_read_options(show, *so);
  show->callback([&ctx, so, sname] {
    ctx.run = [&ctx, so, sname] { return run_read(ctx, ReadKind::kVolumes, *so, *sname, engine::View::kMerged); };
  });
  auto fo = std::make_shared<ReadOptions>();
  CLI::App* fields = vol->add_subcommand("fields", "list the volume fields");
  add_read_options(fields, *fo, false);
  fields->callback([fo, &ctx] { ctx.run = [fo] { return run_fields(ReadKind::kVolumes, *fo); }; });
}

}  // namespace cells::cellmgr
