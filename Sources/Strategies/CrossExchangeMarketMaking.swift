import Engine
import FastBook

/// Hummingbot's cross-exchange market making parameters, with its meanings. Fractions here where
/// Hummingbot takes percentages (`min_profitability: 0.3` is 0.003); times in nanoseconds;
/// amounts in quantity raws. Both markets share the instrument's scales.
public struct CrossExchangeMarketMakingConfig: Sendable, Equatable {
  /// Size of each maker order.
  public var orderAmount: Int64 = 0
  /// The hedge must earn at least this over the maker price: bid = taker sell VWAP / (1 + p),
  /// ask = taker buy VWAP × (1 + p).
  public var minProfitability = 0.003
  /// Hedges are limit IOC orders priced this far beyond the taker's price for the size, so they
  /// fill even if the book moves on the way.
  public var slippageBuffer = 0.05
  /// Active: every taker book change and tick re-prices the maker orders (cancel an order that is
  /// no longer profitable at once, or one away from its price after `antiHysteresisNs`).
  /// Passive: an order stays until its profitability falls below `cancelOrderThreshold` or it
  /// is older than `limitOrderMinExpirationNs`.
  public var activeOrderCanceling = true
  public var cancelOrderThreshold = -0.01
  public var limitOrderMinExpirationNs: Int64 = 130_000_000_000
  public var antiHysteresisNs: Int64 = 60_000_000_000
  /// Price just one tick better than the maker book's top (ignoring levels no larger than
  /// `topDepthTolerance`, our own orders excluded) when the profitable price is better still.
  public var adjustOrderEnabled = true
  public var topDepthTolerance: Int64 = 0
  /// The maker order is at most this fraction of what the taker book holds on the hedge side.
  public var orderSizeTakerVolumeFactor = 0.25
  /// … and of the balance the hedge would spend on the taker venue.
  public var orderSizeTakerBalanceFactor = 0.995
  public init() {}
}

/// Cross-exchange market making: quotes on a maker venue priced from the taker venue's book with
/// a minimum profitability, and every maker fill hedged on the taker venue the moment it arrives
/// — in the fill's own callback, not at the next tick.
///
/// It runs as two strategies, `maker` and `taker`, one per venue's `StrategyHost` (on the same
/// strategy thread); `attach` tells it both hosts, so an event on one venue can act on the other.
public final class CrossExchangeMarketMaking {
  /// One side of the strategy, registered with one venue's host.
  public final class Leg: Strategy {
    /// Set by the strategy that owns both legs (so it outlives them).
    unowned var core: CrossExchangeMarketMaking!
    let isMaker: Bool
    init(isMaker: Bool) { self.isMaker = isMaker }
    public func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {
      if isMaker {
        core.makerBook(book, now: now, intents: &intents)
      } else {
        core.takerBook(book, now: now, intents: &intents)
      }
    }
    public func onTick(now: Int64, intents: inout Intents) {
      if isMaker { core.makerTick(now: now, intents: &intents) }
    }
    public func onOrder(_ event: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
      if isMaker {
        core.makerOrder(event, tag: tag, now: now, intents: &intents)
      } else {
        core.hedgeOrder(event, tag: tag, now: now, intents: &intents)
      }
    }
    public func onRefused(tag: UInt64, now: Int64, intents: inout Intents) {
      if isMaker { core.quotes[tag] = nil } else { core.hedgeRefused(tag: tag, now: now) }
    }
  }

  public let config: CrossExchangeMarketMakingConfig
  public let makerRule: TradingRule
  public let takerRule: TradingRule
  public let maker = Leg(isMaker: true)
  public let taker = Leg(isMaker: false)
  public var makerPortfolio: Portfolio
  public var takerPortfolio: Portfolio
  weak var makerHost: StrategyHost?
  weak var takerHost: StrategyHost?
  /// The two runtimes' books (one instance each for the run), held strongly.
  var lastMakerBook: LadderBook?
  var lastTakerBook: LadderBook?

  /// Working maker orders and hedges in flight, by tag.
  public private(set) var quotes: [UInt64: OwnOrder] = [:]
  public private(set) var hedges: [UInt64: OwnOrder] = [:]
  /// Base still to hedge: > 0 buy on the taker venue, < 0 sell.
  public private(set) var unhedged: Int64 = 0
  public private(set) var makerFilled: Int64 = 0
  public private(set) var hedgeFilled: Int64 = 0
  public private(set) var hedgesSent = 0
  /// Hedges sent from inside the maker fill's own callback (the rest waited for the taker book).
  public private(set) var hedgesOnFill = 0
  public private(set) var cancelsSent = 0
  public private(set) var stoppedReason: String?
  var nextTag: UInt64 = 1
  /// When each side was last re-priced (the anti-hysteresis clock): bid, ask.
  var lastRepriceNs: (buy: Int64, sell: Int64) = (0, 0)
  static let sides: [TradeSide] = [.buy, .sell]

  public init(
    config: CrossExchangeMarketMakingConfig, makerRule: TradingRule, takerRule: TradingRule,
    makerPortfolio: Portfolio, takerPortfolio: Portfolio
  ) {
    self.config = config
    self.makerRule = makerRule
    self.takerRule = takerRule
    self.makerPortfolio = makerPortfolio
    self.takerPortfolio = takerPortfolio
    quotes.reserveCapacity(8)
    hedges.reserveCapacity(16)
    maker.core = self
    taker.core = self
  }

  /// The two venues' hosts (the maker's strategy is `maker`, the taker's `taker`).
  public func attach(maker m: StrategyHost, taker t: StrategyHost) {
    makerHost = m
    takerHost = t
  }

  /// Cancels every maker order; hedges still owed are still sent.
  public func stop(reason: String, intents: inout Intents) {
    stoppedReason = reason
    for (tag, q) in quotes where !q.cancelling { cancelQuote(tag, q, intents: &intents) }
  }

  // MARK: prices

  /// The taker's average price for `quantity` on the hedge side (bids for a maker bid, whose hedge
  /// sells), or nil when its book cannot take it all.
  func takerVWAP(hedgeSide side: TradeSide, quantity: Int64) -> Int64? {
    guard let b = lastTakerBook, quantity > 0 else { return nil }
    let w = b.walk(side == .sell ? .bid : .ask, volume: quantity)
    guard w.complete, w.quantity > 0 else { return nil }
    return Int64(w.notional / Int128(w.quantity))
  }

  /// The maker price for `side` and the order size: profitable against the taker book, then
  /// (adjust) no better than one tick inside the maker book's top that is not ours.
  func quote(_ side: TradeSide) -> (price: Int64, quantity: Int64)? {
    guard let tb = lastTakerBook else { return nil }
    let hedgeSide: TradeSide = side == .buy ? .sell : .buy
    // Size: the configured amount, limited by the taker book and the balance a hedge spends.
    let takerDepth = tb.walk(side == .buy ? .bid : .ask, volume: .max).quantity
    var size = min(config.orderAmount, Int64(Double(takerDepth) * config.orderSizeTakerVolumeFactor))
    if side == .buy {
      size = min(size, Int64(Double(takerPortfolio.baseRaw) * config.orderSizeTakerBalanceFactor))
    } else if let ask = tb.bestAsk {
      let price = Int128(ask.tick * tb.instrument.tickSize)
      let affordable = Int64(takerPortfolio.quoteRaw / max(price, 1))
      size = min(size, Int64(Double(affordable) * config.orderSizeTakerBalanceFactor))
    }
    size = makerRule.quantize(quantity: size)
    guard size > 0, let vwap = takerVWAP(hedgeSide: hedgeSide, quantity: size) else { return nil }
    let p = config.minProfitability
    var price = side == .buy ? Int64(Double(vwap) / (1 + p)) : Int64((Double(vwap) * (1 + p)).rounded(.up))
    if config.adjustOrderEnabled, let mb = lastMakerBook, let top = topNotOurs(mb, side) {
      let t = mb.instrument.tickSize
      price =
        side == .buy ? min(price, top * t + makerRule.tickSize) : max(price, top * t - makerRule.tickSize)
    }
    price = makerRule.quantize(price: price, side: side)
    return (price, size)
  }

  /// The best maker-book tick on `side` holding more than the tolerance besides our own order.
  func topNotOurs(_ book: LadderBook, _ side: TradeSide) -> Int64? {
    var found: Int64?
    let ours = quotes.values.first { $0.side == side && !$0.cancelling }
    book.forEachLevel(side == .buy ? .bid : .ask) { lv in
      var q = lv.quantity
      if let o = ours, o.price == lv.tick * book.instrument.tickSize { q -= o.remaining }
      if q > config.topDepthTolerance {
        found = lv.tick
        return false
      }
      return true
    }
    return found
  }

  /// Profitability of a resting maker order against the taker book now (nil: cannot hedge it).
  func profitability(_ q: OwnOrder) -> Double? {
    guard let v = takerVWAP(hedgeSide: q.side == .buy ? .sell : .buy, quantity: q.remaining) else {
      return nil
    }
    return q.side == .buy ? Double(v) / Double(q.price) - 1 : Double(q.price) / Double(v) - 1
  }

  // MARK: events

  func makerBook(_ book: LadderBook, now: Int64, intents: inout Intents) {
    lastMakerBook = book
    requote(now: now, intents: &intents)
  }

  func makerTick(now: Int64, intents: inout Intents) {
    requote(now: now, intents: &intents)
    if unhedged != 0 { onTaker(now: now) { self.hedge(now: now, intents: &$0) } }
  }

  func takerBook(_ book: LadderBook, now: Int64, intents: inout Intents) {
    lastTakerBook = book
    if unhedged != 0 { hedge(now: now, intents: &intents) }
    // The hedge price moved: the maker quotes follow it (the maker venue's host).
    onMaker(now: now) { self.requote(now: now, intents: &$0) }
  }

  func onMaker(now: Int64, _ body: (inout Intents) -> Void) {
    guard let h = makerHost else { return }
    h.perform(referencePrice: lastMakerBook.map(StrategyHost.mid) ?? 0, now: now, body)
  }

  func onTaker(now: Int64, _ body: (inout Intents) -> Void) {
    guard let h = takerHost else { return }
    h.perform(referencePrice: lastTakerBook.map(StrategyHost.mid) ?? 0, now: now, body)
  }

  func makerOrder(_ e: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
    guard let q = quotes.record(e, tag: tag) else { return }
    switch e {
    case .filled(_, let f):
      makerFilled += f.quantity
      makerPortfolio.fill(side: q.side, price: f.price, quantity: f.quantity, taker: q.taker)
      // Hedge now: the opposite side on the taker venue, in this same callback.
      unhedged += q.side == .buy ? -f.quantity : f.quantity
      let before = hedgesSent
      onTaker(now: now) { self.hedge(now: now, intents: &$0) }
      hedgesOnFill += hedgesSent - before
    case .completed, .cancelled, .failed, .lost:
      requote(now: now, intents: &intents)
    case .cancelRefused, .created:
      break
    }
  }

  func hedgeOrder(_ e: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
    guard let h = hedges.record(e, tag: tag) else { return }
    switch e {
    case .filled(_, let f):
      hedgeFilled += f.quantity
      takerPortfolio.fill(side: h.side, price: f.price, quantity: f.quantity, taker: true)
    case .completed:
      break
    case .cancelled, .failed, .lost:
      // An IOC hedge that did not fill completely: the rest is owed again, sent at once.
      unhedged += h.side == .buy ? h.remaining : -h.remaining
      hedge(now: now, intents: &intents)
    case .created, .cancelRefused:
      break
    }
  }

  func hedgeRefused(tag: UInt64, now: Int64) {
    guard let h = hedges.removeValue(forKey: tag) else { return }
    unhedged += h.side == .buy ? h.remaining : -h.remaining
  }

  /// Sends what is owed to the taker venue as a limit IOC beyond its price for that size.
  func hedge(now: Int64, intents: inout Intents) {
    guard unhedged != 0 else { return }
    let side: TradeSide = unhedged > 0 ? .buy : .sell
    let qty = takerRule.quantize(quantity: abs(unhedged))
    guard qty > 0, let b = lastTakerBook else { return }
    let w = b.walk(side == .buy ? .ask : .bid, volume: qty)
    guard let worst = w.worstTick else { return }
    let ref = Double(worst * b.instrument.tickSize)
    let limit = takerRule.quantize(
      price: Int64(side == .buy ? ref * (1 + config.slippageBuffer) : ref * (1 - config.slippageBuffer)),
      side: side)
    let tag = nextTag
    nextTag += 1
    hedges[tag] = OwnOrder(side: side, price: limit, quantity: qty, createdNs: now, taker: true)
    unhedged += side == .buy ? -qty : qty
    hedgesSent += 1
    intents.place(PlaceIntent(tag: tag, side: side, price: limit, quantity: qty, immediateOrCancel: true))
  }

  func cancelQuote(_ tag: UInt64, _ q: OwnOrder, intents: inout Intents) {
    var c = q
    c.cancelling = true
    quotes[tag] = c
    cancelsSent += 1
    intents.cancel(tag: tag)
  }

  /// Per side: cancel a quote that should go (see the config's active/passive rules), place one
  /// where there is none.
  func requote(now: Int64, intents: inout Intents) {
    for side in Self.sides {
      let current = quotes.first { $0.value.side == side }
      if let (tag, q) = current {
        if q.cancelling { continue }
        let profit = profitability(q)
        var cancel = false
        if config.activeOrderCanceling {
          if profit == nil || profit! < config.minProfitability {
            cancel = true
          } else if let want = quote(side), want.price != q.price,
            now - (side == .buy ? lastRepriceNs.buy : lastRepriceNs.sell) >= config.antiHysteresisNs
          {
            cancel = true
          }
        } else {
          cancel =
            profit == nil || profit! < config.cancelOrderThreshold
            || now - q.createdNs >= config.limitOrderMinExpirationNs
        }
        if cancel || stoppedReason != nil {
          if side == .buy { lastRepriceNs.buy = now } else { lastRepriceNs.sell = now }
          cancelQuote(tag, q, intents: &intents)
        }
        continue
      }
      guard stoppedReason == nil, unhedged == 0, let (price, size) = quote(side) else { continue }
      if side == .buy, Int128(price) * Int128(size) > makerPortfolio.quoteRaw { continue }
      if side == .sell, size > makerPortfolio.baseRaw { continue }
      let tag = nextTag
      nextTag += 1
      quotes[tag] = OwnOrder(side: side, price: price, quantity: size, createdNs: now)
      intents.place(PlaceIntent(tag: tag, side: side, price: price, quantity: size, postOnly: true))
    }
  }
}
