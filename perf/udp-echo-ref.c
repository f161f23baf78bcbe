// The physical reference for perf/udp-bench.mjs: a plain C UDP echo server with
// recvmmsg/sendmmsg (up to 64 datagrams per syscall), blocking, one thread. Binds
// 127.0.0.1 on an ephemeral port and prints {"port":P}; SIGTERM ends it.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define DGRAM_MAX 65536

static char bufs[BATCH][DGRAM_MAX];

int main(void) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (fd < 0 || bind(fd, (struct sockaddr*)&a, sizeof a) < 0) { perror("bind"); return 1; }
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr*)&a, &len);
  printf("{\"port\":%d}\n", ntohs(a.sin_port));
  fflush(stdout);
  struct mmsghdr msgs[BATCH];
  struct iovec iovs[BATCH];
  struct sockaddr_in from[BATCH];
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iovs[i] = (struct iovec){ bufs[i], DGRAM_MAX };
      msgs[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof from[i], .msg_iov = &iovs[i], .msg_iovlen = 1 };
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
    if (n < 0) { perror("recvmmsg"); return 1; }
    for (int i = 0; i < n; i++) iovs[i].iov_len = msgs[i].msg_len;
    int off = 0;
    while (off < n) {
      int s = sendmmsg(fd, msgs + off, n - off, 0);
      if (s <= 0) break;
      off += s;
    }
  }
}
