import Engine
import FastBook
import Testing

/// A strategy that writes down the time of every callback and places one order per clean book.
final class TimeRecorder: Strategy {
  var bookTimes: [Int64] = []
  var tickTimes: [Int64] = []
  var orderTimes: [Int64] = []
  /// Book callbacks and trades in the order they came: "b<best bid>" or "t<tick>x<qty><b|s>".
  var sequence: [String] = []
  var placeOnBook = true
  var nextTag: UInt64 = 1
  func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {
    bookTimes.append(now)
    sequence.append("b\(book.best(.bid)?.tick ?? -1)")
    guard placeOnBook else { return }
    intents.place(PlaceIntent(tag: nextTag, side: .buy, price: 99, quantity: 1))
    nextTag += 1
  }
  func onTick(now: Int64, intents: inout Intents) { tickTimes.append(now) }
  func onTrade(priceTicks: Int64, quantity: Int64, aggressor: TradeSide, now: Int64, intents: inout Intents) {
    sequence.append("t\(priceTicks)x\(quantity)\(aggressor == .buy ? "b" : "s")")
  }
  func onOrder(_ event: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
    orderTimes.append(now)
  }
}

@Suite struct TimeSourceTests {
  static let second: Int64 = 1_000_000_000
  /// 2026-12-06 00:00:00 UTC, the kind of time a capture carries.
  static let start: Int64 = 1_796_515_200 * second

  @Test func simulatedTimeMovesOnlyForwardAndCountsWhatWouldGoBack() {
    let t = SimulatedTime(startNs: Self.start)
    #expect(t.nowNs == Self.start && t.wallNs == Self.start && t.wallMs == Self.start / 1_000_000)
    t.advance(to: Self.start + 5)
    t.advance(to: Self.start + 2)
    t.advance(by: -1)
    #expect(t.nowNs == Self.start + 5 && t.backwards == 2)
    t.advance(by: 10)
    #expect(t.nowNs == Self.start + 15 && t.wall(ofNow: t.nowNs) == t.wallNs)
  }

  @Test func liveTimeReadsTheMachineClocks() {
    let live = LiveTime.shared
    let a = live.nowNs
    let b = live.nowNs
    #expect(b >= a)
    // Unix time, and after this code was written.
    #expect(live.wallNs > Self.start - 365 * 86_400 * Self.second)
  }

  /// The runtime on simulated time: the strategy's callbacks, the Clock's ticks, the tracker's
  /// times and the stamps orders carry are all the simulated time, whatever the machine's clock
  /// says; the Clock fires one tick per boundary crossed, with that boundary's time.
  @Test func theRuntimeRunsOnTheTimeItIsGiven() throws {
    let time = SimulatedTime(startNs: Self.start)
    let inst = Instrument(symbol: "T", priceScale: 0, quantityScale: 0, tickSize: 1, lotSize: 1)
    let strategy = TimeRecorder()
    let tracker = OrderTracker()
    let host = StrategyHost(
      strategy: strategy, symbol: "T", rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1),
      limits: RiskLimits(), tracker: tracker, prefix: "ts-", time: time)
    let runtime = StrategyRuntime(
      host: host, book: LadderBook(instrument: inst, windowTicks: 4096, centreTick: 100),
      clock: Clock(tickNs: Self.second, start: time.nowNs))
    #expect(runtime.time === time)
    let i = InstrumentIndex(0)

    time.advance(by: 250_000_000)
    for e in [
      BookEvent.snapshotBegin(centreTick: 100, updateID: 1, instrument: i),
      .level(.bid, tick: 99, quantity: 5, instrument: i), .level(.ask, tick: 101, quantity: 5, instrument: i),
      .batchEnd(updateID: 1, exchangeTimeNs: 0, localTimeNs: 0, instrument: i, isSnapshot: true),
    ] {
      #expect(runtime.bookIn.tryPush(e))
    }
    runtime.pollOnce()
    let placedAt = Self.start + 250_000_000
    #expect(strategy.bookTimes == [placedAt])
    let order = try #require(runtime.ordersOut.tryPop())
    #expect(order.kind == .place && order.stamps.appliedNs == placedAt && order.stamps.decidedNs == placedAt)
    let tracked = try #require(tracker.orders[host.clientOrderID(tag: order.tag)])
    #expect(tracked.createdNs == placedAt)
    #expect(strategy.tickTimes.isEmpty, "no second boundary crossed yet")

    // 3.5 s later: three ticks, at the three whole seconds passed, then the venue's answer.
    time.advance(by: 3_500_000_000)
    #expect(runtime.execIn.tryPush(ExecEvent(kind: .accepted, tag: order.tag, venueOrderID: 7)))
    runtime.pollOnce()
    #expect(
      strategy.tickTimes == [
        Self.start + Self.second, Self.start + 2 * Self.second, Self.start + 3 * Self.second,
      ])
    let answeredAt = placedAt + 3_500_000_000
    #expect(tracker.orders[host.clientOrderID(tag: order.tag)]?.lastChangeNs == answeredAt)
    #expect(strategy.orderTimes.allSatisfy { $0 == answeredAt } && !strategy.orderTimes.isEmpty)
    #expect(runtime.lastExecNs == answeredAt)

    // Time standing still: no tick, however often the loop turns.
    for _ in 0..<1_000 { runtime.pollOnce() }
    #expect(runtime.clock.ticks == 3)
  }

  /// Public trades ride the book ring: the strategy hears them in the order the wire side pushed
  /// them, between batches, with the aggressor's side; they leave the book as it is.
  @Test func publicTradesComeThroughTheBookRingInOrder() {
    let inst = Instrument(symbol: "T", priceScale: 0, quantityScale: 0, tickSize: 1, lotSize: 1)
    let strategy = TimeRecorder()
    strategy.placeOnBook = false
    let host = StrategyHost(
      strategy: strategy, symbol: "T", rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1),
      limits: RiskLimits(), tracker: OrderTracker(), prefix: "ts-", time: SimulatedTime(startNs: Self.start))
    let runtime = StrategyRuntime(
      host: host, book: LadderBook(instrument: inst, windowTicks: 4096, centreTick: 100),
      clock: Clock(tickNs: Self.second, start: Self.start))
    let i = InstrumentIndex(0)
    let events: [BookEvent] = [
      .trade(aggressor: .bid, tick: 101, quantity: 2, exchangeTimeNs: 5, instrument: i),
      .snapshotBegin(centreTick: 100, updateID: 1, instrument: i),
      .level(.bid, tick: 99, quantity: 5, instrument: i), .level(.ask, tick: 101, quantity: 5, instrument: i),
      .batchEnd(updateID: 1, exchangeTimeNs: 0, localTimeNs: 0, instrument: i, isSnapshot: true),
      .trade(aggressor: .ask, tick: 99, quantity: 3, exchangeTimeNs: 6, instrument: i),
      .level(.bid, tick: 98, quantity: 1, instrument: i),
      .batchEnd(updateID: 2, exchangeTimeNs: 0, localTimeNs: 0, instrument: i),
      .trade(aggressor: .ask, tick: 99, quantity: 5, exchangeTimeNs: 7, instrument: i),
    ]
    for e in events { #expect(runtime.bookIn.tryPush(e)) }
    #expect(runtime.drainBook() == events.count)
    #expect(strategy.sequence == ["t101x2b", "b99", "t99x3s", "b99", "t99x5s"])
    #expect(runtime.tradesSeen == 3 && runtime.batchesSeen == 2 && runtime.applier.trades == 0)
    #expect(runtime.book.best(.bid)?.quantity == 5 && runtime.book.best(.ask)?.tick == 101)
    #expect(events[0].tradeTimeNs == 5 && events[0].side == .bid)
  }
}
