// cellctl list [-T] [-H] [--json]
//   table: ID NAME REFS PROCS AGE STATE NOFILE AS CORE ROOT (NAME width fits the longest name;
//          "no cells" when there are none)
//   -T:    CID NAME REFS PROCS AGE ROOT NOFILE AS CORE, tab separated, header even when empty
//   -H:    no header (only with -T)
// PROCS counts the processes of the cell other than its init; REFS counts every process that
// holds the cell (init included). AGE is whole seconds in TSV and JSON, "31s"/"5m"/"2h"/"3d"
// in the table. STATE is the supervision state (running, backoff, failed, stopped, or "-" when
// no supervisor has run or the one that ran is gone); -T keeps the reference's columns, so it
// has no STATE (tools parse them by position), --json has "state".
#include <signal.h>

#include <cerrno>
#include <chrono>
#include <map>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/cellctl/common.h"
#include "kernel/telemetry.h"

namespace cells::cellctl {
namespace {

struct ListOptions {
  bool tsv = false;
  bool no_header = false;
  bool json = false;
};

struct Row {
  kernel::CellInfo info;
  size_t refs = 0;
  size_t procs = 0;
  int64_t age_s = 0;
  std::string state = "-";
};

// The state a supervisor published, unless the supervisor died without publishing "stopped"
// (killed hard): then the cell is unsupervised whatever its slot says.
std::string supervision_state(const kernel::CellStats& s) {
  using kernel::SuperviseState;
  if (s.state == SuperviseState::kNone) return "-";
  if (s.state != SuperviseState::kStopped &&
      (s.supervisor_pid <= 0 || (::kill(s.supervisor_pid, 0) != 0 && errno == ESRCH))) {
    return "-";
  }
  return std::string(kernel::to_string(s.state));
}

std::string human_age(int64_t s) {
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::string pad(std::string s, size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  return s;
}

void print_table(const std::vector<Row>& rows) {
  if (rows.empty()) {
    std::printf("no cells\n");
    return;
  }
  std::vector<std::vector<std::string>> cells = {
      {"ID", "NAME", "REFS", "PROCS", "AGE", "STATE", "NOFILE", "AS", "CORE", "ROOT"}};
  for (const auto& r : rows) {
    cells.push_back({std::to_string(r.info.cid), r.info.name, std::to_string(r.refs),
                     std::to_string(r.procs), human_age(r.age_s), r.state,
                     format_limit(r.info.rlimits.nofile), format_limit(r.info.rlimits.as),
                     format_limit(r.info.rlimits.core), r.info.root});
  }
  std::vector<size_t> width(cells[0].size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  for (const auto& line : cells) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      // The last column (ROOT) is not padded, so lines carry no trailing blanks.
      out += i + 1 < line.size() ? pad(line[i], width[i]) + "  " : line[i];
    }
    std::printf("%s\n", out.c_str());
  }
}

void print_tsv(const std::vector<Row>& rows, bool header) {
  if (header) std::printf("CID\tNAME\tREFS\tPROCS\tAGE\tROOT\tNOFILE\tAS\tCORE\n");
  for (const auto& r : rows) {
    std::printf("%u\t%s\t%zu\t%zu\t%lld\t%s\t%s\t%s\t%s\n", r.info.cid, r.info.name.c_str(),
                r.refs, r.procs, static_cast<long long>(r.age_s), r.info.root.c_str(),
                format_limit(r.info.rlimits.nofile).c_str(),
                format_limit(r.info.rlimits.as).c_str(),
                format_limit(r.info.rlimits.core).c_str());
  }
}

void print_json(const std::vector<Row>& rows) {
  auto limit = [](const std::optional<uint64_t>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows) {
    out.push_back({{"cid", r.info.cid},
                   {"name", r.info.name},
                   {"root", r.info.root},
                   {"profile", std::string(kernel::to_string(r.info.profile))},
                   {"ports", r.info.ports},
                   {"refs", r.refs},
                   {"procs", r.procs},
                   {"age_seconds", r.age_s},
                   {"state", r.state},
                   {"nofile", limit(r.info.rlimits.nofile)},
                   {"as", limit(r.info.rlimits.as)},
                   {"core", limit(r.info.rlimits.core)},
                   {"cgroup_id", r.info.cgroup_id},
                   {"init_pid", r.info.init_pid}});
  }
  std::printf("%s\n", out.dump(2).c_str());
}

int run_list(const Context& ctx, const ListOptions& o) {
  auto runtime = open_runtime(ctx);
  if (!runtime) return fail(runtime.error());
  auto cells = runtime->list();
  if (!cells) return fail(cells.error());
  int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  // Supervision states come from the telemetry snapshot (one read for all cells); without it
  // every cell shows "-" rather than failing the listing.
  std::map<uint32_t, std::string> states;
  if (auto stats = kernel::SnapshotFile::read_all(runtime->paths()); stats.ok()) {
    for (const auto& st : *stats) states[st.cid] = supervision_state(st);
  }
  std::vector<Row> rows;
  for (auto& c : *cells) {
    Row r;
    auto pids = runtime->pids(c);
    if (!pids) continue;  // destroyed while we listed
    r.refs = pids->size();
    bool init_alive = std::find(pids->begin(), pids->end(), c.init_pid) != pids->end();
    r.procs = pids->size() - (init_alive ? 1 : 0);
    r.age_s = std::max<int64_t>(0, (now - c.created_unix_ns) / 1000000000);
    if (auto it = states.find(c.cid); it != states.end()) r.state = it->second;
    r.info = std::move(c);
    rows.push_back(std::move(r));
  }
  if (o.json) {
    print_json(rows);
  } else if (o.tsv) {
    print_tsv(rows, !o.no_header);
  } else {
    print_table(rows);
  }
  return 0;
}

}  // namespace

void add_list_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ListOptions>();
  CLI::App* sub = app.add_subcommand("list", "list the cells");
  CLI::Option* tsv = sub->add_flag("-T,--tsv", o->tsv, "tab-separated output");
  sub->add_flag("-H,--no-header", o->no_header, "omit the header line (needs -T)")->needs(tsv);
  sub->add_flag("--json", o->json, "JSON output")->excludes(tsv);
  sub->callback([&ctx, o] { ctx.run = [&ctx, o] { return run_list(ctx, *o); }; });
}

}  // namespace cells::cellctl
