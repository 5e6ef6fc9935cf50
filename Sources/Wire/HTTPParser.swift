/// An incremental HTTP/1.1 message parser (requests for the server, responses for the client)
/// with hard limits, so a hostile peer gets a clear error and a closed connection, never an
/// unbounded buffer.
///
/// Feed bytes with `consume`; it returns how many it used and reports a finished message once
/// its head and whole body (content-length, chunked, or until close for responses) are in.
public struct HTTPLimits: Sendable {
  public var maxHeadBytes = 16 * 1024
  public var maxHeaders = 100
  public var maxBodyBytes = 8 * 1024 * 1024
  public init() {}
}

public enum HTTPParseError: Error, Equatable, Sendable, CustomStringConvertible {
  case headTooLarge(limit: Int)
  case tooManyHeaders(limit: Int)
  case badStartLine
  case badHeader
  case badVersion
  case badContentLength
  case badChunk
  case bodyTooLarge(limit: Int)
  case conflictingLength
  case unsupportedTransferEncoding

  /// The status a server answers with before closing.
  public var status: Int {
    switch self {
    case .headTooLarge, .tooManyHeaders: 431
    case .bodyTooLarge: 413
    case .badVersion: 505
    case .unsupportedTransferEncoding: 501
    default: 400
    }
  }

  public var description: String {
    switch self {
    case .headTooLarge(let l): "request/response head larger than \(l) bytes"
    case .tooManyHeaders(let l): "more than \(l) header fields"
    case .badStartLine: "malformed start line"
    case .badHeader: "malformed header field"
    case .badVersion: "not HTTP/1.0 or HTTP/1.1"
    case .badContentLength: "invalid Content-Length"
    case .badChunk: "malformed chunked body"
    case .bodyTooLarge(let l): "body larger than \(l) bytes"
    case .conflictingLength: "both Content-Length and Transfer-Encoding, or several lengths"
    case .unsupportedTransferEncoding: "unsupported Transfer-Encoding"
    }
  }
}

/// Header fields in arrival order; names compare case-insensitively.
public struct HTTPHeaders: Sendable, Equatable, Sequence {
  public var fields: [(name: String, value: String)] = []
  public init(_ fields: [(String, String)] = []) { self.fields = fields.map { (name: $0.0, value: $0.1) } }
  public subscript(name: String) -> String? {
    let l = name.lowercased()
    return fields.first { $0.name.lowercased() == l }?.value
  }
  public func all(_ name: String) -> [String] {
    let l = name.lowercased()
    return fields.filter { $0.name.lowercased() == l }.map(\.value)
  }
  public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }
  public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
  public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
    a.fields.count == b.fields.count
      && zip(a.fields, b.fields).allSatisfy { $0.name == $1.name && $0.value == $1.value }
  }
}

public struct HTTPRequestHead: Sendable, Equatable {
  public var method: String
  public var target: String
  public var version: String
  public var headers: HTTPHeaders
  public init(
    method: String, target: String, version: String = "HTTP/1.1", headers: HTTPHeaders = HTTPHeaders()
  ) {
    self.method = method
    self.target = target
    self.version = version
    self.headers = headers
  }
  public var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }
  public var query: String? { target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) } }
}

public struct HTTPResponseHead: Sendable, Equatable {
  public var version: String
  public var status: Int
  public var reason: String
  public var headers: HTTPHeaders
  public init(
    status: Int, reason: String = "", version: String = "HTTP/1.1", headers: HTTPHeaders = HTTPHeaders()
  ) {
    self.version = version
    self.status = status
    self.reason = reason
    self.headers = headers
  }
}

public struct HTTPParser: Sendable {
  public enum Kind: Sendable { case request, response }
  public enum Event: Sendable, Equatable {
    case request(HTTPRequestHead, body: [UInt8])
    case response(HTTPResponseHead, body: [UInt8])
    /// A response read in place: read it from the parser.
    case inPlace(status: Int)
  }

  public let kind: Kind
  public let limits: HTTPLimits
  /// For the client: the response to a HEAD request has no body.
  public var expectingHeadResponse = false

  enum BodyMode { case none, length(Int), chunked, untilClose }
  enum Phase { case head, body, chunkSize, chunkData(Int), chunkDataEnd, trailers }

  var phase: Phase = .head
  var head: [UInt8] = []
  var body: [UInt8] = []
  var mode: BodyMode = .none
  var requestHead: HTTPRequestHead?
  var responseHead: HTTPResponseHead?
  var line: [UInt8] = []
  /// Responses read in place (`inPlaceResponses`): no heads of Strings, buffers kept.
  public private(set) var inPlace = false
  /// The last head read (in place: for `headerInt`).
  var lastHead: [UInt8] = []
  /// The last response's status code.
  public private(set) var status = 0
  /// The last message asked for the connection to close after it (`Connection: close`, HTTP/1.0).
  public private(set) var closeAfter = false
  var isVersion10 = false

  public init(kind: Kind, limits: HTTPLimits = HTTPLimits()) {
    self.kind = kind
    self.limits = limits
  }

  /// True when no message is partly received (a clean point to close a keep-alive connection).
  public var isIdle: Bool {
    if case .head = phase { return head.isEmpty }
    return false
  }

  /// Consumes bytes; returns the number used and a message if one completed (call again with the
  /// rest: a pipelined message may follow).
  public mutating func consume(_ bytes: UnsafeRawBufferPointer) throws(HTTPParseError) -> (
    used: Int, event: Event?
  ) {
    var i = 0
    let n = bytes.count
    while i < n {
      switch phase {
      case .head:
        // Accumulate until CRLFCRLF.
        let c = bytes[i]
        head.append(c)
        i += 1
        if head.count > limits.maxHeadBytes { throw .headTooLarge(limit: limits.maxHeadBytes) }
        if c == 10 && head.count >= 2 {
          let k = head.count
          if (k >= 4 && head[k - 4] == 13 && head[k - 3] == 10 && head[k - 2] == 13)
            || (k >= 2 && head[k - 2] == 10)
          {
            // Ignore leading blank lines before a request (RFC 9112 §2.2).
            if head.allSatisfy({ $0 == 13 || $0 == 10 }) {
              head.removeAll(keepingCapacity: true)
              continue
            }
            try parseHead()
            head.removeAll(keepingCapacity: true)
            switch mode {
            case .none:
              return (i, finish())
            case .length(0):
              return (i, finish())
            case .length, .untilClose:
              phase = .body
            case .chunked:
              phase = .chunkSize
            }
          }
        }
      case .body:
        switch mode {
        case .length(let total):
          let take = min(total - body.count, n - i)
          body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + take)]))
          i += take
          if body.count == total { return (i, finish()) }
        case .untilClose:
          let take = n - i
          if body.count + take > limits.maxBodyBytes { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
          body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<n]))
          i = n
        default:
          i = n
        }
      case .chunkSize, .trailers, .chunkDataEnd:
        let c = bytes[i]
        i += 1
        line.append(c)
        if line.count > 4096 { throw .badChunk }
        guard c == 10 else { continue }
        let text = line.dropLast(line.count >= 2 && line[line.count - 2] == 13 ? 2 : 1)
        line.removeAll(keepingCapacity: true)
        if case .chunkDataEnd = phase {
          guard text.isEmpty else { throw .badChunk }
          phase = .chunkSize
          continue
        }
        if case .trailers = phase {
          if text.isEmpty { return (i, finish()) }
          continue  // trailer fields are read and ignored
        }
        let sizeText = text.prefix { $0 != UInt8(ascii: ";") }
        guard !sizeText.isEmpty, sizeText.count <= 15 else { throw .badChunk }
        var size = 0
        for ch in sizeText {
          guard let v = hexValue(ch) else { throw .badChunk }
          size = size * 16 + v
        }
        if size == 0 {
          phase = .trailers
        } else {
          if body.count + size > limits.maxBodyBytes { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
          phase = .chunkData(size)
        }
      case .chunkData(let remaining):
        let take = min(remaining, n - i)
        body.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<(i + take)]))
        i += take
        phase = remaining - take == 0 ? .chunkDataEnd : .chunkData(remaining - take)
      }
    }
    return (i, nil)
  }

  /// The peer closed: a response read until close is complete; anything else partial is an error.
  public mutating func finishAtClose() -> Event? {
    if case .body = phase, case .untilClose = mode { return finish() }
    return nil
  }

  func hexValue(_ c: UInt8) -> Int? {
    switch c {
    case 48...57: Int(c - 48)
    case 65...70: Int(c - 55)
    case 97...102: Int(c - 87)
    default: nil
    }
  }

  mutating func finish() -> Event? {
    defer {
      phase = .head
      if !inPlace { body = [] }
      mode = .none
      requestHead = nil
      responseHead = nil
    }
    if inPlace { return .inPlace(status: status) }
    switch kind {
    case .request: return requestHead.map { .request($0, body: body) }
    case .response: return responseHead.map { .response($0, body: body) }
    }
  }

  static func isTokenChar(_ c: UInt8) -> Bool {
    switch c {
    case 48...57, 65...90, 97...122: true
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
      UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
      UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
      true
    default: false
    }
  }

  /// Reads the head in place (no allocation): the start line, every field checked, the body's
  /// framing (RFC 9112 §6.3); the heads made of Strings only outside the in-place mode.
  mutating func parseHead() throws(HTTPParseError) {
    // The lines: CRLF or bare LF; blank lines at the end do not count.
    var lines = 0
    var lastFilled = -1
    var start = 0
    for k in head.indices where head[k] == 10 {
      if lineEnd(k) > start { lastFilled = lines }
      lines += 1
      start = k + 1
    }
    guard lastFilled >= 0 else { throw .badStartLine }
    if lastFilled > limits.maxHeaders { throw .tooManyHeaders(limit: limits.maxHeaders) }
    var headers = HTTPHeaders()
    var first = 0..<0
    var te = 0
    var chunked = false
    var length: Range<Int>?
    var lengthBad = false
    var lengthConflict = false
    var close = false
    var line = 0
    start = 0
    for k in head.indices where head[k] == 10 {
      defer {
        line += 1
        start = k + 1
      }
      let end = lineEnd(k)
      if line == 0 {
        first = start..<end
        continue
      }
      if line > lastFilled { break }
      var colon = start
      while colon < end && head[colon] != UInt8(ascii: ":") { colon += 1 }
      guard colon < end, colon > start else { throw .badHeader }
      // No space before ':' (RFC 9112 §5.1).
      for c in start..<colon where !Self.isTokenChar(head[c]) { throw .badHeader }
      let value = trimmed(colon + 1..<end)
      for c in value where !(head[c] == 9 || (head[c] >= 32 && head[c] != 127)) { throw .badHeader }
      let name = start..<colon
      if !inPlace {
        headers.add(String(decoding: head[name], as: UTF8.self), String(decoding: head[value], as: UTF8.self))
      }
      if equalsLowercase(name, "transfer-encoding") {
        te += 1
        chunked = equalsLowercase(value, "chunked")
      } else if equalsLowercase(name, "content-length") {
        // A list of lengths ("5, 5") is one length when every member is the same.
        var piece = value.lowerBound
        while piece < value.upperBound {
          var stop = piece
          while stop < value.upperBound && head[stop] != UInt8(ascii: ",") { stop += 1 }
          let v = trimmed(piece..<stop)
          piece = stop + 1
          guard !v.isEmpty else { continue }
          if v.count > 15 || head[v].contains(where: { $0 < 48 || $0 > 57 }) { lengthBad = true }
          if let l = length {
            if !head[l].elementsEqual(head[v]) { lengthConflict = true }
          } else {
            length = v
          }
        }
        if length == nil { lengthBad = true }
      } else if equalsLowercase(name, "connection") {
        if equalsLowercase(value, "close") { close = true }
      }
    }
    try parseStartLine(first, headers: headers)
    closeAfter = close || isVersion10
    // Body framing (RFC 9112 §6.3).
    if te > 0 {
      if length != nil || lengthBad { throw .conflictingLength }
      guard te == 1, chunked else { throw .unsupportedTransferEncoding }
      mode = .chunked
    } else if lengthConflict {
      throw .conflictingLength
    } else if lengthBad {
      throw .badContentLength
    } else if let l = length {
      var len = 0
      for c in head[l] { len = len * 10 + Int(c - 48) }
      if len > limits.maxBodyBytes { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
      mode = .length(len)
    } else if kind == .response {
      if expectingHeadResponse || status == 204 || status == 304 || (100..<200).contains(status) {
        mode = .none
      } else {
        mode = .untilClose
      }
    } else {
      mode = .none
    }
    if inPlace {
      lastHead.removeAll(keepingCapacity: true)
      lastHead.append(contentsOf: head)
      body.removeAll(keepingCapacity: true)
    }
  }

  /// The start line: the request's method, target and version, or the response's version, status
  /// and reason.
  mutating func parseStartLine(_ line: Range<Int>, headers: HTTPHeaders) throws(HTTPParseError) {
    // Three parts split at the first two spaces (empty parts kept: they are errors).
    var s1 = line.lowerBound
    while s1 < line.upperBound && head[s1] != 32 { s1 += 1 }
    var s2 = s1 + 1
    while s2 < line.upperBound && head[s2] != 32 { s2 += 1 }
    let p0 = line.lowerBound..<s1
    let p1 = min(s1 + 1, line.upperBound)..<min(s2, line.upperBound)
    let parts = s1 >= line.upperBound ? 1 : s2 >= line.upperBound ? 2 : 3
    let p2 = parts == 3 ? s2 + 1..<line.upperBound : line.upperBound..<line.upperBound
    switch kind {
    case .request:
      guard parts == 3, !p0.isEmpty, head[p0].allSatisfy(Self.isTokenChar), !p1.isEmpty,
        head[p1].allSatisfy({ $0 > 32 && $0 < 127 })
      else { throw .badStartLine }
      try checkVersion(p2)
      if !inPlace {
        requestHead = HTTPRequestHead(
          method: String(decoding: head[p0], as: UTF8.self),
          target: String(decoding: head[p1], as: UTF8.self),
          version: String(decoding: head[p2], as: UTF8.self), headers: headers)
      }
    case .response:
      guard parts >= 2 else { throw .badStartLine }
      try checkVersion(p0)
      guard p1.count == 3, head[p1].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw .badStartLine }
      status = head[p1].reduce(0) { $0 * 10 + Int($1 - 48) }
      guard status >= 100 else { throw .badStartLine }
      if !inPlace {
        responseHead = HTTPResponseHead(
          status: status, reason: String(decoding: head[p2], as: UTF8.self),
          version: String(decoding: head[p0], as: UTF8.self), headers: headers)
      }
    }
  }

  /// "HTTP/1.1" or "HTTP/1.0", exactly (case matters: RFC 9112 §2.3).
  mutating func checkVersion(_ r: Range<Int>) throws(HTTPParseError) {
    let prefix: StaticString = "HTTP/1."
    guard r.count == 8,
      head[r.lowerBound..<r.lowerBound + 7].elementsEqual(
        UnsafeBufferPointer(start: prefix.utf8Start, count: 7))
    else { throw .badVersion }
    switch head[r.upperBound - 1] {
    case UInt8(ascii: "1"): isVersion10 = false
    case UInt8(ascii: "0"): isVersion10 = true
    default: throw .badVersion
    }
  }

  /// Where the line ending at the LF at `k` ends (before a CR).
  func lineEnd(_ k: Int) -> Int { k > 0 && head[k - 1] == 13 ? k - 1 : k }

  /// `r` without the spaces and tabs at either end.
  func trimmed(_ r: Range<Int>) -> Range<Int> {
    var a = r.lowerBound
    var b = r.upperBound
    while a < b && (head[a] == 32 || head[a] == 9) { a += 1 }
    while b > a && (head[b - 1] == 32 || head[b - 1] == 9) { b -= 1 }
    return a..<b
  }

  /// Whether the bytes at `r` are `lower` (ASCII lower case), ignoring case.
  func equalsLowercase(_ r: Range<Int>, _ lower: StaticString) -> Bool {
    Self.equalsLowercase(head, r, lower)
  }

  static func equalsLowercase(_ bytes: [UInt8], _ r: Range<Int>, _ lower: StaticString) -> Bool {
    guard r.count == lower.utf8CodeUnitCount else { return false }
    let l = lower.utf8Start
    for i in 0..<r.count {
      var c = bytes[r.lowerBound + i]
      if c >= 65 && c <= 90 { c += 32 }
      if c != l[i] { return false }
    }
    return true
  }

  // MARK: in place

  /// A parser of responses that reads each one in place: nothing is allocated per response once
  /// its buffers have grown to the largest seen (`bodyCapacity` is reserved at once). A finished
  /// response is `Event.inPlace`; read it (`status`, `headerInt`, `withBody`) before consuming
  /// the next bytes.
  public static func inPlaceResponses(limits: HTTPLimits = HTTPLimits(), bodyCapacity: Int = 1 << 18)
    -> HTTPParser
  {
    var p = HTTPParser(kind: .response, limits: limits)
    p.inPlace = true
    p.head.reserveCapacity(limits.maxHeadBytes + 1)
    p.lastHead.reserveCapacity(limits.maxHeadBytes + 1)
    p.body.reserveCapacity(min(bodyCapacity, limits.maxBodyBytes))
    p.line.reserveCapacity(4097)
    return p
  }

  /// Drops a message partly received (its connection is gone), keeping the buffers.
  public mutating func startOver() {
    phase = .head
    mode = .none
    head.removeAll(keepingCapacity: true)
    line.removeAll(keepingCapacity: true)
    if !inPlace { body = [] }
  }

  /// The value of the last response's field `name` (ASCII lower case) as a non-negative decimal
  /// number; nil when absent or not a number.
  public func headerInt(_ name: StaticString) -> Int? {
    headerInt(named: { Self.equalsLowercase(lastHead, $0, name) })
  }

  /// The same for a field name made at run time (ASCII lower case; a venue's limit headers are
  /// named after the limit's interval).
  public func headerInt(_ name: [UInt8]) -> Int? {
    headerInt(named: { r in
      guard r.count == name.count else { return false }
      for i in 0..<r.count {
        var c = lastHead[r.lowerBound + i]
        if c >= 65 && c <= 90 { c += 32 }
        if c != name[i] { return false }
      }
      return true
    })
  }

  func headerInt(named matches: (Range<Int>) -> Bool) -> Int? {
    var start = 0
    var found: Int?
    for k in lastHead.indices where lastHead[k] == 10 {
      defer { start = k + 1 }
      var colon = start
      while colon < k && lastHead[colon] != UInt8(ascii: ":") { colon += 1 }
      guard colon < k, matches(start..<colon) else { continue }
      var v = 0
      var digits = 0
      for c in lastHead[(colon + 1)..<k] {
        if c >= 48 && c <= 57 {
          guard digits < 18 else { break }
          v = v * 10 + Int(c - 48)
          digits += 1
        } else if c != 32 && c != 9 && c != 13 {
          digits = 0
          break
        }
      }
      found = digits > 0 ? v : nil
    }
    return found
  }

  /// The last response's body (valid until the next bytes are consumed).
  public func withBody<R>(_ read: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try body.withUnsafeBytes(read)
  }
}
