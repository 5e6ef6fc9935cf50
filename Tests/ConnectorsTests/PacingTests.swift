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

  @Test func theVenueRefusesWhatTheEngineDoesNotPace() throws {
    let r = try burst(60, venueLimit: 20, engineBelieves: 1_000)
    #expect(r.venueRefusals > 0 && r.rateLimited > 0, "-1015 from the venue: \(r)")
    #expect(r.venueOrders == 20, "\(r)")
  }
}
