import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import Strategies
import Testing
import Wire

@testable import Venue

@Suite(.serialized) struct AvellanedaStoikovVenueTests {
  static func harness(minimumSpread: Double) throws -> (ExecutorHarness, AvellanedaStoikov) {
    var c = AvellanedaStoikovConfig()
    c.riskFactor = 0.1
    c.kappa = 0.5
    c.orderAmount = 10_000
    c.minimumSpread = minimumSpread
    c.orderRefreshTimeNs = 100 * ExecutorHarness.ms
    c.filledOrderDelayNs = 0
    c.volatilityBufferSize = 400
    var strategy: AvellanedaStoikov!
    let h = try ExecutorHarness(clockTickMs: 20) { rule, p in
      // The target is today's share of base at 100.00, so the inventory starts at q = 0.
      var cc = c
      let baseValue = Double(p.baseRaw) * 10_000
      cc.inventoryTargetBase = baseValue / (baseValue + Double(p.quoteRaw))
      strategy = AvellanedaStoikov(
        config: cc, rule: rule,
        instrument: LoopbackVenue.btcusdt,
        portfolio: p)
      return strategy
    }
    return (h, strategy)
  }

  static func quotes(_ h: ExecutorHarness) -> (bid: Int64, ask: Int64)? {
    let open = h.v.engine.openOrders(account: 1, symbol: "BTCUSDT")
    guard let b = open.first(where: { $0.side == .BUY }), let a = open.first(where: { $0.side == .SELL })
    else {
      return nil
    }
    return (b.priceTicks, a.priceTicks)
  }

  /// Someone else's book swings ±0.20 around 100.00 every other tick for a second, then rests.
  static func swing(_ h: ExecutorHarness) throws {
    for i in 0..<25 {
      try h.market(bid: i % 2 == 0 ? 10_019 : 9_979, ask: i % 2 == 0 ? 10_021 : 9_981)
      h.run(40) { false }
    }
    try h.market(bid: 9_999, ask: 10_001)
  }

  /// A calm market: the quotes sit symmetric around the mid at the model's minimum spread
  /// 2/γ·ln(1+γ/k) (σ = 0); after the market swings, the spread at the venue is wider (γσ²τ).
  @Test func theSpreadWidensWithVolatility() throws {
    let (h, strategy) = try Self.harness(minimumSpread: 0)
    // Calm: spread 2/0.1 · ln(1.2) = 3.65 raws around the mid 100.00: 99.98 / 100.02.
    #expect(h.run(5_000) { Self.quotes(h) != nil })
    let calm = try #require(Self.quotes(h))
    #expect(calm.bid == 9_998 && calm.ask == 10_002, "\(calm)")
    #expect(abs(strategy.inventoryQ) < 0.01)
    try Self.swing(h)
    #expect(strategy.volatility.sigma > 5, "σ per tick in price raws: \(strategy.volatility.sigma)")
    #expect(h.run(3_000) { Self.quotes(h).map { $0.ask - $0.bid > calm.ask - calm.bid + 1 } ?? false })
  }

  /// Inventory: with a wide minimum spread (quotes 1 % away, out of the swing's reach, so the
  /// inventory stays at its target) and σ > 0 from the swing, the quotes are symmetric around the
  /// mid; someone fills the bid (q ≈ +1), and both quotes move down: r = s − q·γ·σ²·τ < s.
  @Test func theQuotesMoveDownWhenLong() throws {
    let (h, strategy) = try Self.harness(minimumSpread: 0.02)
    #expect(h.run(5_000) { Self.quotes(h) != nil })
    try Self.swing(h)
    #expect(strategy.portfolio.fills == 0 && strategy.volatility.sigma > 5)
    #expect(h.run(3_000) { Self.quotes(h).map { abs($0.bid + $0.ask - 20_000) <= 1 } ?? false })
    let even = try #require(Self.quotes(h))
    // Through the other bid (99.99) into ours.
    try h.take(.SELL, lots: 1_010_000, at: even.bid)
    try h.market(bid: 9_999, ask: 10_001)
    #expect(h.run(3_000) { strategy.portfolio.fills == 1 })
    #expect(h.run(1_000) { strategy.inventoryQ > 0.9 }, "q = \(strategy.inventoryQ)")
    #expect(
      h.run(3_000) { Self.quotes(h).map { $0.bid < even.bid && $0.ask < even.ask } ?? false },
      "\(String(describing: Self.quotes(h))) vs \(even)")
    #expect(strategy.reservationPrice < 10_000)
  }
}
