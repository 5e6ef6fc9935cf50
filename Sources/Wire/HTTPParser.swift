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
      body = []
      mode = .none
      requestHead = nil
      responseHead = nil
    }
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

  mutating func parseHead() throws(HTTPParseError) {
    // Split into lines (CRLF or bare LF).
    var lines: [ArraySlice<UInt8>] = []
    var start = 0
    for (k, c) in head.enumerated() where c == 10 {
      var end = k
      if end > start && head[end - 1] == 13 { end -= 1 }
      lines.append(head[start..<end])
      start = k + 1
    }
    while let last = lines.last, last.isEmpty { lines.removeLast() }
    guard let first = lines.first else { throw .badStartLine }
    if lines.count - 1 > limits.maxHeaders { throw .tooManyHeaders(limit: limits.maxHeaders) }
    var headers = HTTPHeaders()
    for l in lines.dropFirst() {
      guard let colon = l.firstIndex(of: UInt8(ascii: ":")), colon > l.startIndex else { throw .badHeader }
      let name = l[l.startIndex..<colon]
      guard name.allSatisfy(Self.isTokenChar) else { throw .badHeader }  // no space before ':' (RFC 9112 §5.1)
      var value = l[(colon + 1)...]
      while let f = value.first, f == 32 || f == 9 { value = value.dropFirst() }
      while let b = value.last, b == 32 || b == 9 { value = value.dropLast() }
      guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else { throw .badHeader }
      headers.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }
    let parts = first.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
    switch kind {
    case .request:
      guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(Self.isTokenChar), !parts[1].isEmpty,
        parts[1].allSatisfy({ $0 > 32 && $0 < 127 })
      else { throw .badStartLine }
      let version = String(decoding: parts[2], as: UTF8.self)
      guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw .badVersion }
      requestHead = HTTPRequestHead(
        method: String(decoding: parts[0], as: UTF8.self), target: String(decoding: parts[1], as: UTF8.self),
        version: version, headers: headers)
    case .response:
      guard parts.count >= 2 else { throw .badStartLine }
      let version = String(decoding: parts[0], as: UTF8.self)
      guard version == "HTTP/1.1" || version == "HTTP/1.0" else { throw .badVersion }
      guard parts[1].count == 3, let status = Int(String(decoding: parts[1], as: UTF8.self)), status >= 100
      else {
        throw .badStartLine
      }
      responseHead = HTTPResponseHead(
        status: status, reason: parts.count > 2 ? String(decoding: parts[2], as: UTF8.self) : "",
        version: version,
        headers: headers)
    }
    // Body framing (RFC 9112 §6.3).
    let te = headers.all("transfer-encoding")
    let cl = headers.all("content-length")
    if !te.isEmpty {
      if !cl.isEmpty { throw .conflictingLength }
      guard te.count == 1, te[0].lowercased() == "chunked" else { throw .unsupportedTransferEncoding }
      mode = .chunked
      return
    }
    if !cl.isEmpty {
      let values = Set(cl.flatMap { $0.split(separator: ",").map { $0.trimmingSpaces } })
      guard values.count == 1, let v = values.first, !v.isEmpty, v.allSatisfy(\.isASCIIDigitChar),
        v.count <= 15,
        let len = Int(v)
      else { throw values.count > 1 ? .conflictingLength : .badContentLength }
      if len > limits.maxBodyBytes { throw .bodyTooLarge(limit: limits.maxBodyBytes) }
      mode = .length(len)
      return
    }
    if kind == .response {
      let status = responseHead!.status
      if expectingHeadResponse || status == 204 || status == 304 || (100..<200).contains(status) {
        mode = .none
      } else {
        mode = .untilClose
      }
    } else {
      mode = .none
    }
  }
}

extension Substring {
  var trimmingSpaces: String {
    var s = self
    while s.first == " " || s.first == "\t" { s = s.dropFirst() }
    while s.last == " " || s.last == "\t" { s = s.dropLast() }
    return String(s)
  }
}

extension Character {
  var isASCIIDigitChar: Bool { isASCII && isNumber }
}

/// Serialises messages.
public enum HTTPWriter {
  public static func request(_ h: HTTPRequestHead, body: [UInt8] = []) -> [UInt8] {
    var s = "\(h.method) \(h.target) \(h.version)\r\n"
    let hasLength = appendFields(h.headers, to: &s)
    if !hasLength && (!body.isEmpty || ["POST", "PUT", "PATCH", "DELETE"].contains(h.method)) {
      s += "Content-Length: \(body.count)\r\n"
    }
    s += "\r\n"
    return Array(s.utf8) + body
  }

  public static func response(_ h: HTTPResponseHead, body: [UInt8] = []) -> [UInt8] {
    var s = "\(h.version) \(h.status) \(h.reason.isEmpty ? reason(h.status) : h.reason)\r\n"
    if !appendFields(h.headers, to: &s) { s += "Content-Length: \(body.count)\r\n" }
    s += "\r\n"
    return Array(s.utf8) + body
  }

  /// Writes the header fields; returns whether they already frame the body.
  static func appendFields(_ headers: HTTPHeaders, to s: inout String) -> Bool {
    var framed = false
    for f in headers {
      s += "\(f.name): \(f.value)\r\n"
      let n = f.name.lowercased()
      if n == "content-length" || n == "transfer-encoding" { framed = true }
    }
    return framed
  }

  public static func reason(_ status: Int) -> String {
    switch status {
    case 101: "Switching Protocols"
    case 200: "OK"
    case 204: "No Content"
    case 400: "Bad Request"
    case 401: "Unauthorized"
    case 403: "Forbidden"
    case 404: "Not Found"
    case 405: "Method Not Allowed"
    case 413: "Content Too Large"
    case 418: "I'm a teapot"
    case 426: "Upgrade Required"
    case 429: "Too Many Requests"
    case 431: "Request Header Fields Too Large"
    case 500: "Internal Server Error"
    case 501: "Not Implemented"
    case 502: "Bad Gateway"
    case 503: "Service Unavailable"
    case 505: "HTTP Version Not Supported"
    default: "Status \(status)"
    }
  }
}
