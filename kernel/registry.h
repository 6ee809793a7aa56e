// The runtime registry: one small record per live cell, <run_dir>/cells/<name>, so that find
// and list work without scanning processes. The cgroup directory is the truth of a cell's
// existence; a record whose cgroup is gone (after a reboot, or a crash between rmdir and
// unlink) is stale and is removed by whoever reads it (Runtime::find/list).
//
// A record is "key=value" lines, written atomically (write_file_atomic), e.g.
//   cid=3 name=web root=/srv/web profile=high ports=80,443 nofile=1024 as= core=0
//   writable=/tmp:/data cgroup_id=4711 init_pid=12345 created_unix_ns=...
// An empty rlimit value means unlimited; an empty (or absent) writable list means the kernel
// layer's default writable set.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "base/paths.h"
#include "base/result.h"
#include "kernel/cell.h"

namespace cells::kernel {

inline constexpr size_t kMaxCellName = 63;
inline constexpr size_t kMaxPorts = 32;

// [A-Za-z0-9._-]{1,63}, and not "." or ".." (it names a directory).
Status validate_cell_name(std::string_view name);

std::string encode_record(const CellInfo& info);
// kCorrupt naming the key when a line is malformed or a required key is missing.
Result<CellInfo> decode_record(std::string_view text);

class Registry {
 public:
  explicit Registry(const Paths& paths) : dir_(paths.run_dir() + "/cells") {}

  // An exclusive flock on <dir>/.lock, held while a create or destroy checks and commits, so
  // two concurrent creates cannot both pass the duplicate-name and port checks.
  Result<Fd> lock() const;
  Status save(const CellInfo& info) const;
  // kNotFound when there is no record for NAME.
  Result<CellInfo> load(std::string_view name) const;
  Status remove(std::string_view name) const;
  // Names of all records, sorted.
  Result<std::vector<std::string>> names() const;

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

}  // namespace cells::kernel
