// EarlyWriteback starts writeback of regular files beneath its directory only: symlinks,
// names that leave the directory, fifos and missing names are skipped, never followed.
#include "backup/writeback.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace cells::backup {
namespace {

namespace fs = std::filesystem;

bool wait_for(const EarlyWriteback& w, uint64_t n) {
  for (int i = 0; i < 500 && w.started() < n; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return w.started() == n;
}

TEST(EarlyWriteback, StartsRegularFilesBeneathItsDirectoryOnly) {
  char tmpl[] = "/tmp/cells-writeback-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/staging";
  fs::create_directories(dir + "/sub");
  std::ofstream(std::string(tmpl) + "/outside") << std::string(4096, 'o');
  std::ofstream(dir + "/sub/a") << std::string(8192, 'a');
  std::ofstream(dir + "/b") << std::string(100, 'b');
  fs::create_symlink("../outside", dir + "/link");
  ASSERT_EQ(::mkfifo((dir + "/fifo").c_str(), 0600), 0);
  {
    auto w = EarlyWriteback::start(dir);
    ASSERT_TRUE(w.ok()) << w.error().message();
    for (const char* skipped : {"link", "../outside", "fifo", "missing", "sub"}) (*w)->add(skipped);
    (*w)->add("sub/a");
    // Queued in order: once "b" is done, everything before it was handled too.
    (*w)->add("b");
    EXPECT_TRUE(wait_for(**w, 2)) << (*w)->started();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ((*w)->started(), 2u);
    // Destroying it with names still queued returns promptly (the caller syncs anyway).
    for (int i = 0; i < 1000; ++i) (*w)->add("b");
  }
  EXPECT_FALSE(EarlyWriteback::start(std::string(tmpl) + "/none").ok());
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace cells::backup
