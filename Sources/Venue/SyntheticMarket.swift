import Foundation

/// Seeded synthetic participants for the venue: a fair value that random-walks, limit orders,
/// cancels and market orders arriving as Poisson processes around it. Everything they do goes
/// through the outside-market account, so our orders queue and trade among theirs by price-time
/// priority. Same seed, same steps: same market.
public final class SyntheticMarket {
  public struct Parameters: Sendable {
    /// Start of the fair value, in ticks.
    public var startTicks: Int64 = 10_000_000
    /// Standard deviation of the fair value's moves, in ticks per second.
    public var volatilityTicksPerSecond = 20.0
    /// Mean arrivals per second.
    public var limitRate = 400.0
    public var cancelRate = 300.0
    public var marketRate = 20.0
    /// Mean distance of new limit orders from the fair value, in ticks (exponential).
    public var meanDepthTicks = 15.0
    /// Quantity of one limit or market order, in lots: uniform 1...maxLots.
    public var maxLots: Int64 = 50
    public var seed: UInt64 = 1
    public init() {}
  }

  public let engine: MatchingEngine
  public let symbol: String
  public let parameters: Parameters
  public private(set) var fairTicks: Double
  var rng: UInt64
  public private(set) var counts: [String: Int] = [:]
  /// Execution events of the participants' market orders (the makers they filled may be anyone's:
  /// the venue publishes them on the account streams).
  public var onEvents: (([OrderEvent]) -> Void)?

  public init(engine: MatchingEngine, symbol: String, parameters: Parameters = Parameters()) {
    self.engine = engine
    self.symbol = symbol
    self.parameters = parameters
    fairTicks = Double(parameters.startTicks)
    rng = parameters.seed | 1
  }

  func uniform() -> Double {
    rng ^= rng << 13
    rng ^= rng >> 7
    rng ^= rng << 17
    return (Double(rng >> 11) + 0.5) / Double(1 << 53)
  }

  func normal() -> Double {
    // Box–Muller.
    let u1 = uniform()
    let u2 = uniform()
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }

  func poisson(_ mean: Double) -> Int {
    // Knuth's method; means here are small (rate × step).
    let l = exp(-mean)
    var k = 0
    var p = 1.0
    repeat {
      k += 1
      p *= uniform()
    } while p > l && k < 10_000
    return k - 1
  }

  func lots() -> Int64 {
    guard let s = engine.symbols[symbol] else { return 1 }
    return (1 + Int64(uniform() * Double(parameters.maxLots))) * s.stepQty
  }

  /// Advances the market by `seconds`: the fair value moves, then the arrivals of that interval.
  public func step(seconds: Double) {
    fairTicks += normal() * parameters.volatilityTicksPerSecond * seconds.squareRoot()
    let fair = Int64(fairTicks.rounded())
    // Quotes that the fair value moved through are withdrawn (no one quotes through fair).
    let d = engine.depth(symbol: symbol, limit: 10_000)
    for l in d.bids where l.tick >= fair {
      engine.setMarketLevel(symbol: symbol, side: .BUY, ticks: l.tick, quantity: 0)
    }
    for l in d.asks where l.tick <= fair {
      engine.setMarketLevel(symbol: symbol, side: .SELL, ticks: l.tick, quantity: 0)
    }
    for _ in 0..<poisson(parameters.limitRate * seconds) {
      let side: OrderSide = uniform() < 0.5 ? .BUY : .SELL
      let dist = 1 + Int64(-log(uniform()) * parameters.meanDepthTicks)
      let ticks = side == .BUY ? fair - dist : fair + dist
      let have = engine.levelQuantity(symbol: symbol, side: side, ticks: ticks)
      engine.setMarketLevel(symbol: symbol, side: side, ticks: ticks, quantity: have + lots())
      counts["limit", default: 0] += 1
    }
    for _ in 0..<poisson(parameters.cancelRate * seconds) {
      let side: OrderSide = uniform() < 0.5 ? .BUY : .SELL
      let levels = side == .BUY ? d.bids : d.asks
      guard !levels.isEmpty else { continue }
      let l = levels[min(levels.count - 1, Int(-log(uniform()) * 5))]
      let have = engine.levelQuantity(symbol: symbol, side: side, ticks: l.tick)
      engine.setMarketLevel(symbol: symbol, side: side, ticks: l.tick, quantity: max(0, have - lots()))
      counts["cancel", default: 0] += 1
    }
    for _ in 0..<poisson(parameters.marketRate * seconds) {
      var m = NewOrder(
        account: MatchingEngine.marketAccount, symbol: symbol, side: uniform() < 0.5 ? .BUY : .SELL,
        type: .MARKET)
      m.quantity = lots()
      m.stpMode = .NONE
      if let r = try? engine.place(m) {
        counts["market", default: 0] += 1
        onEvents?(r.events)
      }
    }
  }
}
