// Every plain value survives fill() then to_plain() field by field: the server and the client
// agree on the wire form of each struct.
#include "engine/rpc/codec.h"

#include <capnp/message.h>
#include <gtest/gtest.h>

namespace cells::rpc {
namespace {

template <typename S, typename T>
T round_trip(const T& v) {
  capnp::MallocMessageBuilder m;
  auto b = m.initRoot<S>();
  fill(b, v);
  return to_plain(b.asReader());
}

TEST(Codec, CellKeepsEveryField) {
  CellInfo c;
  c.name = "web";
  c.state = "backoff";
  c.lifecycle = "managed";
  c.running = true;
  c.cid = 7;
  c.procs = 3;
  c.refs = 4;
  c.cpu1s = 12;
  c.cpu10s = 3.5;
  c.memory = 1 << 20;
  c.age_seconds = 99;
  c.autostart = true;
  c.health = "down";
  c.manifest = true;
  c.apply_present = true;
  c.profile = "medium";
  c.base = "host";
  c.reserved_ports = {80, 443};
  c.rlimits = "nofile=1024 as=unlimited core=0";
  c.command = "busybox httpd -f";
  c.run_as = "cell:www";
  c.depends_on = {"db"};
  c.mounts = {"www:/var/www:rw", "host:/srv:/srv:ro"};
  c.healthcheck = "true";
  c.root = "/x/root";
  c.applied_generation = 5;
  c.applied_time_ns = 1234567890123;
  c.restarts = 2;
  EXPECT_EQ((round_trip<schema::Cell>(c)), c);
  EXPECT_EQ((round_trip<schema::Cell>(CellInfo{})), CellInfo{});
}

TEST(Codec, EveryOtherStructKeepsEveryField) {
  VolumeInfo v{"www", "managed", "0755", "/v/www", true, 2, {"a", "b"}, true};
  EXPECT_EQ((round_trip<schema::Volume>(v)), v);
  OverlayInfo o{"web", "/c/web/overlay", true, false, true};
  EXPECT_EQ((round_trip<schema::Overlay>(o)), o);
  BackupInfo b{BackupKind::kOverlay, "web", "web_20261122052123.tar.zst", "/b/o/web_x", "2026-11-22T05:21:23Z",
               4096, true, "ab12", 3, 17, 250000};
  EXPECT_EQ((round_trip<schema::Backup>(b)), b);
  JournalRecord j{42, 99, 7, "cell.start", "cell/web", "done", 0, 1234, "cellmgr serve --stdio"};
  EXPECT_EQ((round_trip<schema::JournalEntry>(j)), j);
  CellTelemetry t{3, "web", 5, 1.5, 2, 3, 100, 200, "running", "up", 1, {1, 2, 3, 4}, 60};
  EXPECT_EQ((round_trip<schema::CellStats>(t)), t);
  ApplyResult a{2, 3, 1, 0, 9, 4, "web  CREATE\n"};
  EXPECT_EQ((round_trip<schema::ApplyOutcome>(a)), a);
  BackupMade m{"f", "/p/f", 10, 2, "cd34", {"web"}, 1500};
  EXPECT_EQ((round_trip<schema::BackupMade>(m)), m);
  RestoreDone r{"f", 2, 10, 3};
  EXPECT_EQ((round_trip<schema::RestoreDone>(r)), r);
}

}  // namespace
}  // namespace cells::rpc
