import CPlatform
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
    streams.onDiffEmitted = { name, id in
      let d = rest.engine.depth(symbol: name, limit: 5)
      truth[id] = (d.bids, d.asks)
    }
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
      "Peers/ws_depth_sync.py"
    ).path
    let peer = try PeerProcess(pythonPath(), [script, String(server.port), VenuePKI.shared.ca, "5"])
    defer { peer.stop() }
    // Order flow: a random walk of limit orders, market orders and cancels for 2.5 s.
    var rng = SplitMix64(seed: 5)
    var mid = 100.0
    let start = cplat_now_ns()
    var skipped = false
    func flow() {
      guard cplat_now_ns() - start < 3_500_000_000 else { return }
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
      if !skipped && cplat_now_ns() - start > 1_200_000_000 {
        skipped = true
        streams.skipNextDiff = true  // the fault: one diff never sent
      }
      loop.schedule(after: 3_000_000) { flow() }
    }
    loop.schedule(after: 300_000_000) { flow() }
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
    #expect(compared > 10, "checkpoints compared: \(compared)")
    // The final book, top 20, equals the venue's.
    let final = rest.engine.depth(symbol: "BTCUSDT", limit: 20)
    #expect((r["id"] as? NSNumber)?.int64Value == rest.engine.bookUpdateID(symbol: "BTCUSDT"))
    #expect(levels(r["bids"]) == final.bids && levels(r["asks"]) == final.asks)
    _ = sym
    streams.close()
  }
}
