import TestSupport
import Testing

@testable import Wire

@Suite struct WebSocketFrameTests {
  func header(_ bytes: [UInt8], masked: Bool, max: Int = 1 << 20) throws -> WebSocketFrameHeader? {
    try bytes.withUnsafeBytes { b in
      try WebSocketFrameParser.parseHeader(b, expectMasked: masked, maxPayload: max)
    }
  }

  /// RFC 6455 §5.7 examples.
  @Test func rfcExamples() throws {
    let unmasked: [UInt8] = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
    let h = try #require(try header(unmasked, masked: false))
    #expect(h.fin && h.opcode == .text && h.payloadLength == 5 && h.headerLength == 2)
    var masked: [UInt8] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
    let m = try #require(try header(masked, masked: true))
    #expect(m.masked && m.headerLength == 6 && m.payloadLength == 5)
    masked.withUnsafeMutableBytes {
      WebSocketFrameParser.unmask(UnsafeMutableRawBufferPointer(rebasing: $0[6...]), key: m.maskKey)
    }
    #expect(Array(masked[6...]) == Array("Hello".utf8))
    // 256 bytes binary: 16-bit length; 64 KiB: 64-bit length.
    #expect(try header([0x82, 0x7E, 0x01, 0x00], masked: false)?.payloadLength == 256)
    #expect(try header([0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0], masked: false)?.payloadLength == 65536)
    // A ping of "Hello".
    #expect(try header([0x89, 0x05], masked: false)?.opcode == .ping)
  }

  @Test func needsMoreBytes() throws {
    #expect(try header([0x81], masked: false) == nil)
    #expect(try header([0x82, 0x7E, 0x01], masked: false) == nil)
    #expect(try header([0x82, 0xFE, 0x01, 0x00, 1, 2], masked: true) == nil)
  }

  @Test func protocolViolationsAreRefused() {
    func refuses(_ b: [UInt8], masked: Bool = false, max: Int = 1 << 20, _ e: WebSocketProtocolError) {
      #expect(throws: e, "\(b)") { try header(b, masked: masked, max: max) }
    }
    refuses([0xC1, 0x00], .reservedBitsSet)
    refuses([0x83, 0x00], .unknownOpcode(3))
    refuses([0x8B, 0x00], .unknownOpcode(11))
    refuses([0x09, 0x00], .fragmentedControlFrame)
    refuses([0x89, 0x7E, 0x00, 0x80], .controlFrameTooLong(128))
    refuses([0x82, 0x7E, 0x00, 0x10], .nonMinimalLength)
    refuses([0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF], .nonMinimalLength)
    refuses([0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0], .lengthTooLarge(1 << 63))
    refuses([0x82, 0x7E, 0x10, 0x00], max: 1000, .messageTooLarge(limit: 1000))
    refuses([0x81, 0x05], masked: true, .unmaskedClientFrame)
    refuses([0x81, 0x85, 1, 2, 3, 4], masked: false, .maskedServerFrame)
  }

  @Test func unmaskAtAnyOffsetRoundTrips() {
    var rng = SplitMix64(seed: 3)
    for _ in 0..<500 {
      let n = Int.random(in: 0...300, using: &rng)
      let original = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
      let key = UInt32.random(in: 0...UInt32.max, using: &rng)
      var whole = original
      whole.withUnsafeMutableBytes { WebSocketFrameParser.unmask($0, key: key) }
      // Unmasking in two pieces with the right offset gives the same bytes.
      var pieces = original
      let cut = n == 0 ? 0 : Int.random(in: 0...n, using: &rng)
      pieces.withUnsafeMutableBytes {
        WebSocketFrameParser.unmask(UnsafeMutableRawBufferPointer(rebasing: $0[0..<cut]), key: key)
        WebSocketFrameParser.unmask(
          UnsafeMutableRawBufferPointer(rebasing: $0[cut...]), key: key, offset: cut)
      }
      #expect(whole == pieces)
      // The reference definition: byte i ^ key byte (i % 4).
      let keyBytes = withUnsafeBytes(of: key) { Array($0) }
      #expect(whole == original.enumerated().map { $0.element ^ keyBytes[$0.offset % 4] })
    }
  }

  @Test func headerWriterAgreesWithParser() throws {
    for n in [0, 125, 126, 65535, 65536, 1 << 20] {
      for key: UInt32? in [nil, 0xDEAD_BEEF] {
        var buf = [UInt8](repeating: 0, count: 14)
        let w = buf.withUnsafeMutableBytes {
          WebSocketFrameParser.writeHeader(into: $0.baseAddress!, opcode: .binary, payload: n, maskKey: key)
        }
        #expect(w == WebSocketFrameParser.headerSize(payload: n, masked: key != nil))
        let h = try #require(try header(Array(buf[0..<w]), masked: key != nil, max: 1 << 21))
        #expect(h.payloadLength == n && h.headerLength == w && h.opcode == .binary && h.fin)
        if let key { #expect(h.maskKey == key) }
      }
    }
  }

  @Test func utf8Validation() {
    func ok(_ b: [UInt8]) -> Bool { b.withUnsafeBytes { UTF8Validator.isValid($0) } }
    #expect(ok(Array("plain ascii, long enough for the fast path".utf8)))
    #expect(ok(Array("κόσμε €𝄞".utf8)))
    #expect(!ok([0xC0, 0xAF]))  // overlong '/'
    #expect(!ok([0xED, 0xA0, 0x80]))  // surrogate
    #expect(!ok([0xF4, 0x90, 0x80, 0x80]))  // > U+10FFFF
    #expect(!ok([0xE2, 0x82]))  // truncated
    #expect(!ok([0x80]))
    // Agrees with the standard library on random input.
    var rng = SplitMix64(seed: 9)
    for _ in 0..<5000 {
      let b = (0..<Int.random(in: 0...12, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      #expect(ok(b) == (String(validating: b, as: UTF8.self) != nil), "\(b)")
    }
  }

  @Test func handshakeAcceptAndBase64() {
    #expect(WebSocket.acceptValue(for: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")  // RFC 6455 §1.3
    var rng = SplitMix64(seed: 4)
    for n in 0..<40 {
      let b = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
      #expect(Base64.decode(Base64.encode(b)) == b)
    }
    #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
    #expect(Base64.decode("Zm9vYg==") == Array("foob".utf8))
    #expect(Base64.decode("Zm9=Yg==") == nil)
  }
}
