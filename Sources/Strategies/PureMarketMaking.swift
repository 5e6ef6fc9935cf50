import Engine
import FastBook

/// Hummingbot's pure market making, on the strategy thread: per Clock tick the same order of
/// operations — proposal from the levels → level modifiers (price band, ping-pong) → price
/// modifiers (order optimization, transaction costs) → size modifiers (inventory skew) → budget
/// → takers filtered → cancels by age, by tolerance and by minimum spread (hanging orders apart)
/// → place when nothing of ours is left. Optionally event-driven as well (`eventDriven`).
///
/// It keeps its own portfolio from its fills (balances, position, PnL). Nothing it does per book
/// event allocates once its tables have grown to the number of orders it keeps.
public final class PureMarketMaking: MarketMakingStrategy {
  public typealias Quote = OwnOrder

  struct Proposed {
    var price: Int64
    var quantity: Int64
  }

  public let config: PureMarketMakingConfig
  /// The venue's trading rule (replaced when the venue changes it: `onRuleChanged`).
  public private(set) var rule: TradingRule
  public let instrument: Instrument
  /// Balances, position and PnL from the fills. Set it from the venue's balances before trading
  /// starts (the session fetches them); afterwards only fills change it.
  public var portfolio: Portfolio
  public private(set) var orders: [UInt64: Quote] = [:]
  public private(set) var startValue: Int128 = 0
  /// Why it stopped (kill switch, or `stop`), or nil while trading.
  public private(set) var stoppedReason: String?
  // Counters.
  public private(set) var cycles = 0
  public private(set) var placed = 0
  public private(set) var cancelsSent = 0
  /// Refreshes skipped because every order was within the tolerance.
  public private(set) var refreshesDeferred = 0
  /// Event-driven re-quotes (the price moved beyond the tolerance between ticks).
  public private(set) var requotes = 0

  /// The tag of the next order (each order's own; a run that resumes numbering may start higher).
  public var nextTag: UInt64 = 1
  public private(set) var createAtNs: Int64 = 0
  public private(set) var cancelAtNs: Int64 = 0
  public private(set) var filledBuysBalance = 0
  public private(set) var filledSellsBalance = 0
  public private(set) var lastTradePrice: Int64 = 0
  public private(set) var lastOwnTradePrice: Int64 = 0
  /// The moving price band in force (ceiling, floor, when it was last set), when one is on.
  public private(set) var band: (ceiling: Double, floor: Double, setNs: Int64)? = nil
  /// The reference price the working quotes were made from (event-driven re-quotes compare with it).
  var quotedReference = 0.0
  /// The time of the last callback: what `referencePrice()` (status) ages an external price by.
  var lastNow: Int64 = 0
  var book: LadderBook?
  var buys: [Proposed] = []
  var sells: [Proposed] = []
  var scratch: [UInt64] = []

  public init(config: PureMarketMakingConfig, rule: TradingRule, instrument: Instrument, portfolio: Portfolio)
  {
    self.config = config
    self.rule = rule
    self.instrument = instrument
    self.portfolio = portfolio
    let n = max(config.levelCount, 1)
    buys.reserveCapacity(n)
    sells.reserveCapacity(n)
    orders.reserveCapacity(4 * n + 16)
    scratch.reserveCapacity(4 * n + 16)
  }

  // MARK: reference price

  /// The reference price (a price raw, fractional for a mid between ticks), or nil when the
  /// price type has nothing yet.
  public func referencePrice() -> Double? { referencePrice(now: lastNow) }

  /// The reference price at `now` (an external price older than its maximum age is none).
  public func referencePrice(now: Int64) -> Double? {
    if let ext = config.externalPrice {
      return ext.read(now: now, maxAgeNs: config.externalPriceMaxAgeNs)
    }
    guard let book, let b = book.best(.bid), let a = book.best(.ask), b.tick < a.tick else { return nil }
    let t = Double(instrument.tickSize)
    let mid = Double(b.tick + a.tick) * t / 2
    switch config.priceType {
    case .mid: return mid
    case .bestBid: return Double(b.tick) * t
    case .bestAsk: return Double(a.tick) * t
    case .last: return lastTradePrice > 0 ? Double(lastTradePrice) : mid
    case .lastOwnTrade: return lastOwnTradePrice > 0 ? Double(lastOwnTradePrice) : mid
    case .inventoryCost:
      if let c = portfolio.averageCost, portfolio.position > 0 { return Double(c) }
      return mid
    }
  }

  // MARK: callbacks

  public func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {
    lastNow = now
    if self.book == nil {
      self.book = book
      startValue = markValue() ?? 0
    }
    guard config.eventDriven, stoppedReason == nil else { return }
    guard let ref = referencePrice(now: now) else { return }
    // Re-quote at once when the reference price has moved beyond the tolerance since the quotes
    // were placed; place at once when nothing is out and the delay allows it.
    let drifted =
      quotedReference > 0 && hasActiveNonHanging
      && abs(ref - quotedReference) / quotedReference > max(config.orderRefreshTolerance, 0)
    if drifted {
      quotedReference = 0
      requotes += 1
      // Beyond the tolerance of what they were quoted from, the working quotes go first: their
      // cancels leave before the new proposal is worked out.
      cancelAll(where: { !$0.hanging }, intents: &intents)
      intents.sendCancelsNow()
      cancelAtNs = min(cancelAtNs, now)
      createAtNs = min(createAtNs, now)
      cycle(now: now, intents: &intents)
    } else if createAtNs <= now && !hasActiveNonHanging {
      cycle(now: now, intents: &intents)
    }
  }

  public func onTrade(
    priceTicks: Int64, quantity: Int64, aggressor: TradeSide, now: Int64, intents: inout Intents
  ) {
    lastNow = now
    lastTradePrice = priceTicks &* instrument.tickSize
  }

  public func onTick(now: Int64, intents: inout Intents) {
    lastNow = now
    guard stoppedReason == nil else { return }
    cycle(now: now, intents: &intents)
  }

  public func onOrder(_ event: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
    lastNow = now
    guard let q = orders.record(event, tag: tag) else { return }
    switch event {
    case .created, .cancelRefused:
      // A refused cancel leaves it working: the next cycle decides about it afresh.
      break
    case .filled(_, let f):
      portfolio.fill(side: q.side, price: f.price, quantity: f.quantity, taker: q.taker)
      lastOwnTradePrice = f.price
      checkKillSwitch(intents: &intents)
    case .completed:
      if !q.hanging {
        // Hummingbot: the next orders wait `filled_order_delay`; the rest are cancelled at the
        // next cancel time (not later than that).
        createAtNs = now + config.filledOrderDelayNs
        cancelAtNs = min(cancelAtNs, createAtNs)
        if q.side == .buy { filledBuysBalance += 1 } else { filledSellsBalance += 1 }
        if config.hangingOrders {
          select { $0.side != q.side && !$0.hanging && !$0.cancelling }
          for t in scratch {
            // Read, change, write back: optional chaining through the subscript allocates.
            if var o = orders[t] {
              o.hanging = true
              orders[t] = o
            }
          }
        }
      }
    case .cancelled, .failed, .lost:
      if config.eventDriven && stoppedReason == nil && createAtNs <= now && !hasActiveNonHanging {
        cycle(now: now, intents: &intents)
      }
    }
  }

  /// Cancels every order and places nothing more (shutdown, or the kill switch).
  public func stop(reason: String, intents: inout Intents) {
    if stoppedReason == nil { stoppedReason = reason }
    cancelAll(where: { _ in true }, intents: &intents)
  }

  /// Collects the tags of orders matching `predicate` into `scratch` (mutating `orders` while
  /// iterating it would copy the table).
  func select(_ predicate: (Quote) -> Bool) {
    scratch.removeAll(keepingCapacity: true)
    for (t, q) in orders where predicate(q) { scratch.append(t) }
    // In tag order: a dictionary's order differs between processes, and runs must not.
    scratch.sort()
  }

  func cancelAll(where predicate: (Quote) -> Bool, intents: inout Intents) {
    select { !$0.cancelling && predicate($0) }
    for t in scratch { cancel(t, intents: &intents) }
  }

  func markValue() -> Int128? {
    guard let book, let b = book.best(.bid), let a = book.best(.ask) else { return nil }
    return portfolio.value(mark: (b.tick + a.tick) * instrument.tickSize / 2)
  }

  func checkKillSwitch(intents: inout Intents) {
    guard let rate = config.killSwitch, startValue > 0, let v = markValue() else { return }
    let pnl = Double(v - startValue) / Double(startValue)
    if rate < 0 ? pnl <= rate : pnl >= rate {
      stop(reason: "kill switch: PnL \(pnl * 100) % reached \(rate * 100) %", intents: &intents)
    }
  }

  // MARK: the cycle

  var hasActiveNonHanging: Bool {
    for (_, q) in orders where !q.hanging { return true }
    return false
  }

  var hasCancelsInFlight: Bool {
    for (_, q) in orders where q.cancelling { return true }
    return false
  }

  /// One pass of Hummingbot's `c_tick` for this market.
  func cycle(now: Int64, intents: inout Intents) {
    guard let book else { return }
    guard let ref = referencePrice(now: now) else {
      // An external price gone stale: quotes made from it are not left working.
      if config.externalPrice != nil { cancelAll(where: { _ in true }, intents: &intents) }
      return
    }
    cycles += 1
    var haveProposal = false
    if createAtNs <= now {
      buildProposal(ref: ref)
      applyPriceBand(ref: ref, now: now)
      applyPingPong()
      applyOrderOptimization(book: book)
      applyTransactionCosts()
      applyInventorySkew(ref: ref)
      applyBudget()
      filterTakers(book: book)
      haveProposal = true
    }
    cancelOnMaxAge(now: now, intents: &intents)
    cancelActive(haveProposal: haveProposal, now: now, intents: &intents)
    cancelBelowMinimumSpread(ref: ref, intents: &intents)
    cancelFarHanging(ref: ref, intents: &intents)
    if haveProposal && createAtNs <= now && !hasActiveNonHanging
      && !(config.waitForCancelConfirmation && hasCancelsInFlight) && !(buys.isEmpty && sells.isEmpty)
    {
      place(now: now, book: book, intents: &intents)
      quotedReference = ref
      setTimers(now: now)
    }
  }

  func buildProposal(ref: Double) {
    buys.removeAll(keepingCapacity: true)
    sells.removeAll(keepingCapacity: true)
    func add(_ side: TradeSide, spread: Double, amount: Int64) {
      guard amount > 0 else { return }
      let p = side == .buy ? ref * (1 - spread) : ref * (1 + spread)
      guard p > 0 else { return }
      let price = rule.quantize(price: directed(p, up: side == .sell), side: side)
      if side == .buy {
        buys.append(Proposed(price: price, quantity: amount))
      } else {
        sells.append(Proposed(price: price, quantity: amount))
      }
    }
    let c = config
    if !c.orderOverrides.isEmpty {
      for o in c.orderOverrides { add(o.side, spread: o.spread, amount: o.amount) }
    } else if !c.bidLevelSpreads.isEmpty || !c.askLevelSpreads.isEmpty {
      for (i, s) in c.bidLevelSpreads.enumerated() {
        add(.buy, spread: s, amount: i < c.bidLevelAmounts.count ? c.bidLevelAmounts[i] : c.orderAmount)
      }
      for (i, s) in c.askLevelSpreads.enumerated() {
        add(.sell, spread: s, amount: i < c.askLevelAmounts.count ? c.askLevelAmounts[i] : c.orderAmount)
      }
    } else {
      for level in 0..<c.orderLevels {
        let amount = c.orderAmount + Int64(level) * c.orderLevelAmount
        add(.buy, spread: c.bidSpread + Double(level) * c.orderLevelSpread, amount: amount)
        add(.sell, spread: c.askSpread + Double(level) * c.orderLevelSpread, amount: amount)
      }
    }
  }

  /// Price ceiling / floor: no buys at or above the ceiling, no sells at or below the floor.
  func applyPriceBand(ref: Double, now: Int64) {
    var ceiling = config.priceCeiling.map(Double.init)
    var floor = config.priceFloor.map(Double.init)
    if config.movingPriceBand {
      if band == nil || now - band!.setNs >= config.movingPriceBandRefreshNs {
        band = (ref * (1 + config.movingPriceCeiling), ref * (1 - config.movingPriceFloor), now)
      }
      ceiling = band!.ceiling
      floor = band!.floor
    }
    if let ceiling, ref >= ceiling { buys.removeAll(keepingCapacity: true) }
    if let floor, ref <= floor { sells.removeAll(keepingCapacity: true) }
  }

  /// Ping-pong: each completed buy not yet matched by a completed sell removes one buy level
  /// from the top (and the other way round); matched pairs reset.
  func applyPingPong() {
    guard config.pingPong else { return }
    if filledBuysBalance == filledSellsBalance {
      filledBuysBalance = 0
      filledSellsBalance = 0
    }
    if filledBuysBalance > 0 { buys.removeFirst(min(filledBuysBalance, buys.count)) }
    if filledSellsBalance > 0 { sells.removeFirst(min(filledSellsBalance, sells.count)) }
  }

  /// Jump the top: the first buy at most one tick above the best bid beyond the ignored depth
  /// (our own resting buys count as ignored), the levels below it spaced by the level spread;
  /// the same for sells below the best ask.
  func applyOrderOptimization(book: LadderBook) {
    guard config.orderOptimization else { return }
    let t = instrument.tickSize
    var ownBuy: Int64 = 0
    var ownSell: Int64 = 0
    for (_, q) in orders where !q.cancelling {
      if q.side == .buy { ownBuy += q.remaining } else { ownSell += q.remaining }
    }
    if !buys.isEmpty,
      let top = book.walk(.bid, volume: max(config.bidOptimizationDepth + ownBuy, 1)).worstTick
    {
      let above = (top + 1) * t
      let first = min(buys[0].price, above)
      let s0 = config.bidLevelSpreads.first ?? 0
      for i in buys.indices {
        let f: Double
        if !config.bidLevelSpreads.isEmpty, i < config.bidLevelSpreads.count {
          f = (1 - config.bidLevelSpreads[i]) / (1 - s0)
        } else {
          f = 1 - config.orderLevelSpread * Double(i)
        }
        buys[i].price = rule.quantize(price: directed(Double(first) * f, up: false), side: .buy)
      }
    }
    if !sells.isEmpty,
      let top = book.walk(.ask, volume: max(config.askOptimizationDepth + ownSell, 1)).worstTick
    {
      let below = (top - 1) * t
      let first = max(sells[0].price, below)
      let s0 = config.askLevelSpreads.first ?? 0
      for i in sells.indices {
        let f: Double
        if !config.askLevelSpreads.isEmpty, i < config.askLevelSpreads.count {
          f = (1 + config.askLevelSpreads[i]) / (1 + s0)
        } else {
          f = 1 + config.orderLevelSpread * Double(i)
        }
        sells[i].price = rule.quantize(price: directed(Double(first) * f, up: true), side: .sell)
      }
    }
  }

  func applyTransactionCosts() {
    guard config.addTransactionCosts else { return }
    let fee = Double(portfolio.fees.makerRate) / 1e8
    for i in buys.indices {
      buys[i].price = rule.quantize(price: directed(Double(buys[i].price) * (1 - fee), up: false), side: .buy)
    }
    for i in sells.indices {
      sells[i].price = rule.quantize(
        price: directed(Double(sells[i].price) * (1 + fee), up: true), side: .sell)
    }
  }

  /// Hummingbot's bid/ask size ratios from the base share of the portfolio: 1/1 at the target,
  /// bids up to ×2 and asks down to ×0 as base falls below it (over `range` of base value on
  /// either side), the reverse above it.
  public static func inventoryRatios(
    baseValue: Double, totalValue: Double, target: Double, rangeValue: Double
  ) -> (bid: Double, ask: Double) {
    guard totalValue > 0 else { return (0, 0) }
    let range = min(rangeValue, totalValue * 0.5)
    let targetValue = totalValue * target
    let left = max(targetValue - range, 0)
    let right = targetValue + range
    func interp(_ x: Double, _ x0: Double, _ x1: Double, _ y0: Double, _ y1: Double) -> Double {
      if x <= x0 { return y0 }
      if x >= x1 { return y1 }
      return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    }
    let bid: Double
    if baseValue < targetValue {
      let leftRatio = interp(baseValue, left, targetValue, 0, 0.5)
      bid = interp(leftRatio, 0, 0.5, 2, 1)
    } else {
      let rightRatio = interp(baseValue, targetValue, right, 0.5, 1)
      bid = interp(rightRatio, 0.5, 1, 1, 0)
    }
    return (bid, 2 - bid)
  }

  func applyInventorySkew(ref: Double) {
    guard config.inventorySkew else { return }
    var total: Int64 = 0
    if !config.orderOverrides.isEmpty {
      for o in config.orderOverrides where o.side == .buy { total += o.amount }
    } else if !config.bidLevelAmounts.isEmpty {
      for a in config.bidLevelAmounts { total += a }
    } else {
      for level in 0..<config.orderLevels {
        total += config.orderAmount + Int64(level) * config.orderLevelAmount
      }
    }
    let baseValue = Double(portfolio.baseRaw) * ref
    let r = Self.inventoryRatios(
      baseValue: baseValue, totalValue: baseValue + Double(portfolio.quoteRaw),
      target: config.inventoryTargetBase, rangeValue: Double(total) * config.inventoryRangeMultiplier * ref)
    for i in buys.indices {
      buys[i].quantity = rule.quantize(quantity: Int64(Double(buys[i].quantity) * r.bid))
    }
    for i in sells.indices {
      sells[i].quantity = rule.quantize(quantity: Int64(Double(sells[i].quantity) * r.ask))
    }
  }

  /// Sizes cut to what the portfolio holds, across the whole proposal (the second buy sees what
  /// the first locked). Our non-hanging orders will be replaced, so what they lock counts as
  /// available; what hanging orders lock does not. Orders that fall under the rule's minimums go.
  func applyBudget() {
    var base = portfolio.baseRaw
    var quote = portfolio.quoteRaw
    for (_, q) in orders where q.hanging {
      if q.side == .buy { quote -= Int128(q.price) * Int128(q.remaining) } else { base -= q.remaining }
    }
    var n = 0
    for i in buys.indices {
      var b = buys[i]
      let affordable = b.price > 0 ? quote / Int128(b.price) : 0
      b.quantity = rule.quantize(quantity: Int64(min(Int128(b.quantity), max(affordable, 0))))
      if rule.violation(price: b.price, quantity: b.quantity) != nil { continue }
      quote -= Int128(b.price) * Int128(b.quantity)
      buys[n] = b
      n += 1
    }
    buys.removeLast(buys.count - n)
    n = 0
    for i in sells.indices {
      var s = sells[i]
      s.quantity = rule.quantize(quantity: min(s.quantity, max(base, 0)))
      if rule.violation(price: s.price, quantity: s.quantity) != nil { continue }
      base -= s.quantity
      sells[n] = s
      n += 1
    }
    sells.removeLast(sells.count - n)
  }

  /// Without take-if-crossed, proposals that would trade at once are dropped.
  func filterTakers(book: LadderBook) {
    guard !config.takeIfCrossed else { return }
    let t = instrument.tickSize
    if let a = book.best(.ask) { buys.removeAll(where: { $0.price >= a.tick * t }) }
    if let b = book.best(.bid) { sells.removeAll(where: { $0.price <= b.tick * t }) }
  }

  func cancel(_ tag: UInt64, intents: inout Intents) {
    guard var q = orders[tag], !q.cancelling else { return }
    q.cancelling = true
    orders[tag] = q
    intents.cancel(tag: tag)
    cancelsSent += 1
  }

  func cancelOnMaxAge(now: Int64, intents: inout Intents) {
    var old = false
    for (_, q) in orders where !q.hanging && !q.cancelling && now - q.createdNs > config.maxOrderAgeNs {
      old = true
      break
    }
    guard old else { return }
    cancelAll(where: { !$0.hanging }, intents: &intents)
  }

  /// At the cancel time: keep the orders when every price is within the tolerance of the new
  /// proposal (same number of orders per side), else cancel them all.
  func cancelActive(haveProposal: Bool, now: Int64, intents: inout Intents) {
    guard cancelAtNs <= now else { return }
    var keep = false
    if haveProposal && config.orderRefreshTolerance >= 0 {
      keep = withinTolerance(.buy, buys) && withinTolerance(.sell, sells)
    }
    if keep {
      refreshesDeferred += 1
      setTimers(now: now)
    } else {
      cancelAll(where: { !$0.hanging }, intents: &intents)
    }
  }

  func withinTolerance(_ side: TradeSide, _ proposal: [Proposed]) -> Bool {
    var count = 0
    for (_, q) in orders where q.side == side && !q.hanging && !q.cancelling {
      count += 1
      // Each active order must be near some proposed order (levels keep their order).
      var near = false
      for p in proposal where abs(Double(p.price - q.price)) / Double(q.price) <= config.orderRefreshTolerance
      {
        near = true
        break
      }
      if !near { return false }
    }
    return count == proposal.count
  }

  func cancelBelowMinimumSpread(ref: Double, intents: inout Intents) {
    guard let m = config.minimumSpread else { return }
    cancelAll(
      where: { q in
        !q.hanging && (q.side == .buy ? (ref - Double(q.price)) / ref : (Double(q.price) - ref) / ref) < m
      }, intents: &intents)
  }

  func cancelFarHanging(ref: Double, intents: inout Intents) {
    guard config.hangingOrders else { return }
    let limit = config.hangingOrdersCancel
    cancelAll(where: { $0.hanging && abs(Double($0.price) - ref) / ref > limit }, intents: &intents)
  }

  func place(now: Int64, book: LadderBook, intents: inout Intents) {
    let t = instrument.tickSize
    let bestAsk = book.best(.ask).map { $0.tick * t } ?? .max
    let bestBid = book.best(.bid).map { $0.tick * t } ?? .min
    for b in buys { add(.buy, b, taker: b.price >= bestAsk, now: now, intents: &intents) }
    for s in sells { add(.sell, s, taker: s.price <= bestBid, now: now, intents: &intents) }
  }

  func add(_ side: TradeSide, _ p: Proposed, taker: Bool, now: Int64, intents: inout Intents) {
    let tag = nextTag
    nextTag += 1
    orders[tag] = Quote(side: side, price: p.price, quantity: p.quantity, createdNs: now, taker: taker)
    intents.place(PlaceIntent(tag: tag, side: side, price: p.price, quantity: p.quantity))
    placed += 1
  }

  /// Hummingbot's `set_timers`: the next create and cancel times one refresh away.
  func setTimers(now: Int64) {
    let next = now + config.orderRefreshTimeNs
    if createAtNs <= now { createAtNs = next }
    if cancelAtNs <= now { cancelAtNs = min(createAtNs, next) }
  }

  /// An order the host refused before it was tracked (risk gate, trading rule, a reconciliation
  /// under way, a full ring): it never existed, so it is forgotten and the cycle goes on.
  /// The venue's new rule: its quotes are sized and priced to it from the next cycle.
  public func onRuleChanged(_ rule: TradingRule) { self.rule = rule }

  public func onRefused(tag: UInt64, now: Int64, intents: inout Intents) {
    orders[tag] = nil
    // A quote the host refused never existed (a reconciliation's hold, a full ring, a limit): when
    // none is left working, the next cycle quotes again instead of waiting out the refresh time
    // its placement set.
    if !hasActiveNonHanging { createAtNs = min(createAtNs, now) }
  }
}

/// A price raw from a computed price: rounded away from the touch (buys down, sells up), after
/// dropping the last bits of binary noise (100 × 0.99 is 98.999…; it must stay 99).
@inline(__always)
func directed(_ x: Double, up: Bool) -> Int64 {
  let clean = (x * 1e6).rounded() / 1e6
  return Int64(up ? clean.rounded(.up) : clean.rounded(.down))
}
