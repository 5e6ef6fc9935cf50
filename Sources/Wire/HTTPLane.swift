import CPlatform

/// What an `HTTPLane` tells its owner.
public protocol HTTPLaneDelegate: AnyObject {
  /// The answer to the request in flight: read it from `lane.response` now (status, fields, body);
  /// its buffers are reused by the next answer. The lane is free again (a new request may be sent
  /// from here).
  func laneAnswered(_ lane: HTTPLane)
  /// The request in flight got no whole answer (a timeout, a dropped or refused connection, a
  /// malformed response): its effect is unknown. The lane is free again.
  func lane(_ lane: HTTPLane, failed error: WireError)
}

/// An HTTP/1.1 client for a hot loop's occasional requests — a trading engine's reconciliation
/// on its wire thread: one keep-alive connection, one request at a time, the request written by
/// the caller straight into the lane's buffer and the answer read in place
/// (`HTTPParser.inPlaceResponses`). Once the connection is up and the buffers have grown to the
/// largest answer, a request and its answer allocate nothing (`HTTPClient`, with its queue,
/// closures and heads of Strings, is for everything else).
///
/// Timeouts are noticed by `poll(now:)`, which the owner's loop calls every turn (one comparison
/// while nothing is overdue): no timer is armed per request.
public final class HTTPLane: ByteStreamDelegate {
  public let loop: EventLoop
  public let host: String
  public let port: UInt16
  let tls: TLSContext?
  let serverName: String
  public weak var delegate: (any HTTPLaneDelegate)?
  /// The last answer, read in place.
  public private(set) var response: HTTPParser
  var stream: (any ByteStream)?
  let request: UnsafeMutableRawPointer
  /// The request buffer's size: a request that does not fit is not sent.
  public let capacity: Int
  var requestBytes = 0
  /// A request is in flight (sent, or waiting for its connection to open).
  public private(set) var busy = false
  var written = false
  var deadline = Int64.max
  /// Whether the current connection got as far as open.
  var opened = false
  public private(set) var connectionsOpened = 0
  public private(set) var answers = 0
  public private(set) var failures = 0
  public private(set) var timeouts = 0
  /// Time is read on this (monotonic ns, as `poll(now:)` is given).
  let nowNs: () -> Int64

  /// `serverName` is the TLS name to verify (defaults to `host`); answers up to
  /// `limits.maxBodyBytes`, `bodyCapacity` of it reserved at once.
  public init(
    loop: EventLoop, host: String, port: UInt16, tls: TLSContext? = nil, serverName: String? = nil,
    capacity: Int = 8192, limits: HTTPLimits = HTTPLimits(), bodyCapacity: Int = 1 << 18,
    nowNs: @escaping () -> Int64 = { cplat_now_ns() }
  ) {
    self.loop = loop
    self.host = host
    self.port = port
    self.tls = tls
    self.serverName = serverName ?? host
    self.capacity = capacity
    self.nowNs = nowNs
    request = .allocate(byteCount: capacity, alignment: 64)
    response = .inPlaceResponses(limits: limits, bodyCapacity: bodyCapacity)
  }

  deinit { request.deallocate() }

  /// The `Host` field's value this lane's requests must carry.
  public var hostField: String { port == 443 || port == 80 ? serverName : "\(serverName):\(port)" }

  /// Sends one request: `write` puts its bytes (request line, fields, blank line, body) at the
  /// start of the lane's buffer of `capacity` bytes and returns how many. The answer is due
  /// within `timeoutNs`. False (nothing sent, the delegate not called) while busy or when the
  /// request is empty or overflows.
  @discardableResult
  public func send(timeoutNs: Int64, _ write: (UnsafeMutableRawBufferPointer) -> Int) -> Bool {
    guard !busy else { return false }
    let n = write(UnsafeMutableRawBufferPointer(start: request, count: capacity))
    guard n > 0, n <= capacity else { return false }
    requestBytes = n
    busy = true
    written = false
    deadline = nowNs() &+ timeoutNs
    if let s = stream, s.isOpen {
      writeRequest(on: s)
    } else if stream == nil {
      connect()
    }
    return true
  }

  /// Fails the request in flight when its answer is overdue at `now` (the connection it was on
  /// is dropped: its state is unknown).
  @inline(__always)
  public func poll(now: Int64) {
    guard busy, now >= deadline else { return }
    timeouts += 1
    drop(.requestTimeout)
    fail(.requestTimeout)
  }

  /// Lets go of the connection before the owner hears of it: a request it sends from the
  /// callback goes out on a new connection, not on this one.
  func drop(_ e: WireError) {
    let s = stream
    stream = nil
    s?.abort(e)
  }

  /// Closes the connection; a request in flight fails with `.shutdown`.
  public func close() {
    let s = stream
    stream = nil
    s?.close()
    if busy { fail(.shutdown) }
  }

  func writeRequest(on s: any ByteStream) {
    written = true
    response.startOver()
    do throws(WireError) {
      try s.write(UnsafeRawBufferPointer(start: request, count: requestBytes))
      loop.submitNow()
    } catch {
      if stream === s { drop(error) } else { s.abort(error) }
      fail(error)
    }
  }

  func connect() {
    opened = false
    do throws(WireError) {
      stream = try TCPConnection.openStream(
        loop: loop, host: host, port: port, tls: tls, serverName: serverName, delegate: self
      ).stream
      connectionsOpened += 1
    } catch {
      fail(error)
    }
  }

  func fail(_ e: WireError) {
    guard busy else { return }
    busy = false
    failures += 1
    delegate?.lane(self, failed: e)
  }

  func answered() {
    busy = false
    answers += 1
    delegate?.laneAnswered(self)
  }

  // MARK: ByteStreamDelegate

  public func streamDidOpen(_ stream: any ByteStream) {
    opened = true
    if busy && !written { writeRequest(on: stream) }
  }

  public func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
    var rest = UnsafeRawBufferPointer(bytes)
    while !rest.isEmpty {
      do throws(HTTPParseError) {
        let (used, event) = try response.consume(rest)
        rest = UnsafeRawBufferPointer(rebasing: rest[used...])
        guard case .inPlace(let status)? = event else { continue }
        if status >= 100 && status < 200 { continue }  // interim responses
        guard busy else {
          // An answer nobody asked for: the connection is out of step.
          stream.abort(.http(.badStartLine))
          return
        }
        if response.closeAfter {
          // The server ends the connection after this answer: a new one for the next request.
          if self.stream === stream { self.stream = nil }
          stream.close()
          answered()
          return
        }
        answered()
      } catch {
        if self.stream === stream { drop(.http(error)) } else { stream.abort(.http(error)) }
        fail(.http(error))
        return
      }
    }
  }

  public func streamDidClose(_ stream: any ByteStream, error: WireError?) {
    guard self.stream === stream else { return }
    self.stream = nil
    if busy {
      if written, case .inPlace? = response.finishAtClose() {
        answered()
      } else if !written && opened {
        // Closed between requests (a keep-alive that ended): the waiting request on a new one.
        connect()
      } else {
        fail(error ?? .closedByPeer)
      }
    }
  }
}

extension TCPConnection {
  /// A client connection to `host:port` — under TLS, verified against `serverName`, when `tls` is
  /// given — with `delegate` on the stream to read and write (the TLS stream when there is one).
  static func openStream(
    loop: EventLoop, host: String, port: UInt16, tls: TLSContext?, serverName: String,
    delegate: any ByteStreamDelegate
  ) throws(WireError) -> (stream: any ByteStream, tcp: TCPConnection) {
    let c = try TCPConnection.connect(loop: loop, host: host, port: port, delegate: nil)
    guard let tls else {
      c.delegate = delegate
      return (c, c)
    }
    let t = try TLSStream(tls, over: c, hostName: serverName)
    t.delegate = delegate
    return (t, c)
  }
}
