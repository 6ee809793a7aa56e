#include "store/store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <string_view>

#include "base/files.h"
#include "store/codec.h"
#include "store/generations.h"

namespace cells::store {
namespace {

constexpr std::string_view kKeyFormat = "format_version";
constexpr std::string_view kKeyNextCid = "next_cid";
constexpr std::string_view kKeyNextOp = "next_op";
constexpr std::string_view kKeyHead = "journal_head";
constexpr std::string_view kKeyGeneration = "generation";

int64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

bool is_outcome(Phase p) { return p != Phase::kIntent; }

bool matches(const JournalEntry& e, const JournalFilter& f) {
  if (f.since_ns && e.time_ns < f.since_ns) return false;
  if (!f.kind.empty() && e.kind != f.kind && !e.kind.starts_with(f.kind + ".")) return false;
  if (!f.cell.empty()) {
    std::string t = "cell/" + f.cell;
    if (e.target != t && !e.target.starts_with(t + "/")) return false;
  }
  return true;
}

// Checks a data.mdb before the real open, with a lock-free read-only env, so that a bad file is
// refused without creating lock.mdb next to it, and a truncated file is refused before LMDB maps
// pages past its end (which would be SIGBUS, not an error).
Status probe_data_file(const std::string& dir, const std::string& data, off_t size) {
  auto probe = Env::open(dir, {.read_only = true, .no_lock = true});
  if (!probe) {
    // Anything but a permission problem means the file is not (a whole) LMDB environment; LMDB
    // reports an empty or short file as EINVAL, EBADF or ENOENT depending on where it stops.
    int err = probe.error().sys_errno();
    if (err != EACCES && err != EPERM) {
      return Error(ErrorKind::kCorrupt, data + " is not an LMDB environment (" +
                                            probe.error().message() + ")");
    }
    return std::move(probe).error();
  }
  MDB_envinfo info;
  MDB_stat st;
  mdb_env_info(probe->get(), &info);
  mdb_env_stat(probe->get(), &st);
  auto needed = static_cast<off_t>((info.me_last_pgno + 1) * st.ms_psize);
  struct stat now;
  if (size < needed && ::stat(data.c_str(), &now) == 0) {
    // SIZE was taken before the header was read, and a writer may have grown both since (found
    // by 50 parallel `cell start`s, tests/load). LMDB writes pages before a header names them,
    // so a size taken after the header was read is the one to compare.
    size = now.st_size;
  }
  if (size < needed) {
    return Error(ErrorKind::kCorrupt, data + " is truncated: " + std::to_string(size) +
                                          " bytes, its header needs " + std::to_string(needed));
  }
  return ok_status();
}

}  // namespace

Result<Store> Store::open(const Paths& paths, OpenMode mode) {
  Store s;
  s.dir_ = paths.state_dir();
  s.mode_ = mode;
  const std::string data = s.dir_ + "/data.mdb";
  const bool write = mode == OpenMode::kReadWrite;

  // 1. Locate (or, for writers, create) the directory; a reader stops here on a fresh root.
  struct stat st;
  bool exists = ::stat(data.c_str(), &st) == 0;
  if (!exists && errno != ENOENT) return Error::sys(errno, "stat " + data);
  if (!exists && !write) return Error::not_found("no store at " + s.dir_);
  if (write) CELLS_TRY_CTX(make_dirs(s.dir_, 0700), "create store");

  // 2. Refuse a bad file before LMDB maps it or writes a lock file beside it.
  if (exists) {
    if (!S_ISREG(st.st_mode)) return Error(ErrorKind::kCorrupt, data + " is not a regular file");
    CELLS_TRY(probe_data_file(s.dir_, data, st.st_size));
  }

  // 3. The real env, with reader-table locking so readers never block a writer.
  s.env_ = CELLS_TRY(Env::open(s.dir_, {.read_only = !write}));

  // 4. Check the format record with a read txn first, so that a store of a newer (or foreign)
  //    format is refused before any write txn touches it.
  bool fresh = false;
  uint32_t found_format = kFormatVersion;
  {
    Txn txn = CELLS_TRY(Txn::begin(s.env_, false));
    auto meta = txn.open_db("meta");
    if (!meta) {
      if (meta.error().kind() != ErrorKind::kNotFound) return std::move(meta).error();
      MDB_stat main_st;
      mdb_stat(txn.get(), MDB_dbi{1}, &main_st);  // MAIN_DBI: named databases live there
      // An empty environment is a store whose creation was interrupted before its first
      // commit (tests/store/journal_crash_test kills writers there): nothing was ever stored.
      if (!write && main_st.ms_entries == 0) {
        return Error::not_found("no store at " + s.dir_ + " (its creation did not finish)");
      }
      if (main_st.ms_entries != 0) {
        return Error(ErrorKind::kCorrupt, data + " is an LMDB environment but not a cells store "
                                                 "(no format record)");
      }
      fresh = true;
    } else {
      auto v = CELLS_TRY(txn.get(*meta, kKeyFormat));
      if (!v || v->size() != 4) {
        return Error(ErrorKind::kCorrupt, s.dir_ + ": store has no valid format record");
      }
      uint32_t version = static_cast<uint32_t>(decode_u64_be(*v, 4));
      if (version < kOldestReadableFormat || version > kFormatVersion) {
        return Error(ErrorKind::kUnsupported,
                     s.dir_ + ": store format version " + std::to_string(version) +
                         (version > kFormatVersion ? " is newer than" : " is not") +
                         " the version this cellmgr supports (" +
                         std::to_string(kFormatVersion) + ")");
      }
      found_format = version;
    }
  }
  s.format_ = found_format;

  // 5. Open every database (creating them in a fresh store) and keep the handles env-wide.
  Txn txn = CELLS_TRY(Txn::begin(s.env_, write));
  s.dbs_.meta = CELLS_TRY(txn.open_db("meta"));
  s.dbs_.journal = CELLS_TRY(txn.open_db("journal"));
  s.dbs_.open_ops = CELLS_TRY(txn.open_db("open_ops"));
  s.dbs_.generations = CELLS_TRY(txn.open_db("generations"));
  s.dbs_.runtime = CELLS_TRY(txn.open_db("runtime"));
  // A read-only open of a format-1 store has no items database, and reads it as format 1.
  if (s.format_ >= 2 || write) s.dbs_.items = CELLS_TRY(txn.open_db("generation_items"));
  if (fresh) {
    CELLS_TRY(txn.put(s.dbs_.meta, kKeyFormat, encode_u64_be(kFormatVersion, 4)));
  } else if (write && s.format_ == 1) {
    // 6. A format-1 store becomes format 2 in this one transaction: a crash leaves it as it
    //    was, and the next read-write open migrates it again.
    CELLS_TRY(detail::migrate_format1_generations(txn, {s.dbs_.generations, s.dbs_.items}));
    CELLS_TRY(txn.put(s.dbs_.meta, kKeyFormat, encode_u64_be(kFormatVersion, 4)));
    s.format_ = kFormatVersion;
  }
  CELLS_TRY_CTX(txn.commit(), "initialise store at " + s.dir_);
  return s;
}

Status Store::require_writable(std::string_view what) const {
  if (mode_ != OpenMode::kReadWrite) {
    return Error::invalid(std::string(what) + ": store at " + dir_ + " is open read-only");
  }
  return ok_status();
}

Result<uint32_t> Store::allocate_cid() {
  CELLS_TRY(require_writable("allocate cid"));
  Txn txn = CELLS_TRY(Txn::begin(env_, true));
  auto cur = CELLS_TRY(txn.get(dbs_.meta, kKeyNextCid));
  uint64_t cid = cur ? decode_u64_be(*cur, 8) : 1;
  if (cid > UINT32_MAX) return Error(ErrorKind::kBusy, "allocate cid: cid space exhausted");
  CELLS_TRY(txn.put(dbs_.meta, kKeyNextCid, encode_u64_be(cid + 1, 8)));
  CELLS_TRY_CTX(txn.commit(), "allocate cid");
  return static_cast<uint32_t>(cid);
}

Result<JournalHead> Store::read_head(const Txn& txn) const {
  auto raw = CELLS_TRY(txn.get(dbs_.meta, kKeyHead));
  if (!raw) return JournalHead{};
  return detail::decode_head(*raw);
}

Result<JournalHead> Store::journal_head() const {
  Txn txn = CELLS_TRY(Txn::begin(env_, false));
  return read_head(txn);
}

Result<Operation> Store::begin_operation(std::string kind, std::string target, Wait wait) {
  CELLS_TRY(require_writable("begin operation " + kind));
  // Reserve the id under the lock: only the lock holder consumes ids, so reading the counter
  // here and advancing it in the first append cannot race. An operation that appends nothing
  // leaves no trace, so its id being handed out again is invisible.
  LockOwner owner{0, ::getpid(), kind, target, Actor::current().command_line};
  uint64_t id;
  {
    Txn txn = CELLS_TRY(Txn::begin(env_, false));
    auto raw = CELLS_TRY(txn.get(dbs_.meta, kKeyNextOp));
    id = raw ? decode_u64_be(*raw) : 1;
  }
  owner.operation_id = id;
  // Lock before reading the counter again: the value read above may be stale if another writer
  // was running; re-read once the lock is ours.
  WriterLock lock = CELLS_TRY(WriterLock::acquire(dir_, owner, wait));
  {
    Txn txn = CELLS_TRY(Txn::begin(env_, false));
    auto raw = CELLS_TRY(txn.get(dbs_.meta, kKeyNextOp));
    uint64_t fresh = raw ? decode_u64_be(*raw) : 1;
    if (fresh != id) {
      id = fresh;
      owner.operation_id = id;
      lock = WriterLock();  // release, then retake with the right record
      lock = CELLS_TRY(WriterLock::acquire(dir_, owner, wait));
    }
  }
  return Operation(this, std::move(lock), id, Actor::current());
}

Result<std::vector<uint64_t>> Store::append(Operation& op, const std::vector<EntryDraft>& drafts,
                                            const std::function<Status(Txn&, uint64_t)>& extra,
                                            uint64_t for_op) {
  // Steps, all in one write txn so that entry, head, index and records land together or not
  // at all: read head -> append entries -> maintain the open-operations index -> extra
  // writes -> write head -> advance the op counter -> commit (fsync).
  Txn txn = CELLS_TRY(Txn::begin(env_, true));
  JournalHead head = CELLS_TRY(read_head(txn));
  int64_t t = now_ns();
  const uint64_t id = for_op != 0 ? for_op : op.id_;
  const std::string key = encode_u64_be(id);
  if (for_op != 0 && !CELLS_TRY(txn.get(dbs_.open_ops, key))) {
    return Error::invalid("operation " + std::to_string(for_op) + " is not open");
  }
  std::vector<uint64_t> seqs;
  for (const EntryDraft& d : drafts) {
    uint64_t seq = CELLS_TRY(detail::append_entry(txn, dbs_.journal, head, op.actor_, id, d, t));
    if (is_outcome(d.phase)) {
      CELLS_TRY(txn.del(dbs_.open_ops, key));
    } else {
      CELLS_TRY(txn.put(dbs_.open_ops, key, encode_u64_be(seq)));
    }
    seqs.push_back(seq);
  }
  if (extra) CELLS_TRY(extra(txn, head.last_seq));
  CELLS_TRY(txn.put(dbs_.meta, kKeyHead, detail::encode_head(head)));
  if (!op.id_consumed_) CELLS_TRY(txn.put(dbs_.meta, kKeyNextOp, encode_u64_be(op.id_ + 1)));
  CELLS_TRY_CTX(txn.commit(), "append to journal");
  op.id_consumed_ = true;
  return seqs;
}

Result<uint64_t> Operation::append(EntryDraft draft) {
  auto seqs = CELLS_TRY(store_->append(*this, {std::move(draft)}, nullptr));
  return seqs.front();
}

Result<uint64_t> Operation::close_abandoned(uint64_t abandoned, EntryDraft outcome) {
  if (!is_outcome(outcome.phase)) return Error::invalid("closing an operation needs an outcome");
  auto seqs = CELLS_TRY(store_->append(*this, {std::move(outcome)}, nullptr, abandoned));
  return seqs.front();
}

Result<std::vector<uint64_t>> Operation::append_batch(const std::vector<EntryDraft>& drafts) {
  if (drafts.empty()) return std::vector<uint64_t>{};
  return store_->append(*this, drafts, nullptr);
}

Result<uint64_t> Operation::commit_generation(const DesiredState& desired,
                                             const std::function<EntryDraft(uint64_t)>& outcome,
                                             const Generation* current) {
  uint64_t previous = CELLS_TRY(store_->current_generation());
  const std::string ctx = "commit generation " + std::to_string(previous + 1);
  // The writer lock this operation holds keeps PREVIOUS current until the commit below.
  std::optional<Generation> read;
  if (current == nullptr && previous != 0) {
    read = CELLS_TRY_CTX(store_->generation(previous), ctx);
    if (!read) return Error(ErrorKind::kCorrupt, ctx + ": current generation " +
                                                     std::to_string(previous) + " is missing");
    current = &*read;
  }
  if ((current ? current->number : 0) != previous) {
    return Error::invalid(ctx + ": the caller's current generation is " +
                          std::to_string(current ? current->number : 0) + ", the store's " +
                          std::to_string(previous));
  }
  static const DesiredState kEmpty;
  GenerationSummary header{previous + 1,
                           now_ns(),
                           id_,
                           static_cast<uint32_t>(desired.cells.size()),
                           static_cast<uint32_t>(desired.volumes.size()),
                           static_cast<uint32_t>(desired.plans.size())};
  std::vector<EntryDraft> drafts = {{"generation.commit", "generation/" + std::to_string(header.number),
                                     Phase::kDone, std::to_string(previous),
                                     std::to_string(header.number)}};
  if (outcome) drafts.push_back(outcome(header.number));
  auto write = [&](Txn& txn, uint64_t) -> Status {
    CELLS_TRY(detail::write_generation(txn, {store_->dbs_.generations, store_->dbs_.items}, header,
                                       desired, current ? current->desired : kEmpty));
    return txn.put(store_->dbs_.meta, kKeyGeneration, encode_u64_be(header.number));
  };
  CELLS_TRY_CTX(store_->append(*this, drafts, write), ctx);
  return header.number;
}

Status Operation::put_runtime(const RuntimeCell& cell) {
  if (cell.name.empty()) return Error::invalid("runtime record: cell name is empty");
  std::string before;
  if (auto old = CELLS_TRY(store_->runtime(cell.name))) before = detail::encode_runtime(*old);
  std::string after = detail::encode_runtime(cell);
  EntryDraft d{"runtime.set", "cell/" + cell.name, Phase::kDone, before, after};
  auto write = [&](Txn& txn, uint64_t) -> Status {
    return txn.put(store_->dbs_.runtime, cell.name, after);
  };
  CELLS_TRY_CTX(store_->append(*this, {d}, write), "record runtime state of " + cell.name);
  return ok_status();
}

Status Store::for_each_entry(uint64_t from_seq,
                             const std::function<Status(const JournalEntry&)>& fn) const {
  Txn txn = CELLS_TRY(Txn::begin(env_, false));
  Cursor cur = CELLS_TRY(Cursor::open(txn, dbs_.journal));
  for (auto item = CELLS_TRY(cur.get(MDB_SET_RANGE, encode_u64_be(from_seq))); item;
       item = CELLS_TRY(cur.get(MDB_NEXT))) {
    auto e = detail::decode_entry(item->second);
    if (!e) {
      return std::move(e).error().wrap("journal entry " +
                                       std::to_string(decode_u64_be(item->first)));
    }
    CELLS_TRY(fn(*e));
  }
  return ok_status();
}

Result<std::vector<JournalEntry>> Store::list_journal(const JournalFilter& filter) const {
  std::vector<JournalEntry> out;
  CELLS_TRY(for_each_entry(1, [&](const JournalEntry& e) -> Status {
    if (matches(e, filter)) out.push_back(e);
    return ok_status();
  }));
  if (filter.limit && out.size() > filter.limit) {
    out.erase(out.begin(), out.end() - static_cast<ptrdiff_t>(filter.limit));
  }
  return out;
}

Result<std::optional<JournalEntry>> Store::journal_entry(uint64_t seq) const {
  Txn txn = CELLS_TRY(Txn::begin(env_, false));
  auto raw = CELLS_TRY(txn.get(dbs_.journal, encode_u64_be(seq)));
  if (!raw) return std::optional<JournalEntry>();
  auto e = detail::decode_entry(*raw);
  if (!e) return std::move(e).error().wrap("journal entry " + std::to_string(seq));
  return std::optional<JournalEntry>(std::move(*e));
}

Result<std::vector<JournalEntry>> Store::operation_entries(uint64_t operation_id) const {
  std::vector<JournalEntry> out;
  CELLS_TRY(for_each_entry(1, [&](const JournalEntry& e) -> Status {
    if (e.operation_id == operation_id) out.push_back(e);
    return ok_status();
  }));
  return out;
}

Result<VerifyReport> Store::verify_journal() const {
  Txn txn = CELLS_TRY(Txn::begin(env_, false));
  auto raw = CELLS_TRY(txn.get(dbs_.meta, kKeyHead));
  std::optional<JournalHead> head;
  if (raw) {
    auto h = detail::decode_head(*raw);
    if (!h) {
      VerifyReport r;
      r.problem = VerifyProblem{0, "journal head record: " + h.error().message()};
      return r;
    }
    head = *h;
  }
  return detail::verify_chain(txn, dbs_.journal, head);
}

Result<std::vector<IncompleteOperation>> Store::incomplete_operations() const {
  Txn txn = CELLS_TRY(Txn::begin(env_, false));
  Cursor cur = CELLS_TRY(Cursor::open(txn, dbs_.open_ops));
  std::vector<IncompleteOperation> out;
  for (auto item = CELLS_TRY(cur.get(MDB_FIRST)); item; item = CELLS_TRY(cur.get(MDB_NEXT))) {
    uint64_t seq = decode_u64_be(item->second);
    auto raw = CELLS_TRY(txn.get(dbs_.journal, encode_u64_be(seq)));
    if (!raw) {
      return Error(ErrorKind::kCorrupt, "open operation op-" +
                                            std::to_string(decode_u64_be(item->first)) +
                                            " points at missing journal entry " +
                                            std::to_string(seq));
    }
    auto e = detail::decode_entry(*raw);
    if (!e) return std::move(e).error().wrap("journal entry " + std::to_string(seq));
    out.push_back({e->operation_id, std::move(*e)});
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.intent.seq < b.intent.seq; });
  return out;
}

Result<uint64_t> Store::current_generation() const {
  Txn txn = CELLS_TRY(Txn::begin(env_, false));
  auto raw = CELLS_TRY(txn.get(dbs_.meta, kKeyGeneration));
  return raw ? decode_u64_be(*raw) : 0;
}

Status Store::still_format1(const Txn& txn) const {
  // A format-2 header decodes as a format-1 generation with no cells: a reader that opened the
  // store before a writer migrated it must not answer from it.
  auto v = CELLS_TRY(txn.get(dbs_.meta, kKeyFormat));
  if (v && v->size() == 4 && decode_u64_be(*v, 4) == 1) return ok_status();
  return Error(ErrorKind::kBusy, dir_ + ": the store was migrated to a newer format since this "
                                        "reader opened it; open it again");
}

Result<std::optional<Generation>> Store::generation(uint64_t number) const {
  Txn txn = CELLS_TRY(Txn::begin(env_, false));
  if (format_ >= 2) return detail::read_generation(txn, {dbs_.generations, dbs_.items}, number);
  CELLS_TRY(still_format1(txn));
  auto raw = CELLS_TRY(txn.get(dbs_.generations, encode_u64_be(number)));
  if (!raw) return std::optional<Generation>();
  auto g = CELLS_TRY(detail::decode_generation(*raw));
  return std::optional<Generation>(std::move(g));
}

Result<std::optional<GenerationSummary>> Store::generation_summary(uint64_t number) const {
  if (format_ >= 2) {
    Txn txn = CELLS_TRY(Txn::begin(env_, false));
    return detail::read_generation_summary(txn, {dbs_.generations, dbs_.items}, number);
  }
  auto g = CELLS_TRY(generation(number));
  if (!g) return std::optional<GenerationSummary>();
  return std::optional<GenerationSummary>(detail::summary_of(*g));
}

Result<std::optional<GenerationCell>> Store::generation_cell(uint64_t number,
                                                             std::string_view name) const {
  Txn txn = CELLS_TRY(Txn::begin(env_, false));
  if (format_ >= 2) {
    return detail::read_generation_cell(txn, {dbs_.generations, dbs_.items}, number, name);
  }
  CELLS_TRY(still_format1(txn));
  auto raw = CELLS_TRY(txn.get(dbs_.generations, encode_u64_be(number)));
  if (!raw) return std::optional<GenerationCell>();
  // RAW points into the map: the lookup copies out what it returns before the txn ends.
  return CELLS_TRY_CTX(detail::find_generation_cell(*raw, name),
                       "generation " + std::to_string(number));
}

Result<std::optional<RuntimeCell>> Store::runtime(const std::string& cell) const {
  Txn txn = CELLS_TRY(Txn::begin(env_, false));
  auto raw = CELLS_TRY(txn.get(dbs_.runtime, cell));
  if (!raw) return std::optional<RuntimeCell>();
  auto r = CELLS_TRY(detail::decode_runtime(*raw));
  return std::optional<RuntimeCell>(std::move(r));
}

Result<std::vector<RuntimeCell>> Store::runtimes() const {
  Txn txn = CELLS_TRY(Txn::begin(env_, false));
  Cursor cur = CELLS_TRY(Cursor::open(txn, dbs_.runtime));
  std::vector<RuntimeCell> out;
  for (auto item = CELLS_TRY(cur.get(MDB_FIRST)); item; item = CELLS_TRY(cur.get(MDB_NEXT))) {
    out.push_back(CELLS_TRY(detail::decode_runtime(item->second)));
  }
  return out;
}

}  // namespace cells::store
