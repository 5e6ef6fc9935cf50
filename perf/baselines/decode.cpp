// Baseline decoder: a plain simdjson On-Demand extraction of the fields needletail's depthUpdate
// decoder produces (U, u, E, every bid and ask as fixed-point price ticks at scale 2 and
// quantities at scale 8), written the obvious way: doc["field"], get_string(), a digit loop.
// Usage: decode JSONL [REPS]   (depthUpdate lines only; other lines are skipped)
//
// Built with -DNT_RAW_STRINGS it is the fastest plain way we know to do the same work, the
// baseline to beat: each price and quantity read with get_raw_json_string() (no unescaping, no
// copy into the string buffer) and converted from the raw bytes up to the closing quote. Its
// output keys start with cxx_raw_decode_ instead of cxx_decode_; the checksums must be equal.
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

#ifdef NT_RAW_STRINGS
#define NT_KEY "cxx_raw_decode_"
// Decimal bytes from p up to the closing quote, to fixed point (the same rules as to_fixed).
static inline int64_t raw_fixed(const char *p, int scale) {
  int64_t v = 0;
  int frac = -1;
  for (; *p != '"'; p++) {
    if (*p == '.') { frac = 0; continue; }
    if (frac >= 0) {
      if (frac == scale) continue;
      frac++;
    }
    v = v * 10 + (*p - '0');
  }
  for (int f = frac < 0 ? 0 : frac; f < scale; f++) v *= 10;
  return v;
}
#define NT_FIXED(v, scale) raw_fixed((v).get_raw_json_string().value().raw(), scale)
#else
#define NT_KEY "cxx_decode_"
#define NT_FIXED(v, scale) to_fixed((v).get_string(), scale)
#endif

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
        bids[nb].price = NT_FIXED(*it, 2);
        ++it;
        bids[nb].qty = NT_FIXED(*it, 8);
        nb++;
      }
      for (auto level : doc["a"].get_array()) {
        auto pair = level.get_array();
        auto it = pair.begin();
        asks[na].price = NT_FIXED(*it, 2);
        ++it;
        asks[na].qty = NT_FIXED(*it, 8);
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
  printf(NT_KEY "messages=%zu\n", starts.size());
  printf(NT_KEY "checksum_ids=%lld " NT_KEY "checksum_prices=%lld " NT_KEY "checksum_qty=%lld\n",
         (long long)ids, (long long)prices, (long long)qtys);
  printf(NT_KEY "ns_per_message_median=%.3f min=%.3f\n", median(ns, reps), mn);
  return 0;
}
