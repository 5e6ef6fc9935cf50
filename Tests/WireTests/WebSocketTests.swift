import CPlatform
import Foundation
import TestSupport
import Testing

@testable import Wire

/// Records what a WebSocket delivers; optionally echoes.
final class WSRecorder: WebSocketDelegate {
  var opened = false
  var messages: [(WebSocketOpcode, [UInt8])] = []
  var closeCode: UInt16? = nil
  var closeError: WireError? = nil
  var pongs = 0
  let echo: Bool
  init(echo: Bool = false) { self.echo = echo }
  func webSocketDidOpen(_ ws: WebSocket) { opened = true }
  func webSocket(_ ws: WebSocket, didReceive opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer) {
    if echo {
      try? ws.sendFrame(opcode, payload)
    } else {
      messages.append((opcode, Array(payload)))
    }
  }
  func webSocketDidClose(_ ws: WebSocket, code: UInt16, error: WireError?) {
    closeCode = code
    closeError = error
  }
  func webSocket(_ ws: WebSocket, didReceivePong payload: UnsafeRawBufferPointer) { pongs += 1 }
}

let wsSizes = [0, 1, 125, 126, 127, 1000, 65535, 65536, 200_000]

func wsPayload(_ n: Int, seed: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) } }

@Suite(.serialized) struct WebSocketTests {
  /// Our client against our server over loopback: every size both ways, text and binary.
  @Test func ownClientAndServerExchangeMessages() throws {
    var port: UInt16 = 0
    do {
      let loop = try EventLoop()
      let serverRec = WSRecorder(echo: true)
      var servers: [WebSocket] = []
      let listener = try TCPListener(loop: loop) { c in
        let ws = WebSocket(server: c)
        ws.delegate = serverRec
        servers.append(ws)
      }
      let rec = WSRecorder()
      port = listener.port
      let conn = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener.port, delegate: nil)
      let ws = WebSocket(client: conn, host: "127.0.0.1:\(listener.port)", path: "/ws/btcusdt@depth")
      ws.delegate = rec
      #expect(loop.run(timeoutNs: 5_000_000_000) { rec.opened })
      #expect(servers.first?.path == "/ws/btcusdt@depth")
      var sent: [(WebSocketOpcode, [UInt8])] = []
      for (i, n) in wsSizes.enumerated() {
        let p = wsPayload(n, seed: i)
        if i % 2 == 0 {
          let text = String(repeating: "é", count: n / 2)
          try ws.send(text: text)
          sent.append((.text, Array(text.utf8)))
        } else {
          try p.withUnsafeBytes { try ws.send(binary: $0) }
          sent.append((.binary, p))
        }
      }
      // A fragmented message.
      try Array("frag".utf8).withUnsafeBytes { try ws.sendFrame(.text, $0, fin: false) }
      try Array("ment".utf8).withUnsafeBytes { try ws.sendFrame(.continuation, $0, fin: false) }
      try Array("ed".utf8).withUnsafeBytes { try ws.sendFrame(.continuation, $0, fin: true) }
      sent.append((.text, Array("fragmented".utf8)))
      try ws.ping(Array("hi".utf8))
      #expect(loop.run(timeoutNs: 10_000_000_000) { rec.messages.count == sent.count && rec.pongs == 1 })
      #expect(rec.messages.map(\.0) == sent.map(\.0))
      #expect(rec.messages.map(\.1) == sent.map(\.1))
      ws.close(code: 1000, reason: "bye")
      #expect(loop.run(timeoutNs: 5_000_000_000) { rec.closeCode != nil && serverRec.closeCode != nil })
      #expect(rec.closeCode == 1000 && serverRec.closeCode == 1000)
      listener.close()
      loop.shutdown()
    }
    #expect(openSockets(port: port) == 0)
  }

  /// Bad frames sent on purpose at our server: each ends with the right close code and a closed
  /// connection, and the server keeps serving others.
  @Test(
    arguments: [
      ([0x81, 0x05] + Array("Hello".utf8), UInt16(1002)),  // unmasked client frame
      ([0xC1, 0x80, 1, 2, 3, 4], UInt16(1002)),  // reserved bit
      ([0x83, 0x80, 1, 2, 3, 4], UInt16(1002)),  // unknown opcode
      ([0x09, 0x80, 1, 2, 3, 4], UInt16(1002)),  // fragmented ping
      ([0x82, 0xFF, 0, 0, 0, 0, 0, 0x11, 0, 0, 1, 2, 3, 4], UInt16(1009)),  // a frame over the 1 MiB limit
      ([0x80, 0x80, 1, 2, 3, 4], UInt16(1002)),  // continuation without a message
      ([0x81, 0x82, 0, 0, 0, 0, 0xC0, 0xAF], UInt16(1007)),  // invalid UTF-8 text
    ] as [([UInt8], UInt16)])
  func badFramesFailTheConnection(frame: [UInt8], code: UInt16) throws {
    var port: UInt16 = 0
    do {
      let loop = try EventLoop()
      let serverRec = WSRecorder()
      var servers: [WebSocket] = []
      let listener = try TCPListener(loop: loop) { c in
        let ws = WebSocket(server: c, maxMessageSize: 1 << 20)
        ws.delegate = serverRec
        servers.append(ws)
      }
      // A raw client: handshake by hand, then the bad frame.
      final class Raw: ByteStreamDelegate {
        var got: [UInt8] = []
        var closed = false
        func streamDidOpen(_ stream: any ByteStream) {}
        func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
          got += bytes
        }
        func streamDidClose(_ stream: any ByteStream, error: WireError?) { closed = true }
      }
      let raw = Raw()
      port = listener.port
      let c = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener.port, delegate: raw)
      try c.write(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
      #expect(
        loop.run(timeoutNs: 5_000_000_000) { String(decoding: raw.got, as: UTF8.self).contains("\r\n\r\n") })
      #expect(String(decoding: raw.got, as: UTF8.self).contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
      raw.got = []
      try c.write(frame)
      #expect(loop.run(timeoutNs: 5_000_000_000) { raw.closed })
      // The server sent a close frame with the code before closing.
      #expect(raw.got.count >= 4 && raw.got[0] == 0x88)
      if raw.got.count >= 4 { #expect(UInt16(raw.got[2]) << 8 | UInt16(raw.got[3]) == code) }
      #expect(serverRec.closeCode == code && serverRec.closeError != nil)
      listener.close()
      loop.shutdown()
    }
    #expect(openSockets(port: port) == 0)
  }

  /// A peer that stops answering is detected by the keep-alive, never waited on forever.
  @Test func halfOpenConnectionIsDetected() throws {
    let loop = try EventLoop()
    // A server that accepts TCP and never speaks WebSocket back after the handshake.
    var held: [TCPConnection] = []
    final class Mute: ByteStreamDelegate {
      func streamDidOpen(_ stream: any ByteStream) {}
      func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
        if String(decoding: UnsafeRawBufferPointer(bytes), as: UTF8.self).contains("Sec-WebSocket-Key") {
          let key = String(decoding: UnsafeRawBufferPointer(bytes), as: UTF8.self).split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("sec-websocket-key:") }!.split(separator: ":")[1]
            .trimmingCharacters(in: .whitespaces)
          try? stream.write(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              + "Sec-WebSocket-Accept: \(WebSocket.acceptValue(for: key))\r\n\r\n")
        }
      }
      func streamDidClose(_ stream: any ByteStream, error: WireError?) {}
    }
    let mute = Mute()
    let listener = try TCPListener(loop: loop) { c in
      c.delegate = mute
      held.append(c)
    }
    let rec = WSRecorder()
    let conn = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener.port, delegate: nil)
    let ws = WebSocket(client: conn, host: "x")
    ws.delegate = rec
    #expect(loop.run(timeoutNs: 5_000_000_000) { rec.opened })
    ws.keepAlive(loop: loop, intervalNs: 20_000_000, timeoutNs: 100_000_000)
    let t0 = cplat_now_ns()
    #expect(loop.run(timeoutNs: 5_000_000_000) { rec.closeCode != nil })
    #expect(rec.closeError == .idleTimeout)
    #expect(cplat_now_ns() - t0 < 2_000_000_000)
    listener.close()
    loop.shutdown()
  }
}

/// Interop with the Python `websockets` library (installed by scripts/setup.sh).
@Suite(.serialized) struct WebSocketInteropTests {
  @Test func ourClientAgainstPythonWebsocketsServer() throws {
    let peer = try PeerProcess(pythonPath(), [PeerProcess.peersDir + "/ws_peer.py", "server"])
    defer { peer.stop() }
    let portText = try #require(peer.waitForLine("READY "), "peer did not start: \(peer.text)")
    let port = try #require(UInt16(portText))
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let rec = WSRecorder()
    let conn = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port, delegate: nil)
    let ws = WebSocket(client: conn, host: "127.0.0.1:\(port)", maxMessageSize: 1 << 21)
    ws.delegate = rec
    #expect(loop.run(timeoutNs: 10_000_000_000) { rec.opened })
    var sent: [(WebSocketOpcode, [UInt8])] = []
    for (i, n) in wsSizes.enumerated() {
      let text = String(repeating: i % 2 == 0 ? "a" : "é", count: n / (i % 2 == 0 ? 1 : 2))
      try ws.send(text: text)
      sent.append((.text, Array(text.utf8)))
      let bin = wsPayload(n, seed: i)
      try bin.withUnsafeBytes { try ws.send(binary: $0) }
      sent.append((.binary, bin))
    }
    try ws.ping(Array("ping".utf8))
    #expect(loop.run(timeoutNs: 20_000_000_000) { rec.messages.count == sent.count && rec.pongs == 1 })
    #expect(rec.messages.map(\.0) == sent.map(\.0))
    #expect(rec.messages.map(\.1) == sent.map(\.1), "every echo byte for byte")
    try ws.send(text: "shutdown")  // the peer answers with a close 1000
    #expect(loop.run(timeoutNs: 10_000_000_000) { rec.closeCode != nil })
    #expect(rec.closeCode == 1000)
  }

  @Test func pythonWebsocketsClientAgainstOurServer() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let serverRec = WSRecorder(echo: true)
    var servers: [WebSocket] = []
    let listener = try TCPListener(loop: loop) { c in
      let ws = WebSocket(server: c, maxMessageSize: 1 << 21)
      ws.delegate = serverRec
      servers.append(ws)
    }
    let peer = try PeerProcess(
      pythonPath(),
      [PeerProcess.peersDir + "/ws_peer.py", "client", "ws://127.0.0.1:\(listener.port)/stream"])
    defer { peer.stop() }
    #expect(loop.run(timeoutNs: 30_000_000_000) { !peer.process.isRunning })
    peer.stop()
    #expect(peer.process.terminationStatus == 0, "peer said: \(peer.text)")
    #expect(peer.text.contains("OK"))
    #expect(servers.count == 1 && servers[0].messagesReceived == 2 * wsSizes.count + 1)
    #expect(loop.run(timeoutNs: 5_000_000_000) { serverRec.closeCode != nil })
    #expect(serverRec.closeCode == 1000)
    listener.close()
  }
}
