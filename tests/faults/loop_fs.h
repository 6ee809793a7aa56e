// LoopFs: a small ext4 filesystem in an image file, attached to a loop device and mounted on a
// directory for the life of the object, so a test can run cellmgr against a disk that fills up
// or turns read-only. One move-only RAII type for the (loop device, mount) pair: the loop
// device is configured with LO_FLAGS_AUTOCLEAR, so the kernel detaches it when the mount goes,
// and the destructor unmounts (lazily if still busy) and deletes the image even when the test
// failed half way.
#pragma once

#include <cstdint>
#include <string>

#include "base/result.h"

namespace cells::faults::testing {

struct LoopFsOptions {
  uint64_t size_mib = 16;
  uint64_t inodes = 0;  // 0: mkfs.ext4's default for the size
};

class LoopFs {
 public:
  // Makes a fresh ext4 image (mkfs.ext4 -m 0: no blocks reserved for root, since cellmgr runs
  // as root and would otherwise never see ENOSPC) and mounts it on MOUNTPOINT, which must exist.
  static Result<LoopFs> mount(const std::string& mountpoint, const LoopFsOptions& options = {});

  LoopFs(LoopFs&& other) noexcept;
  LoopFs& operator=(LoopFs&&) = delete;
  LoopFs(const LoopFs&) = delete;
  LoopFs& operator=(const LoopFs&) = delete;
  ~LoopFs();

  const std::string& dir() const { return dir_; }

  // Allocates a filler file so that only LEAVE_BYTES of data blocks stay free.
  Status fill(uint64_t leave_bytes);
  // Creates empty filler files until only LEAVE_INODES inodes stay free.
  Status fill_inodes(uint64_t leave_inodes);
  // Removes everything fill() and fill_inodes() made.
  Status unfill();
  // MS_REMOUNT|MS_RDONLY once; EBUSY while a file is open for writing (the caller retries).
  Status remount_read_only();
  Status remount_read_write();

 private:
  LoopFs(std::string dir, std::string image) : dir_(std::move(dir)), image_(std::move(image)) {}
  std::string filler_dir() const { return dir_ + "/.fault-filler"; }

  std::string dir_;    // the mount point; empty once moved from
  std::string image_;  // the backing file
};

}  // namespace cells::faults::testing
