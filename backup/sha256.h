// Streaming SHA-256 of archive files: computed while an archive is written or read, so that
// create and restore never need a second pass over the file just to checksum it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/result.h"

namespace cells::backup {

class Sha256 {
 public:
  static Result<Sha256> create();
  void update(const void* data, size_t len);
  // Lower-case hex of the digest; the object is spent afterwards.
  std::string finish_hex();

 private:
  struct CtxFree {
    void operator()(void* ctx) const;
  };
  explicit Sha256(void* ctx) : ctx_(ctx) {}
  std::unique_ptr<void, CtxFree> ctx_;
};

// SHA-256 of a whole file (hex). Errors: kNotFound for a missing file, kSystem.
Result<std::string> sha256_file(const std::string& path);

}  // namespace cells::backup
