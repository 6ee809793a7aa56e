# The cellmgr RPC bridge (`cellmgr serve --stdio`, DESIGN section 13): one bootstrap interface,
# Bridge, over a two-party Cap'n Proto RPC connection on the server's stdin/stdout.
#
# Versioning. Bridge.version() returns (major, minor); this file is major 1, minor 0.
#  - Compatible changes bump minor: a new method appended to an interface, a new field appended
#    to a struct (the next ordinal), a new enum value. Old clients never see them; new clients
#    check `minor` before calling a method the server may not have (an older server answers an
#    unknown method with an "unimplemented" exception and keeps serving).
#  - Anything else bumps major: removing or renumbering a method or field, changing a type or
#    the meaning of a value. A client refuses a server whose major differs from its own.
# Ordinals (@N) are never reused, so a removed field leaves a gap.

@0xd17391f4d3d23dfc;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cells::rpc::schema");

const versionMajor :UInt32 = 1;
const versionMinor :UInt32 = 0;

enum BackupKind {
  volume @0;   # a volume's data directory
  overlay @1;  # a cell's writable layer
}

# One cell as `cellmgr cell list --view merged` sees it, plus its supervision and health.
struct Cell {
  name @0 :Text;
  state @1 :Text;        # "running", "stopped", or the supervisor's "backoff" / "failed"
  lifecycle @2 :Text;    # the read label: managed, parked, pending, declared, orphaned, absent
  running @3 :Bool;
  cid @4 :UInt32;        # 0 when not running
  procs @5 :UInt32;
  refs @6 :UInt32;
  cpu1s @7 :UInt32;      # 1/100 s of CPU in the last second
  cpu10s @8 :Float64;    # mean of the last ten one-second values
  memory @9 :UInt64;     # resident bytes
  ageSeconds @10 :Int64; # -1 when not running
  autostart @11 :Bool;
  health @12 :Text;      # "up", "down", or "-" (no healthcheck or not running)
  manifest @13 :Bool;    # a .cell manifest exists (false: orphaned runtime state)
  applyPresent @14 :Bool;
  profile @15 :Text;
  base @16 :Text;
  reservedPorts @17 :List(UInt16);
  rlimits @18 :Text;     # "nofile=N as=N core=N" ("unlimited" where unset)
  command @19 :Text;
  runAs @20 :Text;
  dependsOn @21 :List(Text);
  mounts @22 :List(Text);  # "www:/var/www:rw", "host:/srv:/srv:ro"
  healthcheck @23 :Text;
  root @24 :Text;
  appliedGeneration @25 :UInt64;  # 0: never applied
  appliedTimeNs @26 :Int64;       # when that generation was committed (0: unknown)
  restarts @27 :UInt64;
}

struct Volume {
  name @0 :Text;
  state @1 :Text;
  mode @2 :Text;
  path @3 :Text;
  mounted @4 :Bool;
  refs @5 :UInt32;
  usedBy @6 :List(Text);
  manifest @7 :Bool;
}

# A cell's writable layer (what an overlay backup archives).
struct Overlay {
  cell @0 :Text;
  path @1 :Text;
  exists @2 :Bool;
  running @3 :Bool;
  manifest @4 :Bool;
}

struct Backup {
  kind @0 :BackupKind;
  name @1 :Text;       # volume or cell name
  file @2 :Text;       # archive file name (what restore and delete take)
  path @3 :Text;
  timestamp @4 :Text;  # "2026-11-22T05:21:23Z"
  size @5 :UInt64;
  recorded @6 :Bool;   # the journal has its backup.create record (the fields below are set)
  sha256 @7 :Text;
  generation @8 :UInt64;
  entries @9 :UInt64;
  freezeNs @10 :Int64;
}

struct JournalEntry {
  seq @0 :UInt64;
  timeNs @1 :Int64;
  operation @2 :UInt64;
  kind @3 :Text;
  target @4 :Text;
  phase @5 :Text;        # intent, done, failed, compensated
  actorUid @6 :UInt32;
  actorPid @7 :Int32;
  actorCommand @8 :Text;
}

struct CellStats {
  cid @0 :UInt32;
  name @1 :Text;
  cpu1s @2 :UInt32;
  cpu10s @3 :Float64;
  procs @4 :UInt32;
  refs @5 :UInt32;
  rss @6 :UInt64;
  vmsize @7 :UInt64;
  supervise @8 :Text;   # running, backoff, failed, stopped, "-"
  health @9 :Text;      # up, down, "-"
  restarts @10 :UInt64;
  denials @11 :List(UInt64);  # bind, sysctl, device, socket
  ageSeconds @12 :Int64;
}

struct ApplyOutcome {
  exitCode @0 :Int32;   # 0 converged, 1 failed (rolled back), 2 dry-run found drift
  cells @1 :UInt32;
  changed @2 :UInt32;
  failed @3 :UInt32;
  operation @4 :UInt64;
  generation @5 :UInt64;
  text @6 :Text;        # the plan / step lines `cellmgr apply` prints
}

struct BackupMade {
  file @0 :Text;
  path @1 :Text;
  size @2 :UInt64;
  entries @3 :UInt64;
  sha256 @4 :Text;
  frozenCells @5 :List(Text);
  freezeNs @6 :Int64;
}

struct RestoreDone {
  file @0 :Text;
  entries @1 :UInt64;
  dataBytes @2 :UInt64;
  manifestGeneration @3 :UInt64;  # the generation the manifest came back from; 0: data only
}

# Pushed by the bridge. Calls on one listener arrive in order.
interface Listener {
  cellsChanged @0 (cells :List(Cell)) -> ();        # every cell, after a state change
  journalAppended @1 (entries :List(JournalEntry)) -> ();  # new entries, oldest first
  telemetryTick @2 (stats :List(CellStats)) -> ();  # once a second, running cells
}

# Dropping it ends the subscription.
interface Subscription {}

interface Bridge {
  version @0 () -> (major :UInt32, minor :UInt32);

  # Reads (never take the writer lock).
  cells @1 () -> (cells :List(Cell));
  volumes @2 () -> (volumes :List(Volume));
  overlays @3 () -> (overlays :List(Overlay));
  backups @4 (kind :BackupKind, name :Text) -> (backups :List(Backup));  # newest first
  # The newest LIMIT entries (1..10000) with seq < BEFORE (0: the end), optionally of one cell;
  # oldest first.
  journal @5 (cell :Text, limit :UInt32, before :UInt64) -> (entries :List(JournalEntry));
  telemetry @6 () -> (stats :List(CellStats));

  # Actions: the same engine calls, writer lock, journal and implicit recovery as the CLI.
  # NAMES or ALL (exactly one); start: every declared cell, stop: every running cell.
  start @7 (names :List(Text), all :Bool) -> (cells :List(Text));
  stop @8 (names :List(Text), all :Bool) -> (cells :List(Text));
  restart @9 (names :List(Text), all :Bool) -> (cells :List(Text));
  apply @10 (names :List(Text), dryRun :Bool) -> (outcome :ApplyOutcome);  # empty: all
  backupCreate @11 (kind :BackupKind, name :Text) -> (made :BackupMade);
  # FILE empty: the newest archive of NAME. STOP: stop the cells using the data first and
  # start them again after. WITHMANIFEST: also put the manifest back as it was at the
  # archive's generation (a journaled desired-state edit).
  backupRestore @12 (kind :BackupKind, name :Text, file :Text, stop :Bool, withManifest :Bool)
      -> (done :RestoreDone);
  backupDelete @13 (kind :BackupKind, name :Text, file :Text) -> ();
  # The argv that opens an interactive shell in running cell NAME on the server's host. The
  # client runs it on its side of the transport (prefixed with `ssh -t HOST` for a remote
  # bridge): a terminal over RPC is out of scope.
  shell @14 (name :Text) -> (argv :List(Text));

  subscribe @15 (listener :Listener) -> (subscription :Subscription);
  journalHead @16 () -> (seq :UInt64);
}
