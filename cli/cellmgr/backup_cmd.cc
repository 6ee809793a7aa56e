// cellmgr volume|cell backup create|list|verify|restore|delete|prune: the operator's verbs over
// backup::Backups (the archives) and engine/backups.h (what the data is and which cells use
// it). Every refusal happens before anything changes; destructive verbs confirm last.
#include "cli/cellmgr/backup_cmd.h"

#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "backup/backup.h"
#include "cli/cellmgr/cp_support.h"
#include "cli/cellmgr/progress.h"
#include "engine/backups.h"
#include "engine/controlplane.h"
#include "engine/reads.h"

namespace cells::cellmgr {
namespace {

using backup::Kind;

struct BackupOptions {
  std::string name;
  std::string from;
  bool latest = false;
  bool yes = false;
  bool stop = false;
  bool no_freeze = false;
  bool tsv = false, no_header = false, json = false;
  int keep = -1;
};

struct Opened {
  Paths paths;
  engine::BackupSubject subject;
};

Result<Opened> open_subject(const Context& ctx, Kind kind, const std::string& name) {
  Paths paths = CELLS_TRY(paths_of(ctx));
  auto subject = CELLS_TRY(engine::backup_subject(paths, kind, name));
  return Opened{std::move(paths), std::move(subject)};
}

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// The archive a verb works on: --from (a file name in the kind's directory, or an absolute
// path) or the newest of NAME (--latest, also the default). Checked to exist, and to be of
// KIND when named by file name, before any confirmation is asked.
Result<std::string> pick_archive(const Paths& paths, backup::Backups& b, Kind kind,
                                 const std::string& name, const BackupOptions& o) {
  if (!o.from.empty() && o.latest) return Error::invalid("give either --from ARCHIVE or --latest, not both");
  if (o.from.empty()) return CELLS_TRY(engine::find_archive(b, kind, name, "")).name.file();
  if (o.from[0] == '/') {
    if (!exists(o.from)) return Error(ErrorKind::kNotFound, "no archive " + o.from, ENOENT);
    return o.from;
  }
  if (o.from.find('/') != std::string::npos) {
    return Error::invalid("--from '" + o.from + "' must be an archive file name or an absolute path");
  }
  if (!exists(backup::kind_dir(paths, kind) + "/" + o.from)) {
    Kind other = kind == Kind::kVolume ? Kind::kOverlay : Kind::kVolume;
    if (exists(backup::kind_dir(paths, other) + "/" + o.from)) {
      return Error::invalid("archive " + o.from + " is a" +
                            (other == Kind::kVolume ? " volume" : "n overlay (cell)") +
                            " backup, not a" + (kind == Kind::kVolume ? " volume" : "n overlay (cell)") +
                            " backup");
    }
    return Error(ErrorKind::kNotFound, "no " + engine::subject_noun(kind) + " backup " + o.from +
                                           " in " + backup::kind_dir(paths, kind), ENOENT);
  }
  return o.from;
}

int run_create(const Context& ctx, Kind kind, const BackupOptions& o) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto opened = open_subject(ctx, kind, o.name);
  if (!opened) return fail(opened.error());
  const auto& subject = opened->subject;
  backup::CreateOptions co;
  co.no_freeze = o.no_freeze;
  if (!o.no_freeze) co.freeze_cgroups = subject.cgroups;
  co.source_generation = engine::current_generation(opened->paths);
  auto b = backup::Backups::open(opened->paths);
  if (!b) return fail(b.error());
  ProgressBar bar("backup " + o.name);
  co.progress = bar.callback();
  auto made = b->create(kind, o.name, subject.data_dir, co);
  bar.done();
  if (!made) return fail(made.error());
  std::printf("Created %s\n", made->path.c_str());
  std::string frozen;
  if (o.no_freeze) {
    frozen = "not frozen (--no-freeze)";
  } else if (subject.cgroups.empty()) {
    frozen = "no running cell to freeze";
  } else {
    char ms[32];
    std::snprintf(ms, sizeof ms, "%.1f ms", double(made->freeze_time.count()) / 1e6);
    std::string cells;
    for (const auto& c : subject.cells) cells += (cells.empty() ? "" : ",") + c;
    frozen = "froze " + cells + " for " + ms;
  }
  std::printf("%llu entries, %s, sha256 %s, %s\n",
              static_cast<unsigned long long>(made->record.entries),
              human_bytes(double(made->record.size)).c_str(), made->record.sha256.c_str(),
              frozen.c_str());
  return 0;
}

int run_list(const Context& ctx, Kind kind, const BackupOptions& o) {
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  auto listed = engine::list_archives(*paths, kind, o.name);
  if (!listed) return fail(listed.error());
  const std::vector<backup::ArchiveInfo>& archives = *listed;
  const std::string noun = engine::subject_noun(kind);
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : archives) {
      nlohmann::json j = {{noun, a.name.name}, {"timestamp", engine::archive_time(a.name)},
                          {"size", a.size}, {"archive", a.path}, {"recorded", a.record.has_value()}};
      if (a.record) {
        j["sha256"] = a.record->sha256;
        j["generation"] = a.record->generation;
        j["freeze_ns"] = a.record->freeze_ns;
        j["entries"] = a.record->entries;
      }
      out.push_back(std::move(j));
    }
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  engine::ReadTable table;
  table.fields = {noun, "timestamp", "size", "archive"};
  using engine::ReadValue;
  for (const auto& a : archives) {
    table.rows.push_back({ReadValue::text_of(a.name.name), ReadValue::text_of(engine::archive_time(a.name)),
                          o.tsv ? ReadValue::integer(int64_t(a.size))
                                : ReadValue::text_of(human_bytes(double(a.size))),
                          ReadValue::text_of(a.path)});
  }
  std::string text = o.tsv ? engine::format_tsv(table, !o.no_header)
                           : engine::format_table(table, !o.no_header);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

int run_verify(const Context& ctx, Kind kind, const BackupOptions& o) {
  auto opened = open_subject(ctx, kind, o.name);
  if (!opened) return fail(opened.error());
  auto b = backup::Backups::open(opened->paths);
  if (!b) return fail(b.error());
  auto archive = pick_archive(opened->paths, *b, kind, o.name, o);
  if (!archive) return fail(archive.error());
  auto rec = b->verify(kind, *archive);
  if (!rec) return fail(rec.error());
  std::printf("OK %s: %llu entries, sha256 %s\n", rec->file.c_str(),
              static_cast<unsigned long long>(rec->entries), rec->sha256.c_str());
  return 0;
}

int run_restore(const Context& ctx, Kind kind, const BackupOptions& o) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto opened = open_subject(ctx, kind, o.name);
  if (!opened) return fail(opened.error());
  const auto& subject = opened->subject;
  const Paths& paths = opened->paths;
  std::string archive;
  {
    auto b = backup::Backups::open(paths);
    if (!b) return fail(b.error());
    auto picked = pick_archive(paths, *b, kind, o.name, o);
    if (!picked) return fail(picked.error());
    archive = *picked;
  }  // closed: stopping and starting cells opens the store too
  // The refusal of with_cells_stopped, before asking for confirmation.
  if (!o.stop) {
    if (auto s = engine::check_not_in_use(subject); !s) return fail(s.error());
  }
  if (auto s = confirm(o.yes, "replacing the data of " + engine::subject_label(kind, o.name) +
                                  " with " + archive);
      !s) {
    return fail(s.error());
  }
  ProgressBar bar("restore " + o.name);
  engine::LifecycleConfig cfg = lifecycle_config();
  // Starting the cells again says so: end the bar's line first.
  cfg.say = [&bar, say = cfg.say](const std::string& line) {
    bar.done();
    say(line);
  };
  backup::RestoreOptions ro;
  ro.progress = bar.callback();
  ro.background_cleanup = true;  // the replaced tree goes after we return (backup/README.md)
  auto result = engine::restore_subject(paths, subject, archive, o.stop, cfg, std::move(ro));
  bar.done();
  if (!result) return fail(result.error());
  std::printf("Restored %s from %s (%llu entries, %s)\n", engine::subject_label(kind, o.name).c_str(),
              result->archive_path.c_str(), static_cast<unsigned long long>(result->entries),
              human_bytes(double(result->data_bytes)).c_str());
  return 0;
}

int run_delete(const Context& ctx, Kind kind, const BackupOptions& o) {
  if (auto s = require_root(); !s) return fail(s.error());
  auto opened = open_subject(ctx, kind, o.name);
  if (!opened) return fail(opened.error());
  auto b = backup::Backups::open(opened->paths);
  if (!b) return fail(b.error());
  auto archive = pick_archive(opened->paths, *b, kind, o.name, o);
  if (!archive) return fail(archive.error());
  std::string file = archive->substr(archive->rfind('/') + 1);
  if (auto s = engine::check_archive_file(kind, o.name, file); !s) return fail(s.error());
  if (archive->find('/') != std::string::npos &&
      *archive != backup::kind_dir(opened->paths, kind) + "/" + file) {
    return fail("archive " + *archive + " is not in " + backup::kind_dir(opened->paths, kind));
  }
  if (auto s = confirm(o.yes, "deleting backup " + file); !s) return fail(s.error());
  if (auto s = b->remove(kind, file); !s) return fail(s.error());
  std::printf("Deleted %s\n", file.c_str());
  return 0;
}

int run_prune(const Context& ctx, Kind kind, const BackupOptions& o) {
  if (auto s = require_root(); !s) return fail(s.error());
  if (o.keep < 0) return fail("prune needs --keep N (how many of the newest backups to keep)");
  auto opened = open_subject(ctx, kind, o.name);
  if (!opened) return fail(opened.error());
  auto b = backup::Backups::open(opened->paths);
  if (!b) return fail(b.error());
  auto all = b->list(kind, o.name);
  if (!all) return fail(all.error());
  if (all->size() <= size_t(o.keep)) {
    std::printf("Nothing to prune: %zu backup(s) of %s, keeping %d\n", all->size(),
                engine::subject_label(kind, o.name).c_str(), o.keep);
    return 0;
  }
  if (auto s = confirm(o.yes, "deleting " + std::to_string(all->size() - size_t(o.keep)) +
                                  " backup(s) of " + engine::subject_label(kind, o.name));
      !s) {
    return fail(s.error());
  }
  auto deleted = b->prune(kind, o.name, size_t(o.keep));
  if (!deleted) return fail(deleted.error());
  for (const auto& f : *deleted) std::printf("Deleted %s\n", f.c_str());
  return 0;
}

void add_backup_group(CLI::App* parent, Kind kind, Context& ctx) {
  const std::string noun = engine::subject_noun(kind);
  const std::string what = kind == Kind::kVolume ? "the volume's data" : "the cell's writable layer";
  CLI::App* group = parent->add_subcommand("backup", "archives of " + what);
  group->require_subcommand(1);
  using Run = int (*)(const Context&, Kind, const BackupOptions&);
  struct Verb {
    const char* name;
    const char* help;
    Run run;
  };
  const Verb verbs[] = {
      {"create", "archive the data (the cells using it are frozen while it is read)", run_create},
      {"list", "archives, newest first", run_list},
      {"verify", "recompute the checksum and read every entry of an archive", run_verify},
      {"restore", "replace the data by an archive's content", run_restore},
      {"delete", "delete one archive", run_delete},
      {"prune", "delete all but the newest N archives", run_prune},
  };
  for (const Verb& v : verbs) {
    auto o = std::make_shared<BackupOptions>();
    CLI::App* sub = group->add_subcommand(v.name, v.help);
    const std::string verb = v.name;
    auto* name = sub->add_option("name", o->name, noun + " name");
    if (verb != "list") name->required();
    if (verb == "create") sub->add_flag("--no-freeze", o->no_freeze, "read without freezing the cells (not point-in-time)");
    if (verb == "list") {
      sub->add_flag("-T", o->tsv, "tab-separated values (sizes in bytes)");
      sub->add_flag("-H", o->no_header, "no header line");
      sub->add_flag("--json", o->json, "JSON");
    }
    if (verb == "verify" || verb == "restore" || verb == "delete") {
      sub->add_option("--from", o->from, "archive file name or absolute path");
      sub->add_flag("--latest", o->latest, "the newest archive of the name (the default)");
    }
    if (verb == "restore") sub->add_flag("--stop", o->stop, "stop the cells using the data, restore, start them again");
    if (verb == "restore" || verb == "delete" || verb == "prune") {
      sub->add_flag("--yes", o->yes, "do not ask for confirmation");
    }
    if (verb == "prune") sub->add_option("--keep", o->keep, "how many of the newest to keep")->required();
    Run run = v.run;
    sub->callback([&ctx, o, kind, run] { ctx.run = [&ctx, o, kind, run] { return run(ctx, kind, *o); }; });
  }
}

}  // namespace

void add_backup_commands(CLI::App& app, Context& ctx) {
  add_backup_group(app.get_subcommand("volume"), Kind::kVolume, ctx);
  add_backup_group(app.get_subcommand("cell"), Kind::kOverlay, ctx);
}

}  // namespace cells::cellmgr
