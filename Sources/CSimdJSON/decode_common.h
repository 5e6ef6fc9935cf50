// Internal to CSimdJSON: the decoder object and the helpers every message decoder shares
// (exact decimals, error mapping, field readers). Not part of the C surface.
#pragma once

#include "nt_decode.h"

#include <simdjson.h>

#include <cstring>
#include <new>
#include <type_traits>

using namespace simdjson;

static_assert(NT_PADDING == SIMDJSON_PADDING, "NT_PADDING must match simdjson");

struct nt_decoder {
  ondemand::parser parser;
  char *padded;  // max_message_bytes + NT_PADDING, for inputs without slack
  size_t max_bytes;
  explicit nt_decoder(size_t max) : parser(max), padded(nullptr), max_bytes(max) {}
};

static const int64_t kPow10[19] = {1LL,
                                   10LL,
                                   100LL,
                                   1000LL,
                                   10000LL,
                                   100000LL,
                                   1000000LL,
                                   10000000LL,
                                   100000000LL,
                                   1000000000LL,
                                   10000000000LL,
                                   100000000000LL,
                                   1000000000000LL,
                                   10000000000000LL,
                                   100000000000000LL,
                                   1000000000000000LL,
                                   10000000000000000LL,
                                   100000000000000000LL,
                                   1000000000000000000LL};

// Parses [-]digits[.digits] from p up to `end` (exclusive) or, when end is null, up to the
// closing quote of a JSON string. Exact: digits past `scale` must be zeros.
static inline nt_status parse_fixed(const char *p, const char *end, int scale, int64_t *out,
                                    const char **stop = nullptr) {
  bool negative = false;
  const bool quoted = end == nullptr;
#define NT_AT_END() (quoted ? (*p == '"') : (p == end))
  if (!NT_AT_END() && *p == '-') {
    negative = true;
    p++;
  } else if (!NT_AT_END() && *p == '+') {
    p++;
  }
  uint64_t mag = 0;
  int acc = 0;     // digits accumulated into mag (leading zeros included)
  int digits = 0;  // digits seen at all
  int frac = 0;
  bool slow = false;
  // Integer part.
  while (!NT_AT_END()) {
    unsigned d = (unsigned char)*p - '0';
    if (d > 9) break;
    if (acc < 18) {
      mag = mag * 10 + d;
      acc++;
    } else {
      uint64_t m;
      if (__builtin_mul_overflow(mag, 10u, &m) || __builtin_add_overflow(m, (uint64_t)d, &mag))
        return NT_ERR_OUT_OF_RANGE;
      slow = true;
    }
    digits++;
    p++;
  }
  if (!NT_AT_END() && *p == '.') {
    p++;
    while (!NT_AT_END()) {
      unsigned d = (unsigned char)*p - '0';
      if (d > 9) break;
      digits++;
      p++;
      if (frac == scale) {
        if (d != 0) return NT_ERR_TOO_PRECISE;
        continue;
      }
      frac++;
      if (acc < 18) {
        mag = mag * 10 + d;
        acc++;
      } else {
        uint64_t m;
        if (__builtin_mul_overflow(mag, 10u, &m) || __builtin_add_overflow(m, (uint64_t)d, &mag))
          return NT_ERR_OUT_OF_RANGE;
        slow = true;
      }
    }
  }
  if (!NT_AT_END() || digits == 0) return NT_ERR_BAD_NUMBER;
#undef NT_AT_END
  if (stop) *stop = p;
  int rest = scale - frac;
  if (rest > 0) {
    if (!slow && acc + rest <= 18) {
      mag *= (uint64_t)kPow10[rest];
    } else {
      uint64_t m;
      if (__builtin_mul_overflow(mag, (uint64_t)kPow10[rest], &m)) return NT_ERR_OUT_OF_RANGE;
      mag = m;
    }
  }
  const uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  if (mag > limit) return NT_ERR_OUT_OF_RANGE;
  *out = negative ? (int64_t)(0 - mag) : (int64_t)mag;
  return NT_OK;
}


// ---- Fast path for quoted decimals (SWAR, 8 digits at a time) ----
//
// Wire prices and quantities are short unsigned decimals ("97000.04000000", "0.00179000"). This
// reads 8 bytes at a time: it finds the run of digits with a bit trick, converts up to 8 digits
// with three multiplies (the well-known SWAR method), and checks that fraction digits past the
// scale are '0' with one compare. Anything unusual — a sign, more than 8 digits in a part, a scale
// above 10 — falls back to parse_fixed, which has the same rules. Reading 8 bytes past a short
// string is safe: the input always has NT_PADDING readable bytes after its end.

static inline uint64_t load8(const char *p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

// Number of leading ASCII digits in the 8 bytes (0..8).
static inline int digit_run(uint64_t v) {
  const uint64_t nondigit =
      ((v + 0x4646464646464646ULL) | (v - 0x3030303030303030ULL)) & 0x8080808080808080ULL;
  return nondigit ? __builtin_ctzll(nondigit) >> 3 : 8;
}

// Value of the first n (1..8) digits of v (little-endian ASCII).
static inline uint64_t digits_value(uint64_t v, int n) {
  v <<= (8 - n) * 8;  // the n digits to the high bytes, zeros (value 0) below
  v &= 0x0F0F0F0F0F0F0F0FULL;
  v = (v * 2561) >> 8;
  v = ((v & 0x00FF00FF00FF00FFULL) * 6553601) >> 16;
  return ((v & 0x0000FFFF0000FFFFULL) * 42949672960001ULL) >> 32;
}

// Parses the quoted number whose first character is at p; *endq gets its closing quote.
static inline nt_status parse_quoted_fixed(const char *p, int scale, int64_t *out, const char **endq) {
  if (scale <= 10) {
    uint64_t w = load8(p);
    int n1 = digit_run(w);
    if (n1 > 0 && n1 < 8) {
      uint64_t ip = digits_value(w, n1);
      const char *q = p + n1;
      if (*q == '"') {
        *out = (int64_t)(ip * (uint64_t)kPow10[scale]);
        *endq = q;
        return NT_OK;
      }
      if (*q == '.') {
        uint64_t f = load8(q + 1);
        int n2 = digit_run(f);
        if (n2 > 0 && n2 < 8 && q[1 + n2] == '"') {
          int take = n2 < scale ? n2 : scale;
          if (n2 > take) {
            // The digits past the scale must all be '0'.
            uint64_t extra = f >> (take * 8);
            uint64_t mask = (n2 - take) >= 8 ? ~0ULL : ((1ULL << ((n2 - take) * 8)) - 1);
            if ((extra & mask) != (0x3030303030303030ULL & mask)) return NT_ERR_TOO_PRECISE;
          }
          uint64_t fp = take ? digits_value(f, take) : 0;
          *out = (int64_t)(ip * (uint64_t)kPow10[scale] + fp * (uint64_t)kPow10[scale - take]);
          *endq = q + 1 + n2;
          return NT_OK;
        }
        if (n2 == 8 && scale >= 8) {
          // Exactly 8 fraction digits (Binance's spot format) at a scale of 8 or more.
          uint64_t fp = digits_value(f, 8);
          if (q[9] == '"') {
            *out = (int64_t)(ip * (uint64_t)kPow10[scale] + fp * (uint64_t)kPow10[scale - 8]);
            *endq = q + 9;
            return NT_OK;
          }
        } else if (n2 == 8 && q[9] == '"') {
          uint64_t extra = f >> (scale * 8);
          uint64_t mask = ((1ULL << ((8 - scale) * 8)) - 1);
          if ((extra & mask) != (0x3030303030303030ULL & mask)) return NT_ERR_TOO_PRECISE;
          uint64_t fp = scale ? digits_value(f, scale) : 0;
          *out = (int64_t)(ip * (uint64_t)kPow10[scale] + fp);
          *endq = q + 9;
          return NT_OK;
        }
      }
    }
  }
  return parse_fixed(p, nullptr, scale, out, endq);
}

static inline nt_status map_error(error_code e) {
  switch (e) {
    case SUCCESS: return NT_OK;
    case INCORRECT_TYPE: return NT_ERR_WRONG_TYPE;
    case NUMBER_OUT_OF_RANGE: return NT_ERR_OUT_OF_RANGE;
    case NUMBER_ERROR: return NT_ERR_BAD_NUMBER;
    case CAPACITY: return NT_ERR_TOO_LARGE;
    case NO_SUCH_FIELD: return NT_ERR_MISSING_FIELD;
    default: return NT_ERR_MALFORMED_JSON;
  }
}

namespace nt_detail {

#define NT_TRY(expr)                   \
  do {                                 \
    nt_status _s = (expr);             \
    if (_s != NT_OK) return _s;        \
  } while (0)

#define NT_TRY_SJ(expr)                   \
  do {                                    \
    error_code _e = (expr);               \
    if (_e != SUCCESS) return map_error(_e); \
  } while (0)

simdjson_inline nt_status get_fixed(ondemand::value &v, int scale, int64_t *out) {
  ondemand::raw_json_string raw;
  NT_TRY_SJ(v.get_raw_json_string().get(raw));
  const char *endq;
  return parse_quoted_fixed(raw.raw(), scale, out, &endq);
}

// An integer field that fails as int64 but is a JSON number (too big, or a fraction) is out of
// range, not of the wrong type.
simdjson_inline nt_status int_error(ondemand::value &v, error_code e) {
  ondemand::json_type t;
  if (e == INCORRECT_TYPE && v.type().get(t) == SUCCESS && t == ondemand::json_type::number)
    return NT_ERR_OUT_OF_RANGE;
  return map_error(e);
}

simdjson_inline nt_status get_id(ondemand::value &v, int64_t *out) {
  int64_t x;
  error_code e = v.get_int64().get(x);
  if (e != SUCCESS) return int_error(v, e);
  if (x < 0) return NT_ERR_OUT_OF_RANGE;
  *out = x;
  return NT_OK;
}

simdjson_inline nt_status get_time(ondemand::value &v, int64_t *out) {
  error_code e = v.get_int64().get(*out);
  return e == SUCCESS ? NT_OK : int_error(v, e);
}

inline const char *skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
  return p;
}

// A level array, [["price","qty"], ...], scanned straight from its raw JSON text: simdjson has
// already matched its brackets (raw_json skips the array through the structural index), so this
// only reads the strings. Every shape other than pairs of decimal strings is an error.
inline bool key_is(const char *k, const char *lit, size_t n) {
  return std::memcmp(k, lit, n) == 0 && k[n] == '"';
}

// A root that is not an object is no Binance message: valid JSON of another shape is an unknown
// message, anything else malformed.
inline nt_status root_not_object(ondemand::document &doc, ondemand::json_type root) {
  error_code e = SUCCESS;
  switch (root) {
    case ondemand::json_type::array: return NT_ERR_UNKNOWN_MESSAGE;
    case ondemand::json_type::number: e = doc.get_double().error(); break;
    case ondemand::json_type::string: e = doc.get_string().error(); break;
    case ondemand::json_type::boolean: e = doc.get_bool().error(); break;
    case ondemand::json_type::null: {
      bool is_null = false;
      e = doc.is_null().get(is_null);
      if (e == SUCCESS && !is_null) e = TAPE_ERROR;
      break;
    }
    default: e = TAPE_ERROR;
  }
  if (e != SUCCESS) return NT_ERR_MALFORMED_JSON;
  if (doc.current_location().error() == SUCCESS) return NT_ERR_MALFORMED_JSON;
  return NT_ERR_UNKNOWN_MESSAGE;
}

// The frame every message decoder shares: the size check, padding (a copy into the decoder's
// buffer when the input lacks slack), parsing, the root object, and the check for content after
// it. `fields(obj)` reads the root object; `resolve()` then decides what the message was.
//
// `array(arr)`, when given, reads a root array (a REST list answer); without it a root array is an
// unknown message.
template <typename Fields, typename Resolve, typename Array = std::nullptr_t>
inline nt_status parse_root(nt_decoder *d, const char *input, size_t len, size_t capacity, Fields fields,
                            Resolve resolve, Array array = nullptr) {
  if (len > d->max_bytes) return NT_ERR_TOO_LARGE;
  const char *buf = input;
  size_t cap = capacity;
  if (capacity - len < NT_PADDING) {
    if (len) std::memcpy(d->padded, input, len);
    std::memset(d->padded + len, 0, NT_PADDING);
    buf = d->padded;
    cap = len + NT_PADDING;
  }
  ondemand::document doc;
  error_code e = d->parser.iterate(buf, len, cap).get(doc);
  if (e != SUCCESS) return map_error(e);
  ondemand::json_type root;
  if ((e = doc.type().get(root)) != SUCCESS) return map_error(e);
  nt_status st;
  if constexpr (!std::is_same_v<Array, std::nullptr_t>) {
    if (root == ondemand::json_type::array) {
      ondemand::array arr;
      if ((e = doc.get_array().get(arr)) != SUCCESS) return map_error(e);
      st = array(arr);
      if (st == NT_OK && doc.current_location().error() == SUCCESS) st = NT_ERR_MALFORMED_JSON;
      if (st == NT_OK) st = resolve();
      return st;
    }
  }
  if (root != ondemand::json_type::object) return root_not_object(doc, root);
  ondemand::object obj;
  if ((e = doc.get_object().get(obj)) != SUCCESS) return map_error(e);
  st = fields(obj);
  // Trailing content after the root object: current_location() fails only at the end.
  if (st == NT_OK && doc.current_location().error() == SUCCESS) st = NT_ERR_MALFORMED_JSON;
  if (st == NT_OK) st = resolve();
  return st;
}

}  // namespace nt_detail

