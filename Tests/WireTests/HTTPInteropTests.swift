import Foundation
import TestSupport
import Testing

@testable import Wire

@Suite(.serialized) struct HTTPInteropTests {
  let pki = TestPKI.shared

  /// Our HTTP client against Python's http.server behind TLS: keep-alive reuse, JSON with a
  /// rate-limit header, a POSTed body echoed, a chunked body, a 404, and a per-request timeout.
  @Test func ourClientAgainstPythonHTTPSServer() throws {
    let peer = try PeerProcess(pythonPath(), [PeerProcess.peersDir + "/https_peer.py", pki.cert, pki.key])
    defer { peer.stop() }
    let port = try #require(peer.waitForLine("READY ").flatMap { UInt16($0) }, "peer: \(peer.text)")
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let client = HTTPClient(
      loop: loop, host: "127.0.0.1", port: port, tls: try TLSContext(client: pki.ca), serverName: "localhost")
    var results: [String: Result<HTTPClient.Response, WireError>] = [:]
    client.request(HTTPRequestHead(method: "GET", target: "/api/v3/time")) { results["time"] = $0 }
    let body =
      Array("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=0.001".utf8) + [UInt8](repeating: 65, count: 100_000)
    client.request(HTTPRequestHead(method: "POST", target: "/echo"), body: body) { results["echo"] = $0 }
    client.request(HTTPRequestHead(method: "GET", target: "/chunked")) { results["chunked"] = $0 }
    client.request(HTTPRequestHead(method: "GET", target: "/missing")) { results["404"] = $0 }
    #expect(loop.run(timeoutNs: 20_000_000_000) { results.count == 4 })
    let time = try #require(try results["time"]?.get())
    #expect(time.head.status == 200 && time.head.headers["X-MBX-USED-WEIGHT-1M"] == "7")
    let json = try JSONSerialization.jsonObject(with: Data(time.body)) as? [String: Any]
    #expect(json?["serverTime"] != nil)
    let echo = try #require(try results["echo"]?.get())
    #expect(echo.body == body && echo.head.headers["x-echo-length"] == String(body.count))
    #expect(try results["chunked"]?.get().body == Array("first,second,third".utf8))
    #expect(try results["404"]?.get().head.status == 404)
    #expect(client.connectionsOpened == 1, "four requests on one kept-alive connection")
    // A request the server sits on: it times out, and the client carries on on a new connection.
    var slow: Result<HTTPClient.Response, WireError>? = nil
    var after: Result<HTTPClient.Response, WireError>? = nil
    client.request(HTTPRequestHead(method: "GET", target: "/slow"), timeoutNs: 300_000_000) { slow = $0 }
    client.request(HTTPRequestHead(method: "GET", target: "/api/v3/time")) { after = $0 }
    #expect(loop.run(timeoutNs: 20_000_000_000) { slow != nil && after != nil })
    if case .failure(let e)? = slow {
      #expect(e == .requestTimeout)
    } else {
      Issue.record("the slow request did not time out")
    }
    #expect(try after?.get().head.status == 200)
    #expect(client.connectionsOpened == 2)
    client.close()
  }

  /// Python's plain http.server answers in HTTP/1.0 and closes after every answer: three requests
  /// in a row each get theirs, on a connection of their own. Once it is gone, a request fails with
  /// the refused connect — at once, with one attempt, not a reconnect loop that never ends.
  @Test func http10ClosesAreReopenedAndARefusedConnectFailsTheRequest() throws {
    let (peer, port) = try pythonFileServer(serving: ["price": "42.5\n"])
    defer { peer.stop() }
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let client = HTTPClient(loop: loop, host: "127.0.0.1", port: port)
    var bodies: [String] = []
    for _ in 0..<3 {
      client.request(HTTPRequestHead(method: "GET", target: "/price")) {
        bodies.append((try? $0.get()).map { String(decoding: $0.body, as: UTF8.self) } ?? "failed")
      }
    }
    #expect(loop.run(timeoutNs: 10_000_000_000) { bodies.count == 3 })
    #expect(bodies == ["42.5\n", "42.5\n", "42.5\n"] && client.connectionsOpened == 3)
    peer.stop()
    var refused: Result<HTTPClient.Response, WireError>? = nil
    client.request(HTTPRequestHead(method: "GET", target: "/price")) { refused = $0 }
    #expect(loop.run(timeoutNs: 5_000_000_000) { refused != nil })
    if case .success? = refused { Issue.record("a request to a closed port succeeded") }
    loop.run(timeoutNs: 200_000_000) { false }
    #expect(client.connectionsOpened == 4, "one connect attempt for the refused request, not a loop")
  }

  /// curl against our HTTP server, plain and HTTPS; and a header flood gets 431 and a close.
  @Test(arguments: [false, true])
  func curlAgainstOurServer(https: Bool) throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let server = try HTTPServer(
      loop: loop, tls: https ? try TLSContext(server: pki.cert, keyFile: pki.key) : nil
    ) {
      req, body in
      if req.path == "/api/v3/ping" { return (HTTPResponseHead(status: 200), Array("{}".utf8)) }
      if req.method == "POST" {
        return (
          HTTPResponseHead(status: 200, headers: HTTPHeaders([("X-Got", "\(body.count)")])), body.reversed()
        )
      }
      return (HTTPResponseHead(status: 404), Array("no route\n".utf8))
    }
    let scheme = https ? "https://localhost" : "http://127.0.0.1"
    let tlsArgs = https ? ["--cacert", pki.ca] : []
    // `--next` resets per-transfer options, so each transfer repeats them.
    let common = ["-s", "-S", "--max-time", "10", "-i"] + tlsArgs
    let peer = try PeerProcess(
      "/usr/bin/curl",
      common + ["\(scheme):\(server.port)/api/v3/ping", "--next"] + common
        + ["-d", "abcdef", "\(scheme):\(server.port)/order", "--next"] + common + [
          "\(scheme):\(server.port)/nowhere"
        ])
    defer { peer.stop() }
    #expect(loop.run(timeoutNs: 20_000_000_000) { !peer.process.isRunning })
    peer.stop()
    let out = peer.text
    #expect(peer.process.terminationStatus == 0, "curl: \(out)")
    #expect(out.contains("HTTP/1.1 200 OK") && out.contains("{}"))
    #expect(out.contains("X-Got: 6") && out.contains("fedcba"))
    #expect(out.contains("HTTP/1.1 404") && out.contains("no route"))
    #expect(server.requestsServed == 3)
    // A header flood: 431, connection closed, the server carries on.
    let flood = try PeerProcess(
      "/usr/bin/curl",
      ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"] + tlsArgs
        + (0..<150).flatMap { ["-H", "X-Flood-\($0): \(String(repeating: "x", count: 100))"] } + [
          "\(scheme):\(server.port)/api/v3/ping"
        ])
    defer { flood.stop() }
    #expect(loop.run(timeoutNs: 20_000_000_000) { !flood.process.isRunning })
    flood.stop()
    #expect(flood.text == "431", "curl: \(flood.text)")
    #expect(server.badRequests == 1)
    server.close()
  }

  @Test func backoffGrowsWithJitterAndResets() {
    var b = Backoff(baseNs: 100, capNs: 10_000, seed: 42)
    var maxSeen: [Int64] = []
    for _ in 0..<12 { maxSeen.append(b.next()) }
    for (i, d) in maxSeen.enumerated() { #expect(d >= 0 && d <= min(10_000, 100 << Int64(i))) }
    #expect(Set(maxSeen).count > 6, "jittered")
    b.reset()
    #expect(b.next() <= 100)
  }
}
