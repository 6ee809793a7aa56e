// cellmgr cell create|set|remove|edit: desired-state edits of cell manifests. Each edit
// validates the whole desired set, writes the manifest atomically and commits a generation
// (engine/controlplane.h). The run/read verbs are in cell_run_cmd.cc.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <memory>

#include "base/files.h"
#include "cli/cellmgr/cp_support.h"
#include "engine/controlplane.h"
#include "engine/lifecycle.h"
#include "engine/plan.h"
#include "engine/rootfs_build.h"

namespace cells::cellmgr {
namespace {

using engine::CellManifest;

struct CellOptions {
  std::string name;
  std::optional<std::string> cmd, autostart, profile, ports, nofile, as, core, depends, health,
      facility, stdout_level, stderr_level, tag, run_as, base, reload_signal;
  std::vector<std::string> mounts;
  std::string scope;
  bool clear_ports = false, clear_nofile = false, clear_as = false, clear_core = false,
       clear_depends = false, clear_health = false, clear_mounts = false, clear_log = false,
       clear_run_as = false, clear_base = false, clear_reload_signal = false;
};

void add_manifest_options(CLI::App* sub, CellOptions& o) {
  sub->add_option("--cmd", o.cmd, "the service command (run with /bin/sh -c)");
  sub->add_option("--autostart", o.autostart, "YES or NO");
  sub->add_option("--profile", o.profile, "low, medium or high");
  sub->add_option("--reserved-ports", o.ports, "ports, comma separated");
  sub->add_option("--rlimit-nofile", o.nofile, "N or unlimited");
  sub->add_option("--rlimit-as", o.as, "bytes or unlimited");
  sub->add_option("--rlimit-core", o.core, "bytes or unlimited");
  sub->add_option("--depends-on", o.depends, "cells, comma separated");
  sub->add_option("--healthcheck", o.health, "a command run inside the cell");
  sub->add_option("--mount", o.mounts, "vol:/target[:ro|rw] or /host/path:/target[:ro|rw]");
  sub->add_option("--log-facility", o.facility, "syslog facility");
  sub->add_option("--stdout-level", o.stdout_level, "syslog level of stdout lines");
  sub->add_option("--stderr-level", o.stderr_level, "syslog level of stderr lines");
  sub->add_option("--log-tag", o.tag, "syslog tag");
  sub->add_option("--run-as", o.run_as, "host:user[:group], cell:user[:group] or uid:N[:M]");
  sub->add_option("--base", o.base, "host or debian");
  sub->add_option("--reload-signal", o.reload_signal,
                  "signal that makes the service re-read its files (e.g. HUP): a plan that only "
                  "writes files is then applied without a restart");
  sub->add_option("--scope", o.scope, "desired (default) or both");
}

Result<std::optional<uint64_t>> parse_limit(const std::string& flag, const std::string& text) {
  if (text == "unlimited") return std::optional<uint64_t>();
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) {
    return Error::invalid(flag + " '" + text + "' is not a number or 'unlimited'");
  }
  return std::optional<uint64_t>(v);
}

Result<engine::Mount> parse_mount(const std::string& text) {
  // SOURCE:TARGET[:MODE]; a source starting with '/' is a host path, otherwise a volume.
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t colon; (colon = text.find(':', start)) != std::string::npos; start = colon + 1) {
    parts.push_back(text.substr(start, colon - start));
  }
  parts.push_back(text.substr(start));
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
    return Error::invalid("--mount '" + text + "' must be vol:/target[:ro|rw]");
  }
  engine::Mount m;
  m.source = parts[0][0] == '/' ? engine::Mount::Source::kHost : engine::Mount::Source::kVolume;
  m.from = parts[0];
  m.target = parts[1];
  if (parts.size() == 3) {
    if (parts[2] != "ro" && parts[2] != "rw") {
      return Error::invalid("--mount '" + text + "': mode '" + parts[2] + "' must be ro or rw");
    }
    m.read_only = parts[2] == "ro";
  }
  return m;
}

// Applies the flags to M. Values the parser checks (profile, levels, targets...) are checked
// when the rendered manifest is parsed, with the same messages as a hand-written file.
Status apply_options(const CellOptions& o, CellManifest& m, bool is_set) {
  if (o.cmd) m.command = *o.cmd;
  if (o.autostart) {
    if (*o.autostart == "YES" || *o.autostart == "yes") {
      m.autostart = true;
    } else if (*o.autostart == "NO" || *o.autostart == "no") {
      m.autostart = false;
    } else {
      return Error::invalid("--autostart '" + *o.autostart + "' must be YES or NO");
    }
  }
  if (o.profile) m.profile = *o.profile;
  if (o.clear_ports) m.reserved_ports.clear();
  if (o.ports) {
    m.reserved_ports.clear();
    for (const auto& p : split_csv(*o.ports)) {
      unsigned v = 0;
      auto [e, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
      if (ec != std::errc() || e != p.data() + p.size() || v < 1 || v > 65535) {
        return Error::invalid("--reserved-ports: '" + p + "' is not a port (1..65535)");
      }
      m.reserved_ports.push_back(uint16_t(v));
    }
  }
  if (o.clear_nofile) m.rlimits.nofile.reset();
  if (o.clear_as) m.rlimits.as.reset();
  if (o.clear_core) m.rlimits.core.reset();
  if (o.nofile) m.rlimits.nofile = CELLS_TRY(parse_limit("--rlimit-nofile", *o.nofile));
  if (o.as) m.rlimits.as = CELLS_TRY(parse_limit("--rlimit-as", *o.as));
  if (o.core) m.rlimits.core = CELLS_TRY(parse_limit("--rlimit-core", *o.core));
  if (o.clear_depends) m.depends_on.clear();
  if (o.depends) m.depends_on = split_csv(*o.depends);
  if (o.clear_health) m.healthcheck.reset();
  if (o.health) {
    engine::Healthcheck h = m.healthcheck.value_or(engine::Healthcheck{});
    h.command = *o.health;
    m.healthcheck = h;
  }
  if (o.clear_log) m.log = engine::LogSettings{};
  if (o.facility) m.log.facility = *o.facility;
  if (o.stdout_level) m.log.stdout_level = *o.stdout_level;
  if (o.stderr_level) m.log.stderr_level = *o.stderr_level;
  if (o.tag) m.log.tag = *o.tag;
  if (m.log.tag.empty()) m.log.tag = m.name;
  if (o.clear_run_as) m.run_as.reset();
  if (o.run_as) m.run_as = CELLS_TRY(engine::parse_run_as(*o.run_as));
  if (o.clear_base) m.base.reset();
  if (o.base) m.base = *o.base;
  if (o.clear_reload_signal) m.reload_signal.reset();
  if (o.reload_signal) m.reload_signal = *o.reload_signal;
  if (o.clear_mounts) m.mounts.clear();
  // set: the first --mount replaces the list, later ones append (create starts empty anyway).
  for (size_t i = 0; i < o.mounts.size(); ++i) {
    if (i == 0 && is_set) m.mounts.clear();
    m.mounts.push_back(CELLS_TRY(parse_mount(o.mounts[i])));
  }
  return ok_status();
}

Status check_scope(const std::string& scope, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (scope == a) return ok_status();
  }
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
  return Error::invalid("--scope '" + scope + "' is not one of " + list);
}

// --scope both after an edit: a targeted reconcile of the one cell.
int reconcile_one(const Paths& paths, const std::string& name) {
  auto m = engine::load_cell(engine::cell_manifest_path(paths, name));
  if (!m) return fail(m.error());
  auto cfg = lifecycle_config();
  bool running = engine::cell_running(paths, name);
  if (running) {
    if (auto s = engine::stop_cells(paths, {name}, cfg); !s) return fail(s.error());
  }
  if (m->autostart || running) {
    if (auto s = engine::start_cells(paths, {name}, cfg); !s) return fail(s.error());
  }
  return 0;
}

int run_create(const Context& ctx, const CellOptions& o) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  if (!engine::valid_name(o.name)) {
    return fail("cell name '" + o.name + "' is invalid (1..63 of A-Z a-z 0-9 . _ -, starting with a letter or digit)");
  }
  if (auto s = check_scope(o.scope, {"desired", "both"}); !s) return fail(s.error());
  if (!o.cmd) return fail("cell create needs --cmd (the service command)");
  const std::string path = engine::cell_manifest_path(*paths, o.name);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    return fail("manifest " + path + " exists already (change it with cellmgr cell set " + o.name + ")");
  }
  CellManifest m;
  m.name = o.name;
  m.log.tag = o.name;
  if (auto s = apply_options(o, m, false); !s) return fail(s.error());
  std::vector<engine::FileChange> changes = {{path, engine::render_cell(m)}};
  const std::string plan = engine::apply_plan_path(*paths, o.name);
  if (::stat(plan.c_str(), &st) != 0) changes.push_back({plan, engine::starter_plan(o.name)});
  auto gen = engine::commit_desired_edit(*paths, "cell.create", "cell/" + o.name, changes);
  if (!gen) return fail(gen.error());
  std::printf("Created manifest %s\n", path.c_str());
  std::fflush(stdout);
  return o.scope == "both" ? reconcile_one(*paths, o.name) : 0;
}

int run_set(const Context& ctx, const CellOptions& o) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  if (auto s = check_scope(o.scope, {"desired", "both"}); !s) return fail(s.error());
  const std::string path = engine::cell_manifest_path(*paths, o.name);
  auto m = engine::load_cell(path);
  if (!m) return fail(m.error());
  if (auto s = apply_options(o, *m, true); !s) return fail(s.error());
  auto gen = engine::commit_desired_edit(*paths, "cell.set", "cell/" + o.name,
                                         {{path, engine::render_cell(*m)}});
  if (!gen) return fail(gen.error());
  std::printf("Updated manifest %s\n", path.c_str());
  std::fflush(stdout);
  return o.scope == "both" ? reconcile_one(*paths, o.name) : 0;
}

struct RemoveOptions {
  std::string target;
  bool all = false, orphans = false, yes = false, force = false;
  std::string scope = "desired";
};

int run_remove(const Context& ctx, const RemoveOptions& o) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  if (auto s = check_scope(o.scope, {"desired", "runtime", "both"}); !s) return fail(s.error());
  if (int(o.all) + int(o.orphans) + int(!o.target.empty()) != 1) {
    return fail("cell remove takes exactly one of <name>, --all, --orphans");
  }
  if (o.orphans && o.scope == "desired") return fail("--orphans needs --scope runtime or both");
  bool runtime = o.scope != "desired", desired = o.scope != "runtime";
  auto set = engine::load_desired(paths->etc_dir());
  std::vector<std::string> names;
  if (o.all || o.orphans) {
    std::set<std::string> all;
    if (o.all && desired) {
      for (const auto& c : set.cells) all.insert(c.name);
    }
    if (runtime) {
      auto snap = engine::gather(*paths);
      if (!snap) return fail(snap.error());
      for (const auto& n : snap->rendered_cells) {
        bool has_manifest = std::any_of(set.cells.begin(), set.cells.end(),
                                        [&](const CellManifest& c) { return c.name == n; });
        if (o.all || !has_manifest) all.insert(n);
      }
    }
    names.assign(all.begin(), all.end());
    if (auto s = confirm(o.yes, "removing " + std::to_string(names.size()) + " cell(s)"); !s) return fail(s.error());
  } else {
    names.push_back(o.target);
    if (runtime) {
      if (auto s = confirm(o.yes, "removing the runtime state (overlay) of cell " + o.target); !s) return fail(s.error());
    }
  }
  auto cfg = lifecycle_config();
  if (runtime) {
    for (const auto& n : names) {
      auto stopped = engine::stop_cells(*paths, {n}, cfg);
      if (!stopped && !o.force) return fail(stopped.error());
      if (auto s = engine::unmount_cell_root(*paths, n); !s && !o.force) return fail(s.error());
      if (auto s = engine::remove_tree(paths->cells_dir() + "/" + n); !s) return fail(s.error());
      std::printf("Removed runtime state of cell %s\n", n.c_str());
    }
  }
  if (desired) {
    std::vector<engine::FileChange> changes;
    for (const auto& n : names) {
      const std::string path = engine::cell_manifest_path(*paths, n);
      struct stat st;
      if (::stat(path.c_str(), &st) != 0) {
        if (o.all || o.orphans) continue;
        return fail("no cell manifest " + path);
      }
      changes.push_back({path, std::nullopt});
      changes.push_back({engine::apply_plan_path(*paths, n), std::nullopt});
    }
    if (!changes.empty()) {
      auto gen = engine::commit_desired_edit(*paths, "cell.remove",
                                             o.target.empty() ? "cell/*" : "cell/" + o.target, changes);
      if (!gen) return fail(gen.error());
      for (const auto& c : changes) {
        if (c.path.size() > 5 && c.path.compare(c.path.size() - 5, 5, ".cell") == 0) {
          std::printf("Removed manifest %s\n", c.path.c_str());
        }
      }
    }
  }
  return 0;
}

int run_edit(const Context& ctx, const std::string& name) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  const std::string path = engine::cell_manifest_path(*paths, name);
  auto text = read_file(path);
  if (!text) return fail(text.error());
  // The operator edits a copy; the manifest changes only if the result is valid.
  char tmpl[] = "/tmp/cellmgr-edit-XXXXXX.cell";
  int fd = ::mkstemps(tmpl, 5);
  if (fd < 0) return fail(Error::sys(errno, "mkstemps"));
  ::close(fd);
  const std::string copy = tmpl;
  if (auto s = write_file_atomic(copy, *text, 0600); !s) return fail(s.error());
  const char* editor = std::getenv("VISUAL");
  if (editor == nullptr || *editor == '\0') editor = std::getenv("EDITOR");
  if (editor == nullptr || *editor == '\0') editor = "vi";
  std::string command = std::string(editor) + " '" + copy + "'";
  int rc = std::system(command.c_str());
  auto edited = read_file(copy);
  ::unlink(copy.c_str());
  if (rc != 0) return fail(std::string("editor ") + editor + " failed; " + path + " is unchanged");
  if (!edited) return fail(edited.error());
  if (*edited == *text) {
    std::printf("No changes to %s\n", path.c_str());
    return 0;
  }
  auto gen = engine::commit_desired_edit(*paths, "cell.edit", "cell/" + name, {{path, *edited}});
  if (!gen) return fail(gen.error().message() + " (kept the old " + path + ")");
  std::printf("Updated manifest %s\n", path.c_str());
  return 0;
}

}  // namespace

void add_cell_run_commands(CLI::App* cell, Context& ctx);

void add_cell_commands(CLI::App& app, Context& ctx) {
  CLI::App* cell = app.add_subcommand("cell", "cell manifests, lifecycle and reads");
  cell->require_subcommand(1);

  auto co = std::make_shared<CellOptions>();
  co->scope = "desired";
  CLI::App* create = cell->add_subcommand("create", "write a new cell manifest");
  create->add_option("name", co->name, "cell name")->required();
  add_manifest_options(create, *co);
  create->callback([&ctx, co] { ctx.run = [&ctx, co] { return run_create(ctx, *co); }; });

  auto so = std::make_shared<CellOptions>();
  so->scope = "desired";
  CLI::App* set = cell->add_subcommand("set", "change a cell manifest");
  set->add_option("name", so->name, "cell name")->required();
  add_manifest_options(set, *so);
  set->add_flag("--clear-reserved-ports", so->clear_ports);
  set->add_flag("--clear-rlimit-nofile", so->clear_nofile);
  set->add_flag("--clear-rlimit-as", so->clear_as);
  set->add_flag("--clear-rlimit-core", so->clear_core);
  set->add_flag("--clear-depends-on", so->clear_depends);
  set->add_flag("--clear-healthcheck", so->clear_health);
  set->add_flag("--clear-mounts", so->clear_mounts);
  set->add_flag("--clear-log", so->clear_log);
  set->add_flag("--clear-run-as", so->clear_run_as);
  set->add_flag("--clear-base", so->clear_base);
  set->add_flag("--clear-reload-signal", so->clear_reload_signal);
  set->callback([&ctx, so] { ctx.run = [&ctx, so] { return run_set(ctx, *so); }; });

  auto ro = std::make_shared<RemoveOptions>();
  CLI::App* remove = cell->add_subcommand("remove", "remove a cell's manifest and/or runtime state");
  remove->add_option("name", ro->target, "cell name");
  remove->add_flag("--all", ro->all, "every cell");
  remove->add_flag("--orphans", ro->orphans, "runtime state without a manifest");
  remove->add_option("--scope", ro->scope, "desired (default), runtime or both");
  remove->add_flag("--yes", ro->yes, "do not ask for confirmation");
  remove->add_flag("--force", ro->force, "ignore stop and unmount failures");
  remove->callback([&ctx, ro] { ctx.run = [&ctx, ro] { return run_remove(ctx, *ro); }; });

  auto en = std::make_shared<std::string>();
  CLI::App* edit = cell->add_subcommand("edit", "edit a manifest in $VISUAL, $EDITOR or vi");
  edit->add_option("name", *en, "cell name")->required();
  edit->callback([&ctx, en] { ctx.run = [&ctx, en] { return run_edit(ctx, *en); }; });

  add_cell_run_commands(cell, ctx);
}

}  // namespace cells::cellmgr
