import CPlatform
import Foundation
import Testing
import Wire

@testable import Venue

@Suite(.serialized) struct VenueFaultTests {
  func venue(_ plan: FaultPlan) throws -> (EventLoop, VenueREST, HTTPServer, SignedClient) {
    let loop = try EventLoop()
    let (rest, server) = try makeVenue(loop: loop)
    rest.faults = FaultInjector(plan)
    server.deferredHandler = { [unowned loop] in rest.handleWithFaults(loop: loop, $0, $1, $2) }
    return (loop, rest, server, try SignedClient(loop: loop, port: server.port))
  }

  let order =
    "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.10000&price=99.00&newClientOrderId=f1"

  @Test func lostResponseAfterAcceptLeavesTheOrderPlaced() throws {
    var plan = FaultPlan()
    plan.lostResponseAfterAccept = 1
    let (loop, rest, server, c) = try venue(plan)
    defer { withExtendedLifetime(server) {} }
    defer { loop.shutdown() }
    let r = c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(nowMs())")
    #expect(r.status == -1, "the client got no answer")
    #expect(rest.engine.openOrders(account: 1).map(\.clientOrderId) == ["f1"], "yet the order was placed")
    #expect(rest.faults?.counts["response lost after accept"] == 1)
  }

  /// A 429 bans only a client that comes back after it was told: a request signed before the
  /// 429 went out (in flight on another connection) gets a 429 and no ban; one signed after it,
  /// within the Retry-After, gets the 418 with a doubled Retry-After.
  @Test func onlyRequestsSentAfterA429AreBanned() throws {
    var plan = FaultPlan()
    plan.retryAfterSeconds = 5
    let (loop, rest, server, c) = try venue(plan)
    defer { withExtendedLifetime(server) {} }
    defer { loop.shutdown() }
    let f = try #require(rest.faults)
    f.arm("forced 429")
    let signedBefore = nowMs() - 1
    let first = c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(nowMs())")
    #expect(first.status == 429 && first.headers["retry-after"] == "5")
    let inFlight = c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(signedBefore)")
    #expect(inFlight.status == 429, "signed before the 429 went out: refused, not banned")
    #expect(
      f.counts["429 for a request already in flight"] == 1 && f.counts["418 for ignoring Retry-After"] == nil)
    loop.run(timeoutNs: 5_000_000) { false }
    let ignoring = c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(nowMs())")
    #expect(ignoring.status == 418 && ignoring.headers["retry-after"] == "10")
    #expect(f.counts["418 for ignoring Retry-After"] == 1)
    #expect(rest.engine.openOrders(account: 1).isEmpty, "nothing was placed")
  }

  @Test func serverErrorsBeforeAndAfterProcessing() throws {
    var plan = FaultPlan()
    plan.serverErrorBefore = 1
    var (loop, rest, server, c) = try venue(plan)
    defer { withExtendedLifetime(server) {} }
    var r = c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(nowMs())")
    #expect(r.status == 503 && rest.engine.openOrders(account: 1).isEmpty, "503 before: nothing happened")
    loop.shutdown()
    plan = FaultPlan()
    plan.serverErrorAfter = 1
    (loop, rest, server, c) = try venue(plan)
    defer { loop.shutdown() }
    r = c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(nowMs())")
    #expect(r.status == 500 && r.json["code"] as? Int == -1001)
    #expect(
      rest.engine.openOrders(account: 1).count == 1,
      "500 after: the order exists (status unknown to the client)")
  }

  @Test func staleStatusAfterCancel() throws {
    var plan = FaultPlan()
    plan.staleStatusAfterCancelMs = 300
    let (loop, rest, server, c) = try venue(plan)
    defer { withExtendedLifetime(server) {} }
    defer { loop.shutdown() }
    _ = c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(nowMs())")
    let cancel = c.send(
      "DELETE", "/api/v3/order", query: "symbol=BTCUSDT&origClientOrderId=f1&timestamp=\(nowMs())")
    #expect(cancel.json["status"] as? String == "CANCELED")
    let stale = c.send(
      "GET", "/api/v3/order", query: "symbol=BTCUSDT&origClientOrderId=f1&timestamp=\(nowMs())")
    #expect(stale.json["status"] as? String == "NEW", "still shown alive right after the cancel")
    loop.run(timeoutNs: 400_000_000) { false }
    let fresh = c.send(
      "GET", "/api/v3/order", query: "symbol=BTCUSDT&origClientOrderId=f1&timestamp=\(nowMs())")
    #expect(fresh.json["status"] as? String == "CANCELED")
    #expect(try rest.engine.order(account: 1, symbol: "BTCUSDT", clientOrderId: "f1").status == .CANCELED)
  }

  @Test func latencyAndForced429() throws {
    var plan = FaultPlan()
    plan.restLatencyNs = 50_000_000...60_000_000
    var (loop, rest, server, c) = try venue(plan)
    defer { withExtendedLifetime(server) {} }
    let t0 = cplat_now_ns()
    let r = c.send("GET", "/api/v3/time", query: "", key: nil, sign: false)
    #expect(r.status == 200 && cplat_now_ns() - t0 >= 50_000_000)
    loop.shutdown()
    plan = FaultPlan()
    plan.force429 = 1
    (loop, rest, server, c) = try venue(plan)
    defer { loop.shutdown() }
    let limited = c.send("GET", "/api/v3/time", query: "", key: nil, sign: false)
    #expect(limited.status == 429 && limited.headers["retry-after"] != nil)
    #expect(rest.faults?.counts["forced 429"] == 1)
  }

  @Test func userEventsDroppedDuplicatedAndReordered() {
    func run(_ plan: FaultPlan) -> [String] {
      VenueWSAPI.applyFaults(["a", "b", "c", "d"], FaultInjector(plan))
    }
    var p = FaultPlan()
    p.duplicateUserEvent = 1
    #expect(run(p) == ["a", "a", "b", "b", "c", "c", "d", "d"])
    p = FaultPlan()
    p.dropUserEvent = 1
    #expect(run(p).isEmpty)
    p = FaultPlan()
    p.reorderUserEvents = 1
    #expect(run(p) == ["b", "a", "d", "c"])
    p = FaultPlan()
    p.dropUserEvent = 0.5
    p.seed = 9
    let a = run(p)
    #expect(a == run(p), "same seed, same faults")
    #expect(a.count < 4 && !a.isEmpty)
  }
}
