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

#ifdef __cplusplus
}
#endif
#endif
