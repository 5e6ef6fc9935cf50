#define _GNU_SOURCE
#include "cplatform.h"

#include <errno.h>
#include <sched.h>
#include <pthread.h>
#include <string.h>

int cplat_pin_current_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0) return -errno;
  return 0;
}

int cplat_set_thread_name(const char *name) {
  char buf[16];
  strncpy(buf, name, 15);
  buf[15] = 0;
  return pthread_setname_np(pthread_self(), buf);
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

int cplat_allowed_cpu(int index) {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (index < 0 || sched_getaffinity(0, sizeof(set), &set) != 0) return -1;
  for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
    if (CPU_ISSET(cpu, &set) && index-- == 0) return cpu;
  }
  return -1;
}

int cplat_yield(void) { return sched_yield(); }
