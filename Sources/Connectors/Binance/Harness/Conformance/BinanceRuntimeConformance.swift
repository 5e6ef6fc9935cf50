import Conformance
import Connectors
import Engine
import FastBook
import Foundation
import Venue
import Wire

/// The Binance spot connector as `run` and `demo` trade through it, against the Venue, for the
/// conformance checks: a `BinanceSession` — the runtime in the one-thread layout, orders over the
/// WebSocket API, account events through the exec ring, reconciliation by status queries over
/// REST, the status poller on the Clock — over loopback TLS. The checks' orders go in as a
/// strategy's intents through the session's host (rule, gate, tracker, order ring) and out
/// through its order entry; nothing here talks to the venue on the connector's behalf.
public final class BinanceRuntimeConformanceHarness: ConformanceHarness {
  public let venueName = "binance-spot runtime (WebSocket API)"
  let loop: EventLoop
  let host: VenueHost
  let engine: MatchingEngine
  let faults: FaultInjector
  public let session: BinanceSession
  let instrument = harnessInstrument
  var tags: [String: UInt64] = [:]
  var nextTag: UInt64 = 1
  var liquiditySeq = 0
  var reconciled: (() -> Void)?
  public var stateInDoubt = false
  public var diagnostics: String {
    let e = session.entry
    return
      "sync \(session.marketData.sync.state), entry sent \(e.placesSent)/\(e.cancelsSent) answers \(e.responses) rejects \(e.rejects) unknown \(e.unknownOutcomes) held \(e.heldBack) pending \(e.pending.count), reconciliations \(session.runtime.reconciliations), tracker unknown updates \(tracker.unknownOrderUpdates)"
  }

  /// Set to prove the suite can fail: the order entry is left without its reconciler, so a
  /// reconciliation round ends at once having asked the venue nothing.
  public var sabotageReconcile = false {
    didSet { session.entry.reconciler = sabotageReconcile ? nil : session.reconciler }
  }

  /// The venue's limits are lifted for the checks (`harnessVenue`); the engine's policy says so.
  static var liftedLimits: BinanceRateLimits {
    var l = BinanceRateLimits()
    l.requestWeightPerMinute = 1_000_000
    l.ordersPer10Seconds = 1_000_000
    return l
  }

  /// A strategy with no ideas of its own: the checks place and cancel through the host.
  final class Hands: Strategy {
    func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {}
  }

  public init(certificateDir: String) throws {
    let certs = try VenueHost.ensureCertificates(dataDir: certificateDir)
    loop = try EventLoop()
    host = try harnessVenue(
      loop: loop, certs: certs, apiKey: "cf", secret: "cf-secret", fundedAccounts: [1, 9],
      faults: FaultPlan(), weightLimitPerMinute: 1_000_000)
    engine = host.engine
    faults = host.rest.faults!
    let tracker = OrderTracker(notFoundLimit: 2, retainFinishedNs: .max, cancelRetryNs: 50_000_000)
    let time = LiveTime.shared
    session = BinanceSession(
      loop: loop, endpoint: .init(host: "127.0.0.1", port: host.port, serverName: "localhost"),
      tls: try TLSContext(client: certs.ca), apiKey: "cf", secret: "cf-secret", instrument: instrument,
      strategy: Hands(), rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1), limits: RiskLimits(),
      prefix: "cf-", tracker: tracker, clock: Clock(tickNs: 100_000_000, start: time.nowNs),
      centreTick: 10_000, time: time, rateLimits: Self.liftedLimits, answerTimeoutNs: 1_000_000_000)
    session.rest.timeoutNs = 1_000_000_000
    session.onStateInDoubt = { [unowned self] in stateInDoubt = true }
    for i in 0..<6 {
      addLiquidity(
        side: i % 2 == 0 ? .buy : .sell, priceTick: i % 2 == 0 ? 9_990 - Int64(i) : 10_010 + Int64(i),
        quantity: 50_000)
    }
    session.start()
  }

  deinit {
    session.stop()
    loop.shutdown()
  }

  public func run(timeoutNs: Int64, until condition: () -> Bool) -> Bool {
    session.run(timeoutNs: timeoutNs) {
      if let done = reconciled, !session.host.reconciling {
        reconciled = nil
        done()
      }
      return condition()
    }
  }

  // MARK: market data

  public var bookSynced: Bool {
    if case .synced = session.marketData.sync.state { session.runtime.applier.isLive } else { false }
  }
  public func clientBook(levels n: Int) -> (bids: [BookLevel], asks: [BookLevel]) {
    (session.runtime.book.levels(.bid, limit: n), session.runtime.book.levels(.ask, limit: n))
  }
  public func venueBook(levels n: Int) -> (bids: [BookLevel], asks: [BookLevel]) {
    engine.depth(symbol: instrument.symbol, limit: n)
  }
  public var bookRebuilds: Int { session.marketData.sync.counters.snapshots }
  public func changeVenueBook() {
    liquiditySeq += 1
    addLiquidity(
      side: .buy, priceTick: 9_980 - Int64(liquiditySeq % 7), quantity: 1_000 + Int64(liquiditySeq))
  }
  public func injectBookGap() { host.streams.skipNextDiff = true }
  public func injectMalformedBookUpdate() { host.streams.corruptNextDiff = true }
  public func dropMarketStreams() { host.streams.disconnectAll() }

  // MARK: orders

  public var tracker: OrderTracker { session.host.tracker }

  public func orderID(_ name: String) -> ClientOrderID {
    if let t = tags[name] { return session.host.clientOrderID(tag: t) }
    tags[name] = nextTag
    nextTag += 1
    return session.host.clientOrderID(tag: nextTag - 1)
  }

  var referencePrice: Int64 { StrategyHost.mid(session.runtime.book) }

  /// As a strategy's intent: the host quantizes, gates and tracks it, the order ring carries it,
  /// and the wire side sends it at once — or refuses it unsent (a Retry-After, a halt), which is
  /// what false reports.
  public func submit(_ id: ClientOrderID, side: TradeSide, priceTick: Int64, quantity: Int64) -> Bool {
    guard let tag = session.host.tag(of: id) else { return false }
    let sent = session.entry.placesSent
    session.host.perform(referencePrice: referencePrice, now: session.runtime.time.nowNs) {
      $0.place(PlaceIntent(tag: tag, side: side, price: priceTick * instrument.tickSize, quantity: quantity))
    }
    guard tracker.orders[id] != nil else { return false }
    session.turn()
    return session.entry.placesSent > sent
  }

  public func cancel(_ id: ClientOrderID) {
    guard let tag = session.host.tag(of: id) else { return }
    session.host.perform(referencePrice: referencePrice, now: session.runtime.time.nowNs) {
      $0.cancel(tag: tag)
    }
    session.turn()
  }

  /// The runtime's own reconciliation (orders held, status queries, recent fills); `done` when
  /// the round, and any the runtime chains to it, has ended.
  public func reconcile(_ done: @escaping () -> Void) {
    session.runtime.requestReconciliation()
    reconciled = done
  }

  public var pending: Int { session.pendingRequests }
  public var canSend: Bool { session.entry.canSend }
  public var canPlace: Bool { session.entry.canPlace }
  public var haltReason: String? { session.entry.haltReason }
  public func resumeTrading() { session.entry.resumeTrading() }

  public func venueOrder(_ id: ClientOrderID) -> (state: OrderState, filled: Int64)? {
    guard let v = engine.orders.values.first(where: { $0.account == 1 && $0.clientOrderId == id.value })
    else { return nil }
    return (trackerState(v.status), v.executedQty)
  }
  public var venueFillCount: Int { engine.myTrades(account: 1, symbol: instrument.symbol).count }

  public func addLiquidity(side: TradeSide, priceTick: Int64, quantity: Int64) {
    var o = NewOrder(account: 9, symbol: instrument.symbol, side: side == .buy ? .BUY : .SELL, type: .LIMIT)
    o.priceTicks = priceTick
    o.quantity = quantity
    if let r = try? engine.place(o) { host.rest.notifyEvents(r.events) }
    host.streams.emitNow()
  }
  public var passiveBuyTick: Int64 { 9_995 }
  public var crossingBuyTick: Int64 { 10_005 }

  // MARK: faults

  public func loseNextOrderResponse() { faults.arm("response lost after accept") }
  public func rateLimitNextRequest(status: Int, retryAfterSeconds: Int) {
    faults.plan.retryAfterSeconds = retryAfterSeconds
    faults.arm(status == 418 ? "forced 418" : "forced 429")
  }
  public var requestsDuringRetryAfter: Int { faults.counts["418 for ignoring Retry-After"] ?? 0 }
  public func cutNextAccountEvent() { faults.arm("user event cut short") }
  public func dropAccountStreamAfterNextEvent() { faults.arm("socket closed") }
  public var accountSubscriptions: Int { session.accountSubscriptions }
  public var malformedCounted: Int { session.problemLogs.reduce(0) { $0 + $1.total } }
}
