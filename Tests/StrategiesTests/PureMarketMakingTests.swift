import Engine
import FastBook
import Strategies
import Testing

/// Pure market making driven by hand: a book set level by level, the Clock's ticks, and the
/// venue's answers played into a real `OrderTracker` through a real `StrategyHost` (so the
/// strategy sees exactly the events it sees live). BTCUSDT at 0.01 / 0.00001: price raws are
/// cents, quantity raws 10⁻⁵ BTC.
final class PMMHarness {
  let inst = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)
  let book: LadderBook
  let tracker = OrderTracker()
  let pmm: PureMarketMaking
  var host: StrategyHost!
  var commands: [OrderCommand] = []
  var now: Int64 = 1_000_000_000_000
  var venueID: Int64 = 0
  /// The venue refuses the next cancels (the order filled meanwhile… or the cancel never left).
  var refuseCancels = 0
  static let second: Int64 = 1_000_000_000

  /// `base` BTC and `quote` USDT, as whole units.
  init(_ config: PureMarketMakingConfig, base: Int128 = 10, quote: Int128 = 100_000) {
    book = LadderBook(instrument: inst, windowTicks: 1 << 14, centreTick: 10_000)
    let unit: Int128 = 1_000_000_000_000_000_000
    pmm = PureMarketMaking(
      config: config, rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1), instrument: inst,
      portfolio: Portfolio(
        base: base * unit, quote: quote * unit, fees: FeeSchema(makerRate: 100_000, takerRate: 100_000),
        priceScale: 2, quantityScale: 5))
    host = StrategyHost(
      strategy: pmm, symbol: "BTCUSDT", rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1),
      limits: RiskLimits(), tracker: tracker, prefix: "t-"
    ) { [unowned self] c in commands.append(c) }
    setBook(bid: 9_999, ask: 10_001)
  }

  /// A one-level book each side (100 BTC each), then the strategy's book callback.
  func setBook(bid: Int64, ask: Int64, extraBids: [(Int64, Int64)] = []) {
    book.clear(centreTick: (bid + ask) / 2)
    _ = book.update(.bid, tick: bid, quantity: 10_000_000)
    _ = book.update(.ask, tick: ask, quantity: 10_000_000)
    for (t, q) in extraBids { _ = book.update(.bid, tick: t, quantity: q) }
    host.book(book, now: now)
    settle()
  }

  var mid: Int64 { StrategyHost.mid(book) }

  /// Advances time by whole seconds, ticking once per second, the venue answering in between.
  func tick(_ seconds: Int = 1) {
    for _ in 0..<seconds {
      now += Self.second
      host.tick(now: now, referencePrice: mid)
      settle()
    }
  }

  /// The venue accepts every new order and confirms every cancel.
  func settle() {
    while !commands.isEmpty {
      let batch = commands
      commands.removeAll()
      for c in batch {
        switch c {
        case .place(let id, _, _, _, _):
          venueID += 1
          tracker.accepted(id, venueID: VenueOrderID(venueID), now: now)
        case .cancel(let id):
          if refuseCancels > 0 {
            refuseCancels -= 1
            tracker.cancelFailed(id, now: now)
          } else {
            tracker.cancelledAtVenue(id, now: now)
          }
        }
      }
      host.drainTracker(referencePrice: mid, now: now)
    }
  }

  /// Our working orders (cancels confirmed at once, so these are the venue's), best first.
  func open(_ side: TradeSide) -> [PureMarketMaking.Quote] {
    pmm.orders.values.filter { $0.side == side }.sorted {
      side == .buy ? $0.price > $1.price : $0.price < $1.price
    }
  }

  func tag(_ side: TradeSide, level: Int = 0) -> UInt64 {
    let q = open(side)[level]
    return pmm.orders.first { $0.value == q }!.key
  }

  /// A fill of `quantity` of our order `tag` at its price.
  func fill(_ tag: UInt64, _ quantity: Int64? = nil) {
    let q = pmm.orders[tag]!
    venueID += 1
    tracker.fill(
      Fill(
        clientOrderID: ClientOrderID("t-\(tag)"), tradeID: venueID, price: q.price,
        quantity: quantity ?? q.remaining), now: now)
    host.drainTracker(referencePrice: mid, now: now)
    settle()
  }
}

/// Event-driven quoting with a 0.2 % tolerance, a refresh time no test reaches and no fill delay:
/// only a book move beyond the tolerance re-quotes.
func eventDriven(levels: Int) -> PureMarketMakingConfig {
  config {
    $0.eventDriven = true
    $0.orderRefreshTolerance = 0.002
    $0.orderRefreshTimeNs = 600 * PMMHarness.second
    $0.filledOrderDelayNs = 0
    $0.orderLevels = levels
  }
}

func config(_ edit: (inout PureMarketMakingConfig) -> Void) -> PureMarketMakingConfig {
  var c = PureMarketMakingConfig()
  c.orderAmount = 100_000  // 1 BTC
  c.orderRefreshTimeNs = 10 * PMMHarness.second
  c.filledOrderDelayNs = 30 * PMMHarness.second
  edit(&c)
  return c
}

@Suite struct PureMarketMakingTests {
  /// A rule the venue changed, posted to the host (as the wire side's refresh does): the host and
  /// the strategy both take it at the host's next turn (the strategy sizes and prices its next
  /// quotes from it).
  @Test func aChangedRuleReachesTheStrategy() {
    var c = PureMarketMakingConfig()
    c.bidSpread = 0.01
    c.askSpread = 0.01
    c.orderAmount = 500
    c.orderRefreshTimeNs = 1_000_000_000
    let h = PMMHarness(c)
    #expect(h.pmm.rule.minQuantity == 1)
    let raised = TradingRule(tickSize: 1, stepSize: 1, minQuantity: 800)
    h.host.ruleUpdates.post(raised)
    h.host.adoptPostedRule()
    #expect(h.host.rule == raised && h.pmm.rule == raised && h.host.ruleChanges == 1)
    h.host.adoptPostedRule()  // nothing posted since: nothing changes
    #expect(h.host.ruleChanges == 1)
  }
  /// Levels: prices step out by the level spread from the bid/ask spread, sizes by the level
  /// amount; split levels take their own lists. (mid 100.00)
  /// An external price ages on the time of the callback, not the machine's clock: set at the
  /// harness's (simulated) time it is used while younger than its maximum age and then the
  /// quotes made from it are pulled — in a backtest, data time decides staleness.
  @Test func anExternalPriceAgesOnTheTimeTheStrategyIsGiven() {
    let ext = ExternalPrice()
    let h = PMMHarness(
      config {
        $0.externalPrice = ext
        $0.externalPriceMaxAgeNs = 3 * PMMHarness.second
      })
    ext.set(priceRaw: 10_100, now: h.now)
    h.tick()
    #expect(h.open(.buy).map(\.price) == [9_999] && h.open(.sell).map(\.price) == [10_201])
    #expect(h.pmm.referencePrice() == 10_100)
    h.tick(3)
    #expect(h.open(.buy).isEmpty && h.open(.sell).isEmpty, "stale after 3 s of the harness's time")
    #expect(h.pmm.referencePrice() == nil)
  }

  @Test func levelsSpreadAndSizeAsConfigured() {
    let h = PMMHarness(
      config {
        $0.orderLevels = 3
        $0.bidSpread = 0.01
        $0.askSpread = 0.02
        $0.orderLevelSpread = 0.005
        $0.orderLevelAmount = 50_000
      })
    h.tick()
    #expect(h.open(.buy).map(\.price) == [9_900, 9_850, 9_800])
    #expect(h.open(.sell).map(\.price) == [10_200, 10_250, 10_300])
    #expect(h.open(.buy).map(\.quantity) == [100_000, 150_000, 200_000])
    #expect(h.open(.sell).map(\.quantity) == [100_000, 150_000, 200_000])

    let split = PMMHarness(
      config {
        $0.bidLevelSpreads = [0.001, 0.004]
        $0.askLevelSpreads = [0.002]
        $0.bidLevelAmounts = [10_000, 30_000]
        $0.askLevelAmounts = [20_000]
      })
    split.tick()
    #expect(split.open(.buy).map(\.price) == [9_990, 9_960])
    #expect(split.open(.buy).map(\.quantity) == [10_000, 30_000])
    #expect(split.open(.sell).map(\.price) == [10_020])
  }

  /// Refresh tolerance: at the refresh time, orders within the tolerance of the new proposal stay
  /// (no cancel, no new order); beyond it, all are cancelled and replaced at the new prices.
  @Test func refreshToleranceKeepsOrReplacesOrders() {
    let h = PMMHarness(config { $0.orderRefreshTolerance = 0.002 })
    h.tick()
    let first = Set(h.pmm.orders.keys)
    #expect(h.open(.buy).map(\.price) == [9_900])
    h.setBook(bid: 10_009, ask: 10_011)  // mid +0.1 %
    h.tick(11)
    #expect(Set(h.pmm.orders.keys) == first, "within 0.2 %: kept")
    #expect(h.pmm.refreshesDeferred >= 1 && h.pmm.cancelsSent == 0)
    h.setBook(bid: 10_099, ask: 10_101)  // mid +1 %
    h.tick(11)
    #expect(Set(h.pmm.orders.keys).isDisjoint(with: first), "beyond 0.2 %: replaced")
    #expect(h.open(.buy).map(\.price) == [9_999] && h.open(.sell).map(\.price) == [10_201])
    #expect(h.pmm.cancelsSent == 2)
  }

  /// With the default tolerance 0, orders whose price would change are replaced at the refresh
  /// time (identical prices stay, as in Hummingbot); orders older than the maximum age are
  /// replaced even when within the tolerance.
  @Test func refreshTimeAndMaxOrderAge() {
    let h = PMMHarness(config { _ in })
    h.tick()
    let first = Set(h.pmm.orders.keys)
    h.setBook(bid: 10_004, ask: 10_006)
    h.tick(5)
    #expect(Set(h.pmm.orders.keys) == first, "before the refresh time nothing changes")
    h.tick(6)
    #expect(Set(h.pmm.orders.keys).isDisjoint(with: first) && h.pmm.orders.count == 2)

    let aged = PMMHarness(
      config {
        $0.orderRefreshTolerance = 0.01
        $0.maxOrderAgeNs = 25 * PMMHarness.second
      })
    aged.tick()
    let kept = Set(aged.pmm.orders.keys)
    aged.tick(21)
    #expect(Set(aged.pmm.orders.keys) == kept, "within tolerance and younger than the max age")
    aged.tick(10)
    #expect(Set(aged.pmm.orders.keys).isDisjoint(with: kept), "older than the max age: replaced")
  }

  /// Inventory skew: with base worth 40 % of the portfolio, a 50 % target and a range of
  /// 20 % of the portfolio, bids are sized ×1.5 and asks ×0.5 (Hummingbot's interpolation).
  @Test func inventorySkewResizesBidsAndAsks() {
    // Value at mid 100: 400 USDT in base (4 BTC) + 600 USDT = 1,000; target 500; range =
    // 1 BTC × multiplier 2 × 100 = 200, so the bid ratio runs from 2 at 300 to 1 at 500.
    let h = PMMHarness(
      config {
        $0.inventorySkew = true
        $0.inventoryTargetBase = 0.5
        $0.inventoryRangeMultiplier = 2
      }, base: 4, quote: 600)
    h.tick()
    #expect(h.open(.buy).map(\.quantity) == [150_000])
    #expect(h.open(.sell).map(\.quantity) == [50_000])
    let r = PureMarketMaking.inventoryRatios(baseValue: 700, totalValue: 1_000, target: 0.5, rangeValue: 100)
    #expect(r.bid == 0 && r.ask == 2, "far above the target: asks only")
    let atTarget = PureMarketMaking.inventoryRatios(
      baseValue: 500, totalValue: 1_000, target: 0.5, rangeValue: 100)
    #expect(atTarget.bid == 1 && atTarget.ask == 1)
  }

  /// Filled-order delay: after an order fills completely, no new orders are placed until the
  /// delay has passed; the other side is cancelled at its refresh time.
  @Test func filledOrderDelayHoldsNewOrders() {
    let h = PMMHarness(config { _ in })
    h.tick()
    h.fill(h.tag(.buy))
    #expect(h.open(.buy).isEmpty && h.open(.sell).count == 1)
    h.tick(12)
    #expect(h.pmm.orders.isEmpty, "the sell was cancelled at the refresh time; nothing new")
    h.tick(17)
    #expect(h.pmm.orders.isEmpty, "29 s after the fill: still waiting")
    h.tick(2)
    #expect(h.open(.buy).count == 1 && h.open(.sell).count == 1, "30 s after: quoting again")
    #expect(h.pmm.portfolio.boughtQuantity == 100_000)
  }

  /// Ping-pong: after a buy fills, the next orders are sells only, until a sell fills; then both.
  @Test func pingPongAlternatesSides() {
    let h = PMMHarness(
      config {
        $0.pingPong = true
        $0.filledOrderDelayNs = 0
      })
    h.tick()
    h.fill(h.tag(.buy))
    h.tick(11)
    #expect(h.open(.buy).isEmpty && h.open(.sell).count == 1, "after a buy: sells only")
    h.tick(11)
    #expect(h.open(.buy).isEmpty && h.open(.sell).count == 1, "still, until a sell fills")
    h.fill(h.tag(.sell))
    h.tick(11)
    #expect(h.open(.buy).count == 1 && h.open(.sell).count == 1, "a sell matched the buy: both sides")
  }

  /// Hanging orders: after the buy fills, the sell hangs through refreshes (new orders are
  /// placed beside it) until the price is farther from it than the hanging cancel distance.
  @Test func hangingOrdersStayUntilTooFar() {
    let h = PMMHarness(
      config {
        $0.hangingOrders = true
        $0.hangingOrdersCancel = 0.03
        $0.filledOrderDelayNs = 0
      })
    h.tick()
    let sell = h.tag(.sell)
    h.fill(h.tag(.buy))
    #expect(h.pmm.orders[sell]?.hanging == true)
    h.tick(11)
    #expect(h.pmm.orders[sell] != nil, "the hanging sell stays")
    #expect(h.open(.buy).count == 1 && h.open(.sell).count == 2, "new orders beside it")
    h.setBook(bid: 9_799, ask: 9_801)  // the sell at 101.00 is now 3.06 % away
    h.tick()
    #expect(h.pmm.orders[sell] == nil, "too far: cancelled")
  }

  /// Price ceiling and floor: at or above the ceiling, no buys; at or below the floor, no sells.
  @Test func priceBandStopsOneSide() {
    let high = PMMHarness(config { $0.priceCeiling = 9_990 })
    high.tick()
    #expect(high.open(.buy).isEmpty && high.open(.sell).count == 1)
    let low = PMMHarness(config { $0.priceFloor = 10_010 })
    low.tick()
    #expect(low.open(.sell).isEmpty && low.open(.buy).count == 1)
    let inside = PMMHarness(
      config {
        $0.priceCeiling = 10_100
        $0.priceFloor = 9_900
      })
    inside.tick()
    #expect(inside.pmm.orders.count == 2)
  }

  /// Minimum spread: an order the price moved to within the minimum spread is cancelled at once,
  /// not at the refresh time.
  @Test func minimumSpreadCancelsAtOnce() {
    let h = PMMHarness(
      config {
        $0.minimumSpread = 0.005
        $0.orderRefreshTimeNs = 600 * PMMHarness.second
      })
    h.tick()
    let buy = h.tag(.buy)
    h.setBook(bid: 9_939, ask: 9_941)  // the buy at 99.00 is now 0.4 % below mid
    h.tick()
    #expect(h.pmm.orders[buy] == nil)
    #expect(h.open(.sell).count == 1, "the sell, 1.6 % away, stays")
  }

  /// Order optimization: the buy is lowered to one tick above the best bid beyond the ignored
  /// depth, never raised.
  @Test func orderOptimizationJumpsTheTop() {
    let h = PMMHarness(
      config {
        $0.bidSpread = 0.0001
        $0.askSpread = 0.0001
        $0.orderOptimization = true
        $0.bidOptimizationDepth = 50_000
      })
    // Best bid 99.90 holds 0.2 BTC (under the ignored 0.5 BTC), then 99.80 with 100 BTC.
    h.setBook(bid: 9_980, ask: 10_020, extraBids: [(9_990, 20_000)])
    h.tick()
    #expect(h.open(.buy).map(\.price) == [9_981])
    #expect(h.open(.sell).map(\.price) == [10_019])
  }

  /// Take-if-crossed off: a proposal that would trade at once is dropped.
  @Test func crossingProposalsAreFiltered() {
    let h = PMMHarness(
      config {
        $0.bidSpread = -0.01
        $0.askSpread = 0.01
      })
    h.tick()
    #expect(h.open(.buy).isEmpty && h.open(.sell).count == 1)
    let t = PMMHarness(
      config {
        $0.bidSpread = -0.01
        $0.takeIfCrossed = true
      })
    t.tick()
    #expect(t.open(.buy).count == 1 && t.open(.buy)[0].taker)
  }

  /// Event-driven: a move beyond the tolerance re-quotes on the book change, without a tick.
  @Test func eventDrivenRequotesOnTheBookChange() {
    let h = PMMHarness(eventDriven(levels: 1))
    h.tick()
    let first = Set(h.pmm.orders.keys)
    h.setBook(bid: 10_009, ask: 10_011)
    #expect(Set(h.pmm.orders.keys) == first && h.pmm.requotes == 0)
    h.setBook(bid: 10_099, ask: 10_101)
    #expect(h.pmm.requotes == 1)
    #expect(h.open(.buy).map(\.price) == [9_999], "re-placed at once, no tick")
  }

  /// On a re-quote the cancels leave first: the host is told they are queued while the strategy
  /// is still in its book callback, before the new proposal is worked out; the new quotes go once
  /// the venue has confirmed the cancels (Hummingbot places only with no working quotes).
  @Test func aRequoteSendsItsCancelsBeforeItPricesTheNewQuotes() {
    let h = PMMHarness(eventDriven(levels: 2))
    h.tick()
    let working = Set(h.pmm.orders.keys)
    #expect(working.count == 4)
    var atFlush: [OrderCommand] = []
    var flushes = 0
    h.host.onCancelsQueued = {
      flushes += 1
      atFlush = h.commands
    }
    h.setBook(bid: 10_009, ask: 10_011)  // within the tolerance: nothing moves
    #expect(flushes == 0)
    h.book.clear(centreTick: 10_100)
    _ = h.book.update(.bid, tick: 10_099, quantity: 10_000_000)
    _ = h.book.update(.ask, tick: 10_101, quantity: 10_000_000)
    h.host.book(h.book, now: h.now)
    #expect(flushes == 1 && h.pmm.requotes == 1)
    let cancelled = atFlush.compactMap { c -> String? in if case .cancel(let id) = c { "\(id)" } else { nil }
    }
    #expect(cancelled.count == 4 && atFlush.count == 4, "only the cancels were out at the flush: \(atFlush)")
    #expect(Set(cancelled) == Set(working.map { "t-\($0)" }))
    #expect(h.commands.count == 4, "nothing placed before the cancels are confirmed: \(h.commands)")
    h.settle()
    #expect(h.open(.buy).map(\.price) == [9_999, 9_898] && h.open(.sell).count == 2)
    #expect(Set(h.pmm.orders.keys).isDisjoint(with: working))
  }

  /// Quotes the host refuses before they exist (here the risk gate; live, a reconciliation's
  /// hold) do not cost a refresh period: with nothing left working, the next cycle quotes again.
  @Test func refusedQuotesAreRetriedAtTheNextCycle() {
    let h = PMMHarness(config { $0.orderRefreshTimeNs = 600 * PMMHarness.second })
    h.host.gate.limits.maxOpenOrders = 0
    h.tick()
    #expect(h.pmm.orders.isEmpty && h.pmm.placed == 2, "both quotes refused")
    h.host.gate.limits.maxOpenOrders = .max
    h.tick()
    #expect(h.open(.buy).count == 1 && h.open(.sell).count == 1, "quoted again a second later")
  }

  /// A cancel the venue refuses leaves the order working, and the strategy knows: it does not
  /// wait for a confirmation that will never come, and cancels it again at the next refresh.
  @Test func aRefusedCancelDoesNotStallTheStrategy() {
    let h = PMMHarness(config { _ in })
    h.tick()
    let first = Set(h.pmm.orders.keys)
    h.refuseCancels = 1
    h.setBook(bid: 10_049, ask: 10_051)
    h.tick(11)
    #expect(h.pmm.orders.values.allSatisfy { !$0.cancelling }, "no order waits for a confirmation")
    h.tick(11)
    #expect(Set(h.pmm.orders.keys).isDisjoint(with: first) && h.pmm.orders.count == 2)
  }

  /// The portfolio follows fills with Binance's fees, and the kill switch stops everything on the
  /// fill that crosses the loss limit.
  @Test func portfolioAndKillSwitch() {
    let h = PMMHarness(
      config {
        $0.killSwitch = -0.0001
        $0.filledOrderDelayNs = 0
      }, base: 0, quote: 1_000)
    h.tick()
    h.fill(h.tag(.buy))  // 1 BTC at 99.00, fee 0.001 BTC
    let p = h.pmm.portfolio
    #expect(p.base == 999_000_000_000_000_000 && p.quote == 901 * 1_000_000_000_000_000_000)
    #expect(p.position == 100_000 && p.averageCost == 9_900)
    // Mid falls to 90: the position is down ~9 %: the next fill trips the switch.
    h.setBook(bid: 8_999, ask: 9_001)
    h.tick(11)
    if let buy = h.open(.buy).first, let tag = h.pmm.orders.first(where: { $0.value == buy })?.key {
      h.fill(tag, 1_000)
    }
    #expect(h.pmm.stoppedReason?.hasPrefix("kill switch") == true)
    h.tick(30)
    #expect(h.pmm.orders.isEmpty, "stopped: everything cancelled, nothing new")
  }
}
