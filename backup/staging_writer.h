// StagingWriter: creates checked archive members beneath the staging directory through
// directory fds, instead of libarchive's archive_write_disk. That writer re-walks every path
// with lstat (its SECURE_SYMLINKS check), probes the umask and opens each member several times
// (strace: ~3 openat, 2 umask, 2 fcntl, 2-3 newfstatat per member); here a member costs one
// openat (its parent directory fd is cached across the members of one directory), its writes,
// and one call per piece of metadata on the open fd.
//
// Safety does not rest on the lexical EntryGuard alone: every parent directory is opened with
// openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)
// from the staging directory's fd, and the last component is created with calls that never
// follow it (O_CREAT | O_EXCL | O_NOFOLLOW, mkdirat, symlinkat, linkat without
// AT_SYMLINK_FOLLOW, mknodat), so no member can reach outside the staging directory or write
// through a symlink, whatever the archive says.
//
// Metadata: a regular file gets owner, xattrs, mode and times on its own fd as soon as its data
// is complete (owner before mode: chown clears setuid). Directories are created 0700 and get
// theirs in finish(), deepest first, after their children changed them (as libarchive does).
// Members carrying ACLs are not taken (handles() is false): archive_io.cc gives those few to
// libarchive, whose ACL code is the reference.
#pragma once

#include <archive_entry.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

namespace cells::backup {

// Opens NAME (relative, already normalised) beneath DIR without following any symlink or
// leaving DIR's mount. FLAGS are open(2) flags (O_CLOEXEC is added).
Result<Fd> open_beneath(int dir, const std::string& name, int flags);

class StagingWriter {
 public:
  // DIR: the staging directory (exists; members are created beneath it).
  static Result<StagingWriter> open(const std::string& dir);
  StagingWriter(StagingWriter&&) = default;
  StagingWriter& operator=(StagingWriter&&) = default;

  // Whether this writer creates member E (false: a member with ACLs, left to libarchive).
  static bool handles(struct archive_entry* e);

  // Creates member NAME (EntryGuard's normalised spelling) described by E. HARDLINK_TO is the
  // normalised hard link target for a hard link, else empty. A regular file stays open for
  // write_data(); every member ends with finish_entry().
  Status begin(const std::string& name, struct archive_entry* e, const std::string& hardlink_to);
  // File data at OFFSET (archive_read_data_block's; a gap before it is a hole, left unwritten).
  Status write_data(const void* buf, size_t len, int64_t offset);
  // Completes the member: a regular file gets its size (a trailing hole), owner, xattrs, mode
  // and times, and is closed.
  Status finish_entry();
  // Applies the directories' metadata, deepest first. Call once, after the last member.
  Status finish();
  // The staging directory (valid while this writer lives; immune to working directory changes).
  int dir_fd() const { return dir_.get(); }

 private:
  struct Meta {
    uid_t uid = 0;
    gid_t gid = 0;
    mode_t mode = 0;
    struct timespec times[2] {};  // atime, mtime; UTIME_OMIT when the archive has none
    std::vector<std::pair<std::string, std::string>> xattrs;
  };
  struct PendingDir {
    std::string name;
    Meta meta;
  };

  StagingWriter(Fd dir, std::string dir_name) : dir_(std::move(dir)), dir_name_(std::move(dir_name)) {}
  // The directory fd NAME's parent, and NAME's last component in LEAF. Missing parents are
  // created (0755, as tar does for members without their directory).
  Result<int> parent_of(const std::string& name, std::string* leaf);
  Result<Fd> open_dir(const std::string& name);
  // Removes whatever an earlier member left at LEAF (tar replaces it); a non-empty directory
  // stays and the caller's create fails with EEXIST.
  void clear(int parent, const std::string& leaf);
  Error fail(int err, const std::string& name, const char* what) const;
  Status apply_fd(int fd, const Meta& meta, const std::string& name);

  Fd dir_;
  std::string dir_name_;
  std::string cached_parent_;  // the directory CACHED_FD_ holds ("" = none)
  Fd cached_fd_;
  // The member being written (regular files only).
  Fd file_;
  std::string file_name_;
  Meta file_meta_;
  int64_t file_size_ = 0;
  int64_t file_end_ = 0;  // end of the last block written
  std::vector<PendingDir> dirs_;
};

}  // namespace cells::backup
