# The journal: append-only entries keyed by sequence number (DESIGN section 5).
#
# Evolution rules: never reuse or renumber an ordinal; a retired field is renamed obsoleteX with
# a comment saying what replaced it. The whole store's format is versioned separately (meta key
# "format_version", see store/store.h) for changes that these rules cannot express.
@0xb6b4edbe8eb2872f;

$import "/capnp/c++.capnp".namespace("cells::store::schema");

struct Actor {
  # Who caused an entry.
  uid @0 :UInt32;          # real uid of the process that wrote the entry
  pid @1 :Int32;           # its pid at the time
  commandLine @2 :Text;    # /proc/self/cmdline, arguments joined by single spaces
}

enum Phase {
  # Where an operation stands. An operation whose last entry is `intent` is incomplete:
  # recovery finishes or compensates it.
  intent @0;       # about to act; written before any side effect
  done @1;         # the action completed
  failed @2;       # the action failed and left nothing to undo
  compensated @3;  # the action failed part-way and its effects were undone
}

struct JournalEntry {
  seq @0 :UInt64;          # position in the journal: 1, 2, 3, ... with no gaps; equals its key
  timeNs @1 :Int64;        # CLOCK_REALTIME in nanoseconds when the entry was appended
  actor @2 :Actor;         # who wrote it
  operationId @3 :UInt64;  # groups the entries of one operation; from 1, never reused
  kind @4 :Text;           # what is done, dotted ("cell.create", "generation.commit")
  target @5 :Text;         # what it is done to ("cell/web", "volume/data", "generation/7")
  phase @6 :Phase;         # see Phase
  before @7 :Data;         # image of the target before the change (empty when none)
  after @8 :Data;          # image after the change (empty when none)
  prevHash @9 :Data;       # SHA-256 of the stored predecessor entry (32 zero bytes for seq 1)
}

struct JournalHead {
  # Kept in the same transaction as every append, so that deleting the newest entry (which no
  # successor vouches for) is detected too.
  lastSeq @0 :UInt64;      # seq of the newest entry (0 when the journal is empty)
  lastHash @1 :Data;       # SHA-256 of that entry as stored
}
