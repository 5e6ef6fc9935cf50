import Engine
import FastBook

/// A simulated exchange that fills resting orders whole (no partial fills), with hftbacktest's
/// rules (its `NoPartialFillExchange`, 2.4.x) so that the same orders on the same data fill the
/// same way — see docs/backtest/hftbacktest-semantics.md. It sees the market on exchange time and
/// answers each request when it arrives; the backtest's event loop decides when that is.
///
/// - A new limit order that would cross the book when it arrives: post-only (`gtx`) expires; any
///   other is filled at once, whole, as a taker at the best opposite price. Otherwise it rests
///   at the back of its level's queue (`QueueModel`).
/// - A cancel removes a resting order; for an order already gone (filled or expired) it is refused.
/// - A book update on our price moves the queue estimate; when the best bid rises, every resting
///   sell at or below the new best (and above the old one) is filled, and the mirror for buys when
///   the best ask falls — a level appearing at our price fills us without a trade.
/// - A public trade: resting orders strictly on the far side of its price fill whole, whatever its
///   size; orders at its price move up the queue by its size and fill once past it.
/// - A fill is a maker fill of the whole order at its own limit price, stamped with the time of the
///   market event that caused it.
public final class SimulatedExchange {
  public enum TimeInForce: Sendable, Equatable { case gtc, gtx }
  public enum Status: Sendable, Equatable { case new, filled, cancelled, expired }

  /// An order as the exchange knows it.
  public struct Order: Sendable, Equatable {
    public var id: UInt64
    public var side: TradeSide
    public var tick: Int64
    public var quantity: Double
    public var timeInForce: TimeInForce
    public var queue: QueuePosition
    /// The quantity ahead of it when it arrived (what the level showed).
    public var entryAhead: Double = 0
  }

  /// What the exchange tells the trader about one order (delivered after the response latency).
  public struct Answer: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
      case accepted, filled, cancelled, expired
      /// A cancel for an order the exchange no longer has.
      case cancelRejected
    }
    public var kind: Kind
    public var id: UInt64
    public var side: TradeSide
    /// Exchange time of the event (ns).
    public var exchangeNs: Int64
    /// For fills: the price (ticks), quantity, and whether we were the maker.
    public var tick: Int64 = 0
    public var quantity: Double = 0
    public var maker = true
    /// For maker fills: the quantity that was ahead of the order when it arrived.
    public var queueAhead: Double = 0
  }

  public let model: QueueModel
  public let lot: Double
  public private(set) var depth: ExchangeDepth
  /// Resting orders, in arrival order.
  public private(set) var resting: [Order] = []
  /// Answers not yet collected (`takeAnswers`).
  public private(set) var answers: [Answer] = []
  public private(set) var fills = 0

  public init(model: QueueModel, lot: Double) {
    self.model = model
    self.lot = lot
    depth = ExchangeDepth(lot: lot)
  }

  /// Hands over the answers produced since the last call, in the order they happened.
  @inline(__always)
  public func takeAnswers(_ body: (Answer) -> Void) {
    if answers.isEmpty { return }
    for a in answers { body(a) }
    answers.removeAll(keepingCapacity: true)
  }

  // MARK: requests

  /// A new limit order arriving at `now`.
  public func place(
    id: UInt64, side: TradeSide, tick: Int64, quantity: Double, timeInForce: TimeInForce, now: Int64
  ) {
    let crosses = side == .buy ? tick >= depth.bestAsk : tick <= depth.bestBid
    if crosses {
      if timeInForce == .gtx {
        answers.append(Answer(kind: .expired, id: id, side: side, exchangeNs: now))
      } else {
        let at = side == .buy ? depth.bestAsk : depth.bestBid
        fills += 1
        answers.append(
          Answer(
            kind: .filled, id: id, side: side, exchangeNs: now, tick: at, quantity: quantity, maker: false))
      }
      return
    }
    let level = depth.quantity(side == .buy ? .bid : .ask, at: tick)
    resting.append(
      Order(
        id: id, side: side, tick: tick, quantity: quantity, timeInForce: timeInForce,
        queue: QueuePosition(levelQuantity: level), entryAhead: level))
    answers.append(Answer(kind: .accepted, id: id, side: side, exchangeNs: now))
  }

  /// Whether the order is resting here.
  public func isResting(id: UInt64) -> Bool { resting.contains { $0.id == id } }

  /// A cancel arriving at `now`.
  public func cancel(id: UInt64, side: TradeSide, now: Int64) {
    guard let i = resting.firstIndex(where: { $0.id == id }) else {
      answers.append(Answer(kind: .cancelRejected, id: id, side: side, exchangeNs: now))
      return
    }
    let o = resting.remove(at: i)
    answers.append(Answer(kind: .cancelled, id: id, side: o.side, exchangeNs: now))
  }

  // MARK: market events (exchange time)

  /// A level of the book changed (a diff or a snapshot row).
  public func level(_ side: Side, tick: Int64, quantity: Double, now: Int64) {
    let c = depth.update(side, tick: tick, quantity: quantity)
    let ours: TradeSide = side == .bid ? .buy : .sell
    for i in resting.indices where resting[i].side == ours && resting[i].tick == c.tick {
      model.depth(&resting[i].queue, previous: c.previousQuantity, new: c.quantity)
    }
    if side == .bid, c.best > c.previousBest {
      // The best bid rose: sells at or below it (above the old best) are taken.
      let low = c.previousBest
      fillAll(now: now) {
        $0.side == .sell && ($0.tick > low || low == ExchangeDepth.noBid) && $0.tick <= c.best
      }
    } else if side == .ask, c.best < c.previousBest {
      let high = c.previousBest
      fillAll(now: now) {
        $0.side == .buy && ($0.tick < high || high == ExchangeDepth.noAsk) && $0.tick >= c.best
      }
    }
  }

  /// A side of the book cleared from `tick` to its best (before a snapshot); nil: both sides.
  /// Queue estimates are not touched.
  public func clear(_ side: Side?, from tick: Int64) { depth.clear(side, from: tick) }

  /// A public trade: `aggressor` the side that took liquidity. The orders looked at are those
  /// between the trade's price and the best price on our side of the book (hftbacktest's range) —
  /// or, while we have fewer orders than that range has ticks, every order on the side the trade
  /// hit (its shortcut, kept because it decides whether an order resting beyond a stale best
  /// price is filled).
  public func trade(aggressor: TradeSide, tick: Int64, quantity: Double, now: Int64) {
    let count = Int64(resting.count)
    let all: Bool
    let ours: TradeSide = aggressor == .buy ? .sell : .buy
    if aggressor == .buy {
      all = depth.bestBid == ExchangeDepth.noBid || count < tick &- depth.bestBid
    } else {
      all = depth.bestAsk == ExchangeDepth.noAsk || count < depth.bestAsk &- tick
    }
    var i = 0
    while i < resting.count {
      let o = resting[i]
      let inRange =
        all
        || (aggressor == .buy
          ? o.tick > depth.bestBid && o.tick <= tick : o.tick >= tick && o.tick < depth.bestAsk)
      var filled = false
      if o.side == ours, inRange {
        if aggressor == .buy ? o.tick < tick : o.tick > tick {
          filled = true
        } else if o.tick == tick {
          model.trade(&resting[i].queue, quantity: quantity)
          filled = model.isFilled(&resting[i].queue, lot: lot)
        }
      }
      if filled {
        fill(at: i, now: now)
      } else {
        i += 1
      }
    }
  }

  func fillAll(now: Int64, _ match: (Order) -> Bool) {
    var i = 0
    while i < resting.count {
      if match(resting[i]) { fill(at: i, now: now) } else { i += 1 }
    }
  }

  func fill(at i: Int, now: Int64) {
    let o = resting.remove(at: i)
    fills += 1
    answers.append(
      Answer(
        kind: .filled, id: o.id, side: o.side, exchangeNs: now, tick: o.tick, quantity: o.quantity,
        maker: true, queueAhead: o.entryAhead))
  }
}
