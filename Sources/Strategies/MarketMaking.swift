import Engine
import FastBook

/// Where the reference price comes from (Hummingbot's `price_type`).
public enum PriceType: String, Sendable, CaseIterable {
  case mid = "mid_price"
  case last = "last_price"
  case lastOwnTrade = "last_own_trade_price"
  case bestBid = "best_bid"
  case bestAsk = "best_ask"
  case inventoryCost = "inventory_cost"
}

/// One order of Hummingbot's `order_override`: it replaces the levels with exactly these orders.
public struct OrderOverride: Sendable, Equatable {
  public var side: TradeSide
  /// Distance from the reference price, as a fraction (0.01 = 1 %).
  public var spread: Double
  /// Quantity raw.
  public var amount: Int64
  public init(side: TradeSide, spread: Double, amount: Int64) {
    self.side = side
    self.spread = spread
    self.amount = amount
  }
}

/// One of a strategy's own orders as the strategy sees it (it keeps them by tag).
public struct OwnOrder: Sendable, Equatable {
  public var side: TradeSide
  public var price: Int64
  public var quantity: Int64
  public var filled: Int64 = 0
  public var createdNs: Int64
  /// Kept through refreshes (hanging orders).
  public var hanging = false
  /// A cancel was asked for and not yet confirmed.
  public var cancelling = false
  /// It crossed the book when placed (fills at the taker rate).
  public var taker = false
  public var remaining: Int64 { quantity - filled }
}

extension Dictionary where Key == UInt64, Value == OwnOrder {
  /// The bookkeeping every strategy does for its own order `tag` on a tracker event: a fill adds
  /// to `filled`, an end (completed, cancelled, failed, lost) removes it, a refused cancel makes
  /// it working again. Returns the order after the change (for an end, as it last was), or nil
  /// when `tag` is not one of these orders. Read, change, write back: optional chaining through
  /// the subscript allocates.
  @inline(__always)
  mutating func record(_ event: TrackerEvent, tag: UInt64) -> OwnOrder? {
    guard var o = self[tag] else { return nil }
    switch event {
    case .filled(_, let f):
      o.filled += f.quantity
      self[tag] = o
    case .completed, .cancelled, .failed, .lost:
      self[tag] = nil
    case .cancelRefused:
      o.cancelling = false
      self[tag] = o
    case .created:
      break
    }
    return o
  }
}

/// What the command line needs of a market-making strategy to run it, show its status and stop
/// it: its portfolio, its working orders, its reference price, and a stop that cancels all.
public protocol MarketMakingStrategy: Strategy {
  var portfolio: Portfolio { get set }
  /// Working orders by tag (cancels not yet confirmed included).
  var orders: [UInt64: OwnOrder] { get }
  func referencePrice() -> Double?
  var stoppedReason: String? { get }
  /// Cancels every order and places nothing more.
  func stop(reason: String, intents: inout Intents)
  var placed: Int { get }
  var cancelsSent: Int { get }
}
