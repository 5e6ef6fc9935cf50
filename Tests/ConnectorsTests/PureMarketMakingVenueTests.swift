import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import Strategies
import Testing
import Wire

@testable import Venue

@Suite(.serialized) struct PureMarketMakingVenueTests {
  /// Pure market making live against the Venue, over TLS, in the runtime: its levels appear in
  /// the venue's book at the prices and sizes the parameters give; when another participant
  /// fills the top bid, the sells hang (stay through refreshes), the other buy is cancelled, no
  /// new order comes before the filled-order delay, then a new set is placed beside the hanging
  /// sells; the strategy's portfolio equals the venue's balances to the last unit, and every order
  /// the venue knows is in the tracker in the same state.
  @Test func levelsFillDelayAndHangingOrdersAtTheVenue() throws {
    // Account 9 rests a bid at 99.90 and an ask at 100.11: mid 100.005.
    let v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 2, liquidityQuantity: 50_000)
    defer { v.loop.shutdown() }
    let ms: Int64 = 1_000_000
    var c = PureMarketMakingConfig()
    c.orderAmount = 10_000
    c.orderLevels = 2
    c.orderLevelSpread = 0.005
    c.orderRefreshTolerance = 0.001
    c.orderRefreshTimeNs = 300 * ms
    c.filledOrderDelayNs = 1_500 * ms
    c.hangingOrders = true
    let rule = TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1)
    let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: .max)
    let fees = FeeSchema(makerRate: 100_000, takerRate: 100_000)
    let pmm = PureMarketMaking(
      config: c, rule: rule, instrument: v.instrument,
      portfolio: Portfolio(base: 0, quote: 0, fees: fees, priceScale: 2, quantityScale: 5))
    let session = try BinanceSession(
      loop: v.loop, endpoint: .init(host: "127.0.0.1", port: v.host.port, serverName: "localhost"),
      tls: TLSContext(client: v.certs.ca), apiKey: "k1", secret: "s1", instrument: v.instrument,
      strategy: pmm, rule: rule, limits: RiskLimits(), prefix: "pmm-", tracker: tracker,
      clock: Clock(tickNs: 20 * ms, start: cplat_now_ns()), centreTick: 10_000)
    // The portfolio starts from the venue's balances, fetched before trading.
    let balances = try #require(session.fetchBalances())
    pmm.portfolio = Portfolio(
      base: balances["BTC"]!.free, quote: balances["USDT"]!.free, fees: fees, priceScale: 2, quantityScale: 5)
    // Deeper outside liquidity (99.70 / 103.00), so the book keeps two sides when ours go.
    for (side, ticks) in [(OrderSide.BUY, Int64(9_700)), (.SELL, 10_300)] {
      var deep = NewOrder(account: 9, symbol: "BTCUSDT", side: side, type: .LIMIT)
      deep.priceTicks = ticks
      deep.quantity = 1_000_000
      _ = try v.engine.place(deep)
    }
    session.start()
    defer { session.stop() }
    func venueOrders(_ side: OrderSide) -> [VenueOrder] {
      v.engine.openOrders(account: 1, symbol: "BTCUSDT").filter { $0.side == side }.sorted {
        side == .BUY ? $0.priceTicks > $1.priceTicks : $0.priceTicks < $1.priceTicks
      }
    }
    #expect(
      session.run(timeoutNs: 10_000_000_000) { venueOrders(.BUY).count == 2 && venueOrders(.SELL).count == 2 }
    )
    // 100.005 × (1 − 1 %) = 99.00495 → 99.00; × (1 − 1.5 %) → 98.50; asks 101.01, 101.51.
    #expect(venueOrders(.BUY).map(\.priceTicks) == [9_900, 9_850])
    #expect(venueOrders(.SELL).map(\.priceTicks) == [10_101, 10_151])
    #expect(
      venueOrders(.BUY).allSatisfy { $0.origQty == 10_000 }
        && venueOrders(.SELL).allSatisfy { $0.origQty == 10_000 })
    // Within the tolerance, refreshes keep the same orders at the venue.
    let firstIDs = Set(v.engine.openOrders(account: 1, symbol: "BTCUSDT").map(\.orderId))
    let deferredBefore = pmm.refreshesDeferred
    #expect(session.run(timeoutNs: 5_000_000_000) { pmm.refreshesDeferred >= deferredBefore + 2 })
    #expect(Set(v.engine.openOrders(account: 1, symbol: "BTCUSDT").map(\.orderId)) == firstIDs)

    // Another participant sells 0.6 BTC at 99.00: the 0.5 bid at 99.90, then our top bid.
    let sellsBefore = Set(venueOrders(.SELL).map(\.orderId))
    v.engine.deposit(account: 7, asset: "BTC", units: 10 * 1_000_000_000_000_000_000)
    var o = NewOrder(account: 7, symbol: "BTCUSDT", side: .SELL, type: .LIMIT)
    o.priceTicks = 9_900
    o.quantity = 60_000
    v.host.rest.notifyEvents(try v.engine.place(o).events)
    let filledAt = cplat_now_ns()
    #expect(session.run(timeoutNs: 5_000_000_000) { pmm.portfolio.fills == 1 })
    #expect(pmm.orders.values.filter(\.hanging).count == 2, "both sells hang")
    // The other buy goes at the next cancel time; nothing new before the delay.
    #expect(session.run(timeoutNs: 5_000_000_000) { venueOrders(.BUY).isEmpty })
    #expect(cplat_now_ns() - filledAt < c.filledOrderDelayNs, "cancelled before the delay ended")
    #expect(Set(venueOrders(.SELL).map(\.orderId)) == sellsBefore, "the hanging sells stay")
    #expect(session.run(timeoutNs: 10_000_000_000) { venueOrders(.BUY).count == 2 })
    #expect(cplat_now_ns() - filledAt >= c.filledOrderDelayNs, "new orders only after the delay")
    #expect(venueOrders(.SELL).count == 4 && sellsBefore.isSubset(of: Set(venueOrders(.SELL).map(\.orderId))))

    // Every answer in (nothing pending), then the portfolio is the venue's account, to the unit (fee included).
    #expect(
      session.run(timeoutNs: 5_000_000_000) {
        !tracker.orders.values.contains { $0.state == .pendingCreate || $0.state == .pendingCancel }
      })
    let btc = v.engine.balance(account: 1, asset: "BTC")
    let usdt = v.engine.balance(account: 1, asset: "USDT")
    #expect(pmm.portfolio.base == btc.free + btc.locked)
    #expect(pmm.portfolio.quote == usdt.free + usdt.locked)
    #expect(pmm.portfolio.boughtQuantity == 10_000 && pmm.portfolio.position == 10_000)
    #expect(expectAgreement(engine: v.engine, tracker: tracker) >= 7)
    #expect(
      tracker.invalidTransitions == 0 && session.host.ruleRefusals == 0,
      "\(tracker.orders.values.map { ($0.clientOrderID, $0.state) })")
  }
}

@Suite(.serialized) struct SyntheticFlowTradingTests {
  /// What `needletail demo` does, checked: pure market making against the Venue's synthetic
  /// participants (their market orders fill our quotes) until it has traded both ways, then a
  /// stop. Every fill the venue made reaches the strategy exactly once — including fills by the
  /// synthetic flow, which the venue must publish on the account stream — so the strategy's
  /// portfolio equals the venue's balances to the unit, and nothing is left open.
  @Test func marketMakingAgainstSyntheticFlowMatchesTheVenuesRecord() throws {
    var p = SyntheticMarket.Parameters()
    p.seed = 7
    p.startTicks = 6_000_000
    p.volatilityTicksPerSecond = 300
    p.meanDepthTicks = 400
    p.marketRate = 60
    p.maxLots = 1_500
    let v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 0, liquidityQuantity: 0, market: p)
    let (loop, engine, inst) = (v.loop, v.engine, v.instrument)
    defer { loop.shutdown() }
    let ms: Int64 = 1_000_000
    var c = PureMarketMakingConfig()
    c.bidSpread = 0.00003
    c.askSpread = 0.00003
    c.orderAmount = 500
    c.orderRefreshTimeNs = 1_000 * ms
    c.filledOrderDelayNs = 200 * ms
    let fees = FeeSchema(makerRate: 100_000, takerRate: 100_000)
    let pmm = PureMarketMaking(
      config: c, rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1), instrument: inst,
      portfolio: Portfolio(base: 0, quote: 0, fees: fees, priceScale: 2, quantityScale: 5))
    let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: .max)
    let session = try BinanceSession(
      loop: loop, endpoint: .init(host: "127.0.0.1", port: v.host.port, serverName: "localhost"),
      tls: TLSContext(client: v.certs.ca), apiKey: "k1", secret: "s1", instrument: inst, strategy: pmm,
      rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1), limits: RiskLimits(), prefix: "syn-",
      tracker: tracker, clock: Clock(tickNs: 50 * ms, start: cplat_now_ns()), centreTick: 6_000_000)
    let b = try #require(session.fetchBalances())
    pmm.portfolio = Portfolio(
      base: b["BTC"]!.free, quote: b["USDT"]!.free, fees: fees, priceScale: 2, quantityScale: 5)
    session.start()
    defer { session.stop() }
    #expect(
      session.run(timeoutNs: 40_000_000_000) {
        pmm.portfolio.boughtQuantity > 0 && pmm.portfolio.soldQuantity > 0
      }, "no two-way trading in 40 s: fills \(pmm.portfolio.fills), placed \(pmm.placed)")
    session.host.perform(referencePrice: StrategyHost.mid(session.runtime.book), now: cplat_now_ns()) {
      pmm.stop(reason: "test over", intents: &$0)
    }
    #expect(
      session.run(timeoutNs: 10_000_000_000) {
        pmm.orders.isEmpty && !tracker.orders.values.contains { !$0.state.isDone }
      })
    let trades = engine.myTrades(account: 1, symbol: "BTCUSDT")
    #expect(trades.count == pmm.portfolio.fills)
    #expect(engine.openOrders(account: 1).isEmpty)
    let btc = engine.balance(account: 1, asset: "BTC")
    let usdt = engine.balance(account: 1, asset: "USDT")
    #expect(pmm.portfolio.base == btc.free + btc.locked && pmm.portfolio.quote == usdt.free + usdt.locked)
    #expect(expectAgreement(engine: engine, tracker: tracker) > 0)
    print(
      "synthetic flow: \(trades.count) fills, \(pmm.placed) orders placed, \(session.runtime.reconciliations) reconciliations"
    )
  }
}
