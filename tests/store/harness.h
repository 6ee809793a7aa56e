// Shared by the tests in tests/store: scratch roots, running the cellmgr binary, raw LMDB access
// for tampering, and file snapshots for "nothing was written" checks.
#pragma once

#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/files.h"
#include "base/paths.h"
#include "store/lmdb.h"
#include "store/test_support.h"  // ScratchRoot

extern char** environ;

namespace cells::store::testing {

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs cellmgr --root ROOT ARGS..., capturing stdout and stderr through files in /tmp.
inline RunResult cellmgr(const std::string& root, std::vector<std::string> args) {
  args.insert(args.begin(), {CELLMGR_BIN, "--root", root});
  char out_t[] = "/tmp/cellmgr-out-XXXXXX", err_t[] = "/tmp/cellmgr-err-XXXXXX";
  int out_fd = ::mkstemp(out_t), err_fd = ::mkstemp(err_t);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  RunResult r;
  pid_t pid;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&fa);
  ::close(out_fd);
  ::close(err_fd);
  r.out = read_file(out_t).value_or("");
  r.err = read_file(err_t).value_or("");
  ::unlink(out_t);
  ::unlink(err_t);
  return r;
}

// Opens a store's LMDB environment directly, bypassing every check of Store::open: the way an
// attacker (or a disk) would change it.
struct RawEnv {
  Env env;
  explicit RawEnv(const std::string& dir) { env = *Env::open(dir, {}); }
  template <typename F>
  void write(const char* db, F&& f) {
    Txn txn = *Txn::begin(env, true);
    MDB_dbi dbi = *txn.open_db(db);
    f(txn, dbi);
    if (auto st = txn.commit(); !st.ok()) throw std::runtime_error(st.error().message());
  }
};

struct FileState {
  std::string bytes;
  int64_t mtime_ns = 0;
  bool operator==(const FileState&) const = default;
};

// Every file in DIR with its content and mtime. lock.mdb is LMDB's shared reader table, which
// every reader writes by design (that is how readers avoid blocking writers): only its presence
// is recorded, so that a read creating it is still caught.
inline std::map<std::string, FileState> snapshot(const std::string& dir) {
  std::map<std::string, FileState> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename() == "lock.mdb") {
      out["lock.mdb"] = {"(present)", 0};
      continue;
    }
    struct stat st;
    ::stat(e.path().c_str(), &st);
    out[e.path().filename()] = {read_file(e.path()).value_or("<unreadable>"),
                                int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec};
  }
  return out;
}

}  // namespace cells::store::testing
