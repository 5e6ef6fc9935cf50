import FastBook
import TestSupport
import Testing

@testable import Engine

@Suite struct OrderLifecycleTests {
  /// The table, spelled out: every allowed pair and its result; every other pair is refused.
  @Test func theTableIsExactlyThis() {
    let allowed: [String: OrderState] = [
      "pendingCreate+accepted": .open, "pendingCreate+rejected": .failed,
      "pendingCreate+partialFill": .partiallyFilled,
      "pendingCreate+fill": .filled, "pendingCreate+cancelled": .cancelled,
      "pendingCreate+cancelRequested": .pendingCancel,
      "pendingCreate+notFoundRepeatedly": .lost,
      "open+partialFill": .partiallyFilled, "partiallyFilled+partialFill": .partiallyFilled,
      "open+fill": .filled,
      "partiallyFilled+fill": .filled, "open+cancelRequested": .pendingCancel,
      "partiallyFilled+cancelRequested": .pendingCancel,
      "open+cancelled": .cancelled, "partiallyFilled+cancelled": .cancelled, "open+notFoundRepeatedly": .lost,
      "partiallyFilled+notFoundRepeatedly": .lost, "open+accepted": .open,
      "partiallyFilled+accepted": .partiallyFilled,
      "pendingCancel+accepted": .pendingCancel, "pendingCancel+partialFill": .pendingCancel,
      "pendingCancel+fill": .filled,
      "pendingCancel+cancelled": .cancelled, "pendingCancel+cancelFailed": .open,
      "pendingCancel+notFoundRepeatedly": .lost,
      "pendingCancel+cancelRequested": .pendingCancel, "lost+partialFill": .lost, "lost+fill": .filled,
      "lost+cancelled": .cancelled, "lost+accepted": .open, "cancelled+fill": .cancelled,
      "cancelled+partialFill": .cancelled,
      // The same end reported twice (order answer and account stream), late acknowledgements.
      "cancelled+cancelled": .cancelled, "cancelled+accepted": .cancelled,
      "cancelled+cancelFailed": .cancelled,
      "filled+accepted": .filled, "filled+cancelFailed": .filled,
    ]
    var count = 0
    for s in OrderState.allCases {
      for t in OrderTransition.allCases {
        let key = "\(s.rawValue)+\(t.rawValue)"
        #expect(OrderLifecycle.next(s, t) == allowed[key], "\(key)")
        if allowed[key] != nil { count += 1 }
      }
    }
    #expect(count == allowed.count)
    // Finished orders never come back to life.
    for t in OrderTransition.allCases {
      #expect(OrderLifecycle.next(.filled, t) ?? .filled == .filled && OrderLifecycle.next(.failed, t) == nil)
      #expect(OrderLifecycle.next(.cancelled, t) ?? .cancelled == .cancelled)
    }
  }
}

@Suite struct OrderTrackerTests {
  let id = ClientOrderID("nt-1")

  func tracker() -> OrderTracker {
    let t = OrderTracker(notFoundLimit: 3, retainFinishedNs: 1_000, cancelRetryNs: 100)
    t.track(ClientOrderID("nt-1"), symbol: "BTCUSDT", side: .buy, price: 10_000, quantity: 100, now: 0)
    return t
  }

  @Test func unknownOutcomeStaysUnknownUntilResolved() {
    let t = tracker()
    // The placement timed out: nothing is reported, the order stays pendingCreate.
    #expect(t.orders[id]?.state == .pendingCreate)
    // Two not-found answers are not enough (the venue may not have it yet).
    t.notFound(id, now: 1)
    t.notFound(id, now: 2)
    #expect(t.orders[id]?.state == .pendingCreate)
    // The status query then finds it.
    t.accepted(id, venueID: VenueOrderID(7), now: 3)
    #expect(t.orders[id]?.state == .open && t.orders[id]?.notFoundCount == 0)
    #expect(t.drainEvents() == [.created(id)])
  }

  @Test func repeatedNotFoundMakesItLostAndALateFillIsStillCounted() {
    let t = tracker()
    for n in 1...3 { t.notFound(id, now: Int64(n)) }
    #expect(t.orders[id]?.state == .lost)
    let f = Fill(clientOrderID: id, tradeID: 55, price: 10_000, quantity: 100)
    t.fill(f, now: 10)
    #expect(t.orders[id]?.state == .filled && t.orders[id]?.filledQuantity == 100)
    #expect(t.lateFills == 1)
    #expect(t.drainEvents() == [.lost(id), .filled(id, f), .completed(id)])
  }

  @Test func fillsAreCountedOncePerTradeID() {
    let t = tracker()
    t.accepted(id, venueID: VenueOrderID(7), now: 1)
    let a = Fill(clientOrderID: id, tradeID: 1, price: 10_000, quantity: 40, fee: 4)
    t.fill(a, now: 2)
    t.fill(a, now: 3)  // the user stream repeats it
    t.fill(a, now: 4)  // reconciliation reports it again
    #expect(
      t.orders[id]?.filledQuantity == 40 && t.orders[id]?.state == .partiallyFilled && t.duplicateFills == 2)
    t.fill(Fill(clientOrderID: id, tradeID: 2, price: 10_001, quantity: 60, fee: 6), now: 5)
    #expect(t.orders[id]?.state == .filled && t.orders[id]?.fee == 10)
    #expect(t.orders[id]?.filledNotional == Int128(10_000 * 40 + 10_001 * 60))
  }

  @Test func cancelRaceAndRetries() {
    let t = tracker()
    t.accepted(id, venueID: VenueOrderID(7), now: 1)
    #expect(t.cancelRequested(id, now: 10))
    // A fill that crossed with the cancel.
    t.fill(Fill(clientOrderID: id, tradeID: 1, price: 10_000, quantity: 30), now: 11)
    #expect(t.orders[id]?.state == .pendingCancel)
    // Unconfirmed for the retry interval: send it again.
    #expect(t.cancelsToRetry(now: 50).isEmpty)
    #expect(t.cancelsToRetry(now: 110) == [id])
    #expect(t.cancelRequested(id, now: 110) && t.orders[id]?.cancelAttempts == 2)
    t.cancelledAtVenue(id, now: 120)
    #expect(t.orders[id]?.state == .cancelled)
    // A fill reported after the cancel confirmation still counts.
    t.fill(Fill(clientOrderID: id, tradeID: 2, price: 10_000, quantity: 10), now: 130)
    #expect(t.orders[id]?.filledQuantity == 40 && t.orders[id]?.state == .cancelled && t.lateFills == 1)
    #expect(!t.cancelRequested(id, now: 140), "a finished order cannot be cancelled")
    #expect(t.invalidTransitions == 1)
  }

  @Test func rejectedAndInvalidTransitionsAreCounted() {
    let t = tracker()
    t.rejected(id, reason: "-2010 Account has insufficient balance for requested action.", now: 1)
    #expect(t.orders[id]?.state == .failed)
    t.accepted(id, venueID: VenueOrderID(1), now: 2)  // nonsense after a rejection
    #expect(t.orders[id]?.state == .failed && t.invalidTransitions == 1)
    t.fill(Fill(clientOrderID: ClientOrderID("nobody"), tradeID: 1, price: 1, quantity: 1), now: 3)
    #expect(t.unknownOrderUpdates == 1)
    #expect(
      t.drainEvents() == [.failed(id, reason: "-2010 Account has insufficient balance for requested action.")]
    )
  }

  @Test func finishedOrdersArePrunedAfterTheRetention() {
    let t = tracker()
    t.accepted(id, venueID: VenueOrderID(7), now: 1)
    t.fill(Fill(clientOrderID: id, tradeID: 1, price: 10_000, quantity: 100), now: 2)
    t.prune(now: 500)
    #expect(t.orders[id] != nil)
    t.prune(now: 2_000)
    #expect(t.orders[id] == nil)
  }

  /// A long run: the active index holds exactly the unfinished orders, pruning takes only the
  /// finished ones past their retention (a late fill restarts an order's retention), and what is
  /// left is the open orders and the recent finished ones.
  @Test func theActiveIndexAndPruningFollowALongRun() {
    let t = OrderTracker(notFoundLimit: 3, retainFinishedNs: 1_000, cancelRetryNs: 100)
    for i in 0..<10_000 {
      let c = ClientOrderID("nt-\(i)")
      let now = Int64(i)
      t.track(c, symbol: "BTCUSDT", side: .buy, price: 10_000, quantity: 100, now: now)
      t.accepted(c, venueID: VenueOrderID(Int64(i)), now: now)
      switch i % 4 {
      case 0: t.fill(Fill(clientOrderID: c, tradeID: Int64(i), price: 10_000, quantity: 100), now: now)
      case 1:
        t.cancelRequested(c, now: now)
        t.cancelledAtVenue(c, now: now)
      case 2: t.cancelRequested(c, now: now)  // pending cancel: still active
      default: break  // open
      }
      if i % 100 == 0 { t.prune(now: now) }
    }
    let unfinished = Set(t.orders.values.filter { !$0.state.isDone }.map(\.clientOrderID))
    #expect(t.active == unfinished && t.active.count == 5_000)
    #expect(
      t.activeOrders.map(\.clientOrderID)
        == (0..<10_000).filter { $0 % 4 >= 2 }.map { ClientOrderID("nt-\($0)") })
    // A late fill for an order that finished long ago keeps it another retention.
    let late = ClientOrderID("nt-9001")
    t.fill(Fill(clientOrderID: late, tradeID: 77_777, price: 10_000, quantity: 10), now: 10_500)
    t.prune(now: 10_600)
    #expect(t.orders[late] != nil)
    #expect(t.orders.count == 5_000 + (0..<10_000).filter { $0 % 4 < 2 && 10_600 - $0 <= 1_000 }.count + 1)
    t.prune(now: 11_600)
    #expect(t.orders[late] == nil && t.orders.count == 5_000 && t.active.count == 5_000)
    #expect(t.cancelsToRetry(now: 11_600).count == 2_500)
  }

  /// Random interleavings of venue answers: the filled quantity always equals the distinct
  /// fills, a fill past the order's size is flagged, and finished orders stay finished.
  @Test func randomUpdatesKeepTheInvariants() {
    var rng = SplitMix64(seed: 17)
    for round in 0..<300 {
      let t = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: 10)
      let oid = ClientOrderID("o\(round)")
      t.track(oid, symbol: "X", side: .sell, price: 1, quantity: 100, now: 0)
      var distinct: [Int64: Int64] = [:]
      var finishedAs: OrderState? = nil
      for step in 1...40 {
        let now = Int64(step)
        switch Int.random(in: 0..<7, using: &rng) {
        case 0: t.accepted(oid, venueID: VenueOrderID(1), now: now)
        case 1:
          let tid = Int64.random(in: 1...8, using: &rng)
          let q = distinct[tid] ?? Int64.random(in: 1...30, using: &rng)
          let before = t.orders[oid]!.filledQuantity
          t.fill(Fill(clientOrderID: oid, tradeID: tid, price: 1, quantity: q), now: now)
          if t.orders[oid]!.filledQuantity > before { distinct[tid] = q }
        case 2: t.cancelRequested(oid, now: now)
        case 3: t.cancelledAtVenue(oid, now: now)
        case 4: t.notFound(oid, now: now)
        case 5: t.cancelFailed(oid, now: now)
        default: t.rejected(oid, reason: "r", now: now)
        }
        let o = t.orders[oid]!
        #expect(o.filledQuantity == distinct.values.reduce(0, +))
        #expect(o.filledQuantity <= o.quantity || t.overfills > 0)
        if let f = finishedAs, f == .filled || f == .failed { #expect(o.state == f) }
        if o.state == .filled || o.state == .failed { finishedAs = finishedAs ?? o.state }
      }
    }
  }
}

/// Client ids held inline: the same id however it is made, by value, with no length limit short
/// of any venue's.
@Suite struct ClientOrderIDTests {
  @Test func madeFromTextOrFromPrefixAndTagItIsOneID() {
    let prefix = Array("nt5eed7e57-".utf8)
    for tag: UInt64 in [0, 7, 10_000, 100_001, 40_000_000_123, .max] {
      let made = prefix.withUnsafeBytes { ClientOrderID(prefix: $0, tag: tag) }
      let text = "nt5eed7e57-\(tag)"
      #expect(made == ClientOrderID(text) && made.value == text && Int(made.count) == text.utf8.count)
      #expect(made.hashValue == ClientOrderID(text).hashValue)
    }
    #expect(ClientOrderID("nt5eed7e57-1") != ClientOrderID("nt5eed7e57-10"))
    #expect(ClientOrderID("a") != ClientOrderID("b") && ClientOrderID("") == ClientOrderID(""))
    // Ids that differ only past the first word, and in the last byte of the capacity.
    let long = String(repeating: "x", count: 63)
    #expect(ClientOrderID(long + "1") != ClientOrderID(long + "2"))
    #expect(ClientOrderID(long + "1").value == long + "1")
    // Past the capacity (only a foreign id could be): its first 64 bytes.
    #expect(ClientOrderID(long + "12345").value == long + "1")
    var set: Set<ClientOrderID> = []
    for i in 0..<1000 { set.insert(ClientOrderID("nt5eed7e57-\(i)")) }
    #expect(set.count == 1000 && set.contains(ClientOrderID("nt5eed7e57-999")))
  }

  @Test func theHostReadsTheTagBackFromItsIDs() {
    let host = StrategyHost(
      strategy: NoStrategy(), symbol: "BTCUSDT", rule: TradingRule(tickSize: 1, stepSize: 1),
      limits: RiskLimits(),
      tracker: OrderTracker(), prefix: "nt5eed7e57-")
    for tag: UInt64 in [1, 100_000, 40_000_000_000, .max] {
      #expect(host.tag(of: host.clientOrderID(tag: tag)) == tag)
    }
    #expect(host.tag(of: ClientOrderID("nt00000000-5")) == nil)
    #expect(host.tag(of: ClientOrderID("nt5eed7e57-")) == nil)
    #expect(host.tag(of: ClientOrderID("nt5eed7e57-12a")) == nil)
  }

  final class NoStrategy: Strategy {
    func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {}
  }

  /// Fills are counted once per trade id past the inline four, each duplicate refused.
  @Test func fillsAreDeduplicatedPastTheInlineFour() {
    let t = OrderTracker()
    let id = ClientOrderID("nt5eed7e57-100001")
    t.track(id, symbol: "BTCUSDT", side: .buy, price: 100, quantity: 1_000, now: 0)
    for trade: Int64 in [5, 6, 7, 8, 9, 10, 5, 9, 10, 6] {
      t.fill(Fill(clientOrderID: id, tradeID: trade, price: 100, quantity: 10), now: 1)
    }
    #expect(t.orders[id]?.filledQuantity == 60 && t.orders[id]?.tradeIDCount == 6)
    #expect(t.duplicateFills == 4)
    #expect(
      [5, 8, 10].allSatisfy { t.orders[id]?.hasTrade($0) == true } && t.orders[id]?.hasTrade(11) == false)
  }

  /// The tag table against a dictionary through 200,000 random inserts, lookups and removals
  /// (sparse tags like the probe's update ids, dense ones like a host's counter, and keys that
  /// collide in their home bucket), across growth.
  @Test func theTagTableAgreesWithADictionary() {
    var table = TagTable(capacity: 16)
    var model: [UInt64: Int32] = [:]
    var rng: UInt64 = 0x2545_F491_4F6C_DD1D
    func next() -> UInt64 {
      rng ^= rng << 13
      rng ^= rng >> 7
      rng ^= rng << 17
      return rng
    }
    for step in 0..<200_000 {
      let r = next()
      // Three key shapes: dense small tags, sparse large ones, and multiples of 2^40 (which a
      // poor hash would put in one bucket).
      let key: UInt64 =
        switch r % 3 {
        case 0: r >> 54
        case 1: 40_000_000_000 + (r >> 40)
        default: (r >> 58) << 40
        }
      if model[key] == nil && (r >> 8) % 3 != 0 {
        table.insert(key, Int32(step))
        model[key] = Int32(step)
      } else if model[key] != nil {
        table.remove(key)
        model[key] = nil
      }
      #expect(table.find(key) == model[key])
      if step % 20_000 == 0 {
        #expect(table.count == model.count)
        for (k, v) in model { #expect(table.find(k) == v) }
      }
    }
    for (k, v) in model { #expect(table.find(k) == v) }
    #expect(table.count == model.count)
  }

  /// Execution events find their order by tag; after pruning, a slot is reused by a new order
  /// and the old tag finds nothing (counted as an unknown update), the new tag finds the new order.
  @Test func eventsFindOrdersByTagAndSlotsAreReused() {
    let t = OrderTracker(retainFinishedNs: 10, capacity: 4)
    let host = ClientIDCodec(unchecked: "nt5eed7e57-")
    for tag: UInt64 in 100_001...100_006 {
      t.track(host.id(tag: tag), tag: tag, symbol: "BTCUSDT", side: .buy, price: 100, quantity: 10, now: 0)
    }
    t.apply(ExecEvent(kind: .accepted, tag: 100_001, venueOrderID: 7), now: 1)
    t.apply(ExecEvent(kind: .filled, tag: 100_001, tradeID: 1, price: 100, quantity: 10), now: 2)
    t.apply(ExecEvent(kind: .rejected, tag: 100_002), now: 2)
    #expect(t.order(tag: 100_001)?.state == .filled && t.order(tag: 100_001)?.venueOrderID == VenueOrderID(7))
    #expect(t.orders[host.id(tag: 100_001)]?.filledQuantity == 10)
    #expect(t.order(tag: 100_002)?.state == .failed && t.activeCount == 4)
    t.prune(now: 100)
    #expect(t.orders.count == 4 && t.order(tag: 100_001) == nil && t.orders[host.id(tag: 100_002)] == nil)
    let unknown = t.unknownOrderUpdates
    t.apply(ExecEvent(kind: .filled, tag: 100_001, tradeID: 2, price: 100, quantity: 1), now: 101)
    #expect(t.unknownOrderUpdates == unknown + 1)
    // Two new orders take the two freed slots; nothing else moves.
    t.track(
      host.id(tag: 200_000), tag: 200_000, symbol: "BTCUSDT", side: .sell, price: 101, quantity: 5, now: 102)
    t.track(
      host.id(tag: 200_001), tag: 200_001, symbol: "BTCUSDT", side: .sell, price: 101, quantity: 5, now: 102)
    #expect(t.slots.count == 6)
    t.apply(ExecEvent(kind: .accepted, tag: 200_000, venueOrderID: 9), now: 103)
    #expect(t.order(tag: 200_000)?.state == .open && t.order(tag: 200_000)?.side == .sell)
    #expect(t.order(tag: 100_003)?.state == .pendingCreate && t.activeCount == 6)
    #expect(t.cancelRequested(tag: 200_000, now: 104) && !t.cancelRequested(tag: 100_001, now: 104))
    #expect(
      t.order(tag: 200_000)?.state == .pendingCancel
        && t.cancelsToRetry(now: 104 + t.cancelRetryNs).count == 1)
  }

  /// A fill read back in a reconciliation names only the venue order id: the tracker finds the
  /// order the venue named, whatever its tag; an id it never heard of is counted, not applied; a
  /// pruned order's venue id finds nothing.
  @Test func fillsByVenueOrderIDFindTheirOrder() {
    let t = OrderTracker(retainFinishedNs: 10, capacity: 4)
    let ids = ClientIDCodec(unchecked: "nt1-")
    for tag: UInt64 in 1...3 {
      t.track(ids.id(tag: tag), tag: tag, symbol: "BTCUSDT", side: .buy, price: 100, quantity: 10, now: 0)
    }
    t.apply(ExecEvent(kind: .accepted, tag: 2, venueOrderID: 502), now: 1)
    let byVenue = ExecEvent.byVenueID
    t.apply(
      ExecEvent(kind: .filled, tag: byVenue, venueOrderID: 502, tradeID: 9, price: 100, quantity: 4), now: 2)
    #expect(t.order(tag: 2)?.filledQuantity == 4 && t.order(tag: 2)?.state == .partiallyFilled)
    t.apply(
      ExecEvent(kind: .filled, tag: byVenue, venueOrderID: 502, tradeID: 9, price: 100, quantity: 4), now: 3)
    #expect(t.duplicateFills == 1 && t.order(tag: 2)?.filledQuantity == 4)
    let unknown = t.unknownOrderUpdates
    t.apply(
      ExecEvent(kind: .filled, tag: byVenue, venueOrderID: 777, tradeID: 10, price: 100, quantity: 1), now: 3)
    #expect(t.unknownOrderUpdates == unknown + 1)
    // A fill event naming the venue id first accepts an order whose own answer was lost.
    t.apply(
      ExecEvent(kind: .filled, tag: 3, venueOrderID: 503, tradeID: 11, price: 100, quantity: 10), now: 4)
    t.apply(
      ExecEvent(kind: .filled, tag: byVenue, venueOrderID: 503, tradeID: 11, price: 100, quantity: 10), now: 5
    )
    #expect(t.order(tag: 3)?.state == .filled && t.order(tag: 3)?.tradeIDCount == 1)
    t.prune(now: 100)
    t.apply(
      ExecEvent(kind: .filled, tag: byVenue, venueOrderID: 503, tradeID: 12, price: 100, quantity: 1),
      now: 101)
    #expect(t.unknownOrderUpdates == unknown + 2 && t.order(tag: 3) == nil)
  }
}
