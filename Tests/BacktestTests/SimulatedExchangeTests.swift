import Engine
import Testing

@testable import Backtest

@Suite struct QueueModelTests {
  /// Risk-averse: trades at our price move us up by their size; we fill once they have gone half
  /// a lot past the queue ahead; a shrinking level only clamps the estimate.
  @Test func riskAverseMovesOnlyOnTradesAndClamps() {
    let m = QueueModel.riskAverse
    var q = QueuePosition(levelQuantity: 5)
    m.trade(&q, quantity: 3)
    #expect(q.ahead == 2 && !m.isFilled(&q, lot: 1))
    m.depth(&q, previous: 8, new: 1.5)
    #expect(q.ahead == 1.5, "clamped to the level")
    m.depth(&q, previous: 1.5, new: 20)
    #expect(q.ahead == 1.5, "a growing level never moves us back")
    m.trade(&q, quantity: 1.75)
    #expect(!m.isFilled(&q, lot: 1), "0.25 past the queue is less than half a lot")
    m.trade(&q, quantity: 0.25)
    #expect(m.isFilled(&q, lot: 1) && q.ahead == 0, "half a lot past: filled (half rounds away)")
  }

  /// The probabilistic models share the level's cancellations between front and back by their
  /// probability; what cannot come from behind comes from the front. Figures worked by hand.
  @Test func probabilisticModelsSplitCancellations() {
    // log2, F = 4 of P = 10, level to 6 with no trades: Δ = 4, B = 6, p = ln 7 / ln 11.
    var q = QueuePosition(levelQuantity: 4)
    QueueModel.log2.depth(&q, previous: 10, new: 6)
    #expect(abs(q.ahead - 3.246_04) < 1e-5, "\(q.ahead)")
    // log2, F = 1 of P = 10, level to 2: Δ = 8, B = 9, p = ln 10 / ln 11 = 0.960 25.
    q = QueuePosition(levelQuantity: 1)
    QueueModel.log2.depth(&q, previous: 10, new: 2)
    #expect(abs(q.ahead - 0.682_02) < 1e-5, "\(q.ahead)")
    // Trades explain the decrease: no cancellation, only the clamp.
    q = QueuePosition(levelQuantity: 4)
    QueueModel.power(2).trade(&q, quantity: 3)
    QueueModel.power(2).depth(&q, previous: 10, new: 7)
    #expect(q.ahead == 1 && q.tradedSince == 0)
    // A growing level: unchanged but for the clamp.
    q = QueuePosition(levelQuantity: 4)
    QueueModel.power3(3).depth(&q, previous: 10, new: 12)
    #expect(q.ahead == 4)
    // power(2): F = 3, B = 1 (P = 4), level to 2: p = 1/10, Δ = 2; F = 3 − 0.9·2 + min(1 − 0.2, 0) = 1.2.
    q = QueuePosition(levelQuantity: 3)
    QueueModel.power(2).depth(&q, previous: 4, new: 2)
    #expect(abs(q.ahead - 1.2) < 1e-12)
    // A NaN estimate (a negative front under a fractional power) falls back to the level.
    q = QueuePosition(levelQuantity: 1)
    QueueModel.power(0.5).trade(&q, quantity: 2)
    q.tradedSince = 0
    QueueModel.power(0.5).depth(&q, previous: 5, new: 3)
    #expect(q.ahead == 3)
  }

  @Test func configSpellings() {
    #expect(QueueModel(config: "risk_averse") == .riskAverse)
    #expect(QueueModel(config: "power2:3") == .power2(3))
    #expect(QueueModel(config: "log") == .log && QueueModel(config: "log2") == .log2)
    #expect(QueueModel(config: "power") == nil && QueueModel(config: "queue") == nil)
  }
}

@Suite struct SimulatedExchangeTests {
  func market(_ model: QueueModel = .riskAverse) -> SimulatedExchange {
    let x = SimulatedExchange(model: model, lot: 0.001)
    for t in Int64(95)...100 { x.level(.bid, tick: t, quantity: 1, now: 0) }
    for t in Int64(101)...106 { x.level(.ask, tick: t, quantity: 1, now: 0) }
    x.takeAnswers { _ in }
    return x
  }

  func answers(_ x: SimulatedExchange) -> [SimulatedExchange.Answer] {
    var out: [SimulatedExchange.Answer] = []
    x.takeAnswers { out.append($0) }
    return out
  }

  /// A post-only order that would cross expires; any other crossing order is a taker fill, whole,
  /// at the best opposite price; one that does not cross rests.
  @Test func crossingOrdersExpireOrTake() {
    let x = market()
    x.place(id: 1, side: .buy, tick: 101, quantity: 0.002, timeInForce: .gtx, now: 10)
    x.place(id: 2, side: .buy, tick: 103, quantity: 0.002, timeInForce: .gtc, now: 11)
    x.place(id: 3, side: .sell, tick: 102, quantity: 0.001, timeInForce: .gtx, now: 12)
    let a = answers(x)
    #expect(a.map(\.kind) == [.expired, .filled, .accepted])
    #expect(a[1].tick == 101 && a[1].quantity == 0.002 && !a[1].maker && a[1].exchangeNs == 11)
    #expect(x.resting.map(\.id) == [3] && x.resting[0].queue.ahead == 1)
  }

  /// The best bid rising onto our ask fills it at our price with no trade; the fill carries the
  /// market event's time.
  @Test func aBidAtOurAskFillsUs() {
    let x = market()
    x.place(id: 7, side: .sell, tick: 102, quantity: 0.001, timeInForce: .gtx, now: 1)
    x.place(id: 8, side: .sell, tick: 104, quantity: 0.001, timeInForce: .gtx, now: 1)
    _ = answers(x)
    x.level(.bid, tick: 102, quantity: 0.5, now: 42)
    let a = answers(x)
    #expect(
      a == [
        .init(kind: .filled, id: 7, side: .sell, exchangeNs: 42, tick: 102, quantity: 0.001, queueAhead: 1)
      ])
    #expect(x.resting.map(\.id) == [8])
    #expect(
      x.depth.bestBid == 102 && x.depth.bestAsk == 103, "the crossed asks stay; the best ask moved past them")
    #expect(x.depth.quantity(.ask, at: 101) == 1)
  }

  /// A trade at our price eats the queue ahead first and fills us once it is half a lot past;
  /// a trade through our price fills the whole order whatever its size.
  @Test func tradesFillAtAndThroughOurPrice() {
    let x = market()
    x.level(.bid, tick: 99, quantity: 0.004, now: 0)
    x.place(id: 1, side: .buy, tick: 98, quantity: 0.005, timeInForce: .gtx, now: 1)
    x.place(id: 2, side: .buy, tick: 99, quantity: 0.001, timeInForce: .gtx, now: 1)
    _ = answers(x)
    x.trade(aggressor: .sell, tick: 99, quantity: 0.003, now: 5)
    #expect(answers(x).isEmpty && x.resting.count == 2, "0.001 still ahead of order 2")
    x.trade(aggressor: .buy, tick: 99, quantity: 0.01, now: 6)
    #expect(answers(x).isEmpty, "a buyer's trade does not touch our bids")
    x.trade(aggressor: .sell, tick: 99, quantity: 0.002, now: 7)
    #expect(answers(x).map { [$0.id, UInt64($0.tick)] } == [[2, 99]])
    x.trade(aggressor: .sell, tick: 97, quantity: 0.0001, now: 8)
    let a = answers(x)
    #expect(
      a == [.init(kind: .filled, id: 1, side: .buy, exchangeNs: 8, tick: 98, quantity: 0.005, queueAhead: 1)])
    #expect(x.resting.isEmpty && x.fills == 2)
  }

  /// Cancels remove resting orders; a cancel for an order already filled is refused.
  @Test func cancelsAndRefusedCancels() {
    let x = market()
    x.place(id: 1, side: .buy, tick: 99, quantity: 0.001, timeInForce: .gtc, now: 1)
    x.cancel(id: 1, side: .buy, now: 2)
    x.cancel(id: 1, side: .buy, now: 3)
    #expect(answers(x).map(\.kind) == [.accepted, .cancelled, .cancelRejected])
  }
}

/// The partial-fill mode: takers walk the book and consume what they take, makers fill by what
/// the trades leave after the queue ahead (the market's and our own earlier orders'), in pieces.
@Suite struct PartialFillExchangeTests {
  func market() -> SimulatedExchange {
    let x = SimulatedExchange(model: .riskAverse, lot: 0.001, mode: .partial)
    x.level(.bid, tick: 98, quantity: 0.002, now: 0)
    x.level(.bid, tick: 97, quantity: 0.01, now: 0)
    x.level(.ask, tick: 101, quantity: 0.002, now: 0)
    x.level(.ask, tick: 102, quantity: 0.003, now: 0)
    x.takeAnswers { _ in }
    return x
  }

  func answers(_ x: SimulatedExchange) -> [SimulatedExchange.Answer] {
    var out: [SimulatedExchange.Answer] = []
    x.takeAnswers { out.append($0) }
    return out
  }

  func near(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-12 }

  /// The rest of a plain limit order that swept the book stays a taker: new quantity at a level
  /// its price reaches fills it (as taker, at that level); once the other side no longer reaches
  /// it, it is a maker at the front of its level and trades at its price fill it.
  @Test func theRestOfACrossingOrderTakesWhatArrivesThenRestsAtTheFront() {
    let x = market()
    x.place(id: 1, side: .buy, tick: 101, quantity: 0.005, timeInForce: .gtc, now: 5)
    let a = answers(x)
    #expect(a.map(\.kind) == [.accepted, .filled])
    #expect(a[1].tick == 101 && near(a[1].quantity, 0.002) && !a[1].last)
    // The feed shows 0.001 more at 101 (from 0.002 to 0.003): the rest takes it.
    x.level(.ask, tick: 101, quantity: 0.003, now: 6)
    let b = answers(x)
    #expect(b.count == 1 && b[0].kind == .filled && b[0].tick == 101 && near(b[0].quantity, 0.001))
    #expect(!b[0].maker && !b[0].last)
    // A public trade at 101 does not touch a resting taker.
    x.trade(aggressor: .sell, tick: 101, quantity: 0.01, now: 7)
    #expect(answers(x).isEmpty)
    // 101 empties: the other side no longer reaches it; it now rests first at its level, and a
    // sell trade at its price fills it as a maker.
    x.level(.ask, tick: 101, quantity: 0, now: 8)
    #expect(answers(x).isEmpty)
    x.level(.bid, tick: 101, quantity: 0.004, now: 9)  // others join behind it
    x.trade(aggressor: .sell, tick: 101, quantity: 0.002, now: 10)
    let c = answers(x)
    #expect(c.count == 1 && c[0].kind == .filled && c[0].maker && c[0].last && near(c[0].quantity, 0.002))
  }

  @Test func aTakerWalksTheLevelsAndWhatItTookStaysTaken() {
    let x = market()
    x.place(id: 1, side: .buy, tick: 102, quantity: 0.004, timeInForce: .gtc, now: 5)
    let a = answers(x)
    #expect(a.map(\.kind) == [.accepted, .filled, .filled])
    #expect(a[1].tick == 101 && near(a[1].quantity, 0.002) && !a[1].maker && !a[1].last)
    #expect(a[2].tick == 102 && near(a[2].quantity, 0.002) && a[2].last)
    // A second taker before the feed moves finds only what the first left at 102; its rest
    // (IOC) expires.
    x.place(id: 2, side: .buy, tick: 102, quantity: 0.003, timeInForce: .ioc, now: 6)
    let b = answers(x)
    #expect(b.map(\.kind) == [.accepted, .filled, .expired])
    #expect(b[1].tick == 102 && near(b[1].quantity, 0.001))
    // The feed sets 102 again: it shows what it shows.
    x.level(.ask, tick: 102, quantity: 0.003, now: 7)
    x.place(id: 3, side: .buy, tick: 102, quantity: 0.003, timeInForce: .ioc, now: 8)
    let c = answers(x)
    #expect(c.map(\.kind) == [.accepted, .filled] && near(c[1].quantity, 0.003) && c[1].last)
    // A GTC taker's rest rests at its limit.
    x.place(id: 4, side: .sell, tick: 98, quantity: 0.005, timeInForce: .gtc, now: 9)
    let d = answers(x)
    #expect(d.map(\.kind) == [.accepted, .filled] && near(d[1].quantity, 0.002) && !d[1].last)
    #expect(x.resting.map(\.id) == [4] && near(x.resting[0].remaining, 0.003))
  }

  @Test func makersFillInPiecesByWhatTradesLeaveAfterTheQueue() {
    let x = market()
    x.place(id: 1, side: .buy, tick: 98, quantity: 0.005, timeInForce: .gtx, now: 1)
    #expect(answers(x).map(\.kind) == [.accepted])
    // 0.002 ahead: a trade of 0.004 fills 0.002 of ours.
    x.trade(aggressor: .sell, tick: 98, quantity: 0.004, now: 2)
    let a = answers(x)
    #expect(a.count == 1 && a[0].kind == .filled && near(a[0].quantity, 0.002) && a[0].maker && !a[0].last)
    #expect(near(a[0].queueAhead, 0.002))
    // Another 0.004: the 0.003 left fills, and the order is done.
    x.trade(aggressor: .sell, tick: 98, quantity: 0.004, now: 3)
    let b = answers(x)
    #expect(b.count == 1 && near(b[0].quantity, 0.003) && b[0].last && x.resting.isEmpty)
  }

  /// After a partial fill the order stands at the front: a level change must not send it back
  /// (a probabilistic model fed a negative front gave NaN, which reset it to the level's size).
  @Test func aPartlyFilledOrderKeepsItsPlaceUnderProbabilisticModels() {
    let x = SimulatedExchange(model: .power(2.5), lot: 0.001, mode: .partial)
    x.level(.bid, tick: 98, quantity: 0.002, now: 0)
    x.level(.ask, tick: 101, quantity: 0.002, now: 0)
    x.place(id: 1, side: .buy, tick: 98, quantity: 0.005, timeInForce: .gtx, now: 1)
    x.trade(aggressor: .sell, tick: 98, quantity: 0.004, now: 2)
    #expect(answers(x).map(\.kind) == [.accepted, .filled])
    x.level(.bid, tick: 98, quantity: 0.001, now: 3)
    #expect(x.resting[0].queue.ahead == 0 && !x.resting[0].queue.ahead.isNaN)
    x.trade(aggressor: .sell, tick: 98, quantity: 0.003, now: 4)
    let a = answers(x)
    #expect(a.count == 1 && near(a[0].quantity, 0.003) && a[0].last, "\(a)")
  }

  @Test func anIOCThatDoesNotCrossExpiresInWholeModeToo() {
    let x = SimulatedExchange(model: .riskAverse, lot: 0.001)
    x.level(.bid, tick: 98, quantity: 0.002, now: 0)
    x.level(.ask, tick: 101, quantity: 0.002, now: 0)
    x.place(id: 1, side: .buy, tick: 99, quantity: 0.001, timeInForce: .ioc, now: 1)
    #expect(answers(x).map(\.kind) == [.expired] && x.resting.isEmpty)
  }

  @Test func ourOwnOrdersQueueBehindEachOther() {
    let x = market()
    x.place(id: 1, side: .buy, tick: 98, quantity: 0.002, timeInForce: .gtc, now: 1)
    x.place(id: 2, side: .buy, tick: 98, quantity: 0.002, timeInForce: .gtc, now: 1)
    _ = answers(x)
    #expect(near(x.resting[1].ownAhead, 0.002) && near(x.resting[1].entryAhead, 0.004))
    // 0.003 trades: past the market's 0.002, 0.001 reaches our first order, none the second.
    x.trade(aggressor: .sell, tick: 98, quantity: 0.003, now: 2)
    let a = answers(x)
    #expect(a.map(\.id) == [1] && near(a[0].quantity, 0.001))
    // Cancelling the first takes its unfilled 0.001 out of the second's way (not what filled).
    x.cancel(id: 1, side: .buy, now: 3)
    _ = answers(x)
    #expect(near(x.resting[0].ownAhead, 0.001))
    // 0.002 more: the second has 0.003 of the 0.005 traded past the market queue, less the
    // 0.001 of ours that stood ahead and filled: its whole 0.002.
    x.trade(aggressor: .sell, tick: 98, quantity: 0.002, now: 4)
    let b = answers(x)
    #expect(b.map(\.id) == [2] && near(b[0].quantity, 0.002) && b[0].last)
  }
}

/// Latency from recorded round trips: interpolated between the recorded times, held at the
/// ends, laid from the backtest's start (and repeated) when recorded on other times.
@Suite struct RecordedLatencyTests {
  let trips = [
    OrderRoundTrip(requestNs: 1_000, exchangeNs: 1_100, responseNs: 1_400),
    OrderRoundTrip(requestNs: 2_000, exchangeNs: 2_300, responseNs: 2_400),
    OrderRoundTrip(requestNs: 3_000, exchangeNs: 2_990, responseNs: 3_500),
  ]

  @Test func onItsOwnTimesItInterpolates() throws {
    let r = try #require(RecordedLatency(trips, startNs: 1_000, endNs: 3_000))
    #expect(r.offsetNs == 0 && r.spanNs == 0 && r.negative == 1)
    #expect(r.entry(at: 1_000) == 100 && r.entry(at: 1_500) == 200 && r.entry(at: 2_000) == 300)
    #expect(r.entry(at: 2_500) == 150 && r.entry(at: 9_000) == 0 && r.entry(at: 0) == 100)
    // Response latency by the exchange's time: 300 at 1,100, 100 at 2,300, 510 at 2,990.
    #expect(r.response(at: 1_100) == 300 && r.response(at: 1_700) == 200 && r.response(at: 2_990) == 510)
  }

  @Test func onOtherTimesItIsLaidFromTheStartAndRepeats() throws {
    let r = try #require(RecordedLatency(trips, startNs: 50_000, endNs: 60_000))
    #expect(r.offsetNs == 1_000 - 50_000 && r.spanNs == 2_000)
    #expect(r.entry(at: 50_000) == 100 && r.entry(at: 50_500) == 200)
    // 2,000 ns on, the record starts again.
    #expect(r.entry(at: 52_000) == 100 && r.entry(at: 52_500) == 200)
    #expect(RecordedLatency([], startNs: 0, endNs: 1) == nil)
  }
}
