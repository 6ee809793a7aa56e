// Scratch roots for the store's tests (unit tests here and tests/store): a mkdtemp directory
// removed with everything under it.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "base/paths.h"

namespace cells::store::testing {

class ScratchRoot {
 public:
  ScratchRoot() {
    char tmpl[] = "/tmp/cells-store-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    paths_ = *Paths::from_root(dir_);
  }
  ~ScratchRoot() { std::filesystem::remove_all(dir_); }
  ScratchRoot(const ScratchRoot&) = delete;
  ScratchRoot& operator=(const ScratchRoot&) = delete;

  const Paths& paths() const { return paths_; }
  const std::string& dir() const { return dir_; }
  std::string state() const { return paths_.state_dir(); }

 private:
  std::string dir_;
  Paths paths_;
};

}  // namespace cells::store::testing
