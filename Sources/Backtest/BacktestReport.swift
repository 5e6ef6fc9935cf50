import Engine
import FastBook

/// What a backtest samples on every Clock tick for its summary and report: the book's touch, our
/// best working quotes, and (once the fills are known) the position and PnL at that time.
public final class BacktestRecorder: TimeIterator {
  public struct Sample: Sendable, Equatable {
    public var ns: Int64
    /// Best bid and ask (price raws; 0: none).
    public var bid: Int64
    public var ask: Int64
    /// Our best working buy and sell (price raws; 0: none).
    public var ourBid: Int64
    public var ourAsk: Int64
  }
  unowned let runtime: StrategyRuntime
  let tickSize: Int64
  public private(set) var samples: [Sample] = []

  public init(runtime: StrategyRuntime, tickSize: Int64) {
    self.runtime = runtime
    self.tickSize = tickSize
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
    samples.append(
      Sample(ns: now, bid: b.tick * tickSize, ask: a.tick * tickSize, ourBid: ourBid, ourAsk: ourAsk))
  }
}

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
  public var fillPoints: [FillPoint] = []

  /// Computes the results from the exchange's fills and the recorder's samples. `makerRate` and
  /// `takerRate` are fractions (0.0002 = 0.02 %); `startBase`/`startQuote` the starting balances.
  public init(
    backtest: Backtester, samples: [BacktestRecorder.Sample], makerRate: Double, takerRate: Double,
    startBase: Double, startQuote: Double
  ) {
    let inst = backtest.instrument
    var pu = 1.0
    for _ in 0..<inst.priceScale { pu *= 10 }
    var qu = 1.0
    for _ in 0..<inst.quantityScale { qu *= 10 }
    let fills = backtest.fills.sorted { ($0.exchangeNs, $0.tag) < ($1.exchangeNs, $1.tag) }
    self.fills = fills.count
    makerFills = fills.filter(\.maker).count
    ordersSent = backtest.ordersSent
    cancelsSent = backtest.cancelsSent
    var base = 0.0
    var quote = 0.0
    var queue = 0.0
    for f in fills {
      let p = Double(f.price) / pu
      let q = Double(f.quantity) / qu
      let fee = p * q * (f.maker ? makerRate : takerRate)
      volumeBase += q
      volumeQuote += p * q
      fees += fee
      if f.maker { queue += f.queueAhead }
      fillPoints.append(
        FillPoint(
          ns: f.exchangeNs, buy: f.side == .buy, price: p, quantity: q, maker: f.maker,
          queueAhead: f.queueAhead,
          roundTripNs: f.localNs - f.sentNs))
    }
    if makerFills > 0 { averageQueueAhead = queue / Double(makerFills) }
    // Walk samples and fills in time order: PnL = quote + base·mid of what trading changed.
    var fi = 0
    var peak = -Double.infinity
    var lastMid = 0.0
    func pnlAt(_ mid: Double) -> Double { quote + base * mid }
    func note(_ v: Double) {
      peak = max(peak, v)
      maxDrawdown = max(maxDrawdown, peak - v)
      inventoryMin = min(inventoryMin, base)
      inventoryMax = max(inventoryMax, base)
    }
    var minuteEquity: [Double] = []
    var nextMinute = Int64.min
    let startEquity = startQuote + startBase * (samples.first.map { Double($0.bid + $0.ask) / 2 / pu } ?? 0)
    for s in samples {
      let mid = Double(s.bid + s.ask) / 2 / pu
      while fi < fills.count, fills[fi].exchangeNs <= s.ns {
        let f = fills[fi]
        let p = Double(f.price) / pu
        let q = Double(f.quantity) / qu
        let fee = p * q * (f.maker ? makerRate : takerRate)
        if f.side == .buy {
          base += q
          quote -= p * q + fee
        } else {
          base -= q
          quote += p * q - fee
        }
        fi += 1
        note(pnlAt(lastMid == 0 ? mid : lastMid))
      }
      lastMid = mid
      let v = pnlAt(mid)
      note(v)
      points.append(
        Point(
          ns: s.ns, mid: mid, bid: Double(s.bid) / pu, ask: Double(s.ask) / pu,
          ourBid: Double(s.ourBid) / pu, ourAsk: Double(s.ourAsk) / pu, pnl: v, inventory: base))
      if s.ns >= nextMinute {
        minuteEquity.append(startEquity + v)
        nextMinute = (s.ns / 60_000_000_000 + 1) * 60_000_000_000
      }
    }
    // Fills after the last sample still count.
    while fi < fills.count {
      let f = fills[fi]
      let p = Double(f.price) / pu
      let q = Double(f.quantity) / qu
      let fee = p * q * (f.maker ? makerRate : takerRate)
      if f.side == .buy {
        base += q
        quote -= p * q + fee
      } else {
        base -= q
        quote += p * q - fee
      }
      fi += 1
      note(pnlAt(lastMid))
    }
    pnl = pnlAt(lastMid)
    finalInventory = base
    if minuteEquity.count >= 3 {
      var r: [Double] = []
      for i in 1..<minuteEquity.count where minuteEquity[i - 1] != 0 {
        r.append((minuteEquity[i] - minuteEquity[i - 1]) / abs(minuteEquity[i - 1]))
      }
      let mean = r.reduce(0, +) / Double(r.count)
      let variance = r.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, r.count - 1))
      if variance > 0 {
        sharpe = mean / variance.squareRoot() * (525_600.0).squareRoot()
        sharpeMinutes = r.count
      }
    }
    startNs = samples.first?.ns ?? 0
    endNs = samples.last?.ns ?? 0
  }
}
