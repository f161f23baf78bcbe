// echo-load: closed-loop TCP echo load generator (epoll, non-blocking, one thread).
//
// Echo mode (default): N connections, each keeps exactly one message of S bytes
// outstanding: send it, wait for the whole echo, record the round trip, send the next.
// After --warmup seconds of unrecorded traffic it measures for --duration seconds and
// prints one JSON line: {"rps","p50_us","p99_us","ops","errors","cpu_us_per_op"}.
// The first 8 bytes of every message carry a sequence number that the echo must return
// (a mismatch or a short/closed connection counts as an error; the connection is dropped).
// With --stat-pid P it reads utime+stime of process P from /proc/P/stat at the start and
// end of the measured window (the server's CPU time, all threads) and reports per op.
//
// Idle mode (--idle N): opens N connections in batches of 256, round-trips one byte on
// each (so the server has accepted and set it up), prints {"ready":N} and holds them open
// until stdin reaches EOF or --hold seconds pass.
//
// Build: cc -O2 -o perf/bin/echo-load perf/echo-load.c  (perf/build.sh does it)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "proc-cpu.h"

// Latency histogram: 0.1 us buckets up to 100 ms, one overflow bucket after that.
#define HIST_BUCKETS 1000000
#define HIST_NS_PER_BUCKET 100

typedef struct {
  int fd;
  size_t sent, got;
  uint64_t seq;
  uint64_t t0;
  int want_out;
} conn_t;

static const char *opt_host = "127.0.0.1";
static int opt_port = 0;
static int opt_conns = 1;
static size_t opt_size = 64;
static double opt_duration = 5.0, opt_warmup = 1.0, opt_hold = 600.0;
static int opt_idle = 0;
static int opt_stat_pid = 0;
static uint32_t *hist;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "echo-load: %s: %s\n", what, strerror(errno));
  exit(2);
}

static int connect_one(const struct sockaddr_storage *sa, socklen_t salen) {
  int fd = socket(sa->ss_family, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (const struct sockaddr *)sa, salen) < 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static void parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) { fprintf(stderr, "echo-load: %s needs a value\n", a); exit(2); }
    if (!strcmp(a, "--host")) opt_host = v;
    else if (!strcmp(a, "--port")) opt_port = atoi(v);
    else if (!strcmp(a, "--conns")) opt_conns = atoi(v);
    else if (!strcmp(a, "--size")) opt_size = (size_t)atol(v);
    else if (!strcmp(a, "--duration")) opt_duration = atof(v);
    else if (!strcmp(a, "--warmup")) opt_warmup = atof(v);
    else if (!strcmp(a, "--idle")) opt_idle = atoi(v);
    else if (!strcmp(a, "--hold")) opt_hold = atof(v);
    else if (!strcmp(a, "--stat-pid")) opt_stat_pid = atoi(v);
    else { fprintf(stderr, "echo-load: unknown option %s\n", a); exit(2); }
    i++;
  }
  if (opt_port <= 0 || opt_port > 65535) { fprintf(stderr, "echo-load: --port is required\n"); exit(2); }
  if (opt_conns < 1 || opt_size < 8 || opt_duration <= 0 || opt_warmup < 0) {
    fprintf(stderr, "echo-load: --conns >= 1, --size >= 8, --duration > 0, --warmup >= 0\n");
    exit(2);
  }
}

static socklen_t resolve(struct sockaddr_storage *sa) {
  memset(sa, 0, sizeof *sa);
  struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;
  if (inet_pton(AF_INET, opt_host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(opt_port);
    return sizeof *a4;
  }
  if (inet_pton(AF_INET6, opt_host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(opt_port);
    return sizeof *a6;
  }
  fprintf(stderr, "echo-load: --host must be a numeric IPv4/IPv6 address\n");
  exit(2);
}

static int run_idle(const struct sockaddr_storage *sa, socklen_t salen) {
  int *fds = calloc((size_t)opt_idle, sizeof(int));
  struct timeval tv = {5, 0};
  for (int base = 0; base < opt_idle; base += 256) {
    int end = base + 256 < opt_idle ? base + 256 : opt_idle;
    for (int i = base; i < end; i++) {
      fds[i] = connect_one(sa, salen);
      setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      if (send(fds[i], "x", 1, MSG_NOSIGNAL) != 1) die("send");
    }
    for (int i = base; i < end; i++) {
      char c;
      if (recv(fds[i], &c, 1, 0) != 1) die("recv (idle ping)");
    }
  }
  printf("{\"ready\":%d}\n", opt_idle);
  fflush(stdout);
  struct pollfd pfd = {0, POLLIN, 0};
  uint64_t deadline = now_ns() + (uint64_t)(opt_hold * 1e9);
  char junk[256];
  while (now_ns() < deadline) {
    int r = poll(&pfd, 1, 200);
    if (r > 0 && read(0, junk, sizeof junk) <= 0) break;
  }
  for (int i = 0; i < opt_idle; i++) close(fds[i]);
  free(fds);
  return 0;
}

static void start_msg(conn_t *c, char *sbuf, uint64_t now) {
  c->seq++;
  memcpy(sbuf, &c->seq, 8);
  c->sent = c->got = 0;
  c->t0 = now;
}

// Sends what the kernel takes; returns -1 on a fatal error.
static int pump_send(conn_t *c, const char *sbuf) {
  while (c->sent < opt_size) {
    ssize_t n = send(c->fd, sbuf + c->sent, opt_size - c->sent, MSG_NOSIGNAL);
    if (n > 0) { c->sent += (size_t)n; continue; }
    if (n < 0 && errno == EAGAIN) return 0;
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  parse_args(argc, argv);
  struct sockaddr_storage sa;
  socklen_t salen = resolve(&sa);
  if (opt_idle > 0) return run_idle(&sa, salen);

  hist = calloc(HIST_BUCKETS + 1, sizeof(uint32_t));
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  conn_t *cs = calloc((size_t)opt_conns, sizeof(conn_t));
  // One send buffer per connection (its sequence number lives in the first 8 bytes).
  char *sbufs = malloc((size_t)opt_conns * opt_size);
  char *rbuf = malloc(opt_size);
  memset(sbufs, 'a', (size_t)opt_conns * opt_size);
  int alive = 0;
  uint64_t t = now_ns();
  for (int i = 0; i < opt_conns; i++) {
    conn_t *c = &cs[i];
    c->fd = connect_one(&sa, salen);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    alive++;
  }
  for (int i = 0; i < opt_conns; i++) {
    start_msg(&cs[i], sbufs + (size_t)i * opt_size, t);
    if (pump_send(&cs[i], sbufs + (size_t)i * opt_size) < 0) die("send");
  }

  uint64_t start = now_ns();
  uint64_t t_measure = start + (uint64_t)(opt_warmup * 1e9);
  uint64_t t_end = t_measure + (uint64_t)(opt_duration * 1e9);
  int measuring = 0;
  uint64_t ops = 0, errors = 0;
  long long cpu0 = -1, cpu1 = -1;
  uint64_t measured_ns = 0;
  struct epoll_event evs[256];

  while (alive > 0) {
    uint64_t now = now_ns();
    if (!measuring && now >= t_measure) {
      measuring = 1;
      t_measure = now;
      if (opt_stat_pid) cpu0 = proc_cpu_ticks(opt_stat_pid);
    }
    if (now >= t_end) {
      if (opt_stat_pid) cpu1 = proc_cpu_ticks(opt_stat_pid);
      measured_ns = now - t_measure;
      break;
    }
    int n = epoll_wait(ep, evs, 256, 100);
    if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
    now = now_ns();
    for (int k = 0; k < n; k++) {
      int i = (int)evs[k].data.u32;
      conn_t *c = &cs[i];
      char *sbuf = sbufs + (size_t)i * opt_size;
      if (c->fd < 0) continue;
      int bad = 0;
      if (evs[k].events & EPOLLOUT) {
        if (pump_send(c, sbuf) < 0) bad = 1;
      }
      while (!bad && (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
        ssize_t r = recv(c->fd, rbuf, opt_size - c->got, 0);
        if (r < 0 && errno == EAGAIN) break;
        if (r <= 0) { bad = 1; break; }
        if (c->got < 8) {  // check the sequence-number bytes as they arrive
          size_t m = (size_t)r < 8 - c->got ? (size_t)r : 8 - c->got;
          if (memcmp(rbuf, sbuf + c->got, m) != 0) { bad = 1; break; }
        }
        c->got += (size_t)r;
        if (c->got > c->sent) { bad = 1; break; }  // echo of bytes never sent
        if (c->got == opt_size) {
          if (measuring) {
            uint64_t b = (now - c->t0) / HIST_NS_PER_BUCKET;
            hist[b < HIST_BUCKETS ? b : HIST_BUCKETS]++;
            ops++;
          }
          start_msg(c, sbuf, now);
          if (pump_send(c, sbuf) < 0) { bad = 1; break; }
        }
      }
      if (bad) {
        errors++;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
        alive--;
        continue;
      }
      int want_out = c->sent < opt_size;
      if (want_out != c->want_out) {
        struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = want_out;
      }
    }
  }
  if (measured_ns == 0) measured_ns = now_ns() - t_measure;

  double p50 = -1, p99 = -1;
  uint64_t acc = 0;
  for (size_t b = 0; b <= HIST_BUCKETS && ops > 0; b++) {
    acc += hist[b];
    double us = (double)(b * HIST_NS_PER_BUCKET) / 1000.0 + 0.05;
    if (p50 < 0 && acc * 2 >= ops) p50 = us;
    if (p99 < 0 && acc * 100 >= ops * 99) { p99 = us; break; }
  }
  double secs = (double)measured_ns / 1e9;
  double cpu_us_per_op = -1;
  if (cpu0 >= 0 && cpu1 >= 0 && ops > 0)
    cpu_us_per_op = (double)(cpu1 - cpu0) * 1e6 / (double)sysconf(_SC_CLK_TCK) / (double)ops;
  printf("{\"rps\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"ops\":%llu,\"errors\":%llu,\"cpu_us_per_op\":%.3f,\"secs\":%.3f}\n",
         (double)ops / secs, p50, p99, (unsigned long long)ops, (unsigned long long)errors, cpu_us_per_op, secs);
  for (int i = 0; i < opt_conns; i++)
    if (cs[i].fd >= 0) close(cs[i].fd);
  return 0;
}
