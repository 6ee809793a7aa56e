// free_port: a port for a test's service, shared by every test group that needs one.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace cells::testing {

// A port that is free for TCP and UDP on IPv4 and IPv6 right now (the kernel picks it for an
// IPv6 wildcard socket, which also covers IPv4), or 0 after 50 tries. Nothing holds it: another
// process may take it before the test binds it, which the ephemeral range makes unlikely.
inline uint16_t free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int s = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    socklen_t len = sizeof a;
    const bool bound = ::bind(s, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
                       ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    ::close(s);
    if (!bound) continue;
    int u = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const bool udp_free = ::bind(u, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(u);
    if (udp_free) return ntohs(a.sin6_port);
  }
  return 0;
}

}  // namespace cells::testing
