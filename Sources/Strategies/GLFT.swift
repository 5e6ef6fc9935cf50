import Engine
import FastBook
import Glibc

/// GLFT's parameters in the engine's units (prices in ticks of the instrument, times in seconds).
public struct GLFTConfig: Sendable, Equatable {
  /// γ, the risk aversion (and ξ, the model's penalty on inventory, taken equal to it).
  public var gamma = 0.05
  /// Quantity raw of each quote (Δ = 1 order of this size).
  public var orderAmount: Int64 = 0
  /// The most inventory, in orders, before the side that adds to it stops quoting.
  public var maxPosition = 20.0
  /// Inventory target as a share of the portfolio's value held in base (q counts orders away
  /// from it); 0 for a perpetual-style flat target.
  public var inventoryTargetBase = 0.5
  /// Windows (seconds) for σ (the mid's changes at each Clock tick) and for λ(δ) (how deep
  /// trades reach at each tick).
  public var volatilityWindowSeconds = 600.0
  public var intensityWindowSeconds = 600.0
  /// Depths λ(δ) is measured at: δ = 0.5, 1.5, … ticks, up to this many.
  public var intensityDepthTicks = 40
  /// Multipliers of the model's half spread and skew (the tutorial's adjustments; 1: the model).
  public var halfSpreadMultiplier = 1.0
  public var skewMultiplier = 1.0
  /// Steps of data before quoting (the estimates need them).
  public var warmupSeconds = 60.0
  public init() {}
}

/// Guéant–Lehalle–Fernandez-Tapia market making: quotes around a reservation price skewed by
/// inventory, with a half spread from the closed-form approximation of the optimal quotes for an
/// exponential fill intensity λ(δ) = A·e^(−kδ) — on the engine's Clock, in backtest, paper and live.
///
/// With δ the distance from the mid in ticks, σ the mid's volatility (ticks per √second), q the
/// inventory in orders of size Δ = 1, γ the risk aversion and ξ = γ:
/// ```
/// c₁ = 1/(ξΔ) · ln(1 + ξΔ/k)
/// c₂ = √( γ / (2·A·Δ·k) · (1 + ξΔ/k)^(k/(ξΔ) + 1) )
/// half spread = c₁ + Δ/2 · σ · c₂          skew = σ · c₂
/// bid = mid − half spread − skew·q           ask = mid + half spread − skew·q
/// ```
/// never better than the touch (a bid at most the best bid, an ask at least the best ask),
/// post-only, one order a side, re-quoted whenever the model's price moves. A and k are fitted
/// every tick by least squares of ln λ(δ) on δ, where λ(δ) is the rate of Clock steps in which
/// a trade reached δ or deeper from the step's starting mid (trades print at their prices).
///
/// Sources: O. Guéant, C.-A. Lehalle, J. Fernandez-Tapia, "Dealing with the inventory risk: a
/// solution to the market making problem", Mathematics and Financial Economics 7 (2013), the
/// asymptotic approximations of the optimal quotes; O. Guéant, "Optimal market making", Applied
/// Mathematical Finance 24 (2017), eqs. for ξ = γ; and hftbacktest's tutorial "GLFT market making
/// model and grid trading", whose estimation of A, k and σ from the stream this follows.
public final class GLFTMarketMaking: MarketMakingStrategy {
  public let config: GLFTConfig
  /// The venue's trading rule (replaced when the venue changes it: `onRuleChanged`).
  public private(set) var rule: TradingRule
  public let instrument: Instrument
  public var portfolio: Portfolio
  public private(set) var orders: [UInt64: OwnOrder] = [:]
  public private(set) var placed = 0
  public private(set) var cancelsSent = 0
  public private(set) var stoppedReason: String?
  /// The last estimates and quotes (ticks; 0 before the first).
  public private(set) var a = 0.0
  public private(set) var k = 0.0
  public private(set) var sigma = 0.0
  public private(set) var halfSpread = 0.0
  public private(set) var skew = 0.0
  public private(set) var inventoryQ = 0.0

  var book: LadderBook?
  var lastMid: Double?
  var lastTickNs: Int64 = 0
  var stepSeconds = 0.0
  var startNs: Int64 = 0
  /// The mid's change at each step over the volatility window (a ring, with running sums).
  var changes: [Double] = []
  var changeHead = 0
  var changeCount = 0
  var changeSum = 0.0
  var changeSquares = 0.0
  /// The deepest trade of each step over the intensity window (a ring), and for each depth
  /// δ = i + 0.5 how many of those steps reached it.
  var depths: [Double] = []
  var depthHead = 0
  var depthCount = 0
  var reached: [Int] = []
  var deepestThisStep = -1.0
  var nextTag: UInt64 = 1
  var scratch: [UInt64] = []

  public init(config: GLFTConfig, rule: TradingRule, instrument: Instrument, portfolio: Portfolio) {
    self.config = config
    self.rule = rule
    self.instrument = instrument
    self.portfolio = portfolio
    scratch.reserveCapacity(8)
  }

  public func referencePrice() -> Double? { midTicks().map { $0 * Double(instrument.tickSize) } }

  public func stop(reason: String, intents: inout Intents) {
    if stoppedReason == nil { stoppedReason = reason }
    cancelAll(intents: &intents)
  }

  func midTicks() -> Double? {
    guard let book, let b = book.best(.bid), let a = book.best(.ask), b.tick < a.tick else { return nil }
    return Double(b.tick + a.tick) / 2
  }

  public func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) { self.book = book }

  public func onTrade(
    priceTicks: Int64, quantity: Int64, aggressor: TradeSide, now: Int64, intents: inout Intents
  ) {
    guard let m = lastMid else { return }
    let d = aggressor == .buy ? Double(priceTicks) - m : m - Double(priceTicks)
    deepestThisStep = max(deepestThisStep, d)
  }

  /// The closed-form quotes: (half spread, skew) in ticks.
  public static func quotes(gamma: Double, a: Double, k: Double, sigma: Double) -> (
    halfSpread: Double, skew: Double
  ) {
    let xi = gamma
    let delta = 1.0
    let c1 = 1 / (xi * delta) * log(1 + xi * delta / k)
    let c2 = (gamma / (2 * a * delta * k) * pow(1 + xi * delta / k, k / (xi * delta) + 1)).squareRoot()
    return (c1 + delta / 2 * sigma * c2, sigma * c2)
  }

  /// A and k of λ(δ) = A·e^(−kδ) by least squares of ln λ on δ; `rate(i)` is λ at δ = i + 0.5.
  public static func fit(depths n: Int, rate: (Int) -> Double) -> (a: Double, k: Double)? {
    exponentialFit(points: n, minimum: 3) { (Double($0) + 0.5, rate($0)) }
  }

  public func onTick(now: Int64, intents: inout Intents) {
    guard let mid = midTicks() else { return }
    if lastTickNs > 0, stepSeconds == 0 {
      stepSeconds = Double(now - lastTickNs) / 1e9
      changes = [Double](
        repeating: 0, count: max(2, Int((config.volatilityWindowSeconds / stepSeconds).rounded())))
      depths = [Double](
        repeating: -1, count: max(2, Int((config.intensityWindowSeconds / stepSeconds).rounded())))
      reached = [Int](repeating: 0, count: config.intensityDepthTicks)
    }
    if startNs == 0 { startNs = now }
    lastTickNs = now
    if let last = lastMid, !changes.isEmpty { record(change: mid - last, deepest: deepestThisStep) }
    lastMid = mid
    deepestThisStep = -1
    guard stoppedReason == nil, stepSeconds > 0, Double(now - startNs) / 1e9 >= config.warmupSeconds,
      changeCount >= 2, depthCount >= 2
    else { return }
    // σ per √second; λ(δ) per second.
    let n = Double(changeCount)
    let variance = max(0, (changeSquares - changeSum * changeSum / n) / (n - 1))
    sigma = variance.squareRoot() / stepSeconds.squareRoot()
    let window = Double(depthCount) * stepSeconds
    guard let fitted = Self.fit(depths: reached.count, rate: { Double(self.reached[$0]) / window }) else {
      return
    }
    a = fitted.a
    k = fitted.k
    let q = Self.quotes(gamma: config.gamma, a: a, k: k, sigma: sigma)
    halfSpread = q.halfSpread * config.halfSpreadMultiplier
    skew = q.skew * config.skewMultiplier
    // q: the inventory in orders, from the target share of the portfolio's value.
    let price = mid * Double(instrument.tickSize)
    let total = Double(portfolio.baseRaw) * price + Double(portfolio.quoteRaw)
    let targetBase = config.inventoryTargetBase > 0 ? total * config.inventoryTargetBase / price : 0
    inventoryQ = (Double(portfolio.baseRaw) - targetBase) / Double(max(config.orderAmount, 1))
    let reservation = mid - skew * inventoryQ
    guard let book, let bb = book.best(.bid), let ba = book.best(.ask) else { return }
    let bidTick = min(Int64((reservation - halfSpread).rounded(.down)), bb.tick)
    let askTick = max(Int64((reservation + halfSpread).rounded(.up)), ba.tick)
    let wantBid = inventoryQ < config.maxPosition
    let wantAsk = inventoryQ > -config.maxPosition
    requote(.buy, tick: wantBid ? bidTick : nil, now: now, intents: &intents)
    requote(.sell, tick: wantAsk ? askTick : nil, now: now, intents: &intents)
  }

  /// A step's mid change and deepest trade into the windows (what leaves a window is taken out).
  func record(change: Double, deepest: Double) {
    if changeCount == changes.count {
      let old = changes[changeHead]
      changeSum -= old
      changeSquares -= old * old
    } else {
      changeCount += 1
    }
    changes[changeHead] = change
    changeSum += change
    changeSquares += change * change
    changeHead = (changeHead + 1) % changes.count
    if depthCount == depths.count {
      let old = depths[depthHead]
      for i in 0..<reached.count where old >= Double(i) + 0.5 { reached[i] -= 1 }
    } else {
      depthCount += 1
    }
    depths[depthHead] = deepest
    for i in 0..<reached.count where deepest >= Double(i) + 0.5 { reached[i] += 1 }
    depthHead = (depthHead + 1) % depths.count
  }

  /// One order on `side` at `tick` (nil: none): orders elsewhere are cancelled, a missing one placed.
  func requote(_ side: TradeSide, tick: Int64?, now: Int64, intents: inout Intents) {
    let price = tick.map { $0 * instrument.tickSize }
    var have = false
    scratch.removeAll(keepingCapacity: true)
    // In tag order: a dictionary's order differs between processes, and runs must not.
    for t in orders.keys.sorted() {
      guard let o = orders[t], o.side == side, !o.cancelling else { continue }
      if let price, o.price == price, !have { have = true } else { scratch.append(t) }
    }
    for t in scratch { cancel(t, intents: &intents) }
    guard let price, !have, price > 0 else { return }
    let quantity = rule.quantize(quantity: config.orderAmount)
    guard rule.violation(price: price, quantity: quantity) == nil else { return }
    // Budget: a buy needs the quote, a sell the base (spot).
    if side == .buy, Int128(price) * Int128(quantity) > portfolio.quoteRaw { return }
    if side == .sell, quantity > portfolio.baseRaw { return }
    let tag = nextTag
    nextTag += 1
    orders[tag] = OwnOrder(side: side, price: price, quantity: quantity, createdNs: now)
    intents.place(PlaceIntent(tag: tag, side: side, price: price, quantity: quantity, postOnly: true))
    placed += 1
  }

  func cancel(_ t: UInt64, intents: inout Intents) {
    if var o = orders[t] {
      o.cancelling = true
      orders[t] = o
    }
    intents.cancel(tag: t)
    cancelsSent += 1
  }

  func cancelAll(intents: inout Intents) {
    scratch.removeAll(keepingCapacity: true)
    for (t, o) in orders where !o.cancelling { scratch.append(t) }
    scratch.sort()
    for t in scratch { cancel(t, intents: &intents) }
  }

  public func onOrder(_ event: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
    guard let q = orders.record(event, tag: tag), case .filled(_, let f) = event else { return }
    portfolio.fill(side: q.side, price: f.price, quantity: f.quantity, taker: false)
  }

  /// The venue's new rule: its quotes are sized and priced to it from the next cycle.
  public func onRuleChanged(_ rule: TradingRule) { self.rule = rule }

  public func onRefused(tag: UInt64, now: Int64, intents: inout Intents) { orders[tag] = nil }
}
