// UDP echo load generator for perf/udp-bench.mjs: N senders (one connected UDP socket each),
// each keeping exactly ONE datagram of --size bytes in flight (send, wait for its echo,
// send the next), all on one thread with epoll. Each datagram carries its sender's sequence
// number (the first 8 bytes): an echo of an older one (late, after a resend) is ignored, so
// a sender never has two in flight. One whose echo has not come within 200 ms is sent again
// (counted as lost; on a shared machine a descheduled server looks the same). After --warmup seconds it measures for --duration
// seconds and prints one JSON line: echoes per second, lost datagrams, and with --stat-pid
// the server's CPU time (utime+stime from /proc/PID/stat) per echoed datagram.
// Usage: udp-load --port P [--host 127.0.0.1] [--senders N] [--size B] [--duration S]
//                 [--warmup S] [--stat-pid PID]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc-cpu.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* utime + stime of `pid`, in microseconds; -1 when unreadable. */
static double cpu_us(int pid) {
  long long ticks = proc_cpu_ticks(pid);
  return ticks < 0 ? -1 : (double)ticks * 1e6 / sysconf(_SC_CLK_TCK);
}

int main(int argc, char** argv) {
  const char* host = "127.0.0.1";
  int port = 0, senders = 1, size = 64, pid = 0;
  double duration = 3, warmup = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--host")) host = argv[i + 1];
    else if (!strcmp(argv[i], "--senders")) senders = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--size")) size = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--duration")) duration = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--warmup")) warmup = atof(argv[i + 1]);
    else if (!strcmp(argv[i], "--stat-pid")) pid = atoi(argv[i + 1]);
    else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
  }
  if (port <= 0 || senders < 1 || size < 1 || size > 65507) { fprintf(stderr, "bad arguments\n"); return 2; }
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port) };
  if (inet_pton(AF_INET, host, &to.sin_addr) != 1) { fprintf(stderr, "bad host\n"); return 2; }
  int ep = epoll_create1(0);
  int* fds = calloc(senders, sizeof *fds);
  double* sent_at = calloc(senders, sizeof *sent_at);
  unsigned long long* seq = calloc(senders, sizeof *seq);
  char* out = malloc(65536);
  memset(out, 'x', 65536);
  char* buf = malloc(65536);
  memset(buf, 'x', 65536);
  for (int i = 0; i < senders; i++) {
    fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fds[i] < 0 || connect(fds[i], (struct sockaddr*)&to, sizeof to) < 0) { perror("socket/connect"); return 1; }
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  double start = now();
#define SEND(i) do { memcpy(out, &seq[i], size < 8 ? size : 8); send(fds[i], out, size, 0); sent_at[i] = now(); } while (0)
  for (int i = 0; i < senders; i++) SEND(i);
  unsigned long long echoes = 0, lost = 0, echoes0 = 0, lost0 = 0;
  double t0 = 0, cpu0 = 0;
  int measuring = 0;
  struct epoll_event evs[256];
  for (;;) {
    double t = now();
    if (!measuring && t - start >= warmup) {
      measuring = 1; t0 = t; echoes0 = echoes; lost0 = lost;
      if (pid) cpu0 = cpu_us(pid);
    }
    if (measuring && t - t0 >= duration) break;
    int n = epoll_wait(ep, evs, 256, 10);
    t = now();
    for (int k = 0; k < n; k++) {
      int i = (int)evs[k].data.u32;
      for (;;) {
        ssize_t r = recv(fds[i], buf, 65536, 0);
        if (r < 0) break; /* EAGAIN, or ECONNREFUSED while the server starts: resent below */
        unsigned long long got = 0;
        memcpy(&got, buf, r < 8 ? (size_t)r : 8);
        if (r != size || memcmp(&got, &seq[i], size < 8 ? size : 8) != 0) continue; /* a late echo */
        echoes++;
        seq[i]++;
        SEND(i);
      }
    }
    for (int i = 0; i < senders; i++) {
      if (t - sent_at[i] > 0.2) { lost++; SEND(i); }
    }
  }
  double t1 = now();
  double cpu1 = pid ? cpu_us(pid) : 0;
  unsigned long long done = echoes - echoes0;
  printf("{\"pps\":%.1f,\"echoes\":%llu,\"lost\":%llu,\"server_us_per_dgram\":%.3f}\n",
         done / (t1 - t0), done, lost - lost0, pid && done ? (cpu1 - cpu0) / done : -1.0);
  return 0;
}
