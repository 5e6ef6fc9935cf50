// Baseline SPSC ring in C11 atomics, the same design as FastBook's SPSCRing: power-of-two
// capacity, head and tail on separate 128-byte lines, each side caching the other's index.
//   ring throughput: producer on CPU 0, consumer on CPU 1, ITEMS uint64 values, checked by sum.
//   pingpong: two rings, one-way latency = round trip / 2, percentiles over SAMPLES.
// Usage: ring throughput [ITEMS] | ring pingpong [SAMPLES]   (throughput: 5 runs, median and best)
#include "common.h"

#include <pthread.h>
#include <stdatomic.h>

#define CAP 4096

typedef struct {
  _Alignas(128) _Atomic uint64_t head;
  uint64_t cached_tail;
  _Alignas(128) _Atomic uint64_t tail;
  uint64_t cached_head;
  _Alignas(128) uint64_t slots[];
} ring_t;

static ring_t *ring_new(size_t cap) {
  ring_t *r = aligned_alloc(128, sizeof(ring_t) + cap * sizeof(uint64_t));
  atomic_init(&r->head, 0);
  atomic_init(&r->tail, 0);
  r->cached_head = r->cached_tail = 0;
  return r;
}

static inline int push(ring_t *r, size_t mask, uint64_t v) {
  uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
  if (h - r->cached_tail == mask + 1) {
    r->cached_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    if (h - r->cached_tail == mask + 1) return 0;
  }
  r->slots[h & mask] = v;
  atomic_store_explicit(&r->head, h + 1, memory_order_release);
  return 1;
}

static inline int pop(ring_t *r, size_t mask, uint64_t *v) {
  uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
  if (t == r->cached_head) {
    r->cached_head = atomic_load_explicit(&r->head, memory_order_acquire);
    if (t == r->cached_head) return 0;
  }
  *v = r->slots[t & mask];
  atomic_store_explicit(&r->tail, t + 1, memory_order_release);
  return 1;
}

static inline void relax(void) { __builtin_ia32_pause(); }

static ring_t *g_ring, *g_back;
static uint64_t g_items;

static void *producer(void *arg) {
  (void)arg;
  pin(0);
  for (uint64_t i = 1; i <= g_items;) {
    if (push(g_ring, CAP - 1, i)) i++; else relax();
  }
  return NULL;
}

static void *echo(void *arg) {
  (void)arg;
  pin(1);
  for (uint64_t k = 0; k < g_items; k++) {
    uint64_t v;
    while (!pop(g_ring, 63, &v)) relax();
    while (!push(g_back, 63, v)) relax();
  }
  return NULL;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: ring throughput|pingpong [N]\n"); return 2; }
  if (strcmp(argv[1], "throughput") == 0) {
    g_items = argc > 2 ? strtoull(argv[2], 0, 10) : 50000000ULL;
    double rates[5];
    for (int r = 0; r < 5; r++) {
      g_ring = ring_new(CAP);
      pthread_t t;
      pthread_create(&t, NULL, producer, NULL);
      pin(1);
      uint64_t sum = 0, got = 0, v;
      int64_t t0 = now_ns();
      while (got < g_items) {
        if (pop(g_ring, CAP - 1, &v)) { sum += v; got++; } else relax();
      }
      int64_t t1 = now_ns();
      pthread_join(t, NULL);
      if (sum != g_items * (g_items + 1) / 2) { fprintf(stderr, "ring lost items\n"); return 1; }
      rates[r] = (double)g_items / ((double)(t1 - t0) / 1e9);
      free(g_ring);
    }
    double mx = rates[0];
    for (int r = 1; r < 5; r++) mx = rates[r] > mx ? rates[r] : mx;
    printf("c_ring_items=%llu c_ring_mops_median=%.2f c_ring_mops_max=%.2f\n", (unsigned long long)g_items, median(rates, 5) / 1e6, mx / 1e6);
  } else {
    uint64_t samples = argc > 2 ? strtoull(argv[2], 0, 10) : 1000000ULL;
    g_items = samples + 10000;
    g_ring = ring_new(64);
    g_back = ring_new(64);
    pthread_t t;
    pthread_create(&t, NULL, echo, NULL);
    pin(0);
    int64_t *rtt = malloc(sizeof(int64_t) * g_items);
    for (uint64_t i = 0; i < g_items; i++) {
      int64_t t0 = now_ns();
      uint64_t v;
      while (!push(g_ring, 63, (uint64_t)t0)) relax();
      while (!pop(g_back, 63, &v)) relax();
      rtt[i] = now_ns() - t0;
    }
    pthread_join(t, NULL);
    int64_t *s = rtt + 10000;
    qsort(s, samples, sizeof(int64_t), cmp_i64);
    printf("c_pingpong_samples=%llu c_pingpong_oneway_ns_p50=%lld c_pingpong_oneway_ns_p99=%lld "
           "c_pingpong_oneway_ns_p999=%lld\n", (unsigned long long)samples,
           (long long)s[samples / 2] / 2, (long long)s[(size_t)(samples * 0.99)] / 2,
           (long long)s[(size_t)(samples * 0.999)] / 2);
  }
  return 0;
}
