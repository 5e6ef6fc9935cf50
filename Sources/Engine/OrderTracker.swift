import FastBook

/// One order as the engine tracks it. Quantities are raws at the instrument's quantity scale,
/// prices at its price scale.
public struct InFlightOrder: Sendable {
  public let clientOrderID: ClientOrderID
  /// The host's number for the order (nil: tracked by id only, e.g. by the REST order manager).
  public let tag: UInt64?
  public var venueOrderID: VenueOrderID?
  public let symbol: String
  public let side: TradeSide
  public let price: Int64
  public let quantity: Int64
  public private(set) var state: OrderState = .pendingCreate
  public private(set) var filledQuantity: Int64 = 0
  /// Σ price·quantity of fills (raw at price scale + quantity scale).
  public private(set) var filledNotional: Int128 = 0
  public private(set) var fee: Int128 = 0
  public internal(set) var notFoundCount = 0
  public internal(set) var cancelAttempts = 0
  public let createdNs: Int64
  public internal(set) var lastChangeNs: Int64
  public internal(set) var lastCancelNs: Int64 = 0
  var tradeIDs = TradeIDSet()

  public var remaining: Int64 { quantity - filledQuantity }
  /// Distinct fills received.
  public var tradeIDCount: Int { tradeIDs.count }
  public func hasTrade(_ id: Int64) -> Bool { tradeIDs.contains(id) }

  mutating func apply(_ t: OrderTransition, now: Int64) -> Bool {
    guard let n = OrderLifecycle.next(state, t) else { return false }
    state = n
    lastChangeNs = now
    return true
  }

  mutating func addFill(_ f: Fill) {
    filledQuantity += f.quantity
    filledNotional += Int128(f.price) * Int128(f.quantity)
    fee += f.fee
    tradeIDs.insert(f.tradeID)
  }
}

/// A fill as a venue reports it (REST FULL response, user stream, myTrades).
public struct Fill: Sendable, Equatable {
  public var clientOrderID: ClientOrderID
  public var tradeID: Int64
  public var price: Int64
  public var quantity: Int64
  public var fee: Int128
  public var feeAsset: String
  /// The order took liquidity in this fill (the taker's fee applies).
  public var taker: Bool
  public init(
    clientOrderID: ClientOrderID, tradeID: Int64, price: Int64, quantity: Int64, fee: Int128 = 0,
    feeAsset: String = "", taker: Bool = false
  ) {
    self.taker = taker
    self.clientOrderID = clientOrderID
    self.tradeID = tradeID
    self.price = price
    self.quantity = quantity
    self.fee = fee
    self.feeAsset = feeAsset
  }
}

/// What the tracker tells its owner happened (for strategies, persistence, logs).
public enum TrackerEvent: Sendable, Equatable {
  case created(ClientOrderID)
  case filled(ClientOrderID, Fill)
  case completed(ClientOrderID)
  case cancelled(ClientOrderID)
  case failed(ClientOrderID, reason: String)
  case lost(ClientOrderID)
  /// A cancel the venue refused (or that never left): the order is working again.
  case cancelRefused(ClientOrderID)

  /// The order the event is about.
  public var clientOrderID: ClientOrderID {
    switch self {
    case .created(let i), .completed(let i), .cancelled(let i), .lost(let i), .cancelRefused(let i): return i
    case .filled(let i, _), .failed(let i, _): return i
    }
  }
}

/// Tracks every order from before it is sent until long after it is done.
///
/// - An order is tracked *before* it is sent (`track`), so a crash or a lost response can never
///   leave an order at the venue the engine does not know about.
/// - An unknown outcome (timeout, 5xx, lost response) leaves the order `pendingCreate`: unknown,
///   not failed. Status queries resolve it.
/// - "Not found" answers are counted; only after `notFoundLimit` in a row does the order become
///   `lost` — and a lost order still accepts a late fill.
/// - Fills are de-duplicated by trade id, so a duplicated user-stream event or a reconciliation
///   that overlaps the stream counts each fill once.
/// - Finished orders stay for `retainFinishedNs`, so a late fill (reported after the cancel
///   confirmation) is still matched to its order.
/// - Every transition goes through `OrderLifecycle`; anything not in the table is refused and
///   counted in `invalidTransitions`.
public final class OrderTracker {
  /// Orders by slot: a slot table, so that an execution event, which names its order by tag,
  /// finds it with one multiply-and-probe (`slotOfTag`) instead of building the id and hashing it.
  /// A free slot (on `freeSlots`) holds a placeholder.
  var slots: ContiguousArray<InFlightOrder> = []
  var freeSlots: [Int32] = []
  /// The slot of every tracked order by client id, and by tag for orders tracked with one.
  var slotOfID: [ClientOrderID: Int32] = [:]
  var slotOfTag: TagTable
  /// The slot of every order the venue has named, by its venue order id (fills read back in a
  /// reconciliation name only that).
  var slotOfVenueID: TagTable
  /// The slots of unfinished orders (lost ones included), and each slot's place in that list
  /// (-1: finished or free): what reconciliation, cancel retries and the status poller scan, so
  /// their cost follows the open orders, not every order of the run. Swap-remove: O(1).
  var activeList: [Int32] = []
  var activePosition: ContiguousArray<Int32> = []
  /// Finished orders in the order they finished, for `prune` (which then takes only the old ones).
  var finishedQueue: [(id: ClientOrderID, ns: Int64)] = []
  var finishedHead = 0
  public let notFoundLimit: Int
  public let retainFinishedNs: Int64
  public let cancelRetryNs: Int64
  /// How long a lost order is still asked about in reconciliations (a venue that answered
  /// "unknown" may show it later: a lagging replica, an order it was slow to take). After that it
  /// stays tracked for a late event but is not asked about: every round would otherwise grow with
  /// the run's lost orders, and spend the venue's weight on orders it does not have.
  public var lostQueryNs: Int64 = 60_000_000_000
  public private(set) var invalidTransitions = 0
  public private(set) var duplicateFills = 0
  public private(set) var lateFills = 0
  public private(set) var unknownOrderUpdates = 0
  /// Fills beyond the order's quantity (the venue's word wins; counted, for alerts).
  public private(set) var overfills = 0
  public private(set) var events: [TrackerEvent] = []

  static let placeholder = InFlightOrder(
    clientOrderID: ClientOrderID(""), tag: nil, venueOrderID: nil, symbol: "", side: .buy, price: 0,
    quantity: 0, createdNs: 0, lastChangeNs: 0)

  public init(
    notFoundLimit: Int = 3, retainFinishedNs: Int64 = 600_000_000_000, cancelRetryNs: Int64 = 1_000_000_000,
    capacity: Int = 4096
  ) {
    // Tracking within these capacities does not allocate (the tables grow beyond them).
    slots.reserveCapacity(capacity)
    freeSlots.reserveCapacity(capacity)
    activePosition.reserveCapacity(capacity)
    slotOfID.reserveCapacity(capacity)
    slotOfTag = TagTable(capacity: capacity)
    slotOfVenueID = TagTable(capacity: capacity)
    activeList.reserveCapacity(capacity)
    finishedQueue.reserveCapacity(capacity)
    events.reserveCapacity(256)
    eventSlots.reserveCapacity(256)
    self.notFoundLimit = notFoundLimit
    self.retainFinishedNs = retainFinishedNs
    self.cancelRetryNs = cancelRetryNs
  }

  /// The tracked orders, by client id (a view: no copy).
  public var orders: OrderTable { OrderTable(tracker: self) }

  /// The tracked order with this tag.
  @inline(__always)
  public func order(tag: UInt64) -> InFlightOrder? { slotOfTag.find(tag).map { slots[Int($0)] } }

  /// The unfinished orders' ids.
  public var active: Set<ClientOrderID> { Set(activeList.map { slots[Int($0)].clientOrderID }) }
  public var activeCount: Int { activeList.count }
  /// Whether an unfinished order satisfies `p` (no copy of the list).
  public func anyActive(where p: (InFlightOrder) -> Bool) -> Bool {
    for s in activeList where p(slots[Int(s)]) { return true }
    return false
  }

  /// Hands each event since the last call to `body`, in order, then forgets them; allocates
  /// nothing (the event buffer keeps its capacity).
  public func drainEvents(_ body: (TrackerEvent) -> Void) {
    var i = 0
    while i < events.count {
      body(events[i])
      i += 1
    }
    events.removeAll(keepingCapacity: true)
    eventSlots.removeAll(keepingCapacity: true)
  }

  /// The same, with each event's order as it is now (nil: no longer tracked) — found by the slot
  /// the event came from, not by hashing its 64-byte client id (the strategy thread's path).
  public func drainEventsWithOrders(_ body: (TrackerEvent, InFlightOrder?) -> Void) {
    var i = 0
    while i < events.count {
      let e = events[i]
      let s = Int(eventSlots[i])
      let id = e.clientOrderID
      body(e, slots[s].clientOrderID == id ? slots[s] : orders[id])
      i += 1
    }
    events.removeAll(keepingCapacity: true)
    eventSlots.removeAll(keepingCapacity: true)
  }

  /// Takes the events since the last call.
  public func drainEvents() -> [TrackerEvent] {
    defer {
      events.removeAll(keepingCapacity: true)
      eventSlots.removeAll(keepingCapacity: true)
    }
    return events
  }

  /// The slot each event in `events` came from.
  var eventSlots: [Int32] = []

  @inline(__always)
  func emit(_ e: TrackerEvent, _ s: Int32) {
    events.append(e)
    eventSlots.append(s)
  }

  /// Starts tracking an order that is about to be sent; `tag` (the host's number for it) lets
  /// execution events find it by tag.
  public func track(
    _ id: ClientOrderID, tag: UInt64? = nil, symbol: String, side: TradeSide, price: Int64, quantity: Int64,
    now: Int64
  ) {
    let slot = Int32(freeSlots.popLast() ?? Int32(slots.count))
    // One map operation: insert, and learn from the old value whether the id was in use.
    let old = slotOfID.updateValue(slot, forKey: id)
    precondition(old == nil, "client order id \(id) reused")
    if let tag {
      precondition(slotOfTag.find(tag) == nil, "order tag \(tag) reused")
      slotOfTag.insert(tag, slot)
    }
    let o = InFlightOrder(
      clientOrderID: id, tag: tag, venueOrderID: nil, symbol: symbol, side: side, price: price,
      quantity: quantity, createdNs: now, lastChangeNs: now)
    if Int(slot) == slots.count {
      slots.append(o)
      activePosition.append(-1)
    } else {
      slots[Int(slot)] = o
    }
    activate(slot)
  }

  @inline(__always) func activate(_ s: Int32) {
    activePosition[Int(s)] = Int32(activeList.count)
    activeList.append(s)
  }

  @inline(__always) func deactivate(_ s: Int32) {
    let at = Int(activePosition[Int(s)])
    let last = activeList.removeLast()
    if last != s {
      activeList[at] = last
      activePosition[Int(last)] = Int32(at)
    }
    activePosition[Int(s)] = -1
  }

  /// Touches the tables' storage for `count` orders now, so the first orders of a session do not
  /// take the page faults of fresh memory on the order path (the kernel commits reserved pages on
  /// first write). Leaves the tracker empty.
  public func prefault(count: Int) {
    precondition(slots.isEmpty, "prefault an empty tracker")
    for i in 0..<count {
      track(
        ClientOrderID("prefault-\(i)"), tag: UInt64(i), symbol: "", side: .buy, price: 0, quantity: 0, now: 0)
    }
    for i in 0..<count {
      slotOfTag.remove(UInt64(i))
      slotOfVenueID.insert(UInt64(i), 0)
    }
    for i in 0..<count { slotOfVenueID.remove(UInt64(i)) }
    slots.removeAll(keepingCapacity: true)
    activePosition.removeAll(keepingCapacity: true)
    slotOfID.removeAll(keepingCapacity: true)
    activeList.removeAll(keepingCapacity: true)
    for i in 0..<count { freeSlots.append(Int32(i)) }
    freeSlots.removeAll(keepingCapacity: true)
  }

  /// Whether a reconciliation should ask the venue about `o`: every unfinished order, and a lost
  /// one for `lostQueryNs` after it was lost.
  public func worthAsking(_ o: InFlightOrder, now: Int64) -> Bool {
    o.state != .lost || now - o.lastChangeNs < lostQueryNs
  }

  /// Every order not known done, in no particular order, without allocating.
  public func forEachActive(_ body: (InFlightOrder) -> Void) {
    for s in activeList { body(slots[Int(s)]) }
  }

  public var activeOrders: [InFlightOrder] {
    activeList.map { slots[Int($0)] }.sorted { $0.createdNs < $1.createdNs }
  }

  @inline(__always) func slot(_ id: ClientOrderID) -> Int32? {
    guard let s = slotOfID[id] else {
      unknownOrderUpdates += 1
      return nil
    }
    return s
  }

  @discardableResult
  func transition(_ s: Int32, _ t: OrderTransition, now: Int64) -> Bool {
    let i = Int(s)
    let before = slots[i].state
    guard slots[i].apply(t, now: now) else {
      invalidTransitions += 1
      return false
    }
    let after = slots[i].state
    let id = slots[i].clientOrderID
    if before.isDone != after.isDone {
      if after.isDone {
        deactivate(s)
        finishedQueue.append((id, now))
      } else {
        activate(s)
      }
    }
    if before != after {
      switch after {
      case .open where before == .pendingCreate || before == .lost: emit(.created(id), s)
      case .open where before == .pendingCancel: emit(.cancelRefused(id), s)
      case .filled: emit(.completed(id), s)
      case .cancelled: emit(.cancelled(id), s)
      case .lost: emit(.lost(id), s)
      default: break
      }
    }
    return true
  }

  // MARK: venue answers

  /// The venue acknowledged the order.
  public func accepted(_ id: ClientOrderID, venueID: VenueOrderID, now: Int64) {
    if let s = slot(id) { accepted(s, venueID: venueID, now: now) }
  }

  func accepted(_ s: Int32, venueID: VenueOrderID, now: Int64) {
    if slots[Int(s)].venueOrderID != venueID {
      if let old = slots[Int(s)].venueOrderID { slotOfVenueID.remove(UInt64(bitPattern: old.value)) }
      let key = UInt64(bitPattern: venueID.value)
      if slotOfVenueID.find(key) == nil { slotOfVenueID.insert(key, s) }
    }
    slots[Int(s)].venueOrderID = venueID
    slots[Int(s)].notFoundCount = 0
    transition(s, .accepted, now: now)
  }

  /// A fill or a status named the order's venue id: the order is accepted if it was not yet
  /// (its own acknowledgement may be lost or still on its way).
  public func acceptedIfFirst(_ id: ClientOrderID, venueID: VenueOrderID, now: Int64) {
    if let s = slotOfID[id] { acceptedIfFirst(s, venueID: venueID, now: now) }
  }

  func acceptedIfFirst(_ s: Int32, venueID: VenueOrderID, now: Int64) {
    if slots[Int(s)].venueOrderID == nil { accepted(s, venueID: venueID, now: now) }
  }

  /// The venue refused the order (a definite answer, e.g. -2010 or a filter failure).
  public func rejected(_ id: ClientOrderID, reason: String, now: Int64) {
    if let s = slot(id) { rejected(s, reason: reason, now: now) }
  }

  func rejected(_ s: Int32, reason: String, now: Int64) {
    if transition(s, .rejected, now: now) {
      emit(.failed(slots[Int(s)].clientOrderID, reason: reason), s)
    }
  }

  /// A fill, from any source. Counted once per trade id; accepted late for lost and finished orders.
  public func fill(_ f: Fill, now: Int64) {
    if let s = slot(f.clientOrderID) { fill(s, f, now: now) }
  }

  func fill(_ s: Int32, _ f: Fill, now: Int64) {
    let i = Int(s)
    if slots[i].tradeIDs.contains(f.tradeID) {
      duplicateFills += 1
      return
    }
    let state = slots[i].state
    if state == .lost || state.isDone { lateFills += 1 }
    let filled = slots[i].filledQuantity
    let completes = filled + f.quantity >= slots[i].quantity
    guard OrderLifecycle.next(state, completes ? .fill : .partialFill) != nil else {
      invalidTransitions += 1
      return
    }
    if filled + f.quantity > slots[i].quantity { overfills += 1 }
    slots[i].addFill(f)
    slots[i].notFoundCount = 0
    emit(.filled(slots[i].clientOrderID, f), s)
    transition(s, completes ? .fill : .partialFill, now: now)
  }

  /// The venue says the order ended without (further) fills: cancelled or expired.
  public func cancelledAtVenue(_ id: ClientOrderID, now: Int64) {
    if let s = slot(id) { transition(s, .cancelled, now: now) }
  }

  /// A status query or a cancel answered "unknown order": counted; after `notFoundLimit` in a
  /// row the order is lost. A single answer proves nothing (the venue may not have it yet).
  public func notFound(_ id: ClientOrderID, now: Int64) {
    if let s = slotOfID[id] { notFound(s, now: now) }
  }

  func notFound(_ s: Int32, now: Int64) {
    let i = Int(s)
    guard !slots[i].state.isDone, slots[i].state != .lost else { return }
    slots[i].notFoundCount += 1
    if slots[i].notFoundCount >= notFoundLimit { transition(s, .notFoundRepeatedly, now: now) }
  }

  // MARK: cancels

  /// Marks a cancel as sent; returns false when the order cannot be cancelled (done, unknown).
  @discardableResult
  public func cancelRequested(_ id: ClientOrderID, now: Int64) -> Bool {
    guard let s = slot(id) else { return false }
    return cancelRequested(s, now: now)
  }

  /// The same for the order with this tag.
  @discardableResult
  public func cancelRequested(tag: UInt64, now: Int64) -> Bool {
    guard let s = slotOfTag.find(tag) else {
      unknownOrderUpdates += 1
      return false
    }
    return cancelRequested(s, now: now)
  }

  func cancelRequested(_ s: Int32, now: Int64) -> Bool {
    guard transition(s, .cancelRequested, now: now) else { return false }
    slots[Int(s)].cancelAttempts += 1
    slots[Int(s)].lastCancelNs = now
    return true
  }

  /// The cancel failed for a reason other than "unknown order": the order is open again.
  public func cancelFailed(_ id: ClientOrderID, now: Int64) {
    if let s = slot(id) { transition(s, .cancelFailed, now: now) }
  }

  /// The tags of the orders whose cancel has gone unconfirmed for `cancelRetryNs`, in no
  /// particular order and without allocating (the runtime's retry).
  public func forEachCancelToRetry(now: Int64, _ body: (UInt64) -> Void) {
    for s in activeList {
      let o = slots[Int(s)]
      if cancelDue(o, now: now), let t = o.tag { body(t) }
    }
  }

  @inline(__always) func cancelDue(_ o: InFlightOrder, now: Int64) -> Bool {
    o.state == .pendingCancel && now - o.lastCancelNs >= cancelRetryNs
  }

  /// Orders whose cancel has gone unconfirmed for `cancelRetryNs`: send the cancel again
  /// (oldest first).
  public func cancelsToRetry(now: Int64) -> [ClientOrderID] {
    activeList.map { slots[Int($0)] }
      .filter { cancelDue($0, now: now) }
      .sorted { $0.createdNs < $1.createdNs }.map(\.clientOrderID)
  }

  /// Forgets finished orders whose last change is older than `retainFinishedNs`: takes them from
  /// the front of the finished queue, so a call costs what it removes (the status poller calls it
  /// every tick). One changed since it finished (a late fill) goes to the back again.
  public func prune(now: Int64) {
    while finishedHead < finishedQueue.count {
      let (id, ns) = finishedQueue[finishedHead]
      guard now - ns > retainFinishedNs else { break }
      finishedHead += 1
      guard let s = slotOfID[id], slots[Int(s)].state.isDone else { continue }
      let o = slots[Int(s)]
      if now - o.lastChangeNs > retainFinishedNs {
        slotOfID[id] = nil
        if let t = o.tag { slotOfTag.remove(t) }
        if let v = o.venueOrderID { slotOfVenueID.remove(UInt64(bitPattern: v.value)) }
        slots[Int(s)] = Self.placeholder
        freeSlots.append(s)
      } else {
        finishedQueue.append((id, o.lastChangeNs))
      }
    }
    if finishedHead >= 1024 && finishedHead * 2 >= finishedQueue.count {
      finishedQueue.removeFirst(finishedHead)
      finishedHead = 0
    }
  }

  // MARK: execution events by tag

  /// Applies an execution event to the order it names by tag (the runtime's path: no id is
  /// built or hashed). An event for a tag the tracker does not hold is counted in
  /// `unknownOrderUpdates`.
  public func apply(_ x: ExecEvent, now: Int64, rejectReason: String = "rejected by the venue") {
    if x.kind == .stateInDoubt || x.kind == .reconciled { return }
    let slot =
      x.tag == ExecEvent.byVenueID
      ? slotOfVenueID.find(UInt64(bitPattern: x.venueOrderID)) : slotOfTag.find(x.tag)
    guard let s = slot else {
      unknownOrderUpdates += 1
      return
    }
    apply(x, slot: s, now: now, rejectReason: rejectReason)
  }

  /// Applies a venue answer about order `id` (connectors that own a tracker themselves).
  public func apply(
    _ x: ExecEvent, to id: ClientOrderID, now: Int64, rejectReason: String = "rejected by the venue"
  ) {
    if x.kind == .stateInDoubt || x.kind == .reconciled { return }
    guard let s = slot(id) else { return }
    apply(x, slot: s, now: now, rejectReason: rejectReason)
  }

  /// The one mapping from execution events to tracker transitions. Reconciliation markers
  /// (`stateInDoubt`, `reconciled`) are not about an order and are ignored.
  func apply(_ x: ExecEvent, slot s: Int32, now: Int64, rejectReason: String) {
    switch x.kind {
    case .accepted:
      accepted(s, venueID: VenueOrderID(x.venueOrderID), now: now)
    case .filled:
      if x.venueOrderID != 0 { acceptedIfFirst(s, venueID: VenueOrderID(x.venueOrderID), now: now) }
      let f = Fill(
        clientOrderID: slots[Int(s)].clientOrderID, tradeID: x.tradeID, price: x.price, quantity: x.quantity,
        taker: x.taker)
      fill(s, f, now: now)
    case .cancelled:
      transition(s, .cancelled, now: now)
    case .rejected:
      rejected(s, reason: rejectReason, now: now)
    case .cancelRejected:
      transition(s, .cancelFailed, now: now)
    case .notFound:
      notFound(s, now: now)
    case .stateInDoubt, .reconciled:
      break
    }
  }
}
