// cellctl stats [-P [-h]] [-v] [-T] [-H] [--json] [--listen ADDR:PORT]
// Prints the telemetry every cell's init samples once per second (kernel/telemetry.h); a scrape
// is one read of one snapshot file, whatever the number of cells. Formats: see
// kernel/telemetry_format.h. --listen serves the Prometheus text on GET /metrics until killed
// (a tiny blocking HTTP/1.0-style server: one request per connection).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <memory>

#include "base/syscall.h"
#include "cli/cellctl/common.h"
#include "kernel/telemetry.h"
#include "kernel/telemetry_format.h"

namespace cells::cellctl {
namespace {

struct StatsOptions {
  bool prometheus = false, http = false, verbose = false, tsv = false, no_header = false,
       json = false;
  std::string listen;
};

int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::string> render(const Paths& paths, const kernel::StatsOutput& out) {
  auto cells = CELLS_TRY(kernel::SnapshotFile::read_all(paths));
  return kernel::format_stats(cells, out, now_unix_ns());
}

// "127.0.0.1:9100", "[::1]:9100", ":9100" (all IPv4 addresses).
Result<Fd> listen_on(const std::string& spec) {
  size_t colon = spec.rfind(':');
  if (colon == std::string::npos) {
    return Error::invalid("--listen '" + spec + "' must be ADDR:PORT, e.g. 127.0.0.1:9100");
  }
  std::string host = spec.substr(0, colon), port_s = spec.substr(colon + 1);
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(port_s, &used);
    if (used != port_s.size()) port = 0;
  } catch (...) {
  }
  if (port < 1 || port > 65535) return Error::invalid("--listen: bad port '" + port_s + "'");
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family = AF_INET;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    family = AF_INET6;
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(uint16_t(port));
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a->sin6_addr) != 1) {
      return Error::invalid("--listen: bad IPv6 address '" + host + "'");
    }
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(uint16_t(port));
    if (host.empty()) {
      a->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1) {
      return Error::invalid("--listen: bad IPv4 address '" + host + "'");
    }
    len = sizeof *a;
  }
  Fd s = CELLS_SYSCALL_FD(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0), "socket");
  int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  CELLS_SYSCALL(::bind(s.get(), reinterpret_cast<sockaddr*>(&ss), len), "bind " + spec);
  CELLS_SYSCALL(::listen(s.get(), 16), "listen " + spec);
  return s;
}

void send_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += size_t(n);
  }
}

void serve_one(int conn, const Paths& paths) {
  // A slow or silent client must not hold the (single-threaded) server for long.
  timeval tv{2, 0};
  ::setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  std::string req;
  char buf[1024];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
    ssize_t n = ::recv(conn, buf, sizeof buf, 0);
    if (n <= 0) break;
    req.append(buf, size_t(n));
  }
  std::string status = "200 OK", body;
  if (req.rfind("GET /metrics ", 0) == 0 || req.rfind("GET /metrics?", 0) == 0) {
    auto text = render(paths, {kernel::StatsFormat::kPrometheus});
    if (text) {
      body = *text;
    } else {
      status = "500 Internal Server Error";
      body = text.error().message() + "\n";
    }
  } else if (req.rfind("GET ", 0) == 0) {
    status = "404 Not Found";
    body = "only /metrics is served\n";
  } else {
    status = "405 Method Not Allowed";
    body = "only GET is served\n";
  }
  send_all(conn, "HTTP/1.1 " + status +
                     "\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}

int run_stats(const Context& ctx, const StatsOptions& o) {
  auto out = kernel::choose_stats_output(o.prometheus, o.http, o.verbose, o.tsv, o.no_header,
                                         o.json);
  if (!out) return fail(out.error());
  auto paths = paths_of(ctx);
  if (!paths) return fail(paths.error());
  if (!o.listen.empty()) {
    if (o.http || o.verbose || o.tsv || o.no_header || o.json) {
      return fail("--listen serves Prometheus text; it takes no other format flag but -P");
    }
    auto sock = listen_on(o.listen);
    if (!sock) return fail(sock.error());
    for (;;) {
      int conn = ::accept4(sock->get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      serve_one(conn, *paths);
      ::close(conn);
    }
  }
  auto cells = kernel::SnapshotFile::read_all(*paths);
  if (!cells) return fail(cells.error());
  kernel::write_stats(*cells, *out, now_unix_ns(), [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
  });
  return 0;
}

}  // namespace

void add_stats_command(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<StatsOptions>();
  CLI::App* sub = app.add_subcommand("stats", "show per-cell telemetry");
  // -h is ours (the reference's HTTP header), so CLI11's automatic -h/--help becomes --help.
  sub->set_help_flag("--help", "show this help");
  sub->add_flag("-P,--prometheus", o->prometheus, "Prometheus text format");
  sub->add_flag("-h,--http-header", o->http, "prepend a minimal HTTP header (needs -P)");
  sub->add_flag("-v,--verbose", o->verbose, "also ROOT and REFS");
  sub->add_flag("-T,--tsv", o->tsv, "tab-separated output");
  sub->add_flag("-H,--no-header", o->no_header, "omit the header line (needs -T)");
  sub->add_flag("--json", o->json, "JSON output");
  sub->add_option("--listen", o->listen, "serve GET /metrics on ADDR:PORT until killed");
  sub->callback([&ctx, o] { ctx.run = [&ctx, o] { return run_stats(ctx, *o); }; });
}

}  // namespace cells::cellctl
