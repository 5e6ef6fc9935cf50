// Baseline books over the pre-parsed level stream (gen_l2 format), the same loop as
// needletail-perf's `book` mode: apply every level, read the top of book after each message.
//   ladder: a tick-indexed array per side over the data's whole price range, best kept by index,
//           a linear scan when the best is deleted (the classic C++ ladder: the limit).
//   map:    std::map per side.
// Usage: book PRE_DIR ladder|map [REPS]
#include "common.h"

#include <functional>
#include <map>
#include <string>
#include <vector>

template <class T>
static std::vector<T> load(const std::string &path) {
  size_t n;
  char *b = read_file(path.c_str(), 0, &n);
  std::vector<T> v((T *)b, (T *)(b + n));
  free(b);
  return v;
}

struct Pre {
  std::vector<int64_t> off, price, qty, sbp, sbq, sap, saq;
  std::vector<uint8_t> side;
  explicit Pre(const std::string &d)
      : off(load<int64_t>(d + "/msg_off.i64")), price(load<int64_t>(d + "/lvl_price.i64")),
        qty(load<int64_t>(d + "/lvl_qty.i64")), sbp(load<int64_t>(d + "/snap_bid_price.i64")),
        sbq(load<int64_t>(d + "/snap_bid_qty.i64")), sap(load<int64_t>(d + "/snap_ask_price.i64")),
        saq(load<int64_t>(d + "/snap_ask_qty.i64")), side(load<uint8_t>(d + "/lvl_side.u8")) {}
};

struct Ladder {
  int64_t lo, n;
  std::vector<int64_t> bid, ask;
  int64_t best_bid = -1, best_ask = -1;  // indices, -1 = empty
  long bids = 0, asks = 0;
  Ladder(int64_t lo_, int64_t hi) : lo(lo_), n(hi - lo_ + 1), bid(n, 0), ask(n, 0) {}
  void clear() {
    std::fill(bid.begin(), bid.end(), 0);
    std::fill(ask.begin(), ask.end(), 0);
    best_bid = best_ask = -1;
    bids = asks = 0;
  }
  inline void update(int side, int64_t tick, int64_t q) {
    int64_t i = tick - lo;
    if (side == 0) {
      int64_t old = bid[i];
      bid[i] = q;
      if (q) {
        if (!old) bids++;
        if (i > best_bid) best_bid = i;
      } else if (old) {
        bids--;
        if (i == best_bid) {
          int64_t j = i - 1;
          while (j >= 0 && !bid[j]) j--;
          best_bid = j;
        }
      }
    } else {
      int64_t old = ask[i];
      ask[i] = q;
      if (q) {
        if (!old) asks++;
        if (best_ask < 0 || i < best_ask) best_ask = i;
      } else if (old) {
        asks--;
        if (i == best_ask) {
          int64_t j = i + 1;
          while (j < n && !ask[j]) j++;
          best_ask = j < n ? j : -1;
        }
      }
    }
  }
  int64_t top() const { return (best_bid >= 0 ? best_bid + lo : 0) + (best_ask >= 0 ? best_ask + lo : 0); }
};

struct MapBook {
  std::map<int64_t, int64_t, std::greater<int64_t>> bid;
  std::map<int64_t, int64_t> ask;
  void clear() { bid.clear(); ask.clear(); }
  inline void update(int side, int64_t tick, int64_t q) {
    if (side == 0) {
      if (q) bid[tick] = q; else bid.erase(tick);
    } else {
      if (q) ask[tick] = q; else ask.erase(tick);
    }
  }
  int64_t top() const { return (bid.empty() ? 0 : bid.begin()->first) + (ask.empty() ? 0 : ask.begin()->first); }
};

template <class Book>
static int64_t __attribute__((noinline)) apply_all(Book &b, const Pre &p) {
  int64_t check = 0;
  size_t i = (size_t)p.off[0];
  const size_t msgs = p.off.size() - 1;
  for (size_t m = 0; m < msgs; m++) {
    size_t end = (size_t)p.off[m + 1];
    for (; i < end; i++) b.update(p.side[i], p.price[i], p.qty[i]);
    check += b.top();
  }
  return check;
}

template <class Book>
static void load_snapshot(Book &b, const Pre &p) {
  b.clear();
  for (size_t i = 0; i < p.sbp.size(); i++) b.update(0, p.sbp[i], p.sbq[i]);
  for (size_t i = 0; i < p.sap.size(); i++) b.update(1, p.sap[i], p.saq[i]);
}

template <class Book>
static void run(Book &b, const Pre &p, int reps, const char *name, long (*count)(const Book &)) {
  double ns[64];
  int64_t check = 0;
  for (int r = 0; r < reps; r++) {
    load_snapshot(b, p);
    int64_t t0 = now_ns();
    check = apply_all(b, p);
    int64_t t1 = now_ns();
    ns[r] = (double)(t1 - t0) / (double)p.price.size();
  }
  double mn = ns[0];
  for (int r = 1; r < reps; r++) mn = ns[r] < mn ? ns[r] : mn;
  long bids = count(b), asks = count(b) >> 32;
  (void)bids; (void)asks;
  printf("%s_checksum=%lld\n", name, (long long)check);
  printf("%s_ns_per_level_median=%.3f min=%.3f\n", name, median(ns, reps), mn);
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: book PRE_DIR ladder|map [REPS]\n"); return 2; }
  Pre p(argv[1]);
  int reps = argc > 3 ? atoi(argv[3]) : 5;
  if (reps > 64) reps = 64;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (auto v : {&p.price, &p.sbp, &p.sap})
    for (int64_t t : *v) { lo = t < lo ? t : lo; hi = t > hi ? t : hi; }
  if (std::string(argv[2]) == "ladder") {
    Ladder b(lo, hi);
    run<Ladder>(b, p, reps, "ladder", [](const Ladder &) { return 0L; });
    printf("ladder_final_bids=%ld final_asks=%ld range_ticks=%lld\n", b.bids, b.asks, (long long)(hi - lo + 1));
  } else {
    MapBook b;
    run<MapBook>(b, p, reps, "map", [](const MapBook &) { return 0L; });
    printf("map_final_bids=%zu final_asks=%zu\n", b.bid.size(), b.ask.size());
  }
  return 0;
}
