#include "sockaddr.h"

#include <arpa/inet.h>

#include <cstddef>
#include <cstring>

namespace ringloop {

int fillSockAddr(int family, const std::string& host, int port, SockAddrBox* out) {
  std::memset(out, 0, sizeof(*out));
  if (family == 4) {
    out->addr.in4.sin_family = AF_INET;
    out->addr.in4.sin_port = htons(uint16_t(port));
    if (inet_pton(AF_INET, host.c_str(), &out->addr.in4.sin_addr) != 1) return -EINVAL;
    out->len = sizeof(sockaddr_in);
    return 0;
  }
  if (family == 6) {
    out->addr.in6.sin6_family = AF_INET6;
    out->addr.in6.sin6_port = htons(uint16_t(port));
    std::string h = host;
    size_t pct = h.find('%');  // scope id: "fe80::1%eth0" or "%2"
    if (pct != std::string::npos) {
      std::string scope = h.substr(pct + 1);
      h.resize(pct);
      char* end = nullptr;
      unsigned long id = std::strtoul(scope.c_str(), &end, 10);
      out->addr.in6.sin6_scope_id = (end && *end == 0) ? uint32_t(id) : 0;
    }
    if (inet_pton(AF_INET6, h.c_str(), &out->addr.in6.sin6_addr) != 1) return -EINVAL;
    out->len = sizeof(sockaddr_in6);
    return 0;
  }
  if (family == 0) {
    // A path gets its terminating NUL; an abstract name ("\0name") is exactly its bytes.
    bool abstract = !host.empty() && host[0] == '\0';
    size_t need = host.size() + (abstract ? 0 : 1);
    if (host.empty() || need > sizeof(out->addr.un.sun_path)) return -EINVAL;
    out->addr.un.sun_family = AF_UNIX;
    std::memcpy(out->addr.un.sun_path, host.data(), host.size());
    out->len = socklen_t(offsetof(sockaddr_un, sun_path) + need);
    return 0;
  }
  return -EINVAL;
}

Napi::Value sockAddrToJs(Napi::Env env, const sockaddr* sa, socklen_t len) {
  char buf[INET6_ADDRSTRLEN + 16];
  if (sa->sa_family == AF_INET) {
    auto* in4 = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in4->sin_addr, buf, sizeof(buf));
    Napi::Object o = Napi::Object::New(env);
    o.Set("host", buf);
    o.Set("port", ntohs(in4->sin_port));
    o.Set("family", 4);
    return o;
  }
  if (sa->sa_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
    Napi::Object o = Napi::Object::New(env);
    o.Set("host", buf);
    o.Set("port", ntohs(in6->sin6_port));
    o.Set("family", 6);
    return o;
  }
  if (sa->sa_family == AF_UNIX) {
    auto* un = reinterpret_cast<const sockaddr_un*>(sa);
    size_t n = len > offsetof(sockaddr_un, sun_path) ? len - offsetof(sockaddr_un, sun_path) : 0;
    if (n > 0 && un->sun_path[0] != '\0') n = strnlen(un->sun_path, n);  // path: up to its NUL
    return Napi::String::New(env, un->sun_path, n);
  }
  return env.Null();
}

}  // namespace ringloop
