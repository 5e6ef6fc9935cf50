import CPlatform
import Foundation
import TestSupport
import Testing

@testable import Wire

/// Records what a lane tells its owner, as in-place answers must be read: at once.
final class LaneRecorder: HTTPLaneDelegate {
  struct Answer {
    var status: Int
    var usedWeight: Int?
    var echoLength: Int?
    var body: [UInt8]
  }
  var answers: [Answer] = []
  var failures: [WireError] = []
  var done: Int { answers.count + failures.count }

  func laneAnswered(_ lane: HTTPLane) {
    let r = lane.response
    answers.append(
      Answer(
        status: r.status, usedWeight: r.headerInt("x-mbx-used-weight-1m"),
        echoLength: r.headerInt("x-echo-length"),
        body: r.withBody { Array($0) }))
  }
  func lane(_ lane: HTTPLane, failed error: WireError) { failures.append(error) }
}

@Suite(.serialized) struct HTTPLaneTests {
  let pki = TestPKI.shared

  /// Writes a request of `head` (and `body`) into a lane's buffer.
  static func request(_ line: String, host: String, body: [UInt8] = []) -> (UnsafeMutableRawBufferPointer) ->
    Int
  {
    { buffer in
      var bytes = Array("\(line) HTTP/1.1\r\nHost: \(host)\r\n".utf8)
      if !body.isEmpty { bytes += Array("Content-Length: \(body.count)\r\n".utf8) }
      bytes += Array("\r\n".utf8) + body
      guard bytes.count <= buffer.count else { return buffer.count + 1 }
      buffer.copyBytes(from: bytes)
      return bytes.count
    }
  }

  /// The lane against Python's http.server behind TLS: answers by length and chunked, a header
  /// read in place, a 100 kB body each way, a 404, all on one kept-alive connection; a request
  /// the server sits on times out through `poll` and the next goes out on a new connection; a
  /// second request while one is in flight is refused.
  @Test func theLaneAgainstPythonHTTPSServer() throws {
    let peer = try PeerProcess(pythonPath(), [PeerProcess.peersDir + "/https_peer.py", pki.cert, pki.key])
    defer { peer.stop() }
    let port = try #require(peer.waitForLine("READY ").flatMap { UInt16($0) }, "peer: \(peer.text)")
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let lane = HTTPLane(
      loop: loop, host: "127.0.0.1", port: port, tls: try TLSContext(client: pki.ca), serverName: "localhost",
      capacity: 1 << 18, bodyCapacity: 1 << 10)
    let seen = LaneRecorder()
    lane.delegate = seen
    let host = lane.hostField
    let body = [UInt8](repeating: 65, count: 100_000)
    let steps: [(String, [UInt8])] = [
      ("GET /api/v3/time", []), ("POST /echo", body), ("GET /chunked", []), ("GET /missing", []),
    ]
    for (i, (line, b)) in steps.enumerated() {
      #expect(lane.send(timeoutNs: 5_000_000_000, Self.request(line, host: host, body: b)))
      #expect(!lane.send(timeoutNs: 5_000_000_000, Self.request(line, host: host)), "one request at a time")
      #expect(
        loop.run(timeoutNs: 10_000_000_000) {
          lane.poll(now: cplat_now_ns()); return seen.done == i + 1
        })
    }
    #expect(seen.failures.isEmpty, "\(seen.failures)")
    try #require(seen.answers.count == 4)
    #expect(seen.answers[0].status == 200 && seen.answers[0].usedWeight == 7)
    let json = try JSONSerialization.jsonObject(with: Data(seen.answers[0].body)) as? [String: Any]
    #expect(json?["serverTime"] != nil)
    #expect(seen.answers[1].body == body && seen.answers[1].echoLength == body.count)
    #expect(seen.answers[2].body == Array("first,second,third".utf8))
    #expect(seen.answers[3].status == 404)
    #expect(lane.connectionsOpened == 1, "four requests on one kept-alive connection")
    // Overdue: failed by poll, the connection dropped; the next request opens a new one.
    #expect(lane.send(timeoutNs: 300_000_000, Self.request("GET /slow", host: host)))
    #expect(
      loop.run(timeoutNs: 10_000_000_000) {
        lane.poll(now: cplat_now_ns()); return seen.done == 5
      })
    #expect(seen.failures == [.requestTimeout] && lane.timeouts == 1 && !lane.busy)
    #expect(lane.send(timeoutNs: 5_000_000_000, Self.request("GET /api/v3/time", host: host)))
    #expect(
      loop.run(timeoutNs: 10_000_000_000) {
        lane.poll(now: cplat_now_ns()); return seen.done == 6
      })
    #expect(seen.answers.last?.status == 200 && lane.connectionsOpened == 2)
    // Too large for the buffer: not sent, nothing reported.
    #expect(
      !lane.send(
        timeoutNs: 1_000_000_000,
        Self.request("POST /echo", host: host, body: [UInt8](repeating: 1, count: 1 << 18))))
    #expect(!lane.busy && seen.done == 6)
    lane.close()
  }

  /// An HTTP/1.0 server closes after every answer: each request is answered on a connection of
  /// its own. Once the server is gone, a request fails with the refused connect, once.
  @Test func closesAfterEachAnswerAreReopenedAndARefusedConnectFails() throws {
    let (peer, port) = try pythonFileServer(serving: ["price": "42.5\n"])
    defer { peer.stop() }
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let lane = HTTPLane(loop: loop, host: "127.0.0.1", port: port)
    let seen = LaneRecorder()
    lane.delegate = seen
    for i in 0..<3 {
      #expect(lane.send(timeoutNs: 5_000_000_000, Self.request("GET /price", host: lane.hostField)))
      #expect(loop.run(timeoutNs: 10_000_000_000) { seen.done == i + 1 })
    }
    #expect(seen.answers.map { String(decoding: $0.body, as: UTF8.self) } == ["42.5\n", "42.5\n", "42.5\n"])
    #expect(lane.connectionsOpened == 3 && seen.failures.isEmpty)
    peer.stop()
    loop.run(timeoutNs: 100_000_000) { false }
    #expect(lane.send(timeoutNs: 5_000_000_000, Self.request("GET /price", host: lane.hostField)))
    #expect(loop.run(timeoutNs: 5_000_000_000) { seen.done == 4 })
    #expect(seen.failures.count == 1 && lane.connectionsOpened == 4)
  }
}

/// Python's plain http.server (HTTP/1.0: it closes after every answer) serving `files` from a
/// fresh directory; its port.
func pythonFileServer(serving files: [String: String]) throws -> (PeerProcess, UInt16) {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nt-http-\(UUID().uuidString)").path
  try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
  for (name, text) in files { try text.write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
  let peer = try PeerProcess(
    pythonPath(), ["-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", dir])
  let serving = try #require(peer.waitForLine("Serving HTTP on 127.0.0.1 port "), "\(peer.text)")
  let port = try #require(serving.split(separator: " ").first.flatMap { UInt16($0) })
  return (peer, port)
}
