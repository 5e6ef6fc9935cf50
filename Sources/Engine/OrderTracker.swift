import FastBook

/// One order as the engine tracks it. Quantities are raws at the instrument's quantity scale,
/// prices at its price scale.
public struct InFlightOrder: Sendable {
  public let clientOrderID: ClientOrderID
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

/// The trade ids of one order's fills, for de-duplication: the first four inline (most orders
/// fill once or a few times, and the first fill must not allocate on the order path), a set
/// beyond.
struct TradeIDSet: Sendable {
  var inline: (Int64, Int64, Int64, Int64) = (0, 0, 0, 0)
  var inlineCount = 0
  var more: Set<Int64>? = nil

  var count: Int { inlineCount + (more?.count ?? 0) }

  func contains(_ id: Int64) -> Bool {
    switch inlineCount {
    case 4: if inline.3 == id { return true } else { fallthrough }
    case 3: if inline.2 == id { return true } else { fallthrough }
    case 2: if inline.1 == id { return true } else { fallthrough }
    case 1: if inline.0 == id { return true }
    default: break
    }
    return more?.contains(id) ?? false
  }

  /// Adds `id` (the caller checked it is new).
  mutating func insert(_ id: Int64) {
    switch inlineCount {
    case 0: inline.0 = id
    case 1: inline.1 = id
    case 2: inline.2 = id
    case 3: inline.3 = id
    default:
      if more == nil { more = [] }
      more!.insert(id)
      return
    }
    inlineCount += 1
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
  public init(
    clientOrderID: ClientOrderID, tradeID: Int64, price: Int64, quantity: Int64, fee: Int128 = 0,
    feeAsset: String = ""
  ) {
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
  public private(set) var orders: [ClientOrderID: InFlightOrder] = [:]
  /// The orders not finished (lost ones included): what reconciliation, cancel retries and the
  /// status poller scan, so their cost follows the open orders, not every order of the run.
  public private(set) var active: Set<ClientOrderID> = []
  /// Finished orders in the order they finished, for `prune` (which then takes only the old ones).
  var finishedQueue: [(id: ClientOrderID, ns: Int64)] = []
  var finishedHead = 0
  public let notFoundLimit: Int
  public let retainFinishedNs: Int64
  public let cancelRetryNs: Int64
  public private(set) var invalidTransitions = 0
  public private(set) var duplicateFills = 0
  public private(set) var lateFills = 0
  public private(set) var unknownOrderUpdates = 0
  /// Fills beyond the order's quantity (the venue's word wins; counted, for alerts).
  public private(set) var overfills = 0
  public private(set) var events: [TrackerEvent] = []

  public init(
    notFoundLimit: Int = 3, retainFinishedNs: Int64 = 600_000_000_000, cancelRetryNs: Int64 = 1_000_000_000,
    capacity: Int = 4096
  ) {
    // Tracking within these capacities does not allocate (the maps grow beyond them).
    orders.reserveCapacity(capacity)
    active.reserveCapacity(capacity)
    finishedQueue.reserveCapacity(capacity)
    events.reserveCapacity(256)
    self.notFoundLimit = notFoundLimit
    self.retainFinishedNs = retainFinishedNs
    self.cancelRetryNs = cancelRetryNs
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
  }

  /// Takes the events since the last call.
  public func drainEvents() -> [TrackerEvent] {
    defer { events.removeAll(keepingCapacity: true) }
    return events
  }

  /// Starts tracking an order that is about to be sent.
  public func track(
    _ id: ClientOrderID, symbol: String, side: TradeSide, price: Int64, quantity: Int64, now: Int64
  ) {
    // One map operation: insert, and learn from the old value whether the id was in use.
    let old = orders.updateValue(
      InFlightOrder(
        clientOrderID: id, venueOrderID: nil, symbol: symbol, side: side, price: price, quantity: quantity,
        createdNs: now,
        lastChangeNs: now),
      forKey: id)
    precondition(old == nil, "client order id \(id) reused")
    active.insert(id)
  }

  /// Touches the map's storage for `count` orders now, so the first orders of a session do not
  /// take the page faults of fresh memory on the order path (the kernel commits reserved pages on
  /// first write). Leaves the tracker empty.
  public func prefault(count: Int) {
    precondition(orders.isEmpty, "prefault an empty tracker")
    for i in 0..<count {
      let id = ClientOrderID("prefault-\(i)")
      orders[id] = InFlightOrder(
        clientOrderID: id, venueOrderID: nil, symbol: "", side: .buy, price: 0, quantity: 0, createdNs: 0,
        lastChangeNs: 0)
    }
    orders.removeAll(keepingCapacity: true)
    for i in 0..<count { active.insert(ClientOrderID("prefault-\(i)")) }
    active.removeAll(keepingCapacity: true)
  }

  public var activeOrders: [InFlightOrder] {
    active.compactMap { orders[$0] }.sorted { $0.createdNs < $1.createdNs }
  }

  @discardableResult
  func transition(_ id: ClientOrderID, _ t: OrderTransition, now: Int64) -> Bool {
    guard var o = orders[id] else {
      unknownOrderUpdates += 1
      return false
    }
    let before = o.state
    guard o.apply(t, now: now) else {
      invalidTransitions += 1
      return false
    }
    orders[id] = o
    if before.isDone != o.state.isDone {
      if o.state.isDone {
        active.remove(id)
        finishedQueue.append((id, now))
      } else {
        active.insert(id)
      }
    }
    if before != o.state {
      switch o.state {
      case .open where before == .pendingCreate || before == .lost: events.append(.created(id))
      case .open where before == .pendingCancel: events.append(.cancelRefused(id))
      case .filled: events.append(.completed(id))
      case .cancelled: events.append(.cancelled(id))
      case .lost: events.append(.lost(id))
      default: break
      }
    }
    return true
  }

  // MARK: venue answers

  /// The venue acknowledged the order.
  public func accepted(_ id: ClientOrderID, venueID: VenueOrderID, now: Int64) {
    // Copy out and store back: a modify through `orders[id]?.field` runs a coroutine whose frame
    // is heap-allocated for a value this size — one allocation per answer on the order path.
    guard var o = orders[id] else {
      unknownOrderUpdates += 1
      return
    }
    o.venueOrderID = venueID
    o.notFoundCount = 0
    orders[id] = o
    transition(id, .accepted, now: now)
  }

  /// A fill or a status named the order's venue id: the order is accepted if it was not yet
  /// (its own acknowledgement may be lost or still on its way).
  public func acceptedIfFirst(_ id: ClientOrderID, venueID: VenueOrderID, now: Int64) {
    if let o = orders[id], o.venueOrderID == nil { accepted(id, venueID: venueID, now: now) }
  }

  /// The venue refused the order (a definite answer, e.g. -2010 or a filter failure).
  public func rejected(_ id: ClientOrderID, reason: String, now: Int64) {
    if transition(id, .rejected, now: now) { events.append(.failed(id, reason: reason)) }
  }

  /// A fill, from any source. Counted once per trade id; accepted late for lost and finished orders.
  public func fill(_ f: Fill, now: Int64) {
    guard var o = orders[f.clientOrderID] else {
      unknownOrderUpdates += 1
      return
    }
    if o.tradeIDs.contains(f.tradeID) {
      duplicateFills += 1
      return
    }
    if o.state == .lost || o.state.isDone { lateFills += 1 }
    let completes = o.filledQuantity + f.quantity >= o.quantity
    guard OrderLifecycle.next(o.state, completes ? .fill : .partialFill) != nil else {
      invalidTransitions += 1
      return
    }
    if o.filledQuantity + f.quantity > o.quantity { overfills += 1 }
    o.addFill(f)
    o.notFoundCount = 0
    orders[f.clientOrderID] = o
    events.append(.filled(f.clientOrderID, f))
    transition(f.clientOrderID, completes ? .fill : .partialFill, now: now)
  }

  /// The venue says the order ended without (further) fills: cancelled or expired.
  public func cancelledAtVenue(_ id: ClientOrderID, now: Int64) { transition(id, .cancelled, now: now) }

  /// A status query or a cancel answered "unknown order": counted; after `notFoundLimit` in a
  /// row the order is lost. A single answer proves nothing (the venue may not have it yet).
  public func notFound(_ id: ClientOrderID, now: Int64) {
    guard var o = orders[id], !o.state.isDone, o.state != .lost else { return }
    o.notFoundCount += 1
    orders[id] = o
    if o.notFoundCount >= notFoundLimit { transition(id, .notFoundRepeatedly, now: now) }
  }

  // MARK: cancels

  /// Marks a cancel as sent; returns false when the order cannot be cancelled (done, unknown).
  @discardableResult
  public func cancelRequested(_ id: ClientOrderID, now: Int64) -> Bool {
    guard transition(id, .cancelRequested, now: now) else { return false }
    if var o = orders[id] {
      o.cancelAttempts += 1
      o.lastCancelNs = now
      orders[id] = o
    }
    return true
  }

  /// The cancel failed for a reason other than "unknown order": the order is open again.
  public func cancelFailed(_ id: ClientOrderID, now: Int64) { transition(id, .cancelFailed, now: now) }

  /// Orders whose cancel has gone unconfirmed for `cancelRetryNs`: send the cancel again.
  public func cancelsToRetry(now: Int64) -> [ClientOrderID] {
    active.compactMap { orders[$0] }
      .filter { $0.state == .pendingCancel && now - $0.lastCancelNs >= cancelRetryNs }
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
      guard let o = orders[id], o.state.isDone else { continue }
      if now - o.lastChangeNs > retainFinishedNs {
        orders[id] = nil
      } else {
        finishedQueue.append((id, o.lastChangeNs))
      }
    }
    if finishedHead >= 1024 && finishedHead * 2 >= finishedQueue.count {
      finishedQueue.removeFirst(finishedHead)
      finishedHead = 0
    }
  }
}
