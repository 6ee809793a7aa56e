// Thin RAII layer over LMDB: one owning type per LMDB handle (Env, Txn, Cursor) and the single
// adapter from LMDB return codes to cells::Error (from_lmdb). Nothing above this file calls
// mdb_* directly except through these types.
//
// Threading: an Env may be shared by threads; a Txn and its Cursors belong to one thread. The
// env is opened with MDB_NOTLS so that one thread may hold several read txns.
#pragma once

#include <lmdb.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "base/result.h"

namespace cells::store {

// The one adapter for LMDB's return codes. MDB_NOTFOUND -> kNotFound, MDB_KEYEXIST -> kExists,
// MDB_INVALID / MDB_CORRUPTED / MDB_VERSION_MISMATCH / MDB_PAGE_NOTFOUND -> kCorrupt,
// MDB_MAP_FULL etc. -> kSystem; positive codes are errno values. OP names what was attempted.
Error from_lmdb(int rc, std::string_view op);

inline MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view from_val(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

class Env {
 public:
  struct Options {
    bool read_only = false;
    bool no_lock = false;          // only for the lock-free probe of a file's header
    unsigned max_dbs = 8;
    size_t map_size = size_t{1} << 36;  // 64 GiB of address space; the file grows as used
  };

  Env() = default;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  Env(Env&& o) noexcept : env_(std::exchange(o.env_, nullptr)) {}
  Env& operator=(Env&& o) noexcept {
    if (this != &o) {
      reset();
      env_ = std::exchange(o.env_, nullptr);
    }
    return *this;
  }
  ~Env() { reset(); }

  // Opens the environment in directory DIR (which must exist). Errors: from_lmdb of
  // mdb_env_create / set_mapsize / set_maxdbs / open (kCorrupt for a file that is not LMDB).
  static Result<Env> open(const std::string& dir, const Options& opts);

  MDB_env* get() const { return env_; }

 private:
  void reset() {
    if (env_) mdb_env_close(env_);
    env_ = nullptr;
  }
  MDB_env* env_ = nullptr;
};

// A transaction that aborts unless commit() succeeded. After any failed write (put, del, or a
// failed commit) it is poisoned, like LMDB's MDB_TXN_ERROR: every further call returns kInvalid
// "transaction poisoned by an earlier failure: <first error>" and only destruction (abort) is
// possible. Values returned by get() point into the map and are valid until the next write in
// this txn, or its end.
class Txn {
 public:
  Txn() = default;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  Txn(Txn&& o) noexcept
      : txn_(std::exchange(o.txn_, nullptr)), write_(o.write_), poison_(std::move(o.poison_)) {}
  Txn& operator=(Txn&& o) noexcept {
    if (this != &o) {
      abort();
      txn_ = std::exchange(o.txn_, nullptr);
      write_ = o.write_;
      poison_ = std::move(o.poison_);
    }
    return *this;
  }
  ~Txn() { abort(); }

  static Result<Txn> begin(const Env& env, bool write);

  // Opens (and, in a write txn, creates) the named database. Errors: kNotFound when it does not
  // exist in a read txn.
  Result<MDB_dbi> open_db(const char* name);

  // nullopt when KEY is absent (absence is not an error).
  Result<std::optional<std::string_view>> get(MDB_dbi dbi, std::string_view key) const;
  Status put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags = 0);
  // Returns false when KEY was absent.
  Result<bool> del(MDB_dbi dbi, std::string_view key);

  // Makes the writes durable (LMDB fsyncs the data file before returning). The txn is finished
  // either way; a failure poisons it.
  Status commit();
  void abort() {
    if (txn_) mdb_txn_abort(txn_);
    txn_ = nullptr;
  }

  bool poisoned() const { return poison_.has_value(); }
  bool active() const { return txn_ != nullptr; }
  MDB_txn* get() const { return txn_; }

 private:
  Status usable() const;
  Error poison(Error e);

  MDB_txn* txn_ = nullptr;
  bool write_ = false;
  std::optional<Error> poison_;
};

// A cursor over one database of a Txn; must not outlive it.
class Cursor {
 public:
  using Item = std::pair<std::string_view, std::string_view>;

  Cursor() = default;
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  Cursor(Cursor&& o) noexcept : cur_(std::exchange(o.cur_, nullptr)) {}
  Cursor& operator=(Cursor&& o) noexcept {
    if (this != &o) {
      if (cur_) mdb_cursor_close(cur_);
      cur_ = std::exchange(o.cur_, nullptr);
    }
    return *this;
  }
  ~Cursor() {
    if (cur_) mdb_cursor_close(cur_);
  }

  static Result<Cursor> open(const Txn& txn, MDB_dbi dbi);

  // Positions with OP (MDB_FIRST, MDB_NEXT, MDB_LAST, MDB_SET_RANGE with KEY, ...). nullopt at
  // the end. Views are valid as for Txn::get.
  Result<std::optional<Item>> get(MDB_cursor_op op, std::string_view key = {});

 private:
  MDB_cursor* cur_ = nullptr;
};

}  // namespace cells::store
