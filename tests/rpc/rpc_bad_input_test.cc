// Bad input to the real `cellmgr serve --stdio` process, through raw pipes: an unknown method
// gets an error and the bridge keeps serving; a frame that is not a Cap'n Proto message, or is
// above the size limit, gets an Abort naming the problem, a one-line error on stderr and exit
// status 1. Nothing changes in either case (journal head and manifests).
#include <fcntl.h>
#include <gmock/gmock.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "engine/rpc/frame.h"
#include "engine/rpc/server.h"
#include "tests/rpc/rpc_harness.h"

namespace cells::rpc::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

// cellmgr serve --stdio on pipes.
class RawBridge {
 public:
  explicit RawBridge(const std::string& root) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::setenv("CELLS_CELLCTL", CELLCTL_PATH, 1);
      ::execl(CELLMGR_PATH, CELLMGR_PATH, "--root", root.c_str(), "serve", "--stdio", nullptr);
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    to_ = in[1];
    from_ = out[0];
    err_ = err[0];
  }
  ~RawBridge() {
    close_input();
    wait();
    for (int fd : {from_, err_}) {
      if (fd >= 0) ::close(fd);
    }
  }

  void send(const std::string& bytes) { ASSERT_EQ(::write(to_, bytes.data(), bytes.size()), ssize_t(bytes.size())); }
  void close_input() {
    if (to_ >= 0) ::close(to_);
    to_ = -1;
  }
  // Reads stdout until PRED holds for what was read, EOF, or 10 s.
  template <typename Pred>
  std::string read_until(Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!pred(out_) && std::chrono::steady_clock::now() < deadline) {
      pollfd p{from_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(from_, buf, sizeof buf);
      if (n <= 0) break;
      out_.append(buf, size_t(n));
    }
    return out_;
  }
  std::string read_all() {
    return read_until([](const std::string&) { return false; });
  }
  int wait() {
    if (pid_ > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = 0;
    }
    return status_;
  }
  std::string stderr_text() {
    std::string text;
    char buf[4096];
    for (ssize_t n; (n = ::read(err_, buf, sizeof buf)) > 0;) text.append(buf, size_t(n));
    return text;
  }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1, err_ = -1;
  int status_ = -1;
  std::string out_;
};

class BadInput : public BridgeTest {
 protected:
  void SetUp() override {
    BridgeTest::SetUp();
    if (IsSkipped()) return;
    bootstrap();
    ASSERT_EQ(cellmgr({"cell", "create", "a", "--profile", "low", "--cmd", "sleep 1000"}).status, 0);
    head_ = journal_head();
    etc_ = etc_snapshot();
  }
  void expect_unchanged() {
    EXPECT_EQ(journal_head(), head_);
    EXPECT_EQ(etc_snapshot(), etc_);
  }
  uint64_t head_ = 0;
  std::map<std::string, std::string> etc_;
};

TEST_F(BadInput, UnknownMethodGetsAnErrorAndTheBridgeKeepsServing) {
  RawBridge b(scratch_);
  b.send(bootstrap_frame(0));
  b.send(call_frame(1, 0, bridge_interface_id(), 4242));
  b.send(call_frame(2, 0, bridge_interface_id(), 1));  // cells
  auto answered = [](const std::string& out) {
    auto v = read_output(out);
    return v.ok() && v->returns.count(2);
  };
  auto v = read_output(b.read_until(answered));
  ASSERT_TRUE(v.ok()) << v.error().message();
  ASSERT_TRUE(v->returns.count(1) && v->returns[1].has_value());
  EXPECT_THAT(*v->returns[1], HasSubstr("not implemented"));
  ASSERT_TRUE(v->returns.count(2));
  EXPECT_EQ(v->returns[2], std::nullopt);
  b.close_input();
  EXPECT_EQ(b.wait(), 0);  // a clean end of input is a clean exit
  expect_unchanged();
}

TEST_F(BadInput, GarbageGetsAnAbortAndAOneLineErrorAndChangesNothing) {
  RawBridge b(scratch_);
  b.send(bootstrap_frame(0));
  b.send(std::string("\xff\xff\xff\x7fGARBAGE!GARBAGE!", 20));
  auto v = read_output(b.read_all());
  ASSERT_TRUE(v.ok()) << v.error().message();
  ASSERT_TRUE(v->abort.has_value());
  EXPECT_EQ(b.wait(), 1);
  std::string err = b.stderr_text();
  EXPECT_THAT(err, MatchesRegex("cellmgr: bad RPC input: [^\n]+\n"));
  EXPECT_THAT(err, HasSubstr(*v->abort));
  expect_unchanged();
}

TEST_F(BadInput, AnOversizedFrameGetsAnAbortAndChangesNothing) {
  RawBridge b(scratch_);
  uint32_t header[2] = {0, uint32_t(kMaxFrameWords * 4)};  // one 32 MiB segment
  b.send(std::string(reinterpret_cast<const char*>(header), sizeof header));
  auto v = read_output(b.read_all());
  ASSERT_TRUE(v.ok()) << v.error().message();
  ASSERT_TRUE(v->abort.has_value());
  EXPECT_THAT(*v->abort, HasSubstr("too large"));
  EXPECT_EQ(b.wait(), 1);
  EXPECT_THAT(b.stderr_text(), MatchesRegex("cellmgr: bad RPC input: [^\n]*too large[^\n]*\n"));
  expect_unchanged();
}

TEST_F(BadInput, ServeWithoutStdioIsAUsageError) {
  auto r = cellmgr({"serve"});
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.err, "cellmgr: serve needs --stdio (the only transport; remote clients use ssh)\n");
  expect_unchanged();
}

}  // namespace
}  // namespace cells::rpc::testing
