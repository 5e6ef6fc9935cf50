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
    f.retryAfterSeconds = 1
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

  public init() {}

  public var agrees: Bool {
    mismatchCount == 0 && openAtVenueClosedInTracker == 0 && openInTrackerUnknownToVenue == 0
      && venueFills == trackerFills
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
      """ + (mismatches.isEmpty ? "" : "\nfirst mismatches: " + mismatches.joined(separator: "; "))
  }
}

public enum SoakError: Error { case timedOut(String) }

/// Runs the soak on the calling thread (it owns the event loop) and returns the comparison.
public func runOrderSoak(_ c: OrderSoakConfig, certificateDir: String) throws -> OrderSoakReport {
  let start = Date()
  let certs = try VenueHost.ensureCertificates(dataDir: certificateDir)
  let loop = try EventLoop()
  defer { loop.shutdown() }
  let unit: Int128 = 1_000_000_000_000_000_000
  let inst = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)
  var sym = VenueSymbol(name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", instrument: inst)
  sym.minQty = 1
  sym.maxNumOrders = 0
  let engine = MatchingEngine(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
  engine.addSymbol(sym)
  for account in [1, 9] {
    engine.deposit(account: account, asset: "USDT", units: 1_000_000_000 * unit)
    engine.deposit(account: account, asset: "BTC", units: 100_000 * unit)
  }
  let host = try VenueHost(
    loop: loop, engine: engine,
    credentials: [VenueCredential(apiKey: "soak", account: 1, hmacSecret: "soak-secret")],
    tls: TLSContext(server: certs.cert, keyFile: certs.key), faults: c.faults)
  // The soak is about tracking through faults, not pacing: lift the venue's weight limit (6,000
  // per minute, Binance's) well above the ~40,000 weight per minute this loop sends; forced
  // 429/418s still come from the fault plan.
  host.rest.weightLimitOverride(c.weightLimitPerMinute)
  let http = HTTPClient(
    loop: loop, host: "127.0.0.1", port: host.port, tls: try TLSContext(client: certs.ca),
    serverName: "localhost")
  let rest = BinanceSpotREST(http: http, apiKey: "soak", secret: "soak-secret", instrument: inst)
  rest.timeoutNs = 2_000_000_000
  let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: 50_000_000)
  let om = BinanceOrderManager(
    rest: rest, tracker: tracker, symbol: "BTCUSDT", nowNs: { Int64(Date().timeIntervalSince1970 * 1e9) })

  func wait(_ what: String, _ cond: () -> Bool) throws {
    // Long enough for any Retry-After the venue has given, plus 30 s.
    let pause = max(0, rest.pausedUntilNs - rest.wallNs())
    if !loop.run(timeoutNs: pause + 30_000_000_000, until: cond) {
      throw SoakError.timedOut(
        "\(what) (after \(om.rateLimited) 429s, \(om.banned) 418s: \(om.haltReason ?? "-"))")
    }
  }
  func refill() throws {
    // Liquidity from account 9 on both sides, so crossing orders fill (often partly).
    for i in 0..<6 {
      var o = NewOrder(account: 9, symbol: "BTCUSDT", side: i % 2 == 0 ? .BUY : .SELL, type: .LIMIT)
      o.priceTicks = i % 2 == 0 ? 9_995 - Int64(i) : 10_005 + Int64(i)
      o.quantity = 20_000
      _ = try engine.place(o)
    }
  }
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

  compare(engine: engine, tracker: tracker, into: &report)
  report.duplicateFillsDropped = tracker.duplicateFills
  report.unknownOutcomes = om.unknownOutcomes
  report.rateLimited = om.rateLimited
  report.banned = om.banned
  report.faults = host.rest.faults?.counts ?? [:]
  report.seconds = Date().timeIntervalSince(start)
  return report
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
    let want: OrderState
    switch v.status {
    case .NEW: want = .open
    case .PARTIALLY_FILLED: want = .partiallyFilled
    case .FILLED: want = .filled
    case .CANCELED, .EXPIRED, .EXPIRED_IN_MATCH: want = .cancelled
    case .REJECTED: want = .failed
    }
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
  for (id, t) in tracker.orders where !seen.contains(id.value) && !(t.state == .failed || t.state == .lost) {
    report.openInTrackerUnknownToVenue += 1
  }
  report.venueFills = engine.myTrades(account: 1, symbol: "BTCUSDT").count
  report.trackerFills = tracker.orders.values.reduce(0) { $0 + $1.tradeIDCount }
}
