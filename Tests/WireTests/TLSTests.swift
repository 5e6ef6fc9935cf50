import Foundation
import TestSupport
import Testing

@testable import Wire

/// A throwaway CA and a server certificate for localhost / 127.0.0.1, made with the openssl CLI.
final class TestPKI: @unchecked Sendable {
  let dir: String
  var ca: String { dir + "/ca.pem" }
  var cert: String { dir + "/server.pem" }
  var key: String { dir + "/server.key" }
  var otherCA: String { dir + "/other-ca.pem" }

  static let shared: TestPKI = try! TestPKI()

  init() throws {
    dir =
      FileManager.default.temporaryDirectory.appendingPathComponent("needletail-pki-\(UUID().uuidString)")
      .path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    func run(_ args: [String]) throws {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
      p.arguments = args
      p.currentDirectoryURL = URL(fileURLWithPath: dir)
      p.standardOutput = FileHandle.nullDevice
      p.standardError = FileHandle.nullDevice
      try p.run()
      p.waitUntilExit()
      guard p.terminationStatus == 0 else {
        throw WireError.tls("openssl \(args.joined(separator: " ")) failed")
      }
    }
    try run([
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
      "ca.key",
      "-out", "ca.pem", "-days", "2", "-subj", "/CN=Needletail Test CA",
    ])
    try run([
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
      "other.key",
      "-out", "other-ca.pem", "-days", "2", "-subj", "/CN=Some Other CA",
    ])
    try run([
      "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key",
      "-out", "server.csr", "-subj", "/CN=localhost",
    ])
    try "subjectAltName=DNS:localhost,IP:127.0.0.1\n".write(
      toFile: dir + "/san.ext", atomically: true, encoding: .utf8)
    try run([
      "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
      "server.pem", "-days", "2", "-extfile", "san.ext",
    ])
  }
}

/// Collects plaintext from a stream.
final class PlainCollector: ByteStreamDelegate {
  var opened = false
  var data: [UInt8] = []
  var closed = false
  var error: WireError? = nil
  let echo: Bool
  let closeAfter: Int?
  init(echo: Bool = false, closeAfter: Int? = nil) {
    self.echo = echo
    self.closeAfter = closeAfter
  }
  func streamDidOpen(_ stream: any ByteStream) { opened = true }
  func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
    data += bytes
    if echo { try? stream.write(UnsafeRawBufferPointer(bytes)) }
    if let n = closeAfter, data.count >= n { stream.close() }
  }
  func streamDidClose(_ stream: any ByteStream, error: WireError?) {
    closed = true
    self.error = error
  }
}

@Suite(.serialized) struct TLSTests {
  let pki = TestPKI.shared

  /// Our TLS server and client; WebSocket over TLS on top, verified against the test CA.
  @Test(arguments: [Int32(0), Int32(TLS1_2_VERSION_CONST)])
  func webSocketOverTLSBetweenOurClientAndServer(maxVersion: Int32) throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let serverCtx = try TLSContext(server: pki.cert, keyFile: pki.key)
    let clientCtx = try TLSContext(client: pki.ca, maxVersion: maxVersion)
    let serverRec = WSRecorder(echo: true)
    var keep: [AnyObject] = []
    var port: UInt16 = 0
    let listener = try TCPListener(loop: loop) { c in
      let tls = try! TLSStream(serverCtx, over: c)
      let ws = WebSocket(server: tls)
      ws.delegate = serverRec
      keep += [tls, ws]
    }
    port = listener.port
    let conn = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port, delegate: nil)
    let tls = try TLSStream(clientCtx, over: conn, hostName: "localhost")
    let rec = WSRecorder()
    let ws = WebSocket(client: tls, host: "localhost:\(port)")
    ws.delegate = rec
    #expect(loop.run(timeoutNs: 10_000_000_000) { rec.opened })
    #expect(tls.protocolVersion == (maxVersion == 0 ? "TLSv1.3" : "TLSv1.2"))
    #expect(tls.usesNativeRecords == (maxVersion == 0), "TLS 1.3 records go through the native layer")
    for n in [0, 200, 70_000] {
      let p = wsPayload(n, seed: n)
      try p.withUnsafeBytes { try ws.send(binary: $0) }
    }
    #expect(loop.run(timeoutNs: 10_000_000_000) { rec.messages.count == 3 })
    #expect(rec.messages.map(\.1) == [0, 200, 70_000].map { wsPayload($0, seed: $0) })
    ws.close()
    #expect(loop.run(timeoutNs: 5_000_000_000) { rec.closeCode != nil })
    #expect(rec.closeCode == 1000)
    listener.close()
  }

  /// Key updates both ways between the native record layer and OpenSSL's: each side must move
  /// its keys in step, and data keeps flowing.
  @Test(arguments: [true, false])
  func keyUpdatesBetweenNativeAndOpenSSLRecordLayers(serverRequests: Bool) throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let serverCtx = try TLSContext(server: pki.cert, keyFile: pki.key)
    serverCtx.nativeRecordLayer = false  // the server keeps OpenSSL's record layer
    var serverStreams: [TLSStream] = []
    var keep: [AnyObject] = []
    let listener = try TCPListener(loop: loop) { c in
      let tls = try! TLSStream(serverCtx, over: c)
      let col = PlainCollector(echo: true)
      tls.delegate = col
      serverStreams.append(tls)
      keep.append(col)
    }
    let col = PlainCollector()
    let conn = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener.port, delegate: nil)
    let tls = try TLSStream(TLSContext(client: pki.ca), over: conn, hostName: "localhost")
    tls.delegate = col
    #expect(loop.run(timeoutNs: 5_000_000_000) { col.opened && serverStreams.first?.handshakeDone == true })
    #expect(tls.usesNativeRecords && !serverStreams[0].usesNativeRecords)
    var expected: [UInt8] = []
    for round in 0..<4 {
      if col.closed { break }
      if serverRequests {
        try serverStreams[0].keyUpdate(requestPeer: true)
      } else {
        try tls.keyUpdate(requestPeer: true)
      }
      let msg = Array("round \(round) after a key update".utf8)
      try tls.write(msg)
      expected += msg
      #expect(loop.run(timeoutNs: 5_000_000_000) { col.data.count == expected.count || col.closed })
    }
    #expect(col.data == expected)
    #expect(!col.closed, "closed: \(String(describing: col.error))")
    listener.close()
  }

  @Test func verificationFailuresAreReported() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let serverCtx = try TLSContext(server: pki.cert, keyFile: pki.key)
    var keep: [AnyObject] = []
    let listener = try TCPListener(loop: loop) { c in keep.append(try! TLSStream(serverCtx, over: c)) }
    // A wrong host name, then an untrusted CA: both fail the handshake with a clear reason.
    for (ca, host, reason) in [
      (pki.ca, "wrong.example", "hostname mismatch"),
      (pki.otherCA, "localhost", "unable to get local issuer"),
    ] {
      let ctx = try TLSContext(client: ca)
      let col = PlainCollector()
      let conn = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener.port, delegate: nil)
      let tls = try TLSStream(ctx, over: conn, hostName: host)
      tls.delegate = col
      #expect(loop.run(timeoutNs: 5_000_000_000) { col.closed })
      #expect(!col.opened)
      guard case .tls(let msg)? = col.error else {
        Issue.record("expected a TLS error, got \(String(describing: col.error))")
        continue
      }
      #expect(msg.contains(reason), "\(msg)")
    }
    listener.close()
  }

  @Test func garbageIsRefusedAndTheServerCarriesOn() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let serverCtx = try TLSContext(server: pki.cert, keyFile: pki.key)
    var serverSides: [PlainCollector] = []
    var keep: [AnyObject] = []
    let listener = try TCPListener(loop: loop) { c in
      let tls = try! TLSStream(serverCtx, over: c)
      let col = PlainCollector(echo: true)
      tls.delegate = col
      serverSides.append(col)
      keep.append(tls)
    }
    let raw = PlainCollector()
    let c = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener.port, delegate: raw)
    #expect(loop.run(timeoutNs: 5_000_000_000) { raw.opened })
    try c.write(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8) + (0..<500).map { UInt8($0 % 251) })
    #expect(loop.run(timeoutNs: 5_000_000_000) { raw.closed })
    #expect(serverSides.first?.error != nil)
    // A proper client still gets through afterwards.
    let col = PlainCollector()
    let conn = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: listener.port, delegate: nil)
    let tls = try TLSStream(TLSContext(client: pki.ca), over: conn, hostName: "localhost")
    tls.delegate = col
    #expect(loop.run(timeoutNs: 5_000_000_000) { col.opened })
    try tls.write(Array("still up".utf8))
    #expect(loop.run(timeoutNs: 5_000_000_000) { col.data == Array("still up".utf8) })
    listener.close()
  }

  /// Our TLS client against `openssl s_server -rev` (answers each line reversed).
  @Test func ourClientAgainstOpenSSLServer() throws {
    let port = UInt16.random(in: 20_000...40_000)
    let peer = try PeerProcess(
      "/usr/bin/openssl",
      [
        "s_server", "-accept", "127.0.0.1:\(port)", "-cert", pki.cert, "-key", pki.key, "-rev", "-naccept",
        "1",
      ])
    defer { peer.stop() }
    #expect(peer.waitForLine("ACCEPT") != nil, "s_server did not start: \(peer.text)")
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let col = PlainCollector()
    let conn = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port, delegate: nil)
    let tls = try TLSStream(TLSContext(client: pki.ca), over: conn, hostName: "localhost")
    tls.delegate = col
    #expect(loop.run(timeoutNs: 10_000_000_000) { col.opened })
    try tls.write(Array("needletail over TLS\n".utf8))
    #expect(
      loop.run(timeoutNs: 10_000_000_000) {
        String(decoding: col.data, as: UTF8.self).contains(String("needletail over TLS".reversed()))
      })
    tls.close()
    #expect(loop.run(timeoutNs: 5_000_000_000) { col.closed })
  }

  /// `openssl s_client` against our TLS server, which echoes and then closes with close_notify.
  @Test func openSSLClientAgainstOurServer() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let serverCtx = try TLSContext(server: pki.cert, keyFile: pki.key)
    var keep: [AnyObject] = []
    let message = "hello from s_client\n"
    let listener = try TCPListener(loop: loop) { c in
      let tls = try! TLSStream(serverCtx, over: c)
      let col = PlainCollector(echo: true, closeAfter: message.utf8.count)
      tls.delegate = col
      keep += [tls, col]
    }
    let input = FileManager.default.temporaryDirectory.appendingPathComponent(
      "needletail-sclient-\(UUID().uuidString)"
    ).path
    try message.write(toFile: input, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: input) }
    let peer = try PeerProcess(
      "/bin/sh",
      [
        "-c",
        "/usr/bin/openssl s_client -connect 127.0.0.1:\(listener.port) -servername localhost -CAfile \(pki.ca) "
          + "-verify_return_error -quiet -ign_eof < \(input)",
      ])
    defer { peer.stop() }
    #expect(loop.run(timeoutNs: 20_000_000_000) { !peer.process.isRunning })
    peer.stop()
    #expect(peer.text.contains("hello from s_client"), "s_client said: \(peer.text)")
    #expect(peer.process.terminationStatus == 0, "s_client said: \(peer.text)")
    listener.close()
  }
}

let TLS1_2_VERSION_CONST = 0x0303
