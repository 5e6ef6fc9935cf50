import Engine
import FastBook

/// A backtest's results: the summary a user compares runs by, and the series the report draws.
/// Money is in quote units, quantities in base units (as decimals); fees are charged in quote at
/// the fill's price, at the maker or taker rate the exchange's fill says.
public struct BacktestResults: Sendable, Equatable {
  public var fills = 0
  public var makerFills = 0
  public var ordersSent = 0
  public var cancelsSent = 0
  public var volumeBase = 0.0
  public var volumeQuote = 0.0
  public var fees = 0.0
  /// Final PnL against holding the starting balances: (quote + base·mid) − (quote₀ + base₀·mid),
  /// both at the last mid — what trading added, the market's move of the start inventory aside.
  public var pnl = 0.0
  /// The largest fall of the PnL from a running peak (sampled on every tick and fill).
  public var maxDrawdown = 0.0
  /// The position's range relative to the start (base units).
  public var inventoryMin = 0.0
  public var inventoryMax = 0.0
  public var finalInventory = 0.0
  /// Annualized Sharpe ratio (√525,600) of the 1-minute returns of the equity — the starting
  /// balances at the first mid plus the PnL above (nil: fewer than three minutes, or no
  /// variation).
  public var sharpe: Double? = nil
  public var sharpeMinutes = 0
  /// For maker fills: the mean quantity that was ahead of the order when it arrived (base units).
  public var averageQueueAhead: Double? = nil
  public var startNs: Int64 = 0
  public var endNs: Int64 = 0

  /// One point of the report's series.
  public struct Point: Sendable, Equatable {
    public var ns: Int64
    public var mid: Double
    public var bid: Double
    public var ask: Double
    public var ourBid: Double
    public var ourAsk: Double
    public var pnl: Double
    public var inventory: Double
  }
  /// The series, thinned to at most `BacktestRecorder.maxPoints` (every n-th sample, n doubling
  /// as the run grows) and closed by the final state.
  public var points: [Point] = []
  public struct FillPoint: Sendable, Equatable {
    public var ns: Int64
    public var buy: Bool
    public var price: Double
    public var quantity: Double
    public var maker: Bool
    public var queueAhead: Double
    /// Order sent → fill answer received (ns).
    public var roundTripNs: Int64
  }
  /// The fills drawn (every fill up to `BacktestRecorder.maxFillPoints`, then thinned alike).
  public var fillPoints: [FillPoint] = []
  public init() {}
}

/// Builds a backtest's results as it runs, in memory that does not grow with the data: every
/// fill (`fill`, from the backtester as the exchange makes it) and, on every Clock tick, the
/// book's touch and our best working quotes. The figures are exact; only the drawn series are
/// thinned.
public final class BacktestRecorder: TimeIterator {
  public static let maxPoints = 4096
  public static let maxFillPoints = 20_000
  unowned let runtime: StrategyRuntime
  let tickSize: Int64
  let pu: Double
  let qu: Double
  let makerRate: Double
  let takerRate: Double
  let startBase: Double
  let startQuote: Double
  var r = BacktestResults()
  var base = 0.0
  var quote = 0.0
  var lastMid = 0.0
  var peak = -Double.infinity
  var queueSum = 0.0
  var pointStride = 1
  var samples = 0
  var fillStride = 1
  var fillsSeen = 0
  var last: BacktestResults.Point?
  // 1-minute equity returns (Welford).
  var startEquity: Double?
  var minuteEquity: Double?
  var nextMinute = Int64.min
  var returns = 0
  var returnMean = 0.0
  var returnM2 = 0.0

  /// `makerRate`/`takerRate` as fractions (0.0002 = 0.02 %); the starting balances in units.
  public init(
    runtime: StrategyRuntime, instrument: Instrument, makerRate: Double, takerRate: Double, startBase: Double,
    startQuote: Double
  ) {
    self.runtime = runtime
    tickSize = instrument.tickSize
    var p = 1.0
    for _ in 0..<instrument.priceScale { p *= 10 }
    pu = p
    var q = 1.0
    for _ in 0..<instrument.quantityScale { q *= 10 }
    qu = q
    self.makerRate = makerRate
    self.takerRate = takerRate
    self.startBase = startBase
    self.startQuote = startQuote
  }

  func note(_ v: Double) {
    peak = max(peak, v)
    r.maxDrawdown = max(r.maxDrawdown, peak - v)
    r.inventoryMin = min(r.inventoryMin, base)
    r.inventoryMax = max(r.inventoryMax, base)
  }

  /// A fill as the exchange made it.
  public func fill(_ f: Backtester.Fill) {
    let p = Double(f.price) / pu
    let q = Double(f.quantity) / qu
    let fee = p * q * (f.maker ? makerRate : takerRate)
    r.fills += 1
    r.volumeBase += q
    r.volumeQuote += p * q
    r.fees += fee
    if f.maker {
      r.makerFills += 1
      queueSum += f.queueAhead
    }
    if f.side == .buy {
      base += q
      quote -= p * q + fee
    } else {
      base -= q
      quote += p * q - fee
    }
    note(quote + base * (lastMid == 0 ? p : lastMid))
    fillsSeen += 1
    if (fillsSeen - 1) % fillStride == 0 {
      r.fillPoints.append(
        BacktestResults.FillPoint(
          ns: f.exchangeNs, buy: f.side == .buy, price: p, quantity: q, maker: f.maker,
          queueAhead: f.queueAhead,
          roundTripNs: f.localNs - f.sentNs))
      if r.fillPoints.count >= 2 * Self.maxFillPoints {
        r.fillPoints = stride(from: 0, to: r.fillPoints.count, by: 2).map { r.fillPoints[$0] }
        fillStride *= 2
      }
    }
  }

  public func tick(now: Int64) {
    let book = runtime.book
    guard runtime.applier.isLive, let b = book.bestBid, let a = book.bestAsk else { return }
    var ourBid: Int64 = 0
    var ourAsk: Int64 = 0
    runtime.host.tracker.forEachActive { o in
      if o.side == .buy {
        ourBid = max(ourBid, o.price)
      } else {
        ourAsk = ourAsk == 0 ? o.price : min(ourAsk, o.price)
      }
    }
    let bid = Double(b.tick * tickSize) / pu
    let ask = Double(a.tick * tickSize) / pu
    let mid = (bid + ask) / 2
    lastMid = mid
    let v = quote + base * mid
    note(v)
    if r.startNs == 0 { r.startNs = now }
    r.endNs = now
    let point = BacktestResults.Point(
      ns: now, mid: mid, bid: bid, ask: ask, ourBid: Double(ourBid) / pu, ourAsk: Double(ourAsk) / pu, pnl: v,
      inventory: base)
    last = point
    if samples % pointStride == 0 {
      r.points.append(point)
      if r.points.count >= 2 * Self.maxPoints {
        r.points = stride(from: 0, to: r.points.count, by: 2).map { r.points[$0] }
        pointStride *= 2
      }
    }
    samples += 1
    // Equity at each minute's first sample; its returns into a running mean and variance.
    if startEquity == nil { startEquity = startQuote + startBase * mid }
    if now >= nextMinute {
      let e = startEquity! + v
      if let m = minuteEquity, m != 0 {
        let x = (e - m) / abs(m)
        returns += 1
        let d = x - returnMean
        returnMean += d / Double(returns)
        returnM2 += d * (x - returnMean)
      }
      minuteEquity = e
      nextMinute = (now / 60_000_000_000 + 1) * 60_000_000_000
    }
  }

  /// The results, with the backtester's order counts.
  public func finish(_ backtest: Backtester) -> BacktestResults {
    var out = r
    out.ordersSent = backtest.ordersSent
    out.cancelsSent = backtest.cancelsSent
    out.pnl = quote + base * lastMid
    out.finalInventory = base
    if out.makerFills > 0 { out.averageQueueAhead = queueSum / Double(out.makerFills) }
    if returns >= 2, returnM2 > 0 {
      out.sharpe = returnMean / (returnM2 / Double(returns - 1)).squareRoot() * (525_600.0).squareRoot()
      out.sharpeMinutes = returns
    }
    // The series ends at the final state (the last sample, with any fill after it).
    if var l = last {
      l.pnl = out.pnl
      l.inventory = base
      if out.points.last != l { out.points.append(l) }
    }
    return out
  }
}
