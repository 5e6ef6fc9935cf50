import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import Strategies
import Testing
import Wire

@testable import Venue

/// V2 executors run by the orchestrator live against the Venue (TLS, WebSocket API orders, account
/// stream): the market is moved by another account, and each barrier must close the position
/// when — and only when — the market reaches it.
final class ExecutorHarness {
  let v: LoopbackVenue
  let session: BinanceSession
  let strategy: Strategy
  let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: .max)
  let unit: Int128 = 1_000_000_000_000_000_000
  static let ms: Int64 = 1_000_000
  static let fees = FeeSchema(makerRate: 100_000, takerRate: 100_000)
  var orchestrator: ExecutorOrchestrator { strategy as! ExecutorOrchestrator }

  /// The Venue with someone else's book at 99.99 / 100.01 and `make`'s strategy trading it
  /// (given the rule and the account's balances as a portfolio). `balances` (BTC, USDT), when
  /// given, replace account 1's 100 BTC and 1,000,000 USDT.
  init(
    clockTickMs: Int64 = 20, balances: (btc: Double, usdt: Double)? = nil,
    _ make: (TradingRule, Portfolio) -> Strategy = { rule, p in ExecutorOrchestrator(rule: rule, portfolio: p)
    }
  ) throws {
    v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 0, liquidityQuantity: 0)
    if let balances {
      for (asset, amount) in [("BTC", balances.btc), ("USDT", balances.usdt)] {
        let have = v.engine.balance(account: 1, asset: asset).free
        v.engine.deposit(account: 1, asset: asset, units: Int128(amount * 1e6) * 1_000_000_000_000 - have)
      }
    }
    let rule = TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1)
    let b = try Self.balances(v)
    strategy = make(
      rule,
      Portfolio(base: b.base, quote: b.quote, fees: Self.fees, priceScale: 2, quantityScale: 5))
    session = try BinanceSession(
      loop: v.loop, endpoint: .init(host: "127.0.0.1", port: v.host.port, serverName: "localhost"),
      tls: TLSContext(client: v.certs.ca), apiKey: "k1", secret: "s1", instrument: v.instrument,
      strategy: strategy, rule: rule, limits: RiskLimits(), prefix: "ex-", tracker: tracker,
      clock: Clock(tickNs: clockTickMs * Self.ms, start: cplat_now_ns()), centreTick: 10_000)
    v.engine.deposit(account: 7, asset: "BTC", units: 100 * unit)
    v.engine.deposit(account: 7, asset: "USDT", units: 1_000_000 * unit)
    try market(bid: 9_999, ask: 10_001)
    session.start()
    #expect(run(10_000) { self.session.ready })
  }

  /// Account 1's balances at the venue (units of 10⁻¹⁸), read before trading.
  static func balances(_ v: LoopbackVenue) throws -> (base: Int128, quote: Int128) {
    (v.engine.balance(account: 1, asset: "BTC").free, v.engine.balance(account: 1, asset: "USDT").free)
  }

  deinit {
    session.stop()
    v.loop.shutdown()
  }

  /// Someone else's book: 10 BTC at `bid` and at `ask` (ticks of 0.01), nothing else of theirs.
  func market(bid: Int64, ask: Int64) throws {
    _ = try v.engine.cancelAll(account: 9, symbol: "BTCUSDT")
    for (side, t) in [(OrderSide.BUY, bid), (.SELL, ask)] {
      var o = NewOrder(account: 9, symbol: "BTCUSDT", side: side, type: .LIMIT)
      o.priceTicks = t
      o.quantity = 1_000_000
      v.host.rest.notifyEvents(try v.engine.place(o).events)
    }
  }

  /// Account 7 trades `lots` into the book at `ticks` (a limit that crosses), told on the stream.
  func take(_ side: OrderSide, lots: Int64, at ticks: Int64) throws {
    var o = NewOrder(account: 7, symbol: "BTCUSDT", side: side, type: .LIMIT)
    o.priceTicks = ticks
    o.quantity = lots
    o.timeInForce = .IOC
    v.host.rest.notifyEvents(try v.engine.place(o).events)
  }

  @discardableResult
  func run(_ ms: Int64, until cond: () -> Bool) -> Bool {
    session.run(timeoutNs: ms * Self.ms, until: cond)
  }

  func ours(_ side: OrderSide) -> [VenueOrder] {
    v.engine.openOrders(account: 1, symbol: "BTCUSDT").filter { $0.side == side }.sorted {
      $0.priceTicks < $1.priceTicks
    }
  }

  /// Base bought minus sold by account 1 at the venue.
  var venuePosition: Int64 {
    v.engine.myTrades(account: 1, symbol: "BTCUSDT").reduce(0) {
      $0 + ($1.buyerAccount == 1 ? $1.qty : -$1.qty)
    }
  }

  func start(_ c: ExecutorConfig) -> Executor? {
    orchestrator.submit(.create(c))
    let n = orchestrator.executors.count + 1
    run(2_000) { self.orchestrator.executors.count == n }
    return orchestrator.executors.last
  }
}

@Suite(.serialized) struct ExecutorVenueTests {
  /// Long 0.1 at market (at 100.01); the take profit (1 %) rests at 101.01 from the moment the
  /// position is open; someone buys through it: closed by take profit, flat at the venue.
  @Test func takeProfitRestsAndCloses() throws {
    let h = try ExecutorHarness()
    let e = try #require(
      h.start(
        .position(
          side: .buy, amount: 10_000, entryPrice: nil, openOrderType: .market,
          barrier: TripleBarrier(stopLoss: 0.05, takeProfit: 0.01))))
    #expect(h.run(3_000) { h.ours(.SELL).count == 1 })
    #expect(h.venuePosition == 10_000 && e.averageEntry == 10_001)
    #expect(h.ours(.SELL).map(\.priceTicks) == [10_101] && h.ours(.SELL).map(\.origQty) == [10_000])
    // Not yet: the market moves up 0.9 %, nothing closes.
    try h.market(bid: 10_090, ask: 10_110)
    h.run(300) { false }
    #expect(e.isActive && h.ours(.SELL).count == 1)
    try h.take(.BUY, lots: 10_000, at: 10_101)
    #expect(h.run(3_000) { !e.isActive })
    #expect(e.closeType == .takeProfit && e.position == 0 && h.venuePosition == 0)
    #expect(h.v.engine.openOrders(account: 1).isEmpty)
  }

  /// Long 0.1; the market falls 0.5 % (inside the 1 % stop): nothing; it falls 2 %: closed at
  /// market by the stop loss, flat at the venue, the take profit cancelled.
  @Test func stopLossClosesAtMarket() throws {
    let h = try ExecutorHarness()
    let e = try #require(
      h.start(
        .position(
          side: .buy, amount: 10_000, entryPrice: nil, openOrderType: .market,
          barrier: TripleBarrier(stopLoss: 0.01, takeProfit: 0.03))))
    #expect(h.run(3_000) { h.ours(.SELL).count == 1 })
    try h.market(bid: 9_949, ask: 9_951)
    h.run(300) { false }
    #expect(e.isActive && h.venuePosition == 10_000)
    try h.market(bid: 9_799, ask: 9_801)
    #expect(h.run(3_000) { !e.isActive })
    #expect(e.closeType == .stopLoss && h.venuePosition == 0 && h.v.engine.openOrders(account: 1).isEmpty)
    // Sold at the new bid, 97.99.
    let last = try #require(h.v.engine.myTrades(account: 1, symbol: "BTCUSDT").last)
    #expect(last.priceTicks == 9_799 && last.sellerAccount == 1)
  }

  /// Short 0.1 with a 400 ms time limit: the market does nothing; at the limit it is bought back.
  @Test func timeLimitCloses() throws {
    let h = try ExecutorHarness()
    let t0 = cplat_now_ns()
    let e = try #require(
      h.start(
        .position(
          side: .sell, amount: 10_000, entryPrice: nil, openOrderType: .market,
          barrier: TripleBarrier(timeLimitNs: 400 * ExecutorHarness.ms))))
    #expect(h.run(2_000) { h.venuePosition == -10_000 })
    #expect(h.run(3_000) { !e.isActive })
    #expect(cplat_now_ns() - t0 >= 400 * ExecutorHarness.ms)
    #expect(e.closeType == .timeLimit && h.venuePosition == 0)
  }

  /// Trailing stop (activation 1 %, delta 0.5 %): up 0.8 % — not active; up 2 % — active, best
  /// 2 %; back to +1.7 % — within the delta, stays; back to +1.2 % — closed.
  @Test func trailingStopFollowsTheBestReturn() throws {
    let h = try ExecutorHarness()
    let e = try #require(
      h.start(
        .position(
          side: .buy, amount: 10_000, entryPrice: nil, openOrderType: .market,
          barrier: TripleBarrier(trailingStop: (0.01, 0.005)))))
    #expect(h.run(2_000) { h.venuePosition == 10_000 })
    // Entry 100.01; marks are mids.
    for (mid, stays) in [(Int64(10_081), true), (10_201, true), (10_171, true), (10_121, false)] {
      try h.market(bid: mid - 1, ask: mid + 1)
      if stays {
        h.run(300) { false }
        #expect(e.isActive, "closed at mid \(mid)")
      } else {
        #expect(h.run(3_000) { !e.isActive })
      }
    }
    #expect(e.closeType == .trailingStop && h.venuePosition == 0)
  }

  /// An entry limit that never fills expires at the time limit: cancelled at the venue, no position.
  @Test func unfilledEntryExpires() throws {
    let h = try ExecutorHarness()
    let e = try #require(
      h.start(
        .position(
          side: .buy, amount: 10_000, entryPrice: 9_900, openOrderType: .limitMaker,
          barrier: TripleBarrier(stopLoss: 0.01, timeLimitNs: 300 * ExecutorHarness.ms))))
    #expect(h.run(2_000) { h.ours(.BUY).map(\.priceTicks) == [9_900] })
    #expect(h.run(3_000) { !e.isActive })
    #expect(e.closeType == .expired && h.venuePosition == 0 && h.v.engine.openOrders(account: 1).isEmpty)
  }

  /// DCA: buys at 99.50 and 99.00; both fill as someone sells down; the take profit (1 % over the
  /// average 99.25) rests for the whole 0.2, resized when the second level filled.
  @Test func dcaAveragesItsEntriesAndTakesProfitOnTheWhole() throws {
    let h = try ExecutorHarness()
    let e = try #require(
      h.start(
        .dca(
          side: .buy, levels: [(9_950, 10_000), (9_900, 10_000)],
          barrier: TripleBarrier(stopLoss: 0.05, takeProfit: 0.01))))
    #expect(h.run(2_000) { h.ours(.BUY).count == 2 })
    try h.market(bid: 9_940, ask: 9_960)
    try h.take(.SELL, lots: 10_000, at: 9_950)
    #expect(h.run(3_000) { h.ours(.SELL).map(\.origQty) == [10_000] })
    #expect(h.ours(.SELL).map(\.priceTicks) == [10_049])  // 99.50 × 1.01 = 100.495 → 100.49
    try h.market(bid: 9_890, ask: 9_910)
    try h.take(.SELL, lots: 10_000, at: 9_900)
    #expect(h.run(3_000) { h.ours(.SELL).map(\.origQty) == [20_000] })
    #expect(e.averageEntry == 9_925 && e.position == 20_000)
    #expect(h.ours(.SELL).map(\.priceTicks) == [10_024])  // 99.25 × 1.01 = 100.2425
    try h.market(bid: 10_000, ask: 10_030)
    try h.take(.BUY, lots: 20_000, at: 10_024)
    #expect(h.run(3_000) { !e.isActive })
    #expect(e.closeType == .takeProfit && h.venuePosition == 0)
  }

  /// Grid 99.00 … 101.00 in 5 levels around 100.00: buys rest at 99.00 and 99.50; when the 99.50
  /// buy fills, a sell rests one level up (100.00); when that fills, the buy comes back at 99.50.
  /// Stopped: cancels everything, flat.
  @Test func gridPlacesTheNextLevelOnEachFill() throws {
    let h = try ExecutorHarness()
    let e = try #require(
      h.start(
        .grid(
          lower: 9_900, upper: 10_100, levels: 5, amountPerLevel: 10_000,
          limit: (stopLoss: 9_000, takeProfit: nil))))
    #expect(h.run(2_000) { h.ours(.BUY).map(\.priceTicks) == [9_900, 9_950] })
    try h.market(bid: 9_940, ask: 9_960)
    try h.take(.SELL, lots: 10_000, at: 9_950)
    #expect(h.run(3_000) { h.ours(.SELL).map(\.priceTicks) == [10_000] })
    try h.market(bid: 9_999, ask: 10_010)
    try h.take(.BUY, lots: 10_000, at: 10_000)
    #expect(h.run(3_000) { h.ours(.BUY).map(\.priceTicks) == [9_900, 9_950] && h.ours(.SELL).isEmpty })
    #expect(h.venuePosition == 0 && e.position == 0 && e.quoteFlow == 10_000 * (10_000 - 9_950))
    h.orchestrator.submit(.stop(id: e.id))
    #expect(h.run(3_000) { !e.isActive })
    #expect(e.closeType == .earlyStop && h.v.engine.openOrders(account: 1).isEmpty)
  }

  /// TWAP: 0.3 in three market slices 150 ms apart: three trades of 0.1, done.
  @Test func twapSendsEqualSlicesOnTime() throws {
    let h = try ExecutorHarness()
    let t0 = cplat_now_ns()
    let e = try #require(
      h.start(
        .twap(side: .buy, amount: 30_000, slices: 3, intervalNs: 150 * ExecutorHarness.ms, orderType: .market)
      ))
    #expect(h.run(5_000) { !e.isActive })
    let trades = h.v.engine.myTrades(account: 1, symbol: "BTCUSDT")
    #expect(trades.map(\.qty) == [10_000, 10_000, 10_000])
    #expect(cplat_now_ns() - t0 >= 300 * ExecutorHarness.ms)
    #expect(e.closeType == .completed && h.venuePosition == 30_000)
  }

  /// Limit chaser: a post-only buy 0.1 % under the best bid; the bid moves up 0.5 % (beyond the
  /// 0.2 % threshold): re-priced under the new bid; someone sells into it: completed.
  @Test func limitChaserFollowsTheBestBid() throws {
    let h = try ExecutorHarness()
    let e = try #require(
      h.start(.limitChaser(side: .buy, amount: 10_000, distance: 0.001, refreshThreshold: 0.002)))
    #expect(h.run(2_000) { h.ours(.BUY).map(\.priceTicks) == [9_989] })  // 99.99 × 0.999 = 99.89
    try h.market(bid: 10_049, ask: 10_060)
    #expect(h.run(3_000) { h.ours(.BUY).map(\.priceTicks) == [10_038] })  // 100.49 × 0.999 = 100.38
    try h.take(.SELL, lots: 1_010_000, at: 10_038)  // through the other bid at 100.49 into ours
    #expect(h.run(3_000) { !e.isActive })
    #expect(e.closeType == .completed && h.venuePosition == 10_000)
  }

  /// A controller (Hummingbot V2): on the Clock's tick it sees the executors and asks for a new
  /// one whenever none is active, up to three in all; the orchestrator creates them, each runs to
  /// its end at the venue.
  @Test func aControllerCreatesExecutorsOnTheTick() throws {
    final class Repeat: Controller {
      var created = 0
      func determineActions(book: LadderBook, executors: [ExecutorInfo], now: Int64) -> [ExecutorAction] {
        guard created < 3, !executors.contains(where: \.isActive) else { return [] }
        created += 1
        return [
          .create(
            .single(side: created % 2 == 1 ? .buy : .sell, amount: 5_000, price: nil, orderType: .market))
        ]
      }
    }
    let h = try ExecutorHarness()
    let c = Repeat()
    h.orchestrator.controller = c
    #expect(
      h.run(5_000) {
        h.orchestrator.executors.count == 3 && h.orchestrator.executors.allSatisfy { !$0.isActive }
      })
    #expect(h.orchestrator.executors.map(\.closeType) == [.completed, .completed, .completed])
    #expect(h.v.engine.myTrades(account: 1, symbol: "BTCUSDT").map(\.qty) == [5_000, 5_000, 5_000])
    #expect(h.venuePosition == 5_000)
  }
}
