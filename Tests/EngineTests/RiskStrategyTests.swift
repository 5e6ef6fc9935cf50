import Engine
import FastBook
import Testing

@Suite struct RiskGateTests {
  @Test func eachLimitRefusesAndIsCounted() {
    var l = RiskLimits()
    l.maxOrderQuantity = 10
    l.maxOrderNotional = 5_000
    l.maxOpenOrders = 2
    var g = RiskGate(limits: l)
    #expect(
      g.check(PlaceIntent(tag: 1, side: .buy, price: 100, quantity: 11), referencePrice: 100, now: 0)
        == .quantity)
    #expect(
      g.check(PlaceIntent(tag: 2, side: .buy, price: 600, quantity: 10), referencePrice: 600, now: 0)
        == .notional)
    #expect(
      g.check(PlaceIntent(tag: 3, side: .buy, price: 100, quantity: 10), referencePrice: 100, now: 0) == nil)
    #expect(
      g.check(PlaceIntent(tag: 4, side: .sell, price: 100, quantity: 10), referencePrice: 100, now: 0) == nil)
    #expect(
      g.check(PlaceIntent(tag: 5, side: .sell, price: 100, quantity: 1), referencePrice: 100, now: 0)
        == .openOrders)
    #expect(g.openOrders == 2 && g.accepted == 2)
    #expect(g.refusals(.quantity) == 1 && g.refusals(.notional) == 1 && g.refusals(.openOrders) == 1)
    // A finished order frees its slot.
    g.finished(side: .sell, unfilled: 10)
    #expect(
      g.check(PlaceIntent(tag: 6, side: .sell, price: 100, quantity: 1), referencePrice: 100, now: 0) == nil)
  }

  @Test func positionCountsEveryOpenOrderOnTheSideAsFilled() {
    var l = RiskLimits()
    l.maxPosition = 100
    var g = RiskGate(limits: l, position: 40)
    #expect(
      g.check(PlaceIntent(tag: 1, side: .buy, price: 1, quantity: 50), referencePrice: 0, now: 0) == nil)
    // 40 held + 50 open + 20 more = 110 > 100, even though nothing has filled yet.
    #expect(
      g.check(PlaceIntent(tag: 2, side: .buy, price: 1, quantity: 20), referencePrice: 0, now: 0) == .position
    )
    // Selling reduces exposure: 40 − 130 = −90 is within 100.
    #expect(
      g.check(PlaceIntent(tag: 3, side: .sell, price: 1, quantity: 130), referencePrice: 0, now: 0) == nil)
    #expect(
      g.check(PlaceIntent(tag: 4, side: .sell, price: 1, quantity: 11), referencePrice: 0, now: 0)
        == .position)
    // The buy fills 30 and is cancelled with 20 left: position 70, no open buys.
    g.filled(side: .buy, quantity: 30)
    g.finished(side: .buy, unfilled: 20)
    #expect(g.position == 70 && g.openBuyQuantity == 0)
    #expect(
      g.check(PlaceIntent(tag: 5, side: .buy, price: 1, quantity: 30), referencePrice: 0, now: 0) == nil)
    #expect(
      g.check(PlaceIntent(tag: 6, side: .buy, price: 1, quantity: 1), referencePrice: 0, now: 0) == .position)
  }

  @Test func priceBandNeedsAReferenceAndHoldsToTheBasisPoint() {
    var l = RiskLimits()
    l.priceBandBps = 50  // 0.5%
    var g = RiskGate(limits: l)
    #expect(
      g.check(PlaceIntent(tag: 1, side: .buy, price: 9_950, quantity: 1), referencePrice: 0, now: 0)
        == .noReference)
    #expect(
      g.check(PlaceIntent(tag: 2, side: .buy, price: 9_950, quantity: 1), referencePrice: 10_000, now: 0)
        == nil)
    #expect(
      g.check(PlaceIntent(tag: 3, side: .buy, price: 9_949, quantity: 1), referencePrice: 10_000, now: 0)
        == .priceBand)
    #expect(
      g.check(PlaceIntent(tag: 4, side: .sell, price: 10_051, quantity: 1), referencePrice: 10_000, now: 0)
        == .priceBand)
  }

  @Test func orderRateIsATokenBucket() {
    var l = RiskLimits()
    l.maxOrdersPerSecond = 2
    var g = RiskGate(limits: l)
    let second: Int64 = 1_000_000_000
    #expect(g.check(PlaceIntent(tag: 1, side: .buy, price: 1, quantity: 1), referencePrice: 0, now: 0) == nil)
    #expect(g.check(PlaceIntent(tag: 2, side: .buy, price: 1, quantity: 1), referencePrice: 0, now: 1) == nil)
    #expect(
      g.check(PlaceIntent(tag: 3, side: .buy, price: 1, quantity: 1), referencePrice: 0, now: 2) == .orderRate
    )
    // Half a second refills one order.
    #expect(
      g.check(PlaceIntent(tag: 4, side: .buy, price: 1, quantity: 1), referencePrice: 0, now: second / 2 + 1)
        == nil)
    #expect(
      g.check(PlaceIntent(tag: 5, side: .buy, price: 1, quantity: 1), referencePrice: 0, now: second / 2 + 2)
        == .orderRate)
    // A long pause refills to the bucket's size, not beyond.
    #expect(
      g.check(PlaceIntent(tag: 6, side: .buy, price: 1, quantity: 1), referencePrice: 0, now: 100 * second)
        == nil)
    #expect(
      g.check(PlaceIntent(tag: 7, side: .buy, price: 1, quantity: 1), referencePrice: 0, now: 100 * second)
        == nil)
    #expect(
      g.check(PlaceIntent(tag: 8, side: .buy, price: 1, quantity: 1), referencePrice: 0, now: 100 * second)
        == .orderRate)
  }

  @Test func haltStopsNewOrdersUntilResumed() {
    var g = RiskGate(limits: RiskLimits())
    g.halt("418 from the venue: IP banned until 1700000000000")
    #expect(
      g.check(PlaceIntent(tag: 1, side: .buy, price: 1, quantity: 1), referencePrice: 0, now: 0) == .halted)
    #expect(g.haltReason?.contains("418") == true)
    g.resume()
    #expect(g.check(PlaceIntent(tag: 2, side: .buy, price: 1, quantity: 1), referencePrice: 0, now: 0) == nil)
  }
}

/// Quotes one tick inside the touch on both sides whenever the book changes, cancelling the old
/// quotes first; a minimal market maker to drive the host.
final class InsideQuoter: Strategy {
  var nextTag: UInt64 = 1
  var live: [UInt64] = []
  var orderEvents: [(TrackerEvent, UInt64)] = []
  let quantity: Int64

  init(quantity: Int64) { self.quantity = quantity }

  func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {
    guard let b = book.best(.bid), let a = book.best(.ask) else { return }
    for t in live { intents.cancel(tag: t) }
    live.removeAll()
    let tick = book.instrument.tickSize
    for (side, price) in [(TradeSide.buy, (b.tick + 1) * tick), (TradeSide.sell, (a.tick - 1) * tick)] {
      intents.place(PlaceIntent(tag: nextTag, side: side, price: price, quantity: quantity, postOnly: true))
      live.append(nextTag)
      nextTag += 1
    }
  }

  func onOrder(_ event: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
    orderEvents.append((event, tag))
  }
}

@Suite struct StrategyHostTests {
  // Prices at scale 2 with a 0.01 tick; quantities at scale 3 with a 0.001 lot.
  let instrument = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 3, tickSize: 1, lotSize: 1)

  func book(bid: Int64, ask: Int64) -> LadderBook {
    let b = LadderBook(
      instrument: instrument, windowTicks: 4_096, overflowCapacity: 64, centreTick: (bid + ask) / 2)
    _ = b.update(.bid, tick: bid, quantity: 1_000)
    _ = b.update(.ask, tick: ask, quantity: 1_000)
    return b
  }

  @Test func intentsAreGatedTrackedAndSentInOrder() {
    var sent: [OrderCommand] = []
    let tracker = OrderTracker()
    var limits = RiskLimits()
    limits.maxOpenOrders = 2
    let strategy = InsideQuoter(quantity: 5)
    let host = StrategyHost(
      strategy: strategy, symbol: "BTCUSDT", rule: TradingRule(tickSize: 1, stepSize: 1), limits: limits,
      tracker: tracker, prefix: "nt-run1-", send: { sent.append($0) })

    host.book(book(bid: 10_000, ask: 10_010), now: 1)
    #expect(
      sent == [
        .place(ClientOrderID("nt-run1-1"), side: .buy, price: 10_001, quantity: 5, postOnly: true),
        .place(ClientOrderID("nt-run1-2"), side: .sell, price: 10_009, quantity: 5, postOnly: true),
      ])
    #expect(tracker.activeOrders.count == 2, "tracked before they are sent")

    // The bid quote fills 2 and the venue acknowledges both; the book moves, so the strategy
    // cancels both and re-quotes — but the gate still counts the two as open until the venue
    // confirms the cancels, so the new quotes are refused.
    tracker.accepted(ClientOrderID("nt-run1-1"), venueID: VenueOrderID(1), now: 2)
    tracker.accepted(ClientOrderID("nt-run1-2"), venueID: VenueOrderID(2), now: 2)
    tracker.fill(
      Fill(
        clientOrderID: ClientOrderID("nt-run1-1"), tradeID: 7, price: 10_001, quantity: 2, fee: 0,
        feeAsset: "BTC"),
      now: 3)
    host.drainTracker(referencePrice: 10_005, now: 3)
    #expect(host.gate.position == 2 && host.gate.openBuyQuantity == 3)
    #expect(strategy.orderEvents.contains { if case .filled = $0.0 { $0.1 == 1 } else { false } })

    sent.removeAll()
    host.book(book(bid: 10_002, ask: 10_012), now: 4)
    #expect(sent == [.cancel(ClientOrderID("nt-run1-1")), .cancel(ClientOrderID("nt-run1-2"))])
    #expect(host.gate.refusals(.openOrders) == 2)

    // Cancels confirmed: exposure released, and the next book change quotes again.
    tracker.cancelledAtVenue(ClientOrderID("nt-run1-1"), now: 5)
    tracker.cancelledAtVenue(ClientOrderID("nt-run1-2"), now: 5)
    host.drainTracker(referencePrice: 10_007, now: 5)
    #expect(host.gate.openOrders == 0 && host.gate.openBuyQuantity == 0 && host.gate.openSellQuantity == 0)
    #expect(host.gate.position == 2)
    sent.removeAll()
    host.book(book(bid: 10_003, ask: 10_013), now: 6)
    #expect(sent.count == 2, "\(sent)")
    #expect(
      host.unknownCancels == 2,
      "the refused quotes (tags 5, 6) were never sent, so cancelling them is unknown")
  }

  @Test func quantizedToTheRuleAndRefusedWhenTooSmall() {
    var sent: [OrderCommand] = []
    let strategy = InsideQuoter(quantity: 1_234)
    let host = StrategyHost(
      strategy: strategy, symbol: "BTCUSDT",
      rule: TradingRule(tickSize: 10, stepSize: 100, minQuantity: 100), limits: RiskLimits(),
      tracker: OrderTracker(), prefix: "q-", send: { sent.append($0) })
    host.book(book(bid: 10_000, ask: 10_050), now: 1)
    // Bid 10,001 → 10,000 (down), ask 10,049 → 10,050 (up); 1,234 → 1,200.
    #expect(
      sent == [
        .place(ClientOrderID("q-1"), side: .buy, price: 10_000, quantity: 1_200, postOnly: true),
        .place(ClientOrderID("q-2"), side: .sell, price: 10_050, quantity: 1_200, postOnly: true),
      ])
    let small = InsideQuoter(quantity: 99)
    let host2 = StrategyHost(
      strategy: small, symbol: "BTCUSDT", rule: TradingRule(tickSize: 10, stepSize: 100, minQuantity: 100),
      limits: RiskLimits(), tracker: OrderTracker(), prefix: "s-", send: { sent.append($0) })
    sent.removeAll()
    host2.book(book(bid: 10_000, ask: 10_050), now: 1)
    #expect(sent.isEmpty && host2.ruleRefusals == 2)
  }
}
