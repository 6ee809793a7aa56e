// Shared helpers of the backup tests: scratch roots, tree snapshots that compare everything a
// round trip must keep, and running the driver as a child process.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <optional>

#include "backup/backup.h"
#include "base/paths.h"
#include "base/process.h"

namespace cells::backup::testing {

namespace fs = std::filesystem;

// A mkdtemp root, removed (with everything below it) at the end of the test.
struct ScratchRoot {
  std::string path;
  ScratchRoot() {
    char tmpl[] = "/var/tmp/cells-backup-test-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~ScratchRoot() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& rel) const { return path + "/" + rel; }
};

// A scratch root with the backup layer opened on it: where every backup test starts.
// Fixtures extend SetUp() and call this one first.
class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_ = *Paths::from_root(root_.path);
    auto b = Backups::open(paths_);
    ASSERT_TRUE(b.ok()) << b.error().message();
    backups_.emplace(std::move(*b));
  }
  ScratchRoot root_;
  Paths paths_;
  std::optional<Backups> backups_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Everything a restore must reproduce for one path, as comparable text.
inline std::string describe(const std::string& path, std::map<ino_t, std::string>& inodes,
                            const std::string& rel) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return "missing";
  std::ostringstream o;
  o << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid;
  if (!S_ISDIR(st.st_mode)) {
    // Hard links: every name of one inode reports the first name seen.
    auto [it, fresh] = inodes.emplace(st.st_ino, rel);
    o << " nlink=" << st.st_nlink << " group=" << it->second;
    (void)fresh;
  }
  if (S_ISREG(st.st_mode)) {
    o << " size=" << st.st_size << " blocks=" << st.st_blocks
      << " sum=" << std::hash<std::string>{}(read_text(path));
    o << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
  }
  if (S_ISLNK(st.st_mode)) o << " -> " << fs::read_symlink(path).string();
  if (S_ISDIR(st.st_mode)) o << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) o << " rdev=" << st.st_rdev;
  char names[4096];
  ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
  std::vector<std::string> keys;
  for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(strlen(names + i)) + 1) {
    if (std::string(names + i).rfind("user.", 0) == 0) keys.emplace_back(names + i);
  }
  std::sort(keys.begin(), keys.end());
  for (const auto& k : keys) {
    char v[4096];
    ssize_t vn = ::lgetxattr(path.c_str(), k.c_str(), v, sizeof v);
    o << " " << k << "=" << std::string(v, vn > 0 ? static_cast<size_t>(vn) : 0);
  }
  return o.str();
}

// Snapshot of a tree: relative path -> description, the root itself as ".".
inline std::map<std::string, std::string> snapshot(const std::string& root) {
  std::map<std::string, std::string> out;
  std::map<ino_t, std::string> inodes;
  std::vector<std::string> paths;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    paths.push_back(fs::relative(it->path(), root).string());
  }
  std::sort(paths.begin(), paths.end());
  out["."] = describe(root, inodes, ".");
  for (const auto& p : paths) out[p] = describe(root + "/" + p, inodes, p);
  return out;
}

struct RunResult {
  int status = -1;  // exit code, or 128+signal
  std::string out;
};

// Runs ARGV with stdout and stderr captured together.
inline RunResult run(const std::vector<std::string>& argv) {
  auto r = run_process(argv, {.merge_stderr = true});
  if (!r) return {-1, r.error().message()};
  return {r->status(), std::move(r->out)};
}

inline RunResult sh(const std::string& cmd) {
  return run({"/bin/sh", "-c", cmd});
}

// A tree with every kind of thing a round trip must keep.
inline void make_rich_tree(const std::string& dir) {
  fs::create_directories(dir + "/sub/deeper");
  fs::create_directories(dir + "/empty");
  write_text(dir + "/hello.txt", "hello world\n");
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  write_text(dir + "/sub/big.bin", big);
  ::link((dir + "/hello.txt").c_str(), (dir + "/sub/hardlink").c_str());
  ::symlink("../hello.txt", (dir + "/sub/rel-link").c_str());
  ::mkfifo((dir + "/fifo").c_str(), 0640);
  // Sparse: data in the middle, holes before and after (the trailing hole matters too).
  int fd = ::open((dir + "/sparse.img").c_str(), O_WRONLY | O_CREAT, 0600);
  (void)!::pwrite(fd, "middle", 6, 40 << 20);
  (void)!::ftruncate(fd, 100 << 20);
  ::close(fd);
  ::lsetxattr((dir + "/hello.txt").c_str(), "user.color", "blue", 4, 0);
  ::lsetxattr((dir + "/sub").c_str(), "user.note", "a dir xattr", 11, 0);
  ::lchown((dir + "/sub/big.bin").c_str(), 1234, 5678);
  ::lchown((dir + "/sub/rel-link").c_str(), 42, 43);
  ::chmod((dir + "/sub/deeper").c_str(), 0710);
  ::chmod((dir + "/sub/big.bin").c_str(), 04751);
  ::chown((dir + "/sub/big.bin").c_str(), 1234, 5678);
  ::chmod((dir + "/sub/big.bin").c_str(), 04751);  // chown clears setuid; set it again
  struct timespec ts[2] = {{1600000000, 123456789}, {1600000000, 987654321}};
  ::utimensat(AT_FDCWD, (dir + "/hello.txt").c_str(), ts, AT_SYMLINK_NOFOLLOW);
  ::utimensat(AT_FDCWD, (dir + "/sub/deeper").c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

}  // namespace cells::backup::testing
