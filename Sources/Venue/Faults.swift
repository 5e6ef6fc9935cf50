import Wire

/// What can go wrong at the venue on purpose, the way real exchanges misbehave (the failures an
/// order tracker must survive). Probabilities are per request or per event; all draws come from
/// one seeded generator, so a run with the same seed and inputs misbehaves the same way.
public struct FaultPlan: Sendable {
  public var seed: UInt64 = 1
  /// REST responses are delayed by a uniform draw from this range (ns).
  public var restLatencyNs: ClosedRange<Int64>? = nil
  /// An order request (place or cancel) is carried out, but the connection closes instead of
  /// answering: the client cannot know what happened.
  public var lostResponseAfterAccept = 0.0
  /// 503 before anything is done (safe to retry) / 500 after the order was processed (status
  /// unknown, as Binance documents for 5xx).
  public var serverErrorBefore = 0.0
  public var serverErrorAfter = 0.0
  /// A cancelled order still reads NEW for this long (a stale replica).
  public var staleStatusAfterCancelMs: Int64 = 0
  /// User-data events dropped, sent twice, or swapped with the next one.
  public var dropUserEvent = 0.0
  public var duplicateUserEvent = 0.0
  public var reorderUserEvents = 0.0
  /// A user-data event is sent cut short — not valid JSON — instead of whole: the client cannot
  /// read it and must find out over REST what it said.
  public var malformedUserEvent = 0.0
  /// A successful (200) REST answer's body is cut short, after the request was carried out.
  public var malformedResponse = 0.0
  /// A stream or WebSocket API socket is closed after a message it sends.
  public var closeSocket = 0.0
  /// A request is refused with 429 (or 418, an IP ban) regardless of its weight.
  public var force429 = 0.0
  public var force418 = 0.0
  /// The same over REST, when it should differ (nil: `force429`/`force418`). A REST Retry-After
  /// is whole seconds, so a soak that wants many of them cheaply draws them rarer there.
  public var restForce429: Double? = nil
  public var restForce418: Double? = nil
  /// The wait (ms) named by a forced 429/418. Like Binance, a client that sends again before it
  /// has passed is banned: 418, with a wait twice as long. The WebSocket API names the instant to
  /// the millisecond; REST's `Retry-After` header carries whole seconds, so there it is rounded up
  /// to at least 1 s (and the venue holds the client to the rounded figure).
  public var retryAfterMs: Int64 = 1000
  /// `retryAfterMs` in whole seconds (configs name it so).
  public var retryAfterSeconds: Int {
    get { Int((retryAfterMs + 999) / 1000) }
    set { retryAfterMs = Int64(newValue) * 1000 }
  }
  /// The Retry-After header for a wait of `ms`: whole seconds, at least 1.
  static func headerSeconds(_ ms: Int64) -> Int64 { max(1, (ms + 999) / 1000) }
  public init() {}
}

/// Draws faults from a `FaultPlan` and counts each one injected (the soak report).
public final class FaultInjector {
  public var plan: FaultPlan
  var rng: UInt64
  public internal(set) var counts: [String: Int] = [:]
  /// Until when (venue ms) the last 429/418 told the client to stay away.
  var backoffUntilMs: Int64 = 0
  /// When (venue ms) that 429/418 was handed to its connection (`.max` until then). Requests
  /// already on their way at that moment — from another connection of the same client, say —
  /// could not have obeyed it, and are refused without a ban.
  var limitSentMs: Int64 = .max
  static let inFlightGraceMs: Int64 = 250

  public init(_ plan: FaultPlan) {
    self.plan = plan
    rng = plan.seed | 1
  }

  func uniform() -> Double {
    rng ^= rng << 13
    rng ^= rng >> 7
    rng ^= rng << 17
    return Double(rng >> 11) / Double(1 << 53)
  }

  /// Faults armed to happen the next `times` times their draw is made, whatever the plan's
  /// probability (conformance checks inject exactly one fault at a known moment).
  var armed: [String: Int] = [:]

  /// Makes the fault counted under `name` ("forced 429", "response lost after accept", "user event
  /// cut short", "socket closed"…) happen at its next `times` draws.
  public func arm(_ name: String, times: Int = 1) { armed[name, default: 0] += times }

  /// True with probability `p` (or when armed), counted under `name`.
  public func roll(_ p: Double, _ name: String) -> Bool {
    if let n = armed[name] {
      armed[name] = n > 1 ? n - 1 : nil
      counts[name, default: 0] += 1
      return true
    }
    guard p > 0 else { return false }
    if uniform() < p {
      counts[name, default: 0] += 1
      return true
    }
    return false
  }

  func latency() -> Int64? {
    guard let r = plan.restLatencyNs else { return nil }
    counts["latency", default: 0] += 1
    return r.lowerBound + Int64(uniform() * Double(r.upperBound - r.lowerBound))
  }
}

extension VenueREST {
  /// The REST handler with faults: plug into `HTTPServer.deferredHandler`.
  public func handleWithFaults(
    loop: EventLoop, _ req: HTTPRequestHead, _ body: [UInt8],
    _ respond: @escaping ((HTTPResponseHead, [UInt8])?) -> Void
  ) {
    guard let f = faults else {
      respond(handle(req, body))
      return
    }
    func json(_ status: Int, _ code: Int, _ msg: String) -> (HTTPResponseHead, [UInt8]) {
      (
        HTTPResponseHead(
          status: status, headers: HTTPHeaders([("Content-Type", "application/json;charset=UTF-8")])),
        Array(JSONWriter.object([("code", String(code)), ("msg", JSONWriter.string(msg))]).utf8)
      )
    }
    let isOrderCall = req.path == "/api/v3/order" && (req.method == "POST" || req.method == "DELETE")
    var answer: (HTTPResponseHead, [UInt8])?
    let now = clockMs()
    if now < f.backoffUntilMs && !f.couldHaveObeyed(req, body, now: now) {
      // Sent before the client could know: refused like its neighbours, not held against it.
      f.counts["429 for a request already in flight", default: 0] += 1
      var a = json(
        429, -1003,
        "Too much request weight used; current limit is \(weightLimitText).")
      a.0.headers.add("Retry-After", String(max(1, (f.backoffUntilMs - now + 999) / 1000)))
      answer = a
    } else if now < f.backoffUntilMs {
      f.counts["418 for ignoring Retry-After", default: 0] += 1
      let wait = FaultPlan.headerSeconds(2 * f.plan.retryAfterMs)
      f.backoffUntilMs = now + wait * 1000
      f.limitSentMs = .max
      var a = json(418, -1003, "Way too much request weight used; IP banned until \(f.backoffUntilMs).")
      a.0.headers.add("Retry-After", String(wait))
      answer = a
    } else if f.roll(f.plan.restForce418 ?? f.plan.force418, "forced 418") {
      let wait = FaultPlan.headerSeconds(f.plan.retryAfterMs)
      f.backoffUntilMs = now + wait * 1000
      f.limitSentMs = .max
      var a = json(418, -1003, "Way too much request weight used; IP banned until \(f.backoffUntilMs).")
      a.0.headers.add("Retry-After", String(wait))
      answer = a
    } else if f.roll(f.plan.restForce429 ?? f.plan.force429, "forced 429") {
      let wait = FaultPlan.headerSeconds(f.plan.retryAfterMs)
      f.backoffUntilMs = now + wait * 1000
      f.limitSentMs = .max
      var a = json(
        429, -1003,
        "Too much request weight used; current limit is \(weightLimitText).")
      a.0.headers.add("Retry-After", String(wait))
      answer = a
    } else if isOrderCall && f.roll(f.plan.serverErrorBefore, "503 before processing") {
      answer = json(
        503, -1008, "Server is currently overloaded with other requests. Please try again in a few minutes.")
    } else {
      let result = handle(req, body)
      answer = result
      if isOrderCall && result.0.status == 200 {
        if f.roll(f.plan.lostResponseAfterAccept, "response lost after accept") {
          answer = nil
        } else if f.roll(f.plan.serverErrorAfter, "500 after processing") {
          answer = json(500, -1001, "Internal error; unable to process your request. Please try again.")
        }
      }
    }
    if let a = answer, a.0.status == 200, f.roll(f.plan.malformedResponse, "REST body cut short") {
      answer = (a.0, Array(a.1.prefix(a.1.count / 2)))
    }
    // A 429/418 that starts a Retry-After: note when the client is told.
    let tells = f.limitSentMs == .max && now < f.backoffUntilMs
    let clock = clockMs
    func send() {
      if tells && f.limitSentMs == .max { f.limitSentMs = clock() }
      respond(answer)
    }
    if let delay = f.latency() {
      loop.schedule(after: delay) { send() }
    } else {
      send()
    }
  }
}

extension FaultInjector {
  /// False when the request was on its way before the last 429/418 reached its connection: while
  /// that answer is still held back (injected latency); for a signed request, a `timestamp` not
  /// later than the moment it was sent; for an unsigned one, arriving within `inFlightGraceMs`.
  func couldHaveObeyed(_ req: HTTPRequestHead, _ body: [UInt8], now: Int64) -> Bool {
    if limitSentMs == .max { return false }
    let query = req.target.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
    let signedAt =
      VenueREST.params(query)["timestamp"].flatMap { Int64($0) }
      ?? VenueREST.params(String(decoding: body, as: UTF8.self))["timestamp"].flatMap { Int64($0) }
    if let signedAt { return signedAt > limitSentMs }
    return now >= limitSentMs + Self.inFlightGraceMs
  }
}

extension VenueREST {
  /// The WebSocket API's share of the fault plan for an order request (Binance limits by IP, so
  /// REST and the WebSocket API answer to one Retry-After): during a Retry-After, a request signed
  /// before the 429/418 was sent is refused with 429 and one signed after it is banned (418, the
  /// wait doubled); otherwise a forced 418 or 429. nil: carry the request out.
  func wsRateLimitFault(_ params: [String: String], now: Int64) -> (error: VenueError, retryAfterMs: Int64)? {
    guard let f = faults else { return nil }
    let tooMuch = "Too much request weight used; current limit is \(weightLimitText)."
    if now < f.backoffUntilMs {
      let signedAt = params["timestamp"].flatMap { Int64($0) } ?? now
      if f.limitSentMs != .max && signedAt <= f.limitSentMs {
        f.counts["429 for a request already in flight", default: 0] += 1
        return (VenueError(429, -1003, tooMuch), f.backoffUntilMs)
      }
      f.counts["418 for ignoring Retry-After", default: 0] += 1
      f.backoffUntilMs = now + 2 * f.plan.retryAfterMs
      f.limitSentMs = now
      return (
        VenueError(418, -1003, "Way too much request weight used; IP banned until \(f.backoffUntilMs)."),
        f.backoffUntilMs
      )
    }
    if f.roll(f.plan.force418, "forced 418") {
      f.backoffUntilMs = now + f.plan.retryAfterMs
      f.limitSentMs = now
      return (
        VenueError(418, -1003, "Way too much request weight used; IP banned until \(f.backoffUntilMs)."),
        f.backoffUntilMs
      )
    }
    if f.roll(f.plan.force429, "forced 429") {
      f.backoffUntilMs = now + f.plan.retryAfterMs
      f.limitSentMs = now
      return (VenueError(429, -1003, tooMuch), f.backoffUntilMs)
    }
    return nil
  }
}
