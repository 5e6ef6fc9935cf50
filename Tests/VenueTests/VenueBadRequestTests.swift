import Foundation
import TestSupport
import Testing
import Wire

@testable import Venue

/// Signs and sends requests with our own HTTP client; checks codes and that state is unchanged.
final class SignedClient {
  let loop: EventLoop
  let http: HTTPClient
  init(loop: EventLoop, port: UInt16) throws {
    self.loop = loop
    http = HTTPClient(
      loop: loop, host: "127.0.0.1", port: port, tls: try TLSContext(client: VenuePKI.shared.ca),
      serverName: "localhost")
  }

  func send(
    _ method: String, _ path: String, query: String, key: String? = apiKey, sign: Bool = true,
    secret: String = apiSecret,
    body: [UInt8] = []
  ) -> (status: Int, json: [String: Any], headers: HTTPHeaders) {
    var q = query
    if sign { q += "&signature=" + Signing.hmacSHA256Hex(secret: secret, payload: query) }
    var h = HTTPRequestHead(method: method, target: path + (q.isEmpty ? "" : "?" + q))
    if let key { h.headers.add("X-MBX-APIKEY", key) }
    var result: Result<HTTPClient.Response, WireError>? = nil
    http.request(h, body: body) { result = $0 }
    _ = loop.run(timeoutNs: 10_000_000_000) { result != nil }
    guard case .success(let r)? = result else { return (-1, [:], HTTPHeaders()) }
    let json = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
    return (r.head.status, json, r.head.headers)
  }
}

func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

@Suite(.serialized) struct VenueBadRequestTests {
  /// Every bad request gets Binance's code and message and changes nothing.
  @Test func badRequestsAreRefusedWithoutSideEffects() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let (rest, server) = try makeVenue(loop: loop)
    let c = try SignedClient(loop: loop, port: server.port)
    let before = (rest.engine.balances, rest.engine.openOrders(account: 1), rest.engine.trades.count)
    let order = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.10000&price=99.00"
    func check(
      _ r: (status: Int, json: [String: Any], headers: HTTPHeaders), _ status: Int, _ code: Int,
      _ msg: String? = nil,
      sourceLocation: SourceLocation = #_sourceLocation
    ) {
      #expect(r.status == status, "\(r.json)", sourceLocation: sourceLocation)
      #expect(r.json["code"] as? Int == code, "\(r.json)", sourceLocation: sourceLocation)
      if let msg { #expect(r.json["msg"] as? String == msg, sourceLocation: sourceLocation) }
    }
    let ts = nowMs()
    check(
      c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(ts)", key: nil), 401, -2014,
      "API-key format invalid.")
    check(c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(ts)", key: "nope"), 401, -2015)
    check(c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(ts)", sign: false), 400, -1102)
    check(
      c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(ts)", secret: "wrong"), 400, -1022,
      "Signature for this request is not valid.")
    check(
      c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(ts - 60_000)"), 400, -1021,
      "Timestamp for this request is outside of the recvWindow.")
    check(
      c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(ts + 5_000)"), 400, -1021,
      "Timestamp for this request was 1000ms ahead of the server's time.")
    check(c.send("POST", "/api/v3/order", query: "\(order)"), 400, -1102)
    check(
      c.send(
        "POST", "/api/v3/order",
        query: "symbol=NOPE&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=1&timestamp=\(ts)"),
      400, -1121, "Invalid symbol.")
    check(
      c.send(
        "POST", "/api/v3/order",
        query: "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=abc&price=1&timestamp=\(ts)"),
      400, -1100)
    check(
      c.send(
        "POST", "/api/v3/order",
        query: "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.000001&price=99&timestamp=\(ts)"
      ),
      400, -1111)
    check(
      c.send(
        "POST", "/api/v3/order", query: "symbol=BTCUSDT&side=UP&type=LIMIT&quantity=1&price=1&timestamp=\(ts)"
      ), 400, -1117)
    check(
      c.send(
        "POST", "/api/v3/order",
        query: "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=1&timestamp=\(ts)"), 400, -1102)
    check(
      c.send("DELETE", "/api/v3/order", query: "symbol=BTCUSDT&orderId=999999&timestamp=\(ts)"), 400, -2011,
      "Unknown order sent.")
    check(
      c.send("GET", "/api/v3/order", query: "symbol=BTCUSDT&orderId=999999&timestamp=\(ts)"), 400, -2013,
      "Order does not exist.")
    // An oversized body: the HTTP layer answers 413 before anything is parsed.
    let big = [UInt8](repeating: UInt8(ascii: "a"), count: 9 * 1024 * 1024)
    let r = c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(ts)", body: big)
    #expect(r.status == 413 || r.status == -1)
    // Nothing changed.
    #expect(rest.engine.balances == before.0)
    #expect(rest.engine.openOrders(account: 1) == before.1)
    #expect(rest.engine.trades.count == before.2)
    // And a good request still works.
    let ok = c.send("POST", "/api/v3/order", query: "\(order)&timestamp=\(nowMs())&newOrderRespType=RESULT")
    #expect(ok.status == 200 && ok.json["status"] as? String == "NEW")
    #expect(ok.headers["x-mbx-used-weight-1m"] != nil)
  }

  /// Over the weight limit: 429 with Retry-After; keep going: 418, a ban with Retry-After.
  @Test func weightLimitsGive429Then418() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let (rest, server) = try makeVenue(loop: loop, weightLimit: 60)
    let c = try SignedClient(loop: loop, port: server.port)
    var statuses: [Int] = []
    var retryAfter: [String?] = []
    for _ in 0..<8 {
      let r = c.send("GET", "/api/v3/depth", query: "symbol=BTCUSDT&limit=1000", key: nil, sign: false)  // weight 50
      statuses.append(r.status)
      retryAfter.append(r.headers["retry-after"])
    }
    // 50 fits, the next three are over: 429, 429, then the ban: 418 from then on.
    #expect(statuses.first == 200)
    #expect(statuses.contains(429) && statuses.contains(418), "\(statuses)")
    #expect(statuses.firstIndex(of: 429)! < statuses.firstIndex(of: 418)!)
    #expect(statuses.last == 418)
    #expect(retryAfter.enumerated().allSatisfy { statuses[$0.offset] == 200 || $0.element != nil })
    #expect(rest.errorCounts[-1003, default: 0] == statuses.filter { $0 != 200 }.count)
  }
}

@Suite(.serialized) struct VenueEd25519Tests {
  /// A REST order signed with Ed25519 (base64, percent-encoded) is accepted; a wrong one is not.
  @Test func ed25519SignedRequests() throws {
    let vectors =
      try JSONSerialization.jsonObject(with: SharedData.data("data/wire/signing/signing_vectors.json"))
      as! [[String: Any]]
    let v = try #require(vectors.first { ($0["scheme"] as? String)?.hasPrefix("Ed25519") == true })
    let seedHex = v["privateKeySeedHex"] as! String
    let seed = stride(from: 0, to: seedHex.count, by: 2).map {
      UInt8(
        seedHex[
          seedHex.index(
            seedHex.startIndex, offsetBy: $0)..<seedHex.index(seedHex.startIndex, offsetBy: $0 + 2)],
        radix: 16)!
    }
    // The vector's own signature is reproduced.
    if let payload = v["payload"] as? String, let sig = v["signature"] as? String {
      #expect(Base64.encode(Signing.signEd25519(privateKeySeed: seed, payload: payload)!) == sig)
    }
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let (_, _) = try makeVenue(loop: loop)
    let e = MatchingEngine(clock: { nowMs() })
    e.addSymbol(btcusdt())
    e.deposit(account: 5, asset: "USDT", units: 1000 * unit)
    let rest = VenueREST(
      engine: e,
      credentials: [
        VenueCredential(
          apiKey: "ed-key", account: 5, ed25519PublicKey: Signing.ed25519PublicKey(privateKeySeed: seed))
      ],
      clockMs: { nowMs() })
    let server = try HTTPServer(
      loop: loop, tls: TLSContext(server: VenuePKI.shared.cert, keyFile: VenuePKI.shared.key)
    ) {
      rest.handle($0, $1)
    }
    let c = try SignedClient(loop: loop, port: server.port)
    let query =
      "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.10000&price=99.00&timestamp=\(nowMs())"
    let sig = Base64.encode(Signing.signEd25519(privateKeySeed: seed, payload: query)!)
    let encoded = sig.replacingOccurrences(of: "+", with: "%2B").replacingOccurrences(of: "/", with: "%2F")
      .replacingOccurrences(of: "=", with: "%3D")
    let ok = c.send(
      "POST", "/api/v3/order", query: query + "&signature=" + encoded, key: "ed-key", sign: false)
    #expect(ok.status == 200, "\(ok.json)")
    // The same signature on a different payload (a larger quantity) must not pass.
    let tampered = query.replacingOccurrences(of: "quantity=0.10000", with: "quantity=0.20000")
    let bad = c.send(
      "POST", "/api/v3/order", query: tampered + "&signature=" + encoded, key: "ed-key", sign: false)
    #expect(bad.json["code"] as? Int == -1022)
    #expect(e.openOrders(account: 5).count == 1)
  }
}
