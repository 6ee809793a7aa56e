#include "backup/archive_io.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <array>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "backup/sha256.h"
#include "backup/staging_writer.h"
#include "backup/writeback.h"
#include "backup/zstd_reader.h"
#include "base/syscall.h"

namespace cells::backup {
namespace {

// libarchive's private codes for "the data is bad" (archive_private.h: EILSEQ and -1).
constexpr int kArchiveErrnoFileFormat = EILSEQ;
constexpr int kArchiveErrnoMisc = -1;

// The one adapter for libarchive's error state.
Error from_archive(struct archive* a, const std::string& what) {
  int err = archive_errno(a);
  const char* msg = archive_error_string(a);
  std::string text = what + ": " + (msg != nullptr ? msg : "libarchive error");
  // Stream damage comes with these pseudo-errnos, not a system call's errno.
  if (err == kArchiveErrnoFileFormat || err == kArchiveErrnoMisc || err == 0) {
    return Error(ErrorKind::kCorrupt, text);
  }
  // libarchive often says only "Can't create 'x'": the errno is what tells a full or
  // read-only disk (ENOSPC, EROFS) from a refused entry.
  const std::string why = std::strerror(err);
  if (text.find(why) == std::string::npos) text += ": " + why;
  return Error(ErrorKind::kSystem, text, err);
}

struct ArchiveFree {
  void operator()(struct archive* a) const { archive_free(a); }
};
using ArchivePtr = std::unique_ptr<struct archive, ArchiveFree>;
struct EntryFree {
  void operator()(struct archive_entry* e) const { archive_entry_free(e); }
};
using EntryPtr = std::unique_ptr<struct archive_entry, EntryFree>;
struct LinkResolverFree {
  void operator()(struct archive_entry_linkresolver* r) const {
    archive_entry_linkresolver_free(r);
  }
};

Status write_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = CELLS_SYSCALL(::write(fd, p, n), "write archive");
    p += w;
    n -= static_cast<size_t>(w);
  }
  return ok_status();
}

// zstd compression into an fd, hashing what lands in the file. Written through libzstd rather
// than libarchive's zstd filter to set nbWorkers and the frame checksum, and to hash the
// output as it is written (create needs no second pass over the archive).
class ZstdSink {
 public:
  // PASSTHROUGH: the bytes are compressed already (libarchive's filter); only write and hash.
  static Result<std::unique_ptr<ZstdSink>> open(int fd, int level, int threads, bool passthrough) {
    auto s = std::unique_ptr<ZstdSink>(new ZstdSink(fd, CELLS_TRY(Sha256::create())));
    if (passthrough) return s;
    s->cctx_ = ZSTD_createCCtx();
    if (s->cctx_ == nullptr) return Error(ErrorKind::kSystem, "zstd: out of memory");
    size_t rc = ZSTD_CCtx_setParameter(s->cctx_, ZSTD_c_compressionLevel, level);
    if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(s->cctx_, ZSTD_c_checksumFlag, 1);
    // nbWorkers fails on a libzstd built without threads; single-threaded is still correct.
    if (!ZSTD_isError(rc)) (void)ZSTD_CCtx_setParameter(s->cctx_, ZSTD_c_nbWorkers, threads);
    if (ZSTD_isError(rc))
      return Error(ErrorKind::kSystem, std::string("zstd: ") + ZSTD_getErrorName(rc));
    return s;
  }
  ~ZstdSink() { ZSTD_freeCCtx(cctx_); }

  // libarchive hands over 10 KiB records; with worker threads every compressStream2 call
  // synchronises with them, so records are gathered into 1 MiB before each call.
  Status write(const void* data, size_t n) {
    if (cctx_ == nullptr) return pump(data, n, ZSTD_e_continue);
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      size_t take = std::min(n, in_.size() - in_len_);
      std::memcpy(in_.data() + in_len_, p, take);
      in_len_ += take;
      p += take;
      n -= take;
      if (in_len_ == in_.size()) {
        CELLS_TRY(pump(in_.data(), in_len_, ZSTD_e_continue));
        in_len_ = 0;
      }
    }
    return ok_status();
  }
  Status finish() {
    Status st = pump(in_.data(), in_len_, ZSTD_e_end);
    in_len_ = 0;
    return st;
  }
  uint64_t written() const { return written_; }
  std::string sha256() { return sha_.finish_hex(); }

 private:
  ZstdSink(int fd, Sha256 sha) : fd_(fd), sha_(std::move(sha)), in_(1 << 20), out_(1 << 20) {}

  Status pump(const void* data, size_t n, ZSTD_EndDirective mode) {
    if (cctx_ == nullptr) {
      CELLS_TRY(write_all(fd_, static_cast<const char*>(data), n));
      sha_.update(data, n);
      written_ += n;
      return ok_status();
    }
    ZSTD_inBuffer in{data, n, 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      size_t left = ZSTD_compressStream2(cctx_, &out, &in, mode);
      if (ZSTD_isError(left)) {
        return Error(ErrorKind::kSystem, std::string("zstd compress: ") + ZSTD_getErrorName(left));
      }
      if (out.pos > 0) {
        CELLS_TRY(write_all(fd_, out_.data(), out.pos));
        sha_.update(out_.data(), out.pos);
        written_ += out.pos;
      }
      bool done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
      if (done) return ok_status();
    }
  }

  int fd_;
  Sha256 sha_;
  ZSTD_CCtx* cctx_ = nullptr;
  std::vector<char> in_;  // gathered tar records, IN_LEN_ bytes used
  size_t in_len_ = 0;
  std::vector<char> out_;
  uint64_t written_ = 0;
};

struct WriteClient {
  ZstdSink* sink;
  std::optional<Error> error;  // the sink's error, which libarchive only sees as -1
};

la_ssize_t write_cb(struct archive* a, void* client, const void* buf, size_t n) {
  auto* c = static_cast<WriteClient*>(client);
  if (auto st = c->sink->write(buf, n); !st) {
    c->error = st.error();
    archive_set_error(a, st.error().sys_errno() ? st.error().sys_errno() : EIO, "%s",
                      st.error().message().c_str());
    return -1;
  }
  return static_cast<la_ssize_t>(n);
}

// Prefers the sink's own error (it has the errno and the file) over libarchive's echo of it.
Error write_error(struct archive* w, const WriteClient& client, const std::string& what) {
  if (client.error) return Error(*client.error).wrap(what);
  return from_archive(w, what);
}

}  // namespace

Result<WriteStats> write_tree(const std::string& source_dir, int out_fd,
                              const WriteOptions& options) {
  struct stat st {};
  if (::lstat(source_dir.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return Error(ErrorKind::kNotFound, "no source directory " + source_dir, ENOENT);
    return Error::sys(errno, "stat " + source_dir);
  }
  if (!S_ISDIR(st.st_mode)) return Error::invalid("source " + source_dir + " is not a directory");

  int threads = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto sink = CELLS_TRY(ZstdSink::open(out_fd, options.level, threads, options.libarchive_zstd));
  WriteClient client{sink.get(), std::nullopt};

  // Steps: open the writer (pax, our compressor behind it) -> open the tree walk (physical:
  // symlinks are members, not followed; one filesystem) -> per entry: rename to a relative
  // member name, pair hard links, write header and data -> close the writer (tar trailer) ->
  // finish the zstd frame.
  ArchivePtr w(archive_write_new());
  // Full pax (not pax_restricted), so every member carries nanosecond times, and xattrs only
  // as SCHILY.xattr.*, the spelling GNU tar reads without warnings.
  if (archive_write_set_format_pax(w.get()) != ARCHIVE_OK ||
      archive_write_set_format_option(w.get(), "pax", "xattrheader", "SCHILY") != ARCHIVE_OK) {
    return write_error(w.get(), client, "open archive writer");
  }
  if (options.libarchive_zstd &&
      (archive_write_add_filter_zstd(w.get()) != ARCHIVE_OK ||
       archive_write_set_filter_option(w.get(), "zstd", "compression-level",
                                       std::to_string(options.level).c_str()) != ARCHIVE_OK ||
       archive_write_set_filter_option(w.get(), "zstd", "threads",
                                       std::to_string(threads).c_str()) < ARCHIVE_WARN)) {
    return write_error(w.get(), client, "set up libarchive's zstd filter");
  }
  if (archive_write_open(w.get(), &client, nullptr, write_cb, nullptr) != ARCHIVE_OK) {
    return write_error(w.get(), client, "open archive writer");
  }
  ArchivePtr disk(archive_read_disk_new());
  archive_read_disk_set_symlink_physical(disk.get());
  archive_read_disk_set_behavior(disk.get(), ARCHIVE_READDISK_NO_TRAVERSE_MOUNTS);
  if (archive_read_disk_open(disk.get(), source_dir.c_str()) != ARCHIVE_OK) {
    return from_archive(disk.get(), "read " + source_dir);
  }
  std::unique_ptr<struct archive_entry_linkresolver, LinkResolverFree> links(
      archive_entry_linkresolver_new());
  archive_entry_linkresolver_set_strategy(links.get(), ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE);

  WriteStats stats;
  ProgressMeter meter(options.progress, options.progress_total);
  std::vector<char> zeros(64 * 1024, 0);
  EntryPtr entry(archive_entry_new());
  for (;;) {
    archive_entry_clear(entry.get());
    int r = archive_read_next_header2(disk.get(), entry.get());
    if (r == ARCHIVE_EOF) break;
    std::string src =
        archive_entry_sourcepath(entry.get()) ? archive_entry_sourcepath(entry.get()) : "";
    if (r < ARCHIVE_WARN) return from_archive(disk.get(), "read " + src);
    archive_read_disk_descend(disk.get());
    if (archive_entry_filetype(entry.get()) == AE_IFSOCK) continue;  // tar cannot hold one

    std::string name = src == source_dir ? "." : src.substr(source_dir.size() + 1);
    archive_entry_set_pathname(entry.get(), name.c_str());
    // Owners are kept as numbers only: cells map ids per cell, so names mean nothing here.
    archive_entry_set_uname(entry.get(), nullptr);
    archive_entry_set_gname(entry.get(), nullptr);

    struct archive_entry* out = entry.get();
    struct archive_entry* spare = nullptr;
    archive_entry_linkify(links.get(), &out, &spare);
    if (archive_write_header(w.get(), out) < ARCHIVE_WARN) {
      return write_error(w.get(), client, "archive " + name);
    }
    ++stats.entries;
    bool has_data = archive_entry_filetype(out) == AE_IFREG &&
                    archive_entry_hardlink(out) == nullptr && archive_entry_size(out) > 0;
    if (has_data) {
      const void* buf = nullptr;
      size_t len = 0;
      la_int64_t offset = 0, progress = 0;
      for (;;) {
        r = archive_read_data_block(disk.get(), &buf, &len, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) return from_archive(disk.get(), "read " + src);
        // A gap before OFFSET is a hole: the pax writer skips zeros that fall into the
        // entry's sparse map, so feeding them keeps the hole without storing it.
        while (offset > progress) {
          size_t n = static_cast<size_t>(std::min<la_int64_t>(offset - progress, zeros.size()));
          if (archive_write_data(w.get(), zeros.data(), n) < 0) {
            return write_error(w.get(), client, "archive " + name);
          }
          progress += static_cast<la_int64_t>(n);
        }
        if (len > 0 && archive_write_data(w.get(), buf, len) < 0) {
          return write_error(w.get(), client, "archive " + name);
        }
        progress += static_cast<la_int64_t>(len);
        stats.data_bytes += len;
        meter.add(len);
      }
    }
    if (archive_write_finish_entry(w.get()) < ARCHIVE_WARN) {
      return write_error(w.get(), client, "archive " + name);
    }
  }
  if (options.on_source_read) options.on_source_read();
  if (archive_write_close(w.get()) != ARCHIVE_OK)
    return write_error(w.get(), client, "close archive");
  CELLS_TRY(sink->finish());
  meter.finish();
  stats.compressed_bytes = sink->written();
  stats.sha256 = sink->sha256();
  return stats;
}

namespace {

// Feeds libarchive the decompressed tar stream from the reader thread.
struct TarSource {
  ZstdReader* reader = nullptr;
  ProgressMeter* meter = nullptr;
  uint64_t reported = 0;  // compressed bytes already given to the meter
  std::optional<Error> error;
};

la_ssize_t read_cb(struct archive* a, void* client, const void** out) {
  auto* s = static_cast<TarSource*>(client);
  auto chunk = s->reader->next();
  uint64_t now = s->reader->compressed_bytes();
  s->meter->add(now - s->reported);
  s->reported = now;
  if (!chunk) {
    s->error = chunk.error();
    archive_set_error(a, EIO, "%s", chunk.error().message().c_str());
    return -1;
  }
  *out = chunk->data();
  return static_cast<la_ssize_t>(chunk->size());
}

EntryType entry_type(struct archive_entry* e) {
  if (archive_entry_hardlink(e) != nullptr) return EntryType::kHardlink;
  switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
      return EntryType::kDir;
    case AE_IFLNK:
      return EntryType::kSymlink;
    case AE_IFCHR:
      return EntryType::kCharDev;
    case AE_IFBLK:
      return EntryType::kBlockDev;
    case AE_IFIFO:
      return EntryType::kFifo;
    case AE_IFSOCK:
      return EntryType::kSocket;
    default:
      return EntryType::kFile;
  }
}

// Restores the working directory on every exit path.
class CwdGuard {
 public:
  static Result<CwdGuard> enter(const std::string& dir) {
    Fd old = CELLS_SYSCALL_FD(::open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open cwd");
    CELLS_SYSCALL(::chdir(dir.c_str()), "chdir " + dir);
    return CwdGuard(std::move(old));
  }
  CwdGuard(CwdGuard&&) = default;
  ~CwdGuard() {
    if (old_.valid() && ::fchdir(old_.get()) != 0) {
      // Nothing sensible is left to do; the next relative path would be wrong, so say so.
      perror("cells backup: fchdir back to the old working directory");
    }
  }

 private:
  explicit CwdGuard(Fd old) : old_(std::move(old)) {}
  Fd old_;
};

// Reads the archive at PATH; with STAGING set, extracts into it, else only reads (verify).
Result<ReadStats> read_archive(const std::string& path, const std::string* staging,
                               const ReadOptions& options) {
  int raw = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (raw < 0) {
    if (errno == ENOENT) return Error(ErrorKind::kNotFound, "no archive " + path, ENOENT);
    return Error::sys(errno, "open " + path);
  }
  Fd fd(raw);
  ProgressMeter meter(options.progress, options.progress_total);
  auto reader = CELLS_TRY(ZstdReader::start(fd.get(), path));
  TarSource src{reader.get(), &meter};

  // Members are written by StagingWriter (fds beneath the staging directory); the rare member
  // with ACLs goes to libarchive's disk writer, made (and the working directory changed for
  // it) only when the first such member arrives.
  std::optional<StagingWriter> writer;
  std::optional<CwdGuard> cwd;
  ArchivePtr disk;
  std::unique_ptr<EarlyWriteback> writeback;
  if (staging != nullptr) {
    if (options.early_writeback) writeback = CELLS_TRY(EarlyWriteback::start(*staging));
    writer.emplace(CELLS_TRY(StagingWriter::open(*staging)));
  }
  auto libarchive_disk = [&]() -> Result<struct archive*> {
    if (disk) return disk.get();
    cwd.emplace(CELLS_TRY(CwdGuard::enter(*staging)));
    disk.reset(archive_write_disk_new());
    archive_write_disk_set_options(
        disk.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                        ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL |
                        ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                        ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
    return disk.get();
  };

  ArchivePtr in(archive_read_new());
  // Only tar inside zstd is a cells archive: the reader refuses anything but zstd, and no
  // other filter is enabled here.
  archive_read_support_format_tar(in.get());
  if (archive_read_open(in.get(), &src, nullptr, read_cb, nullptr) != ARCHIVE_OK) {
    if (src.error) return *src.error;
    return from_archive(in.get(), "open " + path);
  }

  EntryGuard guard(options.policy);
  ReadStats stats;
  std::optional<std::array<struct timespec, 2>> root_times;  // of the "." member
  struct archive_entry* e = nullptr;
  for (;;) {
    int r = archive_read_next_header(in.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) {
      if (src.error) return *src.error;
      return from_archive(in.get(), path);
    }
    const char* raw_name = archive_entry_pathname(e);
    const char* link = archive_entry_hardlink(e);
    if (link == nullptr) link = archive_entry_symlink(e);
    std::string name =
        CELLS_TRY_CTX(guard.check(raw_name ? raw_name : "", entry_type(e), link ? link : ""), path);
    ++stats.entries;
    // A file that declares more data than the budget left is refused before it is written.
    if (options.max_bytes > 0 && archive_entry_sparse_count(e) == 0 &&
        stats.data_bytes + static_cast<uint64_t>(std::max<la_int64_t>(0, archive_entry_size(e))) >
            options.max_bytes) {
      return Error::invalid(path + ": entry '" + name + "' would expand the archive beyond " +
                            std::to_string(options.max_bytes) +
                            " bytes (free space limit; decompression bomb?)");
    }
    if (writer && name == "." && archive_entry_mtime_is_set(e)) {
      std::array<struct timespec, 2> t{};
      // GNU tar archives carry no atime; leave it alone rather than set 1970.
      t[0] = archive_entry_atime_is_set(e)
                 ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                 : timespec{0, UTIME_OMIT};
      t[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
      root_times = t;
    }
    // Exactly one of OURS (StagingWriter) and OTHER (libarchive, for ACLs) writes the member.
    StagingWriter* ours = nullptr;
    struct archive* other = nullptr;
    if (writer) {
      std::string hardlink_to;
      if (archive_entry_hardlink(e) != nullptr) {
        // The guard normalised and checked it; the writers get the same spelling.
        hardlink_to = CELLS_TRY(EntryGuard::normalise(link, "hard link target"));
      }
      if (!options.libarchive_writer && StagingWriter::handles(e)) {
        ours = &*writer;
        CELLS_TRY_CTX(ours->begin(name, e, hardlink_to), path);
      } else {
        other = CELLS_TRY_CTX(libarchive_disk(), path);
        archive_entry_set_pathname(e, name.c_str());
        if (!hardlink_to.empty()) archive_entry_set_hardlink(e, hardlink_to.c_str());
        if (archive_write_header(other, e) < ARCHIVE_WARN) {
          return from_archive(other, path + ": extract '" + name + "' into " + *staging);
        }
      }
    }
    const void* buf = nullptr;
    size_t len = 0;
    la_int64_t offset = 0;
    for (;;) {
      r = archive_read_data_block(in.get(), &buf, &len, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) {
        if (src.error) return *src.error;
        return from_archive(in.get(), path + ": entry '" + name + "'");
      }
      stats.data_bytes += len;
      if (options.max_bytes > 0 && stats.data_bytes > options.max_bytes) {
        return Error::invalid(path + ": entry '" + name + "' expands the archive beyond " +
                              std::to_string(options.max_bytes) +
                              " bytes (free space limit; decompression bomb?)");
      }
      if (ours != nullptr) CELLS_TRY_CTX(ours->write_data(buf, len, offset), path);
      if (other != nullptr && archive_write_data_block(other, buf, len, offset) < ARCHIVE_WARN) {
        return from_archive(other, path + ": extract '" + name + "' into " + *staging);
      }
    }
    if (ours != nullptr) CELLS_TRY_CTX(ours->finish_entry(), path);
    if (other != nullptr && archive_write_finish_entry(other) < ARCHIVE_WARN) {
      return from_archive(other, path + ": extract '" + name + "' into " + *staging);
    }
    // Closed now, its data complete: its writeback can start.
    if (writeback && archive_entry_filetype(e) == AE_IFREG && archive_entry_size(e) > 0 &&
        archive_entry_hardlink(e) == nullptr) {
      writeback->add(name);
    }
  }
  // libarchive's directories get their modes and times at its close, ours in finish(); the
  // staging root's times last of all, after every child changed it.
  if (disk && archive_write_close(disk.get()) != ARCHIVE_OK) {
    return from_archive(disk.get(), path + ": finish extraction");
  }
  if (writer) CELLS_TRY_CTX(writer->finish(), path);
  if (root_times) {
    CELLS_SYSCALL(::futimens(writer->dir_fd(), root_times->data()), "set times of " + *staging);
  }
  // The checksum covers the whole file: bytes after the end of the tar stream count too (and
  // must be valid zstd frames).
  for (;;) {
    auto chunk = CELLS_TRY(reader->next());
    if (chunk.empty()) break;
  }
  meter.add(reader->compressed_bytes() - src.reported);
  meter.finish();
  stats.compressed_bytes = reader->compressed_bytes();
  stats.sha256 = reader->sha256();
  return stats;
}

}  // namespace

Result<ReadStats> extract_archive(const std::string& archive_path, const std::string& staging_dir,
                                  const ReadOptions& options) {
  return read_archive(archive_path, &staging_dir, options);
}

Result<ReadStats> scan_archive(const std::string& archive_path, const ReadOptions& options) {
  return read_archive(archive_path, nullptr, options);
}

}  // namespace cells::backup
