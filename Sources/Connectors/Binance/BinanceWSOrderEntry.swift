import CPlatform
import Engine
import FastBook
import Glibc
import Wire

/// Order entry over Binance spot's WebSocket API (`order.place`, `order.cancel`), built for the
/// hot path of the runtime's wire thread. Each request is written into one pre-allocated buffer:
/// the parameters in name order (what Binance signs), an HMAC-SHA256 signature from a prepared
/// key, and the JSON envelope — then sent as one text frame and submitted to the kernel at once.
/// Nothing is allocated per order.
///
/// Answers become `ExecEvent`s for the strategy thread: accepted (with the venue's order id),
/// each fill of a FULL response, cancelled/expired, rejected. An answer that leaves the outcome
/// unknown (5xx, timeout codes, a dropped connection) produces no event: the order stays
/// pending-create in the tracker until a status query settles it.
///
/// The client order id of tag `t` is `prefix` followed by `t` in decimal, as `StrategyHost` names it.
public final class BinanceWSOrderEntry {
  public let socket: ReconnectingWebSocket
  let loop: EventLoop
  let key: HMACSHA256Key
  let apiKey: [UInt8]
  let symbol: [UInt8]
  let prefix: [UInt8]
  public let instrument: Instrument
  let frame: UnsafeMutableRawPointer
  let signed: UnsafeMutableRawPointer
  let capacity = 4096
  public let execOut: SPSCRing<ExecEvent>
  /// When set, each order's stage stamps and its send time are kept here.
  public var latency: LatencyLog?
  /// Added to the wall clock for `timestamp` (the server-time offset from the time sync).
  public var timeOffsetMs: Int64 = 0
  public private(set) var placesSent = 0
  public private(set) var cancelsSent = 0
  /// Orders that could not be sent: no open connection (the order's outcome is then known: never sent).
  public private(set) var notSent = 0
  public private(set) var responses = 0
  public private(set) var rejects = 0
  public private(set) var unknownOutcomes = 0
  public private(set) var malformed = 0
  /// The venue's last refusal, as it said it (a rare path: text is made only here).
  public private(set) var lastRefusal: String?
  /// Malformed answers are reported here (counted, and logged through its side thread).
  public let problems = ProblemLog()
  /// Carries out the strategy thread's reconciliation requests (status queries, recent fills).
  public var reconciler: BinanceRuntimeReconciler?
  /// Execution events dropped because the ring to the strategy thread was full.
  public private(set) var execRingFull = 0
  /// The IP's request budget and Retry-After, shared with the REST clients (the reconciler's,
  /// the snapshot fetcher's): a 429/418 any of them is given holds all of them back.
  public let limiter: RateLimiter
  /// Retry-After deadlines and request timestamps are read on this; answer timeouts too.
  public var time: any TimeSource = LiveTime.shared
  /// Requests sent and not answered yet (their deadline is `answerTimeoutNs`).
  public private(set) var pending: PendingAnswers
  /// Orders and cancels refused without being sent: a Retry-After was pending or trading halted.
  public private(set) var heldBack = 0
  public private(set) var rateLimited = 0
  public private(set) var banned = 0
  /// Why new orders are halted (a 418), until `resumeTrading()`; nil when they are not.
  public private(set) var haltReason: String?

  public init(
    loop: EventLoop, host: String, port: UInt16, tls: TLSContext?, serverName: String, apiKey: String,
    secret: String, instrument: Instrument, clientIDPrefix: String, execOut: SPSCRing<ExecEvent>,
    limiter: RateLimiter = RateLimiter(pools: [], endpoints: [:]), answerTimeoutNs: Int64 = 5_000_000_000
  ) {
    self.loop = loop
    self.limiter = limiter
    pending = PendingAnswers(timeoutNs: answerTimeoutNs)
    socket = ReconnectingWebSocket(
      loop: loop, target: .init(host: host, port: port, path: "/ws-api/v3", tlsServerName: serverName),
      tls: tls, backoff: Backoff(baseNs: 50_000_000, capNs: 5_000_000_000))
    key = HMACSHA256Key(secret: secret)
    self.apiKey = Array(apiKey.utf8)
    symbol = Array(instrument.symbol.utf8)
    prefix = Array(clientIDPrefix.utf8)
    self.instrument = instrument
    self.execOut = execOut
    frame = .allocate(byteCount: capacity, alignment: 64)
    signed = .allocate(byteCount: capacity, alignment: 64)
    socket.onMessage = { [weak self] _, payload in self?.received(payload) }
    socket.onDisconnect = { [weak self] _, _ in self?.disconnected() }
  }

  /// The connection dropped: answers still due will not come, so their outcomes are unknown.
  func disconnected() {
    let lost = pending.removeAll()
    if lost > 0 {
      unknownOutcomes &+= lost
      push(ExecEvent(kind: .stateInDoubt, tag: 0))
    }
  }

  deinit {
    frame.deallocate()
    signed.deallocate()
  }

  public func start() { socket.start() }
  public func stop() { socket.close() }
  public var isOpen: Bool { socket.socket?.state == .open }

  /// Nothing may be sent before this (Unix ns): the end of the last 429/418's Retry-After.
  public var pausedUntilNs: Int64 { max(limiter.backoffUntil, limiter.haltedUntil) }
  /// A request may go out now.
  public var canSend: Bool { time.wallNs >= pausedUntilNs }
  /// A new order may go out now (can send, and not halted by a 418 — given to this connection or
  /// to any other client of the shared limiter).
  public var canPlace: Bool {
    if limiter.responses418 != bansSeen {
      bansSeen = limiter.responses418
      if haltReason == nil { haltReason = "HTTP 418 from Binance: \(limiter.haltReason)" }
    }
    return haltReason == nil && canSend
  }
  var bansSeen = 0
  /// An operator's word after a ban: new orders may go out again (once the Retry-After passed).
  public func resumeTrading() {
    bansSeen = limiter.responses418
    haltReason = nil
  }

  /// Answers overdue at `now` become unknown outcomes, and order state is put in doubt. The wire
  /// loop calls this every turn: one comparison while nothing is overdue.
  @inline(__always)
  public func poll(now: Int64) {
    if pending.expire(now: now, { _ in }) > 0 {
      unknownOutcomes &+= 1
      push(ExecEvent(kind: .stateInDoubt, tag: 0))
    }
  }

  /// Sends one command from the strategy thread. False when it could not be sent (no connection):
  /// the order never left, and an `ExecEvent` says so (rejected / cancel refused).
  @discardableResult
  public func send(_ o: WireOrder) -> Bool {
    if o.kind == .status || o.kind == .reconcileEnd {
      // Reconciliation goes over REST (the WebSocket API's answers are what may have been lost).
      guard let reconciler else {
        // Nothing to ask with: end the round at once (the strategy thread must not wait forever).
        if o.kind == .reconcileEnd { push(ExecEvent(kind: .reconciled, tag: 0)) }
        return false
      }
      reconciler.handle(o)
      return true
    }
    guard o.kind == .place ? canPlace : canSend else {
      // Sending during a Retry-After earns a ban: the order never leaves (its outcome is known).
      heldBack &+= 1
      push(ExecEvent(kind: o.kind == .place ? .rejected : .cancelRejected, tag: o.tag))
      return false
    }
    guard let ws = socket.socket, ws.state == .open else {
      notSent &+= 1
      push(ExecEvent(kind: o.kind == .place ? .rejected : .cancelRejected, tag: o.tag))
      return false
    }
    let n = o.kind == .place ? writePlace(o) : writeCancel(o)
    do {
      try ws.sendFrame(.text, UnsafeRawBufferPointer(start: frame, count: n))
    } catch {
      notSent &+= 1
      push(ExecEvent(kind: o.kind == .place ? .rejected : .cancelRejected, tag: o.tag))
      return false
    }
    let queued = time.nowNs
    loop.submitNow()
    pending.sent(PendingAnswers.key(tag: o.tag, cancel: o.kind == .cancel), at: queued)
    if o.kind == .place { placesSent &+= 1 } else { cancelsSent &+= 1 }
    latency?.record(tag: o.tag, stamps: o.stamps, queuedNs: queued, sentNs: time.nowNs)
    return true
  }

  // MARK: writing

  /// `order.place`: params in name order (what Binance signs), then signature and envelope end.
  public func writePlace(_ o: WireOrder) -> Int {
    var w = ParamWriter(signed: signed, json: frame)
    w.envelope(method: "order.place", idPrefix: "p", tag: o.tag)
    w.param("apiKey", apiKey)
    w.clientID("newClientOrderId", prefix: prefix, tag: o.tag)
    w.decimal("price", o.price, scale: instrument.priceScale)
    w.decimal("quantity", o.quantity, scale: instrument.quantityScale)
    w.param("side", o.side == .buy ? "BUY" : "SELL")
    w.param("symbol", symbol)
    if !o.postOnly { w.param("timeInForce", o.immediateOrCancel ? "IOC" : "GTC") }
    w.number("timestamp", UInt64(cplat_wall_ms() + timeOffsetMs))
    w.param("type", o.postOnly ? "LIMIT_MAKER" : "LIMIT")
    return w.finish(key)
  }

  /// `order.cancel` by client order id.
  func writeCancel(_ o: WireOrder) -> Int {
    var w = ParamWriter(signed: signed, json: frame)
    w.envelope(method: "order.cancel", idPrefix: "c", tag: o.tag)
    w.param("apiKey", apiKey)
    w.clientID("origClientOrderId", prefix: prefix, tag: o.tag)
    w.param("symbol", symbol)
    w.number("timestamp", UInt64(cplat_wall_ms() + timeOffsetMs))
    return w.finish(key)
  }

  // MARK: answers

  /// A 429/418: the Retry-After (`error.data.retryAfter`, epoch ms; 60 s when absent) holds every
  /// request back; a 418 halts new orders until an operator resumes. The request itself was not
  /// carried out (the caller answers it as refused). A rare path: text is made here.
  func limited(status: Int, _ payload: UnsafeRawBufferPointer) {
    var r = ByteReader(payload)
    let untilMs = r.seek("\"retryAfter\":") ? r.signed() : nil
    let seconds = untilMs.map { max(1, Int(($0 - time.wallMs + 999) / 1000)) } ?? 60
    var m = ByteReader(payload)
    var message = ""
    if m.seek("\"msg\":\""), let text = m.text(until: UInt8(ascii: "\"")) { message = text }
    if status == 418 {
      banned &+= 1
      limiter.on418(retryAfterSeconds: seconds, now: time.wallNs, message: message)
      bansSeen = limiter.responses418
      haltReason = "HTTP 418 from Binance (IP banned; retry after \(seconds) s): \(message)"
    } else {
      rateLimited &+= 1
      limiter.on429(retryAfterSeconds: seconds, now: time.wallNs)
    }
  }

  @inline(__always)
  func push(_ e: ExecEvent) {
    if !execOut.tryPush(e) { execRingFull &+= 1 }
  }

  func received(_ payload: UnsafeRawBufferPointer) {
    responses &+= 1
    var r = ByteReader(payload)
    guard r.seek("\"id\":\""), let kind = r.byte(), kind == UInt8(ascii: "p") || kind == UInt8(ascii: "c"),
      let tag = r.unsigned(), r.seek("\"status\":"), let status = r.unsigned()
    else {
      malformed &+= 1  // also: answers to requests this object did not send
      problems.report(.malformedOrderAnswer, .ignored, message: payload)
      return
    }
    let place = kind == UInt8(ascii: "p")
    pending.answered(PendingAnswers.key(tag: tag, cancel: !place))
    guard status == 200 else {
      // 4xx: the venue refused the request, the order does not exist (place) or the cancel did
      // nothing. 5xx and -1007 (timeout): the outcome is unknown; status queries settle it.
      var e = r
      let code = e.seek("\"code\":") ? e.signed() ?? 0 : 0
      if status >= 500 || code == -1007 {
        // The order may or may not exist: the strategy thread finds out before placing again.
        unknownOutcomes &+= 1
        push(ExecEvent(kind: .stateInDoubt, tag: 0))
        return
      }
      if status == 429 || status == 418 { limited(status: Int(status), payload) }
      rejects &+= 1
      lastRefusal = String(decoding: UnsafeRawBufferPointer(rebasing: payload.prefix(300)), as: UTF8.self)
      push(ExecEvent(kind: place ? .rejected : .cancelRejected, tag: tag))
      return
    }
    guard r.seek("\"result\":") else {
      malformed &+= 1
      problems.report(.malformedOrderAnswer, .outcomeUnknown, message: payload)
      push(ExecEvent(kind: .stateInDoubt, tag: 0))
      return
    }
    let body = r
    var idr = body
    let venueID = idr.seek("\"orderId\":") ? Int64(idr.signed() ?? 0) : 0
    var st = body
    guard st.seek("\"status\":\"") else {
      malformed &+= 1
      problems.report(.malformedOrderAnswer, .outcomeUnknown, message: payload)
      push(ExecEvent(kind: .stateInDoubt, tag: 0))
      return
    }
    let state = st.word()
    if !place {
      push(ExecEvent(kind: .cancelled, tag: tag, venueOrderID: venueID))
      return
    }
    if state == .rejected {
      rejects &+= 1
      push(ExecEvent(kind: .rejected, tag: tag))
      return
    }
    push(ExecEvent(kind: .accepted, tag: tag, venueOrderID: venueID))
    var f = body
    if f.seek("\"fills\":[") {
      while f.next(UInt8(ascii: "{"), before: UInt8(ascii: "]")) {
        var obj = f
        guard obj.seek("\"price\":\""), let price = obj.decimal(scale: instrument.priceScale),
          obj.seek("\"qty\":\""), let qty = obj.decimal(scale: instrument.quantityScale),
          obj.seek("\"tradeId\":"), let trade = obj.signed()
        else {
          malformed &+= 1
          problems.report(.malformedOrderAnswer, .outcomeUnknown, message: payload)
          push(ExecEvent(kind: .stateInDoubt, tag: 0))
          break
        }
        push(
          ExecEvent(
            kind: .filled, tag: tag, venueOrderID: venueID, tradeID: trade, price: price, quantity: qty))
        f = obj
      }
    }
    if state == .expired || state == .cancelled {
      push(ExecEvent(kind: .cancelled, tag: tag, venueOrderID: venueID))
    }
  }
}

/// Writes one WebSocket API request twice at once: the signed payload (`a=1&b=2`, in the order
/// given — callers give names in order) and the JSON params (`"a":"1","b":"2"`).
struct ParamWriter {
  var p: ByteWriter
  var j: ByteWriter
  var first = true
  init(signed: UnsafeMutableRawPointer, json: UnsafeMutableRawPointer) {
    p = ByteWriter(signed)
    j = ByteWriter(json)
  }

  @inline(__always) mutating func envelope(method: StaticString, idPrefix: StaticString, tag: UInt64) {
    j.put("{\"id\":\"")
    j.put(idPrefix)
    j.put(UInt64: tag)
    j.put("\",\"method\":\"")
    j.put(method)
    j.put("\",\"params\":{")
  }

  @inline(__always) mutating func name(_ n: StaticString, quoted: Bool) {
    if !first {
      p.put("&")
      j.put(",")
    }
    first = false
    p.put(n)
    p.put("=")
    j.put("\"")
    j.put(n)
    j.put(quoted ? "\":\"" : "\":")
  }
  @inline(__always) mutating func param(_ n: StaticString, _ v: [UInt8]) {
    name(n, quoted: true)
    p.put(v)
    j.put(v)
    j.put("\"")
  }
  @inline(__always) mutating func param(_ n: StaticString, _ v: StaticString) {
    name(n, quoted: true)
    p.put(v)
    j.put(v)
    j.put("\"")
  }
  @inline(__always) mutating func clientID(_ n: StaticString, prefix: [UInt8], tag: UInt64) {
    name(n, quoted: true)
    p.put(prefix)
    j.put(prefix)
    p.put(UInt64: tag)
    j.put(UInt64: tag)
    j.put("\"")
  }
  @inline(__always) mutating func decimal(_ n: StaticString, _ raw: Int64, scale: Int) {
    name(n, quoted: true)
    p.put(decimal: raw, scale: scale)
    j.put(decimal: raw, scale: scale)
    j.put("\"")
  }
  @inline(__always) mutating func number(_ n: StaticString, _ v: UInt64) {
    name(n, quoted: false)
    p.put(UInt64: v)
    j.put(UInt64: v)
  }

  /// The signature over the payload, then the envelope's end; returns the frame's length.
  mutating func finish(_ key: HMACSHA256Key) -> Int {
    j.put(",\"signature\":\"")
    key.signHex(p.start, count: p.count, into: j.cursor)
    j.skip(64)
    j.put("\"}}")
    return j.count
  }
}

/// Appends bytes to a raw buffer the caller sized (4 KiB per request here). No bounds checks
/// beyond debug builds: every request has a fixed shape well under the buffer.
struct ByteWriter {
  var cursor: UnsafeMutableRawPointer
  let start: UnsafeMutableRawPointer
  init(_ p: UnsafeMutableRawPointer) {
    cursor = p
    start = p
  }
  var count: Int { cursor - start }

  @inline(__always) mutating func put(_ s: StaticString) {
    cursor.copyMemory(from: s.utf8Start, byteCount: s.utf8CodeUnitCount)
    cursor += s.utf8CodeUnitCount
  }
  @inline(__always) mutating func put(_ b: [UInt8]) {
    b.withUnsafeBytes { cursor.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
    cursor += b.count
  }
  @inline(__always) mutating func skip(_ n: Int) { cursor += n }

  @inline(__always) mutating func put(UInt64 v: UInt64) {
    var digits = 1
    var x = v
    while x >= 10 {
      x /= 10
      digits += 1
    }
    put(digits: v, width: digits)
  }

  /// The last `width` decimal digits of `v`, zero-padded on the left.
  @inline(__always) mutating func put(digits v: UInt64, width: Int) {
    var x = v
    var i = width - 1
    while i >= 0 {
      cursor.storeBytes(of: UInt8(48 + x % 10), toByteOffset: i, as: UInt8.self)
      x /= 10
      i -= 1
    }
    cursor += width
  }

  /// `raw` at `scale` decimals, e.g. 12345 at 2 → "123.45"; never exponent notation.
  @inline(__always) mutating func put(decimal raw: Int64, scale: Int) {
    cursor += FixedPoint.write(raw, scale: scale, into: cursor)
  }
}

/// Forward-only scanning of a venue answer without decoding it into objects: enough for the
/// fixed shapes of order answers, allocation-free.
struct ByteReader {
  let base: UnsafePointer<UInt8>
  let end: Int
  var i = 0
  init(_ b: UnsafeRawBufferPointer) {
    base = (b.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!).assumingMemoryBound(to: UInt8.self)
    end = b.count
  }

  enum Word { case new, partiallyFilled, filled, cancelled, expired, rejected, other }

  /// The bytes up to `stop`, as text (a rare path: error messages); nil when no `stop` follows.
  mutating func text(until stop: UInt8) -> String? {
    var j = i
    while j < end, base[j] != stop { j += 1 }
    guard j < end else { return nil }
    let s = String(decoding: UnsafeBufferPointer(start: base + i, count: j - i), as: UTF8.self)
    i = j + 1
    return s
  }

  /// Moves past the next occurrence of `needle`; false (and stays) when there is none.
  mutating func seek(_ needle: StaticString) -> Bool {
    let n = needle.utf8CodeUnitCount
    let s = needle.utf8Start
    var j = i
    while j + n <= end {
      if base[j] == s[0] && memcmp(base + j, s, n) == 0 {
        i = j + n
        return true
      }
      j += 1
    }
    return false
  }

  /// Moves past the next `c` if it comes before `stop`.
  mutating func next(_ c: UInt8, before stop: UInt8) -> Bool {
    var j = i
    while j < end {
      if base[j] == c {
        i = j + 1
        return true
      }
      if base[j] == stop { return false }
      j += 1
    }
    return false
  }

  mutating func byte() -> UInt8? {
    guard i < end else { return nil }
    defer { i += 1 }
    return base[i]
  }

  mutating func unsigned() -> UInt64? {
    var v: UInt64 = 0
    var any = false
    while i < end, base[i] >= 48, base[i] <= 57 {
      let (m, o1) = v.multipliedReportingOverflow(by: 10)
      let (a, o2) = m.addingReportingOverflow(UInt64(base[i] - 48))
      if o1 || o2 { return nil }
      v = a
      any = true
      i += 1
    }
    return any ? v : nil
  }

  mutating func signed() -> Int64? {
    var neg = false
    if i < end, base[i] == UInt8(ascii: "-") {
      neg = true
      i += 1
    }
    guard let u = unsigned(), u <= UInt64(Int64.max) else { return nil }
    return neg ? -Int64(u) : Int64(u)
  }

  /// A decimal string body up to its closing quote, as a raw at `scale` (`FixedPoint`'s rules);
  /// nil when it has more significant decimals than the scale or is not a number.
  mutating func decimal(scale: Int) -> Int64? {
    let from = i
    while i < end, base[i] != UInt8(ascii: "\"") { i += 1 }
    return try? FixedPoint.parse(UnsafeBufferPointer(start: base + from, count: i - from), scale: scale)
  }

  /// The order status word after `"status":"`.
  mutating func word() -> Word {
    let r = self
    func match(_ s: StaticString) -> Bool {
      let n = s.utf8CodeUnitCount
      guard r.i + n < r.end, memcmp(r.base + r.i, s.utf8Start, n) == 0, r.base[r.i + n] == UInt8(ascii: "\"")
      else { return false }
      return true
    }
    if match("NEW") { return .new }
    if match("PARTIALLY_FILLED") { return .partiallyFilled }
    if match("FILLED") { return .filled }
    if match("CANCELED") { return .cancelled }
    if match("EXPIRED") || match("EXPIRED_IN_MATCH") { return .expired }
    if match("REJECTED") { return .rejected }
    return .other
  }
}
