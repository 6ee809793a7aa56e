#include "backup/writeback.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup/staging_writer.h"
#include "base/syscall.h"

namespace cells::backup {

Result<std::unique_ptr<EarlyWriteback>> EarlyWriteback::start(const std::string& dir) {
  Fd fd = CELLS_SYSCALL_FD(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC),
                           "open " + dir);
  auto w = std::unique_ptr<EarlyWriteback>(new EarlyWriteback(std::move(fd)));
  w->thread_ = std::thread([p = w.get()] { p->run(); });
  return w;
}

EarlyWriteback::~EarlyWriteback() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EarlyWriteback::add(std::string name) {
  // No notify: the thread collects the queue every kBatch, so the extraction never pays a
  // futex wake per file (strace: two per file, most of the extraction's syscall time, when
  // it did).
  std::lock_guard lock(mu_);
  queue_.push_back(std::move(name));
}

uint64_t EarlyWriteback::started() const {
  std::lock_guard lock(mu_);
  return started_;
}

void EarlyWriteback::run() {
  for (;;) {
    std::deque<std::string> batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, kBatch, [&] { return stop_; });
      // Stopping drops the rest: the caller's syncfs writes it anyway, and waiting here would
      // only delay an error path.
      if (stop_) return;
      batch.swap(queue_);
    }
    for (const auto& name : batch) {
      kick(name);
      std::lock_guard lock(mu_);
      if (stop_) return;
    }
  }
}

void EarlyWriteback::kick(const std::string& name) {
  // O_NONBLOCK: a fifo planted under the name must not block the thread on open.
  auto fd = open_beneath(dir_.get(), name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
  if (!fd) return;  // a hint only: syncfs covers the file
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  // WRITE without WAIT_*: submit the dirty pages and return; syncfs waits for them later.
  if (::sync_file_range(fd->get(), 0, 0, SYNC_FILE_RANGE_WRITE) != 0) return;
  std::lock_guard lock(mu_);
  ++started_;
}

}  // namespace cells::backup
