// What the perf/ load generators share: the CPU time a server process has used so far,
// read from /proc/PID/stat (all its threads).
#pragma once

#include <stdio.h>
#include <string.h>

// utime + stime (clock ticks) of a whole process; -1 when unreadable.
static long long proc_cpu_ticks(int pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');  // comm may contain spaces: fields restart after ')'
  if (!p) return -1;
  unsigned long long ut = 0, st = 0;
  // after ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15)
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
  return (long long)(ut + st);
}
