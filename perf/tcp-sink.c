// tcp-sink: connects to 127.0.0.1:PORT, sends one line "BYTES SIZE\n" (how much the server
// is to send, in writes of SIZE), reads until BYTES have arrived (1 MiB reads) or EOF, and
// prints one JSON line: {"bytes","secs"}. The reader side of perf/zc-bench.mjs (a C reader
// so the measured side is the sender).
// Build: cc -O2 -o perf/bin/tcp-sink perf/tcp-sink.c  (perf/build.sh does it)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: tcp-sink PORT BYTES SIZE\n");
    return 2;
  }
  int port = atoi(argv[1]);
  long long want = atoll(argv[2]);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr*)&a, sizeof a) != 0) {
    perror("connect");
    return 1;
  }
  char line[64];
  int n = snprintf(line, sizeof line, "%s %s\n", argv[2], argv[3]);
  if (write(fd, line, n) != n) return 1;
  static char buf[1 << 20];
  long long got = 0;
  double t0 = now();
  while (got < want) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) break;
    got += r;
  }
  double secs = now() - t0;
  printf("{\"bytes\":%lld,\"secs\":%.6f}\n", got, secs);
  close(fd);
  return got == want ? 0 : 1;
}
