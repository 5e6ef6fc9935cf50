/// An HTTP/1.1 server on the event loop (keep a reference to it for as long as it should serve:
/// the loop does not own it): request parsing with limits, keep-alive, pipelining, and
/// a routing hook. Bad requests get their status (400, 413, 431, 505, ...) and a closed
/// connection; the server and its other connections carry on.
public final class HTTPServer {
  public typealias Handler = (HTTPRequestHead, [UInt8]) -> (HTTPResponseHead, [UInt8])
  /// Answers later (a delayed response), or never: `nil` closes the connection without a response
  /// (what a lost response looks like to the client).
  public typealias DeferredHandler = (
    HTTPRequestHead, [UInt8], @escaping ((HTTPResponseHead, [UInt8])?) -> Void
  ) -> Void

  /// When set, requests go here instead of `handler`. Responses still leave in request order:
  /// a connection reads no further request while one is pending.
  public var deferredHandler: DeferredHandler?

  let loop: EventLoop
  let listener: TCPListener
  let handler: Handler
  let limits: HTTPLimits
  var connections: [ObjectIdentifier: ServerConnection] = [:]
  public var port: UInt16 { listener.port }
  /// Requests refused as malformed or over a limit.
  public private(set) var badRequests = 0
  public private(set) var requestsServed = 0
  /// Takes connections that ask for a WebSocket upgrade (they leave the HTTP server); return false
  /// to refuse (the handler then answers the request as usual).
  public var onUpgrade: ((any ByteStream, HTTPRequestHead) -> Bool)?

  public init(
    loop: EventLoop, host: String = "127.0.0.1", port: UInt16 = 0, limits: HTTPLimits = HTTPLimits(),
    tls: TLSContext? = nil, handler: @escaping Handler
  ) throws(WireError) {
    self.loop = loop
    self.handler = handler
    self.limits = limits
    var accept: ((TCPConnection) -> Void)?
    listener = try TCPListener(loop: loop, host: host, port: port) { c in accept?(c) }
    accept = { [unowned self] c in
      var stream: any ByteStream = c
      if let tls {
        guard let t = try? TLSStream(tls, over: c) else {
          c.abort(.tls("cannot create a TLS session"))
          return
        }
        stream = t
      }
      let sc = ServerConnection(server: self, stream: stream, tcp: c)
      self.connections[ObjectIdentifier(sc)] = sc
    }
  }

  public var openConnections: Int { connections.count }

  public func close() {
    listener.close()
    for c in connections.values { c.stream.close() }
  }

  final class ServerConnection: ByteStreamDelegate {
    unowned let server: HTTPServer
    let stream: any ByteStream
    let tcp: TCPConnection
    var parser: HTTPParser
    /// A deferred response is pending; bytes that arrive meanwhile wait in `queued`.
    var waiting = false
    var queued: [UInt8] = []
    init(server: HTTPServer, stream: any ByteStream, tcp: TCPConnection) {
      self.server = server
      self.stream = stream
      self.tcp = tcp
      parser = HTTPParser(kind: .request, limits: server.limits)
      stream.delegate = self
    }
    func streamDidOpen(_ stream: any ByteStream) {}
    func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
      if waiting {
        queued += bytes
        return
      }
      var rest = UnsafeRawBufferPointer(bytes)
      while !rest.isEmpty {
        let used: Int
        let event: HTTPParser.Event?
        do {
          (used, event) = try parser.consume(rest)
        } catch {
          server.badRequests += 1
          try? self.stream.write(
            HTTPWriter.response(
              HTTPResponseHead(status: error.status, headers: HTTPHeaders([("Connection", "close")])),
              body: Array("\(error)\n".utf8)))
          self.stream.close()
          return
        }
        rest = UnsafeRawBufferPointer(rebasing: rest[used...])
        guard case .request(let head, let body)? = event else { continue }
        if head.headers["upgrade"]?.lowercased() == "websocket", let up = server.onUpgrade {
          if up(self.stream, head) {
            server.connections[ObjectIdentifier(self)] = nil
            return
          }
        }
        if let deferred = server.deferredHandler {
          waiting = true
          var insideCall = true
          var closedInside = false
          let leftover = Array(rest)
          deferred(head, body) { [weak self] answer in
            guard let self else { return }
            self.waiting = false
            guard let answer else {
              closedInside = true
              self.stream.abort(.closedByPeer)
              return
            }
            if self.respond(head, answer) {
              closedInside = true
              return
            }
            // Answered at once: the reading loop below goes on with the rest itself.
            if insideCall { return }
            if !leftover.isEmpty || !self.queued.isEmpty {
              var more = self.queued + leftover
              self.queued = []
              more.withUnsafeMutableBytes { self.stream(self.stream, didReceive: $0) }
            }
          }
          insideCall = false
          if closedInside { return }
          if waiting {
            return  // bytes after this request wait until it is answered (kept in `leftover`)
          }
          continue
        }
        if respond(head, server.handler(head, body)) { return }
      }
    }

    /// Writes a response; true when the connection closes after it.
    func respond(_ head: HTTPRequestHead, _ answer: (HTTPResponseHead, [UInt8])) -> Bool {
      var h = answer.0
      let close = head.headers["connection"]?.lowercased() == "close" || head.version == "HTTP/1.0"
      if close && h.headers["connection"] == nil { h.headers.add("Connection", "close") }
      try? stream.write(HTTPWriter.response(h, body: head.method == "HEAD" ? [] : answer.1))
      server.requestsServed += 1
      if close { stream.close() }
      return close
    }

    func streamDidClose(_ stream: any ByteStream, error: WireError?) {
      server.connections[ObjectIdentifier(self)] = nil
    }
  }
}
