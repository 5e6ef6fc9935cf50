/// Bad input from a venue, as a connector reports it: counted at once, and — when a side thread
/// is attached — logged there. The wire thread never formats text: a report is a `SideRecord`
/// carrying the kind, what the connector did about it, the message's length and its first 16
/// bytes; `ProblemLog.describe` turns it into a line on the side thread.
public enum ProblemKind: UInt32, CaseIterable, Sendable {
  /// A market-stream message (depth diff, trade…) that did not decode.
  case malformedMarketMessage = 1
  /// A depth snapshot (REST) that did not decode.
  case malformedSnapshot
  /// A user-data event (or an answer on the user-data socket) that could not be read.
  case malformedUserEvent
  /// A REST answer with status 200 whose body is not what the endpoint returns.
  case malformedRESTBody
  /// An answer to a WebSocket API order request that could not be read.
  case malformedOrderAnswer

  public var label: String {
    switch self {
    case .malformedMarketMessage: "malformed market-stream message"
    case .malformedSnapshot: "malformed depth snapshot"
    case .malformedUserEvent: "malformed user-data event"
    case .malformedRESTBody: "malformed REST response body"
    case .malformedOrderAnswer: "malformed order answer"
    }
  }
}

/// What the connector did about a problem (said in the log line, so an operator sees the
/// consequence, not only the symptom).
public enum ProblemAction: UInt64, Sendable {
  case ignored = 0
  /// The book was reset and a snapshot requested: it is rebuilt, never patched.
  case bookResync
  /// The snapshot is fetched again.
  case snapshotRetry
  /// Order state may have missed an event: orders are reconciled with the venue.
  case reconcileOrders
  /// The request's outcome is unknown; a status query settles it.
  case outcomeUnknown

  public var label: String {
    switch self {
    case .ignored: "ignored"
    case .bookResync: "book reset, snapshot requested"
    case .snapshotRetry: "snapshot requested again"
    case .reconcileOrders: "orders to be reconciled with the venue"
    case .outcomeUnknown: "outcome unknown until a status query"
    }
  }
}

/// One connector's (or one engine's) problem counters and log hook. Single-threaded: it belongs
/// to the thread the connector runs on, like the connector.
public final class ProblemLog {
  /// `SideRecord.code` of a problem report.
  public static let recordCode: UInt32 = 0x5052_0000  // "PR"
  var counts = [Int](repeating: 0, count: ProblemKind.allCases.count + 1)
  /// Where reports go (a `SideThread.post` of the connector's thread); nil: counted only.
  public var post: ((SideRecord) -> Void)?

  public init(post: ((SideRecord) -> Void)? = nil) { self.post = post }

  public subscript(_ kind: ProblemKind) -> Int { counts[Int(kind.rawValue)] }
  public var total: Int { counts.reduce(0, +) }

  /// Counts the problem and posts a record (no allocation: the record is copied into the ring).
  public func report(_ kind: ProblemKind, _ action: ProblemAction, message: UnsafeRawBufferPointer) {
    counts[Int(kind.rawValue)] &+= 1
    guard let post else { return }
    var head = (Int64(0), Int64(0))
    withUnsafeMutableBytes(of: &head) { dst in
      let n = min(16, message.count)
      if n > 0 { dst.baseAddress!.copyMemory(from: message.baseAddress!, byteCount: n) }
    }
    post(
      SideRecord(
        code: Self.recordCode | kind.rawValue, tag: action.rawValue, a: Int64(message.count), b: head.0,
        c: head.1))
  }

  public func report(_ kind: ProblemKind, _ action: ProblemAction, message: [UInt8]) {
    message.withUnsafeBytes { report(kind, action, message: $0) }
  }

  /// The log line for a problem record (nil when the record is not one): kind, length, the first
  /// bytes (control and non-ASCII bytes shown as "."), and what was done about it.
  public static func describe(_ r: SideRecord) -> String? {
    guard r.code & 0xFFFF_0000 == recordCode, let kind = ProblemKind(rawValue: r.code & 0xFFFF) else {
      return nil
    }
    var head = (r.b, r.c)
    let shown = withUnsafeBytes(of: &head) { raw in
      String(
        decoding: raw.prefix(Int(min(16, max(0, r.a)))).map {
          $0 >= 0x20 && $0 < 0x7F ? $0 : UInt8(ascii: ".")
        },
        as: UTF8.self)
    }
    let action = ProblemAction(rawValue: r.tag)?.label ?? "action \(r.tag)"
    let more = r.a > 16 ? "…" : ""
    return "\(kind.label) (\(r.a) bytes, starting \"\(shown)\(more)\"): \(action)"
  }
}
