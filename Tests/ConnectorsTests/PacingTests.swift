import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import TestSupport
import Testing
import Wire

@testable import Venue

/// Orders paced under the venue's own limits, read from its exchangeInfo: a strategy that wants
/// more new orders than the venue allows per 10 seconds has the excess refused before it leaves
/// (failed in the tracker, never sent), and the venue never has to say -1015. The same burst with
/// the engine told the limit is higher is answered -1015 by the venue — its limit is real.
@Suite(.serialized) struct PacingTests {
  /// Places `burst` passive buys as fast as the host takes them; returns the venue's and the
  /// engine's counts.
  func burst(_ burst: Int, venueLimit: Int, engineBelieves: Int?) throws -> (
    venueOrders: Int, venueRefusals: Int, throttled: Int, sent: Int, failed: Int, rateLimited: Int
  ) {
    let v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 2, liquidityQuantity: 50_000)
    defer { v.loop.shutdown() }
    v.host.rest.orderLimitOverride(venueLimit)
    let endpoint = BinanceSession.Endpoint(host: "127.0.0.1", port: v.host.port, serverName: "localhost")
    let tls = try TLSContext(client: v.certs.ca)
    var limits = try BinanceSession.exchangeInfo(
      loop: v.loop, endpoint: endpoint, tls: tls, symbol: "BTCUSDT"
    )
    .rateLimits
    #expect(limits.ordersPer10Seconds == venueLimit, "the limit comes from the venue's exchangeInfo")
    if let engineBelieves { limits.ordersPer10Seconds = engineBelieves }
    final class Quiet: Strategy { func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {} }
    let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: .max)
    let session = BinanceSession(
      loop: v.loop, endpoint: endpoint, tls: tls, apiKey: "k1", secret: "s1", instrument: v.instrument,
      strategy: Quiet(), rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1), limits: RiskLimits(),
      prefix: "pace-", tracker: tracker, clock: Clock(start: cplat_now_ns()), centreTick: 10_000,
      rateLimits: limits)
    session.start()
    defer { session.stop() }
    #expect(session.run(timeoutNs: 10_000_000_000) { session.ready })
    // All inside one 10-second window of the venue's clock (start just after a boundary).
    let msIntoWindow = Int64(Date().timeIntervalSince1970 * 1000) % 10_000
    if msIntoWindow > 6_000 { _ = session.run(timeoutNs: (10_100 - msIntoWindow) * 1_000_000) { false } }
    for i in 0..<burst {
      session.host.perform(referencePrice: 0, now: session.runtime.time.nowNs) {
        $0.place(PlaceIntent(tag: UInt64(i + 1), side: .buy, price: 9_000 + Int64(i), quantity: 1_000))
      }
      session.turn()
    }
    _ = session.run(timeoutNs: 5_000_000_000) { session.pendingRequests == 0 }
    _ = session.run(timeoutNs: 200_000_000) { false }
    let failed = tracker.orders.values.filter { $0.state == .failed }.count
    return (
      v.engine.orders.values.filter { $0.account == 1 }.count, v.host.rest.orderRateRefusals,
      session.entry.throttled, session.entry.placesSent, failed, session.entry.rateLimited
    )
  }

  @Test func newOrdersStayUnderTheVenuesLimit() throws {
    let r = try burst(60, venueLimit: 20, engineBelieves: nil)
    #expect(r.venueRefusals == 0 && r.rateLimited == 0, "the venue never had to refuse: \(r)")
    #expect(r.venueOrders == 20 && r.sent == 20, "\(r)")
    #expect(r.throttled == 40 && r.failed == 40, "the excess was refused unsent: \(r)")
  }

  /// Request weight paced under the venue's limit over a long burst: the venue allows 150 weight
  /// per 2-second window (its exchangeInfo says so); for 8 s the node reconciles ten resting
  /// orders every 250 ms (a status query of weight 4 for each, then myTrades, 20) and between
  /// rounds replaces an order over the WebSocket API on every turn, while another client on the
  /// same IP spends 40 at the start of every window. The node learns that from the venue's counts (headers,
  /// `rateLimits`), waits out each spent window, and the venue never has to say 429.
  @Test func requestWeightStaysUnderTheVenuesLimitOverALongBurst() throws {
    let v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 2, liquidityQuantity: 50_000)
    defer { v.loop.shutdown() }
    let windowMs: Int64 = 2_000
    v.host.rest.weightLimitOverride(150, windowMs: windowMs)
    let endpoint = BinanceSession.Endpoint(host: "127.0.0.1", port: v.host.port, serverName: "localhost")
    let tls = try TLSContext(client: v.certs.ca)
    let limits = try BinanceSession.exchangeInfo(
      loop: v.loop, endpoint: endpoint, tls: tls, symbol: "BTCUSDT"
    )
    .rateLimits
    #expect(limits[.requestWeight, windowMs * 1_000_000] == 150, "\(limits.summary)")
    final class Quiet: Strategy { func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {} }
    let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: .max)
    let session = BinanceSession(
      loop: v.loop, endpoint: endpoint, tls: tls, apiKey: "k1", secret: "s1", instrument: v.instrument,
      strategy: Quiet(), rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1), limits: RiskLimits(),
      prefix: "weight-", tracker: tracker, clock: Clock(start: cplat_now_ns()), centreTick: 10_000,
      rateLimits: limits)
    session.start()
    defer { session.stop() }
    #expect(session.run(timeoutNs: 10_000_000_000) { session.ready })
    let host = session.host
    func now() -> Int64 { session.runtime.time.nowNs }
    for i in 0..<10 {
      host.perform(referencePrice: 0, now: now()) {
        $0.place(PlaceIntent(tag: UInt64(i + 1), side: .buy, price: 9_000 + Int64(i), quantity: 1_000))
      }
      session.turn()
      _ = session.run(timeoutNs: 2_000_000_000) { session.pendingRequests == 0 }
      // Out of this window's budget: the next one.
      if tracker.orders[host.clientOrderID(tag: UInt64(i + 1))]?.state != .open {
        _ = session.run(timeoutNs: windowMs * 1_000_000) { false }
      }
    }
    let rest = v.host.rest
    var neighbourWindow: Int64 = -1
    var neighbourSpent = 0
    var next: UInt64 = 100
    let roundsBefore = session.reconciler.rounds
    let placesBefore = session.entry.placesSent
    var lastRound: Int64 = 0
    let end = now() + 8_000_000_000
    while now() < end {
      let ms = rest.clockMs()
      if ms / windowMs != neighbourWindow, ms % windowMs < windowMs / 2 {
        neighbourWindow = ms / windowMs
        if rest.chargeWeight(40, now: ms) == nil { neighbourSpent += 40 }
      }
      if !host.reconciling && now() - lastRound > 250_000_000 {
        lastRound = now()
        session.runtime.requestReconciliation()
      }
      // A new order and the cancel of the previous one, as a quoting strategy would.
      if !host.reconciling {
        host.perform(referencePrice: 0, now: now()) {
          $0.place(PlaceIntent(tag: next, side: .buy, price: 8_000 + Int64(next % 500), quantity: 1_000))
          $0.cancel(tag: next - 1)
        }
        next += 1
      }
      session.turn()
      _ = session.run(timeoutNs: 3_000_000) { false }
    }
    _ = session.run(timeoutNs: 3_000_000_000) { session.pendingRequests == 0 && !host.reconciling }
    let limiter = session.rest.limiter
    let rounds = session.reconciler.rounds - roundsBefore
    let places = session.entry.placesSent - placesBefore
    let report =
      "429s \(rest.weightRefusals), -1003 \(rest.errorCounts[-1003] ?? 0), throttled \(limiter.throttled), rounds \(rounds), orders sent \(places), cancels sent \(session.entry.cancelsSent), neighbour \(neighbourSpent)"
    print("weight pacing:", report)
    #expect(
      rest.weightRefusals == 0 && rest.errorCounts[-1003] == nil, "the venue never had to refuse: \(report)")
    #expect(
      limiter.responses429 == 0 && limiter.responses418 == 0 && session.entry.rateLimited == 0, "\(report)")
    #expect(limiter.throttled > 0, "the node was held to the limit: \(report)")
    #expect(neighbourSpent >= 120, "the other client spent in every window: \(report)")
    // Four windows of 110 left by the neighbour: the node used them (60 a round and the orders).
    #expect(rounds >= 4 && places >= 8, "the budget was used, not left idle: \(report)")
  }

  @Test func theVenueRefusesWhatTheEngineDoesNotPace() throws {
    let r = try burst(60, venueLimit: 20, engineBelieves: 1_000)
    #expect(r.venueRefusals > 0 && r.rateLimited > 0, "-1015 from the venue: \(r)")
    #expect(r.venueOrders == 20, "\(r)")
  }
}
