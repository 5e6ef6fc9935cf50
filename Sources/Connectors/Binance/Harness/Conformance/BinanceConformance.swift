import Conformance
import Connectors
import Engine
import FastBook
import Foundation
import Venue
import Wire

/// The Binance spot connector against the Venue for the conformance checks: REST order manager,
/// user-data stream (WebSocket API) and market data into one tracker and one book, on one loop,
/// over loopback TLS; the Venue's one-shot faults make each check's failure happen on cue.
public final class BinanceConformanceHarness: ConformanceHarness {
  public let venueName = "binance-spot"
  let loop: EventLoop
  let host: VenueHost
  let engine: MatchingEngine
  let om: BinanceOrderManager
  let user: BinanceUserStream
  let md: BinanceMarketData<CheckSink>
  let check: BookCheck
  let faults: FaultInjector
  public var stateInDoubt = false
  public var diagnostics: String {
    "sync \(md.sync.state), \(md.sync.counters), venue diffs sent \(host.streams.diffsSent) skipped \(host.streams.diffsSkipped) cut \(host.streams.diffsCorrupted), malformed \(md.malformed), reconnects \(md.reconnects)"
  }
  var subscriptions = 0
  var liquiditySeq = 0

  /// Set to prove the suite can fail: reconciliation then does nothing.
  public var sabotageReconcile = false

  public init(certificateDir: String) throws {
    let certs = try VenueHost.ensureCertificates(dataDir: certificateDir)
    loop = try EventLoop()
    let inst = harnessInstrument
    host = try harnessVenue(
      loop: loop, certs: certs, apiKey: "cf", secret: "cf-secret", fundedAccounts: [1, 9],
      faults: FaultPlan(),
      weightLimitPerMinute: 1_000_000)
    engine = host.engine
    faults = host.rest.faults!
    let tls = try TLSContext(client: certs.ca)
    let http = HTTPClient(loop: loop, host: "127.0.0.1", port: host.port, tls: tls, serverName: "localhost")
    let rest = BinanceSpotREST(http: http, apiKey: "cf", secret: "cf-secret", instrument: inst)
    rest.timeoutNs = 1_000_000_000
    let tracker = OrderTracker(notFoundLimit: 2, retainFinishedNs: .max, cancelRetryNs: 50_000_000)
    om = BinanceOrderManager(
      rest: rest, tracker: tracker, symbol: "BTCUSDT", nowNs: { Int64(Date().timeIntervalSince1970 * 1e9) })
    user = BinanceUserStream(
      loop: loop, host: "127.0.0.1", port: host.port, tls: tls, serverName: "localhost", apiKey: "cf",
      secret: "cf-secret", tracker: tracker, instrument: inst, nowNs: om.nowNs)
    check = BookCheck(book: LadderBook(instrument: inst, windowTicks: 1 << 14, centreTick: 10_000))
    md = BinanceMarketData(
      loop: loop, host: "127.0.0.1", port: host.port, tls: tls, serverName: "localhost", symbol: "BTCUSDT",
      instrument: inst, sink: CheckSink(check: check), limiter: rest.limiter)
    user.onSubscribed = { [unowned self] in
      subscriptions += 1
      if subscriptions > 1 { stateInDoubt = true }
    }
    user.onStateInDoubt = { [unowned self] in stateInDoubt = true }
    // A two-sided book to start from (account 9).
    for i in 0..<6 {
      addLiquidity(
        side: i % 2 == 0 ? .buy : .sell, priceTick: i % 2 == 0 ? 9_990 - Int64(i) : 10_010 + Int64(i),
        quantity: 50_000)
    }
    user.start()
    md.start()
  }

  deinit {
    user.stop()
    md.stop()
    loop.shutdown()
  }

  public func run(timeoutNs: Int64, until condition: () -> Bool) -> Bool {
    loop.run(timeoutNs: timeoutNs, until: condition)
  }

  public var bookSynced: Bool { if case .synced = md.sync.state { check.applier.isLive } else { false } }
  public func clientBook(levels n: Int) -> (bids: [BookLevel], asks: [BookLevel]) {
    (check.applier.book.levels(.bid, limit: n), check.applier.book.levels(.ask, limit: n))
  }
  public func venueBook(levels n: Int) -> (bids: [BookLevel], asks: [BookLevel]) {
    engine.depth(symbol: "BTCUSDT", limit: n)
  }
  public var bookRebuilds: Int { md.sync.counters.snapshots }
  public func changeVenueBook() {
    liquiditySeq += 1
    addLiquidity(
      side: .buy, priceTick: 9_980 - Int64(liquiditySeq % 7), quantity: 1_000 + Int64(liquiditySeq))
  }
  public func injectBookGap() { host.streams.skipNextDiff = true }
  public func injectMalformedBookUpdate() { host.streams.corruptNextDiff = true }
  public func dropMarketStreams() { host.streams.disconnectAll() }

  public var tracker: OrderTracker { om.tracker }
  public func orderID(_ name: String) -> ClientOrderID { ClientOrderID(name) }
  public func submit(_ id: ClientOrderID, side: TradeSide, priceTick: Int64, quantity: Int64) -> Bool {
    om.submit(id, side: side, price: priceTick, quantity: quantity)
  }
  public func cancel(_ id: ClientOrderID) { om.cancel(id) }
  public func reconcile(_ done: @escaping () -> Void) {
    if sabotageReconcile { return done() }
    for id in tracker.cancelsToRetry(now: om.nowNs()) where om.canSend { om.cancel(id) }
    om.reconcile(done)
  }
  public var pending: Int { om.pending }
  public var canSend: Bool { om.canSend }
  public var canPlace: Bool { om.canPlace }
  public var haltReason: String? { om.haltReason }
  public func resumeTrading() { om.resumeTrading() }

  public func venueOrder(_ id: ClientOrderID) -> (state: OrderState, filled: Int64)? {
    guard let v = engine.orders.values.first(where: { $0.account == 1 && $0.clientOrderId == id.value })
    else {
      return nil
    }
    return (trackerState(v.status), v.executedQty)
  }
  public var venueFillCount: Int { engine.myTrades(account: 1, symbol: "BTCUSDT").count }

  public func addLiquidity(side: TradeSide, priceTick: Int64, quantity: Int64) {
    var o = NewOrder(account: 9, symbol: "BTCUSDT", side: side == .buy ? .BUY : .SELL, type: .LIMIT)
    o.priceTicks = priceTick
    o.quantity = quantity
    if let r = try? engine.place(o) { host.rest.notifyEvents(r.events) }
    host.streams.emitNow()
  }
  public var passiveBuyTick: Int64 { 9_995 }  // best bid: a sell from another account meets it first
  public var crossingBuyTick: Int64 { 10_005 }

  public func loseNextOrderResponse() { faults.arm("response lost after accept") }
  public func rateLimitNextRequest(status: Int, retryAfterSeconds: Int) {
    faults.plan.retryAfterSeconds = retryAfterSeconds
    faults.arm(status == 418 ? "forced 418" : "forced 429")
  }
  public var requestsDuringRetryAfter: Int { faults.counts["418 for ignoring Retry-After"] ?? 0 }
  public func cutNextAccountEvent() { faults.arm("user event cut short") }
  public func dropAccountStreamAfterNextEvent() { faults.arm("socket closed") }
  public var accountSubscriptions: Int { subscriptions }
  public var malformedCounted: Int { om.rest.problems.total + user.problems.total + md.problems.total }
}
