import BinanceHarness
import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import Strategies
import Synchronization
import Venue
import Wire

/// Tick-to-trade on the full live path, against the Venue over loopback TLS:
///
/// venue: change the book → build the depth frame → stamp `venueSentNs` → send
/// engine wire thread: recv CQE (`recvNs`) → TLS → WebSocket → decode (`decodedNs`) → book sync
///   → ring → strategy thread: apply (`appliedNs`) → probe strategy → rule, gate, tracker
///   (`decidedNs`) → ring → wire thread: encode + sign → WebSocket → TLS → send submitted (`sentNs`)
/// venue: the `order.place` frame arrives (`venueArrivalNs`) → next step.
///
/// The venue steps one book change at a time and waits for the probe's order (or a timeout)
/// before the next, so every sample is one clean round with no queue in front of it.
///
/// With `strategy = .pureMarketMaking` the engine runs event-driven pure market making instead
/// (one level a side, refresh tolerance 0): each step moves the mid by half a tick, the strategy
/// pulls both quotes (the sample ends at the first cancel's arrival) and, once the venue has
/// confirmed the cancels, places two new ones; the venue steps again when both have arrived.
public struct TickToTradeConfig: Sendable {
  public enum Layout: String, Sendable {
    /// DESIGN.md's runtime: a wire thread and a strategy thread, each busy-polling.
    case twoThreads = "two-threads"
    /// Wire loop and strategy loop run to completion on one busy-polling thread, same rings.
    case oneThread = "one-thread"
  }
  public var samples = 100_000
  public var warmup = 2_000
  public var layout = Layout.twoThreads
  public var wireCPU: Int? = 0
  public var strategyCPU: Int? = 1
  public var venueCPU: Int? = nil
  /// How long the venue waits for an order before stepping anyway (counted).
  public var stepTimeoutNs: Int64 = 50_000_000
  /// Step timeouts after which the run stops and reports (something is wrong by then).
  public var maxStepTimeouts = 200
  /// Whether the engine threads count their own allocations (needs perf's malloc_count.so).
  public var countAllocations = true
  /// Busy-poll (the measurement) or poll every 100 µs (tests on a shared machine: the same code
  /// path, without starving other work).
  public var spin = true
  /// Whether the venue's loop busy-polls too (one-thread layout: venue and engine each spin on a
  /// core of their own, so neither side pays a wake-up).
  public var venueSpin = false
  public enum StrategyKind: String, Sendable {
    /// An IOC order at the touch for every book change, tagged with the change's update id.
    case probe
    /// Event-driven pure market making: a mid move re-quotes (cancel both, place both).
    case pureMarketMaking = "pmm"
  }
  public var strategy = StrategyKind.probe
  /// Pure market making: how long the venue waits after a re-quote's last order before the next
  /// book change (the order answers reach the engine first).
  public var settleNs: Int64 = 200_000
  public init() {}
}

public struct TickToTradeSample: Sendable {
  public var updateID: Int64
  public var venueSentNs: Int64
  public var recvNs: Int64
  public var decodedNs: Int64
  public var appliedNs: Int64
  public var decidedNs: Int64
  public var queuedNs: Int64
  public var sentNs: Int64
  public var venueArrivalNs: Int64
}

public struct TickToTradeReport: Sendable {
  public var samples: [TickToTradeSample] = []
  public var layout = TickToTradeConfig.Layout.twoThreads
  public var wirePinned = false
  public var strategyPinned = false
  public var steps = 0
  public var stepTimeouts = 0
  public var timedOutUpdateIDs: [Int64] = []
  public var probeSkipped = 0
  public var batchesSeen = 0
  /// Orders the venue received whose tag was not a diff it had sent (must be 0).
  public var unmatchedArrivals = 0
  /// Allocations the engine threads made during the measured window (nil: not counted).
  public var engineAllocations: UInt64? = nil
  public var measuredMessages = 0
  /// Tracker vs venue after the run.
  public var trackerOrders = 0
  public var trackerCancelled = 0
  public var trackerOther = 0
  public var venueOrders = 0
  public var venueExpired = 0
  public var probePlaced = 0
  /// Pure market making: orders placed and cancels sent, and the venue's open orders at the end
  /// (its last two quotes) against the tracker's.
  public var strategyPlaced = 0
  public var strategyCancels = 0
  public var venueCancelled = 0
  public var venueOpen = 0
  public var trackerOpen = 0
  public var ruleRefusals = 0
  /// Orders the host refused while a reconciliation was under way.
  public var heldForReconciliation = 0
  public var gateRefusals = 0
  public var outboundFull = 0
  public var bookRingWaits = 0
  public var entryRejects = 0
  public var entryUnknown = 0
  public var entryMalformed = 0
  /// Orders the entry refused unsent: held back (Retry-After, halt), over the pacing budget, or
  /// with no open connection.
  public var entryRefusedUnsent = ""
  /// Reconciliations the runtime ran (the status poller's and the wire side's).
  public var reconciliations = 0
  /// What the reconciler asked over REST during the run (and on how many connections).
  public var reconcileRequests = ""
  public var resets = 0
  /// Market-data and order-entry connections lost during the run (and the last errors).
  public var disconnects = 0
  public var lastErrors = ""
  /// The wire side's book-sync counters at the end of the measured run.
  public var syncCounters = ""
  public var elapsedSeconds = 0.0
}

/// perf's malloc_count.so entry points, looked up once (nil when it is not preloaded).
let mallocCountThreadFn: (@convention(c) (Int32) -> Void)? = dlsym(
  dlopen(nil, RTLD_NOW), "malloc_count_thread"
).map { unsafeBitCast($0, to: (@convention(c) (Int32) -> Void).self) }
let mallocCountReadFn: (@convention(c) () -> UInt64)? = dlsym(
  dlopen(nil, RTLD_NOW), "malloc_count_read"
).map { unsafeBitCast($0, to: (@convention(c) () -> UInt64).self) }

/// Turns per-thread allocation counting on or off when malloc_count.so is preloaded.
func mallocCountThread(_ on: Bool) -> Bool {
  guard let f = mallocCountThreadFn else { return false }
  f(on ? 1 : 0)
  return true
}

func mallocCountRead() -> UInt64? { mallocCountReadFn?() }

/// Counts the calling thread's allocations over one window: from the first `follow(true)` to
/// the first `follow(false)` after it (the harness's measured window), once.
struct AllocationWindow {
  var counting = false
  var done = false
  var before: UInt64 = 0
  var count: UInt64 = 0

  mutating func follow(_ measuring: Bool) {
    if measuring, !counting, !done {
      counting = mallocCountThread(true)
      done = !counting
      before = mallocCountRead() ?? 0
    } else if !measuring, counting {
      _ = mallocCountThread(false)
      count = (mallocCountRead() ?? 0) &- before
      counting = false
      done = true
    }
  }
}

/// An allocation window the strategy thread keeps (captured by the node's per-turn hook).
final class AllocationWindowBox: @unchecked Sendable {
  var window = AllocationWindow()
}

/// Shared between the venue thread, the engine threads and the caller; written before the flags
/// that publish it (Atomic acquire/release), so plain fields are safe.
final class T2TShared: @unchecked Sendable {
  let engineReady = Atomic<Bool>(false)
  let venueDone = Atomic<Bool>(false)
  let stop = Atomic<Bool>(false)
  let measuring = Atomic<Bool>(false)
  let port = Atomic<Int>(0)
  var venueSent: [Int64: Int64] = [:]
  var venueArrival: [Int64: Int64] = [:]
  var firstMeasuredID: Int64 = .max
  var steps = 0
  var timeouts = 0
  var timedOutIDs: [Int64] = []
  var unmatched = 0
  var venueOrders = 0
  var venueExpired = 0
  var venueCancelled = 0
  var venueOpen = 0
  var error: String?
}

public func runTickToTrade(_ c: TickToTradeConfig, certificateDir: String) throws -> TickToTradeReport {
  let started = Date()
  let certs = try VenueHost.ensureCertificates(dataDir: certificateDir)
  let shared = T2TShared()
  let inst = harnessInstrument
  // The production id format ("nt", 8 hex digits, "-", the tag) with tags past 100,000: 17 bytes
  // and more, beyond Swift's 15-byte inline strings, so an id that became a String would allocate.
  let prefix = "nt5eed7e57-"

  // MARK: venue thread
  let venue = NativeThread(name: "nt-venue", cpu: c.venueCPU) {
    do {
      try runVenue(c, shared: shared, prefix: prefix, certs: certs)
    } catch {
      shared.error = "venue: \(error)"
      shared.port.store(-1, ordering: .releasing)
    }
    shared.venueDone.store(true, ordering: .releasing)
  }
  while shared.port.load(ordering: .acquiring) == 0 { usleep(1000) }
  let port = shared.port.load(ordering: .acquiring)
  guard port > 0 else {
    venue.join()
    throw SoakError.timedOut(shared.error ?? "venue did not start")
  }

  // MARK: engine: the trading node `run` trades on (Binance spot: market data, WebSocket API
  // order entry, the account stream, REST reconciliation and the status poller), built and run
  // on the wire thread; in the two-thread layout the strategy thread is the node's own.
  // The probe sends one order a step; the market maker places two and cancels two.
  let (ordersPerStep, commandsPerStep) = c.strategy == .pureMarketMaking ? (2, 4) : (1, 1)
  let tracker = OrderTracker(capacity: ordersPerStep * (c.samples + c.warmup) + 4096)
  tracker.prefault(count: ordersPerStep * (c.samples + c.warmup) + 4096)
  let probe = ProbeStrategy(quantity: 10)  // 0.0001 BTC
  let rule = TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1)
  let pmm = c.strategy == .pureMarketMaking ? t2tMarketMaker(rule: rule) : nil
  pmm?.nextTag = t2tFirstTag
  var limits = RiskLimits()
  limits.maxOrderQuantity = 1_000
  limits.maxOpenOrders = 1_000
  limits.priceBandBps = 100
  // The harness sends thousands of orders a second: the venue's limits are lifted, and the
  // node's pacing says the same figures (its limiter still runs on every request).
  var rates = BinanceRateLimits()
  rates.requestWeightPerMinute = 1 << 40
  rates.ordersPer10Seconds = 1 << 40
  rates.ordersPerDay = 1 << 50
  let log = LatencyLog(capacity: commandsPerStep * (c.samples + c.warmup) + 4096)
  var wireAllocs: UInt64 = 0
  var strategyAllocs: UInt64 = 0
  var report = TickToTradeReport()
  report.layout = c.layout
  let counting = c.countAllocations
  var built: TradingNode<BinanceSpotAdapter>?
  var strategyPinned = false

  // MARK: wire thread
  let wire = NativeThread(name: "nt-wire", cpu: c.wireCPU) {
    do {
      let loop = try EventLoop()
      defer { loop.shutdown() }
      let oneThread = c.layout == .oneThread
      let node = TradingNode<BinanceSpotAdapter>(
        loop: loop, endpoint: .init(host: "127.0.0.1", port: UInt16(port), serverName: "localhost"),
        tls: try TLSContext(client: certs.ca), apiKey: "t2t", secret: "t2t-secret", instrument: inst,
        strategy: pmm ?? probe, rule: rule, limits: limits, prefix: prefix, tracker: tracker,
        clock: Clock(tickNs: 1_000_000_000, start: cplat_now_ns()), bookWindowTicks: 1 << 16,
        centreTick: 5_000_000, rateLimits: rates, layout: oneThread ? .oneThread : .twoThreads)
      built = node
      probe.host = node.host
      node.entry.latency = log
      node.start()
      var ready = false
      var window = AllocationWindow()
      if oneThread, let cpu = c.strategyCPU { _ = cplat_pin_current_thread(Int32(cpu)) }
      let mode: EventLoop.WaitMode = c.spin ? .busyPoll : .block
      func wireSide() -> Bool {
        if !ready, node.ready {
          ready = true
          shared.engineReady.store(true, ordering: .releasing)
        }
        if counting { window.follow(shared.measuring.load(ordering: .acquiring)) }
        return shared.stop.load(ordering: .acquiring)
      }
      if oneThread {
        node.run(mode: mode, timeoutNs: .max, wakeNs: 100_000) { wireSide() }
      } else {
        let strategyWindow = AllocationWindowBox()
        node.runTwoThreads(
          strategyCPU: c.strategyCPU, idle: c.spin ? .spin : .sleep(microseconds: 100), mode: mode,
          timeoutNs: .max,
          onStrategy: {
            if counting { strategyWindow.window.follow(shared.measuring.load(ordering: .acquiring)) }
          }
        ) { wireSide() }
        strategyAllocs = strategyWindow.window.count
        strategyPinned = node.strategyPinned
      }
      wireAllocs = window.count
      let md = node.marketData
      let entry = node.entry
      report.bookRingWaits = md.sync.sink.inner.fullWaits
      report.entryRejects = entry.rejects
      report.entryUnknown = entry.unknownOutcomes
      report.entryMalformed = entry.malformed + md.malformed
      report.entryRefusedUnsent =
        "held \(entry.heldBack), throttled \(entry.throttled), not sent \(entry.notSent)"
      report.syncCounters = "\(md.sync.counters)"
      let r = node.reconciler
      report.reconcileRequests =
        "\(r.queries) status queries, \(r.tradePages) myTrades pages, \(r.lane.answers) answers, \(r.lane.failures) failed, \(r.lane.connectionsOpened) connections"
      report.disconnects = md.socket.disconnects + entry.socket.disconnects
      report.lastErrors =
        "\(md.socket.lastError.map { "\($0)" } ?? "-") / \(entry.socket.lastError.map { "\($0)" } ?? "-")"
      node.stop()
      loop.run(timeoutNs: 100_000_000) { false }
    } catch {
      shared.error = "wire: \(error)"
    }
  }

  venue.join()
  // Let the last answers reach the tracker before stopping the engine.
  let drainUntil = cplat_now_ns() + 300_000_000
  while cplat_now_ns() < drainUntil { usleep(10_000) }
  shared.stop.store(true, ordering: .releasing)
  wire.join()
  if let e = shared.error { throw SoakError.timedOut(e) }
  guard let node = built else { throw SoakError.timedOut("the engine did not start") }
  let (host, runtime) = (node.host, node.runtime)

  report.wirePinned = wire.pinned || c.layout == .oneThread
  report.strategyPinned = c.layout == .oneThread ? report.wirePinned : strategyPinned
  if counting, mallocCountRead() != nil { report.engineAllocations = wireAllocs + strategyAllocs }
  report.steps = shared.steps
  report.stepTimeouts = shared.timeouts
  report.timedOutUpdateIDs = shared.timedOutIDs
  report.probeSkipped = probe.skipped
  report.batchesSeen = runtime.batchesSeen
  report.unmatchedArrivals = shared.unmatched
  report.venueOrders = shared.venueOrders
  report.venueExpired = shared.venueExpired
  report.probePlaced = probe.placed
  report.strategyPlaced = pmm?.placed ?? probe.placed
  report.strategyCancels = pmm?.cancelsSent ?? 0
  report.venueCancelled = shared.venueCancelled
  report.venueOpen = shared.venueOpen
  report.ruleRefusals = host.ruleRefusals
  report.heldForReconciliation = host.heldForReconciliation
  report.gateRefusals = RiskRefusal.allCases.reduce(0) { $0 + host.gate.refusals($1) }
  report.outboundFull = host.outboundFull
  report.resets = runtime.applier.resets
  report.reconciliations = runtime.reconciliations
  report.trackerOrders = tracker.orders.count
  for o in tracker.orders.values {
    if o.state == .cancelled {
      report.trackerCancelled += 1
    } else if o.state == .open {
      report.trackerOpen += 1
    } else {
      report.trackerOther += 1
    }
  }
  // The first order command each measured book change caused (the probe's order; the market
  // maker's first cancel — its places, caused by the cancels' answers, carry no update id).
  var seen = Set<Int64>()
  for s in log.all where s.stamps.updateID >= shared.firstMeasuredID {
    let u = s.stamps.updateID
    guard seen.insert(u).inserted, let sent = shared.venueSent[u], let arrived = shared.venueArrival[u] else {
      continue
    }
    report.samples.append(
      TickToTradeSample(
        updateID: u, venueSentNs: sent, recvNs: s.stamps.recvNs, decodedNs: s.stamps.decodedNs,
        appliedNs: s.stamps.appliedNs, decidedNs: s.stamps.decidedNs, queuedNs: s.queuedNs, sentNs: s.sentNs,
        venueArrivalNs: arrived))
  }
  report.measuredMessages = report.samples.count
  report.elapsedSeconds = Date().timeIntervalSince(started)
  return report
}

/// Where the harness's tags start: production runs reach it within hours, and its ids are past
/// inline-string length (see `runTickToTrade`).
let t2tFirstTag: UInt64 = 40_000_000_000

/// The venue side: a Venue on its own loop, stepping the book one change at a time.
func runVenue(
  _ c: TickToTradeConfig, shared: T2TShared, prefix: String, certs: (ca: String, cert: String, key: String)
) throws {
  let loop = try EventLoop()
  defer { loop.shutdown() }
  let host = try harnessVenue(
    loop: loop, certs: certs, apiKey: "t2t", secret: "t2t-secret", fundedAccounts: [1],
    weightLimitPerMinute: 1 << 40)
  host.streams.pingIntervalNs = 3_600_000_000_000
  let engine = host.engine
  // The probe tags its orders with the update id: real-sized ids (the tags go past 100,000).
  engine.setBookUpdateID(symbol: "BTCUSDT", Int64(t2tFirstTag))
  // A two-sided book around 50,000.00 (ticks of 0.01).
  let mid: Int64 = 5_000_000
  for k in 1...20 {
    engine.setMarketLevel(symbol: "BTCUSDT", side: .BUY, ticks: mid - Int64(k), quantity: 100_000)
    engine.setMarketLevel(symbol: "BTCUSDT", side: .SELL, ticks: mid + Int64(k), quantity: 100_000)
  }

  let total = c.warmup + c.samples
  var pending: Int64 = 0  // the update id the venue waits an order for
  var pendingSince: Int64 = 0
  var arrivals = 0
  var step = 0
  let prefixBytes = Array(("\"newClientOrderId\":\"" + prefix).utf8)

  let pmm = c.strategy == .pureMarketMaking
  let anyOurs = Array(("ClientOrderId\":\"" + prefix).utf8)
  let placeMethod = Array("\"order.place\"".utf8)
  var placesThisStep = 0
  var started = false
  var stepping = false
  host.streams.onDiffSent = { _, u, ns in
    shared.venueSent[u] = ns
    guard started else { return }  // diffs of the initial book, before stepping
    // The market maker's own orders change the book too, and the venue's periodic diffs carry
    // them: only the diff a step sends is a change to answer.
    guard stepping || !pmm else { return }
    pending = u
    pendingSince = ns
  }
  func next() {
    guard arrivals < total else {
      // The measured window ends here, before anything closes (the engine's reconnect attempts
      // after the venue goes away are not part of it).
      shared.measuring.store(false, ordering: .releasing)
      shared.venueDone.store(true, ordering: .releasing)
      return
    }
    if arrivals == c.warmup && shared.firstMeasuredID == .max {
      shared.firstMeasuredID = engine.bookUpdateID(symbol: "BTCUSDT") + 1
      shared.measuring.store(true, ordering: .releasing)
    }
    step += 1
    if pmm {
      // The best bid goes and comes back: the mid moves by half a tick each step.
      placesThisStep = 0
      engine.setMarketLevel(
        symbol: "BTCUSDT", side: .BUY, ticks: mid - 1, quantity: step % 2 == 1 ? 0 : 100_000)
    } else {
      // One change a step: the size of one level below the touch, cycling over five levels.
      let k = Int64(1 + step % 5)
      engine.setMarketLevel(
        symbol: "BTCUSDT", side: .BUY, ticks: mid - 1 - k, quantity: 100_000 + Int64(step % 7) * 1_000)
    }
    shared.steps += 1
    stepping = true
    host.streams.emitNow()
    stepping = false
  }
  host.api.onRequest = { payload, ns in
    if pmm {
      // Any request of ours (place or cancel) after a change is the answer to it; the step ends
      // when the re-quote's two new orders have arrived.
      guard started, pending != 0, find(payload, anyOurs) else { return }
      if shared.venueArrival[pending] == nil { shared.venueArrival[pending] = ns }
      if find(payload, placeMethod) {
        placesThisStep += 1
        if placesThisStep == 2 {
          pending = 0
          arrivals += 1
          _ = loop.schedule(after: c.settleNs) { next() }
        }
      }
      return
    }
    guard let tag = parseTag(payload, after: prefixBytes) else { return }
    guard shared.venueSent[tag] != nil else {
      shared.unmatched += 1
      return
    }
    shared.venueArrival[tag] = ns
    if started && tag == pending {
      pending = 0
      arrivals += 1
      _ = loop.schedule(after: 0) { next() }
    }
  }
  // Start once the engine is synced and its order socket is open; a watchdog steps on when an
  // order does not come (the probe skipped, the gate refused) so the run always ends.
  func waitForEngine() {
    // The market maker's first two quotes rest before the first step.
    let quoting = !pmm || engine.openOrders(account: 1).count == 2
    if shared.engineReady.load(ordering: .acquiring) && quoting {
      started = true
      next()
      watchdog()
    } else {
      _ = loop.schedule(after: 1_000_000) { waitForEngine() }
    }
  }
  func watchdog() {
    if shared.venueDone.load(ordering: .acquiring) { return }
    if pending != 0 && cplat_now_ns() - pendingSince > c.stepTimeoutNs {
      shared.timeouts += 1
      shared.timedOutIDs.append(pending)
      pending = 0
      arrivals += 1
      // A run gone wrong ends with its counters instead of stepping on at one step a timeout.
      if shared.timeouts >= c.maxStepTimeouts {
        print("t2t_aborted after \(shared.timeouts) step timeouts at step \(step)")
        arrivals = total
      }
      next()
    }
    _ = loop.schedule(after: 5_000_000) { watchdog() }
  }
  shared.port.store(Int(host.port), ordering: .releasing)
  waitForEngine()
  loop.run(mode: c.venueSpin ? .busyPoll : .block) { shared.venueDone.load(ordering: .acquiring) }
  // Give the last answers a moment, then record what the venue holds.
  loop.run(timeoutNs: 200_000_000) { false }
  for o in engine.orders.values where o.account == 1 {
    shared.venueOrders += 1
    if o.status == .EXPIRED { shared.venueExpired += 1 }
    if o.status == .CANCELED { shared.venueCancelled += 1 }
    if o.status == .NEW { shared.venueOpen += 1 }
  }
  host.streams.close()
  loop.run(timeoutNs: 50_000_000) { false }
}

/// The market maker the tick-to-trade harness runs: event-driven, one level a side 0.5 % from
/// the mid (inside the gate's 100 bp band), 0.0001 BTC, refresh tolerance 0 (every mid move
/// re-quotes), no tick-driven refresh within the run, cancels confirmed before new orders.
func t2tMarketMaker(rule: TradingRule) -> PureMarketMaking {
  var c = PureMarketMakingConfig()
  c.bidSpread = 0.005
  c.askSpread = 0.005
  c.orderAmount = 10
  c.orderRefreshTolerance = 0
  c.orderRefreshTimeNs = 3_600_000_000_000
  c.maxOrderAgeNs = 3_600_000_000_000
  c.filledOrderDelayNs = 0
  c.eventDriven = true
  c.waitForCancelConfirmation = true
  let unit: Int128 = 1_000_000_000_000_000_000
  let p = Portfolio(
    base: 100_000 * unit, quote: 1_000_000_000 * unit,
    fees: FeeSchema(makerRate: 100_000, takerRate: 100_000),
    priceScale: harnessInstrument.priceScale, quantityScale: harnessInstrument.quantityScale)
  return PureMarketMaking(config: c, rule: rule, instrument: harnessInstrument, portfolio: p)
}

/// Whether `needle` occurs in a request frame.
func find(_ p: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
  let n = needle.count
  guard p.count >= n, n > 0 else { return false }
  var i = 0
  while i + n <= p.count {
    if p[i] == needle[0] {
      var j = 1
      while j < n && p[i + j] == needle[j] { j += 1 }
      if j == n { return true }
    }
    i += 1
  }
  return false
}

/// The decimal tag after `needle` in a request frame, or nil.
func parseTag(_ p: UnsafeRawBufferPointer, after needle: [UInt8]) -> Int64? {
  let n = needle.count
  guard p.count > n else { return nil }
  var i = 0
  while i + n < p.count {
    if p[i] == needle[0] {
      var j = 1
      while j < n && p[i + j] == needle[j] { j += 1 }
      if j == n {
        var v: Int64 = 0
        var k = i + n
        var any = false
        while k < p.count, p[k] >= 48, p[k] <= 57 {
          v = v * 10 + Int64(p[k] - 48)
          k += 1
          any = true
        }
        return any ? v : nil
      }
    }
    i += 1
  }
  return nil
}
