/// A WebSocket client that comes back: when the connection drops (error, peer close, idle
/// timeout) it reconnects after an exponential backoff with full jitter, and tells its owner
/// each time it is open again — the moment a connector resubscribes and resyncs its books.
/// `close()` stops it for good.
public final class ReconnectingWebSocket: WebSocketDelegate {
  public struct Target: Sendable {
    public var host: String
    public var port: UInt16
    public var path: String
    /// The TLS server name to verify; nil for plain TCP.
    public var tlsServerName: String?
    public init(host: String, port: UInt16, path: String = "/", tlsServerName: String? = nil) {
      self.host = host
      self.port = port
      self.path = path
      self.tlsServerName = tlsServerName
    }
  }

  let loop: EventLoop
  public let target: Target
  let tls: TLSContext?
  var backoff: Backoff
  let pingIntervalNs: Int64
  let idleTimeoutNs: Int64
  public private(set) var socket: WebSocket?
  var stopped = false
  public private(set) var connects = 0
  public private(set) var disconnects = 0
  public private(set) var lastError: WireError?
  /// Called on each open (first and after every reconnect).
  public var onOpen: ((WebSocket) -> Void)?
  public var onMessage: ((WebSocketOpcode, UnsafeRawBufferPointer) -> Void)?
  /// Called on each drop, with the delay before the next attempt.
  public var onDisconnect: ((WireError?, Int64) -> Void)?

  public init(
    loop: EventLoop, target: Target, tls: TLSContext? = nil, backoff: Backoff = Backoff(),
    pingIntervalNs: Int64 = 20_000_000_000, idleTimeoutNs: Int64 = 60_000_000_000
  ) {
    self.loop = loop
    self.target = target
    self.tls = tls
    self.backoff = backoff
    self.pingIntervalNs = pingIntervalNs
    self.idleTimeoutNs = idleTimeoutNs
  }

  /// Connects (again, after `close`): a closed socket can be restarted.
  public func start() {
    stopped = false
    dial()
  }

  public func close() {
    stopped = true
    socket?.close()
  }

  func dial() {
    guard !stopped else { return }
    do throws(WireError) {
      let c = try TCPConnection.connect(loop: loop, host: target.host, port: target.port, delegate: nil)
      var stream: any ByteStream = c
      if let tls { stream = try TLSStream(tls, over: c, hostName: target.tlsServerName ?? target.host) }
      let ws = WebSocket(
        client: stream, host: "\(target.tlsServerName ?? target.host):\(target.port)", path: target.path)
      ws.delegate = self
      socket = ws
    } catch {
      scheduleRetry(error)
    }
  }

  func scheduleRetry(_ error: WireError?) {
    disconnects += 1
    lastError = error
    socket = nil
    guard !stopped else { return }
    let delay = backoff.next()
    onDisconnect?(error, delay)
    loop.schedule(after: delay) { [weak self] in self?.dial() }
  }

  public func webSocketDidOpen(_ ws: WebSocket) {
    connects += 1
    backoff.reset()
    ws.keepAlive(loop: loop, intervalNs: pingIntervalNs, timeoutNs: idleTimeoutNs)
    onOpen?(ws)
  }

  public func webSocket(_ ws: WebSocket, didReceive opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer)
  {
    onMessage?(opcode, payload)
  }

  public func webSocketDidClose(_ ws: WebSocket, code: UInt16, error: WireError?) {
    guard ws === socket else { return }
    scheduleRetry(error ?? .closedByPeer)
  }
}
