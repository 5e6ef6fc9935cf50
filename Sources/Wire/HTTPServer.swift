/// An HTTP/1.1 server on the event loop: request parsing with limits, keep-alive, pipelining, and
/// a routing hook. Bad requests get their status (400, 413, 431, 505, ...) and a closed
/// connection; the server and its other connections carry on.
public final class HTTPServer {
  public typealias Handler = (HTTPRequestHead, [UInt8]) -> (HTTPResponseHead, [UInt8])

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
    init(server: HTTPServer, stream: any ByteStream, tcp: TCPConnection) {
      self.server = server
      self.stream = stream
      self.tcp = tcp
      parser = HTTPParser(kind: .request, limits: server.limits)
      stream.delegate = self
    }
    func streamDidOpen(_ stream: any ByteStream) {}
    func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer) {
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
        let (resp, respBody) = server.handler(head, body)
        var h = resp
        let close = head.headers["connection"]?.lowercased() == "close" || head.version == "HTTP/1.0"
        if close && h.headers["connection"] == nil { h.headers.add("Connection", "close") }
        try? self.stream.write(HTTPWriter.response(h, body: head.method == "HEAD" ? [] : respBody))
        server.requestsServed += 1
        if close {
          self.stream.close()
          return
        }
      }
    }
    func streamDidClose(_ stream: any ByteStream, error: WireError?) {
      server.connections[ObjectIdentifier(self)] = nil
    }
  }
}
