import Engine
import FastBook

/// The differential tests' and the benchmark's reference strategy (docs/backtest/grid_quoter.py),
/// on the event loop directly: every 100 ms, forget finished orders, cancel every working one, and quote one lot
/// a tick outside the best bid and ask (post-only), with 1 ms latency each way.
public enum FixedGridQuoter {
  public struct Done: Equatable, Sendable, CustomStringConvertible {
    public var id: UInt64
    public var side: TradeSide
    public var tick: Int64
    public var status: SimulatedExchange.Status
    public var exchangeNs: Int64
    public init(
      id: UInt64, side: TradeSide, tick: Int64, status: SimulatedExchange.Status,
      exchangeNs: Int64
    ) {
      self.id = id
      self.side = side
      self.tick = tick
      self.status = status
      self.exchangeNs = exchangeNs
    }
    public var description: String { "#\(id) \(side) \(tick) \(status) at \(exchangeNs)" }
  }

  /// Runs to the end of the data; every finished order, by exchange time then id.
  public static func run(_ loop: BacktestEventLoop, offset: Int64 = 1, quantity: Double = 0.001) -> [Done] {
    var done: [Done] = []
    var next: UInt64 = 1
    while loop.elapse(100_000_000) {
      for o in loop.orders.values where o.status != .new {
        done.append(Done(id: o.id, side: o.side, tick: o.tick, status: o.status, exchangeNs: o.exchangeNs))
      }
      loop.clearInactive()
      for o in loop.orders.values.sorted(by: { $0.id < $1.id }) where o.cancellable { loop.cancel(id: o.id) }
      let (bid, ask) = (loop.book.bestBid, loop.book.bestAsk)
      guard bid != ExchangeDepth.noBid, ask != ExchangeDepth.noAsk else { continue }
      loop.submit(id: next, side: .buy, tick: bid - offset, quantity: quantity, timeInForce: .gtx)
      loop.submit(id: next + 1, side: .sell, tick: ask + offset, quantity: quantity, timeInForce: .gtx)
      next += 2
    }
    return done.sorted { ($0.exchangeNs, $0.id) < ($1.exchangeNs, $1.id) }
  }
}

/// The same quoter as a `Strategy`, for the backtest on the live path (`Backtester`): on every
/// Clock tick it cancels each of its orders the venue has acknowledged and no cancel is on its
/// way for (hftbacktest's "cancellable"), then quotes `quantity` post-only `offsetTicks` outside
/// the best bid and ask of the strategy thread's book.
public final class GridQuoter: Strategy {
  public let offsetTicks: Int64
  public let quantity: Int64
  let tickSize: Int64
  /// The tracker of the host it runs in (set before the first tick).
  public weak var tracker: OrderTracker?
  var book: LadderBook?
  var mine: [UInt64] = []
  var nextTag: UInt64 = 1

  public init(offsetTicks: Int64 = 1, quantity: Int64, tickSize: Int64) {
    self.offsetTicks = offsetTicks
    self.quantity = quantity
    self.tickSize = tickSize
  }

  public func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) { self.book = book }

  public func onTick(now: Int64, intents: inout Intents) {
    guard let tracker else { return }
    mine.removeAll { tracker.order(tag: $0)?.state.isDone ?? true }
    for tag in mine {
      let s = tracker.order(tag: tag)?.state
      if s == .open || s == .partiallyFilled { intents.cancel(tag: tag) }
    }
    guard let book, let bid = book.bestBid, let ask = book.bestAsk else { return }
    intents.place(
      PlaceIntent(
        tag: nextTag, side: .buy, price: (bid.tick - offsetTicks) * tickSize, quantity: quantity,
        postOnly: true))
    intents.place(
      PlaceIntent(
        tag: nextTag + 1, side: .sell, price: (ask.tick + offsetTicks) * tickSize, quantity: quantity,
        postOnly: true))
    mine.append(nextTag)
    mine.append(nextTag + 1)
    nextTag += 2
  }
}
