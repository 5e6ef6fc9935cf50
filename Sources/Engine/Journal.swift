/// One change to an order, as the strategy thread hands it to the side thread that keeps the
/// trade history (SQLite): fixed size, copied through a ring, never formatted on the hot path.
/// The order is named by its tag (its client order id is the run's prefix and the tag).
@frozen
public struct JournalRecord: BitwiseCopyable, Sendable, Equatable {
  @frozen
  public enum Kind: UInt8, BitwiseCopyable, Sendable {
    /// Tracked and about to be sent: `side`, `price`, `quantity`.
    case placed
    /// A cancel is being sent.
    case cancelRequested
    /// The venue holds it: `venueOrderID`.
    case created
    /// A fill: `tradeID`, `price`, `quantity`; `filled` is the order's total so far.
    case filled
    /// Filled completely.
    case completed
    /// Cancelled or expired at the venue.
    case cancelled
    /// Refused by the venue.
    case failed
    /// Given up on: the venue never knew it (repeatedly not found).
    case lost
    /// A cancel was refused; the order is working again.
    case cancelRefused
    /// The order's measured round trip (Unix ns): `price` the request sent, `quantity` the
    /// venue's event time, `filled` the answer received (see `roundTrip`).
    case roundTrip
  }
  public var kind: Kind
  public var side: TradeSide
  /// A fill: the order took liquidity (the taker's fee applies).
  public var taker = false
  public var tag: UInt64
  public var price: Int64
  public var quantity: Int64
  public var venueOrderID: Int64
  public var tradeID: Int64
  public var filled: Int64
  /// When the strategy thread saw it (the time source's `nowNs`: monotonic live, data time in a backtest).
  public var timeNs: Int64

  public init(
    kind: Kind, tag: UInt64, side: TradeSide = .buy, price: Int64 = 0, quantity: Int64 = 0,
    venueOrderID: Int64 = 0, tradeID: Int64 = 0, filled: Int64 = 0, timeNs: Int64
  ) {
    self.kind = kind
    self.side = side
    self.tag = tag
    self.price = price
    self.quantity = quantity
    self.venueOrderID = venueOrderID
    self.tradeID = tradeID
    self.filled = filled
    self.timeNs = timeNs
  }
}

extension JournalRecord {
  /// A `.roundTrip` record of order `tag`.
  public static func roundTrip(tag: UInt64, _ t: OrderRoundTrip, timeNs: Int64) -> JournalRecord {
    JournalRecord(
      kind: .roundTrip, tag: tag, price: t.requestNs, quantity: t.exchangeNs, filled: t.responseNs,
      timeNs: timeNs)
  }
  /// What a `.roundTrip` record carries.
  public var roundTrip: OrderRoundTrip {
    OrderRoundTrip(requestNs: price, exchangeNs: quantity, responseNs: filled)
  }
}

/// The side thread that receives a host's journal records.
public typealias OrderJournal = SideThread<JournalRecord>
