import BinanceTickToTrade
import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import TestSupport
import Testing
import Wire

@testable import Venue

@Suite(.serialized) struct RuntimeTests {
  func certDir() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("needletail-t2t-\(UUID().uuidString)").path
  }

  /// The live runtime end to end against the Venue (the tick-to-trade harness at a small count,
  /// unpinned): every book change the venue sends reaches the strategy thread's book, the probe's
  /// order for it comes back to the venue tagged with that change's update id, every order's
  /// answer reaches the tracker (IOC at the touch: all expire), and each order's stage times are
  /// in causal order.
  /// The tick-to-trade harness at a test's size: unpinned, not counting allocations, polling
  /// every 100 µs instead of spinning (tests share the machine; perf/t2t.sh measures the
  /// spinning runtime).
  static func t2t(_ layout: TickToTradeConfig.Layout, samples: Int, warmup: Int) -> TickToTradeConfig {
    var c = TickToTradeConfig()
    c.samples = samples
    c.warmup = warmup
    c.layout = layout
    c.wireCPU = nil
    c.strategyCPU = nil
    c.venueCPU = nil
    c.countAllocations = false
    c.spin = false
    return c
  }

  @Test(arguments: [TickToTradeConfig.Layout.oneThread, .twoThreads])
  func probeOrdersFollowEveryBookChangeAndTheTrackerAgrees(_ layout: TickToTradeConfig.Layout) throws {
    let c = Self.t2t(layout, samples: 400, warmup: 50)
    let r = try runTickToTrade(c, certificateDir: certDir())
    #expect(r.unmatchedArrivals == 0)
    #expect(
      r.stepTimeouts == 0,
      "timed out: \(r.timedOutUpdateIDs), skipped \(r.probeSkipped), batches \(r.batchesSeen), steps \(r.steps), sync \(r.syncCounters), \(r.entryRefusedUnsent), reconciliations \(r.reconciliations), disconnects \(r.disconnects) \(r.lastErrors)"
    )
    #expect(r.samples.count == 400)
    #expect(r.probePlaced == r.steps)
    #expect(r.venueOrders == r.probePlaced && r.venueExpired == r.venueOrders)
    #expect(r.trackerOrders == r.venueOrders && r.trackerCancelled == r.trackerOrders)
    #expect(r.ruleRefusals == 0 && r.gateRefusals == 0 && r.outboundFull == 0)
    #expect(r.entryRejects == 0 && r.entryUnknown == 0 && r.entryMalformed == 0)
    for s in r.samples {
      #expect(
        s.venueSentNs <= s.recvNs && s.recvNs <= s.decodedNs && s.decodedNs <= s.appliedNs
          && s.appliedNs <= s.decidedNs && s.decidedNs <= s.queuedNs && s.queuedNs <= s.sentNs,
        "stage times out of order for update \(s.updateID)")
      #expect(s.queuedNs <= s.venueArrivalNs)
    }
  }

  /// The same path with event-driven pure market making instead of the probe: every half-tick
  /// move of the mid makes it pull both quotes and, once the venue has confirmed the cancels,
  /// quote again. The first command each change causes (a cancel) reaches the venue with its
  /// stages in causal order; at the end the venue holds exactly the last two quotes, every other
  /// order of ours is cancelled there, and the tracker says the same of each.
  @Test(arguments: [TickToTradeConfig.Layout.oneThread, .twoThreads])
  func marketMakerRequotesOnEveryMidMoveAndTheTrackerAgrees(_ layout: TickToTradeConfig.Layout) throws {
    var c = Self.t2t(layout, samples: 300, warmup: 30)
    c.strategy = .pureMarketMaking
    c.settleNs = 2_000_000
    let r = try runTickToTrade(c, certificateDir: certDir())
    #expect(r.stepTimeouts == 0, "timed out: \(r.timedOutUpdateIDs), sync \(r.syncCounters)")
    #expect(r.samples.count == 300)
    // Two quotes at the start, then two cancels and two places per step.
    #expect(
      r.strategyPlaced == 2 + 2 * r.steps && r.strategyCancels == 2 * r.steps,
      "\(r.strategyPlaced) \(r.steps)")
    #expect(r.venueOrders == r.strategyPlaced && r.venueOpen == 2 && r.venueCancelled == r.venueOrders - 2)
    #expect(r.trackerOrders == r.venueOrders && r.trackerOpen == 2 && r.trackerCancelled == r.venueCancelled)
    #expect(r.ruleRefusals == 0 && r.gateRefusals == 0 && r.outboundFull == 0)
    #expect(r.entryRejects == 0 && r.entryUnknown == 0 && r.entryMalformed == 0)
    for s in r.samples {
      #expect(
        s.venueSentNs <= s.recvNs && s.recvNs <= s.decodedNs && s.decodedNs <= s.appliedNs
          && s.appliedNs <= s.decidedNs && s.decidedNs <= s.queuedNs && s.queuedNs <= s.sentNs
          && s.queuedNs <= s.venueArrivalNs,
        "stage times out of order for update \(s.updateID)")
    }
  }

  /// Order entry over the WebSocket API: orders that cross the book come back as accepted + one
  /// fill per trade (trade id, price, quantity as the venue recorded them) + the final state; an
  /// order the venue refuses comes back rejected; a cancel of a resting order comes back cancelled.
  @Test func wsOrderEntryReportsFillsRejectsAndCancels() throws {
    let v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 10, liquidityQuantity: 5_000)
    let loop = v.loop
    defer { loop.shutdown() }
    let ring = SPSCRing<ExecEvent>(capacity: 1024)
    let entry = BinanceWSOrderEntry(
      loop: loop, host: "127.0.0.1", port: v.host.port, tls: try TLSContext(client: v.certs.ca),
      serverName: "localhost", apiKey: "k1", secret: "s1", instrument: v.instrument,
      clientIDs: try .binance(prefix: "ws-"),
      execOut: ring)
    entry.start()
    #expect(loop.run(timeoutNs: 5_000_000_000) { entry.isOpen })
    var events: [ExecEvent] = []
    func collect(until n: Int) {
      _ = loop.run(timeoutNs: 5_000_000_000) {
        while let e = ring.tryPop() { events.append(e) }
        return events.count >= n
      }
    }
    // Asks rest at 100.10, 100.12, … (5,000 each): a buy of 12,000 at 100.15 takes three levels
    // (two full, one partial) and is filled.
    #expect(entry.send(WireOrder(kind: .place, tag: 1, side: .buy, price: 10_015, quantity: 12_000)))
    collect(until: 4)
    let fills = events.filter { $0.kind == .filled && $0.tag == 1 }
    #expect(events.first?.kind == .accepted)
    #expect(fills.map(\.quantity) == [5_000, 5_000, 2_000])
    #expect(fills.map(\.price) == [10_011, 10_013, 10_015])
    let venueTrades = v.engine.myTrades(account: 1, symbol: "BTCUSDT")
    #expect(Set(fills.map(\.tradeID)) == Set(venueTrades.map(\.tradeId)))
    events.removeAll()
    // Selling 200 BTC from an account holding 100: refused (-2010), so the order does not exist.
    #expect(entry.send(WireOrder(kind: .place, tag: 2, side: .sell, price: 20_000, quantity: 20_000_000)))
    #expect(entry.send(WireOrder(kind: .place, tag: 3, side: .sell, price: 20_000, quantity: 1_000)))
    collect(until: 2)
    #expect(events.contains { $0.kind == .rejected && $0.tag == 2 })
    #expect(events.contains { $0.kind == .accepted && $0.tag == 3 && $0.venueOrderID > 0 })
    #expect(!events.contains { $0.tag == 3 && $0.kind != .accepted })
    events.removeAll()
    #expect(entry.send(WireOrder(kind: .cancel, tag: 3)))
    #expect(entry.send(WireOrder(kind: .cancel, tag: 99)))
    collect(until: 2)
    #expect(events.contains { $0.kind == .cancelled && $0.tag == 3 })
    #expect(events.contains { $0.kind == .cancelRejected && $0.tag == 99 })
    #expect(entry.malformed == 0)
  }
}

@Suite struct UserStreamKeyTests {
  /// User data with an Ed25519 key: the venue verifies the signature, the subscription is live and
  /// execution reports reach the tracker; a key the venue does not hold is refused, counted, and
  /// the refusal says why — and the private key appears in none of it.
  @Test func ed25519KeySubscribesAndAWrongKeyIsRefused() throws {
    let certs = try VenueHost.ensureCertificates(
      dataDir: FileManager.default.temporaryDirectory.appendingPathComponent(
        "needletail-ed-\(UUID().uuidString)"
      )
      .path)
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let inst = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)
    var sym = VenueSymbol(name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", instrument: inst)
    sym.minQty = 1
    let engine = MatchingEngine(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
    engine.addSymbol(sym)
    engine.deposit(account: 1, asset: "USDT", units: 1_000_000 * 1_000_000_000_000_000_000)
    var rng = SplitMix64(seed: 12)
    let seed = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let wrong = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
    let host = try VenueHost(
      loop: loop, engine: engine,
      credentials: [
        VenueCredential(
          apiKey: "ed", account: 1, ed25519PublicKey: Signing.ed25519PublicKey(privateKeySeed: seed))
      ],
      tls: TLSContext(server: certs.cert, keyFile: certs.key))
    let tls = try TLSContext(client: certs.ca)
    let tracker = OrderTracker()
    func stream(_ key: [UInt8]) -> BinanceUserStream {
      BinanceUserStream(
        loop: loop, host: "127.0.0.1", port: host.port, tls: tls, serverName: "localhost", apiKey: "ed",
        key: .ed25519(privateKeySeed: key), tracker: tracker, instrument: inst, nowNs: { cplat_now_ns() })
    }
    let good = stream(seed)
    good.start()
    #expect(loop.run(timeoutNs: 5_000_000_000) { good.subscribed })
    tracker.track(ClientOrderID("ed-1"), symbol: "BTCUSDT", side: .buy, price: 9_000, quantity: 1_000, now: 0)
    // Placed through the venue's order entry (as any client's order would be), so it reports it.
    _ = try host.rest.newOrder(
      1,
      [
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "90.00",
        "quantity": "0.01000", "newClientOrderId": "ed-1",
      ])
    #expect(loop.run(timeoutNs: 5_000_000_000) { tracker.orders[ClientOrderID("ed-1")]?.state == .open })

    let bad = stream(wrong)
    bad.start()
    #expect(loop.run(timeoutNs: 5_000_000_000) { bad.refusals > 0 })
    #expect(!bad.subscribed)
    let why = try #require(bad.lastRefusal)
    #expect(why.contains("-1022") || why.lowercased().contains("signature"), "\(why)")
    #expect(!why.contains(Base64.encode(wrong)))
    good.stop()
    bad.stop()
  }
}

@Suite struct StatusPollerTests {
  /// With every user-data event lost, the Clock-driven poller still brings the tracker to the
  /// venue's state (fills from outside flow included); and after a resubscription it holds trading
  /// until its reconciliation is done.
  @Test func pollingCoversALostUserStreamAndResubscriptionHoldsTrading() throws {
    var faults = FaultPlan()
    faults.seed = 5
    faults.dropUserEvent = 1.0
    faults.lostResponseAfterAccept = 0.2
    let v = try LoopbackVenue(faults: faults, liquidityOrders: 0, liquidityQuantity: 0)
    let (loop, engine) = (v.loop, v.engine)
    defer { loop.shutdown() }
    let om = try v.orderManager()
    let stream = BinanceUserStream(
      loop: loop, host: "127.0.0.1", port: v.host.port, tls: try TLSContext(client: v.certs.ca),
      serverName: "localhost", apiKey: "k1", secret: "s1", tracker: om.tracker, instrument: v.instrument,
      nowNs: om.nowNs)
    let poller = BinanceStatusPoller(
      orders: om, stream: stream, quietIntervalNs: 200_000_000, liveIntervalNs: 10_000_000_000,
      quietAfterNs: 100_000_000)
    stream.start()
    #expect(loop.run(timeoutNs: 5_000_000_000) { stream.subscribed && poller.tradingAllowed })
    // Resting buys, then outside sellers fill some of them: the tracker can learn it only by polling.
    for i in 0..<20 {
      om.submit(ClientOrderID("poll-\(i)"), side: .buy, price: 9_900 + Int64(i), quantity: 2_000)
      #expect(loop.run(timeoutNs: 5_000_000_000) { om.pending == 0 })
    }
    var sell = NewOrder(account: 9, symbol: "BTCUSDT", side: .SELL, type: .LIMIT)
    sell.priceTicks = 9_910
    sell.quantity = 15_000
    _ = try engine.place(sell)
    let clock = Clock(tickNs: 50_000_000, start: om.nowNs())
    clock.add(poller)
    func tickFor(_ ns: Int64) {
      let end = om.nowNs() + ns
      _ = loop.run(timeoutNs: ns + 1_000_000_000) {
        clock.advance(to: om.nowNs())
        return om.nowNs() >= end && om.pending == 0
      }
    }
    func wake() { _ = loop.schedule(after: 10_000_000) { wake() } }
    wake()
    tickFor(1_500_000_000)
    #expect(poller.polls >= 3)
    #expect(stream.events == 0, "every user event was dropped")
    let compared = expectAgreement(engine: engine, tracker: om.tracker)
    #expect(compared == 20)
    #expect(om.tracker.orders.values.contains { $0.filledQuantity > 0 }, "fills learned by polling")
    // A resubscription holds trading until what the stream missed is reconciled.
    let before = poller.reconcilesAfterResubscribe
    stream.stop()
    stream.start()
    #expect(
      loop.run(timeoutNs: 5_000_000_000) {
        !poller.tradingAllowed || poller.reconcilesAfterResubscribe > before
      })
    #expect(
      loop.run(timeoutNs: 10_000_000_000) {
        poller.tradingAllowed && poller.reconcilesAfterResubscribe > before
      })
    stream.stop()
  }
}

/// Places one resting buy at a fixed price on the first live book, and counts what comes back.
final class OneRestingBuy: Strategy {
  var placed = false
  var fills = 0
  var filledQuantity: Int64 = 0
  func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {
    guard !placed else { return }
    placed = true
    intents.place(PlaceIntent(tag: 1, side: .buy, price: 9_995, quantity: 3_000))
  }
  func onOrder(_ event: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
    if case .filled(_, let f) = event {
      fills += 1
      filledQuantity += f.quantity
    }
  }
}

/// The one-thread runtime wired to the Venue over TLS: market data into the book ring, orders
/// over the WebSocket API, account events into the exec ring, reconciliation over REST; a
/// `OneRestingBuy` strategy; `turn()` is one pass of the wire loop's work.
final class RuntimeRig {
  let v: LoopbackVenue
  let strategy = OneRestingBuy()
  let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: .max)
  let host: StrategyHost
  let runtime: StrategyRuntime
  let md: BinanceMarketData<RingBookSink>
  let entry: BinanceWSOrderEntry
  let user: BinanceUserStream
  let reconciler: BinanceRuntimeReconciler

  init(prefix: String, clock: Clock) throws {
    v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 6, liquidityQuantity: 50_000)
    host = StrategyHost(
      strategy: strategy, symbol: "BTCUSDT", rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1),
      limits: RiskLimits(), tracker: tracker, prefix: prefix)
    runtime = StrategyRuntime(
      host: host, book: LadderBook(instrument: v.instrument, windowTicks: 1 << 14, centreTick: 10_000),
      clock: clock)
    let tls = try TLSContext(client: v.certs.ca)
    let (loop, port) = (v.loop, v.host.port)
    md = BinanceMarketData(
      loop: loop, host: "127.0.0.1", port: port, tls: tls, serverName: "localhost", symbol: "BTCUSDT",
      instrument: v.instrument, sink: RingBookSink(ring: runtime.bookIn))
    entry = BinanceWSOrderEntry(
      loop: loop, host: "127.0.0.1", port: port, tls: tls, serverName: "localhost", apiKey: "k1",
      secret: "s1",
      instrument: v.instrument, clientIDs: try .binance(prefix: prefix), execOut: runtime.execIn)
    let rest = BinanceSpotREST(
      http: HTTPClient(loop: loop, host: "127.0.0.1", port: port, tls: tls, serverName: "localhost"),
      apiKey: "k1", secret: "s1", instrument: v.instrument)
    reconciler = BinanceRuntimeReconciler(
      rest: rest,
      lane: HTTPLane(loop: loop, host: "127.0.0.1", port: port, tls: tls, serverName: "localhost"),
      symbol: "BTCUSDT", clientIDs: try .binance(prefix: prefix), execOut: runtime.execIn)
    entry.reconciler = reconciler
    user = BinanceUserStream(
      loop: loop, host: "127.0.0.1", port: port, tls: tls, serverName: "localhost", apiKey: "k1",
      key: .hmac(secret: "s1"), target: .ring(runtime.execIn, clientIDs: try .binance(prefix: prefix)),
      instrument: v.instrument,
      nowNs: { cplat_now_ns() })
    // The wire thread is the exec ring's one producer: this runs on its loop.
    let execIn = runtime.execIn
    user.onStateInDoubt = { _ = execIn.tryPush(ExecEvent(kind: .stateInDoubt, tag: 0)) }
    md.start()
    entry.start()
    user.start()
  }

  deinit { v.loop.shutdown() }

  func turn() {
    runtime.pollOnce()
    while let o = runtime.ordersOut.tryPop() { _ = entry.send(o) }
  }

  /// Runs turns until `condition` holds (at most 10 s).
  func run(until condition: () -> Bool) -> Bool {
    v.loop.run(timeoutNs: 10_000_000_000) {
      turn()
      return condition()
    }
  }

  /// Another account sells into the resting bid at the venue, which publishes the events.
  func sellIntoTheBid(_ quantity: Int64) throws {
    var o = NewOrder(account: 9, symbol: "BTCUSDT", side: .SELL, type: .LIMIT)
    o.priceTicks = 9_995
    o.quantity = quantity
    v.host.rest.notifyEvents(try v.engine.place(o).events)
  }
}

@Suite(.serialized) struct UserStreamRuntimeTests {
  /// Reconciliation in the runtime: an account event arrives unreadable, the wire side says the
  /// state is in doubt, the strategy thread holds new orders and asks for the state of every
  /// order it is unsure of; the wire side asks Binance over REST and answers through the exec
  /// ring — and the fill the lost event carried reaches the strategy, once. An event that simply
  /// never arrives is found the same way by the strategy thread's status poller.
  @Test(arguments: ["user event cut short", "user event dropped"])
  func aLostAccountEventIsRecoveredByReconciliationThroughTheRings(_ fault: String) throws {
    let r = try RuntimeRig(prefix: "rc-", clock: Clock(tickNs: 10_000_000, start: cplat_now_ns()))
    // No execution event for 50 ms with an order in flight → reconcile (every 100 ms while quiet).
    let poller = RuntimeStatusPoller(
      runtime: r.runtime, quietIntervalNs: 100_000_000, liveIntervalNs: 60_000_000_000,
      quietAfterNs: 50_000_000)
    r.runtime.clock.add(poller)
    #expect(r.run { r.user.subscribed && r.entry.isOpen })
    #expect(r.run { r.tracker.orders.values.first?.state == .open })
    r.v.host.rest.faults?.arm(fault)
    try r.sellIntoTheBid(3_000)
    #expect(r.run { r.strategy.filledQuantity == 3_000 && !r.host.reconciling })
    if fault == "user event cut short" {
      #expect(r.user.malformed == 1, "an unreadable event is counted and says state is in doubt")
    } else {
      #expect(r.user.malformed == 0 && poller.polls >= 1, "a vanished event is found by polling")
    }
    #expect(r.runtime.reconciliations >= 1 && r.reconciler.queries >= 1)
    let order = try #require(r.tracker.orders[ClientOrderID("rc-1")])
    #expect(order.state == .filled && order.tradeIDCount == 1 && r.strategy.fills == 1)
    #expect(r.tracker.invalidTransitions == 0 && r.tracker.unknownOrderUpdates == 0)
  }

  /// A fill nobody told us about, older than the round's page of recent fills: the order's
  /// placement answer is lost and its account events are dropped, so the tracker knows neither
  /// its venue id nor its fill. The first reconciliation round's status answer arrives cut short,
  /// and its page of recent fills goes past the trade (the tracker cannot place it). The next
  /// round's status answer names the order as FILLED, and its trades are read by order id: the
  /// fill reaches the strategy, once.
  @Test func aFillOlderThanTheRoundsPageIsReadByOrderID() throws {
    let r = try RuntimeRig(prefix: "of-", clock: Clock(start: cplat_now_ns()))
    #expect(r.run { r.user.subscribed && r.entry.isOpen })
    let faults = try #require(r.v.host.rest.faults)
    faults.arm("response lost after accept")
    faults.arm("user event dropped", times: 20)
    let id = ClientOrderID("of-1")
    #expect(r.run { r.v.engine.openOrders(account: 1, symbol: "BTCUSDT").count == 1 })
    #expect(r.tracker.orders[id]?.state == .pendingCreate, "the tracker never heard the order was placed")
    try r.sellIntoTheBid(3_000)
    faults.arm("REST body cut short")
    r.runtime.requestReconciliation()
    #expect(r.run { !r.host.reconciling && r.tracker.orders[id]?.state.isDone == true })
    let order = try #require(r.tracker.orders[id])
    #expect(order.state == .filled && order.tradeIDCount == 1 && r.strategy.filledQuantity == 3_000)
    #expect(r.strategy.fills == 1)
    #expect(faults.counts["REST body cut short"] == 1 && r.reconciler.unreadable == 1)
    #expect(r.reconciler.orderTradeQueries >= 1)
    #expect(r.tracker.unknownOrderUpdates >= 1, "the page's copy of the fill had no order to go to")
  }

  /// An order filled in part and then cancelled while nobody heard (its placement answer lost,
  /// its events dropped): the status answer says CANCELED with an executed quantity; the order's
  /// trades are read before the tracker is told it is cancelled, so the fill is not lost behind
  /// a closed order (an order-trades answer that fails is asked for again, then left open for
  /// the next round).
  @Test func aCancelledOrdersFillIsReadBeforeItCloses() throws {
    let r = try RuntimeRig(prefix: "oc-", clock: Clock(start: cplat_now_ns()))
    #expect(r.run { r.user.subscribed && r.entry.isOpen })
    let faults = try #require(r.v.host.rest.faults)
    faults.arm("response lost after accept")
    faults.arm("user event dropped", times: 40)
    let id = ClientOrderID("oc-1")
    #expect(r.run { r.v.engine.openOrders(account: 1, symbol: "BTCUSDT").count == 1 })
    try r.sellIntoTheBid(1_000)
    let venueOrder = try #require(r.v.engine.orders.values.first { $0.account == 1 })
    r.v.host.rest.notifyEvents([
      try r.v.engine.cancel(account: 1, symbol: "BTCUSDT", orderId: venueOrder.orderId).event
    ])
    r.runtime.requestReconciliation()
    #expect(r.run { r.reconciler.orderTradeQueries >= 1 })
    #expect(r.tracker.orders[id]?.state.isDone == false, "not closed before its trades are read")
    #expect(r.run { !r.host.reconciling && r.tracker.orders[id]?.state.isDone == true })
    let order = try #require(r.tracker.orders[id])
    #expect(order.state == .cancelled && order.tradeIDCount == 1 && r.strategy.filledQuantity == 1_000)
    #expect(r.tracker.invalidTransitions == 0)
  }

  /// In the runtime, account events reach the strategy thread's tracker through the exec ring,
  /// like order answers: an order placed over the WebSocket API rests; another participant trades
  /// with it at the venue; the fills — which only the account stream reports — reach the
  /// strategy, once each, with the venue's trade ids.
  @Test func accountEventsReachTheStrategyThroughTheExecRing() throws {
    let r = try RuntimeRig(prefix: "rt-", clock: Clock(start: cplat_now_ns()))
    #expect(r.run { r.user.subscribed && r.entry.isOpen })
    #expect(r.run { r.tracker.orders.values.first?.state == .open })
    try r.sellIntoTheBid(1_000)
    try r.sellIntoTheBid(2_000)
    #expect(r.run { r.strategy.filledQuantity == 3_000 })
    let order = try #require(r.tracker.orders[ClientOrderID("rt-1")])
    #expect(order.state == .filled && order.tradeIDCount == 2 && r.strategy.fills == 2)
    let venueTrades = r.v.engine.myTrades(account: 1, symbol: "BTCUSDT")
    #expect(venueTrades.count == 2 && venueTrades.allSatisfy { order.hasTrade($0.tradeId) })
    #expect(
      r.tracker.invalidTransitions == 0 && r.tracker.unknownOrderUpdates == 0 && r.user.execRingFull == 0)
    #expect(r.runtime.reconciliations == 0, "nothing was in doubt")
  }
}
