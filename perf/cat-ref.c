// The physical reference for subprocess-bench's pipe throughput: N bytes through `cat`
// driven by plain C. The child is started as ringloop starts it (posix_spawn; its stdin and
// stdout a connected pair of Unix stream sockets each, as ringloop and libuv make a child's
// stdio pipes; CAT_REF_PIPE2=1: pipe(2) instead, CAT_REF_PIPE_SIZE=N: F_SETPIPE_SZ), our
// ends non-blocking; one thread writes from a 1 MiB buffer and reads into a 1 MiB buffer,
// sleeping in poll() when neither can proceed. No hashing, no copies beyond the kernel's:
// the ceiling for any library doing this.
//
//   perf/bin/cat-ref BYTES [cat argv...]      (default argv: cat)
//   prints {"mbps": <1e6 bytes/s>, "secs": <wall time, spawn to reap>}
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char* what) {
  perror(what);
  exit(1);
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s BYTES [argv...]\n", argv[0]);
    return 2;
  }
  long long total = atoll(argv[1]);
  char* defaultArgv[] = {"cat", NULL};
  char** childArgv = argc > 2 ? argv + 2 : defaultArgv;
  size_t chunk = 1 << 20;
  char* out = malloc(chunk);
  char* in = malloc(chunk);
  memset(out, 'a', chunk);

  double t0 = now();
  int toChild[2], fromChild[2];
  if (getenv("CAT_REF_PIPE2") == NULL) {
    // toChild: [0] the child's end, [1] ours; fromChild: [0] ours, [1] the child's.
    int a[2], b[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b) < 0) die("socketpair");
    toChild[0] = a[0];
    toChild[1] = a[1];
    fromChild[0] = b[0];
    fromChild[1] = b[1];
  } else if (pipe2(toChild, O_CLOEXEC) < 0 || pipe2(fromChild, O_CLOEXEC) < 0) {
    die("pipe2");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, toChild[0], 0);
  posix_spawn_file_actions_adddup2(&fa, fromChild[1], 1);
  pid_t pid;
  int err = posix_spawnp(&pid, childArgv[0], &fa, NULL, childArgv, environ);
  if (err != 0) {
    errno = err;
    die("posix_spawnp");
  }
  close(toChild[0]);
  close(fromChild[1]);
  int w = toChild[1], r = fromChild[0];
  const char* pipeSize = getenv("CAT_REF_PIPE_SIZE");
  if (pipeSize != NULL) {
    fcntl(w, F_SETPIPE_SZ, atoi(pipeSize));
    fcntl(r, F_SETPIPE_SZ, atoi(pipeSize));
  }
  fcntl(w, F_SETFL, O_NONBLOCK);
  fcntl(r, F_SETFL, O_NONBLOCK);

  long long sent = 0, got = 0;
  size_t off = 0;  // of the chunk being written
  while (r >= 0) {
    int progress = 0;
    if (w >= 0) {
      size_t want = chunk - off;
      if ((long long)want > total - sent) want = (size_t)(total - sent);
      ssize_t n = write(w, out + off, want);
      if (n > 0) {
        sent += n;
        off = (off + (size_t)n) % chunk;
        progress = 1;
        if (sent == total) {
          close(w);
          w = -1;
        }
      } else if (n < 0 && errno != EAGAIN) {
        die("write");
      }
    }
    ssize_t n = read(r, in, chunk);
    if (n > 0) {
      got += n;
      progress = 1;
    } else if (n == 0) {
      close(r);
      r = -1;
    } else if (errno != EAGAIN) {
      die("read");
    }
    if (!progress && r >= 0) {
      struct pollfd p[2] = {{r, POLLIN, 0}, {w, POLLOUT, 0}};
      poll(p, w >= 0 ? 2 : 1, -1);
    }
  }
  int status;
  if (waitpid(pid, &status, 0) < 0) die("waitpid");
  double secs = now() - t0;
  if (got != total || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "cat-ref: got %lld of %lld bytes, status %d\n", got, total, status);
    return 1;
  }
  printf("{\"mbps\":%.1f,\"secs\":%.4f}\n", total / 1e6 / secs, secs);
  return 0;
}
