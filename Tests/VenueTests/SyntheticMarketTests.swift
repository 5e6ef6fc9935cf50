import Testing

@testable import Venue

@Suite struct SyntheticMarketTests {
  func run(seed: UInt64) -> (MatchingEngine, SyntheticMarket) {
    let e = MatchingEngine()
    var s = btcusdt()
    s.maxNumOrders = 0
    s.minNotional = 0
    e.addSymbol(s)
    e.deposit(account: 1, asset: "USDT", units: 1_000_000 * unit)
    var p = SyntheticMarket.Parameters()
    p.seed = seed
    p.startTicks = 10_000
    let m = SyntheticMarket(engine: e, symbol: "BTCUSDT", parameters: p)
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
}
