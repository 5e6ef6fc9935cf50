import Engine
import FastBook
import Glibc

/// The volatility of the mid price: the standard deviation of its changes between samples
/// (one sample per Clock tick), over the last `capacity` changes. Fixed storage.
public struct VolatilityEstimator: Sendable {
  var changes: [Double]
  var next = 0
  public private(set) var count = 0
  var last: Double? = nil

  public init(capacity: Int) {
    changes = [Double](repeating: 0, count: max(capacity, 2))
  }

  public mutating func add(mid: Double) {
    if let l = last {
      changes[next] = mid - l
      next = (next + 1) % changes.count
      count = min(count + 1, changes.count)
    }
    last = mid
  }

  /// Full once as many changes as the capacity were seen.
  public var isReady: Bool { count == changes.count }

  /// σ of the changes (price raws per sample), over what was seen.
  public var sigma: Double {
    guard count > 1 else { return 0 }
    var mean = 0.0
    for i in 0..<count { mean += changes[i] }
    mean /= Double(count)
    var v = 0.0
    for i in 0..<count { v += (changes[i] - mean) * (changes[i] - mean) }
    return (v / Double(count - 1)).squareRoot()
  }
}

/// Trading intensity λ(δ) = A·e^(−kδ): how much trades reach δ away from the mid. Each public
/// trade adds its size at its distance from the mid at that moment; `fit` is a least-squares fit
/// of ln λ on δ over distance buckets (Hummingbot's trading intensity indicator, by regression on
/// the log rather than an iterative curve fit).
public struct TradingIntensity: Sendable {
  /// Distance buckets, in price raws; volume per bucket.
  var volume: [Double]
  public let bucketWidth: Double
  public private(set) var trades = 0
  public let minimumTrades: Int

  public init(buckets: Int = 32, bucketWidth: Double, minimumTrades: Int = 50) {
    volume = [Double](repeating: 0, count: buckets)
    self.bucketWidth = bucketWidth
    self.minimumTrades = minimumTrades
  }

  public mutating func add(distance: Double, quantity: Double) {
    let b = Int(abs(distance) / bucketWidth)
    guard b < volume.count else { return }
    volume[b] += quantity
    trades += 1
  }

  /// (A, k) with λ in quantity per bucket, k per price raw; nil until enough trades and at least
  /// two buckets hold volume.
  public func fit() -> (a: Double, k: Double)? {
    guard trades >= minimumTrades else { return nil }
    return exponentialFit(points: volume.count, minimum: 2) { ((Double($0) + 0.5) * bucketWidth, volume[$0]) }
  }
}

/// λ(x) = A·e^(−kx) fitted by least squares of ln λ on x over `points` samples (`sample(i)`: x
/// and λ; samples with λ ≤ 0 are left out); nil with fewer than `minimum` samples, or when λ does
/// not fall with x. The trading-intensity fit of Avellaneda–Stoikov and of GLFT.
func exponentialFit(points: Int, minimum: Int, _ sample: (Int) -> (x: Double, rate: Double)) -> (
  a: Double, k: Double
)? {
  var n = 0.0
  var sx = 0.0
  var sy = 0.0
  var sxx = 0.0
  var sxy = 0.0
  for i in 0..<points {
    let (x, l) = sample(i)
    guard l > 0 else { continue }
    let y = log(l)
    n += 1
    sx += x
    sy += y
    sxx += x * x
    sxy += x * y
  }
  guard n >= Double(minimum) else { return nil }
  let slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
  let intercept = (sy - slope * sx) / n
  guard slope < 0, slope.isFinite, intercept.isFinite else { return nil }
  return (exp(intercept), -slope)
}

/// When the strategy's horizon ends (Hummingbot's execution timeframe).
public enum ExecutionTimeframe: Sendable, Equatable {
  /// No end: the time-left fraction is always 1.
  case infinite
  /// From one time to another (wall-clock nanoseconds since 1970).
  case fromTo(startNs: Int64, endNs: Int64)
  /// Every day between two times of day (seconds after midnight UTC).
  case daily(startSecond: Int, endSecond: Int)

  /// The share of the horizon left at `wallNs` (1 at its start, 0 at its end), or nil outside it.
  public func timeLeftFraction(wallNs: Int64) -> Double? {
    switch self {
    case .infinite: return 1
    case .fromTo(let s, let e):
      guard wallNs >= s, wallNs < e, e > s else { return nil }
      return Double(e - wallNs) / Double(e - s)
    case .daily(let s, let e):
      let second = Int((wallNs / 1_000_000_000) % 86_400)
      guard e > s, second >= s, second < e else { return nil }
      return Double(e - second) / Double(e - s)
    }
  }
}

public struct AvellanedaStoikovConfig: Sendable, Equatable {
  /// γ: risk aversion. Larger: quotes lean harder against inventory.
  public var riskFactor = 1.0
  /// η: order-amount shape factor. Sizes on the side that adds to the inventory shrink by e^(−η|q|).
  public var orderAmountShapeFactor = 0.0
  /// Minimum total spread, as a fraction of the mid.
  public var minimumSpread = 0.0
  public var orderAmount: Int64 = 0
  public var orderLevels = 1
  /// Extra distance of each further level, as a fraction of the optimal half-spread.
  public var levelDistances = 0.0
  public var orderRefreshTimeNs: Int64 = 30_000_000_000
  public var orderRefreshTolerance = 0.0
  public var filledOrderDelayNs: Int64 = 60_000_000_000
  public var inventoryTargetBase = 0.5
  public var volatilityBufferSize = 200
  public var tradingIntensityBufferSize = 200
  public var timeframe: ExecutionTimeframe = .infinite
  /// k and A until the trades give a fit (Hummingbot waits; here a prior can be given).
  public var kappa: Double? = nil
  public init() {}
}

/// Avellaneda–Stoikov market making: quotes around the reservation price
/// r = s − q·γ·σ²·τ with the optimal spread δ = γ·σ²·τ + (2/γ)·ln(1 + γ/k), where s is the mid,
/// q the inventory away from the target in order-size units, σ the mid's volatility per Clock
/// tick, τ the time left in the horizon (1 for an infinite one) and k the decay of the trading
/// intensity λ(δ) = A·e^(−kδ) fitted from public trades. Sizes shrink by e^(−η|q|) on the side
/// that would add to the inventory. Orders are replaced when the refresh time has passed and the
/// new prices are beyond the tolerance, and not before `filledOrderDelay` after a fill.
public final class AvellanedaStoikov: MarketMakingStrategy {
  public let config: AvellanedaStoikovConfig
  /// The venue's trading rule (replaced when the venue changes it: `onRuleChanged`).
  public private(set) var rule: TradingRule
  public let instrument: Instrument
  public var portfolio: Portfolio
  public private(set) var volatility: VolatilityEstimator
  public private(set) var intensity: TradingIntensity
  public private(set) var orders: [UInt64: OwnOrder] = [:]
  /// The last computed model values (for status and tests).
  public private(set) var reservationPrice = 0.0
  public private(set) var optimalSpread = 0.0
  public private(set) var inventoryQ = 0.0
  public private(set) var placed = 0
  public private(set) var cancelsSent = 0
  public private(set) var stoppedReason: String?
  var nextTag: UInt64 = 1
  var createAtNs: Int64 = 0
  var book: LadderBook?
  var scratch: [UInt64] = []
  /// The wall clock the timeframe is read on (the host's time source: the data's in a backtest).
  public let time: any TimeSource

  public init(
    config: AvellanedaStoikovConfig, rule: TradingRule, instrument: Instrument, portfolio: Portfolio,
    time: any TimeSource = LiveTime.shared
  ) {
    self.time = time
    self.config = config
    self.rule = rule
    self.instrument = instrument
    self.portfolio = portfolio
    volatility = VolatilityEstimator(capacity: config.volatilityBufferSize)
    intensity = TradingIntensity(bucketWidth: Double(instrument.tickSize) * 5)
    orders.reserveCapacity(4 * config.orderLevels + 8)
    scratch.reserveCapacity(4 * config.orderLevels + 8)
  }

  /// The mid (the model's s).
  public func referencePrice() -> Double? { mid() }

  public func stop(reason: String, intents: inout Intents) {
    if stoppedReason == nil { stoppedReason = reason }
    cancelAll(intents: &intents)
  }

  func mid() -> Double? {
    guard let book, let b = book.best(.bid), let a = book.best(.ask), b.tick < a.tick else { return nil }
    return Double(b.tick + a.tick) * Double(instrument.tickSize) / 2
  }

  public func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) { self.book = book }

  public func onTrade(
    priceTicks: Int64, quantity: Int64, aggressor: TradeSide, now: Int64, intents: inout Intents
  ) {
    guard let m = mid() else { return }
    intensity.add(distance: Double(priceTicks * instrument.tickSize) - m, quantity: Double(quantity))
  }

  /// The decay k of the trading intensity (per price raw): fitted, else the configured prior.
  public var kappa: Double? { intensity.fit()?.k ?? config.kappa }

  /// The model's bid and ask for mid `s`, σ per tick, inventory `q`, time left `tau`, decay `k`.
  public static func quotes(
    mid s: Double, sigma: Double, q: Double, gamma: Double, kappa k: Double, tau: Double,
    minimumSpread: Double
  ) -> (reservation: Double, spread: Double, bid: Double, ask: Double) {
    let variance = sigma * sigma
    let r = s - q * gamma * variance * tau
    var spread = gamma * variance * tau + 2 / gamma * log(1 + gamma / k)
    spread = max(spread, s * minimumSpread)
    return (r, spread, r - spread / 2, r + spread / 2)
  }

  public func onTick(now: Int64, intents: inout Intents) {
    guard stoppedReason == nil, let s = mid() else { return }
    volatility.add(mid: s)
    guard volatility.count >= 2, let k = kappa else { return }
    guard let tau = config.timeframe.timeLeftFraction(wallNs: time.wallNs) else {
      // Outside the horizon: no quotes.
      cancelAll(intents: &intents)
      return
    }
    let total = Double(portfolio.baseRaw) * s + Double(portfolio.quoteRaw)
    let targetBase = total * config.inventoryTargetBase / s
    inventoryQ = (Double(portfolio.baseRaw) - targetBase) / Double(max(config.orderAmount, 1))
    let m = Self.quotes(
      mid: s, sigma: volatility.sigma, q: inventoryQ, gamma: config.riskFactor, kappa: k, tau: tau,
      minimumSpread: config.minimumSpread)
    reservationPrice = m.reservation
    optimalSpread = m.spread
    guard createAtNs <= now else { return }
    // Keep the quotes while they are within the tolerance of the model's prices.
    var stale = orders.isEmpty
    for (_, q) in orders where !q.cancelling {
      let want = q.side == .buy ? m.bid : m.ask
      if abs(want - Double(q.price)) / Double(q.price) > config.orderRefreshTolerance { stale = true }
    }
    if !stale { return }
    if orders.values.contains(where: { !$0.cancelling }) {
      cancelAll(intents: &intents)
      return
    }
    if !orders.isEmpty { return }  // cancels in flight
    let bidScale = inventoryQ > 0 ? exp(-config.orderAmountShapeFactor * inventoryQ) : 1
    let askScale = inventoryQ < 0 ? exp(config.orderAmountShapeFactor * inventoryQ) : 1
    var quoteLeft = portfolio.quoteRaw
    var baseLeft = portfolio.baseRaw
    for level in 0..<config.orderLevels {
      let extra = Double(level) * config.levelDistances * m.spread / 2
      let bidPrice = rule.quantize(price: directed(m.bid - extra, up: false), side: .buy)
      let askPrice = rule.quantize(price: directed(m.ask + extra, up: true), side: .sell)
      let bidQty = rule.quantize(quantity: Int64(Double(config.orderAmount) * bidScale))
      let askQty = rule.quantize(quantity: Int64(Double(config.orderAmount) * askScale))
      if bidPrice > 0, rule.violation(price: bidPrice, quantity: bidQty) == nil,
        Int128(bidPrice) * Int128(bidQty) <= quoteLeft
      {
        quoteLeft -= Int128(bidPrice) * Int128(bidQty)
        add(.buy, price: bidPrice, quantity: bidQty, now: now, intents: &intents)
      }
      if rule.violation(price: askPrice, quantity: askQty) == nil, askQty <= baseLeft {
        baseLeft -= askQty
        add(.sell, price: askPrice, quantity: askQty, now: now, intents: &intents)
      }
    }
    createAtNs = now + config.orderRefreshTimeNs
  }

  func add(_ side: TradeSide, price: Int64, quantity: Int64, now: Int64, intents: inout Intents) {
    let tag = nextTag
    nextTag += 1
    orders[tag] = OwnOrder(side: side, price: price, quantity: quantity, createdNs: now)
    intents.place(PlaceIntent(tag: tag, side: side, price: price, quantity: quantity))
    placed += 1
  }

  func cancelAll(intents: inout Intents) {
    scratch.removeAll(keepingCapacity: true)
    for (t, q) in orders where !q.cancelling { scratch.append(t) }
    scratch.sort()  // in tag order: a dictionary's order differs between processes, and runs must not
    for t in scratch {
      // Read, change, write back: `orders[t]?.cancelling = true` allocates (measured).
      if var q = orders[t] {
        q.cancelling = true
        orders[t] = q
      }
      intents.cancel(tag: t)
      cancelsSent += 1
    }
  }

  public func onOrder(_ event: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
    guard let q = orders.record(event, tag: tag), case .filled(_, let f) = event else { return }
    portfolio.fill(side: q.side, price: f.price, quantity: f.quantity, taker: false)
    createAtNs = max(createAtNs, now + config.filledOrderDelayNs)
  }

  /// The venue's new rule: its quotes are sized and priced to it from the next cycle.
  public func onRuleChanged(_ rule: TradingRule) { self.rule = rule }

  public func onRefused(tag: UInt64, now: Int64, intents: inout Intents) {
    orders[tag] = nil
    // Refused before it existed: with nothing left working, quote again at the next cycle.
    if orders.isEmpty { createAtNs = min(createAtNs, now) }
  }
}
