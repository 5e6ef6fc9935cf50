/// RFC 6455 framing: a parser that reads frames in place and an encoder that writes them into a
/// caller's buffer. No allocation: payloads are handed out as slices of the input buffer (for an
/// unfragmented frame, straight from the receive buffer: zero copies), and masking is undone in
/// place.
///
/// ## Frame layout (RFC 6455 §5.2)
/// ```
///  byte 0: FIN(1) RSV1-3(3) opcode(4)      byte 1: MASK(1) payload len(7)
///  len 126 → 16-bit length follows, 127 → 64-bit length follows (most significant bit 0)
///  MASK=1 → 4-byte masking key follows; payload[i] ^= key[i % 4]
/// ```
public enum WebSocketOpcode: UInt8, Sendable {
  case continuation = 0x0
  case text = 0x1
  case binary = 0x2
  case close = 0x8
  case ping = 0x9
  case pong = 0xA

  public var isControl: Bool { rawValue & 0x8 != 0 }
}

/// Why a frame was refused. Each maps to the close code the connection is failed with.
public enum WebSocketProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
  case reservedBitsSet
  case unknownOpcode(UInt8)
  case controlFrameTooLong(Int)
  case fragmentedControlFrame
  case nonMinimalLength
  case lengthTooLarge(UInt64)
  case messageTooLarge(limit: Int)
  case unmaskedClientFrame
  case maskedServerFrame
  case unexpectedContinuation
  case expectedContinuation
  case invalidUTF8
  case invalidCloseCode(UInt16)
  case badClosePayload

  /// The close code to fail the connection with (RFC 6455 §7.4.1).
  public var closeCode: UInt16 {
    switch self {
    case .messageTooLarge, .lengthTooLarge: 1009
    case .invalidUTF8: 1007
    default: 1002
    }
  }

  public var description: String {
    switch self {
    case .reservedBitsSet: "reserved bits set without a negotiated extension"
    case .unknownOpcode(let o): "unknown opcode \(o)"
    case .controlFrameTooLong(let n): "control frame payload of \(n) bytes (max 125)"
    case .fragmentedControlFrame: "fragmented control frame"
    case .nonMinimalLength: "payload length not in its shortest form"
    case .lengthTooLarge(let n): "payload length \(n) too large"
    case .messageTooLarge(let limit): "message larger than the \(limit)-byte limit"
    case .unmaskedClientFrame: "client frame not masked"
    case .maskedServerFrame: "server frame masked"
    case .unexpectedContinuation: "continuation frame with no message in progress"
    case .expectedContinuation: "new data frame while a fragmented message is in progress"
    case .invalidUTF8: "text message is not valid UTF-8"
    case .invalidCloseCode(let c): "invalid close code \(c)"
    case .badClosePayload: "close payload of 1 byte"
    }
  }
}

/// A frame header as parsed.
public struct WebSocketFrameHeader: Equatable, Sendable {
  public var fin: Bool
  public var opcode: WebSocketOpcode
  public var masked: Bool
  public var maskKey: UInt32  // as the 4 bytes appear on the wire, little-endian loaded
  public var payloadLength: Int
  public var headerLength: Int
}

public enum WebSocketFrameParser {
  /// Parses a frame header at the start of `bytes`. Returns nil when more bytes are needed.
  /// `expectMasked`: a server requires masked frames, a client requires unmasked ones.
  public static func parseHeader(_ bytes: UnsafeRawBufferPointer, expectMasked: Bool, maxPayload: Int)
    throws(WebSocketProtocolError) -> WebSocketFrameHeader?
  {
    guard bytes.count >= 2 else { return nil }
    let b0 = bytes[0]
    let b1 = bytes[1]
    if b0 & 0x70 != 0 { throw .reservedBitsSet }
    guard let opcode = WebSocketOpcode(rawValue: b0 & 0x0F) else { throw .unknownOpcode(b0 & 0x0F) }
    let fin = b0 & 0x80 != 0
    let masked = b1 & 0x80 != 0
    if masked != expectMasked { throw expectMasked ? .unmaskedClientFrame : .maskedServerFrame }
    var len = UInt64(b1 & 0x7F)
    var off = 2
    if len == 126 {
      guard bytes.count >= 4 else { return nil }
      len = UInt64(bytes[2]) << 8 | UInt64(bytes[3])
      if len < 126 { throw .nonMinimalLength }
      off = 4
    } else if len == 127 {
      guard bytes.count >= 10 else { return nil }
      len = 0
      for i in 2..<10 { len = len << 8 | UInt64(bytes[i]) }
      if len >> 63 != 0 { throw .lengthTooLarge(len) }
      if len <= 0xFFFF { throw .nonMinimalLength }
      off = 10
    }
    if opcode.isControl {
      if !fin { throw .fragmentedControlFrame }
      if len > 125 { throw .controlFrameTooLong(Int(len)) }
    }
    if len > UInt64(maxPayload) {
      throw len > UInt64(Int.max / 2) ? .lengthTooLarge(len) : .messageTooLarge(limit: maxPayload)
    }
    var key: UInt32 = 0
    if masked {
      guard bytes.count >= off + 4 else { return nil }
      key = bytes.loadUnaligned(fromByteOffset: off, as: UInt32.self)
      off += 4
    }
    return WebSocketFrameHeader(
      fin: fin, opcode: opcode, masked: masked, maskKey: key, payloadLength: Int(len), headerLength: off)
  }

  /// XORs `bytes` with the masking key, in place; `offset` is the payload position of bytes[0]
  /// (for payloads unmasked in pieces). Eight bytes at a time.
  public static func unmask(_ bytes: UnsafeMutableRawBufferPointer, key: UInt32, offset: Int = 0) {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
    // Rotate the key so that byte 0 of `bytes` uses key byte (offset % 4).
    let shift = UInt32((offset & 3) * 8)
    let k32 = shift == 0 ? key : (key >> shift) | (key << (32 - shift))
    let k64 = UInt64(k32) | UInt64(k32) << 32
    var i = 0
    let n = bytes.count
    while i + 8 <= n {
      let v = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
      base.storeBytes(of: v ^ k64, toByteOffset: i, as: UInt64.self)
      i += 8
    }
    while i < n {
      let kb = UInt8(truncatingIfNeeded: k32 >> UInt32((i & 3) * 8))
      base.storeBytes(of: base.load(fromByteOffset: i, as: UInt8.self) ^ kb, toByteOffset: i, as: UInt8.self)
      i += 1
    }
  }

  /// Bytes a header takes for a payload of `length`, masked or not.
  public static func headerSize(payload length: Int, masked: Bool) -> Int {
    (length < 126 ? 2 : length <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0)
  }

  /// Writes a frame header into `out` (which must have `headerSize` bytes); returns its size.
  @discardableResult
  public static func writeHeader(
    into out: UnsafeMutableRawPointer, fin: Bool = true, opcode: WebSocketOpcode, payload length: Int,
    maskKey: UInt32?
  ) -> Int {
    out.storeBytes(of: (fin ? 0x80 : 0) | opcode.rawValue, as: UInt8.self)
    let m: UInt8 = maskKey == nil ? 0 : 0x80
    var off: Int
    if length < 126 {
      out.storeBytes(of: m | UInt8(length), toByteOffset: 1, as: UInt8.self)
      off = 2
    } else if length <= 0xFFFF {
      out.storeBytes(of: m | 126, toByteOffset: 1, as: UInt8.self)
      out.storeBytes(of: UInt8(length >> 8), toByteOffset: 2, as: UInt8.self)
      out.storeBytes(of: UInt8(length & 0xFF), toByteOffset: 3, as: UInt8.self)
      off = 4
    } else {
      out.storeBytes(of: m | 127, toByteOffset: 1, as: UInt8.self)
      for i in 0..<8 {
        out.storeBytes(
          of: UInt8((UInt64(length) >> UInt64(56 - 8 * i)) & 0xFF), toByteOffset: 2 + i, as: UInt8.self)
      }
      off = 10
    }
    if let k = maskKey {
      out.storeBytes(of: k, toByteOffset: off, as: UInt32.self)
      off += 4
    }
    return off
  }
}

/// UTF-8 validation for text messages (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
public enum UTF8Validator {
  public static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    let n = bytes.count
    while i < n {
      // ASCII fast path, 8 bytes at a time.
      if i + 8 <= n, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
        i += 8
        continue
      }
      let c = bytes[i]
      if c < 0x80 {
        i += 1
        continue
      }
      var need = 0
      var minCode: UInt32 = 0
      var code: UInt32
      if c & 0xE0 == 0xC0 {
        need = 1
        minCode = 0x80
        code = UInt32(c & 0x1F)
      } else if c & 0xF0 == 0xE0 {
        need = 2
        minCode = 0x800
        code = UInt32(c & 0x0F)
      } else if c & 0xF8 == 0xF0 {
        need = 3
        minCode = 0x10000
        code = UInt32(c & 0x07)
      } else {
        return false
      }
      if i + need >= n { return false }  // truncated sequence
      for k in 1...need {
        let cc = bytes[i + k]
        if cc & 0xC0 != 0x80 { return false }
        code = code << 6 | UInt32(cc & 0x3F)
      }
      if code < minCode || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF) { return false }
      i += need + 1
    }
    return true
  }
}
