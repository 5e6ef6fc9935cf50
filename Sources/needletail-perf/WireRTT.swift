// Loopback round trips through Wire, against the C echo server (raw TCP) or a Wire echo server
// on the other core (TLS, WebSocket over TLS). See perf/run-wire.sh.
import CPlatform
import Foundation
import Wire

/// Echo server side: what arrives is sent back, on TLS or WebSocket-over-TLS.
final class EchoServer: ByteStreamDelegate, WebSocketDelegate {
  var finished = false
  func streamDidOpen(_ stream: any ByteStream) {}
  func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
    try? stream.write(UnsafeRawBufferPointer(bytes))
  }
  func streamDidClose(_ stream: any ByteStream, error: WireError?) { finished = true }
  func webSocketDidOpen(_ ws: WebSocket) {}
  func webSocket(_ ws: WebSocket, didReceive opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) {
    try? ws.sendFrame(opcode, payload)
  }
  func webSocketDidClose(_ ws: WebSocket, code: UInt16, error: WireError?) { finished = true }
}

/// `serve-ws|serve-tls|serve-wss PORT CPU [CERT KEY]`: one client, busy-polling; exits when it
/// leaves (or after 10 min). `serve-ws` is WebSocket over plain TCP.
func serveEcho(ws: Bool, port: UInt16, cpu: Int32, cert: String?, key: String?) throws {
  _ = cplat_pin_current_thread(cpu)
  let loop = try EventLoop()
  let ctx = try cert.map { c throws(WireError) in try TLSContext(server: c, keyFile: key!) }
  let echo = EchoServer()
  var keep: [AnyObject] = []
  let listener = try TCPListener(loop: loop, port: port) { c in
    let tls: any ByteStream = ctx.map { try! TLSStream($0, over: c) } ?? c
    if ws {
      let w = WebSocket(server: tls)
      w.delegate = echo
      keep += [tls, w]
    } else {
      tls.delegate = echo
      keep.append(tls)
    }
  }
  print("READY \(listener.port)")
  fflush(nil)  // all streams: stdout is not concurrency-safe to name in Swift 6
  loop.run(mode: .busyPoll, timeoutNs: 600_000_000_000) { echo.finished }
  listener.close()
  loop.shutdown()
}

/// Counts echoed bytes for the client.
final class RTTClient: ByteStreamDelegate, WebSocketDelegate {
  var received = 0
  var opened = false
  func streamDidOpen(_ stream: any ByteStream) { opened = true }
  func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
    received += bytes.count
  }
  func streamDidClose(_ stream: any ByteStream, error: WireError?) {}
  func webSocketDidOpen(_ ws: WebSocket) { opened = true }
  func webSocket(_ ws: WebSocket, didReceive opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) {
    received += payload.count
  }
  func webSocketDidClose(_ ws: WebSocket, code: UInt16, error: WireError?) {}
}

/// `rtt tcp|ws|tls|wss PORT N SIZE CPU [CA]`: N round trips of SIZE bytes, busy-polling, pinned.
func rttClient(kind: String, port: UInt16, n: Int, size: Int, cpu: Int32, ca: String?) throws {
  _ = cplat_pin_current_thread(cpu)
  let loop = try EventLoop()
  let client = RTTClient()
  let conn = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port, delegate: nil)
  var stream: any ByteStream = conn
  var ws: WebSocket? = nil
  if kind == "tls" || kind == "wss" {
    let tls = try TLSStream(TLSContext(client: ca), over: conn, hostName: "localhost")
    stream = tls
  }
  if kind == "wss" || kind == "ws" {
    let w = WebSocket(client: stream, host: "localhost:\(port)")
    w.delegate = client
    ws = w
  } else {
    stream.delegate = client
  }
  guard loop.run(mode: .busyPoll, timeoutNs: 10_000_000_000, until: { client.opened }) else {
    fail("\(kind): could not connect")
  }
  let message = [UInt8](repeating: 0x61, count: size)
  var rtt = [Int64](repeating: 0, count: n)
  var allocs: UInt64? = nil
  message.withUnsafeBytes { msg in
    func roundTrip() -> Int64 {
      let t0 = cplat_now_ns()
      let target = client.received + size
      if let ws { try! ws.sendFrame(.binary, msg) } else { try! stream.write(msg) }
      _ = loop.run(mode: .busyPoll, timeoutNs: 5_000_000_000) { client.received >= target }
      return cplat_now_ns() - t0
    }
    for _ in 0..<2000 { _ = roundTrip() }  // warm-up: buffers, TLS records, caches
    allocs = countingMallocs {
      for i in 0..<n { rtt[i] = roundTrip() }
    }
  }
  let s = rtt.sorted()
  print(
    "wire_\(kind)_samples=\(n) wire_\(kind)_rtt_ns_p50=\(percentile(s, 0.5)) wire_\(kind)_rtt_ns_p99=\(percentile(s, 0.99))"
      + " wire_\(kind)_rtt_ns_p999=\(percentile(s, 0.999)) wire_\(kind)_mallocs=\(mallocs(allocs))")
  if let ws { ws.close() } else { stream.close() }
  loop.run(timeoutNs: 500_000_000) { false }
  loop.shutdown()
}
