import FastBook

// The records that cross the rings between the wire side and the strategy thread — the venue
// boundary (DESIGN.md): orders out (`WireOrder`), venue answers in (`ExecEvent`), book events and
// public trades in (`BookEvent`, in FastBook). Fixed size and reference-free.

/// When a book batch passed each stage on its way to a strategy decision (the time source's
/// `nowNs`; 0 = not measured). Rides with the order it caused, so the wire thread can log the whole path.
@frozen
public struct StageStamps: BitwiseCopyable, Sendable, Equatable {
  /// The receive completion of the frame that carried the batch (wire thread).
  public var recvNs: Int64 = 0
  /// The frame decoded (wire thread).
  public var decodedNs: Int64 = 0
  /// The batch applied to the strategy thread's book.
  public var appliedNs: Int64 = 0
  /// The strategy answered and the order passed the rule, the gate and the tracker.
  public var decidedNs: Int64 = 0
  /// The venue's update id of the batch (its last diff), or 0.
  public var updateID: Int64 = 0
  /// Whether the batch was a snapshot (a resync), not a diff.
  public var snapshot = false
  public init() {}
}

/// An order command from the strategy thread to the wire thread: fixed size and reference-free,
/// so it crosses an SPSC ring by copy. `tag` names the order: its client order id is the host's
/// prefix followed by the tag in decimal, which the wire side writes without a String.
@frozen
public struct WireOrder: BitwiseCopyable, Sendable, Equatable {
  @frozen
  public enum Kind: UInt8, BitwiseCopyable, Sendable {
    case place, cancel
    /// Reconciliation: ask the venue for this order's state (answered with exec events, or
    /// `notFound`).
    case status
    /// Reconciliation: after the status queries, fetch recent fills, then answer `reconciled`.
    case reconcileEnd
  }
  public var kind: Kind
  public var side: TradeSide
  public var postOnly: Bool
  public var immediateOrCancel: Bool
  public var tag: UInt64
  /// Raw at the instrument's price scale (place only).
  public var price: Int64
  /// Raw at the instrument's quantity scale (place only).
  public var quantity: Int64
  public var stamps: StageStamps

  public init(
    kind: Kind, tag: UInt64, side: TradeSide = .buy, price: Int64 = 0, quantity: Int64 = 0,
    postOnly: Bool = false, immediateOrCancel: Bool = false, stamps: StageStamps = StageStamps()
  ) {
    self.kind = kind
    self.side = side
    self.postOnly = postOnly
    self.immediateOrCancel = immediateOrCancel
    self.tag = tag
    self.price = price
    self.quantity = quantity
    self.stamps = stamps
  }
}

/// What the venue said about an order, from the wire thread to the strategy thread (which owns
/// the tracker). Fixed size; the order is named by its tag.
@frozen
public struct ExecEvent: BitwiseCopyable, Sendable, Equatable {
  @frozen
  public enum Kind: UInt8, BitwiseCopyable, Sendable {
    /// The venue holds the order (`venueOrderID`).
    case accepted
    /// A fill: `tradeID`, `price`, `quantity` (raws).
    case filled
    /// Cancelled or expired at the venue (IOC remainder, a cancel confirmed).
    case cancelled
    /// Refused by the venue: the order does not exist there.
    case rejected
    /// A cancel the venue refused (unknown order or already done).
    case cancelRejected
    /// The wire side may have missed events (account stream unreadable, dropped or resubscribed,
    /// an order connection lost): the strategy thread reconciles before placing again.
    case stateInDoubt
    /// A status query: the venue does not know the order.
    case notFound
    /// The answers to a reconciliation round are all in.
    case reconciled
  }
  public var kind: Kind
  /// A fill: the order took liquidity (the taker's fee applies).
  public var taker: Bool
  /// The order's tag; `ExecEvent.byVenueID` when the event names its order only by
  /// `venueOrderID` (a myTrades entry read in a reconciliation: the tracker knows which order).
  public var tag: UInt64
  public static let byVenueID = UInt64.max
  public var venueOrderID: Int64
  public var tradeID: Int64
  public var price: Int64
  public var quantity: Int64

  /// An order the venue took, with its round trip when the order entry measured it: when the
  /// request was sent, the venue's time of the order's event (its `transactTime`), and when the
  /// answer was received — all Unix ns, 0 when unknown. (An acceptance has no trade, price or
  /// quantity: those fields carry the three times.)
  public static func accepted(
    tag: UInt64, venueOrderID: Int64, requestNs: Int64, exchangeNs: Int64, responseNs: Int64
  ) -> ExecEvent {
    ExecEvent(
      kind: .accepted, tag: tag, venueOrderID: venueOrderID, tradeID: requestNs, price: exchangeNs,
      quantity: responseNs)
  }

  /// An acceptance's round trip (see `accepted(tag:…)`), when all three times are known.
  public var roundTrip: OrderRoundTrip? {
    guard kind == .accepted, tradeID > 0, price > 0, quantity > 0 else { return nil }
    return OrderRoundTrip(requestNs: tradeID, exchangeNs: price, responseNs: quantity)
  }

  public init(
    kind: Kind, tag: UInt64, venueOrderID: Int64 = 0, tradeID: Int64 = 0, price: Int64 = 0,
    quantity: Int64 = 0, taker: Bool = false
  ) {
    self.kind = kind
    self.taker = taker
    self.tag = tag
    self.venueOrderID = venueOrderID
    self.tradeID = tradeID
    self.price = price
    self.quantity = quantity
  }
}

/// One order's round trip as the live order entry measured it (Unix ns): the request sent, the
/// venue's time of its event, the answer received. A backtest's latency model reads these
/// (`needletail history --export-latency`).
@frozen
public struct OrderRoundTrip: BitwiseCopyable, Sendable, Equatable {
  public var requestNs: Int64
  public var exchangeNs: Int64
  public var responseNs: Int64
  public init(requestNs: Int64, exchangeNs: Int64, responseNs: Int64) {
    self.requestNs = requestNs
    self.exchangeNs = exchangeNs
    self.responseNs = responseNs
  }
}
