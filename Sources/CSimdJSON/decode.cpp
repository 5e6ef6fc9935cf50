// Binance market-data decoders over simdjson On-Demand. See include/nt_decode.h for the contract.
//
// One pass over the object's fields in document order, dispatching on the key's raw bytes, so the
// decoder does not depend on field order and never re-scans. Decimal strings are read straight
// from the input (get_raw_json_string: no unescaping, no copy) and converted to fixed point here.
#include "decode_common.h"

using namespace nt_detail;

extern "C" nt_status nt_parse_fixed(const char *text, size_t len, int32_t scale, int64_t *out) {
  if (!text || !out || scale < 0 || scale > 18) return NT_ERR_INVALID_ARGUMENT;
  return parse_fixed(text, text + len, scale, out);
}

extern "C" const char *nt_status_string(nt_status s) {
  switch (s) {
    case NT_OK: return "ok";
    case NT_ERR_MALFORMED_JSON: return "malformed or truncated JSON";
    case NT_ERR_WRONG_TYPE: return "field has the wrong JSON type";
    case NT_ERR_MISSING_FIELD: return "required field missing";
    case NT_ERR_BAD_NUMBER: return "price or quantity is not a decimal number";
    case NT_ERR_TOO_PRECISE: return "more decimals than the instrument's scale (never rounded)";
    case NT_ERR_OUT_OF_RANGE: return "number out of range";
    case NT_ERR_TOO_MANY_LEVELS: return "more levels than the caller's capacity";
    case NT_ERR_TOO_LARGE: return "message larger than the decoder's maximum";
    case NT_ERR_UNKNOWN_MESSAGE: return "not a message kind this decoder handles";
    case NT_ERR_INVALID_ARGUMENT: return "invalid argument";
  }
  return "unknown status";
}

nt_decoder *nt_decoder_new(size_t max_message_bytes) {
  if (max_message_bytes == 0) return nullptr;
  nt_decoder *d = new (std::nothrow) nt_decoder(max_message_bytes);
  if (!d) return nullptr;
  if (d->parser.allocate(max_message_bytes) != SUCCESS) {
    delete d;
    return nullptr;
  }
  d->padded = new (std::nothrow) char[max_message_bytes + NT_PADDING];
  if (!d->padded) {
    delete d;
    return nullptr;
  }
  return d;
}

void nt_decoder_free(nt_decoder *d) {
  if (!d) return;
  delete[] d->padded;
  delete d;
}

size_t nt_decoder_max_message_bytes(const nt_decoder *d) { return d ? d->max_bytes : 0; }

namespace {

// Which fields were seen, as bits.
enum : uint32_t {
  F_e = 1u << 0, F_E = 1u << 1, F_T = 1u << 2, F_U = 1u << 3, F_u = 1u << 4, F_pu = 1u << 5,
  F_b_levels = 1u << 6, F_a_levels = 1u << 7, F_b_str = 1u << 8, F_a_str = 1u << 9,
  F_B = 1u << 10, F_A = 1u << 11, F_t = 1u << 12, F_p = 1u << 13, F_q = 1u << 14, F_m = 1u << 15,
  F_lastUpdateId = 1u << 16, F_bids = 1u << 17, F_asks = 1u << 18,
};

enum EventType { EV_NONE, EV_DEPTH, EV_TRADE, EV_BOOK_TICKER, EV_OTHER };

struct Ctx {
  nt_binance_msg *out;
  int ps, qs;
  uint32_t seen = 0;
  EventType ev = EV_NONE;
  const char *field = "";
};

nt_status parse_levels(ondemand::value &v, nt_levels *lv, int ps, int qs) {
  if (!lv->items && lv->capacity > 0) return NT_ERR_INVALID_ARGUMENT;
  ondemand::array arr;
  NT_TRY_SJ(v.get_array().get(arr));
  std::string_view raw;
  NT_TRY_SJ(arr.raw_json().get(raw));
  const char *p = raw.data();
  const char *end = p + raw.size();
  // raw starts at '['.
  p = skip_ws(p + 1, end);
  uint32_t n = 0;
  if (p < end && *p == ']') {
    lv->count = 0;
    return NT_OK;
  }
  // expect(c): the next non-blank character must be c. Compact JSON (what venues send) has no
  // blanks, so the first comparison almost always decides.
#define NT_EXPECT(c, err)                           \
  do {                                              \
    if (simdjson_unlikely(p >= end || *p != (c))) { \
      p = skip_ws(p, end);                          \
      if (p >= end || *p != (c)) return (err);      \
    }                                               \
    p++;                                            \
  } while (0)
  while (true) {
    NT_EXPECT('[', NT_ERR_WRONG_TYPE);  // an element that is not a pair
    if (n >= lv->capacity) return NT_ERR_TOO_MANY_LEVELS;
    nt_level *level = &lv->items[n];
    const char *q;
    NT_EXPECT('"', NT_ERR_WRONG_TYPE);
    NT_TRY(parse_quoted_fixed(p, ps, &level->price, &q));
    p = q + 1;
    NT_EXPECT(',', NT_ERR_WRONG_TYPE);  // a level is exactly [price, qty]
    NT_EXPECT('"', NT_ERR_WRONG_TYPE);
    NT_TRY(parse_quoted_fixed(p, qs, &level->qty, &q));
    if (level->qty < 0) return NT_ERR_OUT_OF_RANGE;
    p = q + 1;
    NT_EXPECT(']', NT_ERR_WRONG_TYPE);
    n++;
    if (simdjson_likely(p < end && *p == ',')) {
      p++;
      continue;
    }
    p = skip_ws(p, end);
    if (p < end && *p == ',') {
      p++;
      continue;
    }
    if (p < end && *p == ']') break;
    return NT_ERR_MALFORMED_JSON;
  }
#undef NT_EXPECT
  lv->count = n;
  return NT_OK;
}

nt_status decode_fields(ondemand::object &obj, Ctx &c, bool top);

nt_status decode_field(const char *k, ondemand::value &v, Ctx &c, bool top) {
  nt_binance_msg *o = c.out;
  if (k[1] == '"') {
    c.field = nullptr;
    switch (k[0]) {
      case 'e': {
        c.field = "e";
        ondemand::raw_json_string r;
        NT_TRY_SJ(v.get_raw_json_string().get(r));
        const char *s = r.raw();
        if (key_is(s, "depthUpdate", 11)) c.ev = EV_DEPTH;
        else if (key_is(s, "trade", 5)) c.ev = EV_TRADE;
        else if (key_is(s, "bookTicker", 10)) c.ev = EV_BOOK_TICKER;
        else c.ev = EV_OTHER;
        c.seen |= F_e;
        return NT_OK;
      }
      case 'E':
        c.field = "E";
        c.seen |= F_E;
        NT_TRY(get_time(v, &o->depth.event_time_ms));
        o->trade.event_time_ms = o->depth.event_time_ms;
        o->ticker.event_time_ms = o->depth.event_time_ms;
        return NT_OK;
      case 'T':
        c.field = "T";
        c.seen |= F_T;
        NT_TRY(get_time(v, &o->depth.transaction_time_ms));
        o->trade.trade_time_ms = o->depth.transaction_time_ms;
        o->ticker.transaction_time_ms = o->depth.transaction_time_ms;
        return NT_OK;
      case 'U':
        c.field = "U";
        c.seen |= F_U;
        return get_id(v, &o->depth.first_update_id);
      case 'u':
        c.field = "u";
        c.seen |= F_u;
        NT_TRY(get_id(v, &o->depth.last_update_id));
        o->ticker.update_id = o->depth.last_update_id;
        return NT_OK;
      case 't':
        c.field = "t";
        c.seen |= F_t;
        return get_id(v, &o->trade.trade_id);
      case 'p':
        c.field = "p";
        c.seen |= F_p;
        return get_fixed(v, c.ps, &o->trade.price);
      case 'q':
        c.field = "q";
        c.seen |= F_q;
        NT_TRY(get_fixed(v, c.qs, &o->trade.qty));
        return o->trade.qty < 0 ? NT_ERR_OUT_OF_RANGE : NT_OK;
      case 'm': {
        c.field = "m";
        bool b;
        NT_TRY_SJ(v.get_bool().get(b));
        o->trade.buyer_is_maker = b ? 1 : 0;
        c.seen |= F_m;
        return NT_OK;
      }
      case 'b':
      case 'a': {
        const bool bid = k[0] == 'b';
        c.field = bid ? "b" : "a";
        ondemand::json_type t;
        NT_TRY_SJ(v.type().get(t));
        if (t == ondemand::json_type::array) {
          c.seen |= bid ? F_b_levels : F_a_levels;
          return parse_levels(v, bid ? &o->depth.bids : &o->depth.asks, c.ps, c.qs);
        }
        c.seen |= bid ? F_b_str : F_a_str;
        return get_fixed(v, c.ps, bid ? &o->ticker.bid_price : &o->ticker.ask_price);
      }
      case 'B':
      case 'A': {
        const bool bid = k[0] == 'B';
        c.field = bid ? "B" : "A";
        c.seen |= bid ? F_B : F_A;
        int64_t *dst = bid ? &o->ticker.bid_qty : &o->ticker.ask_qty;
        NT_TRY(get_fixed(v, c.qs, dst));
        return *dst < 0 ? NT_ERR_OUT_OF_RANGE : NT_OK;
      }
      default:
        return NT_OK;  // s, M, X, ...: not needed, skipped by the iterator
    }
  }
  if (key_is(k, "pu", 2)) {
    c.field = "pu";
    c.seen |= F_pu;
    return get_id(v, &o->depth.prev_update_id);
  }
  if (key_is(k, "lastUpdateId", 12)) {
    c.field = "lastUpdateId";
    c.seen |= F_lastUpdateId;
    return get_id(v, &o->depth.last_update_id);
  }
  if (key_is(k, "bids", 4)) {
    c.field = "bids";
    c.seen |= F_bids;
    return parse_levels(v, &o->depth.bids, c.ps, c.qs);
  }
  if (key_is(k, "asks", 4)) {
    c.field = "asks";
    c.seen |= F_asks;
    return parse_levels(v, &o->depth.asks, c.ps, c.qs);
  }
  if (top && key_is(k, "data", 4)) {
    c.field = "data";
    ondemand::object inner;
    NT_TRY_SJ(v.get_object().get(inner));
    o->enveloped = 1;
    return decode_fields(inner, c, false);
  }
  return NT_OK;  // unknown keys (stream, ps, ...) are skipped
}

nt_status decode_fields(ondemand::object &obj, Ctx &c, bool top) {
  for (auto f : obj) {
    ondemand::field field;
    c.field = "";
    NT_TRY_SJ(std::move(f).get(field));
    const char *k = field.key().raw();
    ondemand::value v = field.value();
    NT_TRY(decode_field(k, v, c, top));
  }
  return NT_OK;
}

nt_status resolve_kind(Ctx &c) {
  nt_binance_msg *o = c.out;
  auto require = [&](uint32_t bits, const char *name) -> bool {
    if ((c.seen & bits) == bits) return true;
    c.field = name;
    return false;
  };
  switch (c.ev) {
    case EV_DEPTH:
      if (!require(F_U, "U") || !require(F_u, "u") || !require(F_b_levels, "b") ||
          !require(F_a_levels, "a"))
        return NT_ERR_MISSING_FIELD;
      o->kind = NT_MSG_DEPTH_UPDATE;
      return NT_OK;
    case EV_TRADE:
      if (!require(F_t, "t") || !require(F_p, "p") || !require(F_q, "q")) return NT_ERR_MISSING_FIELD;
      o->kind = NT_MSG_TRADE;
      return NT_OK;
    case EV_BOOK_TICKER:
    book_ticker:
      if (!require(F_u, "u") || !require(F_b_str, "b") || !require(F_B, "B") ||
          !require(F_a_str, "a") || !require(F_A, "A"))
        return NT_ERR_MISSING_FIELD;
      o->kind = NT_MSG_BOOK_TICKER;
      return NT_OK;
    case EV_OTHER:
      c.field = "e";
      return NT_ERR_UNKNOWN_MESSAGE;
    case EV_NONE:
      if (c.seen & F_lastUpdateId) {
        if (!require(F_bids, "bids") || !require(F_asks, "asks")) return NT_ERR_MISSING_FIELD;
        o->kind = NT_MSG_DEPTH_SNAPSHOT;
        return NT_OK;
      }
      if ((c.seen & F_u) && (c.seen & (F_b_str | F_a_str | F_B | F_A))) goto book_ticker;
      c.field = "";
      return NT_ERR_UNKNOWN_MESSAGE;
  }
  return NT_ERR_UNKNOWN_MESSAGE;
}

void reset(nt_binance_msg *o) {
  o->kind = NT_MSG_NONE;
  o->enveloped = 0;
  o->depth.first_update_id = -1;
  o->depth.last_update_id = -1;
  o->depth.prev_update_id = -1;
  o->depth.event_time_ms = -1;
  o->depth.transaction_time_ms = -1;
  o->depth.bids.count = 0;
  o->depth.asks.count = 0;
  std::memset(&o->trade, 0, sizeof(o->trade));
  o->trade.trade_id = -1;
  o->trade.event_time_ms = -1;
  o->trade.trade_time_ms = -1;
  std::memset(&o->ticker, 0, sizeof(o->ticker));
  o->ticker.update_id = -1;
  o->ticker.event_time_ms = -1;
  o->ticker.transaction_time_ms = -1;
}

}  // namespace

extern "C" nt_status nt_binance_decode(nt_decoder *d, const char *input, size_t len, size_t capacity,
                                       int32_t ps, int32_t qs, nt_binance_msg *out, nt_error *err) {
  nt_error dummy;
  if (!err) err = &dummy;
  err->field = "";
  if (!out) {
    err->status = NT_ERR_INVALID_ARGUMENT;
    return NT_ERR_INVALID_ARGUMENT;
  }
  reset(out);
  if (!d || (!input && len > 0) || ps < 0 || ps > 18 || qs < 0 || qs > 18 || capacity < len) {
    err->status = NT_ERR_INVALID_ARGUMENT;
    return NT_ERR_INVALID_ARGUMENT;
  }
  Ctx c;
  c.out = out;
  c.ps = ps;
  c.qs = qs;
  nt_status st = parse_root(
      d, input, len, capacity, [&](ondemand::object &obj) { return decode_fields(obj, c, true); }, [&] { return resolve_kind(c); });
  if (st != NT_OK) {
    reset(out);
    err->field = c.field ? c.field : "";
  }
  err->status = st;
  return st;
}
