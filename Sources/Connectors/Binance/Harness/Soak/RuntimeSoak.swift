import BinanceHarness
import Connectors
import Engine
import FastBook
import Foundation
import Venue
import Wire

/// The order soak through the path `run` trades on: a `BinanceSession` (the runtime in the
/// one-thread layout — host, tracker, order ring, WebSocket API order entry, account events
/// through the exec ring, reconciliation over REST, the status poller) places and cancels orders
/// against the Venue with every fault class on, then is compared with the venue order by order,
/// fill by fill and balance by balance. Orders go in as a strategy's intents through the host;
/// reconciliation is the runtime's own (started by the wire side when state is in doubt, or by
/// the driver every `reconcileEvery` orders and at the end).
public func runRuntimeOrderSoak(_ c: OrderSoakConfig, certificateDir: String) throws -> OrderSoakReport {
  let start = Date()
  let certs = try VenueHost.ensureCertificates(dataDir: certificateDir)
  let loop = try EventLoop()
  defer { loop.shutdown() }
  let inst = harnessInstrument
  let host = try harnessVenue(
    loop: loop, certs: certs, apiKey: "soak", secret: "soak-secret", fundedAccounts: [1, 9], faults: c.faults,
    weightLimitPerMinute: c.weightLimitPerMinute)
  let engine = host.engine
  let time = LiveTime.shared
  let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: 200_000_000)
  let check = BookCheck(book: LadderBook(instrument: inst, windowTicks: 1 << 14, centreTick: 10_000))
  let hands = SoakHands(check: check)
  let session = BinanceSession(
    loop: loop, endpoint: .init(host: "127.0.0.1", port: host.port, serverName: "localhost"),
    tls: try TLSContext(client: certs.ca), apiKey: "soak", secret: "soak-secret", instrument: inst,
    strategy: hands, rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1), limits: RiskLimits(),
    prefix: "soak\(c.seed)-", tracker: tracker, clock: Clock(tickNs: 100_000_000, start: time.nowNs),
    centreTick: 10_000, time: time, rateLimits: soakLimits(c), answerTimeoutNs: c.answerTimeoutNs)
  hands.host = session.host
  session.rest.timeoutNs = 2_000_000_000
  let (runtime, entry, strategyHost) = (session.runtime, session.entry, session.host)

  let lines = SoakProblemLines()
  lines.attach(session.problemLogs)
  var doubts = 0
  session.onStateInDoubt = { doubts += 1 }

  if c.marketData { recordVenueBooks(host, into: check, c) }
  session.start()
  _ = session.run(timeoutNs: 10_000_000_000) { session.ready }

  func wait(_ what: String, _ cond: () -> Bool) throws {
    // Up to 30 s past the end of any Retry-After the venue has given (a ban extends it).
    let start = time.wallNs
    while true {
      let deadline = max(start, entry.pausedUntilNs) + 30_000_000_000
      let now = time.wallNs
      if now >= deadline {
        throw SoakError.timedOut(
          "\(what) (after \(entry.rateLimited) 429s, \(entry.banned) 418s: \(entry.haltReason ?? "-"); \(session.pendingRequests) pending, reconciling \(strategyHost.reconciling))"
        )
      }
      if session.run(timeoutNs: min(deadline - now, 1_000_000_000), until: cond) { return }
    }
  }
  func refill() throws { try refillLiquidity(engine) }
  var driverReconciles = 0
  func uncertain() -> Bool {
    tracker.activeOrders.contains { $0.state == .pendingCreate || $0.state == .pendingCancel }
  }
  /// The runtime's reconciliation until nothing is uncertain (bounded).
  func settle() throws {
    for _ in 0..<20 {
      try wait("Retry-After") { entry.canSend && session.rest.pending == 0 }
      entry.resumeTrading()
      try wait("the reconciliation under way") { !strategyHost.reconciling && session.pendingRequests == 0 }
      driverReconciles += 1
      runtime.requestReconciliation()
      try wait("reconciliation") { !strategyHost.reconciling && session.pendingRequests == 0 }
      runtime.retryCancels(now: time.nowNs)
      try wait("cancel retries") { session.pendingRequests == 0 }
      if !uncertain() && entry.canSend { return }
      _ = session.run(timeoutNs: 30_000_000) { false }
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
  var resting: [UInt64] = []
  var refused = 0
  try refill()
  for i in 0..<c.orders {
    if i % 20 == 0 { try refill() }
    if c.marketData && c.skipDiffEvery > 0 && i > 0 && i % c.skipDiffEvery == 0 {
      host.streams.skipNextDiff = true
    }
    if c.marketData && c.corruptDiffEvery > 0 && i > 0 && i % c.corruptDiffEvery == 0 {
      host.streams.corruptNextDiff = true
    }
    if i > 0 && i % c.reconcileEvery == 0 { try settle() }
    // A reconciliation the wire side asked for holds new orders: wait it out, as a strategy would.
    try wait("reconciliation before placing") { !strategyHost.reconciling }
    if !entry.canPlace {
      try wait("Retry-After") { entry.canSend }
      entry.resumeTrading()  // a soak's operator resumes at once; a real one reads the reason
    }
    let tag = UInt64(i + 1)
    let buy = next(2) == 0
    let cross = next(3) == 0
    let price: Int64 = buy ? (cross ? 10_010 : 9_990 - next(20)) : (cross ? 9_990 : 10_010 + next(20))
    let sent = entry.placesSent
    strategyHost.perform(referencePrice: StrategyHost.mid(runtime.book), now: time.nowNs) {
      $0.place(PlaceIntent(tag: tag, side: buy ? .buy : .sell, price: price, quantity: 1_000 + next(19_000)))
    }
    session.turn()
    guard entry.placesSent > sent else {
      refused += 1
      continue
    }
    report.ordersSubmitted += 1
    if c.marketData { host.streams.emitNow() }
    resting.append(tag)
    try wait("placement") { session.pendingRequests == 0 }
    if resting.count > c.restingWindow {
      let old = resting.removeFirst()
      let id = strategyHost.clientOrderID(tag: old)
      if entry.canSend, tracker.orders[id].map({ !$0.state.isDone }) == true {
        strategyHost.perform(referencePrice: StrategyHost.mid(runtime.book), now: time.nowNs) {
          $0.cancel(tag: old)
        }
        session.turn()
        report.cancelsSent += 1
        try wait("cancel") { session.pendingRequests == 0 }
      }
    }
  }
  try settle()
  _ = session.run(timeoutNs: 300_000_000) { false }  // the last events
  try settle()

  compare(engine: engine, tracker: tracker, into: &report)
  // Balances: read back over the node's REST client and compared with the venue's ledger.
  var balances: [String: (free: Int128, locked: Int128)]?
  for _ in 0..<5 where balances == nil {
    try wait("Retry-After") { entry.canSend && session.rest.pending == 0 }
    var read = false
    session.rest.account { outcome in
      if case .ok(let body) = outcome { balances = BinanceOrderManager.balances(body) }
      read = true
    }
    try wait("balances") { read }
  }
  compareBalances(balances, engine: engine, into: &report)
  report.userEvents = session.user.events
  report.userSubscriptions = session.accountSubscriptions
  report.reconcilesAfterResubscribe = max(0, session.accountSubscriptions - 1)
  report.bookCheckpoints = check.checkpoints
  report.bookMismatches = check.mismatches
  report.bookSnapshots = session.marketData.sync.counters.snapshots
  report.bookGaps =
    session.marketData.sync.counters.gaps + session.marketData.sync.counters.snapshotMismatches
  report.diffsSkipped = host.streams.diffsSkipped
  report.streamReconnects = session.marketData.reconnects
  if let first = check.firstMismatch { report.mismatches.append(first) }
  report.duplicateFillsDropped = tracker.duplicateFills
  report.unknownOutcomes = entry.unknownOutcomes
  report.rateLimited = entry.rateLimited
  report.banned = entry.banned
  report.faults = host.rest.faults?.counts ?? [:]
  report.reconcilesAfterMalformedEvent = session.user.malformed
  session.stop()
  lines.stop()
  for log in session.problemLogs {
    for kind in ProblemKind.allCases where log[kind] > 0 {
      report.problemsSeen[kind.label, default: 0] += log[kind]
    }
  }
  report.problemLogLines = lines.count
  report.firstProblemLines = lines.first
  report.diffsCorrupted = host.streams.diffsCorrupted
  report.runtime = OrderSoakReport.RuntimeFigures(
    reconciliations: runtime.reconciliations, driverReconciliations: driverReconciles, statesInDoubt: doubts,
    cancelRetries: runtime.cancelRetries, refusedUnsent: refused, answersTimedOut: entry.pending.expired)
  report.seconds = Date().timeIntervalSince(start)
  return report
}

/// The soak tests tracking, not pacing: the venue's limits are lifted, and the engine's policy
/// says the same figures.
func soakLimits(_ c: OrderSoakConfig) -> BinanceRateLimits {
  var l = BinanceRateLimits()
  l.requestWeightPerMinute = c.weightLimitPerMinute
  l.ordersPer10Seconds = 1_000_000
  l.ordersPerDay = 100_000_000
  return l
}

/// The soak's strategy: no ideas of its own (the driver places and cancels through the host);
/// each clean book batch the runtime hands it is compared with the venue's book at that update.
final class SoakHands: Strategy {
  let check: BookCheck
  weak var host: StrategyHost?
  init(check: BookCheck) { self.check = check }
  func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {
    guard let host, !host.stamps.snapshot else { return }
    check.check(book, updateID: host.stamps.updateID)
  }
}
