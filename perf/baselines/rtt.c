// Loopback round-trip baselines for the Wire benchmark (perf/run-wire.sh).
//   rtt server PORT CPU               io_uring echo server, COOP_TASKRUN|TASKRUN_FLAG, spinning on the CQ
//   rtt uring HOST PORT N SIZE CPU    client: same setup, spinning; prints RTT percentiles
//   rtt block HOST PORT N SIZE CPU    client: blocking send/recv (reference)
// Loopback only; every loop is bounded by N.
#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void report(const char *name, int64_t *rtt, int n) {
  qsort(rtt, n, sizeof(int64_t), cmp_i64);
  printf("%s_samples=%d %s_rtt_ns_p50=%lld %s_rtt_ns_p99=%lld %s_rtt_ns_p999=%lld\n", name, n, name,
         (long long)rtt[n / 2], name, (long long)rtt[(int)(n * 0.99)], name, (long long)rtt[(int)(n * 0.999)]);
}

static int connect_to(const char *host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) { perror("connect"); exit(1); }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static void ring_init(struct io_uring *r) {
  struct io_uring_params p = {0};
  p.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  if (io_uring_queue_init_params(256, r, &p) != 0) { perror("io_uring"); exit(1); }
}

// Spins until one CQE is available; returns its result.
static int wait_spin(struct io_uring *r, uint64_t *ud) {
  struct io_uring_cqe *cqe;
  while (io_uring_peek_cqe(r, &cqe) != 0) {}
  int res = cqe->res;
  if (ud) *ud = cqe->user_data;
  io_uring_cqe_seen(r, cqe);
  return res;
}

static void server(int port, int cpu) {
  pin(cpu);
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0) { perror("bind"); exit(1); }
  listen(ls, 16);
  printf("READY %d\n", port);
  fflush(stdout);
  for (int conns = 0; conns < 64; conns++) {  // bounded: at most 64 clients in one run
    int fd = accept(ls, NULL, NULL);
    if (fd < 0) break;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct io_uring r;
    ring_init(&r);
    static char buf[65536];
    for (;;) {
      struct io_uring_sqe *s = io_uring_get_sqe(&r);
      io_uring_prep_recv(s, fd, buf, sizeof buf, 0);
      io_uring_submit(&r);
      int n = wait_spin(&r, NULL);
      if (n <= 0) break;
      int off = 0;
      while (off < n) {
        s = io_uring_get_sqe(&r);
        io_uring_prep_send(s, fd, buf + off, n - off, MSG_NOSIGNAL);
        io_uring_submit(&r);
        int w = wait_spin(&r, NULL);
        if (w <= 0) break;
        off += w;
      }
    }
    io_uring_queue_exit(&r);
    close(fd);
  }
}

static void client_uring(const char *host, int port, int n, int size, int cpu) {
  pin(cpu);
  int fd = connect_to(host, port);
  struct io_uring r;
  ring_init(&r);
  char *msg = malloc(size), *in = malloc(size);
  memset(msg, 'x', size);
  int64_t *rtt = malloc(sizeof(int64_t) * n);
  for (int i = -1000; i < n; i++) {
    int64_t t0 = now_ns();
    struct io_uring_sqe *s = io_uring_get_sqe(&r);
    io_uring_prep_send(s, fd, msg, size, MSG_NOSIGNAL);
    s->user_data = 1;
    s = io_uring_get_sqe(&r);
    io_uring_prep_recv(s, fd, in, size, MSG_WAITALL);
    s->user_data = 2;
    io_uring_submit(&r);
    int got = 0;
    for (int k = 0; k < 2; k++) {
      uint64_t ud;
      int res = wait_spin(&r, &ud);
      if (res < 0) { fprintf(stderr, "io error %d\n", res); exit(1); }
      if (ud == 2) got = res;
    }
    if (got != size) { fprintf(stderr, "short echo %d\n", got); exit(1); }
    if (i >= 0) rtt[i] = now_ns() - t0;
  }
  report("c_uring", rtt, n);
  close(fd);
}

static void client_block(const char *host, int port, int n, int size, int cpu) {
  pin(cpu);
  int fd = connect_to(host, port);
  char *msg = malloc(size), *in = malloc(size);
  memset(msg, 'x', size);
  int64_t *rtt = malloc(sizeof(int64_t) * n);
  for (int i = -1000; i < n; i++) {
    int64_t t0 = now_ns();
    if (send(fd, msg, size, MSG_NOSIGNAL) != size) { perror("send"); exit(1); }
    int got = 0;
    while (got < size) {
      int k = recv(fd, in + got, size - got, 0);
      if (k <= 0) { perror("recv"); exit(1); }
      got += k;
    }
    if (i >= 0) rtt[i] = now_ns() - t0;
  }
  report("c_block", rtt, n);
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: see the top of rtt.c\n"); return 2; }
  if (!strcmp(argv[1], "server")) server(atoi(argv[2]), atoi(argv[3]));
  else if (!strcmp(argv[1], "uring")) client_uring(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
  else client_block(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
  return 0;
}
