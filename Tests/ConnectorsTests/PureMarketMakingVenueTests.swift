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

/// Pure market making's inventory skew, ping-pong and price band at the Venue, against another
/// account's book at 99.99 / 100.01 (mid 100.00), with what Hummingbot's documentation says each
/// one does checked on the orders the venue holds.
@Suite(.serialized) struct PureMarketMakingModifierVenueTests {
  static func start(
    _ edit: (inout PureMarketMakingConfig) -> Void, balances: (btc: Double, usdt: Double)? = nil
  ) throws -> (ExecutorHarness, PureMarketMaking) {
    var c = PureMarketMakingConfig()
    c.orderAmount = 10_000
    c.orderRefreshTimeNs = 200 * ExecutorHarness.ms
    c.filledOrderDelayNs = 300 * ExecutorHarness.ms
    edit(&c)
    var pmm: PureMarketMaking!
    let h = try ExecutorHarness(balances: balances) { rule, p in
      pmm = PureMarketMaking(
        config: c, rule: rule,
        instrument: LoopbackVenue.btcusdt,
        portfolio: p)
      return pmm
    }
    return (h, pmm)
  }

  /// Our orders at the venue: (price, size) by side, best first.
  static func book(_ h: ExecutorHarness) -> (buys: [[Int64]], sells: [[Int64]]) {
    (
      h.ours(.BUY).reversed().map { [$0.priceTicks, $0.origQty] },
      h.ours(.SELL).map { [$0.priceTicks, $0.origQty] }
    )
  }

  /// Someone fills our best `side` order: they trade through the other account's 10 BTC at the
  /// top and then our order, and the other account's book is put back.
  static func fillOurTop(_ h: ExecutorHarness, _ side: OrderSide, lots: Int64, at ticks: Int64) throws {
    try h.take(side == .BUY ? .SELL : .BUY, lots: 1_000_000 + lots, at: ticks)
    try h.market(bid: 9_999, ask: 10_001)
  }

  /// Inventory skew (target 50 %, range 3 × the order amount): holding 1.2 BTC and 80 USDT at
  /// 100.00 is 60 % in base, two thirds of the way to the range's edge, so the bid is sized
  /// ⅓ × 0.1 and the ask 1⅔ × 0.1 (the two always sum to twice the amount). After someone buys
  /// the whole ask at 101.00, base is 103.33 of 200.15 in value: the bid grows to 0.08913 and the
  /// ask shrinks to 0.11086, closer to even — at the venue, order by order.
  @Test func inventorySkewSizesOrdersTowardTheTarget() throws {
    let (h, pmm) = try Self.start(
      {
        $0.inventorySkew = true
        $0.inventoryTargetBase = 0.5
        $0.inventoryRangeMultiplier = 3
      }, balances: (btc: 1.2, usdt: 80))
    #expect(h.run(5_000) { h.ours(.BUY).count == 1 && h.ours(.SELL).count == 1 })
    #expect(
      Self.book(h).buys == [[9_900, 3_333]] && Self.book(h).sells == [[10_100, 16_666]], "\(Self.book(h))")
    try Self.fillOurTop(h, .SELL, lots: 16_666, at: 10_100)
    #expect(h.run(5_000) { pmm.portfolio.fills == 1 })
    // base 1.2 − 0.16666 = 1.03334 BTC; quote 80 + 16.83266 − 0.01683 fee = 96.81583 USDT;
    // (103.334 − 100.0749) / 30 of the way to the edge: bid × 0.89136, ask × 1.10864.
    #expect(
      h.run(5_000) { h.ours(.BUY).first?.origQty == 8_913 && h.ours(.SELL).first?.origQty == 11_086 },
      "\(Self.book(h))")
    #expect(Self.book(h).buys == [[9_900, 8_913]] && Self.book(h).sells == [[10_100, 11_086]])
    #expect(h.run(3_000) { !h.tracker.orders.values.contains { !$0.state.isDone && $0.state != .open } })
    #expect(expectAgreement(engine: h.v.engine, tracker: h.tracker) >= 4)
  }

  /// Ping-pong with two levels: after our top bid fills, the next set has one bid (the top level
  /// gone) and both asks; after an ask fills too, buys and sells are even again and both sides
  /// have both levels.
  @Test func pingPongTakesTheFilledSidesTopLevelUntilTheOtherSideFills() throws {
    let (h, pmm) = try Self.start {
      $0.orderLevels = 2
      $0.orderLevelSpread = 0.005
      $0.pingPong = true
    }
    let both = (
      buys: [[Int64(9_900), 10_000], [9_850, 10_000]], sells: [[Int64(10_100), 10_000], [10_150, 10_000]]
    )
    #expect(h.run(5_000) { h.ours(.BUY).count == 2 && h.ours(.SELL).count == 2 })
    #expect(Self.book(h) == both, "\(Self.book(h))")
    try Self.fillOurTop(h, .BUY, lots: 10_000, at: 9_900)
    #expect(h.run(5_000) { pmm.portfolio.fills == 1 })
    let placedBefore = pmm.placed
    #expect(h.run(5_000) { pmm.placed >= placedBefore + 3 && h.ours(.SELL).count == 2 }, "\(Self.book(h))")
    #expect(Self.book(h).buys == [[9_850, 10_000]] && Self.book(h).sells == both.sells, "\(Self.book(h))")
    #expect(pmm.filledBuysBalance == 1 && pmm.filledSellsBalance == 0)
    // It stays so refresh after refresh.
    let deferred = pmm.refreshesDeferred
    #expect(h.run(5_000) { pmm.refreshesDeferred >= deferred + 3 })
    #expect(Self.book(h).buys == [[9_850, 10_000]] && Self.book(h).sells == both.sells, "\(Self.book(h))")
    try Self.fillOurTop(h, .SELL, lots: 10_000, at: 10_100)
    #expect(h.run(5_000) { pmm.portfolio.fills == 2 })
    #expect(h.run(5_000) { h.ours(.BUY).count == 2 && h.ours(.SELL).count == 2 }, "\(Self.book(h))")
    #expect(Self.book(h) == both)
    #expect(h.venuePosition == 0)
  }

  /// A price ceiling of 100.50 and a floor of 99.50: with the mid at 100.81 only the ask is
  /// quoted (no buying above the ceiling), at 99.21 only the bid (no selling below the floor),
  /// and back at 100.00 both.
  @Test func priceCeilingAndFloorQuoteOneSide() throws {
    let (h, _) = try Self.start {
      $0.priceCeiling = 10_050
      $0.priceFloor = 9_950
    }
    #expect(h.run(5_000) { h.ours(.BUY).count == 1 && h.ours(.SELL).count == 1 })
    try h.market(bid: 10_080, ask: 10_082)
    // 100.81 × 1.01 = 101.8181 → 101.82.
    #expect(
      h.run(5_000) { h.ours(.BUY).isEmpty && h.ours(.SELL).map(\.priceTicks) == [10_182] }, "\(Self.book(h))")
    #expect(h.run(1_000) { !h.ours(.BUY).isEmpty } == false, "no bid while above the ceiling")
    try h.market(bid: 9_920, ask: 9_922)
    // 99.21 × 0.99 = 98.2179 → 98.21.
    #expect(
      h.run(5_000) { h.ours(.SELL).isEmpty && h.ours(.BUY).map(\.priceTicks) == [9_821] }, "\(Self.book(h))")
    #expect(h.run(1_000) { !h.ours(.SELL).isEmpty } == false, "no ask while below the floor")
    try h.market(bid: 9_999, ask: 10_001)
    #expect(
      h.run(5_000) {
        h.ours(.BUY).map(\.priceTicks) == [9_900] && h.ours(.SELL).map(\.priceTicks) == [10_100]
      })
  }

  /// A moving band of ±0.5 % set from the mid and renewed every 1.5 s: at first 99.50–100.50,
  /// so a move to 100.81 leaves only the ask; when the band is renewed around 100.81 the bid
  /// comes back, at 99.80.
  @Test func movingPriceBandFollowsThePriceAfterItsRefreshTime() throws {
    let (h, pmm) = try Self.start {
      $0.movingPriceBand = true
      $0.movingPriceCeiling = 0.005
      $0.movingPriceFloor = 0.005
      $0.movingPriceBandRefreshNs = 1_500 * ExecutorHarness.ms
    }
    #expect(h.run(5_000) { h.ours(.BUY).count == 1 && h.ours(.SELL).count == 1 })
    let first = try #require(pmm.band)
    #expect(abs(first.ceiling - 10_050) < 1e-6 && abs(first.floor - 9_950) < 1e-6)
    try h.market(bid: 10_080, ask: 10_082)
    #expect(
      h.run(5_000) { h.ours(.BUY).isEmpty && h.ours(.SELL).map(\.priceTicks) == [10_182] }, "\(Self.book(h))")
    #expect(pmm.band?.setNs == first.setNs, "the band has not moved yet")
    // 100.81 × 0.99 = 99.8019 → 99.80.
    #expect(h.run(5_000) { h.ours(.BUY).map(\.priceTicks) == [9_980] }, "\(Self.book(h))")
    let renewed = try #require(pmm.band)
    #expect(renewed.setNs - first.setNs >= 1_500 * ExecutorHarness.ms)
    #expect(abs(renewed.ceiling - 10_081 * 1.005) < 1e-6 && abs(renewed.floor - 10_081 * 0.995) < 1e-6)
  }

  /// `price_source: custom_api`: the quotes are made around a price another program serves
  /// (Python's http.server, serving a JSON file), not around the venue's mid of 100.00; when the
  /// file changes they follow at the next refresh; when the feed goes quiet for longer than the
  /// age limit the quotes are pulled rather than left at a price nobody vouches for.
  @Test func quotesFollowACustomHTTPPriceFeed() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nt-feed-\(UUID().uuidString)")
      .path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try #"{"symbol": "BTCUSDT", "price": "100.50"}"#.write(
      toFile: dir + "/price.json", atomically: true, encoding: .utf8)
    let server = try PeerProcess(
      PeerProcess.python, ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir])
    defer { server.stop() }
    let serving = try #require(server.waitForLine("Serving HTTP on 127.0.0.1 port "), "\(server.text)")
    let port = try #require(serving.split(separator: " ").first.flatMap { Int($0) })
    let external = ExternalPrice()
    let (h, pmm) = try Self.start {
      $0.externalPrice = external
      $0.externalPriceMaxAgeNs = 1_000 * ExecutorHarness.ms
    }
    let source = try HTTPPriceFeed.Source.parse("http://127.0.0.1:\(port)/price.json").get()
    let feed = HTTPPriceFeed(
      loop: h.v.loop, source: source, tls: nil, priceScale: 2, intervalNs: 100 * ExecutorHarness.ms,
      into: external)
    feed.start()
    defer { feed.stop() }
    // 100.50 × 0.99 = 99.495 → 99.49; × 1.01 = 101.505 → 101.51.
    #expect(
      h.run(5_000) {
        h.ours(.BUY).map(\.priceTicks) == [9_949] && h.ours(.SELL).map(\.priceTicks) == [10_151]
      },
      "\(Self.book(h)) feed \(feed.updates)/\(feed.failures) \(feed.lastError ?? "")")
    try #"{"symbol": "BTCUSDT", "price": "99.50"}"#.write(
      toFile: dir + "/price.json", atomically: true, encoding: .utf8)
    // 99.50 × 0.99 = 98.505 → 98.50; × 1.01 = 100.495 → 100.50.
    #expect(
      h.run(5_000) {
        h.ours(.BUY).map(\.priceTicks) == [9_850] && h.ours(.SELL).map(\.priceTicks) == [10_050]
      },
      "\(Self.book(h))")
    server.stop()
    #expect(h.run(5_000) { h.ours(.BUY).isEmpty && h.ours(.SELL).isEmpty }, "\(Self.book(h))")
    #expect(pmm.referencePrice() == nil && feed.failures > 0 && feed.updates >= 2)
  }
}
