// Shared helpers for the C/C++ baselines: file loading, the clock, medians, pinning.
#pragma once
#define _GNU_SOURCE 1
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// Reads a file with `pad` zero bytes after it; *n gets the file size.
static inline char *read_file(const char *path, size_t pad, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "cannot open %s\n", path); exit(2); }
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = (char *)aligned_alloc(64, ((size_t)len + pad + 63) / 64 * 64);
  memset(buf + len, 0, pad);
  if (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len) { fprintf(stderr, "short read\n"); exit(2); }
  fclose(f);
  *n = (size_t)len;
  return buf;
}

static inline void pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  sched_setaffinity(0, sizeof(s), &s);
}

static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static inline double median(double *xs, int n) {
  qsort(xs, n, sizeof(double), cmp_double);
  return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
}
