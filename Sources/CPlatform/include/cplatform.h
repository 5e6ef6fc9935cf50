// CPlatform: the few Linux facilities Swift cannot spell or its Glibc module hides: the spin-wait
// hint, CPU pinning and the monotonic clock. No library is linked; FastBook may import it.
#ifndef CPLATFORM_H
#define CPLATFORM_H
#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Pins the calling thread to one CPU. `sched_setaffinity`/`CPU_SET` sit behind _GNU_SOURCE,
/// which Swift's Glibc module hides; delete when it exposes them. Returns 0 or -errno.
int cplat_pin_current_thread(int cpu);

/// The CPU the calling thread runs on (`sched_getcpu`, hidden for the same reason), or -errno.
/// Names the calling thread (first 15 bytes), as `top -H` and `perf` show it.
int cplat_set_thread_name(const char *name);

int cplat_current_cpu(void);

/// Number of CPUs this process may run on (from its affinity mask), or -errno.
int cplat_allowed_cpu_count(void);

/// The `index`-th CPU (in increasing order) this thread may run on, or -1 past the last.
int cplat_allowed_cpu(int index);

/// x86 `pause` / arm `yield`: the spin-wait hint. A function here because Swift has no
/// portable spelling of it; it is a single instruction and inlines across the C boundary.
static inline void cplat_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/// Monotonic clock in nanoseconds (CLOCK_MONOTONIC via vDSO: no syscall).
static inline int64_t cplat_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/// sched_yield(2): give the core away for one scheduling round.
int cplat_yield(void);

/// Wall-clock nanoseconds since the Unix epoch (CLOCK_REALTIME, vDSO).
static inline int64_t cplat_wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/// Wall-clock milliseconds since the Unix epoch (CLOCK_REALTIME, vDSO: no syscall, no allocation).
static inline int64_t cplat_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

#ifdef __cplusplus
}
#endif
#endif
