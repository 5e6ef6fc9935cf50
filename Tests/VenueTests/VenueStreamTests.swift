import FastBook
import Foundation
import TestSupport
import Testing
import Wire

@testable import Venue

@Suite(.serialized) struct VenueStreamTests {
  /// A Python client syncing by Binance's rules holds the venue's book at every checkpoint, and
  /// notices a skipped diff.
  @Test func pythonClientKeepsTheVenuesBook() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let (rest, server) = try makeVenue(loop: loop)
    let streams = VenueStreams(loop: loop, engine: rest.engine)
    server.onUpgrade = { streams.accept($0, $1) }
    // The venue's own top 5 at every diff it sends: the checkpoints.
    var truth: [Int64: ([BookLevel], [BookLevel])] = [:]
    var emitted = 0
    streams.onDiffEmitted = { name, id in
      let d = rest.engine.depth(symbol: name, limit: 5)
      truth[id] = (d.bids, d.asks)
      emitted += 1
    }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
      "Peers/ws_depth_sync.py"
    ).path
    let peer = try PeerProcess(pythonPath(), [script, String(server.port), VenuePKI.shared.ca, "25", "2.5"])
    defer { peer.stop() }
    // Order flow: a random walk of limit orders, market orders and cancels until the venue has
    // sent 60 diffs; counting diffs, not seconds, keeps the checkpoints the same on a loaded
    // machine. The client stops when the stream has been quiet for 2.5 s.
    var rng = SplitMix64(seed: 5)
    var mid = 100.0
    var skipped = false
    var startEmitted = 0
    func flow() {
      guard emitted - startEmitted < 60 else { return }
      mid += Double(Int.random(in: -1...1, using: &rng)) * 0.01
      let a = Bool.random(using: &rng) ? 1 : 9
      switch Int.random(in: 0..<6, using: &rng) {
      case 0..<4:
        let side: OrderSide = Bool.random(using: &rng) ? .BUY : .SELL
        let off = Double(Int.random(in: 1...40, using: &rng)) * 0.01
        _ = try? rest.engine.place(
          limit(
            a, side, side == .BUY ? mid - off : mid + off, Double(Int.random(in: 1...50, using: &rng)) / 100))
      case 4:
        var m = NewOrder(
          account: a, symbol: "BTCUSDT", side: Bool.random(using: &rng) ? .BUY : .SELL, type: .MARKET)
        m.quantity = qty(Double(Int.random(in: 1...20, using: &rng)) / 100)
        _ = try? rest.engine.place(m)
      default:
        if let o = rest.engine.openOrders(account: a).randomElement(using: &rng) {
          _ = try? rest.engine.cancel(account: a, symbol: "BTCUSDT", orderId: o.orderId)
        }
      }
      if !skipped && emitted - startEmitted >= 15 {
        skipped = true
        streams.skipNextDiff = true  // the fault: one diff never sent
      }
      loop.schedule(after: 3_000_000) { flow() }
    }
    // The flow starts once the client is connected (its interpreter can take seconds to start on
    // a loaded machine).
    func begin() {
      if streams.connectionCount > 0 {
        startEmitted = emitted
        flow()
      } else {
        loop.schedule(after: 20_000_000) { begin() }
      }
    }
    begin()
    #expect(loop.run(timeoutNs: 30_000_000_000) { !peer.process.isRunning })
    peer.stop()
    guard let line = peer.text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
      let r = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    else {
      Issue.record(
        "no result from the client: \(peer.text.suffix(1500).replacingOccurrences(of: "\n", with: " | "))")
      return
    }
    let sym = rest.engine.symbols["BTCUSDT"]!
    func levels(_ a: Any?) -> [BookLevel] {
      (a as? [[String]] ?? []).map {
        BookLevel(
          tick: try! FixedPoint.parse($0[0], scale: 2), quantity: try! FixedPoint.parse($0[1], scale: 5))
      }
    }
    #expect(streams.diffsSkipped == 1)
    #expect((r["gaps"] as? Int ?? 0) >= 1, "the client must detect the skipped diff")
    // Every checkpoint the client recorded equals the venue's book at that update id.
    let cps = r["checkpoints"] as? [String: [String: Any]] ?? [:]
    var compared = 0
    for (u, cp) in cps {
      guard let want = truth[Int64(u)!] else { continue }
      #expect(levels(cp["bids"]) == want.0 && levels(cp["asks"]) == want.1, "at u=\(u)")
      compared += 1
    }
    #expect(compared > 20, "checkpoints compared: \(compared) of \(emitted) diffs sent")
    // The final book, top 20, equals the venue's.
    let final = rest.engine.depth(symbol: "BTCUSDT", limit: 20)
    #expect((r["id"] as? NSNumber)?.int64Value == rest.engine.bookUpdateID(symbol: "BTCUSDT"))
    #expect(levels(r["bids"]) == final.bids && levels(r["asks"]) == final.asks)
    _ = sym
    streams.close()
  }
}

@Suite(.serialized) struct VenueWSAPITests {
  /// A Python WebSocket API client subscribes to user data and trades: responses and events come
  /// in Binance's shapes and agree with the venue.
  @Test func pythonClientTradesOverTheWebSocketAPI() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let (rest, server) = try makeVenue(loop: loop)
    let api = VenueWSAPI(rest: rest)
    server.onUpgrade = { api.accept($0, $1) }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
      "Peers/wsapi_client.py"
    ).path
    let peer = try PeerProcess(
      pythonPath(), [script, String(server.port), VenuePKI.shared.ca, apiKey, apiSecret])
    defer { peer.stop() }
    #expect(loop.run(timeoutNs: 30_000_000_000) { !peer.process.isRunning })
    peer.stop()
    guard let line = peer.text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
      let r = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    else {
      Issue.record("no result: \(peer.text.suffix(1500).replacingOccurrences(of: "\n", with: " | "))")
      return
    }
    let responses = r["responses"] as! [String: [String: Any]]
    #expect((responses["sub"]?["result"] as? [String: Any])?["subscriptionId"] as? Int == 0)
    #expect((responses["bad-sig"]?["error"] as? [String: Any])?["code"] as? Int == -1022)
    let take = responses["take"]?["result"] as? [String: Any]
    #expect(take?["status"] as? String == "FILLED" && (take?["fills"] as? [Any])?.count == 2)
    #expect((responses["status"]?["result"] as? [String: Any])?["status"] as? String == "NEW")
    #expect((responses["cancel"]?["result"] as? [String: Any])?["status"] as? String == "CANCELED")
    #expect((responses["broke"]?["error"] as? [String: Any])?["code"] as? Int == -2010)
    // User data: executionReports for every change of the account's orders, in order, and balances.
    let events = (r["events"] as! [[String: Any]]).compactMap { $0["event"] as? [String: Any] }
    let reports = events.filter { $0["e"] as? String == "executionReport" }
    let sequence = reports.map { "\($0["c"] as! String):\($0["x"] as! String):\($0["X"] as! String)" }
    #expect(
      sequence == [
        "ws-take:NEW:NEW", "ws-take:TRADE:PARTIALLY_FILLED", "ws-take:TRADE:FILLED", "ws-rest:NEW:NEW",
        "ws-rest:CANCELED:CANCELED",
      ], "\(sequence)")
    let fills = reports.filter { $0["x"] as? String == "TRADE" }
    #expect(fills.map { $0["L"] as? String } == ["100.00000000", "100.50000000"])
    #expect(fills.allSatisfy { $0["N"] as? String == "BTC" && $0["m"] as? Bool == false })
    // The last balances reported equal the venue's.
    let positions = events.filter { $0["e"] as? String == "outboundAccountPosition" }
    let last = (positions.last?["B"] as? [[String: Any]]) ?? []
    for b in last {
      let asset = b["a"] as! String
      let have = rest.engine.balance(account: 1, asset: asset)
      #expect(
        b["f"] as? String == VenueREST.units(have.free) && b["l"] as? String == VenueREST.units(have.locked))
    }
    #expect(!last.isEmpty)
  }
}
