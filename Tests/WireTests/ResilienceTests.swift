import CPlatform
import Glibc
import TestSupport
import Testing

@testable import Wire

@Suite(.serialized) struct ResilienceTests {
  /// A listener whose accept queue is full drops SYNs: our connect must give up at its timeout.
  @Test func connectTimesOut() throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
    }
    listen(fd, 0)
    _ = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
    }
    let port = UInt16(bigEndian: addr.sin_port)
    // Fill the accept queue (never accepted) with non-blocking connects.
    var fillers: [Int32] = []
    defer { fillers.forEach { close($0) } }
    for _ in 0..<4 {
      let c = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
      _ = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(c, $0, len) }
      }
      fillers.append(c)
    }
    usleep(100_000)
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let col = Collector(payload: [])
    let t0 = cplat_now_ns()
    _ = try TCPConnection.connect(
      loop: loop, host: "127.0.0.1", port: port, timeoutNs: 300_000_000, delegate: col)
    #expect(loop.run(timeoutNs: 5_000_000_000) { col.closeError != nil })
    #expect(col.closeError == .some(.connectTimeout))
    let elapsed = cplat_now_ns() - t0
    #expect(elapsed >= 250_000_000 && elapsed < 3_000_000_000, "gave up after \(elapsed / 1_000_000) ms")
  }

  /// Random, truncated and vanishing clients at our WebSocket server: every connection ends with
  /// a close, the server keeps serving, and no socket is left open.
  @Test func frameFuzzAndVanishingPeers() throws {
    let loop = try EventLoop()
    let serverRec = WSRecorder(echo: true)
    var servers: [WebSocket] = []
    let listener = try TCPListener(loop: loop) { c in
      let ws = WebSocket(server: c, maxMessageSize: 4096)
      ws.delegate = serverRec
      servers.append(ws)
    }
    let port = listener.port
    var rng = SplitMix64(seed: 606)
    let handshake = Array(
      ("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").utf8)
    // A valid masked text frame to mutate.
    let valid: [UInt8] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
    var clients: [Collector] = []
    var conns: [TCPConnection] = []
    for i in 0..<60 {
      var frame = valid + valid
      for _ in 0..<Int.random(in: 0...4, using: &rng) {
        let j = Int.random(in: 0..<frame.count, using: &rng)
        frame[j] = UInt8.random(in: 0...255, using: &rng)
      }
      let c = Collector(payload: [])
      let conn = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port, delegate: c)
      #expect(loop.run(timeoutNs: 5_000_000_000) { c.opened })
      try conn.write(handshake)
      if i % 3 == 0 {
        // Vanish mid-frame: half a frame, then gone.
        try conn.write(Array(frame.prefix(frame.count / 2)))
        loop.run(timeoutNs: 20_000_000) { false }
        conn.abort(.shutdown)
      } else {
        try conn.write(frame)
        loop.run(timeoutNs: 30_000_000) { false }
        conn.close()
      }
      clients.append(c)
      conns.append(conn)
    }
    #expect(
      loop.run(timeoutNs: 10_000_000_000) {
        servers.count == 60 && servers.allSatisfy { $0.state == .closed }
      })
    // The server still works for a well-behaved client.
    let rec = WSRecorder()
    let conn = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port, delegate: nil)
    let ws = WebSocket(client: conn, host: "x")
    ws.delegate = rec
    #expect(loop.run(timeoutNs: 5_000_000_000) { rec.opened })
    try ws.send(text: "still serving")
    #expect(loop.run(timeoutNs: 5_000_000_000) { rec.messages.count == 1 })
    ws.close()
    #expect(loop.run(timeoutNs: 5_000_000_000) { rec.closeCode != nil })
    listener.close()
    loop.shutdown()
    #expect(openSockets(port: port) == 0, "no socket left open")
  }

  /// The reconnecting client comes back after the server drops it, with backoff.
  @Test func reconnectsAfterDrops() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    var accepted = 0
    var servers: [WebSocket] = []
    let serverRec = WSRecorder(echo: true)
    let listener = try TCPListener(loop: loop) { c in
      accepted += 1
      if accepted <= 2 {
        c.abort(.shutdown)  // the first two connections are cut at once
        return
      }
      let ws = WebSocket(server: c)
      ws.delegate = serverRec
      servers.append(ws)
    }
    let client = ReconnectingWebSocket(
      loop: loop, target: .init(host: "127.0.0.1", port: listener.port, path: "/stream"),
      backoff: Backoff(baseNs: 10_000_000, capNs: 100_000_000))
    var delays: [Int64] = []
    var opened = 0
    var echoed: [String] = []
    client.onDisconnect = { _, d in delays.append(d) }
    client.onOpen = { ws in
      opened += 1
      try? ws.send(text: "resubscribe")
    }
    client.onMessage = { _, p in echoed.append(String(decoding: p, as: UTF8.self)) }
    client.start()
    #expect(loop.run(timeoutNs: 10_000_000_000) { echoed.count == 1 })
    #expect(opened == 1 && client.connects == 1 && client.disconnects == 2)
    #expect(delays.count == 2 && delays[0] <= 10_000_000 && delays[1] <= 20_000_000)
    client.close()
    listener.close()
  }
}
