// The two halves of the archive format, below the journal and the file protocol (backup.h):
// writing a directory tree as pax tar compressed by zstd into an fd, and reading such a stream
// back (into a staging directory, or just through, for verify).
//
// libarchive's errors (archive_errno + archive_error_string) become cells::Error through one
// adapter, from_archive() in archive_io.cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "backup/entry_guard.h"
#include "backup/progress.h"
#include "base/result.h"

namespace cells::backup {

struct WriteOptions {
  int level = 3;    // zstd level (as zstd -3)
  int threads = 0;  // zstd worker threads; 0 = one per online CPU
  // Compress with libarchive's zstd filter (its "threads" option) instead of driving libzstd
  // directly; kept so bench/backup can measure the two (see docs/PERFORMANCE.md).
  bool libarchive_zstd = false;
  uint64_t progress_total = 0;
  ProgressFn progress;  // bytes = file data read from the source
  // Called once the last source byte has been read (the rest is compression and flushing):
  // backup.cc thaws the frozen cells here, as early as the image is complete.
  std::function<void()> on_source_read;
};

struct WriteStats {
  uint64_t entries = 0;
  uint64_t data_bytes = 0;        // file content read from the source
  uint64_t compressed_bytes = 0;  // written to the fd
  std::string sha256;             // of the compressed bytes
};

// Archives SOURCE_DIR (absolute, a directory) into OUT_FD: pax format, numeric owners, modes,
// nanosecond times, xattrs, ACLs, hard links, sparse files; symlinks are stored, never
// followed; other filesystems mounted below are not entered; sockets are skipped. Member names
// are relative ("." is the source directory itself). Errors name the entry: kNotFound for a
// missing source, kSystem (e.g. ENOSPC on OUT_FD), kInvalid for an unreadable entry type.
Result<WriteStats> write_tree(const std::string& source_dir, int out_fd,
                              const WriteOptions& options);

struct ReadOptions {
  GuardPolicy policy;
  uint64_t max_bytes = 0;  // extraction refuses to write more file data than this (0 = no limit)
  uint64_t progress_total = 0;
  ProgressFn progress;  // bytes = compressed bytes read from the archive
  // Extraction only: start each finished file's writeback on a helper thread (EarlyWriteback),
  // for a caller that makes the tree durable afterwards anyway.
  bool early_writeback = false;
  // Extraction only: write every member with libarchive's archive_write_disk, as before
  // StagingWriter; kept so bench/backup can measure the two in one run.
  bool libarchive_writer = false;
};

struct ReadStats {
  uint64_t entries = 0;
  uint64_t data_bytes = 0;
  uint64_t compressed_bytes = 0;
  std::string sha256;  // of the whole archive file, read to its end
};

// Extracts the archive at ARCHIVE_PATH into STAGING_DIR (an existing empty directory), every
// entry checked by an EntryGuard first and by libarchive's ARCHIVE_EXTRACT_SECURE_* flags.
// Nothing is written outside STAGING_DIR. Errors: kNotFound (no archive), kInvalid naming a
// refused entry or the size limit (decompression bomb), kCorrupt for a damaged stream.
// Members are written by StagingWriter; a member with ACLs (or every member, with
// libarchive_writer) by libarchive, for which the working directory is changed (libarchive
// resolves hard link targets against it) and restored before returning: not for use by
// concurrent threads.
Result<ReadStats> extract_archive(const std::string& archive_path, const std::string& staging_dir,
                                  const ReadOptions& options);

// Reads every entry and all its data without writing anything (verify). Same errors.
Result<ReadStats> scan_archive(const std::string& archive_path, const ReadOptions& options);

}  // namespace cells::backup
