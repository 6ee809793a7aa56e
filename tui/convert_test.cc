#include "tui/convert.h"

#include <gtest/gtest.h>

namespace cells::tui {
namespace {

rpc::CellInfo running_cell() {
  rpc::CellInfo c;
  c.name = "web";
  c.state = "running";
  c.running = true;
  c.cid = 4;
  c.procs = 2;
  c.age_seconds = 3700;
  c.health = "-";
  c.manifest = true;
  c.profile = "medium";
  c.base = "host";
  c.reserved_ports = {80, 443};
  c.mounts = {"www:/var/www:rw", "host:/srv:/srv:ro"};
  c.command = "httpd -f";
  c.applied_generation = 7;
  return c;
}

TEST(Convert, CellInfoBecomesARowAndDetail) {
  CellRow r = cell_row(running_cell());
  EXPECT_EQ(r.name, "web");
  EXPECT_EQ(r.state, "running");
  EXPECT_EQ(r.age_s, 3700);
  EXPECT_EQ(r.health, "");  // "-" means no check
  EXPECT_EQ(r.ports, "80,443");
  EXPECT_EQ(r.mounts, "www:/var/www:rw, host:/srv:/srv:ro");
  EXPECT_EQ(r.profile, "medium (base host)");
  EXPECT_EQ(r.last_apply, "generation 7");
  auto t = cell_table({&r});
  EXPECT_EQ(t.rows[0][6], "1h1m");
  rpc::CellInfo stopped = running_cell();
  stopped.running = false;
  stopped.state = "stopped";
  stopped.age_seconds = -1;
  EXPECT_EQ(cell_row(stopped).age_s, std::nullopt);
}

TEST(Convert, CellsAreSortedByName) {
  rpc::CellInfo a = running_cell(), b = running_cell();
  a.name = "zeta", b.name = "alpha";
  auto rows = cell_rows({a, b});
  EXPECT_EQ(rows[0].name, "alpha");
}

TEST(Convert, TelemetryUpdatesRunningCellsOnly) {
  rpc::CellInfo stopped = running_cell();
  stopped.name = "db", stopped.running = false;
  auto rows = cell_rows({running_cell(), stopped});
  rpc::CellTelemetry t1{.name = "web", .cpu1s = 40, .cpu10s = 12.5, .procs = 5, .health = "up",
                        .age_seconds = 3701};
  rpc::CellTelemetry t2{.name = "db", .cpu1s = 99, .procs = 1};
  apply_telemetry(rows, {t1, t2});
  EXPECT_EQ(rows[1].cpu1s, 40u);
  EXPECT_EQ(rows[1].procs, 5u);
  EXPECT_EQ(rows[1].health, "up");
  EXPECT_EQ(rows[1].age_s, 3701);
  EXPECT_EQ(rows[0].cpu1s, 0u);  // a tick racing a stop does not revive the cell
}

TEST(Convert, StorageListsVolumesThenOverlays) {
  rpc::VolumeInfo v{.name = "www", .state = "managed", .mode = "rw", .path = "/v/www",
                    .mounted = true, .refs = 2, .used_by = {"a", "b"}, .manifest = true};
  rpc::VolumeInfo pending{.name = "cache", .state = "pending", .manifest = true};
  rpc::OverlayInfo o{.cell = "a", .path = "/c/a/upper", .exists = true, .running = true,
                     .manifest = true};
  auto rows = storage_rows({v, pending}, {o});
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, "cache");
  EXPECT_FALSE(rows[0].runtime);
  EXPECT_EQ(rows[1].used_by, "a, b");
  EXPECT_TRUE(rows[1].active);
  EXPECT_EQ(rows[2].kind, "overlay");
  EXPECT_TRUE(rows[2].active);
  Snapshot s;
  s.storage = rows;
  s.storage[1].backups = {backup_row({.file = "www-1.tar.zst", .timestamp = "t", .size = 2048})};
  EXPECT_EQ(status_text(s, Mode::kStorage, CellFilter::kAll, ""),
            "storage: 3  volumes: 2  overlays: 1  backup-ready: 2  backups: 1");
  EXPECT_EQ(storage_detail(s.storage[1], 0)[3], "> www-1.tar.zst  t  2.0K");
}

TEST(Convert, JournalEntriesNameTheirCell) {
  rpc::JournalRecord r{.seq = 9, .time_ns = 0, .operation = 4, .kind = "cell.stop",
                       .target = "cell/web", .phase = "done", .actor_uid = 0,
                       .actor_command = "cellmgr cell stop web"};
  JournalRow j = journal_row(r);
  EXPECT_EQ(j.op, "op-4");
  EXPECT_EQ(j.cell, "web");
  EXPECT_EQ(j.summary, "done by cellmgr cell stop web (uid 0)");
  r.target = "volume/www";
  EXPECT_EQ(journal_row(r).cell, "");
  EXPECT_FALSE(touches_storage(r));
  r.kind = "backup.create";
  EXPECT_TRUE(touches_storage(r));
}

}  // namespace
}  // namespace cells::tui
