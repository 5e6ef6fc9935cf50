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
    guard SSL_CTX_use_certificate_chain_file(c, certificateFile) == 1 else {
      throw .tls("cannot load certificate \(certificateFile): \(TLSContext.lastError())")
    }
    guard SSL_CTX_use_PrivateKey_file(c, keyFile, SSL_FILETYPE_PEM) == 1, SSL_CTX_check_private_key(c) == 1
    else {
      throw .tls("cannot load private key \(keyFile): \(TLSContext.lastError())")
    }
  }

  deinit { SSL_CTX_free(ctx) }

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
      parts.append(String(cString: buf))
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
    plain.deallocate()
    scratch.deallocate()
  }

  public var isOpen: Bool { handshakeDone && !closing && !closed && transport.isOpen }

  /// The negotiated protocol ("TLSv1.3").
  public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

  // MARK: transport events

  public func streamDidOpen(_ stream: any ByteStream) {
    if context.role == .client { advanceHandshake() }
  }

  public func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
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
      delegate?.streamDidOpen(self)
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
    // Plaintext must pass through SSL_write: fill the scratch area, then encrypt it.
    if scratch.count < count {
      scratch.deallocate()
      scratch = .allocate(byteCount: count, alignment: 64)
    }
    fill(UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count]))
    try write(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
  }

  /// Sends close_notify, then closes the transport.
  public func close() {
    if closing || closed { return }
    closing = true
    if handshakeDone {
      _ = SSL_shutdown(ssl)
      flushToNetwork()
    }
    transport.close()
  }

  public func abort(_ error: WireError) { transport.abort(error) }
}
