// Reference TCP echo server in plain C on liburing: the ceiling net-bench's ringloop rows
// are read against (what io_uring gives on this machine with no JS, no libuv, no N-API).
//   perf/bin/uring-echo-ref [--port P] [--defer]
// Prints {"port":P} on stdout once listening. --defer sets up the ring with
// IORING_SETUP_DEFER_TASKRUN (kernel >= 6.1) instead of COOP_TASKRUN|TASKRUN_FLAG.
// Same shape as ringloop's uring backend: multishot accept, multishot recv into a provided
// buffer ring, one SEND per received chunk (sent straight from the ring buffer, which goes
// back to the ring when the send completes). Benchmark reference only: a short send is
// finished by resubmitting the rest, which keeps order only because net-bench's closed
// loop never has two chunks of one connection in flight.
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

enum { KIND_ACCEPT = 1, KIND_RECV = 2, KIND_SEND = 3 };
enum { BUF_COUNT = 4096, BUF_SIZE = 16384, GROUP = 7 };

// user_data: kind in the top byte, fd in bits 32..55, buffer id in the low 32 bits.
static inline unsigned long long tag(int kind, int fd, unsigned bid) {
  return ((unsigned long long)kind << 56) | ((unsigned long long)fd << 32) | bid;
}

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static unsigned mask;
static int listen_fd;
static unsigned *sent;  // bytes of the current chunk already sent, by buffer id

static struct io_uring_sqe *sqe_get(void) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
  if (!sqe) {
    io_uring_submit(&ring);
    sqe = io_uring_get_sqe(&ring);
  }
  return sqe;
}

static void arm_accept(void) {
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_multishot_accept(sqe, listen_fd, NULL, NULL, 0);
  io_uring_sqe_set_data64(sqe, tag(KIND_ACCEPT, listen_fd, 0));
}

static void arm_recv(int fd) {
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = GROUP;
  io_uring_sqe_set_data64(sqe, tag(KIND_RECV, fd, 0));
}

// Sends the first len bytes of ring buffer bid.
static void send_chunk(int fd, unsigned bid, unsigned len) {
  struct io_uring_sqe *sqe = sqe_get();
  io_uring_prep_send(sqe, fd, bufs + (size_t)bid * BUF_SIZE, len, MSG_NOSIGNAL);
  io_uring_sqe_set_data64(sqe, tag(KIND_SEND, fd, bid));
  sent[bid] = len;  // remembered so a short send can resubmit the rest
}

static void recycle(unsigned bid) {
  io_uring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, bid, mask, 0);
  io_uring_buf_ring_advance(br, 1);
}

int main(int argc, char **argv) {
  int port = 0, defer = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--defer")) defer = 1;
    else { fprintf(stderr, "usage: %s [--port P] [--defer]\n", argv[0]); return 2; }
  }
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL |
            (defer ? IORING_SETUP_DEFER_TASKRUN : IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
  p.cq_entries = 16384;
  int r = io_uring_queue_init_params(1024, &ring, &p);
  if (r < 0) { fprintf(stderr, "io_uring_queue_init_params: %s\n", strerror(-r)); return 1; }

  // liburing 2.3 has no io_uring_setup_buf_ring: map and register the ring by hand.
  size_t ring_bytes = BUF_COUNT * sizeof(struct io_uring_buf);
  br = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  bufs = malloc((size_t)BUF_COUNT * BUF_SIZE);
  sent = calloc(BUF_COUNT, sizeof *sent);
  if (br == MAP_FAILED || !bufs || !sent) { perror("alloc"); return 1; }
  struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = BUF_COUNT, .bgid = GROUP};
  r = io_uring_register_buf_ring(&ring, &reg, 0);
  if (r < 0) { fprintf(stderr, "io_uring_register_buf_ring: %s\n", strerror(-r)); return 1; }
  io_uring_buf_ring_init(br);
  mask = io_uring_buf_ring_mask(BUF_COUNT);
  for (unsigned b = 0; b < BUF_COUNT; b++) io_uring_buf_ring_add(br, bufs + (size_t)b * BUF_SIZE, BUF_SIZE, b, mask, (int)b);
  io_uring_buf_ring_advance(br, BUF_COUNT);

  listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) || listen(listen_fd, 1024)) { perror("listen"); return 1; }
  socklen_t alen = sizeof a;
  getsockname(listen_fd, (struct sockaddr *)&a, &alen);
  printf("{\"port\":%d}\n", ntohs(a.sin_port));
  fflush(stdout);

  arm_accept();
  for (;;) {
    io_uring_submit_and_wait(&ring, 1);
    struct io_uring_cqe *cqe;
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      seen++;
      int kind = (int)(cqe->user_data >> 56);
      int fd = (int)((cqe->user_data >> 32) & 0xffffff);
      unsigned bid = (unsigned)cqe->user_data;
      int res = cqe->res;
      if (kind == KIND_ACCEPT) {
        if (res >= 0) {
          setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          arm_recv(res);
        }
        if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
      } else if (kind == KIND_RECV) {
        if (res > 0) {
          send_chunk(fd, cqe->flags >> IORING_CQE_BUFFER_SHIFT, (unsigned)res);
          if (!(cqe->flags & IORING_CQE_F_MORE)) arm_recv(fd);
        } else if (res == -ENOBUFS) {
          arm_recv(fd);
        } else if (!(cqe->flags & IORING_CQE_F_MORE)) {
          close(fd);  // EOF or error: the closed-loop client is gone
        }
      } else if (kind == KIND_SEND) {
        unsigned len = sent[bid];
        if (res > 0 && (unsigned)res < len) {
          // Short send: the rest goes next (see the ordering note at the top).
          char *chunk = bufs + (size_t)bid * BUF_SIZE;
          memmove(chunk, chunk + res, len - (unsigned)res);
          send_chunk(fd, bid, len - (unsigned)res);
        } else {
          recycle(bid);
        }
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
}
