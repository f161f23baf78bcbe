// read-ceiling: what one thread can copy out of the page cache, for perf/RESULTS.md's
// fs-bench notes. pread(2) of FILE in 1 MiB reads into one reused page-aligned buffer (no
// page faults: pure copy; a destination 16 bytes off a page boundary, as malloc gives,
// copied at about half the speed here), and the same 1 MiB split into two 512 KiB preads on
// two threads at once. Prints the median MiB/s of 7 passes over the file for each.
//   sh perf/build.sh && perf/bin/read-ceiling FILE   (FILE in the page cache)
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)
#define PASSES 7

static int fd;
static off_t size;
static char* buf;
static pthread_barrier_t step;
static off_t at;  // the chunk both threads work on; size = stop

static double nowMs(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

static void* secondHalf(void* unused) {
  (void)unused;
  for (;;) {
    pthread_barrier_wait(&step);
    if (at >= size) return NULL;
    if (pread(fd, buf + CHUNK / 2, CHUNK / 2, at + CHUNK / 2) < 0) perror("pread");
    pthread_barrier_wait(&step);
  }
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: read-ceiling FILE\n");
    return 2;
  }
  fd = open(argv[1], O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    perror(argv[1]);
    return 1;
  }
  size = st.st_size & ~(off_t)(CHUNK - 1);
  if (posix_memalign((void**)&buf, 4096, CHUNK) != 0) return 1;
  memset(buf, 1, CHUNK);
  double one[PASSES], two[PASSES];
  for (int p = 0; p < PASSES; p++) {
    double t0 = nowMs();
    for (off_t off = 0; off < size; off += CHUNK)
      if (pread(fd, buf, CHUNK, off) < 0) perror("pread");
    one[p] = (size / 1048576.0) / ((nowMs() - t0) / 1000);
  }
  pthread_t helper;
  pthread_barrier_init(&step, NULL, 2);
  pthread_create(&helper, NULL, secondHalf, NULL);
  for (int p = 0; p < PASSES; p++) {
    double t0 = nowMs();
    for (off_t off = 0; off < size; off += CHUNK) {
      at = off;
      pthread_barrier_wait(&step);
      if (pread(fd, buf, CHUNK / 2, off) < 0) perror("pread");
      pthread_barrier_wait(&step);
    }
    two[p] = (size / 1048576.0) / ((nowMs() - t0) / 1000);
  }
  at = size;
  pthread_barrier_wait(&step);
  pthread_join(helper, NULL);
  qsort(one, PASSES, sizeof one[0], cmp);
  qsort(two, PASSES, sizeof two[0], cmp);
  printf("1 MiB preads, one thread: %.0f MiB/s\n", one[PASSES / 2]);
  printf("1 MiB as two 512 KiB preads on two threads: %.0f MiB/s\n", two[PASSES / 2]);
  return 0;
}
