import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import Testing
import Wire

@testable import Venue

/// A host whose clock is off: the venue answers -1021 to every signed request until the node
/// measures the venue's clock (`GET /api/v3/time`) and signs with the offset.
@Suite(.serialized) struct ServerTimeTests {
  final class Quiet: Strategy {
    func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {}
  }

  @Test(arguments: [-3_000, 7_000, 2_000] as [Int64])
  func theOffsetIsMeasuredAndEverySignedRequestUsesIt(_ venueAheadMs: Int64) throws {
    let v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 2, liquidityQuantity: 50_000)
    defer { v.loop.shutdown() }
    // The venue's clock `venueAheadMs` ahead of ours (negative: behind): our timestamps 1 s or more
    // ahead of it, or more than the window behind (5 s; 1.5 s, given, when it is 2 s ahead), are
    // refused.
    v.host.rest.clockMs = { Int64(Date().timeIntervalSince1970 * 1000) + venueAheadMs }
    let tracker = OrderTracker()
    let session = try BinanceSession(
      loop: v.loop, endpoint: .init(host: "127.0.0.1", port: v.host.port, serverName: "localhost"),
      tls: TLSContext(client: v.certs.ca), apiKey: "k1", secret: "s1", instrument: v.instrument,
      strategy: Quiet(), rule: TradingRule(tickSize: 1, stepSize: 1), limits: RiskLimits(), prefix: "st-",
      tracker: tracker, clock: Clock(tickNs: 1_000_000_000, start: cplat_now_ns()), centreTick: 10_000)
    func place(_ tag: UInt64) -> OrderState? {
      session.host.perform(referencePrice: 1_000_000, now: cplat_now_ns()) {
        $0.place(PlaceIntent(tag: tag, side: .buy, price: 9_900, quantity: 1_000))
      }
      session.turn()
      _ = session.run(timeoutNs: 5_000_000_000) { session.pendingRequests == 0 }
      _ = session.run(timeoutNs: 100_000_000) { false }
      return tracker.orders[session.host.clientOrderID(tag: tag)]?.state
    }
    if venueAheadMs == 2_000 {
      session.rest.recvWindowMs = 1_500
      session.entry.recvWindowMs = 1_500
    }
    session.start()
    defer { session.stop() }
    #expect(session.run(timeoutNs: 10_000_000_000) { session.runtime.applier.isLive && session.entry.isOpen })
    // Unsynced: refused with the venue's -1021.
    #expect(place(1) == .failed)
    #expect(session.entry.lastRefusal?.contains("-1021") == true)
    // Kept in sync (as `run` does): that -1021 itself measures the clock again, and the next order
    // goes through without being told.
    session.keepServerTimeSynced()
    #expect(place(3) == .failed)
    _ = session.run(timeoutNs: 2_000_000_000) { abs(session.rest.timeOffsetMs - venueAheadMs) < 200 }
    #expect(abs(session.entry.timeOffsetMs - venueAheadMs) < 200, "offset \(session.entry.timeOffsetMs)")
    #expect(place(4) == .open)
    // Synced: the offset within the round trip of the venue's, and orders go through.
    let t = try #require(session.syncServerTime())
    #expect(abs(t.offsetMs - venueAheadMs) <= t.roundTripMs + 2)
    #expect(place(2) == .open)
    // REST too (the account call is signed).
    #expect(throws: Never.self) { try session.fetchAccount() }
  }

  /// A -1021 on a REST call measures the clock again too: the venue's clock steps 3 s back
  /// after start (our timestamps are now ahead of it) (a step the periodic sample has not seen); the account call is refused with
  /// -1021, and the next one, and the next order, go through without anyone syncing.
  @Test func aRESTRefusalWithMinus1021MeasuresTheClockAgain() throws {
    let v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 2, liquidityQuantity: 50_000)
    defer { v.loop.shutdown() }
    let tracker = OrderTracker()
    let session = try BinanceSession(
      loop: v.loop, endpoint: .init(host: "127.0.0.1", port: v.host.port, serverName: "localhost"),
      tls: TLSContext(client: v.certs.ca), apiKey: "k1", secret: "s1", instrument: v.instrument,
      strategy: Quiet(), rule: TradingRule(tickSize: 1, stepSize: 1), limits: RiskLimits(), prefix: "sr-",
      tracker: tracker, clock: Clock(tickNs: 1_000_000_000, start: cplat_now_ns()), centreTick: 10_000)
    session.start()
    defer { session.stop() }
    #expect(session.run(timeoutNs: 10_000_000_000) { session.runtime.applier.isLive && session.entry.isOpen })
    #expect(session.syncServerTime() != nil)
    session.keepServerTimeSynced()
    #expect(abs(session.rest.timeOffsetMs) < 200)
    v.host.rest.clockMs = { Int64(Date().timeIntervalSince1970 * 1000) - 3_000 }
    #expect(throws: VenueCallError.self) { try session.fetchAccount() }
    _ = session.run(timeoutNs: 2_000_000_000) { abs(session.rest.timeOffsetMs + 3_000) < 200 }
    #expect(abs(session.rest.timeOffsetMs + 3_000) < 200, "offset \(session.rest.timeOffsetMs)")
    #expect(abs(session.entry.timeOffsetMs + 3_000) < 200 && abs(session.user.timeOffsetMs + 3_000) < 200)
    #expect(session.rest.limiter.venueClockOffsetNs == session.rest.timeOffsetMs * 1_000_000)
    #expect(throws: Never.self) { try session.fetchAccount() }
    session.host.perform(referencePrice: 1_000_000, now: cplat_now_ns()) {
      $0.place(PlaceIntent(tag: 1, side: .buy, price: 9_900, quantity: 1_000))
    }
    session.turn()
    #expect(
      session.run(timeoutNs: 5_000_000_000) {
        tracker.orders[session.host.clientOrderID(tag: 1)]?.state == .open
      })
  }
}
