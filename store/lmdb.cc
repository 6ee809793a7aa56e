#include "store/lmdb.h"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cells::store {

Error from_lmdb(int rc, std::string_view op) {
  std::string msg = std::string(op) + ": " + mdb_strerror(rc);
  if (rc > 0) return Error::sys(rc, op);
  switch (rc) {
    case MDB_NOTFOUND:
      return {ErrorKind::kNotFound, std::move(msg)};
    case MDB_KEYEXIST:
      return {ErrorKind::kExists, std::move(msg)};
    case MDB_INVALID:
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_VERSION_MISMATCH:
      return {ErrorKind::kCorrupt, std::move(msg)};
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_BAD_TXN:
      return {ErrorKind::kBusy, std::move(msg)};
    default:
      return {ErrorKind::kSystem, std::move(msg)};
  }
}

Result<Env> Env::open(const std::string& dir, const Options& opts) {
  Env env;
  int rc = mdb_env_create(&env.env_);
  if (rc != 0) return from_lmdb(rc, "mdb_env_create");
  if (!opts.read_only) {
    // A read-only env takes the map size from the file; setting it would be ignored anyway.
    if ((rc = mdb_env_set_mapsize(env.env_, opts.map_size)) != 0) {
      return from_lmdb(rc, "mdb_env_set_mapsize");
    }
  }
  if ((rc = mdb_env_set_maxdbs(env.env_, opts.max_dbs)) != 0) {
    return from_lmdb(rc, "mdb_env_set_maxdbs");
  }
  unsigned flags = MDB_NOTLS;
  if (opts.read_only) flags |= MDB_RDONLY;
  if (opts.no_lock) flags |= MDB_NOLOCK;
  if ((rc = mdb_env_open(env.env_, dir.c_str(), flags, 0600)) != 0) {
    return from_lmdb(rc, "open LMDB environment " + dir);
  }
  return env;
}

Result<Txn> Txn::begin(const Env& env, bool write) {
  Txn txn;
  int rc = mdb_txn_begin(env.get(), nullptr, write ? 0 : MDB_RDONLY, &txn.txn_);
  if (rc != 0) return from_lmdb(rc, write ? "begin write transaction" : "begin read transaction");
  txn.write_ = write;
  return txn;
}

Status Txn::usable() const {
  if (poison_) {
    return Error(ErrorKind::kInvalid,
                 "transaction poisoned by an earlier failure: " + poison_->message());
  }
  if (!txn_) return Error(ErrorKind::kInvalid, "transaction already finished");
  return ok_status();
}

Error Txn::poison(Error e) {
  if (!poison_) poison_ = e;
  return e;
}

Result<MDB_dbi> Txn::open_db(const char* name) {
  CELLS_TRY(usable());
  MDB_dbi dbi;
  int rc = mdb_dbi_open(txn_, name, write_ ? MDB_CREATE : 0, &dbi);
  if (rc != 0) {
    Error e = from_lmdb(rc, std::string("open database ") + name);
    return write_ ? poison(std::move(e)) : e;
  }
  return dbi;
}

Result<std::optional<std::string_view>> Txn::get(MDB_dbi dbi, std::string_view key) const {
  CELLS_TRY(usable());
  MDB_val k = to_val(key), v;
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return from_lmdb(rc, "mdb_get");
  return std::optional<std::string_view>(from_val(v));
}

Status Txn::put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags) {
  CELLS_TRY(usable());
  MDB_val k = to_val(key), v = to_val(value);
  int rc = mdb_put(txn_, dbi, &k, &v, flags);
  // MDB_NOOVERWRITE's KEYEXIST leaves the txn usable in LMDB too: it is an answer, not a fault.
  if (rc == MDB_KEYEXIST) return from_lmdb(rc, "mdb_put");
  if (rc != 0) return poison(from_lmdb(rc, "mdb_put"));
  return ok_status();
}

Result<bool> Txn::del(MDB_dbi dbi, std::string_view key) {
  CELLS_TRY(usable());
  MDB_val k = to_val(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != 0) return poison(from_lmdb(rc, "mdb_del"));
  return true;
}

namespace {

// LMDB reports a short write (the disk filled part way through writing a page run) as EIO, so
// a full disk would read as a hardware error. When the store's filesystem has (next to) no room
// left, the cause is that: ENOSPC. Root may use ext4's reserved blocks, so root counts those.
int disk_full_as_enospc(int rc, const char* dir) {
  if (rc != EIO || dir == nullptr) return rc;
  struct statvfs sv {};
  if (::statvfs(dir, &sv) != 0) return rc;
  const uint64_t blocks = ::geteuid() == 0 ? sv.f_bfree : sv.f_bavail;
  constexpr uint64_t kNearlyFull = 1 << 20;
  return uint64_t(blocks) * sv.f_frsize < kNearlyFull ? ENOSPC : rc;
}

}  // namespace

Status Txn::commit() {
  CELLS_TRY(usable());
  // The store's directory goes into the error: commit is where a full or read-only disk
  // under the store shows (ENOSPC, EROFS), and the operator must learn which disk.
  const char* dir = nullptr;
  std::string what = "commit";
  if (mdb_env_get_path(mdb_txn_env(txn_), &dir) == 0 && dir != nullptr) {
    what += std::string(" to ") + dir;
  }
  // mdb_txn_commit frees the txn whatever it returns.
  int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
  if (rc != 0) return poison(from_lmdb(disk_full_as_enospc(rc, dir), what));
  return ok_status();
}

Result<Cursor> Cursor::open(const Txn& txn, MDB_dbi dbi) {
  if (!txn.active() || txn.poisoned()) {
    return Error(ErrorKind::kInvalid, "open cursor: transaction is not usable");
  }
  Cursor c;
  int rc = mdb_cursor_open(txn.get(), dbi, &c.cur_);
  if (rc != 0) return from_lmdb(rc, "mdb_cursor_open");
  return c;
}

Result<std::optional<Cursor::Item>> Cursor::get(MDB_cursor_op op, std::string_view key) {
  MDB_val k = to_val(key), v{0, nullptr};
  int rc = mdb_cursor_get(cur_, &k, &v, op);
  if (rc == MDB_NOTFOUND) return std::optional<Item>();
  if (rc != 0) return from_lmdb(rc, "mdb_cursor_get");
  return std::optional<Item>(Item{from_val(k), from_val(v)});
}

}  // namespace cells::store
