#include "engine/bootstrap.h"

#include <dirent.h>
#include <sys/stat.h>

#include <set>

#include "base/files.h"
#include "engine/controlplane.h"
#include "engine/reads.h"
#include "engine/rootfs_build.h"
#include "kernel/bpf_policy.h"
#include "kernel/cell.h"
#include "kernel/instance_sampler.h"
#include "kernel/seed_ns.h"
#include "store/store.h"

namespace cells::engine {
namespace {

bool exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::vector<std::string> subdirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  ::closedir(d);
  return out;
}

}  // namespace

Result<BootstrapReport> bootstrap(const Paths& paths, const BootstrapOptions& opts) {
  BootstrapReport r;
  // Step 1: the kernel.
  r.features = kernel::probe_features(/*deep=*/true);
  CELLS_TRY_CTX(kernel::require_features(r.features), "bootstrap");

  // Step 2: directories and the default configuration.
  for (const auto& d : {paths.etc_dir(), paths.lib_dir(), paths.base_dir(), paths.cells_dir(),
                        paths.volumes_dir(), paths.backups_dir() + "/volumes",
                        paths.backups_dir() + "/overlays", paths.run_dir()}) {
    if (exists(d)) continue;
    CELLS_TRY(make_dirs(d, 0755));
    r.changes.push_back("created " + d);
  }
  if (!exists(config_path(paths))) {
    CELLS_TRY(write_file_atomic(config_path(paths), render_config(HostConfig{}), 0644));
    r.changes.push_back("wrote default " + config_path(paths));
  }
  auto conf = CELLS_TRY(load_config(config_path(paths)));

  // Step 3: the store.
  if (!exists(paths.state_dir() + "/data.mdb")) {
    CELLS_TRY(store::Store::open(paths, store::OpenMode::kReadWrite));
    r.changes.push_back("created the store in " + paths.state_dir());
  }

  // Step 4: BPF programs; the pin directory says whether they were loaded before.
  bool had_pins = exists(paths.bpf_pin_dir());
  CELLS_TRY_CTX(kernel::BpfPolicy::ensure_loaded(paths), "bootstrap");
  if (!had_pins) r.changes.push_back("loaded the cell BPF programs (pinned in " + paths.bpf_pin_dir() + ")");

  // Step 5: bases.
  if (CELLS_TRY(build_host_base(paths))) r.changes.push_back("built base host in " + paths.base_dir() + "/host");
  if (opts.debian) {
    if (!base_ready(paths, "debian")) {
      opts.say("building base debian (debootstrap --variant=minbase " + conf.debian_suite + " from " +
               conf.debian_mirror + "; log in " + paths.base_dir() + "/debian.log)");
    }
    if (CELLS_TRY(build_debian_base(paths, conf))) {
      r.changes.push_back("built base debian in " + paths.base_dir() + "/debian");
    }
  }
  return r;
}

Result<std::string> status_text(const Paths& paths) {
  std::string out = kernel::format_feature_table(kernel::probe_features(/*deep=*/false));
  auto snap = CELLS_TRY(gather(paths));
  size_t running = 0;
  for (const auto& [n, l] : snap.live) running += l.running ? 1 : 0;
  std::set<std::string> bases;
  for (const auto& b : subdirs(paths.base_dir())) {
    if (base_ready(paths, b)) bases.insert(b);
  }
  uint64_t generation = 0;
  size_t interrupted = 0;
  if (auto st = store::Store::open(paths, store::OpenMode::kReadOnly); st) {
    generation = st->current_generation().value_or(0);
    interrupted = st->incomplete_operations().value_or(std::vector<store::IncompleteOperation>{}).size();
  }
  std::string base_list;
  for (const auto& b : bases) base_list += (base_list.empty() ? "" : ",") + b;
  out += "\n";
  out += "root          " + paths.root + "\n";
  out += "bases         " + (base_list.empty() ? std::string("- (run cellmgr system bootstrap)") : base_list) + "\n";
  out += "bpf           " + std::string(exists(paths.bpf_pin_dir()) ? "loaded" : "not loaded") + "\n";
  out += "cells         " + std::to_string(snap.desired.cells.size()) + " declared, " +
         std::to_string(running) + " running, " + std::to_string(snap.rendered_cells.size()) +
         " with runtime state\n";
  out += "volumes       " + std::to_string(snap.desired.volumes.size()) + " declared, " +
         std::to_string(snap.rendered_volumes.size()) + " with data\n";
  out += "generation    " + std::to_string(generation) + "\n";
  out += "interrupted   " + std::to_string(interrupted) + " operation(s) without an outcome\n";
  out += "problems      " + std::to_string(snap.desired.problems.size()) + "\n";
  for (const auto& p : snap.desired.problems) out += "  " + p + "\n";
  return out;
}

Result<std::vector<std::string>> reset_runtime(const Paths& paths, bool cells, bool volumes,
                                               const LifecycleConfig& cfg) {
  std::vector<std::string> done;
  // Running cells first: their roots and volumes are mounted.
  auto stopped = CELLS_TRY(stop_cells(paths, running_cells(paths), cfg));
  for (const auto& n : stopped) done.push_back("stopped cell " + n);
  if (cells) {
    for (const auto& n : subdirs(paths.cells_dir())) {
      CELLS_TRY(unmount_cell_root(paths, n));
      CELLS_TRY(remove_tree(paths.cells_dir() + "/" + n));
      done.push_back("removed runtime state of cell " + n);
    }
    // With no cell left in the kernel layer, the instance's BPF programs guard nothing: unpin
    // them so a reset root leaves no kernel object behind (the next create loads them again).
    // A cell made by a bare `cellctl create` still needs them, so they stay while one exists.
    auto runtime = CELLS_TRY(kernel::Runtime::open(paths));
    if (CELLS_TRY(runtime.list()).empty()) {
      if (exists(paths.bpf_pin_dir())) {
        CELLS_TRY(kernel::BpfPolicy::unload(paths));
        done.push_back("unloaded the cell BPF programs");
      }
      // Likewise the seed mount namespace new cells copy theirs from (two mounts under <run>).
      if (CELLS_TRY(kernel::release_seed_mount_ns(paths))) {
        done.push_back("released the seed mount namespace");
      }
      // And the telemetry sampler, which would leave by itself only at its next round.
      if (CELLS_TRY(kernel::stop_sampler(paths))) done.push_back("stopped the telemetry sampler");
    }
  }
  if (volumes) {
    for (const auto& n : subdirs(paths.volumes_dir())) {
      CELLS_TRY(remove_tree(paths.volumes_dir() + "/" + n));
      done.push_back("removed data of volume " + n);
    }
  }
  return done;
}

}  // namespace cells::engine
