#include "cli/cellmgr/journal_cmd.h"

#include <charconv>
#include <iostream>
#include <nlohmann/json.hpp>

namespace cells::cellmgr {
namespace {

using store::JournalEntry;

struct ListOptions {
  std::string cell, kind, since;
  size_t limit = 0;
  bool json = false;
};

nlohmann::json to_json(const JournalEntry& e) {
  return {
      {"seq", e.seq},
      {"time", format_time(e.time_ns)},
      {"time_ns", e.time_ns},
      {"actor", {{"uid", e.actor.uid}, {"pid", e.actor.pid}, {"command", e.actor.command_line}}},
      {"operation", e.operation_id},
      {"kind", e.kind},
      {"target", e.target},
      {"phase", std::string(to_string(e.phase))},
      {"before_base64", store::base64(e.before)},
      {"after_base64", store::base64(e.after)},
      {"prev_hash", store::to_hex(e.prev_hash)},
      {"hash", store::to_hex(e.hash)},
  };
}

void print_row(const JournalEntry& e) {
  std::printf("%8llu  %s  op-%-6llu %-12s %-20s %s\n", static_cast<unsigned long long>(e.seq),
              format_time(e.time_ns).c_str(), static_cast<unsigned long long>(e.operation_id),
              std::string(to_string(e.phase)).c_str(), e.kind.c_str(), e.target.c_str());
}

bool printable(const std::string& s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

void print_image(const char* label, const std::string& bytes) {
  if (bytes.empty()) {
    std::printf("%-10s (none)\n", label);
  } else if (printable(bytes)) {
    std::printf("%-10s %s\n", label, bytes.c_str());
  } else {
    std::printf("%-10s %zu bytes, base64 %s\n", label, bytes.size(), store::base64(bytes).c_str());
  }
}

void print_detail(const JournalEntry& e) {
  std::printf("seq        %llu\n", static_cast<unsigned long long>(e.seq));
  std::printf("time       %s\n", format_time(e.time_ns).c_str());
  std::printf("operation  op-%llu\n", static_cast<unsigned long long>(e.operation_id));
  std::printf("kind       %s\n", e.kind.c_str());
  std::printf("target     %s\n", e.target.c_str());
  std::printf("phase      %s\n", std::string(to_string(e.phase)).c_str());
  std::printf("actor      uid %u pid %d: %s\n", e.actor.uid, e.actor.pid,
              e.actor.command_line.c_str());
  print_image("before", e.before);
  print_image("after", e.after);
  std::printf("prev hash  %s\n", store::to_hex(e.prev_hash).c_str());
  std::printf("hash       %s\n", store::to_hex(e.hash).c_str());
}

int no_store(const Context& ctx) {
  auto paths = paths_of(ctx);
  std::printf("no store at %s (nothing journaled yet)\n",
              paths ? paths->state_dir().c_str() : ctx.root.c_str());
  return 0;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

int run_list(const Context& ctx, const ListOptions& o) {
  store::JournalFilter f{o.cell, o.kind, 0, o.limit};
  if (!o.since.empty()) {
    auto t = parse_time(o.since, now_ns());
    if (!t) return fail(t.error());
    f.since_ns = *t;
  }
  auto st = open_for_read(ctx);
  if (!st) return fail(st.error());
  if (!*st) return no_store(ctx);
  auto entries = (*st)->list_journal(f);
  if (!entries) return fail(entries.error());
  if (o.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : *entries) arr.push_back(to_json(e));
    std::cout << arr.dump(2) << "\n";
    return 0;
  }
  for (const auto& e : *entries) print_row(e);
  return 0;
}

int run_show(const Context& ctx, const std::string& what) {
  // A bare number is a seq; "op-N" (as list prints it) is an operation.
  uint64_t n = 0;
  bool is_op = what.starts_with("op-");
  if (!parse_u64(is_op ? std::string_view(what).substr(3) : std::string_view(what), n) || n == 0) {
    return fail("journal show: '" + what + "' is neither a sequence number nor an operation "
                "id like op-12");
  }
  auto st = open_for_read(ctx);
  if (!st) return fail(st.error());
  if (!*st) return no_store(ctx);
  if (!is_op) {
    auto e = (*st)->journal_entry(n);
    if (!e) return fail(e.error());
    if (!*e) return fail("journal show: no entry with seq " + what);
    print_detail(**e);
    return 0;
  }
  auto entries = (*st)->operation_entries(n);
  if (!entries) return fail(entries.error());
  if (entries->empty()) return fail("journal show: no operation " + what);
  for (size_t i = 0; i < entries->size(); ++i) {
    if (i) std::printf("\n");
    print_detail((*entries)[i]);
  }
  return 0;
}

int run_verify(const Context& ctx) {
  auto st = open_for_read(ctx);
  if (!st) return fail(st.error());
  if (!*st) return no_store(ctx);
  auto report = (*st)->verify_journal();
  if (!report) return fail(report.error());
  if (report->problem) {
    return fail("journal verify: seq " + std::to_string(report->problem->seq) + ": " +
                report->problem->what);
  }
  std::printf("journal intact: %llu entries\n", static_cast<unsigned long long>(report->entries));
  return 0;
}

int run_export(const Context& ctx) {
  auto st = open_for_read(ctx);
  if (!st) return fail(st.error());
  if (!*st) return no_store(ctx);
  Status s = (*st)->for_each_entry(1, [](const JournalEntry& e) -> Status {
    std::cout << to_json(e).dump() << "\n";
    return ok_status();
  });
  if (!s) return fail(s.error());
  return 0;
}

}  // namespace

void add_journal_commands(CLI::App& app, Context& ctx) {
  auto* journal = app.add_subcommand("journal", "inspect and check the journal");
  journal->require_subcommand(1);

  auto list_opts = std::make_shared<ListOptions>();
  auto* list = journal->add_subcommand("list", "list journal entries, oldest first");
  list->add_option("--cell", list_opts->cell, "only entries whose target is this cell");
  list->add_option("--op", list_opts->kind, "only entries of this kind (or its sub-kinds)");
  list->add_option("--since", list_opts->since, "only entries at or after TIME");
  list->add_option("-n", list_opts->limit, "only the newest N matches");
  list->add_flag("--json", list_opts->json, "print a JSON array");
  list->callback([&ctx, list_opts] { ctx.run = [&ctx, list_opts] { return run_list(ctx, *list_opts); }; });

  auto what = std::make_shared<std::string>();
  auto* show = journal->add_subcommand("show", "show one entry (SEQ) or one operation (op-N)");
  show->add_option("what", *what, "SEQ or op-N")->required();
  show->callback([&ctx, what] { ctx.run = [&ctx, what] { return run_show(ctx, *what); }; });

  journal->add_subcommand("verify", "check the hash chain; exit 1 naming the first bad entry")
      ->callback([&ctx] { ctx.run = [&ctx] { return run_verify(ctx); }; });
  journal->add_subcommand("export", "print every entry as one JSON object per line")
      ->callback([&ctx] { ctx.run = [&ctx] { return run_export(ctx); }; });
}

}  // namespace cells::cellmgr
