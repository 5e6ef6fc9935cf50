import BinanceHarness
import Connectors
import Engine
import FastBook
import Foundation
import Venue
import Wire

/// The order-tracking soak: a Binance order manager places and cancels orders against the Venue
/// over loopback TLS with faults switched on, then reconciles and is compared with the venue order
/// by order and fill by fill. Used by a CI test (small count) and `perf/soak.sh` (100,000).
public struct OrderSoakConfig: Sendable {
  public var orders = 1_000
  public var seed: UInt64 = 1
  public var faults: FaultPlan
  /// Orders kept resting before the oldest is cancelled (so reconciliation stays bounded).
  public var restingWindow = 8
  /// Reconcile every this many orders (and once at the end).
  public var reconcileEvery = 500
  /// The venue's request weight per minute for the soak.
  public var weightLimitPerMinute = 10_000_000
  /// Run the user-data stream (WebSocket API) into the same tracker; a resubscription after a
  /// dropped socket makes the soak reconcile before it places again.
  public var userStream = true
  /// Keep a book from the market streams and compare it with the venue's after every diff.
  public var marketData = true
  /// The venue skips one depth diff after every this many orders (0: never): a gap to detect.
  public var skipDiffEvery = 250
  /// The venue sends one depth diff cut short (not valid JSON) after every this many orders (0:
  /// never): the client must count it, log it and rebuild the book.
  public var corruptDiffEvery = 330
  /// The venue closes each market-stream connection this long after it opens (nil: never).
  public var streamDisconnectNs: Int64? = 15_000_000_000

  /// The runtime soak: how long the WebSocket API order entry waits for an answer before the
  /// order's outcome is unknown (loopback answers in well under a millisecond; an answer that
  /// comes later still is a late answer to an unknown outcome, which the runtime must survive).
  public var answerTimeoutNs: Int64 = 100_000_000

  public init(faults: FaultPlan) { self.faults = faults }

  /// Every REST fault at rates a bad day at an exchange might show.
  public static func allFaults(seed: UInt64) -> OrderSoakConfig {
    var f = FaultPlan()
    f.seed = seed
    f.lostResponseAfterAccept = 0.03
    f.serverErrorBefore = 0.02
    f.serverErrorAfter = 0.02
    f.staleStatusAfterCancelMs = 20
    f.force429 = 0.0005
    f.force418 = 0.0001
    // 50 ms where the venue can say so (the WebSocket API names the instant); REST's whole-second
    // header makes it 1 s there. The soak measures tracking, not waiting.
    f.retryAfterMs = 50
    f.dropUserEvent = 0.02
    f.duplicateUserEvent = 0.02
    f.reorderUserEvents = 0.02
    f.closeSocket = 0.0005
    f.malformedUserEvent = 0.005
    f.malformedResponse = 0.003
    var c = OrderSoakConfig(faults: f)
    c.seed = seed
    return c
  }
}

public struct OrderSoakReport: Sendable, CustomStringConvertible {
  public var ordersSubmitted = 0
  public var cancelsSent = 0
  public var venueOrders = 0
  public var compared = 0
  /// Venue orders the tracker does not know, or knows in another state or with other fills.
  public var mismatches: [String] = []
  public var mismatchCount = 0
  /// Orders the venue has open that the tracker believes closed.
  public var openAtVenueClosedInTracker = 0
  /// Orders the tracker believes open that the venue never saw.
  public var openInTrackerUnknownToVenue = 0
  public var venueFills = 0
  public var trackerFills = 0
  public var duplicateFillsDropped = 0
  public var unknownOutcomes = 0
  public var rateLimited = 0
  public var banned = 0
  public var faults: [String: Int] = [:]
  public var seconds = 0.0
  /// User data: events applied, (re)subscriptions, reconciliations they triggered.
  public var userEvents = 0
  public var userSubscriptions = 0
  public var reconcilesAfterResubscribe = 0
  /// Market data: checkpoints (the book after a diff compared with the venue's top 20 levels at
  /// that update id), how many differed, snapshots fetched, gaps detected, diffs the venue skipped,
  /// stream reconnects.
  public var bookCheckpoints = 0
  public var bookMismatches = 0
  public var bookSnapshots = 0
  public var bookGaps = 0
  public var diffsSkipped = 0
  public var streamReconnects = 0
  /// Balances read back over REST at the end and compared with the venue's books (per asset).
  public var balancesCompared = 0
  public var balanceMismatches: [String] = []
  /// Malformed input the client saw (by kind), the log lines the side thread wrote for them (and
  /// the first few), diffs the venue sent cut short, reconciliations a malformed user event caused.
  public var problemsSeen: [String: Int] = [:]
  public var problemLogLines = 0
  public var firstProblemLines: [String] = []
  public var diffsCorrupted = 0
  public var reconcilesAfterMalformedEvent = 0
  /// The runtime soak's own figures (nil for the REST order manager's soak).
  public var runtime: RuntimeFigures?

  public struct RuntimeFigures: Sendable {
    /// Reconciliation rounds the runtime ran, and how many of them the driver asked for.
    public var reconciliations = 0
    public var driverReconciliations = 0
    /// Times the wire side put order state in doubt through the session (account stream).
    public var statesInDoubt = 0
    public var cancelRetries = 0
    /// Orders the wire side refused unsent (a Retry-After or a halt) or the host held back.
    public var refusedUnsent = 0
    /// WebSocket API answers that never came within their deadline.
    public var answersTimedOut = 0
  }

  public init() {}

  public var agrees: Bool {
    mismatchCount == 0 && openAtVenueClosedInTracker == 0 && openInTrackerUnknownToVenue == 0
      && venueFills == trackerFills && bookMismatches == 0 && balanceMismatches.isEmpty
  }

  public var description: String {
    let f = faults.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
    return """
      orders submitted \(ordersSubmitted), cancels sent \(cancelsSent), venue orders \(venueOrders), \
      compared \(compared) in \(String(format: "%.1f", seconds)) s
      agreement: \(agrees ? "yes" : "NO") — state/fill mismatches \(mismatchCount), open at venue but \
      closed in tracker \(openAtVenueClosedInTracker), open in tracker unknown to venue \
      \(openInTrackerUnknownToVenue), fills venue \(venueFills) / tracker \(trackerFills)
      faults injected: \(f)
      client saw: unknown outcomes \(unknownOutcomes), 429s \(rateLimited), 418s \(banned), \
      duplicate fills dropped \(duplicateFillsDropped)
      user data: \(userEvents) events, \(userSubscriptions) subscriptions, \(reconcilesAfterResubscribe) \
      reconciliations after a resubscription
      book: \(bookCheckpoints) checkpoints compared, \(bookMismatches) differed; \(bookSnapshots) snapshots, \
      \(bookGaps) gaps detected, \(diffsSkipped) diffs skipped by the venue, \(streamReconnects) stream reconnects
      balances: \(balancesCompared) assets compared, \(balanceMismatches.isEmpty ? "all equal" : balanceMismatches.joined(separator: "; "))
      malformed input seen: \(problemsSeen.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); \
      \(problemLogLines) log lines; \(diffsCorrupted) diffs cut short by the venue; \
      \(reconcilesAfterMalformedEvent) reconciliations after a malformed user event
      """
        + (runtime.map {
          "\nruntime: \($0.reconciliations) reconciliations (\($0.driverReconciliations) asked by the driver), \($0.statesInDoubt) account-stream doubts, \($0.answersTimedOut) answers timed out, \($0.cancelRetries) cancels retried, \($0.refusedUnsent) orders refused unsent"
        } ?? "") + firstProblemLines.map { "\n  log: " + $0 }.joined()
        + (mismatches.isEmpty ? "" : "\nfirst mismatches: " + mismatches.joined(separator: "; "))
  }
}

/// Runs the soak on the calling thread (it owns the event loop) and returns the comparison.
public func runOrderSoak(_ c: OrderSoakConfig, certificateDir: String) throws -> OrderSoakReport {
  let start = Date()
  let certs = try VenueHost.ensureCertificates(dataDir: certificateDir)
  let loop = try EventLoop()
  defer { loop.shutdown() }
  let inst = harnessInstrument
  // The soak is about tracking through faults, not pacing: the venue's weight limit (6,000 per
  // minute, Binance's) is lifted well above the ~40,000 weight per minute this loop sends; forced
  // 429/418s still come from the fault plan.
  let host = try harnessVenue(
    loop: loop, certs: certs, apiKey: "soak", secret: "soak-secret", fundedAccounts: [1, 9], faults: c.faults,
    weightLimitPerMinute: c.weightLimitPerMinute)
  let engine = host.engine
  let http = HTTPClient(
    loop: loop, host: "127.0.0.1", port: host.port, tls: try TLSContext(client: certs.ca),
    serverName: "localhost")
  let rest = BinanceSpotREST(http: http, apiKey: "soak", secret: "soak-secret", instrument: inst)
  rest.timeoutNs = 2_000_000_000
  let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: 50_000_000)
  let om = BinanceOrderManager(
    rest: rest, tracker: tracker, symbol: "BTCUSDT", nowNs: { Int64(Date().timeIntervalSince1970 * 1e9) })
  let clientTLS = try TLSContext(client: certs.ca)
  let lines = SoakProblemLines()
  var problemLogs = [rest.problems]
  lines.attach([rest.problems])

  // User data into the same tracker. After every resubscription but the first, what the stream
  // missed while down is reconciled over REST before another order is placed.
  var user: BinanceUserStream?
  var needsReconcile = false
  var subscriptions = 0
  var reconcilesAfterResubscribe = 0
  var stateInDoubt = false
  var reconcilesAfterMalformedEvent = 0
  if c.userStream {
    let u = BinanceUserStream(
      loop: loop, host: "127.0.0.1", port: host.port, tls: clientTLS, serverName: "localhost", apiKey: "soak",
      secret: "soak-secret", tracker: tracker, instrument: inst, nowNs: om.nowNs)
    u.onSubscribed = {
      subscriptions += 1
      if subscriptions > 1 { needsReconcile = true }
    }
    u.onStateInDoubt = { stateInDoubt = true }
    lines.attach([u.problems])
    problemLogs.append(u.problems)
    u.start()
    user = u
  }

  // A book from the market streams, compared with the venue's after every diff it applies.
  let check = BookCheck(book: LadderBook(instrument: inst, windowTicks: 1 << 14, centreTick: 10_000))
  var md: BinanceMarketData<CheckSink>?
  if c.marketData {
    recordVenueBooks(host, into: check, c)
    let m = BinanceMarketData(
      loop: loop, host: "127.0.0.1", port: host.port, tls: clientTLS, serverName: "localhost",
      symbol: "BTCUSDT",
      instrument: inst, sink: CheckSink(check: check), limiter: rest.limiter)  // one IP, one limit
    lines.attach([m.problems])
    problemLogs.append(m.problems)
    m.start()
    md = m
  }
  if c.userStream || c.marketData {
    _ = loop.run(timeoutNs: 10_000_000_000) {
      (user?.subscribed ?? true)
        && (md.map { if case .synced = $0.sync.state { true } else { false } } ?? true)
    }
  }

  func wait(_ what: String, _ cond: () -> Bool) throws {
    // Up to 30 s past the end of any Retry-After the venue has given — including one given while
    // waiting (a ban extends the deadline with it).
    let start = rest.wallNs
    while true {
      let deadline = max(start, rest.pausedUntilNs) + 30_000_000_000
      let now = rest.wallNs
      if now >= deadline {
        throw SoakError.timedOut(
          "\(what) (after \(om.rateLimited) 429s, \(om.banned) 418s: \(om.haltReason ?? "-"))")
      }
      if loop.run(timeoutNs: min(deadline - now, 1_000_000_000), until: cond) { return }
    }
  }
  func refill() throws { try refillLiquidity(engine) }
  func settle() throws {
    for _ in 0..<20 {
      try wait("Retry-After") { om.canSend }
      om.resumeTrading()
      for id in tracker.cancelsToRetry(now: om.nowNs()) where om.canSend { om.cancel(id) }
      try wait("cancel retries") { om.pending == 0 }
      var done = false
      om.reconcile { done = true }
      try wait("reconciliation") { done && om.pending == 0 }
      let uncertain = tracker.activeOrders.contains {
        $0.state == .pendingCreate || $0.state == .pendingCancel
      }
      if !uncertain && om.canSend { return }
      loop.run(timeoutNs: 30_000_000) { false }
    }
  }

  var report = OrderSoakReport()
  var rng = c.seed | 1
  func next(_ n: UInt64) -> Int64 {
    rng ^= rng << 13
    rng ^= rng >> 7
    rng ^= rng << 17
    return Int64(rng % n)
  }
  var resting: [ClientOrderID] = []
  try refill()
  for i in 0..<c.orders {
    if i % 20 == 0 { try refill() }
    if c.marketData && c.skipDiffEvery > 0 && i > 0 && i % c.skipDiffEvery == 0 {
      host.streams.skipNextDiff = true
    }
    if c.marketData && c.corruptDiffEvery > 0 && i > 0 && i % c.corruptDiffEvery == 0 {
      host.streams.corruptNextDiff = true
    }
    if stateInDoubt {
      // An account event could not be read: what it said is found out over REST first.
      stateInDoubt = false
      reconcilesAfterMalformedEvent += 1
      try settle()
    }
    if needsReconcile {
      // The user stream came back: trade only after what it missed is reconciled.
      needsReconcile = false
      reconcilesAfterResubscribe += 1
      try settle()
    }
    if i > 0 && i % c.reconcileEvery == 0 { try settle() }
    if !om.canPlace {
      try wait("Retry-After") { om.canSend }
      om.resumeTrading()  // a soak's operator resumes at once; a real one reads the reason
    }
    let id = ClientOrderID("soak-\(c.seed)-\(i)")
    let buy = next(2) == 0
    let cross = next(3) == 0
    let price: Int64 = buy ? (cross ? 10_010 : 9_990 - next(20)) : (cross ? 9_990 : 10_010 + next(20))
    guard om.submit(id, side: buy ? .buy : .sell, price: price, quantity: 1_000 + next(19_000)) else {
      continue
    }
    report.ordersSubmitted += 1
    // The venue publishes the book's change now (a busy market's stream is never quiet for long).
    if c.marketData { host.streams.emitNow() }
    resting.append(id)
    try wait("placement") { om.pending == 0 }
    if resting.count > c.restingWindow {
      let old = resting.removeFirst()
      if om.canSend, tracker.orders[old].map({ !$0.state.isDone }) == true {
        om.cancel(old)
        report.cancelsSent += 1
        try wait("cancel") { om.pending == 0 }
      }
    }
  }
  try settle()
  if c.userStream || c.marketData { loop.run(timeoutNs: 300_000_000) { false } }  // the last events
  try settle()

  compare(engine: engine, tracker: tracker, into: &report)
  // Balances: read back over REST and compared with the venue's ledger, in Binance's 8 decimals.
  var read = false
  var readOK = false
  for _ in 0..<5 where !readOK {
    try wait("Retry-After") { om.canSend }
    om.refreshBalances {
      readOK = $0
      read = true
    }
    try wait("balances") { read }
    read = false
  }
  compareBalances(om.balances, engine: engine, into: &report)
  if let u = user {
    report.userEvents = u.events
    report.userSubscriptions = subscriptions
    report.reconcilesAfterResubscribe = reconcilesAfterResubscribe
    u.stop()
  }
  if let m = md {
    report.bookCheckpoints = check.checkpoints
    report.bookMismatches = check.mismatches
    report.bookSnapshots = m.sync.counters.snapshots
    report.bookGaps = m.sync.counters.gaps + m.sync.counters.snapshotMismatches
    report.diffsSkipped = host.streams.diffsSkipped
    report.streamReconnects = m.reconnects
    if let first = check.firstMismatch { report.mismatches.append(first) }
    m.stop()
  }
  report.duplicateFillsDropped = tracker.duplicateFills
  report.unknownOutcomes = om.unknownOutcomes
  report.rateLimited = om.rateLimited
  report.banned = om.banned
  report.faults = host.rest.faults?.counts ?? [:]
  lines.stop()
  for log in problemLogs {
    for kind in ProblemKind.allCases where log[kind] > 0 {
      report.problemsSeen[kind.label, default: 0] += log[kind]
    }
  }
  report.problemLogLines = lines.count
  report.firstProblemLines = lines.first
  report.diffsCorrupted = host.streams.diffsCorrupted
  report.reconcilesAfterMalformedEvent = reconcilesAfterMalformedEvent
  report.seconds = Date().timeIntervalSince(start)
  return report
}

// MARK: pieces both soaks share

/// The soak's side thread: it formats what the connectors report as malformed (they only post
/// records), counting the lines and keeping the first few for the report.
final class SoakProblemLines: @unchecked Sendable {
  var count = 0
  var first: [String] = []
  private(set) var side: SideThread<SideRecord>!

  init() {
    side = SideThread<SideRecord>(capacity: 1 << 12) { [unowned self] r in
      guard let line = ProblemLog.describe(r) else { return }
      count += 1
      if first.count < 4 { first.append(line) }
    }
    side.start()
  }

  func attach(_ logs: [ProblemLog]) { for log in logs { log.post = side.post } }
  func stop() { side.stop() }
}

/// Records the venue's top 20 levels a side at every diff it sends (the last 2,000 kept), so the
/// client's book can be compared at that update id; closes stream connections as configured.
func recordVenueBooks(_ host: VenueHost, into check: BookCheck, _ c: OrderSoakConfig) {
  let engine = host.engine
  host.streams.forcedDisconnectNs = c.streamDisconnectNs
  host.streams.onDiffEmitted = { name, u in
    let d = engine.depth(symbol: name, limit: 20)
    check.truth[u] = (d.bids, d.asks)
    check.truth[u - 2_000] = nil
  }
}

/// Liquidity from account 9 on both sides, so crossing orders fill (often partly).
func refillLiquidity(_ engine: MatchingEngine) throws {
  for i in 0..<6 {
    var o = NewOrder(account: 9, symbol: "BTCUSDT", side: i % 2 == 0 ? .BUY : .SELL, type: .LIMIT)
    o.priceTicks = i % 2 == 0 ? 9_995 - Int64(i) : 10_005 + Int64(i)
    o.quantity = 20_000
    _ = try engine.place(o)
  }
}

/// Balances the client read back (units of 10⁻⁸, Binance's decimals) against account 1's ledger.
func compareBalances(
  _ balances: [String: (free: Int128, locked: Int128)]?, engine: MatchingEngine,
  into report: inout OrderSoakReport
) {
  for asset in ["BTC", "USDT"] {
    let v = engine.balance(account: 1, asset: asset)
    let scale: Int128 = 10_000_000_000  // venue units (10⁻¹⁸) → 10⁻⁸
    guard let b = balances?[asset] else {
      report.balanceMismatches.append("\(asset) not reported")
      continue
    }
    report.balancesCompared += 1
    if b.free != v.free / scale || b.locked != v.locked / scale {
      report.balanceMismatches.append(
        "\(asset): client free \(b.free) locked \(b.locked), venue free \(v.free / scale) locked \(v.locked / scale)"
      )
    }
  }
}

/// Compares the tracker with the venue for account 1 on BTCUSDT: every venue order known in the
/// same final state with the same fills, none open at the venue but closed in the tracker, none
/// open in the tracker that the venue never saw, and the same number of fills.
public func compare(engine: MatchingEngine, tracker: OrderTracker, into report: inout OrderSoakReport) {
  let venueOrders = engine.orders.values.filter { $0.account == 1 }
  report.venueOrders = venueOrders.count
  var seen = Set<String>()
  for v in venueOrders {
    seen.insert(v.clientOrderId)
    guard let t = tracker.orders[ClientOrderID(v.clientOrderId)] else {
      report.mismatchCount += 1
      if report.mismatches.count < 10 {
        report.mismatches.append("\(v.clientOrderId) unknown to the tracker")
      }
      continue
    }
    let want = trackerState(v.status)
    if t.state != want || t.filledQuantity != v.executedQty {
      report.mismatchCount += 1
      if report.mismatches.count < 10 {
        report.mismatches.append(
          "\(v.clientOrderId): venue \(v.status) \(v.executedQty), tracker \(t.state) \(t.filledQuantity)")
      }
    }
    if (v.status == .NEW || v.status == .PARTIALLY_FILLED) && t.state.isDone {
      report.openAtVenueClosedInTracker += 1
    }
    report.compared += 1
  }
  for t in tracker.orders.values
  where !seen.contains(t.clientOrderID.value) && !(t.state == .failed || t.state == .lost) {
    report.openInTrackerUnknownToVenue += 1
  }
  report.venueFills = engine.myTrades(account: 1, symbol: "BTCUSDT").count
  report.trackerFills = tracker.orders.values.reduce(0) { $0 + $1.tradeIDCount }
}
