import Glibc

/// What went wrong on a connection. Typed, with the errno where the kernel said no, and whether
/// retrying (reconnecting) may help.
public enum WireError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A syscall or io_uring operation failed with this errno.
  case system(op: String, errno: Int32)
  case connectTimeout
  case connectionRefused
  case connectionReset
  /// The peer closed the connection (EOF) where more was expected.
  case closedByPeer
  /// No data (nor pong) within the idle or ping timeout: a half-open connection.
  case idleTimeout
  case http(HTTPParseError)
  case webSocket(WebSocketProtocolError)
  /// The WebSocket handshake was refused or malformed.
  case handshake(String)
  case tls(String)
  case addressInvalid(String)
  /// The outbound buffer would exceed its limit (a peer that does not read).
  case sendBufferFull(limit: Int)
  /// The event loop is shutting down.
  case shutdown
  /// No response within the request's timeout.
  case requestTimeout

  public var isRetriable: Bool {
    switch self {
    case .connectTimeout, .connectionRefused, .connectionReset, .closedByPeer, .idleTimeout, .system,
      .requestTimeout:
      true
    default: false
    }
  }

  public var description: String {
    switch self {
    case .system(let op, let e): "\(op) failed: \(String(cString: strerror(e))) (errno \(e))"
    case .connectTimeout: "connect timed out"
    case .connectionRefused: "connection refused"
    case .connectionReset: "connection reset by peer"
    case .closedByPeer: "connection closed by peer"
    case .idleTimeout: "no data from the peer within the timeout (half-open connection?)"
    case .http(let e): "HTTP: \(e)"
    case .webSocket(let e): "WebSocket: \(e)"
    case .handshake(let s): "WebSocket handshake: \(s)"
    case .tls(let s): "TLS: \(s)"
    case .addressInvalid(let s): "invalid address \(s)"
    case .sendBufferFull(let l): "send buffer over its \(l)-byte limit"
    case .shutdown: "event loop shut down"
    case .requestTimeout: "no response within the request timeout"
    }
  }

  static func from(op: String, errno e: Int32) -> WireError {
    switch e {
    case ECONNREFUSED: .connectionRefused
    case ECONNRESET, EPIPE: .connectionReset
    case ETIMEDOUT, ECANCELED: .connectTimeout
    default: .system(op: op, errno: e)
    }
  }
}
