#include "engine/controlplane.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "base/files.h"

namespace cells::engine {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Current text of every .cell and .volume file of DIR, by path (hidden files skipped, as
// load_desired does). A missing DIR is empty.
std::map<std::string, std::string> manifest_files(const std::string& dir,
                                                  std::vector<std::string>* problems) {
  std::map<std::string, std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    if (!ends_with(name, ".cell") && !ends_with(name, ".volume")) continue;
    std::string path = dir + "/" + name;
    auto text = read_file(path);
    if (!text) {
      problems->push_back(path + ": " + text.error().message());
      continue;
    }
    out[path] = std::move(*text);
  }
  ::closedir(d);
  return out;
}

store::CellManifest to_store(const CellManifest& m, std::string text) {
  store::CellManifest out;
  out.name = m.name;
  out.autostart = m.autostart;
  out.profile = m.profile;
  out.reserved_ports = m.reserved_ports;
  out.command = {"/bin/sh", "-c", m.command};
  out.run_as = m.run_as ? to_string(*m.run_as) : "";
  out.rlimits = {m.rlimits.nofile.value_or(0), m.rlimits.as.value_or(0),
                 m.rlimits.core.value_or(0)};
  out.depends_on = m.depends_on;
  if (m.healthcheck) {
    out.healthcheck.command = {"/bin/sh", "-c", m.healthcheck->command};
    out.healthcheck.timeout_ms = uint32_t(m.healthcheck->timeout.count());
    out.healthcheck.interval_ms = uint32_t(m.healthcheck->interval.count());
    out.healthcheck.retries = m.healthcheck->retries;
  }
  out.log = {m.log.facility, m.log.stdout_level, m.log.stderr_level, m.log.tag};
  for (const auto& mt : m.mounts) {
    out.mounts.push_back({mt.source == Mount::Source::kVolume ? store::MountSpec::Source::kVolume
                                                              : store::MountSpec::Source::kHostPath,
                          mt.from, mt.target, mt.read_only});
  }
  out.base = m.base.value_or("");
  out.manifest_text = std::move(text);
  return out;
}

}  // namespace

std::string cell_manifest_path(const Paths& p, const std::string& n) {
  return p.etc_dir() + "/" + n + ".cell";
}
std::string volume_manifest_path(const Paths& p, const std::string& n) {
  return p.etc_dir() + "/" + n + ".volume";
}
std::string apply_plan_path(const Paths& p, const std::string& n) {
  return p.etc_dir() + "/" + n + ".apply";
}
std::string config_path(const Paths& p) { return p.etc_dir() + "/cellmgr.conf"; }

Error problems_error(const std::string& what, const std::vector<std::string>& problems) {
  std::string msg = what;
  for (size_t i = 0; i < problems.size(); ++i) msg += (i == 0 ? ": " : "; ") + problems[i];
  return Error::invalid(msg);
}

CandidateSet candidate_desired(const Paths& paths, const std::vector<FileChange>& changes) {
  CandidateSet out;
  const std::string dir = paths.etc_dir();
  auto files = manifest_files(dir, &out.problems);
  std::optional<std::string> conf_text;
  for (const auto& c : changes) {
    if (c.path == config_path(paths)) {
      conf_text = c.content.value_or("");
      continue;
    }
    if (!ends_with(c.path, ".cell") && !ends_with(c.path, ".volume")) continue;
    if (c.content) {
      files[c.path] = *c.content;
    } else {
      files.erase(c.path);
    }
  }
  if (conf_text) {
    auto conf = parse_config(config_path(paths), *conf_text);
    if (conf) {
      out.set.conf = *conf;
    } else {
      out.problems.push_back(conf.error().message());
    }
  } else {
    auto conf = load_config(config_path(paths));
    if (conf) {
      out.set.conf = *conf;
    } else {
      out.problems.push_back(conf.error().message());
    }
  }
  for (const auto& [path, text] : files) {
    if (ends_with(path, ".cell")) {
      auto m = parse_cell(path, text);
      if (m) {
        out.set.cells.push_back(std::move(*m));
      } else {
        out.problems.push_back(m.error().message());
      }
    } else {
      auto v = parse_volume(path, text);
      if (v) {
        out.set.volumes.push_back(std::move(*v));
      } else {
        out.problems.push_back(v.error().message());
      }
    }
  }
  out.set.texts = std::move(files);  // the candidate's bytes, which the edit then writes
  auto by_name = [](const auto& a, const auto& b) { return a.name < b.name; };
  std::sort(out.set.cells.begin(), out.set.cells.end(), by_name);
  std::sort(out.set.volumes.begin(), out.set.volumes.end(), by_name);
  for (auto& p : validate_desired(out.set.cells, out.set.volumes, out.set.conf)) {
    out.problems.push_back(std::move(p));
  }
  return out;
}

store::DesiredState to_store_state(const DesiredSet& set, const std::string& dir) {
  // What the set was parsed from; a file it does not hold is read now.
  auto text_of = [&](const std::string& path) -> std::optional<std::string> {
    if (auto it = set.texts.find(path); it != set.texts.end()) return it->second;
    auto text = read_file(path);
    return text ? std::optional<std::string>(std::move(*text)) : std::nullopt;
  };
  store::DesiredState out;
  for (const auto& c : set.cells) {
    out.cells.push_back(to_store(c, text_of(c.file).value_or(render_cell(c))));
    if (set.listed && !set.plan_cells.contains(c.name)) continue;
    if (auto plan = text_of(dir + "/" + c.name + ".apply"); plan) {
      out.plans.push_back({c.name, std::move(*plan), {}});
    }
  }
  for (const auto& v : set.volumes) {
    out.volumes.push_back({v.name, text_of(v.file).value_or(render_volume(v))});
  }
  return out;
}

Result<uint64_t> commit_desired_edit(const Paths& paths, const std::string& kind,
                                     const std::string& target,
                                     const std::vector<FileChange>& changes) {
  // Step 1: validate the whole result before touching anything.
  CandidateSet cand = candidate_desired(paths, changes);
  if (!cand.problems.empty()) {
    return problems_error("refusing " + kind + " " + target + ", the desired state would be invalid",
                          cand.problems);
  }
  for (const auto& c : changes) {
    if (c.path.rfind(paths.etc_dir() + "/", 0) != 0) {
      return Error::invalid(c.path + " is outside the manifest directory " + paths.etc_dir());
    }
  }

  // Step 2: the store and its writer lock, so concurrent edits are serialised (a second gets a
  // message naming the running operation) and the files we read are the ones we replace.
  CELLS_TRY(make_dirs(paths.etc_dir(), 0755));
  auto st = CELLS_TRY(store::Store::open(paths, store::OpenMode::kReadWrite));
  auto op = CELLS_TRY(st.begin_operation(kind, target));

  // Step 3: intent with the before/after images, durable before any file changes.
  std::vector<std::optional<std::string>> old(changes.size());
  std::string before, after;
  for (size_t i = 0; i < changes.size(); ++i) {
    if (auto t = read_file(changes[i].path); t) old[i] = std::move(*t);
    before += "== " + changes[i].path + "\n" + old[i].value_or("(absent)\n");
    after += "== " + changes[i].path + "\n" + changes[i].content.value_or("(absent)\n");
  }
  CELLS_TRY(op.append({kind, target, store::Phase::kIntent, before, after}));

  // Step 4: the files, each atomically; on failure the old files go back.
  auto restore = [&](size_t upto) {
    for (size_t i = 0; i < upto; ++i) {
      if (old[i]) {
        (void)write_file_atomic(changes[i].path, *old[i]);
      } else {
        ::unlink(changes[i].path.c_str());
      }
    }
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    Status s = changes[i].content ? write_file_atomic(changes[i].path, *changes[i].content)
                                  : (::unlink(changes[i].path.c_str()) == 0 || errno == ENOENT
                                         ? ok_status()
                                         : Status(Error::sys(errno, "unlink " + changes[i].path)));
    if (!s) {
      restore(i + 1);
      (void)op.append({kind, target, store::Phase::kFailed, "", s.error().message()});
      return std::move(s).error().wrap(kind + " " + target);
    }
  }

  // Step 5: the generation, read back from the files just written so it matches them exactly,
  // with the edit's outcome in the same transaction: committed and done, or neither.
  auto gen = op.commit_generation(to_store_state(cand.set, paths.etc_dir()), [&](uint64_t n) {
    return store::EntryDraft{kind, target, store::Phase::kDone, "", "generation " + std::to_string(n)};
  });
  if (!gen) {
    restore(changes.size());
    (void)op.append({kind, target, store::Phase::kFailed, "", gen.error().message()});
    return std::move(gen).error().wrap(kind + " " + target);
  }
  return *gen;
}

}  // namespace cells::engine
