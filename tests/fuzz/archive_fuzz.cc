// Fuzzes the backup archive reader (backup/archive_io.h): each input is restored into a fresh
// scratch staging directory. Inputs are tar streams, compressed here with zstd so that
// mutations reach the tar parser and the EntryGuard rather than dying in the zstd decoder; an
// input that already starts with the zstd magic is used as the archive file as it is, to fuzz
// the decompression side too. Odd-sized inputs use the overlay policy (absolute symlinks
// allowed), even-sized ones the volume policy.
//
// Properties: a refused archive is a one-line error; nothing appears or changes outside the
// staging directory (the scratch directory holds only the archive, the staging directory and an
// untouched canary); and the working directory is restored (extract_archive chdirs).
#include <limits.h>
#include <unistd.h>
#include <zstd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "backup/archive_io.h"
#include "base/files.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace fs = std::filesystem;
using namespace cells;

constexpr std::string_view kZstdMagic("\x28\xb5\x2f\xfd", 4);
constexpr std::string_view kCanary = "canary: must never change";

struct Scratch {
  std::string dir, archive, staging, canary;
  Scratch() {
    char tmpl[] = "/tmp/cells-fuzz-archive-XXXXXX";
    CELLS_FUZZ_CHECK(::mkdtemp(tmpl) != nullptr, "mkdtemp");
    dir = tmpl;
    archive = dir + "/in.tar.zst";
    staging = dir + "/staging";
    canary = dir + "/canary";
    std::ofstream(canary) << kCanary;
  }
  // A fuzzer process ends with exit(), which runs this: the scratch directory goes with it.
  ~Scratch() { fs::remove_all(dir); }
  static Scratch& instance() {
    static Scratch s;
    return s;
  }
};

std::string compress(std::string_view tar) {
  std::string out(ZSTD_compressBound(tar.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), tar.data(), tar.size(), 1);
  CELLS_FUZZ_CHECK(!ZSTD_isError(n), "zstd compress");
  out.resize(n);
  return out;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Scratch& s = Scratch::instance();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  {
    std::ofstream out(s.archive, std::ios::binary | std::ios::trunc);
    out << (input.starts_with(kZstdMagic) ? std::string(input) : compress(input));
    CELLS_FUZZ_CHECK(out.good(), "write the archive");
  }
  fs::remove_all(s.staging);
  fs::create_directory(s.staging);
  char cwd_before[PATH_MAX];
  CELLS_FUZZ_CHECK(::getcwd(cwd_before, sizeof cwd_before) != nullptr, "getcwd");

  backup::ReadOptions options;
  options.policy.allow_absolute_symlinks = size % 2 == 1;
  options.max_bytes = 8 << 20;  // the decompression-bomb limit, kept small for speed
  auto r = backup::extract_archive(s.archive, s.staging, options);
  if (!r) {
    CELLS_FUZZ_CHECK(r.error().message().find('\n') == std::string::npos, "error is one line");
  }

  char cwd_after[PATH_MAX];
  CELLS_FUZZ_CHECK(::getcwd(cwd_after, sizeof cwd_after) != nullptr, "getcwd after");
  CELLS_FUZZ_CHECK(std::string_view(cwd_before) == cwd_after, "working directory restored");
  int others = 0;
  for (const auto& e : fs::directory_iterator(s.dir)) {
    std::string p = e.path().string();
    if (p != s.archive && p != s.staging && p != s.canary) ++others;
  }
  CELLS_FUZZ_CHECK(others == 0, "nothing written beside the staging directory");
  CELLS_FUZZ_CHECK(fs::is_regular_file(fs::symlink_status(s.canary)) &&
                       read_all(s.canary) == kCanary,
                   "canary unchanged");
  fs::remove_all(s.staging);
  return 0;
}
