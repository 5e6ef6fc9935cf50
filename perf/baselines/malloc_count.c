// LD_PRELOAD shim that counts malloc/calloc/realloc/posix_memalign calls while counting is on.
// needletail-perf turns it on around a timed loop (via dlsym of malloc_count_enable) to prove the
// hot path allocates nothing, independently of package-benchmark.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <execinfo.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static _Atomic int enabled;
static _Atomic uint64_t count;
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

// Per-thread counting: a thread that calls malloc_count_thread(1) has its own allocations counted
// (in the same total) while other threads — a venue running in the same process — are not.
static __thread int thread_on;
void malloc_count_thread(int on) { thread_on = on; }
#define COUNTING (atomic_load_explicit(&enabled, memory_order_relaxed) || thread_on)

void malloc_count_enable(int on) { atomic_store(&enabled, on); }
uint64_t malloc_count_read(void) { return atomic_load(&count); }

// With MALLOC_COUNT_TRACE=N, the stacks of the first N counted allocations go to stderr: how an
// allocation on a hot path is found.
static _Atomic int traced;
static void trace(void) {
  static int limit = -1;
  if (limit < 0) {
    int was = atomic_exchange(&enabled, 0);  // getenv must not count or recurse
    int was_thread = thread_on;
    thread_on = 0;
    const char *e = getenv("MALLOC_COUNT_TRACE");
    limit = e ? atoi(e) : 0;
    thread_on = was_thread;
    atomic_store(&enabled, was);
  }
  if (atomic_fetch_add(&traced, 1) >= limit) return;
  int was = atomic_exchange(&enabled, 0);
  int was_thread = thread_on;
  thread_on = 0;
  void *frames[24];
  int n = backtrace(frames, 24);
  write(2, "-- counted allocation:\n", 23);
  backtrace_symbols_fd(frames, n, 2);
  thread_on = was_thread;
  atomic_store(&enabled, was);
}

void *malloc(size_t n) {
  if (COUNTING) {
    atomic_fetch_add(&count, 1);
    trace();
  }
  return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
  if (COUNTING) {
    atomic_fetch_add(&count, 1);
    trace();
  }
  return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
  if (COUNTING) {
    atomic_fetch_add(&count, 1);
    trace();
  }
  return __libc_realloc(p, n);
}
int posix_memalign(void **out, size_t align, size_t n) {
  if (COUNTING) {
    atomic_fetch_add(&count, 1);
    trace();
  }
  void *p = __libc_memalign(align, n);
  if (!p) return 12;
  *out = p;
  return 0;
}
void *aligned_alloc(size_t align, size_t n) {
  if (COUNTING) {
    atomic_fetch_add(&count, 1);
    trace();
  }
  return __libc_memalign(align, n);
}
