// Baseline decoder: a plain simdjson On-Demand extraction of the fields needletail's depthUpdate
// decoder produces (U, u, E, every bid and ask as fixed-point price ticks at scale 2 and
// quantities at scale 8), written the obvious way: doc["field"], get_string(), a digit loop.
// Usage: decode JSONL [REPS]   (depthUpdate lines only; other lines are skipped)
#include "common.h"

#include <simdjson.h>

#include <string_view>
#include <vector>

using namespace simdjson;

// Decimal string to fixed point at `scale` (exact when the extra digits are zeros).
static inline int64_t to_fixed(std::string_view s, int scale) {
  int64_t v = 0;
  int frac = -1;
  for (char c : s) {
    if (c == '.') { frac = 0; continue; }
    if (frac >= 0) {
      if (frac == scale) continue;
      frac++;
    }
    v = v * 10 + (c - '0');
  }
  for (int f = frac < 0 ? 0 : frac; f < scale; f++) v *= 10;
  return v;
}

struct Level { int64_t price, qty; };

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: decode JSONL [REPS]\n"); return 2; }
  int reps = argc > 2 ? atoi(argv[2]) : 5;
  if (reps > 64) reps = 64;
  size_t n;
  char *buf = read_file(argv[1], SIMDJSON_PADDING, &n);
  std::vector<size_t> starts, lens;
  const char key[] = "{\"e\":\"depthUpdate\"";
  size_t s = 0;
  for (size_t i = 0; i < n; i++) {
    if (buf[i] != '\n') continue;
    if (i - s > sizeof(key) && memcmp(buf + s, key, sizeof(key) - 1) == 0) {
      starts.push_back(s);
      lens.push_back(i - s);
    }
    s = i + 1;
  }
  ondemand::parser parser;
  std::vector<Level> bids(5000), asks(5000);
  double ns[64];
  int64_t ids = 0, prices = 0, qtys = 0;
  for (int r = 0; r < reps; r++) {
    ids = prices = qtys = 0;
    int64_t t0 = now_ns();
    for (size_t k = 0; k < starts.size(); k++) {
      ondemand::document doc = parser.iterate(buf + starts[k], lens[k], lens[k] + SIMDJSON_PADDING);
      int64_t E = doc["E"].get_int64();
      int64_t U = doc["U"].get_int64();
      int64_t u = doc["u"].get_int64();
      size_t nb = 0, na = 0;
      for (auto level : doc["b"].get_array()) {
        auto pair = level.get_array();
        auto it = pair.begin();
        bids[nb].price = to_fixed((*it).get_string(), 2);
        ++it;
        bids[nb].qty = to_fixed((*it).get_string(), 8);
        nb++;
      }
      for (auto level : doc["a"].get_array()) {
        auto pair = level.get_array();
        auto it = pair.begin();
        asks[na].price = to_fixed((*it).get_string(), 2);
        ++it;
        asks[na].qty = to_fixed((*it).get_string(), 8);
        na++;
      }
      (void)E;
      ids += U + u;
      for (size_t i = 0; i < nb; i++) { prices += bids[i].price; qtys += bids[i].qty; }
      for (size_t i = 0; i < na; i++) { prices += asks[i].price; qtys += asks[i].qty; }
    }
    int64_t t1 = now_ns();
    ns[r] = (double)(t1 - t0) / (double)starts.size();
  }
  double mn = ns[0];
  for (int r = 1; r < reps; r++) mn = ns[r] < mn ? ns[r] : mn;
  printf("cxx_decode_messages=%zu\n", starts.size());
  printf("cxx_decode_checksum_ids=%lld cxx_decode_checksum_prices=%lld cxx_decode_checksum_qty=%lld\n",
         (long long)ids, (long long)prices, (long long)qtys);
  printf("cxx_decode_ns_per_message_median=%.3f min=%.3f\n", median(ns, reps), mn);
  return 0;
}
