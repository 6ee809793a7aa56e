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
//
// An index, <run_dir>/cells/.index/{cid-N,port-P} -> name (symlinks), says which record claims
// a cid or a port, so a create among N cells reads the few records it could clash with instead
// of all N. The records stay the truth: an index entry is written before its record and
// removed after it, so an entry without a matching record is only a stale hint, and a record
// is never missing from the index (a registry without an index is indexed in full once).
#pragma once

#include <span>
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
  // Names of the records the index says claim CID or any of PORTS (sorted, each once; a stale
  // hint among them is possible, so callers check the record). Call with lock() held.
  Result<std::vector<std::string>> claimants(uint32_t cid, std::span<const uint16_t> ports) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string index_dir() const { return dir_ + "/.index"; }
  // Builds the index from every record when it does not exist yet (a registry written before
  // the index existed).
  Status ensure_index() const;
  Status index(const CellInfo& info) const;
  void unindex(const CellInfo& info) const;

  std::string dir_;
};

}  // namespace cells::kernel
