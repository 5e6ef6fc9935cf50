import Engine

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
