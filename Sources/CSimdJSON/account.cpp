// Binance account events (executionReport, outboundAccountPosition, balanceUpdate) and WebSocket
// API answers over simdjson On-Demand. See include/nt_decode.h for the contract. Like the market
// decoder: one pass over the fields in document order, dispatch on the key's raw bytes, strings
// read in place (texts are copied into the caller's fixed buffers, never allocated).
#include "decode_common.h"

using namespace nt_detail;

namespace {

enum : uint32_t {
  A_e = 1u << 0, A_c = 1u << 1, A_x = 1u << 2, A_i = 1u << 3, A_B = 1u << 4, A_a = 1u << 5,
  A_d = 1u << 6, A_event = 1u << 7, A_answer = 1u << 8,
};

struct ACtx {
  nt_account_msg *out;
  int ps, qs;
  uint32_t seen = 0;
  const char *field = "";
};

// The end (closing quote) of the JSON string whose body starts at p: simdjson has validated it,
// so an unescaped quote ends it.
inline const char *string_end(const char *p) {
  while (*p != '"') p += (*p == '\\') ? 2 : 1;
  return p;
}

// A string's raw bytes (escapes as written) into dst[0..<cap], cut at cap; null is "".
template <typename Len>
simdjson_inline nt_status get_text(ondemand::value &v, char *dst, size_t cap, Len *len) {
  bool is_null = false;
  if (v.is_null().get(is_null) == SUCCESS && is_null) {
    *len = 0;
    return NT_OK;
  }
  ondemand::raw_json_string raw;
  NT_TRY_SJ(v.get_raw_json_string().get(raw));
  const char *b = raw.raw();
  size_t n = (size_t)(string_end(b) - b);
  if (n > cap) n = cap;
  std::memcpy(dst, b, n);
  *len = (Len)n;
  return NT_OK;
}

// A request id: a string's bytes, or a number's token as written.
simdjson_inline nt_status get_id_text(ondemand::value &v, nt_answer *a) {
  ondemand::json_type t;
  NT_TRY_SJ(v.type().get(t));
  if (t == ondemand::json_type::string) return get_text(v, a->id, sizeof a->id, &a->id_len);
  std::string_view tok = v.raw_json_token();
  size_t n = tok.size();
  while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == '\t')) n--;
  if (n > sizeof a->id) n = sizeof a->id;
  std::memcpy(a->id, tok.data(), n);
  a->id_len = (uint8_t)n;
  return NT_OK;
}

// A decimal string at `scale`. One that does not fit (too precise, not a number, out of range)
// is named in `bad_number` and left at 0; only a value that is not a string fails the message.
// (`on_fail` replaces the 0 where a caller must tell "did not fit" from zero.)
simdjson_inline nt_status soft_fixed(ACtx &c, ondemand::value &v, int scale, int64_t *dst, const char *name,
                                     int64_t on_fail = 0) {
  ondemand::raw_json_string raw;
  NT_TRY_SJ(v.get_raw_json_string().get(raw));
  const char *endq;
  if (parse_quoted_fixed(raw.raw(), scale, dst, &endq) != NT_OK) {
    *dst = on_fail;
    if (!*c.out->bad_number) c.out->bad_number = name;
  }
  return NT_OK;
}

inline uint8_t exec_type(const char *s) {
  if (key_is(s, "NEW", 3)) return NT_EXEC_NEW;
  if (key_is(s, "TRADE", 5)) return NT_EXEC_TRADE;
  if (key_is(s, "CANCELED", 8)) return NT_EXEC_CANCELED;
  if (key_is(s, "EXPIRED", 7)) return NT_EXEC_EXPIRED;
  if (key_is(s, "REJECTED", 8)) return NT_EXEC_REJECTED;
  if (key_is(s, "REPLACED", 8)) return NT_EXEC_REPLACED;
  if (key_is(s, "TRADE_PREVENTION", 16)) return NT_EXEC_TRADE_PREVENTION;
  return NT_EXEC_OTHER;
}

inline uint8_t order_status(const char *s) {
  if (key_is(s, "NEW", 3)) return NT_ORDER_NEW;
  if (key_is(s, "PARTIALLY_FILLED", 16)) return NT_ORDER_PARTIALLY_FILLED;
  if (key_is(s, "FILLED", 6)) return NT_ORDER_FILLED;
  if (key_is(s, "CANCELED", 8)) return NT_ORDER_CANCELED;
  if (key_is(s, "PENDING_CANCEL", 14)) return NT_ORDER_PENDING_CANCEL;
  if (key_is(s, "REJECTED", 8)) return NT_ORDER_REJECTED;
  if (key_is(s, "EXPIRED", 7)) return NT_ORDER_EXPIRED;
  if (key_is(s, "EXPIRED_IN_MATCH", 16)) return NT_ORDER_EXPIRED_IN_MATCH;
  return NT_ORDER_OTHER;
}

// An order result's fills: price, qty, tradeId each (in any order); any missing fails.
nt_status parse_fills(ACtx &c, ondemand::value &v) {
  nt_fills *fs = &c.out->answer.fills;
  ondemand::array arr;
  NT_TRY_SJ(v.get_array().get(arr));
  for (auto item : arr) {
    ondemand::object o;
    NT_TRY_SJ(item.get_object().get(o));
    if (fs->count >= fs->capacity) return NT_ERR_TOO_MANY_LEVELS;
    nt_fill *f = &fs->items[fs->count];
    uint32_t have = 0;
    for (auto g : o) {
      ondemand::field field;
      NT_TRY_SJ(std::move(g).get(field));
      const char *k = field.key().raw();
      ondemand::value fv = field.value();
      if (key_is(k, "price", 5)) {
        have |= 1;
        NT_TRY(soft_fixed(c, fv, c.ps, &f->price, "result.fills.price"));
      } else if (key_is(k, "qty", 3)) {
        have |= 2;
        NT_TRY(soft_fixed(c, fv, c.qs, &f->qty, "result.fills.qty"));
      } else if (key_is(k, "tradeId", 7)) {
        have |= 4;
        NT_TRY(get_id(fv, &f->trade_id));
      }
    }
    if (have != 7) {
      c.field = (have & 1) == 0 ? "result.fills.price" : (have & 2) == 0 ? "result.fills.qty" : "result.fills.tradeId";
      return NT_ERR_MISSING_FIELD;
    }
    fs->count++;
  }
  return NT_OK;
}

nt_status parse_balances(ACtx &c, ondemand::value &v) {
  nt_balances *bs = &c.out->balances;
  ondemand::array arr;
  NT_TRY_SJ(v.get_array().get(arr));
  for (auto item : arr) {
    ondemand::object o;
    NT_TRY_SJ(item.get_object().get(o));
    if (bs->count >= bs->capacity) return NT_ERR_TOO_MANY_LEVELS;
    nt_balance *b = &bs->items[bs->count];
    b->asset_len = b->free_len = b->locked_len = 0;
    uint32_t have = 0;
    for (auto f : o) {
      ondemand::field field;
      NT_TRY_SJ(std::move(f).get(field));
      const char *k = field.key().raw();
      ondemand::value fv = field.value();
      if (k[1] != '"') continue;
      switch (k[0]) {
        case 'a': have |= 1; NT_TRY(get_text(fv, b->asset, sizeof b->asset, &b->asset_len)); break;
        case 'f': have |= 2; NT_TRY(get_text(fv, b->free, sizeof b->free, &b->free_len)); break;
        case 'l': have |= 4; NT_TRY(get_text(fv, b->locked, sizeof b->locked, &b->locked_len)); break;
        default: break;
      }
    }
    if (have != 7) {
      c.field = (have & 1) == 0 ? "B.a" : (have & 2) == 0 ? "B.f" : "B.l";
      return NT_ERR_MISSING_FIELD;
    }
    bs->count++;
  }
  return NT_OK;
}

// One field of an event (in the envelope's "event", or a bare event at the top).
nt_status event_field(const char *k, ondemand::value &v, ACtx &c) {
  nt_account_msg *o = c.out;
  nt_execution_report *r = &o->report;
  if (k[1] != '"') return NT_OK;  // every event field this decodes has a one-letter key
  static const char names[][2] = {{'e', 0}, {'E', 0}, {'s', 0}, {'c', 0}, {'C', 0}, {'S', 0},
                                  {'x', 0}, {'i', 0}, {'l', 0}, {'L', 0}, {'z', 0}, {'t', 0},
                                  {'n', 0}, {'N', 0}, {'r', 0}, {'T', 0}, {'p', 0}, {'q', 0},
                                  {'B', 0}, {'a', 0}, {'d', 0}, {'m', 0}};
  for (auto &n : names)
    if (n[0] == k[0]) c.field = n;
  switch (k[0]) {
    case 'e':
      c.seen |= A_e;
      return get_text(v, o->event_type, sizeof o->event_type, &o->event_type_len);
    case 'E': return get_time(v, &r->event_time_ms);
    case 'T': return get_time(v, &r->transaction_time_ms);
    case 's': return get_text(v, r->symbol, sizeof r->symbol, &r->symbol_len);
    case 'c':
      c.seen |= A_c;
      return get_text(v, r->client_id, sizeof r->client_id, &r->client_id_len);
    case 'C': return get_text(v, r->orig_client_id, sizeof r->orig_client_id, &r->orig_client_id_len);
    case 'r': return get_text(v, r->reject_reason, sizeof r->reject_reason, &r->reject_reason_len);
    case 'N':
      return get_text(v, r->commission_asset, sizeof r->commission_asset, &r->commission_asset_len);
    case 'S': {
      ondemand::raw_json_string raw;
      NT_TRY_SJ(v.get_raw_json_string().get(raw));
      r->side = key_is(raw.raw(), "BUY", 3) ? 1 : key_is(raw.raw(), "SELL", 4) ? 2 : 0;
      return NT_OK;
    }
    case 'x': {
      ondemand::raw_json_string raw;
      NT_TRY_SJ(v.get_raw_json_string().get(raw));
      r->exec_type = exec_type(raw.raw());
      c.seen |= A_x;
      return NT_OK;
    }
    case 'i':
      c.seen |= A_i;
      return get_id(v, &r->order_id);
    case 't': return get_time(v, &r->trade_id);  // -1 when the event is not a trade
    case 'p': return soft_fixed(c, v, c.ps, &r->price, "p");
    case 'q': return soft_fixed(c, v, c.qs, &r->qty, "q");
    case 'L': return soft_fixed(c, v, c.ps, &r->last_price, "L");
    case 'l': return soft_fixed(c, v, c.qs, &r->last_qty, "l");
    case 'z': return soft_fixed(c, v, c.qs, &r->cum_qty, "z");
    case 'n': return soft_fixed(c, v, 8, &r->commission, "n");
    case 'm': {
      bool b;
      NT_TRY_SJ(v.get_bool().get(b));
      r->is_maker = b ? 1 : 0;
      return NT_OK;
    }
    case 'B':
      c.seen |= A_B;
      return parse_balances(c, v);
    case 'a':
    case 'd': {
      // balanceUpdate: the asset and its delta, as the one balance entry.
      nt_balances *bs = &o->balances;
      if (bs->capacity == 0) return NT_ERR_TOO_MANY_LEVELS;
      nt_balance *b = &bs->items[0];
      if (k[0] == 'a') {
        c.seen |= A_a;
        return get_text(v, b->asset, sizeof b->asset, &b->asset_len);
      }
      c.seen |= A_d;
      return get_text(v, b->free, sizeof b->free, &b->free_len);
    }
    default: return NT_OK;
  }
}

nt_status answer_error(ondemand::value &v, ACtx &c) {
  nt_answer *a = &c.out->answer;
  a->has_error = 1;
  ondemand::object o;
  NT_TRY_SJ(v.get_object().get(o));
  for (auto f : o) {
    ondemand::field field;
    NT_TRY_SJ(std::move(f).get(field));
    const char *k = field.key().raw();
    ondemand::value fv = field.value();
    if (key_is(k, "code", 4)) {
      c.field = "error.code";
      NT_TRY(get_time(fv, &a->error_code));
    } else if (key_is(k, "msg", 3)) {
      c.field = "error.msg";
      NT_TRY(get_text(fv, a->error_msg, sizeof a->error_msg, &a->error_msg_len));
    } else if (key_is(k, "data", 4)) {
      ondemand::object d;
      if (fv.get_object().get(d) != SUCCESS) continue;
      for (auto g : d) {
        ondemand::field df;
        NT_TRY_SJ(std::move(g).get(df));
        if (key_is(df.key().raw(), "retryAfter", 10)) {
          c.field = "error.data.retryAfter";
          ondemand::value rv = df.value();
          NT_TRY(get_time(rv, &a->retry_after_ms));
        }
      }
    }
  }
  return NT_OK;
}

// The error-field names of an order's fields, as the message places them.
struct OrderNames {
  const char *order_id, *status, *executed_qty, *fills, *transact_time;
};
constexpr OrderNames kResultNames{
    "result.orderId", "result.status", "result.executedQty", "result.fills", "result.transactTime"};
constexpr OrderNames kBodyNames{"orderId", "status", "executedQty", "fills", "transactTime"};

// One field of an order (a WebSocket API order result or a REST order body) into `answer`:
// orderId, status, executedQty, fills; other keys are skipped.
nt_status order_field(const char *k, ondemand::value &v, ACtx &c, const OrderNames &n) {
  nt_answer *a = &c.out->answer;
  if (key_is(k, "orderId", 7)) {
    c.field = n.order_id;
    NT_TRY(get_id(v, &a->order_id));
  } else if (key_is(k, "status", 6)) {
    c.field = n.status;
    ondemand::raw_json_string raw;
    NT_TRY_SJ(v.get_raw_json_string().get(raw));
    a->order_status = order_status(raw.raw());
  } else if (key_is(k, "executedQty", 11)) {
    c.field = n.executed_qty;
    NT_TRY(soft_fixed(c, v, c.qs, &a->executed_qty, n.executed_qty));
  } else if (key_is(k, "fills", 5)) {
    c.field = n.fills;
    NT_TRY(parse_fills(c, v));
  } else if (key_is(k, "transactTime", 12)) {
    c.field = n.transact_time;
    NT_TRY(get_time(v, &a->transact_time_ms));
  }
  return NT_OK;
}

// rateLimits: [{rateLimitType, interval, intervalNum, limit, count}, ...] into answer.rates. Only
// advice about budgets: a field of another shape is skipped (the answer itself still reads), and
// a window past a year is not one (so that its nanoseconds fit an int64).
nt_status answer_rate_limits(ondemand::value &v, ACtx &c) {
  nt_answer *a = &c.out->answer;
  ondemand::array arr;
  if (v.get_array().get(arr) != SUCCESS) return NT_OK;
  for (auto item : arr) {
    ondemand::object o;
    c.field = "rateLimits[]";
    if (item.get_object().get(o) != SUCCESS) continue;
    nt_rate_count r{NT_RATE_OTHER, 0, -1};
    int64_t unit_ms = 0, n = 0;
    for (auto g : o) {
      ondemand::field field;
      NT_TRY_SJ(std::move(g).get(field));
      const char *k = field.key().raw();
      ondemand::value fv = field.value();
      if (key_is(k, "rateLimitType", 13)) {
        ondemand::raw_json_string raw;
        if (fv.get_raw_json_string().get(raw) != SUCCESS) continue;
        const char *t = raw.raw();
        r.type = key_is(t, "REQUEST_WEIGHT", 14) ? NT_RATE_REQUEST_WEIGHT
                 : key_is(t, "ORDERS", 6)        ? NT_RATE_ORDERS
                 : key_is(t, "RAW_REQUESTS", 12) ? NT_RATE_RAW_REQUESTS
                                                 : NT_RATE_OTHER;
      } else if (key_is(k, "interval", 8)) {
        ondemand::raw_json_string raw;
        if (fv.get_raw_json_string().get(raw) != SUCCESS) continue;
        const char *t = raw.raw();
        unit_ms = key_is(t, "SECOND", 6)   ? 1000
                  : key_is(t, "MINUTE", 6) ? 60000
                  : key_is(t, "HOUR", 4)   ? 3600000
                  : key_is(t, "DAY", 3)    ? 86400000
                                           : 0;
      } else if (key_is(k, "intervalNum", 11)) {
        if (fv.get_int64().get(n) != SUCCESS) n = 0;
      } else if (key_is(k, "count", 5)) {
        if (fv.get_int64().get(r.count) != SUCCESS) r.count = -1;
      }
    }
    const int64_t year_ms = 366LL * 86400000LL;
    r.window_ms = (n > 0 && unit_ms > 0 && n <= year_ms / unit_ms) ? unit_ms * n : 0;
    if (a->rate_count_n < NT_RATE_COUNTS) a->rates[a->rate_count_n++] = r;
  }
  return NT_OK;
}

nt_status answer_result(ondemand::value &v, ACtx &c) {
  nt_answer *a = &c.out->answer;
  a->has_result = 1;
  ondemand::json_type t;
  NT_TRY_SJ(v.type().get(t));
  if (t != ondemand::json_type::object) return NT_OK;  // other answers' results: skipped
  ondemand::object o;
  NT_TRY_SJ(v.get_object().get(o));
  for (auto f : o) {
    ondemand::field field;
    NT_TRY_SJ(std::move(f).get(field));
    const char *k = field.key().raw();
    ondemand::value rv = field.value();
    if (key_is(k, "subscriptionId", 14)) {
      c.field = "result.subscriptionId";
      NT_TRY(get_id(rv, &a->subscription_id));
    } else {
      NT_TRY(order_field(k, rv, c, kResultNames));
    }
  }
  return NT_OK;
}

nt_status top_fields(ondemand::object &obj, ACtx &c) {
  nt_account_msg *o = c.out;
  for (auto f : obj) {
    ondemand::field field;
    c.field = "";
    NT_TRY_SJ(std::move(f).get(field));
    const char *k = field.key().raw();
    ondemand::value v = field.value();
    if (key_is(k, "event", 5)) {
      c.field = "event";
      c.seen |= A_event;
      ondemand::object ev;
      NT_TRY_SJ(v.get_object().get(ev));
      for (auto g : ev) {
        ondemand::field ef;
        c.field = "";
        NT_TRY_SJ(std::move(g).get(ef));
        ondemand::value evv = ef.value();
        NT_TRY(event_field(ef.key().raw(), evv, c));
      }
    } else if (key_is(k, "subscriptionId", 14)) {
      c.field = "subscriptionId";
      NT_TRY(get_id(v, &o->subscription_id));
    } else if (key_is(k, "id", 2)) {
      c.field = "id";
      c.seen |= A_answer;
      NT_TRY(get_id_text(v, &o->answer));
    } else if (key_is(k, "status", 6)) {
      c.field = "status";
      c.seen |= A_answer;
      int64_t s;
      NT_TRY(get_time(v, &s));
      o->answer.status = (int32_t)s;
    } else if (key_is(k, "result", 6)) {
      c.field = "result";
      c.seen |= A_answer;
      NT_TRY(answer_result(v, c));
    } else if (key_is(k, "error", 5)) {
      c.field = "error";
      c.seen |= A_answer;
      NT_TRY(answer_error(v, c));
    } else if (key_is(k, "rateLimits", 10)) {
      c.field = "rateLimits";
      NT_TRY(answer_rate_limits(v, c));
    } else {
      // A bare event (no envelope) has its one-letter fields at the top.
      NT_TRY(event_field(k, v, c));
    }
  }
  return NT_OK;
}

bool text_is(const char *t, uint8_t len, const char *lit) {
  size_t n = std::strlen(lit);
  return len == n && std::memcmp(t, lit, n) == 0;
}

nt_status resolve(ACtx &c) {
  nt_account_msg *o = c.out;
  auto require = [&](uint32_t bits, const char *name) -> bool {
    if ((c.seen & bits) == bits) return true;
    c.field = name;
    return false;
  };
  if (c.seen & A_e) {
    const char *e = o->event_type;
    uint8_t n = o->event_type_len;
    if (text_is(e, n, "executionReport")) {
      if (!require(A_c, "c") || !require(A_x, "x") || !require(A_i, "i")) return NT_ERR_MISSING_FIELD;
      o->kind = NT_ACCOUNT_EXECUTION_REPORT;
    } else if (text_is(e, n, "outboundAccountPosition")) {
      if (!require(A_B, "B")) return NT_ERR_MISSING_FIELD;
      o->kind = NT_ACCOUNT_POSITION;
    } else if (text_is(e, n, "balanceUpdate")) {
      if (!require(A_a, "a") || !require(A_d, "d")) return NT_ERR_MISSING_FIELD;
      o->balances.count = 1;
      o->kind = NT_ACCOUNT_BALANCE_UPDATE;
    } else {
      o->kind = NT_ACCOUNT_OTHER_EVENT;
    }
    return NT_OK;
  }
  if (c.seen & A_event) {
    c.field = "e";
    return NT_ERR_MISSING_FIELD;
  }
  if (c.seen & A_answer) {
    o->kind = NT_ACCOUNT_ANSWER;
    return NT_OK;
  }
  c.field = "";
  return NT_ERR_UNKNOWN_MESSAGE;
}

void reset(nt_account_msg *o) {
  o->kind = NT_ACCOUNT_NONE;
  o->subscription_id = -1;
  o->event_type_len = 0;
  o->bad_number = "";
  nt_balances keep = o->balances;
  nt_fills keep_fills = o->answer.fills;
  std::memset(&o->report, 0, sizeof o->report);
  o->report.trade_id = -1;
  o->report.event_time_ms = -1;
  o->report.transaction_time_ms = -1;
  std::memset(&o->answer, 0, sizeof o->answer);
  o->answer.subscription_id = -1;
  o->answer.retry_after_ms = -1;
  o->answer.order_id = -1;
  o->answer.executed_qty = -1;
  o->answer.transact_time_ms = -1;
  o->answer.fills = keep_fills;
  o->answer.fills.count = 0;
  o->balances = keep;
  o->balances.count = 0;
}

// A REST body's root object: an order (the fields of a WebSocket API order result) or an error.
nt_status rest_fields(ondemand::object &obj, ACtx &c) {
  nt_answer *a = &c.out->answer;
  for (auto f : obj) {
    ondemand::field field;
    c.field = "";
    NT_TRY_SJ(std::move(f).get(field));
    const char *k = field.key().raw();
    ondemand::value v = field.value();
    if (key_is(k, "code", 4)) {
      c.field = "code";
      a->has_error = 1;
      NT_TRY(get_time(v, &a->error_code));
    } else if (key_is(k, "msg", 3)) {
      c.field = "msg";
      NT_TRY(get_text(v, a->error_msg, sizeof a->error_msg, &a->error_msg_len));
    } else {
      if (key_is(k, "orderId", 7)) a->has_result = 1;
      NT_TRY(order_field(k, v, c, kBodyNames));
    }
  }
  if (a->has_error) a->has_result = 0;
  return NT_OK;
}

// A myTrades list: id, orderId, price and qty of each entry (in any order); any missing fails.
nt_status rest_trades(ondemand::array &arr, ACtx &c, nt_rest_trades *ts) {
  for (auto item : arr) {
    ondemand::object o;
    c.field = "[]";
    NT_TRY_SJ(item.get_object().get(o));
    if (ts->count >= ts->capacity) return NT_ERR_TOO_MANY_LEVELS;
    nt_rest_trade *t = &ts->items[ts->count];
    uint32_t have = 0;
    for (auto g : o) {
      ondemand::field field;
      NT_TRY_SJ(std::move(g).get(field));
      const char *k = field.key().raw();
      ondemand::value fv = field.value();
      if (key_is(k, "id", 2)) {
        have |= 1;
        c.field = "[].id";
        NT_TRY(get_id(fv, &t->trade_id));
      } else if (key_is(k, "orderId", 7)) {
        have |= 2;
        c.field = "[].orderId";
        NT_TRY(get_id(fv, &t->order_id));
      } else if (key_is(k, "price", 5)) {
        have |= 4;
        c.field = "[].price";
        NT_TRY(soft_fixed(c, fv, c.ps, &t->price, "[].price", -1));
      } else if (key_is(k, "qty", 3)) {
        have |= 8;
        c.field = "[].qty";
        NT_TRY(soft_fixed(c, fv, c.qs, &t->qty, "[].qty", -1));
      }
    }
    if (have != 15) {
      c.field = (have & 1) == 0 ? "[].id" : (have & 2) == 0 ? "[].orderId" : (have & 4) == 0 ? "[].price" : "[].qty";
      return NT_ERR_MISSING_FIELD;
    }
    ts->count++;
  }
  c.out->kind = NT_ACCOUNT_TRADES;
  return NT_OK;
}

}  // namespace

extern "C" nt_status nt_binance_account_decode(nt_decoder *d, const char *input, size_t len, size_t capacity,
                                               int32_t ps, int32_t qs, nt_account_msg *out, nt_error *err) {
  nt_error dummy;
  if (!err) err = &dummy;
  err->field = "";
  if (!out) {
    err->status = NT_ERR_INVALID_ARGUMENT;
    return NT_ERR_INVALID_ARGUMENT;
  }
  reset(out);
  if (!d || (!input && len > 0) || ps < 0 || ps > 18 || qs < 0 || qs > 18 || capacity < len ||
      (out->balances.capacity > 0 && !out->balances.items) ||
      (out->answer.fills.capacity > 0 && !out->answer.fills.items)) {
    err->status = NT_ERR_INVALID_ARGUMENT;
    return NT_ERR_INVALID_ARGUMENT;
  }
  ACtx c;
  c.out = out;
  c.ps = ps;
  c.qs = qs;
  nt_status st = parse_root(
      d, input, len, capacity, [&](ondemand::object &obj) { return top_fields(obj, c); }, [&] { return resolve(c); });
  if (st != NT_OK) {
    reset(out);
    err->field = c.field ? c.field : "";
  }
  err->status = st;
  return st;
}

extern "C" nt_status nt_binance_rest_decode(nt_decoder *d, const char *input, size_t len, size_t capacity,
                                            int32_t ps, int32_t qs, nt_account_msg *out, nt_rest_trades *trades,
                                            nt_error *err) {
  nt_error dummy;
  if (!err) err = &dummy;
  err->field = "";
  if (!out || !trades || (trades->capacity > 0 && !trades->items)) {
    err->status = NT_ERR_INVALID_ARGUMENT;
    return NT_ERR_INVALID_ARGUMENT;
  }
  reset(out);
  trades->count = 0;
  if (!d || (!input && len > 0) || ps < 0 || ps > 18 || qs < 0 || qs > 18 || capacity < len ||
      (out->answer.fills.capacity > 0 && !out->answer.fills.items)) {
    err->status = NT_ERR_INVALID_ARGUMENT;
    return NT_ERR_INVALID_ARGUMENT;
  }
  ACtx c;
  c.out = out;
  c.ps = ps;
  c.qs = qs;
  nt_status st = parse_root(
      d, input, len, capacity, [&](ondemand::object &obj) { return rest_fields(obj, c); },
      [&] {
        if (out->kind == NT_ACCOUNT_TRADES) return NT_OK;
        if (!out->answer.has_error && !out->answer.has_result) {
          c.field = "orderId";
          return NT_ERR_MISSING_FIELD;
        }
        out->kind = NT_ACCOUNT_ANSWER;
        return NT_OK;
      },
      [&](ondemand::array &arr) { return rest_trades(arr, c, trades); });
  if (st != NT_OK) {
    reset(out);
    trades->count = 0;
    err->field = c.field ? c.field : "";
  }
  err->status = st;
  return st;
}
