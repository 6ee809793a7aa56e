#include "backup/zstd_reader.h"

#include <unistd.h>
#include <zstd.h>

#include "base/syscall.h"

namespace cells::backup {

Result<std::unique_ptr<ZstdReader>> ZstdReader::start(int fd, std::string name) {
  auto r =
      std::unique_ptr<ZstdReader>(new ZstdReader(fd, std::move(name), CELLS_TRY(Sha256::create())));
  r->thread_ = std::thread([p = r.get()] { p->run(); });
  return r;
}

ZstdReader::~ZstdReader() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::optional<std::vector<char>> ZstdReader::take_free() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return stop_ || ready_.size() < kQueued; });
  if (stop_) return std::nullopt;
  if (free_.empty()) return std::vector<char>(kChunk);
  std::vector<char> b = std::move(free_.back());
  free_.pop_back();
  return b;
}

void ZstdReader::push(std::vector<char> chunk, size_t len) {
  {
    std::lock_guard lock(mu_);
    ready_.emplace_back(std::move(chunk), len);
  }
  cv_.notify_all();
}

void ZstdReader::finish(std::optional<Error> error) {
  {
    std::lock_guard lock(mu_);
    done_ = true;
    error_ = std::move(error);
    if (!error_) hex_from_thread_ = sha_.finish_hex();
  }
  cv_.notify_all();
}

void ZstdReader::run() {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  if (!dctx) return finish(Error(ErrorKind::kSystem, name_ + ": zstd: out of memory"));
  std::vector<char> in(kChunk);
  size_t frame_left = 0;  // ZSTD_decompressStream's hint: 0 exactly at a frame boundary
  bool any = false;
  std::optional<std::vector<char>> out;
  size_t out_len = 0;
  for (;;) {
    ssize_t n = detail::retry_eintr([&] { return ::read(fd_, in.data(), in.size()); });
    if (n < 0) return finish(Error::sys(errno, "read " + name_));
    if (n == 0) break;
    any = true;
    sha_.update(in.data(), static_cast<size_t>(n));
    compressed_.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
    ZSTD_inBuffer ib{in.data(), static_cast<size_t>(n), 0};
    // Keep calling while input remains or the output filled up (the decoder may hold more).
    for (bool full = true; ib.pos < ib.size || full;) {
      if (!out) {
        out = take_free();
        if (!out) return;  // the consumer is gone
        out_len = 0;
      }
      ZSTD_outBuffer ob{out->data(), out->size(), out_len};
      frame_left = ZSTD_decompressStream(dctx.get(), &ob, &ib);
      if (ZSTD_isError(frame_left)) {
        return finish(Error(ErrorKind::kCorrupt, name_ + " is not a valid zstd stream (" +
                                                     ZSTD_getErrorName(frame_left) + ")"));
      }
      out_len = ob.pos;
      full = ob.pos == ob.size;
      if (full) {
        push(std::move(*out), out_len);
        out.reset();
      }
    }
  }
  if (out && out_len > 0) push(std::move(*out), out_len);
  if (!any) return finish(Error(ErrorKind::kCorrupt, name_ + " is empty"));
  if (frame_left != 0) {
    return finish(
        Error(ErrorKind::kCorrupt, name_ + " is truncated (the last zstd frame is incomplete)"));
  }
  finish(std::nullopt);
}

Result<std::string_view> ZstdReader::next() {
  std::unique_lock lock(mu_);
  if (!current_.empty()) free_.push_back(std::move(current_));
  current_.clear();
  cv_.notify_all();
  cv_.wait(lock, [&] { return !ready_.empty() || done_; });
  if (!ready_.empty()) {
    auto [chunk, len] = std::move(ready_.front());
    ready_.pop_front();
    current_ = std::move(chunk);
    return std::string_view(current_.data(), len);
  }
  if (error_) return *error_;
  sha_hex_ = hex_from_thread_;
  return std::string_view();
}

}  // namespace cells::backup
