// CRing: liburing for Swift, plus the Linux helpers Swift's Glibc module hides.
//
// liburing's `static inline` helpers (io_uring_get_sqe, io_uring_prep_*, io_uring_peek_cqe,
// io_uring_cqe_seen, ...) import into Swift as they are and are called directly. Only what does
// not import is shimmed here; each shim says why and when it can go.
#ifndef CRING_H
#define CRING_H

// The libc prelude must come before <liburing.h>: liburing defines _GNU_SOURCE/_XOPEN_SOURCE
// first, and without these a clean debug build fails with an `fd_set` module conflict.
#include <sys/types.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <inttypes.h>
#include <time.h>
#include <fcntl.h>
#include <sched.h>
#include <liburing.h>

#ifdef __cplusplus
extern "C" {
#endif

// IOSQE_* are built from enum operands and do not import as constants. Delete these when
// Swift imports them (check with `IOSQE_FIXED_FILE` in a Swift file).
static const uint8_t CRING_IOSQE_FIXED_FILE = IOSQE_FIXED_FILE;
static const uint8_t CRING_IOSQE_IO_DRAIN = IOSQE_IO_DRAIN;
static const uint8_t CRING_IOSQE_IO_LINK = IOSQE_IO_LINK;
static const uint8_t CRING_IOSQE_IO_HARDLINK = IOSQE_IO_HARDLINK;
static const uint8_t CRING_IOSQE_ASYNC = IOSQE_ASYNC;
static const uint8_t CRING_IOSQE_BUFFER_SELECT = IOSQE_BUFFER_SELECT;
static const uint8_t CRING_IOSQE_CQE_SKIP_SUCCESS = IOSQE_CQE_SKIP_SUCCESS;

/// Allocates a `struct io_uring` at a stable heap address (the ring must not move once set up)
/// and initialises it with `entries` and `flags` (IORING_SETUP_*). Returns NULL and sets
/// `*err` to the negative errno on failure. Free with `cring_queue_free`.
struct io_uring *cring_queue_new(unsigned entries, unsigned flags, int *err);

/// Tears the ring down (`io_uring_queue_exit`) and frees it.
void cring_queue_free(struct io_uring *ring);

/// Sets up a provided-buffer ring of `entries` (a power of two) buffers for group `bgid`.
/// liburing 2.3 lacks `io_uring_setup_buf_ring` (2.4+): this is that function, mmap +
/// `io_uring_register_buf_ring`. Delete it when the minimum liburing is 2.4.
/// Returns NULL and sets `*err` (negative errno) on failure.
struct io_uring_buf_ring *cring_setup_buf_ring(struct io_uring *ring, unsigned entries,
                                               int bgid, int *err);

/// Unregisters and unmaps a ring made by `cring_setup_buf_ring`.
int cring_free_buf_ring(struct io_uring *ring, struct io_uring_buf_ring *br,
                        unsigned entries, int bgid);

#ifdef __cplusplus
}
#endif
#endif
