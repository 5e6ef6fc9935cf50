import CPlatform
import Testing

@testable import Wire

/// Echoes everything back.
final class EchoDelegate: ByteStreamDelegate {
  var closed = 0
  func streamDidOpen(_ stream: any ByteStream) {}
  func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
    try? stream.write(UnsafeRawBufferPointer(bytes))
  }
  func streamDidClose(_ stream: any ByteStream, error: WireError?) { closed += 1 }
}

/// Sends a payload, collects what comes back.
final class Collector: ByteStreamDelegate {
  var received: [UInt8] = []
  var opened = false
  var closeError: WireError?? = nil
  let payload: [UInt8]
  init(payload: [UInt8]) { self.payload = payload }
  func streamDidOpen(_ stream: any ByteStream) {
    opened = true
    // Many writes of odd sizes: the send path must keep them in order and resume partial sends.
    var i = 0
    var n = 1
    while i < payload.count {
      let end = min(payload.count, i + n)
      try? payload[i..<end].withUnsafeBytes { try stream.write($0) }
      i = end
      n = n * 3 % 70_001 + 1
    }
  }
  func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
    received += bytes
  }
  func streamDidClose(_ stream: any ByteStream, error: WireError?) { closeError = .some(error) }
}

@Suite(.serialized) struct TCPTests {
  @Test(arguments: [true, false])
  func echoOverLoopbackLeavesNoDescriptorBehind(bufferRing: Bool) throws {
    var port: UInt16 = 0
    do {
      var cfg = EventLoop.Configuration()
      cfg.useBufferRing = bufferRing
      cfg.recvBufferSize = 4096  // small buffers: many completions per message
      let loop = try EventLoop(configuration: cfg)
      #expect(loop.usesBufferRing == bufferRing)
      let echo = EchoDelegate()
      var accepted: [TCPConnection] = []
      let listener = try TCPListener(loop: loop) { c in
        c.delegate = echo
        accepted.append(c)
      }
      var rng = UInt64(12345)
      let payload = (0..<3_000_000).map { _ -> UInt8 in
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        return UInt8(truncatingIfNeeded: rng >> 33)
      }
      let collector = Collector(payload: payload)
      port = listener.port
      let client = try TCPConnection.connect(
        loop: loop, host: "127.0.0.1", port: listener.port, delegate: collector)
      // Both ends: the client's connect can complete before the server's accept does.
      #expect(loop.run(timeoutNs: 5_000_000_000) { collector.opened && accepted.count == 1 })
      #expect(openSockets(port: port) == 3, "listener, client, accepted: \(debugSockets(port: port))")
      let finished = loop.run(timeoutNs: 20_000_000_000) { collector.received.count >= payload.count }
      #expect(finished, "echo timed out with \(collector.received.count) bytes")
      #expect(collector.received == payload)
      client.close()
      loop.run(timeoutNs: 5_000_000_000) { echo.closed == 1 && collector.closeError != nil }
      #expect(echo.closed == 1, "the server side saw the close")
      #expect(collector.closeError == .some(nil), "a clean close reports no error")
      listener.close()
      loop.shutdown()
    }
    #expect(openSockets(port: port) == 0, "every socket is closed again")
  }

  @Test func refusedConnectIsATypedError() throws {
    let loop = try EventLoop()
    // Find a free port, then close it so nothing listens there.
    let l = try TCPListener(loop: loop) { _ in }
    let port = l.port
    l.close()
    let collector = Collector(payload: [])
    _ = try TCPConnection.connect(loop: loop, host: "127.0.0.1", port: port, delegate: collector)
    loop.run(timeoutNs: 5_000_000_000) { collector.closeError != nil }
    #expect(collector.closeError == .some(.connectionRefused))
    #expect(!collector.opened)
    loop.shutdown()
  }

  @Test func timersFireInOrder() throws {
    let loop = try EventLoop()
    var fired: [Int] = []
    loop.schedule(after: 30_000_000) { fired.append(3) }
    loop.schedule(after: 10_000_000) { fired.append(1) }
    let cancelled = loop.schedule(after: 15_000_000) { fired.append(99) }
    loop.schedule(after: 20_000_000) { fired.append(2) }
    loop.cancelTimer(cancelled)
    let t0 = cplat_now_ns()
    loop.run(timeoutNs: 2_000_000_000) { fired.count == 3 }
    #expect(fired == [1, 2, 3])
    #expect(cplat_now_ns() - t0 >= 30_000_000)
    loop.shutdown()
  }

  @Test func badAddressIsATypedError() throws {
    let loop = try EventLoop()
    #expect(throws: WireError.addressInvalid("no.such.host.invalid:1")) {
      try TCPConnection.connect(loop: loop, host: "no.such.host.invalid", port: 1, delegate: nil)
    }
    loop.shutdown()
  }
}
