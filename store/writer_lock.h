// The store's writer lock: one mutating operation at a time (DESIGN section 5).
//
// An flock(2) on <state>/writer.lock, plus an owner record written into that file by the holder
// so that a refused writer can name the running operation. flock is released by the kernel when
// the holder dies, so a lock "held" by a dead pid never blocks anyone; the stale owner record is
// simply overwritten by the next holder. Readers never take this lock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace cells::store {

struct LockOwner {
  uint64_t operation_id = 0;
  int32_t pid = 0;
  std::string kind;
  std::string target;
  std::string command_line;

  std::string describe() const;  // "op-12 (cell.create cell/web) by pid 4242: cellmgr ..."
};

enum class Wait { kNo, kYes };

class WriterLock {
 public:
  WriterLock() = default;

  // Takes the lock in DIR and records OWNER. With Wait::kNo, a held lock is kBusy
  // "another operation is running: <owner>" (or "... by an unknown holder" when the record is
  // unreadable). With Wait::kYes it blocks until the holder finishes. Other errors: kSystem.
  static Result<WriterLock> acquire(const std::string& dir, const LockOwner& owner, Wait wait);

  // The owner record of DIR's lock file, or nullopt when there is none (or it is garbled).
  static std::optional<LockOwner> read_owner(const std::string& dir);

  bool held() const { return fd_.valid(); }

 private:
  Fd fd_;  // closing it releases the flock: the lock's only cleanup
};

}  // namespace cells::store
