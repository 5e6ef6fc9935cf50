#define _GNU_SOURCE
#include "cplatform.h"

#include <errno.h>
#include <sched.h>

int cplat_pin_current_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) return -errno;
  return 0;
}

int cplat_current_cpu(void) {
  int c = sched_getcpu();
  return c < 0 ? -errno : c;
}

int cplat_allowed_cpu_count(void) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return -errno;
  return CPU_COUNT(&set);
}

int cplat_yield(void) { return sched_yield(); }
