// Host-side writes into a cell's root filesystem that the cell cannot redirect.
//
// The cell owns the content of its root and may plant symlinks anywhere in it (/var/www/x ->
// /etc, or -> ../../..). Every path here is therefore resolved by the kernel with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) relative to an fd of the root: absolute
// symlinks and ".." are interpreted as if the root were "/", so a write lands inside the root
// or is refused, never on the host. New files are written atomically (a temp file in the same
// directory, then renameat), and a rename replaces a planted symlink rather than following it.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "engine/plan.h"
#include "kernel/mapped_root.h"

namespace cells::engine {

// openat2(2) (glibc has no wrapper): DIRFD-relative PATH with RESOLVE flags.
Result<Fd> open_resolved(int dirfd, const std::string& path, uint64_t flags, uint64_t resolve,
                         uint32_t mode = 0);
// The whole content of a regular file open for reading.
Result<std::string> read_all(int fd, const std::string& what);

// What one entry of a cell root is at a moment: enough to put it back exactly (engine/
// preimage.h keeps these for a live apply). Owners are as the root shows them (for a high
// cell's idmapped root, the host ids), which is what restore() writes back through the same root.
struct EntryImage {
  enum class Kind { kAbsent, kFile, kSymlink, kDir };
  Kind kind = Kind::kAbsent;
  std::string path;  // absolute in the root, every symlink in it resolved
  uint32_t mode = 0, uid = 0, gid = 0;
  std::string data;  // kFile: the content; kSymlink: the link's target
  std::vector<std::pair<std::string, std::string>> xattrs;  // kFile: name, value
  bool operator==(const EntryImage&) const = default;
};

// One cell root. Each mutating call returns whether it changed anything, so that applying a
// plan twice reports "unchanged" the second time.
class CellRoot {
 public:
  // ID_BASE: 0 when the root shows the cell's ids as they are on disk (low, medium); for a
  // high cell whose mounted root is idmapped (kernel/mapped_root.h), the host id of the cell's
  // root: writes then run with that filesystem id, and owners resolved from the cell's
  // /etc/passwd and /etc/group are shifted by it (the idmap stores them unshifted on disk).
  static Result<CellRoot> open(const std::string& root_dir, uint32_t id_base = 0);

  const std::string& dir() const { return dir_; }

  // Content of the regular file PATH (inside the root). kNotFound if it does not exist.
  Result<std::string> read(const std::string& path) const;

  // Creates or replaces PATH with CONTENT. Mode: ATTRS, else the existing file's, else
  // DEFAULT_MODE. Owner and group likewise (names from the cell's /etc/passwd, /etc/group).
  // Missing parent directories are created (0755).
  Result<bool> write_file(const std::string& path, std::string_view content,
                          const FileAttrs& attrs, uint32_t default_mode = 0644);
  // mkdir -p PATH (new directories 0755, the last one ATTRS.mode), then mode/owner/group.
  Result<bool> make_dir(const std::string& path, const FileAttrs& attrs);
  // Appends LINE (plus a newline) unless the file already has it as a whole line. Creates the
  // file (0644) if missing; keeps an existing file's mode and owner.
  Result<bool> ensure_line(const std::string& path, const std::string& line);
  // ln -snf TARGET LINKPATH: LINKPATH itself is replaced, never followed. TARGET is link
  // content and is only ever resolved by the cell (or by this class, inside the root).
  Result<bool> symlink(const std::string& target, const std::string& linkpath);

  // The entry a write to PATH would change, as it is now; nothing is created. FOLLOW_LAST as
  // the writers: FILE-like steps write through an in-root symlink, SYMLINK and DIR replace or
  // make the entry itself. Where PATH's directory is missing, the image is the first missing
  // ancestor, absent (a write creates it and everything below).
  Result<EntryImage> image(const std::string& path, bool follow_last);
  // Puts IMAGE back: an absent entry is removed (a directory with everything in it, never
  // crossing into another mount), a file is rewritten atomically with its mode, owner and
  // xattrs, a symlink re-made, a directory's mode and owner set. Idempotent.
  Status restore(const EntryImage& image);

  // Resolves an owner/group option: decimal ids as they are, names through the cell's own
  // /etc/passwd and /etc/group (read through the same resolver).
  Result<uid_t> resolve_user(const std::string& name) const;
  Result<gid_t> resolve_group(const std::string& name) const;

 private:
  CellRoot(Fd root, std::string dir, uint32_t id_base)
      : root_(std::move(root)), dir_(std::move(dir)), id_base_(id_base) {}
  // With an id base, the cell root's filesystem ids for the caller's writes (none without).
  Result<std::optional<kernel::MappedFsIds>> as_cell_root() const;

  struct Slot {  // a directory entry that a write may replace: a real dir fd and a name
    Fd parent;
    std::string name;
  };
  // The directory PATH (absolute, in the root), opened O_RDONLY|O_DIRECTORY.
  Result<Fd> open_dir(const std::string& path) const;
  // As open_dir, creating missing components with mkdirat in their resolved parent.
  // *CREATED says whether anything was made.
  Result<Fd> ensure_dir(const std::string& path, uint32_t last_mode, bool* created);
  // The entry PATH names, following symlinks in its last component (inside the root) so that a
  // legitimate in-root link is written through, not replaced. Parents are created if missing
  // (unless !CREATE_PARENTS: then a missing parent is kNotFound). *LOGICAL (if given) gets the
  // path the slot was found at, every followed link resolved.
  Result<Slot> resolve_slot(const std::string& path, bool follow_last, bool create_parents = true,
                            std::string* logical = nullptr);
  Result<std::pair<std::optional<uid_t>, std::optional<gid_t>>> resolve_owner(
      const FileAttrs& attrs) const;

  Fd root_;
  std::string dir_;
  uint32_t id_base_ = 0;
};

}  // namespace cells::engine
