// Socket addresses between JS and the kernel: (family, host, port) or a Unix path
// (a leading NUL is the Linux abstract namespace). Used by bind (sockets.cc) and the
// CONNECT op's per-op storage (ops/connect.cc).
#pragma once

#include <napi.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <string>

namespace ringloop {

// Family codes shared with src/sockaddr.ts (FamilyCode): 4 = AF_INET, 6 = AF_INET6, 0 = AF_UNIX.
union SockAddrAny {
  sockaddr sa;
  sockaddr_in in4;
  sockaddr_in6 in6;
  sockaddr_un un;
};

struct SockAddrBox {
  SockAddrAny addr;
  socklen_t len;
};

// Fills `out` from a family code, host (IP literal, or the Unix path) and port.
// Returns 0 or -EINVAL (bad literal, path too long, unknown family).
int fillSockAddr(int family, const std::string& host, int port, SockAddrBox* out);

// {host, port, family} for IP, the path string for Unix ("" when unnamed).
Napi::Value sockAddrToJs(Napi::Env env, const sockaddr* sa, socklen_t len);

}  // namespace ringloop
