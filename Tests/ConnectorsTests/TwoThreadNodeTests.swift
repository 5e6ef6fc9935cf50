import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import Strategies
import TestSupport
import Testing
import Wire

@testable import Venue

/// The trading node in the two-thread layout: pure market making on its own strategy thread
/// (sleeping between empty turns, as tests share the machine) while this thread runs the wire loop
/// and the Venue. Its quotes reach the venue at the prices the parameters give; another
/// participant's fill of the top bid comes back through the account stream to the strategy thread;
/// after the strategy thread is joined, the portfolio is the venue's account and the tracker
/// agrees with the venue order by order.
@Suite(.serialized) struct TwoThreadNodeTests {
  @Test func marketMakingOnItsOwnThreadAgreesWithTheVenue() throws {
    let v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 2, liquidityQuantity: 50_000)
    defer { v.loop.shutdown() }
    let ms: Int64 = 1_000_000
    var c = PureMarketMakingConfig()
    c.orderAmount = 10_000
    c.orderLevels = 2
    c.orderLevelSpread = 0.005
    c.orderRefreshTimeNs = 60_000 * ms
    c.filledOrderDelayNs = 60_000 * ms
    let fees = FeeSchema(makerRate: 100_000, takerRate: 100_000)
    let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: .max)
    let pmm = PureMarketMaking(
      config: c, rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1), instrument: v.instrument,
      portfolio: Portfolio(base: 0, quote: 0, fees: fees, priceScale: 2, quantityScale: 5))
    let node = try BinanceSession(
      loop: v.loop, endpoint: .init(host: "127.0.0.1", port: v.host.port, serverName: "localhost"),
      tls: TLSContext(client: v.certs.ca), apiKey: "k1", secret: "s1", instrument: v.instrument,
      strategy: pmm, rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1), limits: RiskLimits(),
      prefix: "two-", tracker: tracker, clock: Clock(tickNs: 20 * ms, start: cplat_now_ns()),
      centreTick: 10_000,
      layout: .twoThreads)
    let balances = try #require(node.fetchBalances())
    pmm.portfolio = Portfolio(
      base: balances["BTC"]!.free, quote: balances["USDT"]!.free, fees: fees, priceScale: 2, quantityScale: 5)
    node.start()
    defer { node.stop() }
    // Everything the condition reads is on this (the wire) thread: the venue shares its loop.
    func open(_ side: OrderSide) -> [VenueOrder] {
      v.engine.openOrders(account: 1, symbol: "BTCUSDT").filter { $0.side == side }.sorted {
        side == .BUY ? $0.priceTicks > $1.priceTicks : $0.priceTicks < $1.priceTicks
      }
    }
    #expect(
      node.runTwoThreads(idle: .sleep(microseconds: 50), timeoutNs: 10_000_000_000) {
        open(.BUY).count == 2 && open(.SELL).count == 2
      })
    // 100.005 × (1 − 1 %) → 99.00, × (1 − 1.5 %) → 98.50; asks 101.01, 101.51.
    #expect(
      open(.BUY).map(\.priceTicks) == [9_900, 9_850] && open(.SELL).map(\.priceTicks) == [10_101, 10_151])
    // Another participant sells 0.6 BTC at 99.00: the 0.5 bid at 99.90, then 0.1 of our top bid.
    v.engine.deposit(account: 7, asset: "BTC", units: 10 * 1_000_000_000_000_000_000)
    var o = NewOrder(account: 7, symbol: "BTCUSDT", side: .SELL, type: .LIMIT)
    o.priceTicks = 9_900
    o.quantity = 60_000
    v.host.rest.notifyEvents(try v.engine.place(o).events)
    let filled = v.engine.myTrades(account: 1, symbol: "BTCUSDT").count
    #expect(filled == 1)
    // Let the fill's event reach the strategy thread and settle; the condition cannot read the
    // strategy thread's state, so it waits a fixed time (bounded).
    _ = node.runTwoThreads(idle: .sleep(microseconds: 50), timeoutNs: 500_000_000) { false }
    // The strategy thread is joined: its state may be read now.
    #expect(pmm.portfolio.fills == 1 && pmm.portfolio.boughtQuantity == 10_000)
    let btc = v.engine.balance(account: 1, asset: "BTC")
    let usdt = v.engine.balance(account: 1, asset: "USDT")
    #expect(pmm.portfolio.base == btc.free + btc.locked && pmm.portfolio.quote == usdt.free + usdt.locked)
    #expect(expectAgreement(engine: v.engine, tracker: tracker) >= 4)
    #expect(tracker.invalidTransitions == 0 && tracker.unknownOrderUpdates == 0)
    #expect(node.runtime.polls > 1_000, "the strategy thread polled on its own")
  }
}
