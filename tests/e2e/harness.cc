#include "tests/e2e/harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "base/files.h"
#include "base/fd.h"

namespace cells::e2e::testing {
namespace {

int64_t left_ms(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                               std::chrono::steady_clock::now())
      .count();
}

// Waits for FD to be ready for EVENTS until DEADLINE.
bool wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    int64_t left = left_ms(deadline);
    if (left <= 0) return false;
    struct pollfd p = {fd, events, 0};
    int n = ::poll(&p, 1, int(left));
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

}  // namespace

std::vector<std::string> shell_blocks(const std::string& markdown) {
  std::vector<std::string> out;
  std::istringstream in(markdown);
  std::optional<std::string> block;  // inside a ```sh fence
  bool other_fence = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) {
      if (block) {
        out.push_back(*block);
        block.reset();
      } else if (other_fence) {
        other_fence = false;
      } else if (line == "```sh") {
        block.emplace();
      } else {
        other_fence = true;
      }
      continue;
    }
    if (block) *block += line + "\n";
  }
  return out;
}

std::optional<HttpReply> http(uint16_t port, const std::string& method, const std::string& path,
                              const std::string& body, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return std::nullopt;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (errno != EINPROGRESS || !wait_fd(fd.get(), POLLOUT, deadline)) return std::nullopt;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return std::nullopt;
  }
  std::string req = method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body;
  for (size_t off = 0; off < req.size();) {
    ssize_t n = ::send(fd.get(), req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += size_t(n);
    } else if (n < 0 && errno == EAGAIN && wait_fd(fd.get(), POLLOUT, deadline)) {
      continue;
    } else {
      return std::nullopt;
    }
  }
  // HTTP/1.0: the server closes the connection after the response.
  std::string resp;
  for (;;) {
    char buf[4096];
    ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n > 0) {
      resp.append(buf, size_t(n));
    } else if (n == 0) {
      break;
    } else if (errno != EAGAIN || !wait_fd(fd.get(), POLLIN, deadline)) {
      return std::nullopt;
    }
  }
  // "HTTP/1.x NNN reason\r\n...\r\n\r\nbody"
  size_t sp = resp.find(' '), head_end = resp.find("\r\n\r\n");
  if (resp.rfind("HTTP/1.", 0) != 0 || sp == std::string::npos || head_end == std::string::npos) {
    return std::nullopt;
  }
  HttpReply r;
  r.status = std::atoi(resp.c_str() + sp + 1);
  r.body = resp.substr(head_end + 4);
  return r;
}

void ExampleTest::load_example(const std::string& example) {
  const std::string readme = std::string(CELLS_SOURCE_DIR) + "/examples/" + example + "/README.md";
  auto text = read_file(readme);
  ASSERT_TRUE(text.ok()) << text.error().message();
  blocks_ = shell_blocks(*text);
  ASSERT_GE(blocks_.size(), 2u) << readme << ": no shell setup block and steps";
}

void ExampleTest::TearDown() {
  if (!scratch_.empty() && paths_) {
    Outcome v = cellmgr({"journal", "verify"});
    EXPECT_EQ(v.status, 0) << "journal verify: " << v.out << v.err;
  }
  ControlPlaneTest::TearDown();
}

Outcome ExampleTest::run_block(size_t i) {
  if (i >= blocks_.size()) return Outcome{-1, "", "the README has no block " + std::to_string(i)};
  std::string script = "cd " + std::string(CELLS_SOURCE_DIR) + "\n" + blocks_[0] + blocks_[i];
  return host({"env", "CELLS_ROOT=" + scratch_, std::string("CELLS_BUILD_DIR=") + CELLS_BUILD_DIR,
               "bash", "-euo", "pipefail", "-c", script});
}

Outcome ExampleTest::run_script(const std::string& relative_path) {
  // The binaries of this build first on PATH, used as installed ones: a test must not
  // install packages or rebuild the tree it tests (tools/quickstart would otherwise).
  const std::string build = CELLS_BUILD_DIR;
  const char* path = std::getenv("PATH");
  return host({"env", "CELLS_ROOT=" + scratch_, "CELLS_QUICKSTART_INSTALLED=1",
               "PATH=" + build + "/cli/cellmgr:" + build + "/cli/cellctl:" + (path ? path : "/usr/bin:/bin"),
               std::string(CELLS_SOURCE_DIR) + "/" + relative_path});
}

}  // namespace cells::e2e::testing
