import TestSupport
import Testing

@testable import Wire

@Suite struct HTTPParserTests {
  func parse(_ kind: HTTPParser.Kind, _ text: String, limits: HTTPLimits = HTTPLimits(), chunk: Int = .max)
    throws
    -> [HTTPParser.Event]
  {
    var p = HTTPParser(kind: kind, limits: limits)
    var events: [HTTPParser.Event] = []
    let bytes = Array(text.utf8)
    var i = 0
    while i < bytes.count {
      let piece = Array(bytes[i..<min(bytes.count, i + chunk)])
      var off = 0
      while off < piece.count {
        let (used, ev) = try piece.withUnsafeBytes { b in
          try p.consume(UnsafeRawBufferPointer(rebasing: b[off...]))
        }
        off += used
        if let ev { events.append(ev) }
      }
      i += chunk == .max ? bytes.count : chunk
    }
    if let ev = p.finishAtClose() { events.append(ev) }
    return events
  }

  @Test(arguments: [1, 3, 7, Int.max])
  func requestsWithBodiesAndPipelining(chunk: Int) throws {
    let text =
      "GET /api/v3/depth?symbol=BTCUSDT&limit=5 HTTP/1.1\r\nHost: x\r\n\r\n"
      + "POST /api/v3/order HTTP/1.1\r\nContent-Length: 11\r\nX-MBX-APIKEY: k\r\n\r\nsymbol=BTCU"
      + "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nT: v\r\n\r\n"
    let events = try parse(.request, text, chunk: chunk)
    #expect(events.count == 3)
    guard case .request(let a, let ab) = events[0], case .request(let b, let bb) = events[1],
      case .request(let c, let cb) = events[2]
    else { Issue.record("not requests"); return }
    #expect(
      a.method == "GET" && a.path == "/api/v3/depth" && a.query == "symbol=BTCUSDT&limit=5" && ab.isEmpty)
    #expect(b.headers["x-mbx-apikey"] == "k" && bb == Array("symbol=BTCU".utf8))
    #expect(c.target == "/c" && cb == Array("Wikipedia".utf8))
  }

  @Test func responsesByLengthChunkedAndClose() throws {
    let events = try parse(
      .response,
      "HTTP/1.1 200 OK\r\nx-mbx-used-weight-1m: 42\r\nContent-Length: 2\r\n\r\nok"
        + "HTTP/1.1 204 No Content\r\n\r\n"
        + "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 35\r\n\r\nuntil close",
      chunk: 5)
    #expect(events.count == 3)
    if case .response(let h, let body) = events[0] {
      #expect(h.status == 200 && h.headers["X-MBX-USED-WEIGHT-1M"] == "42" && body == Array("ok".utf8))
    }
    if case .response(let h, let body) = events[2] {
      #expect(h.status == 429 && h.headers["retry-after"] == "35" && body == Array("until close".utf8))
    }
  }

  @Test func limitsAndMalformedInputAreErrors() {
    var small = HTTPLimits()
    small.maxHeadBytes = 200
    small.maxHeaders = 5
    small.maxBodyBytes = 10
    let flood = "GET / HTTP/1.1\r\n" + (0..<10).map { "H\($0): v\r\n" }.joined() + "\r\n"
    #expect(throws: HTTPParseError.tooManyHeaders(limit: 5)) { try parse(.request, flood, limits: small) }
    #expect(throws: HTTPParseError.headTooLarge(limit: 200)) {
      try parse(.request, "GET /" + String(repeating: "a", count: 300) + " HTTP/1.1\r\n\r\n", limits: small)
    }
    #expect(throws: HTTPParseError.bodyTooLarge(limit: 10)) {
      try parse(.request, "POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", limits: small)
    }
    #expect(throws: HTTPParseError.badVersion) { try parse(.request, "GET / HTTP/2.0\r\n\r\n") }
    #expect(throws: HTTPParseError.badStartLine) { try parse(.request, "GET /\r\n\r\n") }
    #expect(throws: HTTPParseError.badHeader) {
      try parse(.request, "GET / HTTP/1.1\r\nBad Header: x\r\n\r\n")
    }
    #expect(throws: HTTPParseError.badHeader) { try parse(.request, "GET / HTTP/1.1\r\nNoColon\r\n\r\n") }
    #expect(throws: HTTPParseError.conflictingLength) {
      try parse(.request, "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab")
    }
    #expect(throws: HTTPParseError.conflictingLength) {
      try parse(.request, "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
    }
    #expect(throws: HTTPParseError.badContentLength) {
      try parse(.request, "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n")
    }
    #expect(throws: HTTPParseError.badChunk) {
      try parse(.request, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    }
    #expect(throws: HTTPParseError.unsupportedTransferEncoding) {
      try parse(.request, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n")
    }
  }

  /// Random bytes and mutated requests: the parser answers (a message, an error, or "need more")
  /// every time and never traps.
  @Test func fuzzNeverCrashes() {
    var rng = SplitMix64(seed: 77)
    let seeds = [
      "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
      "POST /api HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
    ].map { Array($0.utf8) }
    var outcomes = [0, 0, 0]
    for i in 0..<20_000 {
      var b = seeds[i % seeds.count]
      if i % 4 == 0 {
        b = (0..<Int.random(in: 0...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
      } else {
        for _ in 0..<Int.random(in: 1...5, using: &rng) {
          let j = Int.random(in: 0..<b.count, using: &rng)
          switch Int.random(in: 0..<3, using: &rng) {
          case 0: b[j] = UInt8.random(in: 0...255, using: &rng)
          case 1: b.remove(at: j)
          default: b.insert(contentsOf: b[j..<min(b.count, j + 20)], at: j)
          }
          if b.isEmpty { break }
        }
      }
      var p = HTTPParser(kind: i % 3 == 2 ? .response : .request)
      do {
        let (_, ev) = try b.withUnsafeBytes { x in try p.consume(x) }
        outcomes[ev == nil ? 0 : 1] += 1
      } catch let error as HTTPParseError {
        outcomes[2] += 1
        #expect((400...505).contains(error.status))
      } catch {
        Issue.record("untyped error \(error)")
      }
    }
    #expect(outcomes.allSatisfy { $0 > 0 }, "\(outcomes)")
  }

  /// The in-place reading (the reconciler's lane) agrees with the heads of Strings on mutated
  /// responses — the same error, or the same status, body and connection ending — and after the
  /// buffers are warm it reads a response without allocating a new body.
  @Test func inPlaceResponsesAgreeWithTheStringHeads() throws {
    var rng = SplitMix64(seed: 91)
    let seeds = [
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-MBX-USED-WEIGHT-1M: 12\r\n\r\nabc",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      "HTTP/1.0 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 5, 5\r\n\r\n{\"a\"}",
      "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
    ].map { Array($0.utf8) }
    var agreed = [0, 0]
    var inPlace = HTTPParser.inPlaceResponses(bodyCapacity: 64)
    for i in 0..<20_000 {
      var b = seeds[i % seeds.count]
      if i >= seeds.count {
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
          let j = Int.random(in: 0..<b.count, using: &rng)
          switch Int.random(in: 0..<3, using: &rng) {
          case 0: b[j] = [58, 32, 44, 13, 10, 48, 57, 65].randomElement(using: &rng)!
          case 1: b.remove(at: j)
          default: b.insert(contentsOf: b[j..<min(b.count, j + 12)], at: j)
          }
          if b.isEmpty { break }
        }
      }
      var strings = HTTPParser(kind: .response)
      inPlace.startOver()
      var a: Result<HTTPParser.Event?, HTTPParseError>
      var c: Result<HTTPParser.Event?, HTTPParseError>
      do { a = .success(try b.withUnsafeBytes { try strings.consume($0) }.event) } catch let e
        as HTTPParseError
      { a = .failure(e) } catch { throw error }
      do { c = .success(try b.withUnsafeBytes { try inPlace.consume($0) }.event) } catch let e
        as HTTPParseError
      { c = .failure(e) } catch { throw error }
      if case .success(nil) = a, case .success(nil) = c {
        a = .success(strings.finishAtClose())
        c = .success(inPlace.finishAtClose())
      }
      switch (a, c) {
      case (.failure(let x), .failure(let y)):
        #expect(x == y, "\(String(decoding: b, as: UTF8.self).debugDescription)")
        agreed[0] += 1
      case (.success(.response(let head, let body)?), .success(.inPlace(let status)?)):
        #expect(head.status == status && inPlace.withBody { Array($0) } == body)
        #expect(
          inPlace.closeAfter
            == (head.headers.all("connection").contains { $0.lowercased() == "close" }
              || head.version == "HTTP/1.0"),
          "\(String(decoding: b, as: UTF8.self).debugDescription)")
        if let w = head.headers["x-mbx-used-weight-1m"].flatMap({ Int($0) }) {
          #expect(inPlace.headerInt("x-mbx-used-weight-1m") == w)
        }
        agreed[1] += 1
      case (.success(nil), .success(nil)): break
      default:
        Issue.record("disagree on \(String(decoding: b, as: UTF8.self).debugDescription): \(a) / \(c)")
      }
    }
    #expect(agreed.allSatisfy { $0 > 500 }, "\(agreed)")
  }
}
