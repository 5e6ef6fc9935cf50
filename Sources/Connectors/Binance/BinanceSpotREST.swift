import Engine
import FastBook
import Foundation
import Wire

/// Binance spot order entry over REST (signed with HMAC-SHA256), on Wire's HTTP client.
///
/// Every call ends in one of three kinds of answer, which is what order tracking needs: the
/// venue's definite yes, its definite no (a Binance error code), or "unknown" — a timeout, a
/// dropped connection, a 5xx — where the order may or may not exist and must be found out.
public final class BinanceSpotREST {
  public enum Outcome {
    /// The decoded JSON body: Foundation's object (or list for myTrades), or with
    /// `BodyReader.decoded` a `BinanceRESTAnswer`.
    case ok(Any)
    case refused(code: Int, message: String, httpStatus: Int)
    /// The request's effect is unknown (network error, timeout, 5xx).
    case unknown(String)
    /// Rate limited: back off (429) or halt (418) for `retryAfter` seconds.
    case limited(httpStatus: Int, retryAfter: Int, message: String)
  }

  /// How a body is read: `foundation` (JSONSerialization, for the rare start-up and recovery
  /// answers whose every field a caller may want) or `decoded` (CSimdJSON into a
  /// `BinanceRESTAnswer`: orders, myTrades lists and errors, for the runtime's per-order paths).
  public enum BodyReader: Sendable { case foundation, decoded }

  /// Reads `BodyReader.decoded` bodies (created on first use).
  public private(set) lazy var bodyDecoder = BinanceRESTDecoder(instrument: instrument)

  let http: HTTPClient
  let apiKey: String
  /// The signing key, prepared once (the secret itself is not kept).
  let key: HMACSHA256Key
  public let instrument: Instrument
  public var recvWindowMs = 5000
  public var timeoutNs: Int64 = 5_000_000_000
  /// The venue's clock minus ours (from `GET /api/v3/time`).
  public var timeOffsetMs: Int64 = 0
  /// Request timestamps and Retry-After deadlines are read on this (wall time).
  public var time: any TimeSource = LiveTime.shared
  /// The venue's used weight, from every response's x-mbx-used-weight header (the first
  /// REQUEST_WEIGHT pool's); every count the venue reports is adopted by the limiter.
  public private(set) var usedWeight = 0
  /// The limiter's pools the venue reports counts for, and their headers.
  let usageHeaders: [(pool: Int, name: String)]
  /// Called when the venue refuses a signed request with -1021 (timestamp outside recvWindow):
  /// our clock has drifted from the venue's (the session measures it again).
  public var onClockRefusal: (() -> Void)?
  /// 200 answers whose body is not JSON are reported here (and read as an unknown outcome).
  public let problems = ProblemLog()
  /// The IP's request budget and its 429/418 Retry-After (wall-clock ns). Binance limits and bans
  /// by IP: share one limiter between every client of the engine that sends requests (the
  /// market-data snapshot fetcher too), so a ban one of them is given holds all of them back.
  public let limiter: RateLimiter
  /// Nothing is sent before this (wall-clock ns): the end of the last 429/418's Retry-After.
  public var pausedUntilNs: Int64 { max(limiter.backoffUntil, limiter.haltedUntil) }
  /// Unix ns on `time`: what `pausedUntilNs` is compared with.
  public var wallNs: Int64 { time.wallNs }
  /// Requests wait here and go out one at a time (the connection carries one at a time anyway),
  /// so a 429 stops the ones behind it instead of letting them earn a 418. Each is signed when it
  /// leaves, so waiting never spends its recvWindow.
  var queue: [(kind: RateLimiter.RequestKind, issue: () -> Void)] = []
  var queueHead = 0
  var inFlight = false
  var pumpScheduled = false

  public init(
    http: HTTPClient, apiKey: String, secret: String, instrument: Instrument,
    limiter: RateLimiter = RateLimiter()
  ) {
    self.limiter = limiter
    usageHeaders = BinanceRateLimits.usageHeaders(limiter).map {
      ($0.pool, String(decoding: $0.name, as: UTF8.self))
    }
    self.http = http
    self.apiKey = apiKey
    self.key = HMACSHA256Key(secret: secret)
    self.instrument = instrument
  }

  func send(
    _ method: String, _ path: String, _ params: [(String, String)], signed: Bool,
    kind: RateLimiter.RequestKind, reader: BodyReader = .foundation, _ done: @escaping (Outcome) -> Void
  ) {
    let issue: () -> Void = { [weak self] in
      self?.issue(method, path, params, signed: signed, reader: reader) { outcome in
        guard let self else { return done(outcome) }
        self.inFlight = false
        if case .limited(let status, let retryAfter, let message) = outcome {
          if status == 418 {
            self.limiter.on418(retryAfterSeconds: retryAfter, now: self.wallNs, message: message)
          } else {
            self.limiter.on429(retryAfterSeconds: retryAfter, now: self.wallNs)
          }
        }
        done(outcome)
        self.pump()
      }
    }
    queue.append((kind, issue))
    pump()
  }

  /// Requests waiting to be sent (not counting the one in flight).
  public var queued: Int { queue.count - queueHead }
  /// Requests not answered yet: waiting, and the one in flight.
  public var pending: Int { queued + (inFlight ? 1 : 0) }

  func pump() {
    guard !inFlight, queueHead < queue.count else { return }
    let wait = pausedUntilNs - wallNs
    if wait > 0 {
      if !pumpScheduled {
        pumpScheduled = true
        _ = http.loop.schedule(after: wait) { [weak self] in
          self?.pumpScheduled = false
          self?.pump()
        }
      }
      return
    }
    // The request's weight, under the venue's limits: a spent pool holds it (and the ones behind
    // it) until the pool's window turns.
    switch limiter.acquire(queue[queueHead].kind, now: wallNs) {
    case .go: break
    case .waitUntil(let t), .halted(let t, _):
      if !pumpScheduled {
        pumpScheduled = true
        _ = http.loop.schedule(after: max(1_000_000, t - wallNs)) { [weak self] in
          self?.pumpScheduled = false
          self?.pump()
        }
      }
      return
    }
    let next = queue[queueHead].issue
    queueHead += 1
    if queueHead == queue.count {
      queue.removeAll(keepingCapacity: true)
      queueHead = 0
    }
    inFlight = true
    next()
  }

  func issue(
    _ method: String, _ path: String, _ params: [(String, String)], signed: Bool,
    reader: BodyReader = .foundation, _ done: @escaping (Outcome) -> Void
  ) {
    var query = params.map { "\($0.0)=\(Self.percentEncode($0.1))" }.joined(separator: "&")
    var head = HTTPRequestHead(method: method, target: path)
    if signed {
      query +=
        (query.isEmpty ? "" : "&") + "recvWindow=\(recvWindowMs)&timestamp=\(time.wallMs + timeOffsetMs)"
      query += "&signature=" + key.hex(query)
      head.headers.add("X-MBX-APIKEY", apiKey)
    }
    head.target = path + (query.isEmpty ? "" : "?" + query)
    let sentAt = wallNs
    http.request(head, timeoutNs: timeoutNs) { [weak self] result in
      switch result {
      case .failure(let e):
        done(.unknown("\(e)"))
      case .success(let r):
        self?.syncUsage(r.head.headers, sentAt: sentAt)
        if reader == .decoded, let self { return self.classifyDecoded(r, done) }
        let body = try? JSONSerialization.jsonObject(with: Data(r.body))
        let json = body as? [String: Any]
        let status = r.head.status
        if status == 429 || status == 418 {
          done(
            .limited(
              httpStatus: status, retryAfter: Int(r.head.headers["retry-after"] ?? "60") ?? 60,
              message: json?["msg"] as? String ?? ""))
        } else if status >= 500 {
          done(.unknown("HTTP \(status)"))
        } else if status == 200, let body {
          done(.ok(body))
        } else if status == 200 {
          // The request was processed, but what it did cannot be read: unknown, not failed.
          self?.problems.report(.malformedRESTBody, .outcomeUnknown, message: r.body)
          done(.unknown("HTTP 200 with a body that is not JSON"))
        } else if let code = json?["code"] as? Int {
          if code == -1021 { self?.onClockRefusal?() }
          done(.refused(code: code, message: json?["msg"] as? String ?? "", httpStatus: status))
        } else {
          done(.unknown("HTTP \(status) without a Binance error body"))
        }
      }
    }
  }

  /// The venue's counts in a response's headers, into the limiter (`sentAt`: when its request
  /// left, on `wallNs`).
  func syncUsage(_ headers: HTTPHeaders, sentAt: Int64? = nil) {
    for u in usageHeaders {
      guard let v = headers[u.name].flatMap({ Int($0) }) else { continue }
      limiter.sync(pool: u.pool, used: v, now: wallNs, sentAt: sentAt)
      if limiter.pools[u.pool].tag == BinanceRateLimits.Kind.requestWeight.rawValue { usedWeight = v }
    }
  }

  /// `issue`'s answer for a `BodyReader.decoded` request: the same classes of outcome, the body
  /// read by CSimdJSON.
  func classifyDecoded(_ r: HTTPClient.Response, _ done: (Outcome) -> Void) {
    let status = r.head.status
    let read = bodyDecoder.decode(r.body)
    let answer = try? read.get()
    if status == 429 || status == 418 {
      done(
        .limited(
          httpStatus: status, retryAfter: Int(r.head.headers["retry-after"] ?? "60") ?? 60,
          message: answer?.errorMessage ?? ""))
    } else if status >= 500 {
      done(.unknown("HTTP \(status)"))
    } else if status == 200, let answer, answer.errorCode == nil {
      done(.ok(answer))
    } else if status == 200 {
      // The request was processed, but what it did cannot be read: unknown, not failed.
      problems.report(.malformedRESTBody, .outcomeUnknown, message: r.body)
      done(.unknown("HTTP 200 with a body that cannot be read"))
    } else if let code = answer?.errorCode {
      if code == -1021 { onClockRefusal?() }
      done(.refused(code: Int(code), message: answer?.errorMessage ?? "", httpStatus: status))
    } else {
      done(.unknown("HTTP \(status) without a Binance error body"))
    }
  }

  static func percentEncode(_ s: String) -> String {
    var out = ""
    for b in s.utf8 {
      switch b {
      case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
        UInt8(ascii: "~"):
        out.unicodeScalars.append(UnicodeScalar(b))
      default:
        out += String(format: "%%%02X", b)
      }
    }
    return out
  }

  public func price(_ raw: Int64) -> String { FixedPoint.format(raw, scale: instrument.priceScale) }
  public func quantity(_ raw: Int64) -> String { FixedPoint.format(raw, scale: instrument.quantityScale) }

  /// POST /api/v3/order (LIMIT GTC unless said otherwise), RESULT response.
  public func placeLimit(
    symbol: String, clientOrderID: ClientOrderID, side: TradeSide, price p: Int64, quantity q: Int64,
    timeInForce: String = "GTC", reader: BodyReader = .foundation, _ done: @escaping (Outcome) -> Void
  ) {
    send(
      "POST", "/api/v3/order",
      [
        ("symbol", symbol), ("side", side == .buy ? "BUY" : "SELL"), ("type", "LIMIT"),
        ("timeInForce", timeInForce),
        ("quantity", quantity(q)), ("price", price(p)), ("newClientOrderId", clientOrderID.value),
        ("newOrderRespType", "RESULT"),
      ], signed: true, kind: BinanceRequest.place, reader: reader, done)
  }

  /// DELETE /api/v3/order by client order id.
  public func cancel(
    symbol: String, clientOrderID: ClientOrderID, reader: BodyReader = .foundation,
    _ done: @escaping (Outcome) -> Void
  ) {
    send(
      "DELETE", "/api/v3/order", [("symbol", symbol), ("origClientOrderId", clientOrderID.value)],
      signed: true, kind: BinanceRequest.cancel, reader: reader, done)
  }

  /// GET /api/v3/order by client order id.
  public func status(
    symbol: String, clientOrderID: ClientOrderID, reader: BodyReader = .foundation,
    _ done: @escaping (Outcome) -> Void
  ) {
    send(
      "GET", "/api/v3/order", [("symbol", symbol), ("origClientOrderId", clientOrderID.value)], signed: true,
      kind: BinanceRequest.orderStatus, reader: reader, done)
  }

  /// GET /api/v3/order by the venue's order id.
  public func status(symbol: String, venueOrderID: Int64, _ done: @escaping (Outcome) -> Void) {
    send(
      "GET", "/api/v3/order", [("symbol", symbol), ("orderId", String(venueOrderID))], signed: true,
      kind: BinanceRequest.orderStatus, done)
  }

  /// GET /api/v3/openOrders for one symbol.
  public func openOrders(symbol: String, _ done: @escaping (Outcome) -> Void) {
    send(
      "GET", "/api/v3/openOrders", [("symbol", symbol)], signed: true, kind: BinanceRequest.openOrders, done)
  }

  /// GET /api/v3/account: balances (free and locked per asset) and permissions.
  public func account(_ done: @escaping (Outcome) -> Void) {
    send("GET", "/api/v3/account", [], signed: true, kind: BinanceRequest.account, done)
  }

  /// GET /api/v3/myTrades: the most recent `limit`, or from trade id `fromId` on, oldest first;
  /// with `orderId`, only that order's.
  public func myTrades(
    symbol: String, fromId: Int64? = nil, orderId: Int64? = nil, limit: Int = 1000,
    reader: BodyReader = .foundation, _ done: @escaping (Outcome) -> Void
  ) {
    var params = [("symbol", symbol), ("limit", String(limit))]
    if let fromId { params.append(("fromId", String(fromId))) }
    if let orderId { params.append(("orderId", String(orderId))) }
    send("GET", "/api/v3/myTrades", params, signed: true, kind: BinanceRequest.myTrades, reader: reader, done)
  }
}
