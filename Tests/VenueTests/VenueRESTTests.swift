import CPlatform
import FastBook
import Foundation
import Glibc
import TestSupport
import Testing
import Wire

@testable import Venue

/// A throwaway CA and localhost certificate, made the way `needletail venue` makes its own.
final class VenuePKI: @unchecked Sendable {
  let ca: String
  let cert: String
  let key: String
  static let shared = try! VenuePKI()
  init() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
      "needletail-venue-pki-\(UUID().uuidString)"
    ).path
    (ca, cert, key) = try VenueHost.ensureCertificates(dataDir: dir)
  }
}

let apiKey = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
let apiSecret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"

/// A venue on loopback with a resting book from a market maker (account 9).
func makeVenue(loop: EventLoop, weightLimit: Int = 6000) throws -> (VenueREST, HTTPServer) {
  let e = MatchingEngine(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
  e.addSymbol(btcusdt())
  for a in [1, 9] {
    e.deposit(account: a, asset: "USDT", units: 100_000 * unit)
    e.deposit(account: a, asset: "BTC", units: 100 * unit)
  }
  for (p, q) in [(100.0, 1.0), (100.5, 2.0), (101.0, 3.0)] { _ = try e.place(limit(9, .SELL, p, q)) }
  for (p, q) in [(99.5, 1.0), (99.0, 2.0), (98.0, 3.0)] { _ = try e.place(limit(9, .BUY, p, q)) }
  let rest = VenueREST(
    engine: e, credentials: [VenueCredential(apiKey: apiKey, account: 1, hmacSecret: apiSecret)],
    weightLimit: weightLimit, clockMs: { Int64(Date().timeIntervalSince1970 * 1000) })
  let server = try HTTPServer(
    loop: loop, tls: TLSContext(server: VenuePKI.shared.cert, keyFile: VenuePKI.shared.key)
  ) {
    rest.handle($0, $1)
  }
  return (rest, server)
}

@Suite(.serialized) struct VenueRESTTests {
  @Test func signingVectors() throws {
    let vectors =
      try JSONSerialization.jsonObject(with: SharedData.data("data/wire/signing/signing_vectors.json"))
      as! [[String: Any]]
    var checked = 0
    for v in vectors where (v["scheme"] as? String) == "HMAC-SHA256 hex" {
      #expect(
        Signing.hmacSHA256Hex(secret: v["secretKey"] as! String, payload: v["payload"] as! String) == v[
          "signature"] as! String)
      checked += 1
    }
    for v in vectors where (v["scheme"] as? String)?.hasPrefix("Ed25519") == true {
      guard let pkHex = v["publicKeyHex"] as? String, let sig = v["signature"] as? String,
        let payload = v["payload"] as? String
      else { continue }
      let pk = stride(from: 0, to: pkHex.count, by: 2).map {
        UInt8(
          pkHex[
            pkHex.index(pkHex.startIndex, offsetBy: $0)..<pkHex.index(pkHex.startIndex, offsetBy: $0 + 2)],
          radix: 16)!
      }
      #expect(Signing.verifyEd25519(publicKey: pk, payload: payload, signature: Base64.decode(sig) ?? []))
      #expect(
        !Signing.verifyEd25519(publicKey: pk, payload: payload + "x", signature: Base64.decode(sig) ?? []))
      checked += 1
    }
    #expect(checked >= 4)
  }

  /// A real Binance client, ccxt, trades against the venue; every answer agrees with the venue.
  @Test func ccxtTradesAgainstTheVenue() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let (rest, server) = try makeVenue(loop: loop)
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
      "Peers/ccxt_client.py"
    ).path
    let peer = try PeerProcess(
      pythonPath(), [script, String(server.port), VenuePKI.shared.ca, apiKey, apiSecret])
    defer { peer.stop() }
    #expect(loop.run(timeoutNs: 90_000_000_000) { !peer.process.isRunning })
    peer.stop()
    let text = peer.text
    #expect(peer.process.terminationStatus == 0, "ccxt: \(text.suffix(2000))")
    guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
      let r = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], r["error"] == nil
    else {
      Issue.record("no result from ccxt: \(text.suffix(2000))")
      return
    }
    let e = rest.engine
    // load_markets: precision and limits come from our exchangeInfo.
    let market = r["market"] as! [String: Any]
    #expect(market["id"] as? String == "BTCUSDT")
    // fetch_order_book equals the venue's depth.
    let book = r["book"] as! [String: [[Double]]]
    #expect(book["asks"]?.first == [100.0, 1.0] && book["bids"]?.first == [99.5, 1.0])
    // The limit buy rests; the market buy took 0.25 at 100.
    let lb = r["limit_buy"] as! [String: Any]
    #expect(lb["status"] as? String == "open" && lb["clientOrderId"] as? String == "cc-limit-1")
    let mb = r["market_buy"] as! [String: Any]
    #expect(
      mb["status"] as? String == "closed" && (mb["filled"] as? Double) == 0.25
        && (mb["average"] as? Double) == 100)
    // Post-only crossing: refused with Binance's -2010 "Order would immediately match and take.",
    // which ccxt maps to its OrderImmediatelyFillable.
    let po = r["post_only"] as? [String: Any]
    #expect(
      po?["class"] as? String == "OrderImmediatelyFillable",
      "post-only: \(String(describing: r["post_only"]))")
    #expect(rest.errorCounts[-2010] == 1)
    // fetch_order / open orders / cancel agree with the engine.
    let fo = r["fetch_order"] as! [String: Any]
    let id = Int64(fo["id"] as! String)!
    #expect(fo["status"] as? String == "open" && (fo["price"] as? Double) == 99)
    #expect((r["open_orders"] as! [[String: Any]]).map { $0["id"] as? String } == [String(id)])
    #expect((r["cancel"] as! [String: Any])["status"] as? String == "canceled")
    #expect((r["open_after_cancel"] as! [Any]).isEmpty)
    #expect(try e.order(account: 1, symbol: "BTCUSDT", orderId: id).status == .CANCELED)
    // fetch_balance equals the venue's balances.
    let bal = r["balance"] as! [String: [String: Any]]
    for asset in ["BTC", "USDT"] {
      let b = e.balance(account: 1, asset: asset)
      #expect(bal[asset]?["free"] as? Double == Double(VenueREST.units(b.free)), "\(asset)")
      #expect(bal[asset]?["used"] as? Double == Double(VenueREST.units(b.locked)), "\(asset)")
    }
    // fetch_my_trades: the one fill, with the commission charged in BTC.
    let trades = r["my_trades"] as! [[String: Any]]
    #expect(trades.count == e.myTrades(account: 1, symbol: "BTCUSDT").count && trades.count == 1)
    let fee = trades.first?["fee"] as? [String: Any]
    #expect(fee?["currency"] as? String == "BTC" && fee?["cost"] as? Double == 0.00025)
  }
}

/// Each role on its own listener, as Binance's three hosts: curl (a client nobody here wrote)
/// finds the REST API only on the REST listener, and the WebSocket API's and streams' upgrades
/// only on theirs; asked for another role's path, a listener answers 404 and counts it.
@Suite(.serialized) struct VenueListenerTests {
  @Test func eachListenerServesOnlyItsRoles() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let e = MatchingEngine(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
    e.addSymbol(btcusdt())
    let host = try VenueHost(
      loop: loop, engine: e, credentials: [],
      tls: TLSContext(server: VenuePKI.shared.cert, keyFile: VenuePKI.shared.key),
      listeners: [
        VenueListener(roles: [.rest]), VenueListener(roles: [.streams]), VenueListener(roles: [.wsAPI]),
      ])
    defer { host.close() }
    let (rest, streams, api) = (host.port(for: .rest)!, host.port(for: .streams)!, host.port(for: .wsAPI)!)
    #expect(Set([rest, streams, api]).count == 3)
    func status(_ port: UInt16, _ path: String, upgrade: Bool = false) throws -> String {
      var args = [
        "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", upgrade ? "2" : "10", "--cacert",
        VenuePKI.shared.ca,
        "https://localhost:\(port)\(path)",
      ]
      if upgrade {
        args += [
          "-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13",
          "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "--http1.1",
        ]
      }
      let peer = try PeerProcess("/usr/bin/curl", args)
      loop.run(timeoutNs: 15_000_000_000) { !peer.process.isRunning }
      peer.stop()
      return peer.text
    }
    #expect(try status(rest, "/api/v3/time") == "200")
    #expect(try status(streams, "/api/v3/time") == "404")
    #expect(try status(api, "/api/v3/exchangeInfo") == "404")
    #expect(try status(api, "/ws-api/v3", upgrade: true) == "101")
    #expect(try status(streams, "/ws/btcusdt@trade", upgrade: true) == "101")
    #expect(try status(streams, "/ws-api/v3", upgrade: true) == "404")
    #expect(host.wrongRole == 3)
  }
}
