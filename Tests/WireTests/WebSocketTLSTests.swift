import CPlatform
import Foundation
import TestSupport
import Testing

@testable import Wire

/// A WebSocket server written by hand over TLS: it answers the opening handshake, then sends a
/// text frame every `everyNs` (0: never) and ignores everything it receives — no pongs, no close
/// reply. What a busy venue stream looks like to a client whose pings it does not answer in time.
final class HandWrittenWSServer: ByteStreamDelegate {
  var streams: [TLSStream] = []
  var upgraded = false
  var closedByClient = false
  let everyNs: Int64
  init(everyNs: Int64) { self.everyNs = everyNs }

  func streamDidOpen(_ stream: any ByteStream) {}
  func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
    let text = String(decoding: UnsafeRawBufferPointer(bytes), as: UTF8.self)
    guard !upgraded,
      let line = text.split(separator: "\r\n").first(where: {
        $0.lowercased().hasPrefix("sec-websocket-key:")
      })
    else { return }
    upgraded = true
    let key = line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)
    try? stream.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Accept: \(WebSocket.acceptValue(for: key))\r\n\r\n")
    guard everyNs > 0 else { return }
    stream.eventLoop.schedule(every: everyNs) { [weak stream] in
      guard let stream, stream.isOpen else { return false }
      try? stream.write([0x81, 0x01, UInt8(ascii: "x")])
      return true
    }
  }
  func streamDidClose(_ stream: any ByteStream, error: WireError?) { closedByClient = true }
}

/// The WebSocket over TLS — every real venue — finds its loop and its last receive time through
/// the byte stream, as it does over plain TCP.
@Suite(.serialized) struct WebSocketTLSTests {
  let pki = TestPKI.shared

  func connect(_ server: HandWrittenWSServer, loop: EventLoop) throws -> (TCPListener, WebSocket, WSRecorder)
  {
    let serverCtx = try TLSContext(server: pki.cert, keyFile: pki.key)
    let listener = try TCPListener(loop: loop) { c in
      let tls = try! TLSStream(serverCtx, over: c)
      tls.delegate = server
      server.streams.append(tls)
    }
    let conn = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener.port, delegate: nil)
    let tls = try TLSStream(TLSContext(client: pki.ca), over: conn, hostName: "localhost")
    let rec = WSRecorder()
    let ws = WebSocket(client: tls, host: "localhost:\(listener.port)")
    ws.delegate = rec
    #expect(loop.run(timeoutNs: 10_000_000_000) { rec.opened })
    return (listener, ws, rec)
  }

  /// Data keeps a connection alive: a server streaming every 10 ms that never answers a ping is
  /// not timed out by a 100 ms keep-alive (the ciphertext's arrival is the stream's receive time).
  @Test func keepAliveCountsReceivedDataOverTLS() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let server = HandWrittenWSServer(everyNs: 10_000_000)
    let (listener, ws, rec) = try connect(server, loop: loop)
    defer { listener.close() }
    #expect(ws.stream.lastReceiveNs > 0)
    ws.keepAlive(loop: loop, intervalNs: 20_000_000, timeoutNs: 100_000_000)
    loop.run(timeoutNs: 600_000_000) { rec.closeCode != nil }
    #expect(rec.closeCode == nil, "closed with \(String(describing: rec.closeError)) while data was flowing")
    #expect(rec.messages.count > 20 && rec.pongs == 0)
    ws.close()
  }

  /// …and a server that goes quiet is detected over TLS as over TCP.
  @Test func aQuietPeerIsDetectedOverTLS() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let (listener, ws, rec) = try connect(HandWrittenWSServer(everyNs: 0), loop: loop)
    defer { listener.close() }
    ws.keepAlive(loop: loop, intervalNs: 20_000_000, timeoutNs: 100_000_000)
    #expect(loop.run(timeoutNs: 5_000_000_000) { rec.closeCode != nil })
    #expect(rec.closeError == .idleTimeout)
  }

  /// Closing cancels the keep-alive's timer at once, and the close handshake is bounded over TLS:
  /// a peer that never answers the close frame is disconnected within the client's wait.
  @Test func closeOverTLSCancelsTheKeepAliveAndIsBounded() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let server = HandWrittenWSServer(everyNs: 0)
    let (listener, ws, rec) = try connect(server, loop: loop)
    defer { listener.close() }
    ws.keepAlive(loop: loop, intervalNs: 30_000_000_000, timeoutNs: 60_000_000_000)
    #expect(loop.repeating.count == 1)
    ws.close()
    // The server never sends its close frame: the client closes TLS itself after its wait.
    #expect(loop.run(timeoutNs: 5_000_000_000) { server.closedByClient && rec.closeCode != nil })
    #expect(server.closedByClient, "the client waited for a close frame that never came")
    #expect(loop.repeating.isEmpty, "the keep-alive timer outlived the connection")
  }
}
