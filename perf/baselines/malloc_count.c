// LD_PRELOAD shim that counts malloc/calloc/realloc/posix_memalign calls while counting is on.
// needletail-perf turns it on around a timed loop (via dlsym of malloc_count_enable) to prove the
// hot path allocates nothing, independently of package-benchmark.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

static _Atomic int enabled;
static _Atomic uint64_t count;
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

void malloc_count_enable(int on) { atomic_store(&enabled, on); }
uint64_t malloc_count_read(void) { return atomic_load(&count); }

void *malloc(size_t n) {
  if (atomic_load_explicit(&enabled, memory_order_relaxed)) atomic_fetch_add(&count, 1);
  return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
  if (atomic_load_explicit(&enabled, memory_order_relaxed)) atomic_fetch_add(&count, 1);
  return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
  if (atomic_load_explicit(&enabled, memory_order_relaxed)) atomic_fetch_add(&count, 1);
  return __libc_realloc(p, n);
}
int posix_memalign(void **out, size_t align, size_t n) {
  if (atomic_load_explicit(&enabled, memory_order_relaxed)) atomic_fetch_add(&count, 1);
  void *p = __libc_memalign(align, n);
  if (!p) return 12;
  *out = p;
  return 0;
}
void *aligned_alloc(size_t align, size_t n) {
  if (atomic_load_explicit(&enabled, memory_order_relaxed)) atomic_fetch_add(&count, 1);
  return __libc_memalign(align, n);
}
