// cells::store::Store: the journaled state store (DESIGN section 5). See store/README.md for a
// walkthrough and the error contract of each function.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/paths.h"
#include "base/result.h"
#include "store/journal.h"
#include "store/lmdb.h"
#include "store/records.h"
#include "store/writer_lock.h"

namespace cells::store {

// The on-disk format this build writes. Bumped only with a migration. Format 1 kept the whole
// desired state in each generation record; format 2 keeps each item apart (generations.h). A
// read-only open reads format 1 as it is; a read-write open migrates it first.
inline constexpr uint32_t kFormatVersion = 2;
inline constexpr uint32_t kOldestReadableFormat = 1;

enum class OpenMode { kReadOnly, kReadWrite };  // kReadOnly never creates anything

class Operation;

// Selects journal entries for Store::list_journal; empty fields select everything.
struct JournalFilter {
  std::string cell;       // target is "cell/<cell>" or starts with "cell/<cell>/"
  std::string kind;       // kind equals it, or starts with "<kind>."
  int64_t since_ns = 0;   // entries at or after this time
  size_t limit = 0;       // the newest LIMIT matches (0 = all), returned oldest first
};

// An incomplete operation: its latest intent has no done/failed/compensated after it.
struct IncompleteOperation {
  uint64_t operation_id = 0;
  JournalEntry intent;  // the intent entry that is still open
};

class Store {
 public:
  // Opens the LMDB environment at paths.state_dir().
  //   kReadOnly: never creates a file or directory. Errors: kNotFound "no store at <dir>" when
  //     there is no data.mdb; kCorrupt when data.mdb is not LMDB, is truncated, or lacks the
  //     store's format record; kUnsupported for a format version newer than kFormatVersion.
  //   kReadWrite: creates the directory (0700) and an empty store when absent; same errors
  //     for an existing file, and kCorrupt for an LMDB file that is not a cells store.
  static Result<Store> open(const Paths& paths, OpenMode mode);

  // Monotonic from 1, never reused, durable on return. Errors: kInvalid on a read-only store,
  // kSystem when the commit fails (nothing allocated then).
  Result<uint32_t> allocate_cid();

  // Starts a mutating operation: takes the writer lock (see writer_lock.h) and reserves the
  // next operation id; KIND/TARGET describe it to refused writers. Errors: kBusy naming the
  // running operation (Wait::kNo only), kInvalid on a read-only store, kSystem.
  // The Operation must not outlive this Store.
  Result<Operation> begin_operation(std::string kind, std::string target, Wait wait = Wait::kNo);

  // Journal reads. Each runs in its own read txn (never blocks, never blocked by a writer) and
  // returns owned copies, so results stay valid after the txn ends. Errors: kCorrupt for an
  // entry that does not decode (verify says more), kSystem.
  Result<std::vector<JournalEntry>> list_journal(const JournalFilter& filter) const;
  Result<std::optional<JournalEntry>> journal_entry(uint64_t seq) const;
  Result<std::vector<JournalEntry>> operation_entries(uint64_t operation_id) const;
  // Calls FN for each entry in seq order from FROM_SEQ; FN's error stops the walk and is
  // returned. The entry reference is valid only during the call.
  Status for_each_entry(uint64_t from_seq,
                        const std::function<Status(const JournalEntry&)>& fn) const;
  Result<JournalHead> journal_head() const;

  // Checks the whole chain and the head record. An intact journal gives a report without a
  // problem; a damaged one names the first bad seq. Errors only when it cannot be read at all.
  Result<VerifyReport> verify_journal() const;

  // Operations whose latest intent has no outcome after it, oldest first (for recovery).
  Result<std::vector<IncompleteOperation>> incomplete_operations() const;

  // Generations: the newest number (0 when none) and one generation by number (nullopt when
  // it does not exist). Errors: kCorrupt for a record that does not decode.
  Result<uint64_t> current_generation() const;
  Result<std::optional<Generation>> generation(uint64_t number) const;
  // Its number, time, operation and counts, without reading its items (`cellmgr history`).
  Result<std::optional<GenerationSummary>> generation_summary(uint64_t number) const;
  // Cell NAME's manifest and plan in generation NUMBER, without decoding the rest of it:
  // drift looks up each cell in the generation last applied to it, and those differ from
  // cell to cell. nullopt when the generation or the cell in it does not exist.
  Result<std::optional<GenerationCell>> generation_cell(uint64_t number,
                                                        std::string_view name) const;

  // Runtime records by cell name; nullopt when none.
  Result<std::optional<RuntimeCell>> runtime(const std::string& cell) const;
  Result<std::vector<RuntimeCell>> runtimes() const;

  const std::string& dir() const { return dir_; }
  OpenMode mode() const { return mode_; }
  uint32_t format() const { return format_; }

 private:
  friend class Operation;
  Store() = default;
  Status require_writable(std::string_view what) const;
  // kBusy when a format-1 store this reader opened has been migrated since.
  Status still_format1(const Txn& txn) const;
  Result<JournalHead> read_head(const Txn& txn) const;
  // One write txn: appends DRAFTS for OP (in the name of operation FOR_OP when non-zero),
  // then runs EXTRA (more writes) before committing.
  Result<std::vector<uint64_t>> append(Operation& op, const std::vector<EntryDraft>& drafts,
                                       const std::function<Status(Txn&, uint64_t)>& extra,
                                       uint64_t for_op = 0);

  struct Dbs {
    MDB_dbi meta = 0;         // format_version, next_cid, next_op, journal_head, generation head
    MDB_dbi journal = 0;      // seq (u64 big-endian) -> sha256(entry) || JournalEntry message
    MDB_dbi open_ops = 0;     // operation id -> seq of its intent, while incomplete
    MDB_dbi generations = 0;  // generation number -> its header (format 1: the whole state)
    MDB_dbi items = 0;        // format 2: the items of generations (generations.h)
    MDB_dbi runtime = 0;      // cell name -> RuntimeCell message
  };

  std::string dir_;
  OpenMode mode_ = OpenMode::kReadOnly;
  uint32_t format_ = kFormatVersion;
  Env env_;
  Dbs dbs_;
};

// One journaled operation: a group of entries with a single id, written while holding the
// store's writer lock. Move-only; destroying it releases the lock. Each append is its own durable
// transaction, so an intent is on disk before the caller acts on it.
class Operation {
 public:
  Operation(Operation&&) = default;
  Operation& operator=(Operation&&) = default;

  uint64_t id() const { return id_; }

  // Appends one entry and commits it; returns its seq. Errors: kSystem / kCorrupt from LMDB
  // (nothing appended then).
  Result<uint64_t> append(EntryDraft draft);
  // Appends all DRAFTS in one transaction (all or none); returns their seqs.
  Result<std::vector<uint64_t>> append_batch(const std::vector<EntryDraft>& drafts);
  // Recovery: appends OUTCOME (done, failed or compensated) in the name of ABANDONED, an
  // operation whose process died with its intent open (incomplete_operations()), so that it is
  // complete from then on and later recoveries do not handle it again. Errors: kInvalid when
  // OUTCOME is an intent or ABANDONED is not open; kSystem / kCorrupt from LMDB.
  Result<uint64_t> close_abandoned(uint64_t abandoned, EntryDraft outcome);

  // Commits DESIRED as the next generation and its journal entry ("generation.commit",
  // "generation/<n>", done, before/after = previous/new number as decimal text) in one
  // transaction. Returns the new generation number. OUTCOME (if given) makes the entry that
  // ends the caller's edit from the new number; it lands in the same transaction, so a crash
  // or a full disk cannot leave a committed generation whose edit reported a failure.
  // Only what differs from the current generation is written. CURRENT, when the caller has
  // read it already in this operation (apply compares against it), spares reading it again;
  // it must be the current generation (kInvalid otherwise). kInvalid too for an item without
  // a name, with a NUL in it, or named twice.
  Result<uint64_t> commit_generation(const DesiredState& desired,
                                     const std::function<EntryDraft(uint64_t)>& outcome = {},
                                     const Generation* current = nullptr);

  // Writes (replaces) CELL's runtime record, journaled ("runtime.set", "cell/<name>", done,
  // before/after = the encoded old/new records) in the same transaction.
  Status put_runtime(const RuntimeCell& cell);

 private:
  friend class Store;
  Operation(Store* store, WriterLock lock, uint64_t id, Actor actor)
      : store_(store), lock_(std::move(lock)), id_(id), actor_(std::move(actor)) {}

  Store* store_;
  WriterLock lock_;
  uint64_t id_;
  Actor actor_;
  bool id_consumed_ = false;  // the first append also advances the op counter
};

}  // namespace cells::store
