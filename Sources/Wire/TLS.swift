import COpenSSL

/// TLS settings for one side; an `SSL_CTX` built once and shared by connections.
///
/// Verification is on by default for clients: the server's certificate must chain to the system
/// CA store (or `caFile`) and match the host name; SNI is sent. TLS 1.2 and 1.3.
public final class TLSContext: @unchecked Sendable {
  public enum Role: Sendable { case client, server }
  let ctx: OpaquePointer
  public let role: Role
  public let verifyPeer: Bool
  /// TLS 1.3 AES-GCM application records sealed and opened here after the handshake
  /// (`RecordCipher`) instead of through SSL_read/SSL_write: no allocation, one AEAD call each.
  public var nativeRecordLayer = true {
    didSet { TLSContext.configureNative(ctx, role: role, on: nativeRecordLayer) }
  }

  /// A client context. `caFile` replaces the system store; `verifyPeer: false` is for tests
  /// against throwaway certificates only.
  public init(client caFile: String? = nil, verifyPeer: Bool = true, maxVersion: Int32 = 0) throws(WireError)
  {
    guard let c = SSL_CTX_new(TLS_client_method()) else { throw .tls(TLSContext.lastError()) }
    ctx = c
    role = .client
    self.verifyPeer = verifyPeer
    _ = copenssl_set_min_proto(c, TLS1_2_VERSION)
    TLSContext.keepBuffers(c)
    TLSContext.configureNative(c, role: .client, on: true)
    if maxVersion != 0 { _ = copenssl_set_max_proto(c, maxVersion) }
    if verifyPeer {
      SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nil)
      let ok = caFile.map { SSL_CTX_load_verify_locations(c, $0, nil) } ?? SSL_CTX_set_default_verify_paths(c)
      guard ok == 1 else {
        throw .tls(
          "cannot load CA certificates\(caFile.map { " from \($0)" } ?? ""): \(TLSContext.lastError())")
      }
    }
  }

  /// A server context with a PEM certificate chain and private key.
  public init(server certificateFile: String, keyFile: String) throws(WireError) {
    guard let c = SSL_CTX_new(TLS_server_method()) else { throw .tls(TLSContext.lastError()) }
    ctx = c
    role = .server
    verifyPeer = false
    _ = copenssl_set_min_proto(c, TLS1_2_VERSION)
    TLSContext.keepBuffers(c)
    TLSContext.configureNative(c, role: .server, on: true)
    guard SSL_CTX_use_certificate_chain_file(c, certificateFile) == 1 else {
      throw .tls("cannot load certificate \(certificateFile): \(TLSContext.lastError())")
    }
    guard SSL_CTX_use_PrivateKey_file(c, keyFile, SSL_FILETYPE_PEM) == 1, SSL_CTX_check_private_key(c) == 1
    else {
      throw .tls("cannot load private key \(keyFile): \(TLSContext.lastError())")
    }
  }

  deinit { SSL_CTX_free(ctx) }

  /// The native record layer needs the traffic secrets (key-log callback, kept in memory only,
  /// never written anywhere) and, on a server, no session tickets after the handshake so that its
  /// write sequence starts at 0.
  static func configureNative(_ c: OpaquePointer, role: Role, on: Bool) {
    SSL_CTX_set_keylog_callback(c, on ? TrafficSecrets.callback : nil)
    if role == .server { _ = SSL_CTX_set_num_tickets(c, on ? 0 : 2) }
  }

  /// Keeps record buffers between records (no SSL_MODE_RELEASE_BUFFERS), and lets a write
  /// retry from a moved buffer.
  static func keepBuffers(_ c: OpaquePointer) {
    _ = copenssl_ctx_clear_mode(c, Int(SSL_MODE_RELEASE_BUFFERS))
    _ = copenssl_ctx_set_mode(c, Int(SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
  }

  /// The queued OpenSSL errors as text (and clears the queue).
  static func lastError() -> String {
    var parts: [String] = []
    while true {
      let e = ERR_get_error()
      if e == 0 { break }
      var buf = [CChar](repeating: 0, count: 256)
      ERR_error_string_n(e, &buf, buf.count)
      parts.append(String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return parts.isEmpty ? "unknown TLS error" : parts.joined(separator: "; ")
  }
}

/// TLS over another `ByteStream` through a BIO pair: ciphertext from the network is written into
/// the pair's network end, plaintext comes out of `SSL_read`; what `SSL_write` produces is read
/// from the network end straight into the transport's outbound buffer. The I/O stays on the loop.
/// A BIO pair has fixed buffers (memory BIOs reallocate as they drain and refill: 4 allocations per
/// round trip, measured), so an established connection allocates nothing per message.
public final class TLSStream: ByteStream, ByteStreamDelegate {
  public weak var delegate: (any ByteStreamDelegate)?
  public let transport: any ByteStream
  let ssl: OpaquePointer
  let internalBIO: OpaquePointer  // SSL's end of the pair
  let networkBIO: OpaquePointer  // ours: ciphertext in and out
  let plain: UnsafeMutableRawBufferPointer
  /// Where `write(count:_:)` lets callers build plaintext in place before SSL_write (grown, kept).
  var scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 16 * 1024, alignment: 64)
  public private(set) var handshakeDone = false
  /// Set once application records go through `RecordCipher` (TLS 1.3, AES-GCM).
  public private(set) var usesNativeRecords = false
  var sealer: RecordCipher?
  var opener: RecordCipher?
  /// A record split across receives (native path), allocated once.
  var partialRecord = UnsafeMutableRawBufferPointer(start: nil, count: 0)
  var partialCount = 0
  static let maxRecord = 5 + 16_384 + 256
  var closing = false
  var closed = false
  let context: TLSContext
  let hostName: String?

  /// Wraps `transport`. A client names the server (`hostName`) for SNI and verification.
  public init(_ context: TLSContext, over transport: any ByteStream, hostName: String? = nil)
    throws(WireError)
  {
    guard let s = SSL_new(context.ctx) else { throw .tls(TLSContext.lastError()) }
    ssl = s
    self.context = context
    self.hostName = hostName
    self.transport = transport
    var inner: OpaquePointer? = nil
    var outer: OpaquePointer? = nil
    guard BIO_new_bio_pair(&inner, Self.pairBuffer, &outer, Self.pairBuffer) == 1, let inner, let outer else {
      SSL_free(s)
      throw .tls("cannot create a BIO pair: \(TLSContext.lastError())")
    }
    internalBIO = inner
    networkBIO = outer
    SSL_set_bio(ssl, inner, inner)
    plain = .allocate(byteCount: 64 * 1024, alignment: 64)
    if context.role == .client {
      if let hostName {
        _ = copenssl_set_sni(ssl, hostName)
        if context.verifyPeer {
          // An IP literal is checked against IP SANs, a name against DNS SANs.
          let isIP = hostName.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
          if isIP {
            let param = SSL_get0_param(ssl)
            _ = X509_VERIFY_PARAM_set1_ip_asc(param, hostName)
          } else {
            _ = SSL_set1_host(ssl, hostName)
          }
        }
      }
      SSL_set_connect_state(ssl)
    } else {
      SSL_set_accept_state(ssl)
    }
    transport.delegate = self
    if transport.isOpen { streamDidOpen(transport) }
  }

  static let pairBuffer = 64 * 1024

  deinit {
    SSL_free(ssl)  // frees the internal BIO
    BIO_free(networkBIO)
    _ = TrafficSecrets.take(ssl)
    plain.deallocate()
    scratch.deallocate()
    partialRecord.deallocate()
  }

  public var isOpen: Bool { handshakeDone && !closing && !closed && transport.isOpen }
  public var eventLoop: EventLoop { transport.eventLoop }
  public var lastReceiveNs: Int64 { transport.lastReceiveNs }

  /// The negotiated protocol ("TLSv1.3").
  public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

  // MARK: transport events

  public func streamDidOpen(_ stream: any ByteStream) {
    if context.role == .client { advanceHandshake() }
  }

  public func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
    if usesNativeRecords {
      receiveNative(bytes)
      return
    }
    var off = 0
    while off < bytes.count && !closed {
      // The pair takes what fits; SSL then consumes it, making room for the rest.
      let n = BIO_write(networkBIO, bytes.baseAddress! + off, Int32(bytes.count - off))
      if n > 0 { off += Int(n) }
      if !handshakeDone {
        advanceHandshake()
        if !handshakeDone || closed {
          if n <= 0 && !closed { fail("handshake stalled with a full buffer") }
          continue
        }
      }
      readPlaintext()
      if n <= 0 && BIO_ctrl_get_write_guarantee(networkBIO) == 0 {
        fail("TLS input not consumed")
        return
      }
    }
  }

  public func streamDidClose(_ stream: any ByteStream, error: WireError?) {
    if closed { return }
    closed = true
    delegate?.streamDidClose(self, error: error ?? (closing || !handshakeDone ? error : nil))
  }

  func advanceHandshake() {
    let r = SSL_do_handshake(ssl)
    flushToNetwork()
    if r == 1 {
      handshakeDone = true
      let leftover = switchToNativeRecords()
      delegate?.streamDidOpen(self)
      if var leftover, !closed {
        leftover.withUnsafeMutableBytes { receiveNative($0) }
      }
      return
    }
    let e = SSL_get_error(ssl, r)
    if e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE { return }
    var detail = TLSContext.lastError()
    let v = SSL_get_verify_result(ssl)
    if v != X509_V_OK {
      detail = "certificate verification failed: \(String(cString: X509_verify_cert_error_string(v)))"
    }
    fail("handshake failed: \(detail)")
  }

  func readPlaintext() {
    while !closed {
      let n = SSL_read(ssl, plain.baseAddress, Int32(plain.count))
      if n > 0 {
        delegate?.stream(self, didReceive: UnsafeMutableRawBufferPointer(rebasing: plain[0..<Int(n)]))
        continue
      }
      let e = SSL_get_error(ssl, n)
      flushToNetwork()  // post-handshake messages (tickets, key updates)
      if e == SSL_ERROR_WANT_READ { return }
      if e == SSL_ERROR_ZERO_RETURN {
        // The peer sent close_notify: answer it and close.
        _ = SSL_shutdown(ssl)
        flushToNetwork()
        closing = true
        transport.close()
        return
      }
      fail("read failed: \(TLSContext.lastError())")
      return
    }
  }

  /// Moves whatever SSL produced into the transport's outbound buffer.
  func flushToNetwork() {
    while true {
      let pending = Int(BIO_ctrl_pending(networkBIO))
      if pending == 0 { return }
      do throws(WireError) {
        try transport.write(count: pending) { out in _ = BIO_read(networkBIO, out.baseAddress, Int32(pending))
        }
      } catch {
        fail("transport refused \(pending) bytes: \(error)")
        return
      }
    }
  }

  func fail(_ message: String) {
    if closed { return }
    transport.abort(.tls(message))
  }

  // MARK: ByteStream

  public func write(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
    guard handshakeDone, !closing, !closed else { throw .closedByPeer }
    if usesNativeRecords {
      try writeNative(count: bytes.count) { $0.copyMemory(from: bytes) }
      return
    }
    var off = 0
    while off < bytes.count {
      let n = SSL_write(ssl, bytes.baseAddress! + off, Int32(bytes.count - off))
      if n <= 0 {
        // The pair's outbound buffer is full: move it to the transport and go on.
        if SSL_get_error(ssl, n) == SSL_ERROR_WANT_WRITE {
          flushToNetwork()
          continue
        }
        throw .tls("write failed: \(TLSContext.lastError())")
      }
      off += Int(n)
      flushToNetwork()
    }
  }

  public func write(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) throws(WireError) {
    if usesNativeRecords && handshakeDone && !closing && !closed {
      try writeNative(count: count, fill)
      return
    }
    // Plaintext must pass through SSL_write: fill the scratch area, then encrypt it.
    if scratch.count < count {
      scratch.deallocate()
      scratch = .allocate(byteCount: count, alignment: 64)
    }
    fill(UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count]))
    try write(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
  }

  /// Moves this side's write key on (TLS 1.3 KeyUpdate); with `requestPeer`, asks the peer to
  /// move its key too.
  public func keyUpdate(requestPeer: Bool) throws(WireError) {
    guard handshakeDone, !closed else { throw .closedByPeer }
    if usesNativeRecords {
      let msg: [UInt8] = [24, 0, 0, 1, requestPeer ? 1 : 0]
      try sealNative(inner: 22, count: msg.count) { dst in msg.withUnsafeBytes { dst.copyMemory(from: $0) } }
      guard sealer?.update() == true else { throw .tls("cannot update the write key") }
    } else {
      guard SSL_key_update(ssl, requestPeer ? SSL_KEY_UPDATE_REQUESTED : SSL_KEY_UPDATE_NOT_REQUESTED) == 1
      else {
        throw .tls("key update refused: \(TLSContext.lastError())")
      }
      _ = SSL_do_handshake(ssl)
      flushToNetwork()
    }
  }

  /// Sends close_notify, then closes the transport.
  public func close() {
    if closing || closed { return }
    closing = true
    if usesNativeRecords {
      sendNativeAlert(close: true)
    } else if handshakeDone {
      _ = SSL_shutdown(ssl)
      flushToNetwork()
    }
    transport.close()
  }

  public func abort(_ error: WireError) { transport.abort(error) }
}

// MARK: the native TLS 1.3 record layer (see RecordCipher)

extension TLSStream {
  /// At the end of the handshake: when the connection is TLS 1.3 with AES-GCM and the secrets
  /// were captured, key our own ciphers and take back the bytes OpenSSL has not read (records
  /// that arrived with the peer's Finished). Returns those bytes.
  func switchToNativeRecords() -> [UInt8]? {
    guard context.nativeRecordLayer, SSL_version(ssl) == TLS1_3_VERSION, let c = SSL_get_current_cipher(ssl),
      let secrets = TrafficSecrets.take(ssl), let client = secrets.client, let server = secrets.server
    else { return nil }
    let id = SSL_CIPHER_get_id(c)
    let isClient = context.role == .client
    guard SSL_pending(ssl) == 0,
      let w = RecordCipher(secret: isClient ? client : server, cipherSuite: id, encrypting: true),
      let r = RecordCipher(secret: isClient ? server : client, cipherSuite: id, encrypting: false)
    else { return nil }
    sealer = w
    opener = r
    partialRecord = .allocate(byteCount: Self.maxRecord, alignment: 64)
    usesNativeRecords = true
    let pending = Int(BIO_ctrl_pending(internalBIO))
    guard pending > 0 else { return nil }
    var rest = [UInt8](repeating: 0, count: pending)
    _ = BIO_read(internalBIO, &rest, Int32(pending))
    return rest
  }

  /// Records in, plaintext out: whole records are opened in place in the receive buffer (zero
  /// copies); only a record split across receives is gathered first.
  func receiveNative(_ bytes: UnsafeMutableRawBufferPointer) {
    var data = bytes
    if partialCount > 0 {
      // Complete the split record from the new bytes, open it, continue with the rest in place.
      let base = partialRecord.baseAddress!
      if partialCount < 5 {
        let take = min(5 - partialCount, data.count)
        (base + partialCount).copyMemory(from: data.baseAddress!, byteCount: take)
        partialCount += take
        data = UnsafeMutableRawBufferPointer(rebasing: data[take...])
        if partialCount < 5 { return }
      }
      let total = 5 + (Int(partialRecord[3]) << 8 | Int(partialRecord[4]))
      guard total <= Self.maxRecord else { return failNative("record too long") }
      let take = min(total - partialCount, data.count)
      if take > 0 { (base + partialCount).copyMemory(from: data.baseAddress!, byteCount: take) }
      partialCount += take
      data = UnsafeMutableRawBufferPointer(rebasing: data[take...])
      if partialCount < total { return }
      partialCount = 0
      guard handleRecord(UnsafeMutableRawBufferPointer(rebasing: partialRecord[0..<total])) else { return }
    }
    var off = 0
    while off + 5 <= data.count && !closed {
      let total = 5 + (Int(data[off + 3]) << 8 | Int(data[off + 4]))
      guard total <= Self.maxRecord else { return failNative("record too long") }
      if off + total > data.count { break }
      guard handleRecord(UnsafeMutableRawBufferPointer(rebasing: data[off..<(off + total)])) else { return }
      off += total
    }
    let rest = data.count - off
    if rest > 0 && !closed {
      partialRecord.baseAddress!.copyMemory(from: data.baseAddress! + off, byteCount: rest)
      partialCount = rest
    }
  }

  /// One whole record; false when the connection ended.
  func handleRecord(_ record: UnsafeMutableRawBufferPointer) -> Bool {
    let outerType = record[0]
    if outerType == 20 { return true }  // a compatibility change_cipher_spec: ignored (RFC 8446 D.4)
    guard outerType == 23, let opener, let n = opener.open(record) else {
      failNative(outerType == 23 ? "record failed authentication" : "unexpected record type \(outerType)")
      return false
    }
    // Strip the zero padding; the last non-zero byte is the inner content type.
    var end = 5 + n
    while end > 5 && record[end - 1] == 0 { end -= 1 }
    guard end > 5 else {
      failNative("record without a content type")
      return false
    }
    let inner = record[end - 1]
    let body = UnsafeMutableRawBufferPointer(rebasing: record[5..<(end - 1)])
    switch inner {
    case 23:
      if !body.isEmpty { delegate?.stream(self, didReceive: body) }
      return !closed
    case 22:
      return handlePostHandshake(body)
    case 21:
      if body.count == 2 && body[1] == 0 {  // close_notify: answer and close
        if !closing { sendNativeAlert(close: true) }
        closing = true
        transport.close()
      } else {
        transport.abort(.tls("peer sent alert \(body.count == 2 ? Int(body[1]) : -1)"))
      }
      return false
    default:
      failNative("unexpected inner content type \(inner)")
      return false
    }
  }

  /// NewSessionTicket (ignored: no resumption) and KeyUpdate (the read key moves on; when the
  /// peer asks, ours does too).
  func handlePostHandshake(_ body: UnsafeMutableRawBufferPointer) -> Bool {
    var off = 0
    while off + 4 <= body.count {
      let type = body[off]
      let len = Int(body[off + 1]) << 16 | Int(body[off + 2]) << 8 | Int(body[off + 3])
      guard off + 4 + len <= body.count else {
        failNative("handshake message split across records")
        return false
      }
      if type == 24 {  // key_update
        guard len == 1, opener?.update() == true else {
          failNative("bad KeyUpdate")
          return false
        }
        if body[off + 4] == 1 {  // update_requested: send ours, then move our write key
          let msg: [UInt8] = [24, 0, 0, 1, 0]
          do throws(WireError) {
            try sealNative(inner: 22, count: msg.count) { dst in
              msg.withUnsafeBytes { dst.copyMemory(from: $0) }
            }
          } catch {
            return false
          }
          guard sealer?.update() == true else {
            failNative("cannot update the write key")
            return false
          }
        }
      } else if type != 4 {  // anything but new_session_ticket is unexpected here
        failNative("unexpected post-handshake message \(type)")
        return false
      }
      off += 4 + len
    }
    return true
  }

  /// Application data out, in records of at most 16 KiB, sealed in place in the transport's
  /// outbound buffer.
  func writeNative(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) throws(WireError) {
    if count <= 16_384 {
      try sealNative(inner: 23, count: count, fill)
      return
    }
    // Larger: build the plaintext once, then cut it into records.
    if scratch.count < count {
      scratch.deallocate()
      scratch = .allocate(byteCount: count, alignment: 64)
    }
    fill(UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count]))
    var off = 0
    while off < count {
      let n = min(16_384, count - off)
      let src = UnsafeRawBufferPointer(rebasing: scratch[off..<(off + n)])
      try sealNative(inner: 23, count: n) { $0.copyMemory(from: src) }
      off += n
    }
  }

  func sealNative(inner: UInt8, count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) throws(WireError)
  {
    guard let sealer else { throw .tls("no record cipher") }
    let length = count + 1 + 16
    var ok = true
    try transport.write(count: 5 + length) { rec in
      rec[0] = 23
      rec[1] = 3
      rec[2] = 3
      rec[3] = UInt8(length >> 8)
      rec[4] = UInt8(length & 0xFF)
      fill(UnsafeMutableRawBufferPointer(rebasing: rec[5..<(5 + count)]))
      rec[5 + count] = inner
      ok = sealer.seal(rec)
    }
    if !ok { throw .tls("record encryption failed") }
  }

  func sendNativeAlert(close: Bool) {
    try? sealNative(inner: 21, count: 2) { b in
      b[0] = 1  // warning
      b[1] = 0  // close_notify
    }
  }

  func failNative(_ message: String) {
    if closed { return }
    transport.abort(.tls(message))
  }
}
