# Desired and runtime records of the store (DESIGN sections 4 and 5).
#
# Evolution rules: never reuse or renumber an ordinal; a retired field is renamed obsoleteX with
# a comment saying what replaced it.
@0xecffedf97a9886bb;

$import "/capnp/c++.capnp".namespace("cells::store::schema");

struct Rlimits {
  # Resource limits applied with setrlimit(2) in the cell; 0 means "inherit".
  nofile @0 :UInt64;  # RLIMIT_NOFILE
  as @1 :UInt64;      # RLIMIT_AS, bytes
  core @2 :UInt64;    # RLIMIT_CORE, bytes
}

struct Healthcheck {
  command @0 :List(Text);  # argv run inside the cell; empty list = no healthcheck
  timeoutMs @1 :UInt32;    # a run longer than this counts as a failure
  intervalMs @2 :UInt32;   # time between runs
  retries @3 :UInt32;      # consecutive failures before the cell is unhealthy
}

struct LogSettings {
  facility @0 :Text;     # syslog facility name ("daemon", "local0", ...)
  stdoutLevel @1 :Text;  # syslog level for the service's stdout ("info")
  stderrLevel @2 :Text;  # syslog level for its stderr ("err")
  tag @3 :Text;          # syslog tag; empty = the cell name
}

struct Mount {
  source :union {
    volume @0 :Text;     # name of a managed volume
    hostPath @1 :Text;   # absolute path on the host
  }
  target @2 :Text;       # absolute path inside the cell
  readOnly @3 :Bool;     # true = ro, false = rw
}

struct CellManifest {
  # One desired cell, as parsed from /etc/cellmgr/<name>.cell.
  name @0 :Text;                  # unique cell name
  autostart @1 :Bool;             # start at boot and after apply
  profile @2 :Text;               # kernel profile name (kernel/cell.h Profile)
  reservedPorts @3 :List(UInt16); # ports only this cell may bind
  command @4 :List(Text);         # argv of the service
  runAs @5 :Text;                 # "host:user[:group]", "cell:user[:group]" or "uid:N[:M]"
  rlimits @6 :Rlimits;            # see Rlimits
  dependsOn @7 :List(Text);       # cells that must be running first
  healthcheck @8 :Healthcheck;    # see Healthcheck
  log @9 :LogSettings;            # see LogSettings
  mounts @10 :List(Mount);        # volumes and host paths mounted into the root
  base @11 :Text;                 # base layer name ("host" by default)
  manifestText @12 :Text;         # the manifest file as written, for diff and restore
}

struct VolumeManifest {
  # One desired volume, as parsed from /etc/cellmgr/<name>.volume.
  name @0 :Text;          # unique volume name
  manifestText @1 :Text;  # the manifest file as written
}

struct AssetHash {
  path @0 :Text;    # asset path as named in the plan
  sha256 @1 :Data;  # SHA-256 of its content when the plan was recorded
}

struct ApplyPlan {
  # An apply plan (/etc/cellmgr/<cell>.apply): its text and the hashes of its assets.
  cell @0 :Text;               # the cell it applies to
  text @1 :Text;               # the plan as written
  assets @2 :List(AssetHash);  # every file the plan copies in
}

struct Generation {
  # An immutable snapshot of the whole desired state, written in one transaction.
  # Store format 1 keeps the whole state in the lists. Format 2 (store/generations.h) keeps
  # only this header, with the lists empty and the counts set: each cell, volume and plan is
  # a message of its own in the generation_items database, written by the generation that
  # changed it.
  number @0 :UInt64;                # from 1, never reused
  timeNs @1 :Int64;                 # CLOCK_REALTIME when it was committed
  operationId @2 :UInt64;           # the journaled operation that committed it
  cells @3 :List(CellManifest);     # format 1: sorted by name
  volumes @4 :List(VolumeManifest); # format 1: sorted by name
  plans @5 :List(ApplyPlan);        # format 1: sorted by cell
  cellCount @6 :UInt32;             # format 2: how many cells the generation holds
  volumeCount @7 :UInt32;           # format 2: how many volumes
  planCount @8 :UInt32;             # format 2: how many plans
}

struct RuntimeCell {
  # What is true of a cell right now (rewritten as it changes; history is in the journal).
  name @0 :Text;                # the cell
  cid @1 :UInt32;               # kernel cell id (Store::allocate_cid)
  cgroupId @2 :UInt64;          # inode number of its cgroup directory
  supervisorPid @3 :Int32;      # pid of its supervisor; 0 when stopped
  startTimeNs @4 :Int64;        # CLOCK_REALTIME when the service last started
  appliedGeneration @5 :UInt64; # generation whose manifest is in force
  policy @6 :Data;              # the policy actually in force, as the kernel layer encodes it
  lastHealth @7 :HealthResult;  # see HealthResult
}

struct HealthResult {
  timeNs @0 :Int64;     # when the check finished; 0 = never run
  ok @1 :Bool;          # exit status 0 within the timeout
  exitStatus @2 :Int32; # raw wait status
  output @3 :Text;      # first bytes of its output, for operators
}
