import Testing

@testable import Venue

@Suite struct SyntheticMarketTests {
  /// BTCUSDT without order-count or notional limits, account 1 holding 1,000,000 USDT, and a
  /// synthetic market around 100.00.
  func market(seed: UInt64) -> (MatchingEngine, SyntheticMarket) {
    let e = MatchingEngine()
    var s = btcusdt()
    s.maxNumOrders = 0
    s.minNotional = 0
    e.addSymbol(s)
    e.deposit(account: 1, asset: "USDT", units: 1_000_000 * unit)
    var p = SyntheticMarket.Parameters()
    p.seed = seed
    p.startTicks = 10_000
    return (e, SyntheticMarket(engine: e, symbol: "BTCUSDT", parameters: p))
  }

  func run(seed: UInt64) -> (MatchingEngine, SyntheticMarket) {
    let (e, m) = market(seed: seed)
    for i in 0..<2_000 {
      m.step(seconds: 0.01)
      if i == 500 { _ = try? e.place(limit(1, .BUY, Double(m.fairTicks.rounded()) / 100 - 0.02, 0.5)) }
    }
    return (e, m)
  }

  @Test func flowsTradesAndIsReproducible() {
    let (a, m) = run(seed: 3)
    let (b, _) = run(seed: 3)
    #expect(a.trades == b.trades && a.balances == b.balances, "same seed, same market")
    let (c, _) = run(seed: 4)
    #expect(a.trades != c.trades)
    #expect(
      (m.counts["limit"] ?? 0) > 5000 && (m.counts["market"] ?? 0) > 200 && (m.counts["cancel"] ?? 0) > 3000)
    #expect(a.trades.count > 200)
    let d = a.depth(symbol: "BTCUSDT", limit: 1)
    #expect(d.bids.first!.tick < d.asks.first!.tick, "the synthetic book is not crossed")
    // Our resting bid traded with the flow, or is still queued: either way accounted for.
    let ours = a.openOrders(account: 1).count + a.myTrades(account: 1, symbol: "BTCUSDT").count
    #expect(ours >= 1)
    #expect(a.totalSupply("USDT") == 1_000_000 * unit && a.totalSupply("BTC") == 0)
  }

  /// When the flow's market orders fill someone's resting order, the execution events come out
  /// (the venue host publishes them on the account stream): every trade of ours is reported for
  /// our order, once.
  @Test func fillsOfOurOrdersByTheFlowAreReported() {
    let (e, m) = market(seed: 5)
    var reported: [Int64] = []
    m.onEvents = { events in
      for ev in events where ev.order.account == 1 && ev.execution == .TRADE {
        if let t = ev.trade { reported.append(t.tradeId) }
      }
    }
    for i in 0..<3_000 {
      m.step(seconds: 0.01)
      if i % 300 == 0 { _ = try? e.place(limit(1, .BUY, Double(m.fairTicks.rounded()) / 100 - 0.01, 0.01)) }
    }
    let ours = e.myTrades(account: 1, symbol: "BTCUSDT").map(\.tradeId)
    #expect(!ours.isEmpty, "the flow traded with our bids")
    #expect(reported.sorted() == ours.sorted())
  }
}
