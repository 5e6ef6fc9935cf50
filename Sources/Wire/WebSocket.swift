import COpenSSL
import CPlatform
import Glibc

/// Receives WebSocket messages. Payloads are valid only during the call.
public protocol WebSocketDelegate: AnyObject {
  func webSocketDidOpen(_ ws: WebSocket)
  /// A whole message. For an unfragmented frame the bytes are the receive buffer itself.
  func webSocket(_ ws: WebSocket, didReceive opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer)
  /// The connection ended: `code` is the close code received (or 1006 when there was none).
  func webSocketDidClose(_ ws: WebSocket, code: UInt16, error: WireError?)
  func webSocket(_ ws: WebSocket, didReceivePong payload: UnsafeRawBufferPointer)
}

extension WebSocketDelegate {
  public func webSocket(_ ws: WebSocket, didReceivePong payload: UnsafeRawBufferPointer) {}
}

/// RFC 6455 over any `ByteStream`: the opening handshake (client or server), masking,
/// fragmentation, automatic pong, the close handshake with codes, a maximum message size, UTF-8
/// checks on text, and ping/idle timeouts that detect half-open connections.
///
/// Receive path: frames are parsed in place in the stream's receive buffer; an unfragmented
/// frame's payload is handed over without a copy (unmasked in place on the server). Only a frame
/// split across receives, or a fragmented message, is copied into buffers allocated once.
public final class WebSocket: ByteStreamDelegate {
  public enum Role: Sendable { case client, server }
  public enum State: Sendable { case handshaking, open, closing, closed }

  public let role: Role
  public let stream: any ByteStream
  public weak var delegate: (any WebSocketDelegate)?
  public private(set) var state: State = .handshaking
  public let maxMessageSize: Int
  /// Client: the request path and host for the handshake; server: what the client asked for.
  public private(set) var path: String
  public private(set) var requestHeaders = HTTPHeaders()
  let host: String
  let extraHeaders: [(String, String)]
  var key = ""
  var http: HTTPParser
  // Partial-frame accumulator and fragmented-message buffer, allocated once.
  let partial: UnsafeMutableRawBufferPointer
  var partialCount = 0
  let message: UnsafeMutableRawBufferPointer
  var messageCount = 0
  var messageOpcode: WebSocketOpcode? = nil
  var closeSent = false
  var closeCodeReceived: UInt16 = 1006
  var rng: UInt64
  var pingTimer: UInt64? = nil
  var lastPongNs: Int64 = 0
  public private(set) var messagesReceived = 0
  public private(set) var protocolErrors = 0

  /// A client: sends the opening handshake once the stream is open.
  public init(
    client stream: any ByteStream, host: String, path: String = "/", headers: [(String, String)] = [],
    maxMessageSize: Int = 1 << 20
  ) {
    role = .client
    self.stream = stream
    self.host = host
    self.path = path
    extraHeaders = headers
    self.maxMessageSize = maxMessageSize
    http = HTTPParser(kind: .response)
    partial = .allocate(byteCount: maxMessageSize + 14, alignment: 64)
    message = .allocate(byteCount: maxMessageSize, alignment: 64)
    rng = UInt64(bitPattern: cplat_now_ns()) | 1
    stream.delegate = self
    if stream.isOpen { sendHandshake() }
  }

  /// A server side: waits for the client's handshake on `stream`.
  public init(server stream: any ByteStream, maxMessageSize: Int = 1 << 20) {
    role = .server
    self.stream = stream
    host = ""
    path = ""
    extraHeaders = []
    self.maxMessageSize = maxMessageSize
    http = HTTPParser(kind: .request)
    partial = .allocate(byteCount: maxMessageSize + 14, alignment: 64)
    message = .allocate(byteCount: maxMessageSize, alignment: 64)
    rng = UInt64(bitPattern: cplat_now_ns()) | 1
    stream.delegate = self
  }

  deinit {
    partial.deallocate()
    message.deallocate()
  }

  // MARK: handshake

  func sendHandshake() {
    var raw = [UInt8](repeating: 0, count: 16)
    for i in 0..<16 { raw[i] = UInt8(truncatingIfNeeded: nextRandom()) }
    key = Base64.encode(raw)
    var h = HTTPHeaders([
      ("Host", host), ("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
      ("Sec-WebSocket-Version", "13"),
    ])
    for (n, v) in extraHeaders { h.add(n, v) }
    try? stream.write(HTTPWriter.request(HTTPRequestHead(method: "GET", target: path, headers: h)))
  }

  /// Sec-WebSocket-Accept for a key (RFC 6455 §4.2.2): base64(SHA-1(key + GUID)).
  public static func acceptValue(for key: String) -> String {
    let input = Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8)
    var digest = [UInt8](repeating: 0, count: 20)
    _ = SHA1(input, input.count, &digest)
    return Base64.encode(digest)
  }

  func handleHandshake(_ bytes: UnsafeMutableRawBufferPointer) -> Int? {
    let used: Int
    let event: HTTPParser.Event?
    do {
      (used, event) = try http.consume(UnsafeRawBufferPointer(bytes))
    } catch {
      fail(.http(error), code: 1002, status: error.status)
      return nil
    }
    guard let event else { return used }
    switch (role, event) {
    case (.client, .response(let head, _)):
      guard head.status == 101 else {
        fail(.handshake("server answered \(head.status) \(head.reason)"), code: 1002)
        return nil
      }
      guard head.headers["upgrade"]?.lowercased() == "websocket",
        head.headers["connection"]?.lowercased().contains("upgrade") == true
      else {
        fail(.handshake("missing Upgrade/Connection headers"), code: 1002)
        return nil
      }
      guard head.headers["sec-websocket-accept"] == Self.acceptValue(for: key) else {
        fail(.handshake("Sec-WebSocket-Accept does not match the key"), code: 1002)
        return nil
      }
    case (.server, .request(let head, _)):
      guard acceptUpgrade(head) else { return nil }
    default:
      fail(.handshake("unexpected message"), code: 1002)
      return nil
    }
    state = .open
    lastPongNs = cplat_now_ns()
    delegate?.webSocketDidOpen(self)
    return used
  }

  /// Server side: checks an upgrade request and answers 101 (or 400/426 and fails). Returns
  /// whether the connection is now a WebSocket.
  func acceptUpgrade(_ head: HTTPRequestHead) -> Bool {
    let key = head.headers["sec-websocket-key"] ?? ""
    guard head.method == "GET", head.headers["upgrade"]?.lowercased() == "websocket",
      head.headers["connection"]?.lowercased().contains("upgrade") == true,
      Base64.decode(key)?.count == 16
    else {
      try? stream.write(
        HTTPWriter.response(HTTPResponseHead(status: 400), body: Array("not a WebSocket upgrade\n".utf8)))
      fail(.handshake("not a valid WebSocket upgrade request"), code: 1002, sendClose: false)
      return false
    }
    guard head.headers["sec-websocket-version"] == "13" else {
      try? stream.write(
        HTTPWriter.response(
          HTTPResponseHead(status: 426, headers: HTTPHeaders([("Sec-WebSocket-Version", "13")]))))
      fail(.handshake("unsupported WebSocket version"), code: 1002, sendClose: false)
      return false
    }
    path = head.target
    requestHeaders = head.headers
    try? stream.write(
      HTTPWriter.response(
        HTTPResponseHead(
          status: 101,
          headers: HTTPHeaders([
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Accept", Self.acceptValue(for: key)),
          ]))))
    return true
  }

  /// A server side for a connection whose upgrade request was already read (by `HTTPServer`):
  /// answers it and is open at once (or fails, answering 400/426).
  public convenience init(
    server stream: any ByteStream, upgrade request: HTTPRequestHead, maxMessageSize: Int = 1 << 20
  ) {
    self.init(server: stream, maxMessageSize: maxMessageSize)
    if acceptUpgrade(request) {
      state = .open
      lastPongNs = cplat_now_ns()
    }
  }

  /// Tells the delegate the socket is open (after `init(server:upgrade:)`, once the delegate is set).
  public func announceOpen() { if state == .open { delegate?.webSocketDidOpen(self) } }

  // MARK: ByteStreamDelegate

  public func streamDidOpen(_ stream: any ByteStream) {
    if role == .client { sendHandshake() }
  }

  public func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
    var data = bytes
    if state == .handshaking {
      guard let used = handleHandshake(data) else { return }
      data = UnsafeMutableRawBufferPointer(rebasing: data[used...])
      if data.isEmpty { return }
    }
    guard state == .open || state == .closing else { return }
    if partialCount > 0 {
      // A frame is split across receives: gather into the accumulator (sized for the largest
      // allowed frame, so overflowing it means the frame is too large).
      guard data.count <= partial.count - partialCount else {
        fail(.webSocket(.messageTooLarge(limit: maxMessageSize)), code: 1009)
        return
      }
      (partial.baseAddress! + partialCount).copyMemory(from: data.baseAddress!, byteCount: data.count)
      partialCount += data.count
      guard let used = parseFrames(UnsafeMutableRawBufferPointer(rebasing: partial[0..<partialCount])) else {
        return
      }
      let rest = partialCount - used
      if rest > 0 && used > 0 {
        partial.baseAddress!.copyMemory(from: partial.baseAddress! + used, byteCount: rest)
      }
      partialCount = rest
      return
    }
    guard let used = parseFrames(data) else { return }
    let rest = data.count - used
    if rest > 0 {
      partial.baseAddress!.copyMemory(from: data.baseAddress! + used, byteCount: rest)
      partialCount = rest
    }
  }

  public func streamDidClose(_ stream: any ByteStream, error: WireError?) {
    let was = state
    state = .closed
    if let t = pingTimer {
      stream.eventLoop.cancelTimer(t)
      pingTimer = nil
    }
    if was != .closed { delegate?.webSocketDidClose(self, code: closeCodeReceived, error: error) }
  }

  // MARK: frames

  /// Parses whole frames from `buf`; returns how many bytes were used (the rest is a partial
  /// frame), or nil when the connection was failed.
  func parseFrames(_ buf: UnsafeMutableRawBufferPointer) -> Int? {
    var off = 0
    while off < buf.count && (state == .open || state == .closing) {
      let rest = UnsafeMutableRawBufferPointer(rebasing: buf[off...])
      let header: WebSocketFrameHeader?
      do {
        header = try WebSocketFrameParser.parseHeader(
          UnsafeRawBufferPointer(rest), expectMasked: role == .server, maxPayload: maxMessageSize)
      } catch {
        protocolErrors += 1
        fail(.webSocket(error), code: error.closeCode)
        return nil
      }
      guard let h = header, rest.count >= h.headerLength + h.payloadLength else { break }
      let payload = UnsafeMutableRawBufferPointer(
        rebasing: rest[h.headerLength..<(h.headerLength + h.payloadLength)])
      if h.masked { WebSocketFrameParser.unmask(payload, key: h.maskKey) }
      off += h.headerLength + h.payloadLength
      if !handleFrame(h, payload) { return nil }
    }
    return off
  }

  func handleFrame(_ h: WebSocketFrameHeader, _ payload: UnsafeMutableRawBufferPointer) -> Bool {
    switch h.opcode {
    case .ping:
      try? sendFrame(.pong, UnsafeRawBufferPointer(payload))
      return true
    case .pong:
      lastPongNs = cplat_now_ns()
      delegate?.webSocket(self, didReceivePong: UnsafeRawBufferPointer(payload))
      return true
    case .close:
      var code: UInt16 = 1005
      if payload.count == 1 {
        fail(.webSocket(.badClosePayload), code: 1002)
        return false
      }
      if payload.count >= 2 {
        code = UInt16(payload[0]) << 8 | UInt16(payload[1])
        let valid =
          (1000...1003).contains(code) || (1007...1014).contains(code) || (3000...4999).contains(code)
        if !valid {
          fail(.webSocket(.invalidCloseCode(code)), code: 1002)
          return false
        }
        if !UTF8Validator.isValid(UnsafeRawBufferPointer(rebasing: payload[2...])) {
          fail(.webSocket(.invalidUTF8), code: 1007)
          return false
        }
      }
      closeCodeReceived = code
      if !closeSent {
        // Echo the code (RFC 6455 §5.5.1), then the server closes TCP; a client waits for it.
        var echo: [UInt8] = []
        if code != 1005 { echo = [UInt8(code >> 8), UInt8(code & 0xFF)] }
        echo.withUnsafeBytes { try? sendFrame(.close, $0) }
        closeSent = true
      }
      state = .closing
      if role == .server { stream.close() } else { scheduleCloseWait() }
      return false
    case .text, .binary:
      if messageOpcode != nil { return protocolError(.expectedContinuation) }
      if h.fin {
        return deliver(h.opcode, UnsafeRawBufferPointer(payload))
      }
      messageOpcode = h.opcode
      return appendFragment(payload)
    case .continuation:
      guard let op = messageOpcode else { return protocolError(.unexpectedContinuation) }
      guard appendFragment(payload) else { return false }
      if h.fin {
        messageOpcode = nil
        let n = messageCount
        messageCount = 0
        return deliver(op, UnsafeRawBufferPointer(rebasing: message[0..<n]))
      }
      return true
    }
  }

  func appendFragment(_ p: UnsafeMutableRawBufferPointer) -> Bool {
    guard messageCount + p.count <= maxMessageSize else {
      fail(.webSocket(.messageTooLarge(limit: maxMessageSize)), code: 1009)
      return false
    }
    if !p.isEmpty {
      (message.baseAddress! + messageCount).copyMemory(from: p.baseAddress!, byteCount: p.count)
    }
    messageCount += p.count
    return true
  }

  func deliver(_ op: WebSocketOpcode, _ payload: UnsafeRawBufferPointer) -> Bool {
    if op == .text && !UTF8Validator.isValid(payload) {
      fail(.webSocket(.invalidUTF8), code: 1007)
      return false
    }
    messagesReceived += 1
    delegate?.webSocket(self, didReceive: op, payload: payload)
    return state == .open || state == .closing
  }

  func protocolError(_ e: WebSocketProtocolError) -> Bool {
    protocolErrors += 1
    fail(.webSocket(e), code: e.closeCode)
    return false
  }

  /// Fails the connection: a close frame with `code` (unless told not to), then the stream closes.
  func fail(_ error: WireError, code: UInt16, status: Int = 400, sendClose: Bool = true) {
    if state == .closed { return }
    if state == .handshaking && role == .server && sendClose {
      try? stream.write(HTTPWriter.response(HTTPResponseHead(status: status)))
    } else if sendClose && !closeSent && state != .handshaking {
      let b = [UInt8(code >> 8), UInt8(code & 0xFF)]
      b.withUnsafeBytes { try? sendFrame(.close, $0) }
      closeSent = true
    }
    closeCodeReceived = code
    state = .closed  // before the stream closes, so its callback does not report twice
    stream.close()
    delegate?.webSocketDidClose(self, code: code, error: error)
  }

  func scheduleCloseWait() {
    // A client gives the server a moment to close TCP first (RFC 6455 §7.1.1), then closes itself.
    stream.eventLoop.schedule(after: 1_000_000_000) { [weak self] in self?.stream.close() }
  }

  // MARK: sending

  @inline(__always)
  func nextRandom() -> UInt64 {
    rng ^= rng << 13
    rng ^= rng >> 7
    rng ^= rng << 17
    return rng
  }

  /// Sends one frame: the header and payload written straight into the stream's outbound buffer,
  /// masked in place by a client.
  public func sendFrame(_ opcode: WebSocketOpcode, _ payload: UnsafeRawBufferPointer, fin: Bool = true)
    throws(WireError)
  {
    guard state == .open || (state == .closing && opcode.isControl) else { throw .closedByPeer }
    let mask: UInt32? = role == .client ? UInt32(truncatingIfNeeded: nextRandom()) : nil
    let hs = WebSocketFrameParser.headerSize(payload: payload.count, masked: mask != nil)
    try stream.write(count: hs + payload.count) { out in
      let n = WebSocketFrameParser.writeHeader(
        into: out.baseAddress!, fin: fin, opcode: opcode, payload: payload.count, maskKey: mask)
      let body = UnsafeMutableRawBufferPointer(rebasing: out[n...])
      if !payload.isEmpty { body.copyMemory(from: payload) }
      if let m = mask { WebSocketFrameParser.unmask(body, key: m) }
    }
  }

  public func send(text: String) throws(WireError) {
    var t = text
    var failure: WireError?
    t.withUTF8 { b in
      do throws(WireError) { try sendFrame(.text, UnsafeRawBufferPointer(b)) } catch { failure = error }
    }
    if let failure { throw failure }
  }

  public func send(binary: UnsafeRawBufferPointer) throws(WireError) { try sendFrame(.binary, binary) }

  public func ping(_ payload: [UInt8] = []) throws(WireError) {
    var failure: WireError?
    payload.withUnsafeBytes { b in
      do throws(WireError) { try sendFrame(.ping, b) } catch { failure = error }
    }
    if let failure { throw failure }
  }

  /// Starts the close handshake.
  public func close(code: UInt16 = 1000, reason: String = "") {
    guard state == .open else {
      if state == .handshaking { stream.close() }
      return
    }
    var b = [UInt8(code >> 8), UInt8(code & 0xFF)] + Array(reason.utf8.prefix(123))
    b.withUnsafeMutableBytes { try? sendFrame(.close, UnsafeRawBufferPointer($0)) }
    closeSent = true
    state = .closing
    // Wait for the peer's close frame (handled in handleFrame), with a bound: a peer that never
    // answers (a half-open connection, a venue that drops close frames) is disconnected anyway.
    stream.eventLoop.schedule(after: 2_000_000_000) { [weak self] in self?.stream.close() }
  }

  /// Pings every `intervalNs` and fails the connection with `.idleTimeout` when no pong or data
  /// has come back within `timeoutNs`: a half-open connection is detected, never waited on forever.
  public func keepAlive(loop: EventLoop, intervalNs: Int64, timeoutNs: Int64) {
    pingTimer = loop.schedule(every: intervalNs) { [weak self] in
      guard let self, self.state == .open else { return false }
      let now = cplat_now_ns()
      let lastData = self.stream.lastReceiveNs
      if now - max(self.lastPongNs, lastData) > timeoutNs {
        self.fail(.idleTimeout, code: 1001)
        return false
      }
      try? self.ping()
      return true
    }
  }
}

/// Standard base64 (RFC 4648), for handshake keys.
public enum Base64 {
  static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
  public static func encode(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    var i = 0
    while i + 3 <= bytes.count {
      let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
      out += [
        alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)],
        alphabet[Int(v & 63)],
      ]
      i += 3
    }
    let rest = bytes.count - i
    if rest == 1 {
      let v = UInt32(bytes[i]) << 16
      out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], 61, 61]
    } else if rest == 2 {
      let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
      out += [alphabet[Int(v >> 18)], alphabet[Int(v >> 12 & 63)], alphabet[Int(v >> 6 & 63)], 61]
    }
    return String(decoding: out, as: UTF8.self)
  }

  public static func decode(_ s: String) -> [UInt8]? {
    let chars = Array(s.utf8)
    guard chars.count % 4 == 0 else { return nil }
    var out: [UInt8] = []
    var i = 0
    func val(_ c: UInt8) -> UInt32? {
      switch c {
      case 65...90: UInt32(c - 65)
      case 97...122: UInt32(c - 71)
      case 48...57: UInt32(c + 4)
      case 43: 62
      case 47: 63
      default: nil
      }
    }
    while i < chars.count {
      let pad = (chars[i + 2] == 61 ? 1 : 0) + (chars[i + 3] == 61 ? 1 : 0)
      guard let a = val(chars[i]), let b = val(chars[i + 1]) else { return nil }
      let c = pad >= 2 ? 0 : val(chars[i + 2])
      let d = pad >= 1 ? 0 : val(chars[i + 3])
      guard let c, let d, pad == 0 || i + 4 == chars.count else { return nil }
      let v = a << 18 | b << 12 | c << 6 | d
      out.append(UInt8(v >> 16))
      if pad < 2 { out.append(UInt8(v >> 8 & 0xFF)) }
      if pad < 1 { out.append(UInt8(v & 0xFF)) }
      i += 4
    }
    return out
  }
}
