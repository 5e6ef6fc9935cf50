import FastBook

/// One row of recorded market data as a backtest replays it: a book level (from a diff or a
/// snapshot), the clearing of a side before a snapshot, or a public trade — with both of its
/// times, the venue's (when it happened there) and the recorder's (when it was received). The
/// venue-neutral form a connector's capture reader produces (one message may give many rows: a
/// diff gives one per level, bids first), and what the simulated exchange (on exchange time) and
/// the strategy's book (on local time) each consume in their own order.
@frozen
public struct MarketRow: BitwiseCopyable, Equatable, Sendable {
  public enum Kind: UInt8, Sendable, BitwiseCopyable {
    /// A level from a diff: `quantity` 0 removes it.
    case level
    /// A level from a snapshot (after the `clear` of its side).
    case snapshotLevel
    /// A snapshot is about to replace a side: clear it from `price` to its best (`price` is the
    /// snapshot's far end on that side: its lowest bid, its highest ask).
    case clear
    /// A public trade; `side` is the aggressor's (`.bid`: a buyer took liquidity).
    case trade
  }

  public var kind: Kind
  public var side: Side
  /// Venue time (ns since the Unix epoch).
  public var exchangeNs: Int64
  /// Receive time (ns, the recorder's clock).
  public var localNs: Int64
  /// Price at the instrument's price scale.
  public var price: Int64
  /// Quantity at the instrument's quantity scale.
  public var quantity: Int64

  public init(kind: Kind, side: Side, exchangeNs: Int64, localNs: Int64, price: Int64, quantity: Int64) {
    self.kind = kind
    self.side = side
    self.exchangeNs = exchangeNs
    self.localNs = localNs
    self.price = price
    self.quantity = quantity
  }
}
