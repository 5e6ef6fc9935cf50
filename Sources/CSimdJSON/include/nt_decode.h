// CSimdJSON: venue messages decoded by simdjson On-Demand into flat, fixed-capacity C structs.
//
// The surface is plain C: structs, enums and status codes, never exceptions. One call decodes one
// message into caller-provided storage and allocates nothing (the decoder's buffers are sized
// once, at creation). Prices and quantities become fixed-point int64 raws at the scales the
// caller gives, exactly: digits past the scale must be zeros, anything else is an error (the same
// rules as FastBook's FixedPoint).
//
// Lifetime and padding: simdjson reads up to NT_PADDING bytes past the end of the input. Pass the
// number of readable bytes in `capacity`; when `capacity < len + NT_PADDING` the input is copied
// into the decoder's own padded buffer first (a memcpy, still no allocation). Nothing in an
// output struct points into the input: it may be reused as soon as the call returns.
//
// On any error the output's kind is NT_MSG_NONE and every level count is 0: a caller that checks
// the status cannot mistake a half-decoded message for data. The level arrays themselves may hold
// scratch values up to their capacity.
#ifndef NT_DECODE_H
#define NT_DECODE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Bytes of readable slack simdjson needs after the input (SIMDJSON_PADDING).
#define NT_PADDING 64

typedef enum nt_status {
  NT_OK = 0,
  /// Not JSON, or JSON cut short (unclosed string, object or array, trailing garbage).
  NT_ERR_MALFORMED_JSON = 1,
  /// A field has the wrong JSON type (a number where a string belongs, ...).
  NT_ERR_WRONG_TYPE = 2,
  /// A field the message kind requires is absent; `nt_error.field` names it.
  NT_ERR_MISSING_FIELD = 3,
  /// A price or quantity string is not a decimal number.
  NT_ERR_BAD_NUMBER = 4,
  /// A price or quantity has non-zero digits past the instrument's scale (never rounded).
  NT_ERR_TOO_PRECISE = 5,
  /// A number does not fit (int64 raw overflow, negative quantity or id).
  NT_ERR_OUT_OF_RANGE = 6,
  /// More levels than the caller's arrays hold.
  NT_ERR_TOO_MANY_LEVELS = 7,
  /// The input is larger than the decoder's maximum message size.
  NT_ERR_TOO_LARGE = 8,
  /// Valid JSON of a message kind this call does not decode.
  NT_ERR_UNKNOWN_MESSAGE = 9,
  /// Bad arguments (null pointers, scale outside 0...18).
  NT_ERR_INVALID_ARGUMENT = 10,
} nt_status;

/// A short constant English description of a status.
const char *nt_status_string(nt_status status);

typedef enum nt_msg_kind {
  NT_MSG_NONE = 0,
  /// Stream diff: `depthUpdate` (spot, or futures with `pu`).
  NT_MSG_DEPTH_UPDATE = 1,
  /// REST depth snapshot: `lastUpdateId`, `bids`, `asks`.
  NT_MSG_DEPTH_SNAPSHOT = 2,
  /// `trade`.
  NT_MSG_TRADE = 3,
  /// `bookTicker` (spot has no `e`/`E`; futures has `e`, `E`, `T`).
  NT_MSG_BOOK_TICKER = 4,
} nt_msg_kind;

typedef struct nt_level {
  int64_t price;  ///< raw at price_scale
  int64_t qty;    ///< raw at qty_scale; 0 deletes the level
} nt_level;

/// Caller-owned level storage: `items[0..<capacity]`; the decoder sets `count`.
typedef struct nt_levels {
  nt_level *items;
  uint32_t capacity;
  uint32_t count;
} nt_levels;

/// Depth diff or snapshot. Ids are -1 when absent.
typedef struct nt_depth {
  int64_t first_update_id;     ///< U (diff); -1 for a snapshot
  int64_t last_update_id;      ///< u (diff) or lastUpdateId (snapshot)
  int64_t prev_update_id;      ///< pu (futures diff); -1 when absent (spot)
  int64_t event_time_ms;       ///< E; -1 when absent
  int64_t transaction_time_ms; ///< T (futures); -1 when absent
  nt_levels bids;
  nt_levels asks;
} nt_depth;

typedef struct nt_trade {
  int64_t trade_id;        ///< t
  int64_t price;           ///< p
  int64_t qty;             ///< q
  int64_t event_time_ms;   ///< E
  int64_t trade_time_ms;   ///< T
  uint8_t buyer_is_maker;  ///< m
} nt_trade;

typedef struct nt_book_ticker {
  int64_t update_id;           ///< u
  int64_t bid_price, bid_qty;  ///< b, B
  int64_t ask_price, ask_qty;  ///< a, A
  int64_t event_time_ms;       ///< E; -1 for spot
  int64_t transaction_time_ms; ///< T; -1 for spot
} nt_book_ticker;

/// One decoded Binance market-data message: `kind` says which member holds data.
/// `depth.bids`/`depth.asks` must point at caller storage before the call.
typedef struct nt_binance_msg {
  nt_msg_kind kind;
  /// 1 when the message came in a combined-stream envelope {"stream":..,"data":{..}}.
  uint8_t enveloped;
  nt_depth depth;
  nt_trade trade;
  nt_book_ticker ticker;
} nt_binance_msg;

/// Where decoding failed, for logs and counters (never contains input bytes).
typedef struct nt_error {
  nt_status status;
  /// The field being decoded when it failed ("b", "u", ...), or "" — a static string.
  const char *field;
} nt_error;

typedef struct nt_decoder nt_decoder;

/// Creates a decoder for messages up to `max_message_bytes` (all buffers allocated here).
/// Returns NULL when memory cannot be had.
nt_decoder *nt_decoder_new(size_t max_message_bytes);
void nt_decoder_free(nt_decoder *decoder);
size_t nt_decoder_max_message_bytes(const nt_decoder *decoder);

/// Decodes one Binance spot or futures market-data message (raw or combined-stream envelope):
/// depthUpdate, REST depth snapshot, trade or bookTicker. See the file comment for padding,
/// lifetimes and what an error leaves behind.
nt_status nt_binance_decode(nt_decoder *decoder, const char *input, size_t len, size_t capacity,
                            int32_t price_scale, int32_t qty_scale, nt_binance_msg *out,
                            nt_error *error);

/// Exact decimal string -> fixed-point raw (the rules of FastBook's FixedPoint.parse).
/// Returns NT_OK, NT_ERR_BAD_NUMBER, NT_ERR_TOO_PRECISE or NT_ERR_OUT_OF_RANGE.
nt_status nt_parse_fixed(const char *text, size_t len, int32_t scale, int64_t *out);


// ---- Binance account events and WebSocket API answers ----
//
// The account stream (userDataStream over the WebSocket API) carries events in an envelope,
// {"subscriptionId":N,"event":{...}}, and the API's answers, {"id":..,"status":..,"result"|"error"}.
// Texts (client ids, assets, reasons, messages) are copied into fixed buffers, cut at their size
// (`*_len` is the copied length); decimals become raws at the scales given. A decimal that does
// not fit the scales (an event of another symbol, say) does not fail the message: its field is
// named in `bad_number` and the caller decides whether that event was its own.

#define NT_TEXT_ID 64
#define NT_TEXT_ASSET 16
#define NT_TEXT_MESSAGE 192
#define NT_TEXT_DECIMAL 48

typedef enum nt_account_kind {
  NT_ACCOUNT_NONE = 0,
  NT_ACCOUNT_EXECUTION_REPORT = 1,
  NT_ACCOUNT_POSITION = 2,        ///< outboundAccountPosition
  NT_ACCOUNT_BALANCE_UPDATE = 3,  ///< balanceUpdate
  NT_ACCOUNT_OTHER_EVENT = 4,     ///< an event of another type (`event_type` names it)
  NT_ACCOUNT_ANSWER = 5,          ///< a WebSocket API answer: see `answer`
  NT_ACCOUNT_TRADES = 6,          ///< a REST myTrades list: see nt_binance_rest_decode
} nt_account_kind;

typedef enum nt_exec_type {
  NT_EXEC_OTHER = 0,
  NT_EXEC_NEW = 1,
  NT_EXEC_CANCELED = 2,
  NT_EXEC_REPLACED = 3,
  NT_EXEC_REJECTED = 4,
  NT_EXEC_TRADE = 5,
  NT_EXEC_EXPIRED = 6,
  NT_EXEC_TRADE_PREVENTION = 7,
} nt_exec_type;

typedef struct nt_execution_report {
  char client_id[NT_TEXT_ID];          ///< c
  uint8_t client_id_len;
  char orig_client_id[NT_TEXT_ID];     ///< C (a cancel's original id); empty when absent or ""
  uint8_t orig_client_id_len;
  char symbol[NT_TEXT_ID];             ///< s
  uint8_t symbol_len;
  char reject_reason[NT_TEXT_ID];      ///< r
  uint8_t reject_reason_len;
  char commission_asset[NT_TEXT_ASSET];  ///< N; empty when null
  uint8_t commission_asset_len;
  uint8_t exec_type;                   ///< x, an nt_exec_type
  uint8_t side;                        ///< S: 1 BUY, 2 SELL, 0 other
  uint8_t is_maker;                    ///< m: 1 when this fill was on the maker side
  int64_t order_id;                    ///< i
  int64_t trade_id;                    ///< t; -1 when none
  int64_t price, qty;                  ///< p, q at the price and quantity scales
  int64_t last_price, last_qty;        ///< L, l
  int64_t cum_qty;                     ///< z
  int64_t commission;                  ///< n at scale 8
  int64_t event_time_ms;               ///< E; -1 when absent
  int64_t transaction_time_ms;         ///< T; -1 when absent
} nt_execution_report;

typedef struct nt_balance {
  char asset[NT_TEXT_ASSET];
  uint8_t asset_len;
  char free[NT_TEXT_DECIMAL];    ///< f (or a balanceUpdate's d), as written: balances pass int64
  uint8_t free_len;
  char locked[NT_TEXT_DECIMAL];  ///< l
  uint8_t locked_len;
} nt_balance;

/// Caller-owned balance storage; the decoder sets `count`.
typedef struct nt_balances {
  nt_balance *items;
  uint32_t capacity;
  uint32_t count;
} nt_balances;

/// An order's state as Binance names it (`status` of an order result).
typedef enum nt_order_status {
  NT_ORDER_OTHER = 0,
  NT_ORDER_NEW = 1,
  NT_ORDER_PARTIALLY_FILLED = 2,
  NT_ORDER_FILLED = 3,
  NT_ORDER_CANCELED = 4,
  NT_ORDER_PENDING_CANCEL = 5,
  NT_ORDER_REJECTED = 6,
  NT_ORDER_EXPIRED = 7,
  NT_ORDER_EXPIRED_IN_MATCH = 8,
} nt_order_status;

/// One fill of an order result (`result.fills[]`, a FULL answer).
typedef struct nt_fill {
  int64_t price, qty;  ///< at the price and quantity scales
  int64_t trade_id;    ///< tradeId
} nt_fill;

/// Caller-owned fill storage; the decoder sets `count`. More fills than `capacity` fail the
/// message (NT_ERR_TOO_MANY_LEVELS).
typedef struct nt_fills {
  nt_fill *items;
  uint32_t capacity;
  uint32_t count;
} nt_fills;

/// One entry of a WebSocket API answer's `rateLimits`: the venue's count of one limit.
typedef enum nt_rate_limit_type {
  NT_RATE_OTHER = 0,
  NT_RATE_REQUEST_WEIGHT = 1,
  NT_RATE_ORDERS = 2,
  NT_RATE_RAW_REQUESTS = 3,
} nt_rate_limit_type;

typedef struct nt_rate_count {
  uint8_t type;        ///< an nt_rate_limit_type
  int64_t window_ms;   ///< interval × intervalNum (SECOND, MINUTE, HOUR, DAY); 0 when unknown
  int64_t count;       ///< the venue's count in the current window; -1 when absent
} nt_rate_count;

#define NT_RATE_COUNTS 6

typedef struct nt_answer {
  char id[NT_TEXT_ID];   ///< the request's id (a string, or a number as written)
  uint8_t id_len;
  int32_t status;        ///< HTTP-like status; 0 when absent
  uint8_t has_result;
  int64_t subscription_id;  ///< result.subscriptionId; -1 when absent
  uint8_t has_error;
  int64_t error_code;       ///< error.code
  char error_msg[NT_TEXT_MESSAGE];
  uint16_t error_msg_len;
  int64_t retry_after_ms;   ///< error.data.retryAfter; -1 when absent
  /// An order result (order.place / order.cancel / order.status): `order_id` is -1 when the
  /// result has none, `order_status` 0 when it has no status.
  int64_t order_id;         ///< result.orderId
  uint8_t order_status;     ///< result.status, an nt_order_status
  int64_t executed_qty;     ///< result.executedQty at the quantity scale; -1 when absent
  nt_fills fills;           ///< result.fills
  int64_t transact_time_ms; ///< result.transactTime (the venue's time of the order's event); -1 when absent
  /// rateLimits: the first NT_RATE_COUNTS entries (further ones are skipped).
  uint8_t rate_count_n;
  nt_rate_count rates[NT_RATE_COUNTS];
} nt_answer;

typedef struct nt_account_msg {
  nt_account_kind kind;
  int64_t subscription_id;  ///< the event envelope's; -1 when absent
  char event_type[NT_TEXT_ID];  ///< e
  uint8_t event_type_len;
  /// The first decimal field that did not fit its scale ("L", "p", ...), or "".
  const char *bad_number;
  nt_execution_report report;
  /// outboundAccountPosition's B (balanceUpdate: one entry, `free` holding the delta d).
  nt_balances balances;
  nt_answer answer;
} nt_account_msg;

/// Decodes one message of the Binance account stream or WebSocket API: an event in its envelope
/// (or bare), or an answer. `out->balances` must point at caller storage. Same padding, lifetime
/// and error rules as nt_binance_decode; an event with no "e", or JSON of another shape, is
/// NT_ERR_UNKNOWN_MESSAGE.
nt_status nt_binance_account_decode(nt_decoder *decoder, const char *input, size_t len, size_t capacity,
                                    int32_t price_scale, int32_t qty_scale, nt_account_msg *out,
                                    nt_error *error);

/// One entry of a REST myTrades answer.
typedef struct nt_rest_trade {
  int64_t trade_id;  ///< id
  int64_t order_id;  ///< orderId
  int64_t price;     ///< at the price scale; -1 when it does not fit (the entry is not ours)
  int64_t qty;       ///< at the quantity scale; -1 when it does not fit
} nt_rest_trade;

/// Caller-owned trade storage; the decoder sets `count`. More entries than `capacity` fail the
/// message (NT_ERR_TOO_MANY_LEVELS).
typedef struct nt_rest_trades {
  nt_rest_trade *items;
  uint32_t capacity;
  uint32_t count;
} nt_rest_trades;

/// Decodes a Binance spot REST body. An object is an order (GET/POST/DELETE /api/v3/order:
/// `answer.has_result`, with `order_id`, `order_status`, `executed_qty` and `fills` as in a
/// WebSocket API order result) or an error ({"code":..,"msg":..}: `answer.has_error`), either way
/// kind NT_ACCOUNT_ANSWER; an array is a myTrades list into `trades` (every entry needs id,
/// orderId, price and qty), kind NT_ACCOUNT_TRADES. Same padding, lifetime and error rules as
/// nt_binance_decode.
nt_status nt_binance_rest_decode(nt_decoder *decoder, const char *input, size_t len, size_t capacity,
                                 int32_t price_scale, int32_t qty_scale, nt_account_msg *out,
                                 nt_rest_trades *trades, nt_error *error);

#ifdef __cplusplus
}
#endif
#endif
