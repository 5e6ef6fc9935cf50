import Engine
import FastBook

/// What a venue's connector must expose, together with a simulated venue it runs against, for
/// the conformance checks. Each venue (Binance here; Bybit and others later) provides one harness:
/// its connector pieces wired to its simulated venue on one event loop, plus the venue-side switches
/// that inject exactly one fault at a known moment.
///
/// Quantities and prices are raws at the instrument's scales; prices are whole ticks.
public protocol ConformanceHarness: AnyObject {
  var venueName: String { get }
  /// The connector's and venue's counters, for a failure's message.
  var diagnostics: String { get }
  /// Runs the event loop until `condition` holds or `timeoutNs` passes; returns `condition()`.
  func run(timeoutNs: Int64, until condition: () -> Bool) -> Bool

  // MARK: market data
  /// The client's book is synced (a snapshot joined to the diff stream).
  var bookSynced: Bool { get }
  /// The client's book's best `n` levels a side.
  func clientBook(levels n: Int) -> (bids: [BookLevel], asks: [BookLevel])
  /// The venue's own book's best `n` levels a side.
  func venueBook(levels n: Int) -> (bids: [BookLevel], asks: [BookLevel])
  /// Times the client rebuilt its book from a snapshot.
  var bookRebuilds: Int { get }
  /// Another participant changes the venue's book, and the venue publishes the change.
  func changeVenueBook()
  /// The venue leaves out its next book update (a gap in the sequence).
  func injectBookGap()
  /// The venue sends its next book update cut short (not valid JSON).
  func injectMalformedBookUpdate()
  /// The venue drops every market-data connection.
  func dropMarketStreams()

  // MARK: orders
  var tracker: OrderTracker { get }
  /// The client order id the connector gives the order a check calls `name` (each harness names
  /// orders its own way: the runtime derives ids from tags).
  func orderID(_ name: String) -> ClientOrderID
  /// Tracks, then sends a limit order (GTC); false when the connector holds it back (paused, halted).
  func submit(_ id: ClientOrderID, side: TradeSide, priceTick: Int64, quantity: Int64) -> Bool
  func cancel(_ id: ClientOrderID)
  /// Settles every uncertain order with the venue (status queries, recent fills).
  func reconcile(_ done: @escaping () -> Void)
  /// Requests in flight.
  var pending: Int { get }
  /// Whether requests / new orders may go out now.
  var canSend: Bool { get }
  var canPlace: Bool { get }
  /// Why trading is halted (an IP ban), or nil.
  var haltReason: String? { get }
  func resumeTrading()
  /// The venue's record of the order (nil: it never saw it).
  func venueOrder(_ id: ClientOrderID) -> (state: OrderState, filled: Int64)?
  /// Fills the venue holds for the client's account.
  var venueFillCount: Int { get }
  /// Another account rests liquidity at the venue.
  func addLiquidity(side: TradeSide, priceTick: Int64, quantity: Int64)
  /// A price (tick) at which a passive buy rests without trading, and one at which a buy crosses.
  var passiveBuyTick: Int64 { get }
  var crossingBuyTick: Int64 { get }

  // MARK: faults
  /// The venue carries out the next order request and never answers it.
  func loseNextOrderResponse()
  /// The venue answers the next request with `status` (429 or 418) and a Retry-After.
  func rateLimitNextRequest(status: Int, retryAfterSeconds: Int)
  /// Requests the venue received during a Retry-After it had given (it bans for those).
  var requestsDuringRetryAfter: Int { get }
  /// The venue sends the next account event cut short.
  func cutNextAccountEvent()
  /// The venue drops the account-event connection after its next event.
  func dropAccountStreamAfterNextEvent()
  /// Times the account stream (re)subscribed.
  var accountSubscriptions: Int { get }
  /// Malformed venue messages the connector counted (all kinds).
  var malformedCounted: Int { get }
  /// Set by the harness when the connector says its order state is in doubt (a lost or unreadable
  /// account event, a resubscription); the checks reconcile then, as the engine does.
  var stateInDoubt: Bool { get set }
}

/// One check's verdict.
public struct ConformanceResult: Sendable, CustomStringConvertible {
  public var check: String
  public var passed: Bool
  public var detail: String
  public var description: String {
    "\(passed ? "PASS" : "FAIL") \(check)\(detail.isEmpty ? "" : ": " + detail)"
  }
}

/// The checks every connector must pass: the behaviour the engine and its users rely on, whatever
/// the venue. Each runs on a fresh harness (the factory), so one failure cannot hide another.
public enum ConnectorConformance {
  public struct Check: Sendable, CustomStringConvertible {
    public let name: String
    let body: @Sendable (ConformanceHarness) -> String?
    public var description: String { name }
  }

  /// Runs one check; a returned string is the failure.
  public static func run(_ check: Check, on h: ConformanceHarness) -> ConformanceResult {
    let failure = check.body(h)
    return ConformanceResult(
      check: "\(h.venueName): \(check.name)", passed: failure == nil, detail: failure ?? "")
  }

  public static let all: [Check] = [
    bookMatchesVenue, bookRebuiltAfterGap, bookRebuiltAfterMalformedUpdate, bookRebuiltAfterDisconnect,
    placeAndCancel, fillsMatchVenueOnce, lostResponseSettled, waitsOut429, haltsOn418,
    malformedAccountEventReconciled, accountStreamDropReconciled,
  ]

  // MARK: helpers

  static func booksEqual(_ h: ConformanceHarness) -> Bool {
    guard h.bookSynced else { return false }
    let c = h.clientBook(levels: 10)
    let v = h.venueBook(levels: 10)
    return c.bids == v.bids && c.asks == v.asks
  }

  static func bookFollows(_ h: ConformanceHarness, _ what: String) -> String? {
    for _ in 0..<3 {
      h.changeVenueBook()
      if !h.run(timeoutNs: 5_000_000_000, until: { booksEqual(h) }) {
        let c = h.clientBook(levels: 3)
        let v = h.venueBook(levels: 3)
        return "\(what): client book \(c) differs from the venue's \(v) [\(h.diagnostics)]"
      }
    }
    return nil
  }

  /// Reconciles until nothing is uncertain (bounded); false if it never settles.
  static func settle(_ h: ConformanceHarness) -> Bool {
    for _ in 0..<10 {
      _ = h.run(timeoutNs: 30_000_000_000) { h.canSend }
      h.resumeTrading()
      var done = false
      h.reconcile { done = true }
      guard h.run(timeoutNs: 30_000_000_000, until: { done && h.pending == 0 }) else { return false }
      h.stateInDoubt = false
      if !h.tracker.activeOrders.contains(where: { $0.state == .pendingCreate || $0.state == .pendingCancel })
      {
        return true
      }
      _ = h.run(timeoutNs: 50_000_000) { false }
    }
    return false
  }

  /// Every order the venue knows is known to the tracker in the same state with the same fills.
  static func agreement(_ h: ConformanceHarness, _ ids: [ClientOrderID]) -> String? {
    for id in ids {
      let t = h.tracker.orders[id]
      switch (h.venueOrder(id), t) {
      case (nil, nil): continue
      case (nil, let t?):
        if !(t.state == .failed || t.state == .lost) {
          return "\(id.value): tracker \(t.state), venue never saw it"
        }
      case (let v?, nil): return "\(id.value): venue \(v.state), unknown to the tracker"
      case (let v?, let t?):
        if v.state != t.state || v.filled != t.filledQuantity {
          return "\(id.value): venue \(v.state) \(v.filled), tracker \(t.state) \(t.filledQuantity)"
        }
      }
    }
    return nil
  }

  /// Waits until the book is synced and the account stream subscribed, so a check's faults meet
  /// the requests it means them for (not a snapshot fetch still starting up).
  static func ready(_ h: ConformanceHarness) -> String? {
    h.run(timeoutNs: 10_000_000_000) { h.bookSynced && h.accountSubscriptions > 0 } ? nil : "never ready"
  }

  static func place(_ h: ConformanceHarness, _ id: String, tick: Int64, quantity: Int64 = 1_000)
    -> ClientOrderID?
  {
    let cid = h.orderID(id)
    guard h.submit(cid, side: .buy, priceTick: tick, quantity: quantity),
      h.run(timeoutNs: 10_000_000_000, until: { h.pending == 0 })
    else { return nil }
    return cid
  }

  // MARK: checks

  public static let bookMatchesVenue = Check(name: "the book syncs and follows the venue's") { h in
    guard h.run(timeoutNs: 10_000_000_000, until: { h.bookSynced }) else { return "never synced" }
    return bookFollows(h, "after changes")
  }

  public static let bookRebuiltAfterGap = Check(name: "a gap resets the book and rebuilds it") { h in
    guard h.run(timeoutNs: 10_000_000_000, until: { h.bookSynced }) else { return "never synced" }
    let before = h.bookRebuilds
    h.injectBookGap()
    h.changeVenueBook()  // the update left out; the client can only see the gap at the next one
    if let f = bookFollows(h, "after a gap") { return f }
    return h.bookRebuilds > before ? nil : "the gap went unnoticed (no rebuild)"
  }

  public static let bookRebuiltAfterMalformedUpdate = Check(
    name: "a malformed book update is counted and the book rebuilt"
  ) { h in
    guard h.run(timeoutNs: 10_000_000_000, until: { h.bookSynced }) else { return "never synced" }
    let (rebuilds, malformed) = (h.bookRebuilds, h.malformedCounted)
    h.injectMalformedBookUpdate()
    if let f = bookFollows(h, "after a malformed update") { return f }
    if h.malformedCounted <= malformed { return "the malformed update was not counted" }
    return h.bookRebuilds > rebuilds ? nil : "the book was not rebuilt"
  }

  public static let bookRebuiltAfterDisconnect = Check(name: "after a disconnect the book is rebuilt") { h in
    guard h.run(timeoutNs: 10_000_000_000, until: { h.bookSynced }) else { return "never synced" }
    let before = h.bookRebuilds
    h.dropMarketStreams()
    _ = h.run(timeoutNs: 5_000_000_000) { h.bookRebuilds > before && h.bookSynced }
    if let f = bookFollows(h, "after a reconnect") { return f }
    return h.bookRebuilds > before ? nil : "no rebuild after the disconnect"
  }

  public static let placeAndCancel = Check(name: "an order is tracked, rests, and cancels") { h in
    if let f = ready(h) { return f }
    guard let id = place(h, "cf-rest", tick: h.passiveBuyTick) else { return "placement never answered" }
    guard h.tracker.orders[id]?.state == .open else {
      return "tracker says \(String(describing: h.tracker.orders[id]?.state))"
    }
    h.cancel(id)
    guard h.run(timeoutNs: 10_000_000_000, until: { h.pending == 0 }) else { return "cancel never answered" }
    guard h.tracker.orders[id]?.state == .cancelled else {
      return "after cancel: \(String(describing: h.tracker.orders[id]?.state))"
    }
    return agreement(h, [id])
  }

  public static let fillsMatchVenueOnce = Check(name: "fills match the venue's, each counted once") { h in
    if let f = ready(h) { return f }
    h.addLiquidity(side: .sell, priceTick: h.crossingBuyTick, quantity: 600)
    h.addLiquidity(side: .sell, priceTick: h.crossingBuyTick, quantity: 700)
    guard let id = place(h, "cf-cross", tick: h.crossingBuyTick, quantity: 2_000) else { return "no answer" }
    // Fills arrive by every path the connector has (order answer, account events, reconciliation):
    // reconcile twice and wait for events; nothing may count twice.
    _ = h.run(timeoutNs: 300_000_000) { false }
    guard settle(h), settle(h) else { return "did not settle" }
    let fills = h.tracker.orders[id]?.tradeIDCount ?? 0
    if fills != h.venueFillCount { return "tracker has \(fills) fills, venue \(h.venueFillCount)" }
    return agreement(h, [id])
  }

  public static let lostResponseSettled = Check(name: "a lost response stays unknown until settled") { h in
    if let f = ready(h) { return f }
    h.loseNextOrderResponse()
    let id = h.orderID("cf-lost")
    guard h.submit(id, side: .buy, priceTick: h.passiveBuyTick, quantity: 1_000) else { return "held back" }
    _ = h.run(timeoutNs: 10_000_000_000) { h.pending == 0 }
    if let s = h.tracker.orders[id]?.state, s != .pendingCreate && s != .open {
      return "after a lost response the tracker says \(s), which it cannot know"
    }
    guard settle(h) else { return "did not settle" }
    return agreement(h, [id])
  }

  public static let waitsOut429 = Check(name: "a 429 is waited out as told, and no order is lost") { h in
    if let f = ready(h) { return f }
    guard let first = place(h, "cf-429-a", tick: h.passiveBuyTick) else { return "no answer" }
    h.rateLimitNextRequest(status: 429, retryAfterSeconds: 1)
    let id = h.orderID("cf-429-b")
    _ = h.submit(id, side: .buy, priceTick: h.passiveBuyTick, quantity: 1_000)
    _ = h.run(timeoutNs: 10_000_000_000) { h.pending == 0 }
    if h.canSend { return "requests may go out right after a 429" }
    if h.submit(h.orderID("cf-429-c"), side: .buy, priceTick: h.passiveBuyTick, quantity: 1_000) {
      return "an order was accepted for sending during Retry-After"
    }
    guard h.run(timeoutNs: 5_000_000_000, until: { h.canSend }) else { return "never resumed" }
    guard settle(h), let after = place(h, "cf-429-d", tick: h.passiveBuyTick) else {
      return "no trading after it"
    }
    if h.requestsDuringRetryAfter > 0 {
      return "\(h.requestsDuringRetryAfter) requests sent during Retry-After"
    }
    return agreement(h, [first, id, h.orderID("cf-429-c"), after])
  }

  public static let haltsOn418 = Check(name: "a 418 halts trading with the reason, and no order is lost") {
    h in
    if let f = ready(h) { return f }
    h.rateLimitNextRequest(status: 418, retryAfterSeconds: 1)
    let id = h.orderID("cf-418")
    _ = h.submit(id, side: .buy, priceTick: h.passiveBuyTick, quantity: 1_000)
    _ = h.run(timeoutNs: 10_000_000_000) { h.pending == 0 }
    guard let why = h.haltReason, why.contains("418") else { return "no halt reason after a 418" }
    if h.canPlace { return "new orders allowed while banned" }
    _ = h.run(timeoutNs: 5_000_000_000) { h.canSend }
    if h.canPlace { return "trading resumed by itself after a ban (an operator should see why first)" }
    guard settle(h) else { return "did not settle" }
    h.resumeTrading()
    guard let after = place(h, "cf-418-after", tick: h.passiveBuyTick) else {
      return "no trading after resume"
    }
    if h.requestsDuringRetryAfter > 0 { return "\(h.requestsDuringRetryAfter) requests sent during the ban" }
    return agreement(h, [id, after])
  }

  public static let malformedAccountEventReconciled = Check(
    name: "a malformed account event is counted and its order reconciled"
  ) { h in
    guard h.run(timeoutNs: 10_000_000_000, until: { h.accountSubscriptions > 0 }) else {
      return "no account stream"
    }
    guard let id = place(h, "cf-cut", tick: h.passiveBuyTick) else { return "no answer" }
    let malformed = h.malformedCounted
    h.cutNextAccountEvent()
    // Another account trades with the resting order: its fill event arrives cut short.
    h.addLiquidity(side: .sell, priceTick: h.passiveBuyTick, quantity: 1_000)
    guard h.run(timeoutNs: 5_000_000_000, until: { h.malformedCounted > malformed }) else {
      return "the cut event was not counted"
    }
    guard h.stateInDoubt else { return "the connector did not put order state in doubt" }
    guard settle(h) else { return "did not settle" }
    if h.tracker.orders[id]?.state != .filled { return "the fill was not recovered" }
    return agreement(h, [id])
  }

  public static let accountStreamDropReconciled = Check(
    name: "after the account stream drops, it resubscribes and orders are reconciled"
  ) { h in
    guard h.run(timeoutNs: 10_000_000_000, until: { h.accountSubscriptions > 0 }) else {
      return "no account stream"
    }
    let subs = h.accountSubscriptions
    guard let id = place(h, "cf-drop", tick: h.passiveBuyTick) else { return "no answer" }
    h.dropAccountStreamAfterNextEvent()
    h.addLiquidity(side: .sell, priceTick: h.passiveBuyTick, quantity: 400)
    guard h.run(timeoutNs: 10_000_000_000, until: { h.accountSubscriptions > subs }) else {
      return "never resubscribed"
    }
    guard h.stateInDoubt else { return "a resubscription did not put order state in doubt" }
    guard settle(h) else { return "did not settle" }
    return agreement(h, [id])
  }
}
