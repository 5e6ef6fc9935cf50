import Engine
import FastBook

/// A simulated exchange on venue time, in one of two modes. It sees the market on exchange time
/// and answers each request when it arrives; the backtest's event loop decides when that is.
///
/// `.whole` fills resting orders whole (no partial fills), with hftbacktest's rules (its
/// `NoPartialFillExchange`, 2.4.x) so that the same orders on the same data fill the same way —
/// see docs/backtest/hftbacktest-semantics.md:
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
///
/// `.partial` is what hftbacktest does not do, on the same queue models:
/// - A taker walks the opposite side from its best price to the order's limit and takes, level by
///   level, what each shows at its own price (partial fills). What it took stays taken until the
///   feed next updates that level, so a second taker in the meantime does not take it again. The
///   rest of an `ioc` order expires; of a `gtc` order it rests at its limit as a taker — it takes
///   what arrives at levels its price reaches, and once the other side no longer reaches it, it is
///   a maker at the front of its level.
/// - A trade at a resting order's price fills it by what the trade left after the queue ahead —
///   the market's estimate of the queue model, and then our own earlier orders at that price, which
///   stand ahead of it (a cancelled one's unfilled rest leaves that queue). A trade through its
///   price, or the other side's best moving onto it, fills what is left.
public final class SimulatedExchange {
  public enum TimeInForce: Sendable, Equatable { case gtc, gtx, ioc }
  public enum FillMode: String, Sendable, Equatable {
    case whole
    case partial
  }
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
    /// Partial mode: what is left, and how much of our own earlier orders at its price stands
    /// ahead of it.
    public var remaining: Double = 0
    public var ownAhead: Double = 0
    /// Partial mode: traded volume that went past the market's queue ahead (kept apart so the
    /// queue model never sees a negative front).
    public var pastQueue: Double = 0
    /// Partial mode: the rest of a `gtc` order that crossed the book and took all it could; it
    /// stays a taker while the other side still shows levels at or through its price (it takes
    /// what the feed shows there anew), then rests as a maker at the front of its level.
    public var aggressive = false
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
    /// For fills: this was the order's last (it is done).
    public var last = true
  }

  public let model: QueueModel
  public let mode: FillMode
  public let lot: Double
  /// Partial mode: liquidity takers took, by side and tick, until the feed updates the level.
  var taken: [[Int64: Double]] = [[:], [:]]
  public private(set) var depth: ExchangeDepth
  /// Resting orders, in arrival order.
  public private(set) var resting: [Order] = []
  /// Answers not yet collected (`takeAnswers`).
  public private(set) var answers: [Answer] = []
  public private(set) var fills = 0

  public init(model: QueueModel, lot: Double, mode: FillMode = .whole) {
    self.model = model
    self.mode = mode
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
    if mode == .partial {
      placePartial(
        id: id, side: side, tick: tick, quantity: quantity, tif: timeInForce, crosses: crosses, now: now)
      return
    }
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
    if timeInForce == .ioc {
      answers.append(Answer(kind: .expired, id: id, side: side, exchangeNs: now))
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
    if mode == .partial { leaveQueue(o, from: i) }
    if o.aggressive { aggressiveCount -= 1 }
    answers.append(Answer(kind: .cancelled, id: id, side: o.side, exchangeNs: now))
  }

  // MARK: market events (exchange time)

  /// A level of the book changed (a diff or a snapshot row).
  public func level(_ side: Side, tick: Int64, quantity: Double, now: Int64) {
    let c = depth.update(side, tick: tick, quantity: quantity)
    if mode == .partial, !taken[Int(side.rawValue)].isEmpty { taken[Int(side.rawValue)][tick] = nil }
    let ours: TradeSide = side == .bid ? .buy : .sell
    for i in resting.indices
    where resting[i].side == ours && resting[i].tick == c.tick && !resting[i].aggressive {
      model.depth(&resting[i].queue, previous: c.previousQuantity, new: c.quantity)
    }
    if aggressiveCount > 0 {
      takeAgain(side, tick: c.tick, arrived: c.quantity - c.previousQuantity, now: now)
    }
    if side == .bid, c.best > c.previousBest {
      // The best bid rose: sells at or below it (above the old best) are taken.
      let low = c.previousBest
      fillAll(now: now) {
        $0.side == .sell && !$0.aggressive && ($0.tick > low || low == ExchangeDepth.noBid)
          && $0.tick <= c.best
      }
    } else if side == .ask, c.best < c.previousBest {
      let high = c.previousBest
      fillAll(now: now) {
        $0.side == .buy && !$0.aggressive && ($0.tick < high || high == ExchangeDepth.noAsk)
          && $0.tick >= c.best
      }
    }
  }

  /// A side of the book cleared from `tick` to its best (before a snapshot); nil: both sides.
  /// Queue estimates are not touched.
  public func clear(_ side: Side?, from tick: Int64) {
    depth.clear(side, from: tick)
    if mode == .partial {
      if side != .ask { taken[0].removeAll() }
      if side != .bid { taken[1].removeAll() }
    }
  }

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
      if o.side == ours, inRange, !o.aggressive {
        if aggressor == .buy ? o.tick < tick : o.tick > tick {
          filled = true
        } else if o.tick == tick {
          model.trade(&resting[i].queue, quantity: quantity)
          if mode == .partial {
            if resting[i].queue.ahead < 0 {
              resting[i].pastQueue += -resting[i].queue.ahead
              resting[i].queue.ahead = 0
            }
            // What the trades have gone past the market's queue and our own earlier orders,
            // less what this order already got.
            let o = resting[i]
            let past = o.pastQueue - o.ownAhead - (o.quantity - o.remaining)
            let lots = (past / lot + 1e-9).rounded(.down)
            if lots >= 1 {
              let piece = min(o.remaining, lots * lot)
              if roundedLots((o.remaining - piece) / lot) > 0 {
                resting[i].remaining -= piece
                fills += 1
                answers.append(
                  Answer(
                    kind: .filled, id: o.id, side: o.side, exchangeNs: now, tick: o.tick, quantity: piece,
                    maker: true, queueAhead: o.entryAhead, last: false))
              } else {
                filled = true
              }
            }
          } else {
            filled = model.isFilled(&resting[i].queue, lot: lot)
          }
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
    if o.aggressive { aggressiveCount -= 1 }
    fills += 1
    answers.append(
      Answer(
        kind: .filled, id: o.id, side: o.side, exchangeNs: now, tick: o.tick,
        quantity: mode == .partial ? o.remaining : o.quantity, maker: true, queueAhead: o.entryAhead))
  }

  // MARK: partial mode

  func placePartial(
    id: UInt64, side: TradeSide, tick: Int64, quantity: Double, tif: TimeInForce, crosses: Bool, now: Int64
  ) {
    if crosses && tif == .gtx {
      answers.append(Answer(kind: .expired, id: id, side: side, exchangeNs: now))
      return
    }
    answers.append(Answer(kind: .accepted, id: id, side: side, exchangeNs: now))
    var remaining = quantity
    if crosses {
      // Walk the other side from its best to our limit, taking what each level shows and no one
      // took since the feed last set it.
      let other: Side = side == .buy ? .ask : .bid
      let k = Int(other.rawValue)
      var t = side == .buy ? depth.bestAsk : depth.bestBid
      var scanned = 0
      while roundedLots(remaining / lot) > 0, side == .buy ? t <= tick : t >= tick, scanned < 1 << 16 {
        let available = depth.quantity(other, at: t) - (taken[k][t] ?? 0)
        if roundedLots(available / lot) > 0 {
          let piece = min(remaining, available)
          remaining -= piece
          taken[k][t, default: 0] += piece
          fills += 1
          answers.append(
            Answer(
              kind: .filled, id: id, side: side, exchangeNs: now, tick: t, quantity: piece, maker: false,
              last: roundedLots(remaining / lot) == 0))
        }
        t = side == .buy ? t &+ 1 : t &- 1
        scanned += 1
      }
      if roundedLots(remaining / lot) == 0 { return }
      if tif == .ioc {
        answers.append(Answer(kind: .expired, id: id, side: side, exchangeNs: now))
        return
      }
    } else if tif == .ioc {
      answers.append(Answer(kind: .expired, id: id, side: side, exchangeNs: now))
      return
    }
    let level = depth.quantity(side == .buy ? .bid : .ask, at: tick)
    var own = 0.0
    for o in resting where o.side == side && o.tick == tick { own += o.remaining }
    resting.append(
      Order(
        id: id, side: side, tick: tick, quantity: remaining, timeInForce: tif,
        queue: QueuePosition(levelQuantity: level), entryAhead: level + own, remaining: remaining,
        ownAhead: own, aggressive: crosses))
    if crosses { aggressiveCount += 1 }
  }

  /// Resting takers (`Order.aggressive`).
  var aggressiveCount = 0

  /// The feed set a level (`side`, `tick`) and `arrived` more shows there: a resting taker on the
  /// other side whose price reaches it takes what arrived (what was there before, it took when it
  /// came); one the other side no longer reaches becomes a maker at the front of its level (it was
  /// there first: what the feed shows at its price came after it).
  func takeAgain(_ side: Side, tick: Int64, arrived: Double, now: Int64) {
    let takerSide: TradeSide = side == .ask ? .buy : .sell
    let k = Int(side.rawValue)
    var i = 0
    while i < resting.count {
      let o = resting[i]
      guard o.aggressive else {
        i += 1
        continue
      }
      if o.side == takerSide, takerSide == .buy ? o.tick >= tick : o.tick <= tick {
        let available = min(arrived, depth.quantity(side, at: tick) - (taken[k][tick] ?? 0))
        if roundedLots(available / lot) > 0 {
          let piece = min(o.remaining, available)
          taken[k][tick, default: 0] += piece
          let left = o.remaining - piece
          fills += 1
          let last = roundedLots(left / lot) == 0
          answers.append(
            Answer(
              kind: .filled, id: o.id, side: o.side, exchangeNs: now, tick: tick,
              quantity: last ? o.remaining : piece,
              maker: false, last: last))
          if last {
            resting.remove(at: i)
            aggressiveCount -= 1
            leaveQueue(o, from: i)
            continue
          }
          resting[i].remaining = left
        }
      }
      let reaches = o.side == .buy ? o.tick >= depth.bestAsk : o.tick <= depth.bestBid
      if !reaches {
        resting[i].aggressive = false
        resting[i].quantity = resting[i].remaining  // what it rests with as a maker
        resting[i].queue = QueuePosition(levelQuantity: 0)
        resting[i].entryAhead = 0
        aggressiveCount -= 1
      }
      i += 1
    }
  }

  /// A cancelled order's unfilled rest leaves the queue of our orders behind it at its price.
  func leaveQueue(_ gone: Order, from index: Int) {
    var i = index
    while i < resting.count {
      if resting[i].side == gone.side && resting[i].tick == gone.tick {
        resting[i].ownAhead = max(0, resting[i].ownAhead - gone.remaining)
      }
      i += 1
    }
  }
}
