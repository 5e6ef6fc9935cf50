import CPlatform

/// An HTTP/1.1 client on the event loop: one connection kept alive and reused, requests sent one
/// at a time in order, content-length and chunked bodies, response headers exposed (rate-limit
/// headers matter), and a timeout per request. A request that times out fails with
/// `.requestTimeout`, and the connection it was on is dropped (its state is unknown); the next
/// request opens a new one.
public final class HTTPClient: ByteStreamDelegate {
  public typealias Response = (head: HTTPResponseHead, body: [UInt8])
  public typealias Completion = (Result<Response, WireError>) -> Void

  struct Pending {
    var head: HTTPRequestHead
    var body: [UInt8]
    var timeoutNs: Int64
    var completion: Completion
  }

  public let loop: EventLoop
  public let host: String
  public let port: UInt16
  let tls: TLSContext?
  let serverName: String
  var stream: (any ByteStream)?
  var tcp: TCPConnection?
  var parser = HTTPParser(kind: .response)
  var queue: [Pending] = []
  var inFlight: Pending?
  var timer: UInt64?
  var connected = false
  /// Whether the current connection got as far as open (a close before that is a failed connect).
  var opened = false
  public private(set) var connectionsOpened = 0
  public private(set) var requestsCompleted = 0

  /// `serverName` is the TLS name to verify (defaults to `host`).
  public init(loop: EventLoop, host: String, port: UInt16, tls: TLSContext? = nil, serverName: String? = nil)
  {
    self.loop = loop
    self.host = host
    self.port = port
    self.tls = tls
    self.serverName = serverName ?? host
  }

  /// Queues a request. `Host` and `Content-Length` are added when missing.
  public func request(
    _ head: HTTPRequestHead, body: [UInt8] = [], timeoutNs: Int64 = 10_000_000_000,
    _ completion: @escaping Completion
  ) {
    var h = head
    if h.headers["host"] == nil {
      h.headers.add("Host", port == 443 || port == 80 ? serverName : "\(serverName):\(port)")
    }
    queue.append(Pending(head: h, body: body, timeoutNs: timeoutNs, completion: completion))
    pump()
  }

  /// Closes the connection; queued requests fail with `.shutdown`.
  public func close() {
    let q = queue
    queue = []
    if let p = inFlight {
      inFlight = nil
      p.completion(.failure(.shutdown))
    }
    for p in q { p.completion(.failure(.shutdown)) }
    stream?.close()
  }

  func pump() {
    guard inFlight == nil, !queue.isEmpty else { return }
    guard let s = stream, s.isOpen else {
      if stream == nil { connect() }
      return
    }
    let p = queue.removeFirst()
    inFlight = p
    parser = HTTPParser(kind: .response)
    parser.expectingHeadResponse = p.head.method == "HEAD"
    timer = loop.schedule(after: p.timeoutNs) { [weak self] in self?.timedOut() }
    do throws(WireError) {
      try s.write(HTTPWriter.request(p.head, body: p.body))
    } catch {
      finish(.failure(error))
      s.abort(error)
    }
  }

  func connect() {
    opened = false
    do throws(WireError) {
      let (s, c) = try TCPConnection.openStream(
        loop: loop, host: host, port: port, tls: tls, serverName: serverName, delegate: self)
      tcp = c
      stream = s
      connectionsOpened += 1
    } catch {
      let q = queue
      queue = []
      for p in q { p.completion(.failure(error)) }
    }
  }

  func timedOut() {
    timer = nil
    guard inFlight != nil else { return }
    finish(.failure(.requestTimeout))
    stream?.abort(.requestTimeout)
  }

  func finish(_ r: Result<Response, WireError>) {
    if let t = timer {
      loop.cancelTimer(t)
      timer = nil
    }
    guard let p = inFlight else { return }
    inFlight = nil
    if case .success = r { requestsCompleted += 1 }
    p.completion(r)
  }

  // MARK: ByteStreamDelegate

  public func streamDidOpen(_ stream: any ByteStream) {
    opened = true
    pump()
  }

  public func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
    var rest = UnsafeRawBufferPointer(bytes)
    while !rest.isEmpty {
      do throws(HTTPParseError) {
        let (used, event) = try parser.consume(rest)
        rest = UnsafeRawBufferPointer(rebasing: rest[used...])
        guard case .response(let head, let body)? = event else { continue }
        if head.status >= 100 && head.status < 200 { continue }  // interim responses
        let closeAfter = parser.closeAfter
        finish(.success((head, body)))
        if closeAfter {
          stream.close()
          return
        }
        pump()
      } catch {
        finish(.failure(.http(error)))
        stream.abort(.http(error))
        return
      }
    }
  }

  public func streamDidClose(_ stream: any ByteStream, error: WireError?) {
    guard self.stream === stream else { return }
    self.stream = nil
    tcp = nil
    if inFlight != nil {
      if let ev = parser.finishAtClose(), case .response(let head, let body) = ev {
        finish(.success((head, body)))
      } else {
        finish(.failure(error ?? .closedByPeer))
      }
    }
    guard !queue.isEmpty else { return }
    if opened {
      // A connection that worked and was closed (keep-alive ended, HTTP/1.0): a new one for the
      // requests still queued.
      connect()
    } else {
      // It never opened (refused, unreachable, TLS handshake failed): the queued requests fail
      // with that error instead of retrying in a loop; the caller decides when to try again.
      let q = queue
      queue = []
      for p in q { p.completion(.failure(error ?? .closedByPeer)) }
    }
  }
}

/// Exponential backoff with full jitter for reconnects: attempt n waits a random time in
/// [0, min(cap, base·2ⁿ)], so a fleet of clients does not reconnect in lockstep.
public struct Backoff: Sendable {
  public let baseNs: Int64
  public let capNs: Int64
  public private(set) var attempt = 0
  var rng: UInt64

  public init(
    baseNs: Int64 = 100_000_000, capNs: Int64 = 30_000_000_000, seed: UInt64 = 0x9E37_79B9_7F4A_7C15
  ) {
    self.baseNs = baseNs
    self.capNs = capNs
    rng = seed | 1
  }

  /// The delay before the next attempt.
  public mutating func next() -> Int64 {
    let shift = min(attempt, 40)
    let ceiling = min(capNs, baseNs << Int64(shift) > 0 ? baseNs << Int64(shift) : capNs)
    attempt += 1
    rng ^= rng << 13
    rng ^= rng >> 7
    rng ^= rng << 17
    return Int64(rng % UInt64(ceiling + 1))
  }

  /// After a connection that worked: start again from the base.
  public mutating func reset() { attempt = 0 }
}
