// EarlyWriteback: starts the kernel's writeback of each file as soon as extraction finished
// it, on a thread of its own. A restore must make the new tree durable before it swaps it in;
// left alone, the page cache keeps every byte dirty until that final syncfs, which then writes
// the whole tree while nothing else happens. Started early, the disk writes while the next
// members are still being decompressed and created, and the syncfs only waits for the tail.
//
// This is a hint, never the guarantee: a file it could not open or start is simply left to the
// syncfs, which still decides durability. Names are resolved beneath the directory given to
// start() and never through a symlink or onto another mount, so a member the extraction made
// cannot redirect it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/fd.h"
#include "base/result.h"

namespace cells::backup {

class EarlyWriteback {
 public:
  // DIR: the directory that names given to add() are relative to (the staging directory).
  static Result<std::unique_ptr<EarlyWriteback>> start(const std::string& dir);
  // Stops the thread; files still queued are left to the caller's syncfs.
  ~EarlyWriteback();
  EarlyWriteback(const EarlyWriteback&) = delete;
  EarlyWriteback& operator=(const EarlyWriteback&) = delete;

  // Queues the regular file NAME (relative to the directory), whose data is complete.
  void add(std::string name);
  // Files whose writeback was started so far (for tests and the bench's breakdown).
  uint64_t started() const;

 private:
  // How often the thread collects the names added meanwhile.
  static constexpr std::chrono::milliseconds kBatch{10};

  explicit EarlyWriteback(Fd dir) : dir_(std::move(dir)) {}
  void run();
  void kick(const std::string& name);

  Fd dir_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;  // guarded by mu_
  bool stop_ = false;              // guarded by mu_
  uint64_t started_ = 0;           // guarded by mu_
  std::thread thread_;
};

}  // namespace cells::backup
