// ZstdReader: decompresses an archive file on its own thread, so that restore overlaps
// decompression with writing files the way `zstd -d | tar -x` overlaps two processes. The
// thread also hashes every compressed byte up to the end of the file (the journal's checksum)
// and checks that the last zstd frame is complete (a truncated archive is an error, not a
// shorter tree).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "backup/sha256.h"
#include "base/result.h"

namespace cells::backup {

class ZstdReader {
 public:
  // Starts reading FD (owned by the caller, kept open until this object is gone). NAME is used
  // in errors.
  static Result<std::unique_ptr<ZstdReader>> start(int fd, std::string name);
  ~ZstdReader();
  ZstdReader(const ZstdReader&) = delete;
  ZstdReader& operator=(const ZstdReader&) = delete;

  // The next chunk of decompressed bytes, valid until the next call; empty at the end of the
  // file. Errors: kCorrupt (not zstd, damaged, truncated), kSystem (read failed).
  Result<std::string_view> next();

  // Compressed bytes read so far (any thread may ask; for progress).
  uint64_t compressed_bytes() const { return compressed_.load(std::memory_order_relaxed); }
  // Hex SHA-256 of the whole file; only after next() returned the end.
  const std::string& sha256() const { return sha_hex_; }

 private:
  static constexpr size_t kChunk = 1 << 20;
  static constexpr size_t kQueued = 8;  // chunks in flight: bounds memory at 8 MiB

  ZstdReader(int fd, std::string name, Sha256 sha)
      : fd_(fd), name_(std::move(name)), sha_(std::move(sha)) {}
  void run();
  // Thread side: a free buffer (blocks while the queue is full); nullopt when stopping.
  std::optional<std::vector<char>> take_free();
  void push(std::vector<char> chunk, size_t len);
  void finish(std::optional<Error> error);

  int fd_;
  std::string name_;
  Sha256 sha_;
  std::string sha_hex_;
  std::atomic<uint64_t> compressed_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::vector<char>, size_t>> ready_;  // guarded by mu_
  std::vector<std::vector<char>> free_;                     // guarded by mu_
  bool done_ = false;                                       // guarded by mu_
  bool stop_ = false;                                       // guarded by mu_
  std::optional<Error> error_;                              // guarded by mu_
  std::string hex_from_thread_;                             // guarded by mu_

  std::vector<char> current_;  // consumer side: the chunk handed out last
  std::thread thread_;
};

}  // namespace cells::backup
