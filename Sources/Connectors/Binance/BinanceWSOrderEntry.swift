import CPlatform
import CSimdJSON
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
  let clientIDs: ClientIDCodec
  public let instrument: Instrument
  let frame: UnsafeMutableRawPointer
  let signed: UnsafeMutableRawPointer
  let capacity = 4096
  public let execOut: SPSCRing<ExecEvent>
  /// Reads every answer (simdjson; order results with their fills, errors with retryAfter).
  let decoder: BinanceAccountDecoder
  /// When set, each order's stage stamps and its send time are kept here.
  public var latency: LatencyLog?
  /// Added to the wall clock for `timestamp` (the server-time offset from the time sync).
  public var timeOffsetMs: Int64 = 0
  /// `recvWindow` sent with every request (ms, 1…60,000); 0: none (the venue's default, 5,000).
  public var recvWindowMs = 0
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
  /// Called when the venue refuses a request with -1021 (outside recvWindow: our clock is off).
  public var onClockRefusal: (() -> Void)?
  /// Called when the venue refuses an order with -1013 (a filter failure: its trading rule may
  /// have changed since we read it).
  public var onFilterRefusal: (() -> Void)?
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
  /// Orders and cancels refused without being sent because the venue's budget was spent.
  public private(set) var throttled = 0
  public private(set) var rateLimited = 0
  public private(set) var banned = 0
  /// Why new orders are halted (a 418), until `resumeTrading()`; nil when they are not.
  public private(set) var haltReason: String?

  public init(
    loop: EventLoop, host: String, port: UInt16, tls: TLSContext?, serverName: String, apiKey: String,
    secret: String, instrument: Instrument, clientIDs: ClientIDCodec, execOut: SPSCRing<ExecEvent>,
    limiter: RateLimiter = RateLimiter(), answerTimeoutNs: Int64 = 5_000_000_000, path: String = "/ws-api/v3"
  ) {
    self.loop = loop
    self.limiter = limiter
    pending = PendingAnswers(timeoutNs: answerTimeoutNs)
    socket = ReconnectingWebSocket(
      loop: loop, target: .init(host: host, port: port, path: path, tlsServerName: serverName),
      tls: tls, backoff: Backoff(baseNs: 50_000_000, capNs: 5_000_000_000))
    key = HMACSHA256Key(secret: secret)
    self.apiKey = Array(apiKey.utf8)
    symbol = Array(instrument.symbol.utf8)
    self.clientIDs = clientIDs
    self.instrument = instrument
    self.execOut = execOut
    decoder = BinanceAccountDecoder(instrument: instrument, maxMessageBytes: 1 << 20, balanceCapacity: 1)
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

  public func start() {
    socket.start()
    reconciler?.prime()
  }
  public func stop() {
    socket.close()
    reconciler?.stop()
  }
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

  /// Answers overdue at `now` become unknown outcomes, and order state is put in doubt; the
  /// reconciler's requests held back by a wait go out. The wire loop calls this every turn: a
  /// few comparisons while nothing is overdue or waiting.
  @inline(__always)
  public func poll(now: Int64) {
    if pending.expire(now: now, { _ in }) > 0 {
      unknownOutcomes &+= 1
      push(ExecEvent(kind: .stateInDoubt, tag: 0))
    }
    reconciler?.poll(now: now)
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
    // Under the venue's limits (weight; new orders per 10 s and per day): a spent budget refuses
    // the order now — by the time the window turns, a quote would be stale.
    guard
      case .go = limiter.acquire(
        o.kind == .place ? BinanceRequest.place : BinanceRequest.cancel, now: time.wallNs)
    else {
      throttled &+= 1
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
    w.clientID("newClientOrderId", clientIDs.id(tag: o.tag))
    w.decimal("price", o.price, scale: instrument.priceScale)
    w.decimal("quantity", o.quantity, scale: instrument.quantityScale)
    if recvWindowMs > 0 { w.number("recvWindow", UInt64(recvWindowMs)) }
    w.param("side", o.side == .buy ? "BUY" : "SELL")
    w.param("symbol", symbol)
    if !o.postOnly { w.param("timeInForce", o.immediateOrCancel ? "IOC" : "GTC") }
    w.number("timestamp", UInt64(time.wallNs / 1_000_000 + timeOffsetMs))
    w.param("type", o.postOnly ? "LIMIT_MAKER" : "LIMIT")
    return w.finish(key)
  }

  /// `order.cancel` by client order id.
  func writeCancel(_ o: WireOrder) -> Int {
    var w = ParamWriter(signed: signed, json: frame)
    w.envelope(method: "order.cancel", idPrefix: "c", tag: o.tag)
    w.param("apiKey", apiKey)
    w.clientID("origClientOrderId", clientIDs.id(tag: o.tag))
    if recvWindowMs > 0 { w.number("recvWindow", UInt64(recvWindowMs)) }
    w.param("symbol", symbol)
    w.number("timestamp", UInt64(time.wallNs / 1_000_000 + timeOffsetMs))
    return w.finish(key)
  }

  // MARK: answers

  /// A 429/418: the Retry-After (`error.data.retryAfter`, epoch ms; 60 s when absent) holds every
  /// request back; a 418 halts new orders until an operator resumes. The request itself was not
  /// carried out (the caller answers it as refused). A rare path: text is made here.
  func limited(status: Int, _ a: nt_answer) {
    // Held to the millisecond the venue named (Binance gives an epoch-ms instant here, unlike
    // REST's whole-second header).
    let waitMs = a.retry_after_ms >= 0 ? max(1, a.retry_after_ms - time.wallMs) : 60_000
    let message = BinanceAccountDecoder.string(a.error_msg, count: Int(a.error_msg_len))
    if status == 418 {
      banned &+= 1
      limiter.on418(waitNs: waitMs * 1_000_000, now: time.wallNs, message: message)
      bansSeen = limiter.responses418
      haltReason =
        "HTTP 418 from Binance (IP banned; retry after \(RateLimiter.describe(waitNs: waitMs * 1_000_000))): \(message)"
    } else {
      rateLimited &+= 1
      limiter.on429(waitNs: waitMs * 1_000_000, now: time.wallNs)
    }
  }

  /// The venue's counts in an answer's `rateLimits` (request weight per IP, orders per account),
  /// adopted by the limiter shared with REST. A few comparisons per entry, nothing allocated.
  func syncRateLimits(_ a: nt_answer, sentAt: Int64? = nil) {
    let n = Int(a.rate_count_n)
    let now = time.wallNs
    withUnsafeBytes(of: a.rates) { raw in
      let rates = raw.bindMemory(to: nt_rate_count.self)
      for i in 0..<min(n, rates.count) {
        let r = rates[i]
        let tag: BinanceRateLimits.Kind
        switch Int(r.type) {
        case Int(NT_RATE_REQUEST_WEIGHT.rawValue): tag = .requestWeight
        case Int(NT_RATE_ORDERS.rawValue): tag = .orders
        case Int(NT_RATE_RAW_REQUESTS.rawValue): tag = .rawRequests
        default: continue
        }
        guard r.count >= 0, r.window_ms > 0 else { continue }
        let p = limiter.pool(tag: tag.rawValue, windowNs: r.window_ms * 1_000_000)
        if p >= 0 { limiter.sync(pool: p, used: Int(r.count), now: now, sentAt: sentAt) }
      }
    }
  }

  @inline(__always)
  func push(_ e: ExecEvent) {
    if !execOut.tryPush(e) { execRingFull &+= 1 }
  }

  /// An answer that cannot be read: counted, reported; it may have been an order's, so order
  /// state is in doubt (its deadline would say so too, later).
  func unreadable(_ payload: UnsafeRawBufferPointer, outcome: ProblemAction = .outcomeUnknown) {
    malformed &+= 1
    problems.report(.malformedOrderAnswer, outcome, message: payload)
    push(ExecEvent(kind: .stateInDoubt, tag: 0))
  }

  /// One answer, read by the account decoder (simdjson, any key order, nothing allocated):
  /// the request's id names the order (`p<tag>` a placement, `c<tag>` a cancel).
  func received(_ payload: UnsafeRawBufferPointer) {
    responses &+= 1
    guard decoder.decode(payload) == NT_OK, decoder.message.pointee.kind == NT_ACCOUNT_ANSWER else {
      return unreadable(payload)
    }
    let a = decoder.message.pointee.answer
    guard let (place, tag) = Self.requestTag(a) else {
      if a.rate_count_n > 0 { syncRateLimits(a, sentAt: nil) }
      // Not a request of ours (or its id cut): nothing to attribute it to.
      malformed &+= 1
      problems.report(.malformedOrderAnswer, .ignored, message: payload)
      return
    }
    let sentNs = pending.answeredSentAt(PendingAnswers.key(tag: tag, cancel: !place))
    if a.rate_count_n > 0 {
      // When it was sent, on the limiter's wall clock (the pending answers keep monotonic time).
      syncRateLimits(a, sentAt: sentNs.map { time.wallNs - (time.nowNs - $0) })
    }
    guard a.status == 200 else {
      // 4xx: the venue refused the request, the order does not exist (place) or the cancel did
      // nothing. 5xx and -1007 (timeout): the outcome is unknown; status queries settle it.
      if a.status >= 500 || a.error_code == -1007 {
        unknownOutcomes &+= 1
        push(ExecEvent(kind: .stateInDoubt, tag: 0))
        return
      }
      if a.status == 429 || a.status == 418 { limited(status: Int(a.status), a) }
      rejects &+= 1
      lastRefusal = String(decoding: UnsafeRawBufferPointer(rebasing: payload.prefix(300)), as: UTF8.self)
      if a.error_code == -1021 { onClockRefusal?() }
      if a.error_code == -1013 { onFilterRefusal?() }
      push(ExecEvent(kind: place ? .rejected : .cancelRejected, tag: tag))
      return
    }
    // A result must name the order and its state, and every number must fit the instrument.
    guard a.has_result != 0, a.order_id >= 0, a.order_status != 0,
      decoder.message.pointee.bad_number.pointee == 0
    else { return unreadable(payload) }
    let venueID = a.order_id
    let state = Int(a.order_status)
    if !place {
      push(ExecEvent(kind: .cancelled, tag: tag, venueOrderID: venueID))
      return
    }
    if state == Int(NT_ORDER_REJECTED.rawValue) {
      rejects &+= 1
      push(ExecEvent(kind: .rejected, tag: tag))
      return
    }
    // The round trip, on Unix time: sent and received on this loop's clock, the venue's event
    // at its transactTime (ms).
    if let sentNs, a.transact_time_ms > 0 {
      // transactTime is whole ms: the event was in [T, T + 1 ms) and between our send and
      // receive — the middle of both, when they overlap (else the venue's clock is off ours:
      // T as it said).
      let request = time.wall(ofNow: sentNs)
      let response = time.wall(ofNow: loop.lastRecvNs)
      let t = a.transact_time_ms &* 1_000_000
      let lo = max(t, request)
      let hi = min(t &+ 999_999, response)
      push(
        .accepted(
          tag: tag, venueOrderID: venueID, requestNs: request, exchangeNs: lo <= hi ? lo + (hi - lo) / 2 : t,
          responseNs: response))
    } else {
      push(ExecEvent(kind: .accepted, tag: tag, venueOrderID: venueID))
    }
    for f in decoder.fills {
      push(
        ExecEvent(
          kind: .filled, tag: tag, venueOrderID: venueID, tradeID: f.trade_id, price: f.price,
          quantity: f.qty,
          taker: true))  // filled as it arrived: it took liquidity
    }
    if state == Int(NT_ORDER_EXPIRED.rawValue) || state == Int(NT_ORDER_CANCELED.rawValue)
      || state == Int(NT_ORDER_EXPIRED_IN_MATCH.rawValue)
    {
      push(ExecEvent(kind: .cancelled, tag: tag, venueOrderID: venueID))
    }
  }

  /// `p<tag>` / `c<tag>`: whether the request was a placement, and its tag.
  static func requestTag(_ a: nt_answer) -> (place: Bool, tag: UInt64)? {
    BinanceAccountDecoder.withText(a.id, count: Int(a.id_len)) { id -> (Bool, UInt64)? in
      guard id.count >= 2, id[0] == UInt8(ascii: "p") || id[0] == UInt8(ascii: "c") else { return nil }
      var tag: UInt64 = 0
      for d in id.dropFirst() {
        guard d >= 48 && d <= 57 else { return nil }
        let (m, o1) = tag.multipliedReportingOverflow(by: 10)
        let (v, o2) = m.addingReportingOverflow(UInt64(d - 48))
        if o1 || o2 { return nil }
        tag = v
      }
      return (id[0] == UInt8(ascii: "p"), tag)
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
  /// An id as the codec wrote it (its bytes are never made anywhere else).
  @inline(__always) mutating func clientID(_ n: StaticString, _ id: ClientOrderID) {
    name(n, quoted: true)
    id.withBytes {
      p.put($0)
      j.put($0)
    }
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
  @inline(__always) mutating func put(_ b: UnsafeRawBufferPointer) {
    if b.count > 0 { cursor.copyMemory(from: b.baseAddress!, byteCount: b.count) }
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
