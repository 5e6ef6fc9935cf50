import FastBook

/// What a strategy wants done after a callback: new orders and cancels by tag. Reused across
/// callbacks (capacity kept), so asking for orders does not allocate.
public struct Intents {
  public private(set) var places: [PlaceIntent] = []
  public private(set) var cancels: [UInt64] = []

  public init(capacity: Int = 64) {
    places.reserveCapacity(capacity)
    cancels.reserveCapacity(capacity)
  }

  public mutating func place(_ i: PlaceIntent) { places.append(i) }
  public mutating func cancel(tag: UInt64) { cancels.append(tag) }
  public var isEmpty: Bool { places.isEmpty && cancels.isEmpty }
  mutating func clear() {
    places.removeAll(keepingCapacity: true)
    cancels.removeAll(keepingCapacity: true)
  }

  mutating func clearCancels() { cancels.removeAll(keepingCapacity: true) }

  /// The host's way to carry out cancels before the callback returns (nil: outside a host).
  var early: ((inout Intents) -> Void)?

  /// Sends the cancels asked for so far at once, while the callback goes on to work out what to
  /// place: a strategy that has decided to pull its quotes lets the cancels leave before it prices
  /// the new ones. Outside a host (or with none asked) it does nothing and they go at the end.
  public mutating func sendCancelsNow() {
    guard !cancels.isEmpty, let send = early else { return }
    send(&self)
  }
}

/// A trading strategy, called on the strategy thread only: on every clean book batch, on public
/// trades, on its own orders' events, and on Clock ticks. It answers with intents; the host
/// quantizes them, puts them through the risk gate and tracks them before anything is sent.
public protocol Strategy: AnyObject {
  func onBook(_ book: LadderBook, now: Int64, intents: inout Intents)
  func onTrade(priceTicks: Int64, quantity: Int64, aggressor: TradeSide, now: Int64, intents: inout Intents)
  func onOrder(_ event: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents)
  func onTick(now: Int64, intents: inout Intents)
  /// An intent the host refused before tracking it (trading rule, risk gate, a reconciliation
  /// under way, a full order ring): no event will ever come for this tag.
  func onRefused(tag: UInt64, now: Int64, intents: inout Intents)
  /// The venue's trading rule changed (the host checks every order against `rule` from now on):
  /// a strategy that sizes or prices from its own copy takes the new one.
  func onRuleChanged(_ rule: TradingRule)
}

extension Strategy {
  public func onTrade(
    priceTicks: Int64, quantity: Int64, aggressor: TradeSide, now: Int64, intents: inout Intents
  ) {}
  public func onOrder(_ event: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {}
  public func onTick(now: Int64, intents: inout Intents) {}
  public func onRefused(tag: UInt64, now: Int64, intents: inout Intents) {}
  public func onRuleChanged(_ rule: TradingRule) {}
}

/// An order command for the wire side, after the gate and the tracker have seen it.
public enum OrderCommand: Sendable, Equatable {
  case place(ClientOrderID, side: TradeSide, price: Int64, quantity: Int64, postOnly: Bool)
  case cancel(ClientOrderID)
}

/// The strategy thread's glue between a strategy and the order path: intents are quantized to the
/// trading rule, refused by the rule or the risk gate (counted), tracked, and only then handed to
/// `send`. Tracker events flow back to the gate (exposure) and to the strategy (by tag).
public final class StrategyHost {
  public let strategy: Strategy
  public let symbol: String
  /// The venue's trading rule: every intent is quantized to it and checked against it. Replaced
  /// on this thread from `ruleUpdates` when the venue's filters change.
  public private(set) var rule: TradingRule
  /// Where another thread posts a new rule (the wire side's exchangeInfo refresh).
  public let ruleUpdates = RuleMailbox()
  /// Rules adopted from `ruleUpdates`.
  public private(set) var ruleChanges = 0
  public var gate: RiskGate
  public let tracker: OrderTracker
  /// Intents refused by the trading rule after quantizing (quantity rounds to zero, too small…).
  public private(set) var ruleRefusals = 0
  /// Cancels for tags the host does not know or orders already done.
  public private(set) var unknownCancels = 0
  /// Orders refused because the ring to the wire thread was full (refused before tracking).
  public private(set) var outboundFull = 0
  /// How client order ids are spelled (the venue's codec): the only writer of id bytes.
  public let ids: ClientIDCodec
  let send: (OrderCommand) -> Void
  var intents = Intents()
  var refused: [UInt64] = []
  /// While true (a reconciliation is under way), new orders are refused (counted in
  /// `heldForReconciliation`); cancels still go.
  public internal(set) var reconciling = false
  public private(set) var heldForReconciliation = 0
  /// In the runtime: orders go to the wire thread through this ring instead of `send`.
  public var wireOut: SPSCRing<WireOrder>?
  /// The stage times of the batch being handled, copied into the orders it causes.
  public var stamps = StageStamps()
  /// Where every order change goes for the trade history (a side thread writing SQLite); nil:
  /// none kept. Posting copies a fixed-size record into a ring (a full ring drops and counts).
  public var journal: OrderJournal?
  /// The engine's time (`LiveTime` live, `SimulatedTime` in a backtest): the decision stamps
  /// orders carry come from it, and the runtime built on this host reads it too.
  public let time: any TimeSource

  /// `ids` spells every client order id (the venue adapter's codec); make its prefix unique per
  /// run so ids never repeat across restarts.
  public init(
    strategy: Strategy, symbol: String, rule: TradingRule, limits: RiskLimits, tracker: OrderTracker,
    ids: ClientIDCodec, time: any TimeSource = LiveTime.shared,
    send: @escaping (OrderCommand) -> Void = { _ in }
  ) {
    self.time = time
    self.strategy = strategy
    self.symbol = symbol
    self.rule = rule
    self.gate = RiskGate(limits: limits)
    self.tracker = tracker
    self.ids = ids
    self.send = send
    refused.reserveCapacity(64)
    intents.early = { [unowned self] i in
      self.queueCancels(i.cancels, now: self.callbackNow)
      i.clearCancels()
      self.onCancelsQueued?()
    }
  }

  /// Called after cancels a strategy sent early (`Intents.sendCancelsNow`) are queued: the
  /// one-thread layout hands them to the wire here, before the callback goes on.
  public var onCancelsQueued: (() -> Void)?
  /// The `now` of the callback under way (the time early cancels are requested at).
  var callbackNow: Int64 = 0

  /// Adopts a rule posted to `ruleUpdates`, if any (the runtime calls this every turn: one atomic
  /// load when there is none).
  @inline(__always)
  public func adoptPostedRule() {
    guard let r = ruleUpdates.take() else { return }
    rule = r
    ruleChanges += 1
    strategy.onRuleChanged(r)
  }

  /// A host whose ids are `prefix` and a decimal tag, unchecked against any venue's rules
  /// (tests, benchmarks, paper trading).
  public convenience init(
    strategy: Strategy, symbol: String, rule: TradingRule, limits: RiskLimits, tracker: OrderTracker,
    prefix: String, time: any TimeSource = LiveTime.shared,
    send: @escaping (OrderCommand) -> Void = { _ in }
  ) {
    self.init(
      strategy: strategy, symbol: symbol, rule: rule, limits: limits, tracker: tracker,
      ids: ClientIDCodec(unchecked: prefix), time: time, send: send)
  }

  /// The client order id of a tag, as the codec spells it. Ids are derived, not stored, so
  /// placing an order costs one table insert (the tracker's) instead of three.
  @inline(__always)
  public func clientOrderID(tag: UInt64) -> ClientOrderID { ids.id(tag: tag) }

  /// The tag of one of this host's client order ids, or nil for an id it did not make.
  public func tag(of id: ClientOrderID) -> UInt64? { ids.tag(of: id) }

  public func book(_ book: LadderBook, now: Int64) {
    callbackNow = now
    strategy.onBook(book, now: now, intents: &intents)
    let reference = Self.mid(book)
    execute(referencePrice: reference, now: now)
  }

  public func trade(
    priceTicks: Int64, quantity: Int64, aggressor: TradeSide, referencePrice: Int64, now: Int64
  ) {
    callbackNow = now
    strategy.onTrade(
      priceTicks: priceTicks, quantity: quantity, aggressor: aggressor, now: now, intents: &intents)
    execute(referencePrice: referencePrice, now: now)
  }

  public func tick(now: Int64, referencePrice: Int64) {
    callbackNow = now
    strategy.onTick(now: now, intents: &intents)
    execute(referencePrice: referencePrice, now: now)
  }

  /// Runs `body` with the host's intents, then carries out what it asked for — for commands from
  /// outside the callbacks (an operator's stop, a shutdown). On the strategy thread only.
  public func perform(referencePrice: Int64, now: Int64, _ body: (inout Intents) -> Void) {
    callbackNow = now
    body(&intents)
    execute(referencePrice: referencePrice, now: now)
  }

  /// Feeds the tracker's events since the last call to the gate and the strategy.
  public func drainTracker(referencePrice: Int64, now: Int64) {
    callbackNow = now
    tracker.drainEventsWithOrders { e, order in
      guard let order, let tag = order.tag else { return }
      if let journal { Self.post(e, tag: tag, order: order, now: now, to: journal) }
      switch e {
      case .filled(_, let f): gate.filled(side: order.side, quantity: f.quantity)
      case .completed, .cancelled, .failed, .lost: gate.finished(side: order.side, unfilled: order.remaining)
      case .created, .cancelRefused: break
      }
      strategy.onOrder(e, tag: tag, now: now, intents: &intents)
    }
    execute(referencePrice: referencePrice, now: now)
  }

  static func post(_ e: TrackerEvent, tag: UInt64, order o: InFlightOrder, now: Int64, to j: OrderJournal) {
    var r = JournalRecord(
      kind: .created, tag: tag, side: o.side, price: o.price, quantity: o.quantity,
      venueOrderID: o.venueOrderID?.value ?? 0, filled: o.filledQuantity, timeNs: now)
    switch e {
    case .created: r.kind = .created
    case .filled(_, let f):
      r.kind = .filled
      r.tradeID = f.tradeID
      r.price = f.price
      r.quantity = f.quantity
      r.taker = f.taker
    case .completed: r.kind = .completed
    case .cancelled: r.kind = .cancelled
    case .failed: r.kind = .failed
    case .lost: r.kind = .lost
    case .cancelRefused: r.kind = .cancelRefused
    }
    j.post(r)
  }

  /// The book's mid in price raws, or 0 when a side is empty or the book is crossed.
  public static func mid(_ book: LadderBook) -> Int64 {
    guard let b = book.best(.bid), let a = book.best(.ask), b.tick < a.tick else { return 0 }
    return (b.tick + a.tick) * book.instrument.tickSize / 2
  }

  func queueCancels(_ cancels: [UInt64], now: Int64) {
    for tag in cancels {
      guard tracker.cancelRequested(tag: tag, now: now) else {
        unknownCancels += 1
        continue
      }
      journal?.post(JournalRecord(kind: .cancelRequested, tag: tag, timeNs: now))
      if let ring = wireOut {
        var s = stamps
        s.decidedNs = time.nowNs
        if !ring.tryPush(WireOrder(kind: .cancel, tag: tag, stamps: s)) { outboundFull += 1 }
      } else {
        send(.cancel(clientOrderID(tag: tag)))
      }
    }
  }

  func execute(referencePrice: Int64, now: Int64) {
    if intents.isEmpty { return }
    queueCancels(intents.cancels, now: now)
    for var i in intents.places {
      if reconciling {
        heldForReconciliation += 1
        refused.append(i.tag)
        continue
      }
      i.price = rule.quantize(price: i.price, side: i.side)
      i.quantity = rule.quantize(quantity: i.quantity)
      if rule.violation(price: i.price, quantity: i.quantity) != nil {
        ruleRefusals += 1
        refused.append(i.tag)
        continue
      }
      if let ring = wireOut, ring.freeCount == 0 {
        outboundFull += 1
        refused.append(i.tag)
        continue
      }
      if gate.check(i, referencePrice: referencePrice, now: now) != nil {
        refused.append(i.tag)
        continue
      }
      let id = clientOrderID(tag: i.tag)
      tracker.track(
        id, tag: i.tag, symbol: symbol, side: i.side, price: i.price, quantity: i.quantity, now: now)
      journal?.post(
        JournalRecord(
          kind: .placed, tag: i.tag, side: i.side, price: i.price, quantity: i.quantity, timeNs: now))
      if let ring = wireOut {
        var s = stamps
        s.decidedNs = time.nowNs
        _ = ring.tryPush(
          WireOrder(
            kind: .place, tag: i.tag, side: i.side, price: i.price, quantity: i.quantity,
            postOnly: i.postOnly,
            immediateOrCancel: i.immediateOrCancel, stamps: s))
      } else {
        send(.place(id, side: i.side, price: i.price, quantity: i.quantity, postOnly: i.postOnly))
      }
    }
    intents.clear()
    // Tell the strategy what never left (its answers wait for the next callback).
    if !refused.isEmpty {
      for tag in refused { strategy.onRefused(tag: tag, now: now, intents: &intents) }
      refused.removeAll(keepingCapacity: true)
    }
  }
}
