#include "cli/cellmgr/cp_support.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>

namespace cells::cellmgr {

Status confirm(bool yes, const std::string& what) {
  if (yes) return ok_status();
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return Error::invalid(what + " needs confirmation: pass --yes (no terminal to ask on)");
  }
  std::string prompt = "WARNING: " + what + " may cause irreversible data loss.\nType yes to continue: ";
  (void)!::write(fd, prompt.data(), prompt.size());
  std::string answer;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') answer.push_back(c);
  ::close(fd);
  if (answer != "yes") return Error::invalid(what + ": not confirmed, nothing changed");
  return ok_status();
}

Status require_root() {
  if (::geteuid() != 0) return Error(ErrorKind::kPermission, "this command must run as root");
  return ok_status();
}

std::string cellctl_path() {
  if (const char* env = std::getenv("CELLS_CELLCTL"); env && *env) return env;
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    std::string dir(buf, size_t(n));
    dir.resize(dir.rfind('/'));
    for (const auto& cand : {dir + "/cellctl", dir + "/../cellctl/cellctl"}) {
      if (::access(cand.c_str(), X_OK) == 0) return cand;
    }
  }
  for (const char* cand : {"/usr/sbin/cellctl", "/usr/local/sbin/cellctl", "/usr/bin/cellctl"}) {
    if (::access(cand, X_OK) == 0) return cand;
  }
  return "cellctl";
}

engine::LifecycleConfig lifecycle_config() {
  engine::LifecycleConfig cfg;
  cfg.cellctl = cellctl_path();
  cfg.say = [](const std::string& line) { std::printf("%s\n", line.c_str()); std::fflush(stdout); };
  return cfg;
}

void add_read_options(CLI::App* sub, ReadOptions& o, bool with_fields) {
  sub->add_option("--view", o.view, "compact, desired, runtime or merged");
  if (with_fields) sub->add_option("-o", o.fields, "fields to print, comma separated");
  sub->add_flag("-T", o.tsv, "tab-separated values (raw numbers, 1/0 booleans)");
  sub->add_flag("-H", o.no_header, "no header line");
  if (with_fields) sub->add_flag("--json", o.json, "JSON");
}

std::vector<std::string> split_csv(const std::string& text) { return engine::split_fields(text); }

int run_read(const Context& ctx, ReadKind kind, const ReadOptions& o,
             const std::optional<std::string>& only, engine::View default_view) {
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  engine::View view = default_view;
  if (!o.view.empty()) {
    auto v = engine::parse_view(o.view);
    if (!v) return fail(v.error());
    view = *v;
  } else if (!o.fields.empty()) {
    view = engine::View::kMerged;  // -o alone may name any field
  }
  if (kind == ReadKind::kVolumes && view == engine::View::kCompact) view = engine::View::kMerged;
  // Validate the fields before reading anything.
  auto fields = engine::split_fields(o.fields);
  auto snap = engine::gather(*paths);
  if (!snap) return fail(snap.error());
  auto table = kind == ReadKind::kCells ? engine::cell_table(*snap, view, fields, only)
                                        : engine::volume_table(*snap, view, fields, only);
  if (!table) return fail(table.error());
  std::string out;
  if (o.json) {
    out = engine::format_json(*table, only.has_value());
  } else if (o.tsv) {
    out = engine::format_tsv(*table, !o.no_header);
  } else if (only) {
    out = engine::format_vertical(*table);
  } else {
    out = engine::format_table(*table, !o.no_header);
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  // A manifest that does not parse is not in the table; say which and why, and fail the read
  // (as ls does for a bad argument) so a script does not mistake the table for all cells.
  for (const auto& problem : snap->desired.problems) fail(problem);
  return snap->desired.problems.empty() ? 0 : 1;
}

int run_fields(ReadKind kind, const ReadOptions& o) {
  engine::View view = kind == ReadKind::kCells ? engine::View::kMerged : engine::View::kMerged;
  if (!o.view.empty()) {
    auto v = engine::parse_view(o.view);
    if (!v) return fail(v.error());
    view = *v;
  }
  auto names = kind == ReadKind::kCells ? engine::cell_fields(view) : engine::volume_fields(view);
  if (!o.no_header) std::printf("%s\n", o.tsv ? "field" : "FIELD");
  for (const auto& n : names) std::printf("%s\n", n.c_str());
  return 0;
}

}  // namespace cells::cellmgr
