import BinanceSoak
import Engine
import FastBook
import Foundation
import TestSupport
import Testing
import Venue
import Wire

@testable import Connectors

/// Order tracking through the venue's faults: every order the venue knows ends in the same state
/// in the tracker, with the same fills, none counted twice.
@Suite(.serialized) struct BinanceOrderManagerTests {
  @Test func trackerAgreesWithTheVenueThroughFaults() throws {
    var faults = FaultPlan()
    faults.seed = 42
    faults.lostResponseAfterAccept = 0.15
    faults.serverErrorBefore = 0.05
    faults.serverErrorAfter = 0.1
    faults.staleStatusAfterCancelMs = 30
    let v = try LoopbackVenue(faults: faults, liquidityOrders: 40, liquidityQuantity: 50_000)
    // About tracking through faults, not pacing: 200 orders in a few seconds exceed the venue's
    // 100 new orders per 10 s (PacingTests covers that limit).
    v.host.rest.orderLimitOverride(1_000_000)
    let (loop, engine, host) = (v.loop, v.engine, v.host)
    defer { loop.shutdown() }
    var rng = SplitMix64(seed: 8)
    let om = try v.orderManager()
    let tracker = om.tracker
    // 200 orders, half crossing the book, a third cancelled.
    var ids: [ClientOrderID] = []
    for i in 0..<200 {
      let id = ClientOrderID("om-\(i)")
      ids.append(id)
      let buy = Bool.random(using: &rng)
      let cross = Int.random(in: 0..<2, using: &rng) == 0
      let price: Int64 =
        buy
        ? (cross ? 10_050 : 9_900 + Int64.random(in: 0...50, using: &rng))
        : (cross ? 9_950 : 10_050 + Int64.random(in: 0...50, using: &rng))
      om.submit(
        id, side: buy ? .buy : .sell, price: price, quantity: Int64.random(in: 1_000...30_000, using: &rng))
      #expect(loop.run(timeoutNs: 10_000_000_000) { om.pending == 0 })
      if i % 3 == 0 { om.cancel(ids[Int.random(in: 0...i, using: &rng)]) }
    }
    #expect(loop.run(timeoutNs: 30_000_000_000) { om.pending == 0 })
    // Reconcile until nothing is uncertain (bounded).
    for _ in 0..<12 {
      for id in tracker.cancelsToRetry(now: om.nowNs()) { om.cancel(id) }
      var done = false
      om.reconcile { done = true }
      #expect(loop.run(timeoutNs: 30_000_000_000) { done && om.pending == 0 })
      let uncertain = tracker.activeOrders.filter { $0.state == .pendingCreate || $0.state == .pendingCancel }
      if uncertain.isEmpty { break }
      loop.run(timeoutNs: 60_000_000) { false }
    }
    let compared = expectAgreement(engine: engine, tracker: tracker)
    #expect(compared >= 150)
    let counts = host.rest.faults?.counts ?? [:]
    #expect((counts["response lost after accept"] ?? 0) > 5 && (counts["500 after processing"] ?? 0) > 5)
    print(
      "faults injected: \(counts); unknown outcomes \(om.unknownOutcomes); duplicate fills dropped \(tracker.duplicateFills)"
    )
  }
}

extension BinanceOrderManagerTests {
  /// 429s are waited out for exactly their Retry-After (the venue bans with 418 anyone who comes
  /// back early, and must never have to); a 418 stops new orders with a reason until the operator
  /// resumes; no order is lost either way.
  @Test func rateLimitsAreWaitedOutAndBansHaltTrading() throws {
    var faults = FaultPlan()
    faults.seed = 7
    faults.force429 = 0.03
    faults.force418 = 0.01
    faults.retryAfterSeconds = 1
    faults.lostResponseAfterAccept = 0.05
    let v = try LoopbackVenue(faults: faults, liquidityOrders: 20, liquidityQuantity: 50_000)
    let (loop, engine, host) = (v.loop, v.engine, v.host)
    defer { loop.shutdown() }
    let om = try v.orderManager()
    let tracker = om.tracker
    var rng = SplitMix64(seed: 3)
    var haltsSeen: [String] = []
    var ids: [ClientOrderID] = []
    for i in 0..<120 {
      if !om.canPlace {
        if let why = om.haltReason { haltsSeen.append(why) }
        #expect(!om.submit(ClientOrderID("held-\(i)"), side: .buy, price: 9_000, quantity: 1_000))
        #expect(loop.run(timeoutNs: 10_000_000_000) { om.canSend })
        #expect(om.canPlace == (om.haltReason == nil), "a ban outlasts its Retry-After until resumed")
        om.resumeTrading()  // the operator, having read the reason
      }
      let id = ClientOrderID("rl-\(i)")
      ids.append(id)
      let buy = Bool.random(using: &rng)
      let price: Int64 =
        buy ? 9_995 + Int64.random(in: 0...20, using: &rng) : 10_005 - Int64.random(in: 0...20, using: &rng)
      #expect(
        om.submit(
          id, side: buy ? .buy : .sell, price: price, quantity: Int64.random(in: 1_000...20_000, using: &rng))
      )
      #expect(loop.run(timeoutNs: 10_000_000_000) { om.pending == 0 })
      if i % 4 == 0 && om.canSend { om.cancel(ids[Int.random(in: 0...i, using: &rng)]) }
      #expect(loop.run(timeoutNs: 10_000_000_000) { om.pending == 0 })
    }
    for _ in 0..<20 {
      _ = loop.run(timeoutNs: 10_000_000_000) { om.canSend }
      for id in tracker.cancelsToRetry(now: om.nowNs()) where om.canSend { om.cancel(id) }
      _ = loop.run(timeoutNs: 10_000_000_000) { om.pending == 0 }
      var done = false
      om.reconcile { done = true }
      #expect(loop.run(timeoutNs: 30_000_000_000) { done && om.pending == 0 })
      if tracker.activeOrders.allSatisfy({ $0.state != .pendingCreate && $0.state != .pendingCancel })
        && om.canSend
      {
        break
      }
    }
    let counts = host.rest.faults?.counts ?? [:]
    #expect(counts["418 for ignoring Retry-After"] == nil, "never sent before Retry-After passed")
    #expect((counts["forced 429"] ?? 0) > 0 && (counts["forced 418"] ?? 0) > 0, "\(counts)")
    // Every 429 the client saw is one the venue sent: forced, refused while in flight, or earned
    // (more than 100 new orders in 10 s, or the minute's weight spent) on a fast machine.
    let venue429s =
      (counts["forced 429"] ?? 0) + (counts["429 for a request already in flight"] ?? 0)
      + host.rest.orderRateRefusals + host.rest.weightRefusals
    #expect(om.rateLimited == venue429s, "\(counts); order-rate \(host.rest.orderRateRefusals)")
    #expect(om.banned == counts["forced 418"] ?? 0)
    #expect(!haltsSeen.isEmpty && haltsSeen.count <= om.banned, "a ban stopped trading until resumed")
    #expect(haltsSeen.allSatisfy { $0.contains("418") && $0.contains("IP banned") })
    #expect(expectAgreement(engine: engine, tracker: tracker) >= 100)
    print(
      "rate-limit faults: \(counts); order-rate 429s \(host.rest.orderRateRefusals), weight 429s \(host.rest.weightRefusals); orders held back \(om.heldBack)"
    )
  }
}

/// A Venue on loopback (TLS) with BTCUSDT at a 0.01 tick and 0.00001 lot, account 1 (key k1,
/// secret s1) for the client and account 9 resting `liquidityOrders` around 10,000 to trade with;
/// with `market`, synthetic participants trade on it too.
struct LoopbackVenue {
  let certs: (ca: String, cert: String, key: String)
  let loop: EventLoop
  /// BTCUSDT at 0.01 / 0.00001, the instrument of every LoopbackVenue.
  static let btcusdt = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)
  let instrument = LoopbackVenue.btcusdt
  let engine = MatchingEngine(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
  let host: VenueHost

  init(
    faults: FaultPlan, liquidityOrders: Int, liquidityQuantity: Int64,
    market: SyntheticMarket.Parameters? = nil, loop shared: EventLoop? = nil
  ) throws {
    certs = try VenueHost.ensureCertificates(
      dataDir: FileManager.default.temporaryDirectory.appendingPathComponent(
        "needletail-lv-\(UUID().uuidString)"
      )
      .path)
    loop = try shared ?? EventLoop()
    let unit: Int128 = 1_000_000_000_000_000_000
    var sym = VenueSymbol(name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", instrument: instrument)
    sym.minQty = 1
    sym.maxNumOrders = 0
    engine.addSymbol(sym)
    for account in [1, 9] {
      engine.deposit(account: account, asset: "USDT", units: 1_000_000 * unit)
      engine.deposit(account: account, asset: "BTC", units: 100 * unit)
    }
    host = try VenueHost(
      loop: loop, engine: engine, credentials: [VenueCredential(apiKey: "k1", account: 1, hmacSecret: "s1")],
      tls: TLSContext(server: certs.cert, keyFile: certs.key), market: market, faults: faults)
    for i in 0..<liquidityOrders {
      var o = NewOrder(account: 9, symbol: "BTCUSDT", side: i % 2 == 0 ? .BUY : .SELL, type: .LIMIT)
      o.priceTicks = i % 2 == 0 ? 9_990 - Int64(i) : 10_010 + Int64(i)
      o.quantity = liquidityQuantity
      _ = try engine.place(o)
    }
  }

  /// An order manager for account 1 over REST, with a fresh tracker.
  func orderManager() throws -> BinanceOrderManager {
    let http = HTTPClient(
      loop: loop, host: "127.0.0.1", port: host.port, tls: try TLSContext(client: certs.ca),
      serverName: "localhost")
    let rest = BinanceSpotREST(http: http, apiKey: "k1", secret: "s1", instrument: instrument)
    rest.timeoutNs = 2_000_000_000
    return BinanceOrderManager(
      rest: rest, tracker: OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: 50_000_000),
      symbol: "BTCUSDT", nowNs: { Int64(Date().timeIntervalSince1970 * 1e9) })
  }
}

/// The soak's comparison (every venue order in the same state with the same fills, none open at
/// the venue that the tracker thinks closed, no fill missed or counted twice), as expectations.
/// Returns how many orders were compared.
func expectAgreement(engine: MatchingEngine, tracker: OrderTracker) -> Int {
  var r = OrderSoakReport()
  compare(engine: engine, tracker: tracker, into: &r)
  #expect(r.agrees, "\(r)")
  return r.compared
}

@Suite(.serialized) struct BinanceUserStreamTests {
  /// User data over the WebSocket API with events dropped, duplicated and reordered: the tracker,
  /// fed by the stream and one reconciliation, agrees with the venue; duplicates are dropped.
  @Test func userStreamWithEventFaults() throws {
    var faults = FaultPlan()
    faults.seed = 77
    faults.dropUserEvent = 0.1
    faults.duplicateUserEvent = 0.2
    faults.reorderUserEvents = 0.2
    let v = try LoopbackVenue(faults: faults, liquidityOrders: 30, liquidityQuantity: 40_000)
    let (certs, loop, inst, engine, host) = (v.certs, v.loop, v.instrument, v.engine, v.host)
    defer { loop.shutdown() }
    let clientTLS = try TLSContext(client: certs.ca)
    let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: 50_000_000)
    let now = { Int64(Date().timeIntervalSince1970 * 1e9) }
    let stream = BinanceUserStream(
      loop: loop, host: "127.0.0.1", port: host.port, tls: clientTLS, serverName: "localhost", apiKey: "k1",
      secret: "s1",
      tracker: tracker, instrument: inst, nowNs: now)
    stream.start()
    #expect(loop.run(timeoutNs: 5_000_000_000) { stream.subscribed })
    let http = HTTPClient(
      loop: loop, host: "127.0.0.1", port: host.port, tls: clientTLS, serverName: "localhost")
    let om = BinanceOrderManager(
      rest: BinanceSpotREST(http: http, apiKey: "k1", secret: "s1", instrument: inst), tracker: tracker,
      symbol: "BTCUSDT",
      nowNs: now)
    var rng = SplitMix64(seed: 4)
    for i in 0..<80 {
      let buy = Bool.random(using: &rng)
      let cross = Bool.random(using: &rng)
      om.submit(
        ClientOrderID("us-\(i)"), side: buy ? .buy : .sell,
        price: buy ? (cross ? 10_030 : 9_950) : (cross ? 9_970 : 10_050),
        quantity: Int64.random(in: 1_000...20_000, using: &rng))
      #expect(loop.run(timeoutNs: 10_000_000_000) { om.pending == 0 })
      if i % 4 == 0 { om.cancel(ClientOrderID("us-\(i)")) }
    }
    loop.run(timeoutNs: 300_000_000) { false }  // let the last events arrive
    #expect(stream.events > 100)
    #expect(tracker.duplicateFills > 0 || (host.rest.faults?.counts["user event duplicated"] ?? 0) > 0)
    var done = false
    om.reconcile { done = true }
    #expect(loop.run(timeoutNs: 20_000_000_000) { done && om.pending == 0 })
    for v in engine.orders.values where v.account == 1 {
      let t = try #require(tracker.orders[ClientOrderID(v.clientOrderId)])
      #expect(t.filledQuantity == v.executedQty, "\(v.clientOrderId)")
      let open = v.status == .NEW || v.status == .PARTIALLY_FILLED
      #expect(
        t.state.isOpenAtVenue == open || t.state == .pendingCancel,
        "\(v.clientOrderId): \(v.status) vs \(t.state)")
    }
    #expect(
      engine.myTrades(account: 1, symbol: "BTCUSDT").count
        == tracker.orders.values.reduce(0) { $0 + $1.tradeIDCount })
    // The balances the stream reported last equal the venue's.
    // The stream read its balances (with events dropped and reordered they may lag the venue's).
    #expect(stream.balances["USDT"] != nil && stream.balances["BTC"] != nil)
    #expect(stream.balances.unreadable == 0)
    stream.stop()
  }
}

/// Balances and commissions are read with the one decimal parser: signs are kept (a negative
/// balance delta of less than one unit used to come out positive), and holdings past Int64 fit.
@Suite struct BinanceUnitsTests {
  @Test func unitsKeepTheirSignAndWidth() {
    #expect(BinanceOrderManager.units8("-0.5") == -50_000_000)
    #expect(BinanceOrderManager.units8("-1.50000000") == -150_000_000)
    #expect(BinanceOrderManager.units8("0.00100000") == 100_000)
    #expect(BinanceOrderManager.units8("1000000000000.00000000") == 100_000_000_000_000_000_000)
    #expect(BinanceOrderManager.units8("0.000000001") == nil)
    #expect(BinanceOrderManager.units8("1e3") == nil)
    #expect(BinanceOrderManager.units8("") == nil)
  }
}
