import Engine
import FastBook
import Testing

/// Paper fills as a market maker needs them to be: a crossing order takes only what the book
/// shows, level by level; a resting order waits behind the queue that was there before it.
@Suite struct PaperExchangeTests {
  let inst = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)

  func make(_ model: PaperExchange.QueueModel = .proportional) -> (PaperExchange, SPSCRing<ExecEvent>) {
    let book = LadderBook(instrument: inst, windowTicks: 1 << 12, centreTick: 10_000)
    // Bids 9_999 ×5, 9_998 ×7; asks 10_001 ×4, 10_002 ×6.
    _ = book.update(.bid, tick: 9_999, quantity: 5)
    _ = book.update(.bid, tick: 9_998, quantity: 7)
    _ = book.update(.ask, tick: 10_001, quantity: 4)
    _ = book.update(.ask, tick: 10_002, quantity: 6)
    let ring = SPSCRing<ExecEvent>(capacity: 256)
    return (PaperExchange(instrument: inst, book: book, execOut: ring, model: model), ring)
  }

  func events(_ ring: SPSCRing<ExecEvent>) -> [ExecEvent] {
    var out: [ExecEvent] = []
    while let e = ring.tryPop() { out.append(e) }
    return out
  }

  func fills(_ es: [ExecEvent]) -> [(price: Int64, quantity: Int64)] {
    es.filter { $0.kind == .filled }.map { ($0.price, $0.quantity) }
  }

  @Test func aCrossingOrderWalksTheBookAndAnIOCRemainderIsCancelled() {
    let (paper, ring) = make()
    paper.send(
      WireOrder(kind: .place, tag: 1, side: .buy, price: 10_002, quantity: 12, immediateOrCancel: true))
    let es = events(ring)
    #expect(es.first?.kind == .accepted)
    #expect(fills(es).map(\.price) == [10_001, 10_002] && fills(es).map(\.quantity) == [4, 6])
    #expect(es.last?.kind == .cancelled, "2 left over, IOC")
    // The liquidity it took is gone until the venue's book changes those levels.
    paper.send(
      WireOrder(kind: .place, tag: 2, side: .buy, price: 10_002, quantity: 3, immediateOrCancel: true))
    #expect(fills(events(ring)).isEmpty)
    _ = paper.book.update(.ask, tick: 10_002, quantity: 9)
    paper.onBook()
    paper.send(
      WireOrder(kind: .place, tag: 3, side: .buy, price: 10_002, quantity: 3, immediateOrCancel: true))
    #expect(fills(events(ring)).map(\.quantity) == [3])
  }

  @Test func aPostOnlyOrderThatWouldCrossIsRejected() {
    let (paper, ring) = make()
    paper.send(WireOrder(kind: .place, tag: 1, side: .sell, price: 9_999, quantity: 1, postOnly: true))
    #expect(events(ring).map(\.kind) == [.rejected])
    paper.send(WireOrder(kind: .place, tag: 2, side: .sell, price: 10_001, quantity: 1, postOnly: true))
    #expect(events(ring).map(\.kind) == [.accepted])
    #expect(paper.queueAhead(tag: 2) == 4, "joins the back of the 10_001 level")
  }

  @Test func aRestingOrderFillsOnlyAfterTheQueueAheadOfItTraded() {
    let (paper, ring) = make()
    paper.send(WireOrder(kind: .place, tag: 7, side: .buy, price: 9_999, quantity: 3))
    _ = events(ring)
    #expect(paper.queueAhead(tag: 7) == 5)
    paper.onTrade(tick: 9_999, quantity: 4, aggressor: .sell)
    #expect(fills(events(ring)).isEmpty && paper.queueAhead(tag: 7) == 1)
    paper.onTrade(tick: 9_999, quantity: 1, aggressor: .buy)  // a buyer lifting: not against bids
    #expect(fills(events(ring)).isEmpty)
    paper.onTrade(tick: 9_999, quantity: 2, aggressor: .sell)
    #expect(fills(events(ring)).map(\.quantity) == [1], "1 more ahead, then a partial fill")
    #expect(paper.remaining(tag: 7) == 2)
    // A print below the bid: the aggressor went through the order's price, filling it there.
    paper.onTrade(tick: 9_997, quantity: 5, aggressor: .sell)
    let f = fills(events(ring))
    #expect(f.map(\.price) == [9_999] && f.map(\.quantity) == [2])
    #expect(paper.remaining(tag: 7) == nil && paper.restingCount == 0)
    #expect(paper.filledQuantity == 3)
  }

  @Test func cancellationsMoveTheQueueByModel() {
    for model in [PaperExchange.QueueModel.proportional, .riskAverse] {
      let (paper, ring) = make(model)
      _ = paper.book.update(.bid, tick: 9_999, quantity: 10)
      paper.send(WireOrder(kind: .place, tag: 1, side: .buy, price: 9_999, quantity: 1))
      _ = events(ring)
      // Others join behind (20), then 2 trade and the level shrinks by 10 in total: 8 cancelled.
      _ = paper.book.update(.bid, tick: 9_999, quantity: 20)
      paper.onBook()
      paper.onTrade(tick: 9_999, quantity: 2, aggressor: .sell)
      _ = paper.book.update(.bid, tick: 9_999, quantity: 10)
      paper.onBook()
      let ahead: Int64? = paper.queueAhead(tag: 1)
      // proportional: 8 ahead − 8 cancelled × 8 ahead / 20 in the level = 5; risk-averse: the
      // cancellations all came from behind.
      #expect(ahead == (model == .proportional ? 5 : 8))
      // 7 more cancelled: proportional takes 7 × 5 / 10 = 3 from ahead; risk-averse only caps the
      // queue ahead at the level's size.
      _ = paper.book.update(.bid, tick: 9_999, quantity: 3)
      paper.onBook()
      let after: Int64? = paper.queueAhead(tag: 1)
      #expect(after == (model == .proportional ? 2 : 3))
    }
  }

  @Test func theOtherSideReachingARestingOrderFillsItAtItsPrice() {
    let (paper, ring) = make()
    paper.send(WireOrder(kind: .place, tag: 4, side: .sell, price: 10_002, quantity: 5))
    _ = events(ring)
    // Bids jump to 10_003 ×2: they would have traded with the resting ask at its price.
    _ = paper.book.update(.bid, tick: 10_003, quantity: 2)
    paper.onBook()
    #expect(fills(events(ring)).map { [$0.price, $0.quantity] } == [[10_002, 2]])
    #expect(paper.remaining(tag: 4) == 3)
  }

  @Test func cancelsAnswerLikeAVenue() {
    let (paper, ring) = make()
    paper.send(WireOrder(kind: .place, tag: 1, side: .buy, price: 9_990, quantity: 1))
    paper.send(WireOrder(kind: .cancel, tag: 1))
    paper.send(WireOrder(kind: .cancel, tag: 1))
    #expect(events(ring).map(\.kind) == [.accepted, .cancelled, .cancelRejected])
    paper.send(WireOrder(kind: .place, tag: 2, side: .buy, price: 0, quantity: 1))
    #expect(events(ring).map(\.kind) == [.rejected], "a price the venue would refuse")
  }
}
