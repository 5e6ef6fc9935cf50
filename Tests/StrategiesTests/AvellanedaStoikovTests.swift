import Engine
import FastBook
import Foundation
import Strategies
import Testing

@Suite struct AvellanedaStoikovTests {
  let inst = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)
  static let unit: Int128 = 1_000_000_000_000_000_000

  /// The model's formulas: with no inventory and no volatility the quotes sit symmetrically at
  /// (1/γ)·ln(1+γ/k) from the mid; inventory moves the reservation price against it by q·γ·σ²·τ;
  /// volatility widens the spread by γ·σ²·τ; less time left shrinks both effects.
  @Test func quotesFollowTheModel() {
    let flat = AvellanedaStoikov.quotes(
      mid: 10_000, sigma: 0, q: 0, gamma: 0.5, kappa: 0.1, tau: 1, minimumSpread: 0)
    let half = log(1 + 0.5 / 0.1) / 0.5
    #expect(abs(flat.reservation - 10_000) < 1e-9 && abs(flat.ask - 10_000 - half) < 1e-9)
    #expect(abs(10_000 - flat.bid - half) < 1e-9)
    let long = AvellanedaStoikov.quotes(
      mid: 10_000, sigma: 2, q: 3, gamma: 0.5, kappa: 0.1, tau: 1, minimumSpread: 0)
    #expect(abs(long.reservation - (10_000 - 3 * 0.5 * 4)) < 1e-9, "long: r below the mid by qγσ²")
    let short = AvellanedaStoikov.quotes(
      mid: 10_000, sigma: 2, q: -3, gamma: 0.5, kappa: 0.1, tau: 1, minimumSpread: 0)
    #expect(short.reservation > 10_000 && short.bid > long.bid && short.ask > long.ask)
    let calm = AvellanedaStoikov.quotes(
      mid: 10_000, sigma: 1, q: 0, gamma: 0.5, kappa: 0.1, tau: 1, minimumSpread: 0)
    let wild = AvellanedaStoikov.quotes(
      mid: 10_000, sigma: 4, q: 0, gamma: 0.5, kappa: 0.1, tau: 1, minimumSpread: 0)
    #expect(abs((wild.spread - calm.spread) - 0.5 * (16 - 1)) < 1e-9, "spread grows by γ(σ₂²−σ₁²)")
    let late = AvellanedaStoikov.quotes(
      mid: 10_000, sigma: 2, q: 3, gamma: 0.5, kappa: 0.1, tau: 0.25, minimumSpread: 0)
    #expect(late.reservation > long.reservation && late.spread < long.spread, "near the end: less skew")
    let floor = AvellanedaStoikov.quotes(
      mid: 10_000, sigma: 0, q: 0, gamma: 0.5, kappa: 0.1, tau: 1, minimumSpread: 0.01)
    #expect(abs(floor.spread - 100) < 1e-9, "the minimum spread is a floor")
  }

  /// The intensity fit recovers k from trades whose distances decay as e^(−kδ).
  @Test func tradingIntensityFitRecoversTheDecay() throws {
    var t = TradingIntensity(buckets: 32, bucketWidth: 5, minimumTrades: 100)
    let k = 0.04
    // Deterministic: volume at each distance proportional to A·e^(−kδ).
    for bucket in 0..<20 {
      let d = (Double(bucket) + 0.5) * 5
      let trades = Int((2_000 * exp(-k * d)).rounded())
      for _ in 0..<max(trades, 1) { t.add(distance: bucket % 2 == 0 ? d : -d, quantity: 1) }
    }
    let fit = try #require(t.fit())
    #expect(abs(fit.k - k) / k < 0.05, "k \(fit.k)")
    #expect(TradingIntensity(bucketWidth: 5).fit() == nil, "no fit before enough trades")
  }

  /// In the strategy: a long portfolio quotes lower than a short one, sizes on the side that
  /// adds to the inventory shrink by e^(−η|q|), and more volatility widens the quotes.
  @Test func theStrategyLeansAgainstInventoryAndWidensWithVolatility() {
    func run(base: Int128, quote: Int128, jitter: Int64) -> (
      bid: Int64, ask: Int64, bidQty: Int64, askQty: Int64
    ) {
      var c = AvellanedaStoikovConfig()
      c.riskFactor = 0.01
      c.kappa = 0.05
      c.orderAmount = 100_000  // 1 BTC
      c.orderAmountShapeFactor = 0.5
      c.volatilityBufferSize = 20
      let s = AvellanedaStoikov(
        config: c, rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1), instrument: inst,
        portfolio: Portfolio(
          base: base * Self.unit, quote: quote * Self.unit, fees: FeeSchema(makerRate: 0, takerRate: 0),
          priceScale: 2, quantityScale: 5))
      let book = LadderBook(instrument: inst, windowTicks: 1 << 14, centreTick: 10_000)
      var intents = Intents()
      let placed: [PlaceIntent]
      // The mid alternates by ±jitter ticks each second: σ per tick ≈ 2·jitter.
      for i in 0..<25 {
        let m: Int64 = 10_000 + (i % 2 == 0 ? jitter : -jitter)
        book.clear(centreTick: m)
        _ = book.update(.bid, tick: m - 1, quantity: 1_000_000)
        _ = book.update(.ask, tick: m + 1, quantity: 1_000_000)
        s.onBook(book, now: Int64(i) * 1_000_000_000, intents: &intents)
        if i < 24 { s.onTick(now: Int64(i) * 1_000_000_000, intents: &intents) }
      }
      // The quotes are placed once (then kept for the refresh time, 30 s): the first proposal.
      placed = intents.places
      #expect(placed.count == 2)
      let bids = placed.filter { $0.side == .buy }
      let asks = placed.filter { $0.side == .sell }
      return (
        bids.first?.price ?? 0, asks.first?.price ?? 0, bids.first?.quantity ?? 0, asks.first?.quantity ?? 0
      )
    }
    // Value 200,000 at mid 100.00 (USDT): target half in base = 1,000 BTC.
    let balanced = run(base: 1_000, quote: 100_000, jitter: 5)
    let long = run(base: 1_003, quote: 99_700, jitter: 5)
    let short = run(base: 997, quote: 100_300, jitter: 5)
    #expect(long.bid < balanced.bid && long.ask < balanced.ask, "long: both quotes lower")
    #expect(short.bid > balanced.bid && short.ask > balanced.ask, "short: both quotes higher")
    #expect(long.bidQty < 100_000 && long.askQty == 100_000, "long: smaller bids (η)")
    #expect(short.askQty < 100_000 && short.bidQty == 100_000, "short: smaller asks (η)")
    let wild = run(base: 1_000, quote: 100_000, jitter: 20)
    #expect(wild.ask - wild.bid > balanced.ask - balanced.bid, "more volatility: wider")
  }

  /// Outside its execution timeframe the strategy does not quote.
  @Test func noQuotesOutsideTheTimeframe() {
    let tf = ExecutionTimeframe.daily(startSecond: 9 * 3_600, endSecond: 17 * 3_600)
    #expect(tf.timeLeftFraction(wallNs: 8 * 3_600 * 1_000_000_000) == nil)
    #expect(tf.timeLeftFraction(wallNs: 13 * 3_600 * 1_000_000_000) == 0.5)
    let ft = ExecutionTimeframe.fromTo(startNs: 100, endNs: 200)
    #expect(ft.timeLeftFraction(wallNs: 150) == 0.5 && ft.timeLeftFraction(wallNs: 250) == nil)
  }

  /// The strategy reads its trading hours on the time source it was given: on simulated time at
  /// 08:00 of the data's day it does not quote, at 13:00 it does — whatever the machine's clock.
  @Test func theTimeframeIsReadOnTheGivenTimeSource() {
    let day: Int64 = 20_428 * 86_400 * 1_000_000_000  // 2025-12-06 00:00 UTC
    let hour: Int64 = 3_600 * 1_000_000_000
    func quotes(at wall: Int64) -> Int {
      var c = AvellanedaStoikovConfig()
      c.riskFactor = 0.01
      c.kappa = 0.05
      c.orderAmount = 100_000
      c.volatilityBufferSize = 20
      c.timeframe = .daily(startSecond: 9 * 3_600, endSecond: 17 * 3_600)
      let time = SimulatedTime(startNs: wall)
      let s = AvellanedaStoikov(
        config: c, rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1), instrument: inst,
        portfolio: Portfolio(
          base: 1_000 * Self.unit, quote: 100_000 * Self.unit, fees: FeeSchema(makerRate: 0, takerRate: 0),
          priceScale: 2, quantityScale: 5), time: time)
      let book = LadderBook(instrument: inst, windowTicks: 1 << 14, centreTick: 10_000)
      var intents = Intents()
      for i in 0..<5 {
        let m: Int64 = 10_000 + (i % 2 == 0 ? 5 : -5)
        book.clear(centreTick: m)
        _ = book.update(.bid, tick: m - 1, quantity: 1_000_000)
        _ = book.update(.ask, tick: m + 1, quantity: 1_000_000)
        time.advance(by: 1_000_000_000)
        s.onBook(book, now: time.nowNs, intents: &intents)
        s.onTick(now: time.nowNs, intents: &intents)
      }
      return intents.places.count
    }
    #expect(quotes(at: day + 8 * hour) == 0)
    #expect(quotes(at: day + 13 * hour) == 2)
  }
}
