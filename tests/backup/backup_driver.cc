// cells-backup-driver: a thin command line over cells::backup::Backups, until the cellmgr verbs
// exist. The crash test SIGKILLs it at random moments; the benchmark times it.
//
//   cells-backup-driver ROOT create volume|overlay NAME SOURCE [--no-freeze] [--freeze CG]...
//   cells-backup-driver ROOT restore volume|overlay NAME ARCHIVE TARGET [--unrecorded]
//   cells-backup-driver ROOT verify|delete volume|overlay ARCHIVE
//   cells-backup-driver ROOT list volume|overlay [NAME]
//   cells-backup-driver ROOT prune volume|overlay NAME KEEP
//   cells-backup-driver ROOT recover
#include <cstdio>
#include <string>
#include <vector>

#include "backup/backup.h"

using namespace cells;
using namespace cells::backup;

namespace {

int usage() {
  std::fprintf(
      stderr,
      "usage: cells-backup-driver ROOT create|restore|verify|delete|list|prune|recover ...\n");
  return 2;
}

int report(const Error& e) {
  std::fprintf(stderr, "error: %s\n", e.message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() < 2) return usage();
  auto paths = Paths::from_root(a[0]);
  if (!paths) return report(paths.error());
  auto b = Backups::open(*paths);
  if (!b) return report(b.error());
  const std::string& verb = a[1];
  if (verb == "recover") {
    auto r = b->recover();
    if (!r) return report(r.error());
    for (const auto& p : r->removed) std::printf("removed %s\n", p.c_str());
    for (const auto& p : r->recorded) std::printf("recorded %s\n", p.c_str());
    return 0;
  }
  if (a.size() < 3) return usage();
  auto kind = parse_kind(a[2]);
  if (!kind) return report(kind.error());
  if (verb == "create" && a.size() >= 5) {
    CreateOptions o;
    for (size_t i = 5; i < a.size(); ++i) {
      if (a[i] == "--no-freeze")
        o.no_freeze = true;
      else if (a[i] == "--freeze" && i + 1 < a.size())
        o.freeze_cgroups.push_back(a[++i]);
      else
        return usage();
    }
    auto r = b->create(*kind, a[3], a[4], o);
    if (!r) return report(r.error());
    std::printf("%s %llu %s freeze_ns=%lld\n", r->path.c_str(),
                static_cast<unsigned long long>(r->record.size), r->record.sha256.c_str(),
                static_cast<long long>(r->freeze_time.count()));
    return 0;
  }
  if (verb == "restore" && a.size() >= 6) {
    RestoreOptions o;
    for (size_t i = 6; i < a.size(); ++i) {
      if (a[i] == "--unrecorded")
        o.allow_unrecorded = true;
      else
        return usage();
    }
    auto r = b->restore(*kind, a[3], a[4], a[5], o);
    if (!r) return report(r.error());
    std::printf("restored %llu entries, %llu bytes\n", static_cast<unsigned long long>(r->entries),
                static_cast<unsigned long long>(r->data_bytes));
    return 0;
  }
  if (verb == "verify" && a.size() == 4) {
    auto r = b->verify(*kind, a[3]);
    if (!r) return report(r.error());
    std::printf("ok %s %s\n", r->file.c_str(), r->sha256.c_str());
    return 0;
  }
  if (verb == "delete" && a.size() == 4) {
    auto r = b->remove(*kind, a[3]);
    if (!r) return report(r.error());
    return 0;
  }
  if (verb == "list" && a.size() <= 4) {
    auto r = b->list(*kind, a.size() == 4 ? a[3] : "");
    if (!r) return report(r.error());
    for (const auto& i : *r) {
      std::printf("%s %llu %s\n", i.name.file().c_str(), static_cast<unsigned long long>(i.size),
                  i.record ? i.record->sha256.c_str() : "(unrecorded)");
    }
    return 0;
  }
  if (verb == "prune" && a.size() == 5) {
    auto r = b->prune(*kind, a[3], std::stoul(a[4]));
    if (!r) return report(r.error());
    for (const auto& f : *r) std::printf("deleted %s\n", f.c_str());
    return 0;
  }
  return usage();
}
