import Connectors
import Engine
import FastBook
import Foundation
import Testing
import Venue
import Wire

/// Quotes one buy at the best bid and one sell at the best ask, re-quoting a side once its order
/// is done: enough to be filled by the market's flow.
final class TouchQuoter: Strategy {
  let quantity: Int64
  var nextTag: UInt64 = 1
  var live: [TradeSide: UInt64] = [:]
  var fills = 0
  var tradesSeen = 0

  init(quantity: Int64) { self.quantity = quantity }

  func onTrade(priceTicks: Int64, quantity: Int64, aggressor: TradeSide, now: Int64, intents: inout Intents) {
    tradesSeen += 1
  }

  func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {
    for side in [TradeSide.buy, .sell] where live[side] == nil {
      guard let level = book.best(side == .buy ? .bid : .ask) else { continue }
      live[side] = nextTag
      intents.place(
        PlaceIntent(
          tag: nextTag, side: side, price: level.tick * book.instrument.tickSize, quantity: quantity))
      nextTag += 1
    }
  }

  func onOrder(_ event: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
    switch event {
    case .filled: fills += 1
    case .completed, .cancelled, .failed, .lost:
      for (side, t) in live where t == tag { live[side] = nil }
    default: break
    }
  }
}

/// Paper mode in the runtime: live market data from the Venue (synthetic flow, over TLS
/// WebSockets), the strategy thread's orders filled by a `PaperExchange` on the wire side, the
/// answers back through the exec ring into the tracker — and not one order reaches the venue.
/// Public trades reach the paper exchange and the strategy through the book sink and ring, as in
/// `run --paper`.
@Suite(.serialized) struct PaperRuntimeTests {
  @Test func paperOrdersFillFromLiveDataAndNeverReachTheVenue() throws {
    var p = SyntheticMarket.Parameters()
    p.startTicks = 10_000
    p.seed = 5
    p.maxLots = 2_000
    let v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 0, liquidityQuantity: 0, market: p)
    let (loop, engine, inst, certs, host) = (v.loop, v.engine, v.instrument, v.certs, v.host)
    defer { loop.shutdown() }

    let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: .max)
    let quoter = TouchQuoter(quantity: 1_000)
    var limits = RiskLimits()
    limits.maxOpenOrders = 4
    let strategyHost = StrategyHost(
      strategy: quoter, symbol: "BTCUSDT", rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1),
      limits: limits, tracker: tracker,
      prefix: "paper-")
    let runtime = StrategyRuntime(
      host: strategyHost, book: LadderBook(instrument: inst, windowTicks: 1 << 14, centreTick: 10_000),
      clock: Clock(start: 0))
    let paper = PaperExchange(
      instrument: inst, book: LadderBook(instrument: inst, windowTicks: 1 << 14, centreTick: 10_000),
      execOut: runtime.execIn)
    let md = BinanceMarketData(
      loop: loop, host: "127.0.0.1", port: host.port, tls: try TLSContext(client: certs.ca),
      serverName: "localhost",
      symbol: "BTCUSDT", instrument: inst,
      sink: PaperBookSink(inner: RingBookSink(ring: runtime.bookIn), paper: paper))
    md.start()
    // The one-thread layout: the wire loop drains the order ring into the paper exchange and
    // polls the strategy side, run to completion.
    let deadline = Date().addingTimeInterval(60)  // a bound, not a rate: a loaded machine steps the flow slower
    _ = loop.run(timeoutNs: 65_000_000_000) {
      runtime.pollOnce()
      while let o = runtime.ordersOut.tryPop() { paper.send(o) }
      return quoter.fills >= 30 || Date() > deadline
    }
    md.stop()
    runtime.drainBook()  // what the last turn left in the ring
    let filled = tracker.orders.values.reduce(Int64(0)) { $0 + $1.filledQuantity }
    print(
      "paper runtime: \(tracker.orders.count) orders, \(paper.fills) fills (\(paper.filledQuantity) filled), \(md.trades) public trades, \(md.sync.counters.snapshots) snapshots"
    )
    #expect(quoter.fills >= 30, "the market's flow filled the quotes")
    #expect(
      filled == paper.filledQuantity
        && paper.fills == tracker.orders.values.reduce(0) { $0 + $1.tradeIDCount })
    #expect(tracker.invalidTransitions == 0 && tracker.unknownOrderUpdates == 0 && tracker.overfills == 0)
    #expect(paper.execRingFull == 0)
    #expect(
      runtime.tradesSeen == md.trades && md.trades > 0,
      "every public trade reached the strategy thread through the ring")
    #expect(quoter.tradesSeen == runtime.tradesSeen)
    #expect(
      engine.orders.values.allSatisfy { $0.account == MatchingEngine.marketAccount },
      "no order reached the venue")
  }
}
