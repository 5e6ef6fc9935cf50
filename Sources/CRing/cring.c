#define _GNU_SOURCE
#include "cring.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

struct io_uring *cring_queue_new(unsigned entries, unsigned flags, int *err) {
  struct io_uring *ring = calloc(1, sizeof(*ring));
  if (!ring) {
    *err = -ENOMEM;
    return NULL;
  }
  int ret = io_uring_queue_init(entries, ring, flags);
  if (ret < 0) {
    free(ring);
    *err = ret;
    return NULL;
  }
  *err = 0;
  return ring;
}

void cring_queue_free(struct io_uring *ring) {
  if (!ring) return;
  io_uring_queue_exit(ring);
  free(ring);
}

struct io_uring_buf_ring *cring_setup_buf_ring(struct io_uring *ring, unsigned entries,
                                               int bgid, int *err) {
  size_t size = (size_t)entries * sizeof(struct io_uring_buf);
  void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    *err = -errno;
    return NULL;
  }
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof(reg));
  reg.ring_addr = (uint64_t)(uintptr_t)mem;
  reg.ring_entries = entries;
  reg.bgid = (uint16_t)bgid;
  int ret = io_uring_register_buf_ring(ring, &reg, 0);
  if (ret < 0) {
    munmap(mem, size);
    *err = ret;
    return NULL;
  }
  struct io_uring_buf_ring *br = mem;
  io_uring_buf_ring_init(br);
  *err = 0;
  return br;
}

int cring_free_buf_ring(struct io_uring *ring, struct io_uring_buf_ring *br, unsigned entries,
                        int bgid) {
  int ret = io_uring_unregister_buf_ring(ring, bgid);
  munmap(br, (size_t)entries * sizeof(struct io_uring_buf));
  return ret;
}

