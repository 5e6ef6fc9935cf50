import CPlatform
import FastBook
import Wire

/// API credentials the venue accepts: an HMAC secret or an Ed25519 public key per API key.
public struct VenueCredential: Sendable {
  public var apiKey: String
  public var account: Int
  public var hmacSecret: String?
  public var ed25519PublicKey: [UInt8]?
  public init(apiKey: String, account: Int, hmacSecret: String? = nil, ed25519PublicKey: [UInt8]? = nil) {
    self.apiKey = apiKey
    self.account = account
    self.hmacSecret = hmacSecret
    self.ed25519PublicKey = ed25519PublicKey
  }
}

extension VenueSymbol {
  /// A price as Binance prints it ("61837.63000000").
  public func priceString(_ ticks: Int64) -> String {
    VenueREST.dec8(Int128(ticks) * Int128(instrument.tickSize), scale: instrument.priceScale)
  }
  public func quantityString(_ q: Int64) -> String {
    VenueREST.dec8(Int128(q), scale: instrument.quantityScale)
  }
}

/// The venue's Binance-spot REST front door on Wire's HTTP server: public market data, signed
/// order entry and account endpoints, request weights with 429 and 418 as Binance applies them,
/// and Binance's error codes and messages for every refusal. A refused request changes nothing.
public final class VenueREST {
  public let engine: MatchingEngine
  let credentials: [String: VenueCredential]
  public private(set) var weightLimit: Int
  /// The REQUEST_WEIGHT window (Binance: one minute), advertised in exchangeInfo and named in
  /// the used-weight header (`x-mbx-used-weight-1m`).
  public private(set) var weightWindowMs: Int64 = 60_000
  /// 429s within one minute window after which the client is banned (418).
  public let banAfterViolations: Int
  public let banDurationMs: Int64
  var windowStart: Int64 = 0
  var usedWeight = 0
  var violations = 0
  var bannedUntil: Int64 = 0
  public private(set) var rejectedRequests = 0
  /// 429s for a spent minute budget of request weight (not the bans that follow them).
  public private(set) var weightRefusals = 0
  /// Counts of each refusal code, for tests and the status page.
  public private(set) var errorCounts: [Int: Int] = [:]
  public var clockMs: () -> Int64
  /// Fault injection (REST side: latency, lost responses, 5xx, forced 429, stale status).
  public var faults: FaultInjector?

  public init(
    engine: MatchingEngine, credentials: [VenueCredential], weightLimit: Int = 6000,
    banAfterViolations: Int = 3,
    banDurationMs: Int64 = 120_000, clockMs: @escaping () -> Int64
  ) {
    self.engine = engine
    self.credentials = Dictionary(uniqueKeysWithValues: credentials.map { ($0.apiKey, $0) })
    self.weightLimit = weightLimit
    self.banAfterViolations = banAfterViolations
    self.banDurationMs = banDurationMs
    self.clockMs = clockMs
  }

  /// Sets the REQUEST_WEIGHT limit (from configuration), per minute unless a window is given
  /// (whole seconds).
  public func weightLimitOverride(_ limit: Int, windowMs: Int64 = 60_000) {
    weightLimit = limit
    weightWindowMs = max(1_000, windowMs / 1_000 * 1_000)
  }

  /// A window as Binance names it: exchangeInfo's interval and intervalNum, and the letter of
  /// its headers ("1m", "10s").
  static func interval(ms: Int64) -> (interval: String, num: Int64, header: String) {
    if ms % 86_400_000 == 0 { return ("DAY", ms / 86_400_000, "\(ms / 86_400_000)d") }
    if ms % 3_600_000 == 0 { return ("HOUR", ms / 3_600_000, "\(ms / 3_600_000)h") }
    if ms % 60_000 == 0 { return ("MINUTE", ms / 60_000, "\(ms / 60_000)m") }
    return ("SECOND", ms / 1_000, "\(ms / 1_000)s")
  }

  /// "6000 request weight per 1 MINUTE" (Binance's wording in its -1003 messages).
  var weightLimitText: String {
    let i = Self.interval(ms: weightWindowMs)
    return "\(weightLimit) request weight per \(i.num) \(i.interval)"
  }

  /// The used weight in the current window (what the header and `rateLimits` report).
  func currentWeight(now: Int64) -> Int {
    now / weightWindowMs * weightWindowMs == windowStart ? usedWeight : 0
  }

  /// The account's new orders in the current 10-second window.
  func currentOrders(_ account: Int, now: Int64) -> Int {
    guard let w = orderWindow[account], w.start == now / 10_000 * 10_000 else { return 0 }
    return w.count
  }

  /// The HTTP handler (plug into `HTTPServer`).
  public func handle(_ req: HTTPRequestHead, _ body: [UInt8]) -> (HTTPResponseHead, [UInt8]) {
    let now = clockMs()
    let (status, json, extra) = route(req, body, now: now)
    var h = HTTPResponseHead(
      status: status, headers: HTTPHeaders([("Content-Type", "application/json;charset=UTF-8")]))
    h.headers.add(
      "x-mbx-used-weight-" + Self.interval(ms: weightWindowMs).header, String(currentWeight(now: clockMs())))
    for (k, v) in extra { h.headers.add(k, v) }
    return (h, Array(json.utf8))
  }

  func fail(_ e: VenueError) -> (Int, String, [(String, String)]) {
    rejectedRequests += 1
    errorCounts[e.code, default: 0] += 1
    return (
      e.httpStatus, JSONWriter.object([("code", String(e.code)), ("msg", JSONWriter.string(e.msg))]), []
    )
  }

  static let weights: [String: Int] = [
    "/api/v3/ping": 1, "/api/v3/time": 1, "/api/v3/exchangeInfo": 20, "/api/v3/depth": 5,
    "/api/v3/ticker/bookTicker": 2, "/api/v3/order": 1, "/api/v3/openOrders": 6, "/api/v3/account": 20,
    "/api/v3/myTrades": 20,
  ]

  /// Spends `weight` of the IP's minute budget (REST and the WebSocket API alike, as Binance
  /// counts them), or says why not: a running ban (418), or a spent budget (429; the third in a
  /// minute earns a ban). With the Retry-After to give, in seconds.
  func chargeWeight(_ weight: Int, now: Int64) -> (VenueError, Int)? {
    let minute = now / weightWindowMs * weightWindowMs
    if minute != windowStart {
      windowStart = minute
      usedWeight = 0
      violations = 0
    }
    let banned = { (until: Int64) in
      VenueError(
        418, -1003,
        "Way too much request weight used; IP banned until \(until). Please use WebSocket Streams for live updates to avoid bans."
      )
    }
    if now < bannedUntil { return (banned(bannedUntil), Int((bannedUntil - now + 999) / 1000)) }
    if usedWeight + weight > weightLimit {
      violations += 1
      if violations >= banAfterViolations {
        bannedUntil = now + banDurationMs
        return (banned(bannedUntil), Int(banDurationMs / 1000))
      }
      weightRefusals += 1
      return (
        VenueError(
          429, -1003,
          "Too much request weight used; current limit is \(weightLimitText). Please use WebSocket Streams for live updates to avoid polling the API."
        ), Int((minute + weightWindowMs - now + 999) / 1000)
      )
    }
    usedWeight += weight
    return nil
  }

  /// New orders an account may place per 10 seconds (Binance's ORDERS limit, which exchangeInfo
  /// advertises). Counted per placement — at least as strict as Binance, which counts unfilled
  /// orders and gives one back at an order's first fill.
  public private(set) var orderLimitPer10s = 100
  public func orderLimitOverride(_ limit: Int) { orderLimitPer10s = limit }
  var orderWindow: [Int: (start: Int64, count: Int)] = [:]
  /// Refusals for too many new orders (-1015).
  public private(set) var orderRateRefusals = 0

  /// Counts a new order of `account` at `now`, or refuses it: 429, -1015, with the end of the
  /// window as the Retry-After.
  func chargeNewOrder(_ account: Int, now: Int64) throws(VenueError) {
    let start = now / 10_000 * 10_000
    var w = orderWindow[account] ?? (start, 0)
    if w.start != start { w = (start, 0) }
    guard w.count < orderLimitPer10s else {
      orderRateRefusals += 1
      throw VenueError(
        429, -1015, "Too many new orders; current limit is \(orderLimitPer10s) orders per 10 SECOND.")
    }
    w.count += 1
    orderWindow[account] = w
  }

  /// When the current new-order window of `now` ends (ms).
  func orderWindowEnd(now: Int64) -> Int64 { now / 10_000 * 10_000 + 10_000 }

  func route(_ req: HTTPRequestHead, _ body: [UInt8], now: Int64) -> (Int, String, [(String, String)]) {
    // Rate limits first: a banned or over-limit client is refused before anything else.
    var weight = Self.weights[req.path] ?? 1
    if req.path == "/api/v3/depth" {
      let limit = Int(Self.params(req.query ?? "")["limit"] ?? "100") ?? 100
      weight = limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250
    }
    if req.path == "/api/v3/order" && req.method == "GET" { weight = 4 }
    if req.path == "/api/v3/myTrades" && Self.params(req.query ?? "")["orderId"] != nil { weight = 5 }
    if req.path == "/api/v3/openOrders" && req.method == "GET"
      && Self.params(req.query ?? "")["symbol"] == nil
    {
      weight = 80
    }
    if let (e, retryAfter) = chargeWeight(weight, now: now) {
      var r = fail(e)
      r.2 = [("Retry-After", String(retryAfter))]
      return r
    }
    let query = req.query ?? ""
    let bodyText = String(decoding: body, as: UTF8.self)
    var p = Self.params(query)
    for (k, v) in Self.params(bodyText) where p[k] == nil { p[k] = v }  // the query wins (Binance)
    do throws(VenueError) {
      switch (req.method, req.path) {
      case ("GET", "/api/v3/ping"): return (200, "{}", [])
      case ("GET", "/api/v3/time"): return (200, JSONWriter.object([("serverTime", String(now))]), [])
      case ("GET", "/api/v3/exchangeInfo"): return (200, exchangeInfo(now: now, symbol: p["symbol"]), [])
      case ("GET", "/api/v3/depth"):
        let sym = try symbol(p)
        let limit = min(Int(p["limit"] ?? "100") ?? 100, 5000)
        return (200, depth(sym, limit: limit), [])
      case ("GET", "/api/v3/ticker/bookTicker"):
        return (200, bookTicker(try symbol(p)), [])
      default: break
      }
      // Signed endpoints.
      let account = try authenticate(req, query: query, body: bodyText, params: p, now: now)
      switch (req.method, req.path) {
      case ("POST", "/api/v3/order"):
        let placed = try newOrder(account, p)
        return (200, placed, [("x-mbx-order-count-10s", String(currentOrders(account, now: now)))])
      case ("DELETE", "/api/v3/order"): return (200, try cancelOrder(account, p), [])
      case ("GET", "/api/v3/order"): return (200, try queryOrder(account, p), [])
      case ("GET", "/api/v3/openOrders"): return (200, openOrders(account, p), [])
      case ("DELETE", "/api/v3/openOrders"):
        let sym = try symbol(p)
        let cancelled = try engine.cancelAll(account: account, symbol: sym.name)
        return (200, JSONWriter.array(cancelled.map { orderJSON($0, sym, full: false, cancel: true) }), [])
      case ("GET", "/api/v3/account"): return (200, accountJSON(account, now: now), [])
      case ("GET", "/api/v3/myTrades"): return (200, try myTrades(account, p), [])
      default:
        return (404, JSONWriter.object([("code", "-1000"), ("msg", JSONWriter.string("Unknown path."))]), [])
      }
    } catch {
      var r = fail(error)
      if error.code == -1015 {
        r.2 = [("Retry-After", String((orderWindowEnd(now: now) - now + 999) / 1000))]
      }
      return r
    }
  }

  // MARK: parameters and authentication

  /// Decodes `a=1&b=2` (percent-encoding and '+').
  static func params(_ s: String) -> [String: String] {
    var out: [String: String] = [:]
    for part in s.split(separator: "&") {
      let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      let k = percentDecode(String(kv[0]))
      if out[k] == nil { out[k] = kv.count > 1 ? percentDecode(String(kv[1])) : "" }
    }
    return out
  }

  static func percentDecode(_ s: String) -> String {
    var bytes: [UInt8] = []
    var it = Array(s.utf8)[...]
    while let c = it.popFirst() {
      if c == UInt8(ascii: "+") {
        bytes.append(32)
      } else if c == UInt8(ascii: "%"), it.count >= 2,
        let v = UInt8(String(decoding: it.prefix(2), as: UTF8.self), radix: 16)
      {
        bytes.append(v)
        it = it.dropFirst(2)
      } else {
        bytes.append(c)
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// Removes `signature=...` from a raw parameter string; returns the rest and the signature.
  static func stripSignature(_ raw: String) -> (String, String?) {
    var sig: String? = nil
    let kept = raw.split(separator: "&", omittingEmptySubsequences: false).filter { part in
      if part.hasPrefix("signature=") {
        sig = percentDecode(String(part.dropFirst("signature=".count)))
        return false
      }
      return true
    }
    return (kept.joined(separator: "&"), sig)
  }

  /// WebSocket API authentication: `apiKey`, `timestamp` and `signature` among the params; the
  /// payload is every other param sorted by name, `k=v` joined with `&` (Binance's WS API rule).
  func authenticateWS(_ params: [String: String], now: Int64) throws(VenueError) -> Int {
    guard let key = params["apiKey"], !key.isEmpty else {
      throw VenueError(400, -2014, "API-key format invalid.")
    }
    guard let cred = credentials[key] else {
      throw VenueError(400, -2015, "Invalid API-key, IP, or permissions for action.")
    }
    try checkTimestamp(params, now: now)
    guard let signature = params["signature"], !signature.isEmpty else {
      throw .badParam("Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    }
    let payload = params.filter { $0.key != "signature" }.sorted { $0.key < $1.key }.map {
      "\($0.key)=\($0.value)"
    }
    .joined(separator: "&")
    guard verify(cred, payload: payload, signature: signature) else {
      throw VenueError(400, -1022, "Signature for this request is not valid.")
    }
    return cred.account
  }

  func checkTimestamp(_ params: [String: String], now: Int64) throws(VenueError) {
    guard let ts = params["timestamp"].flatMap({ Int64($0) }) else {
      throw .badParam("Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
    }
    let recvWindow = params["recvWindow"].flatMap { Double($0) } ?? 5000
    guard recvWindow > 0 && recvWindow <= 60_000 else {
      throw VenueError(400, -1131, "recvWindow must be less than 60000")
    }
    if ts >= now + 1000 {
      throw VenueError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    }
    if Double(now - ts) > recvWindow {
      throw VenueError(400, -1021, "Timestamp for this request is outside of the recvWindow.")
    }
  }

  func verify(_ cred: VenueCredential, payload: String, signature: String) -> Bool {
    if let secret = cred.hmacSecret {
      return Signing.equal(Signing.hmacSHA256Hex(secret: secret, payload: payload), signature)
    }
    if let pk = cred.ed25519PublicKey, let raw = Base64.decode(signature) {
      return Signing.verifyEd25519(publicKey: pk, payload: payload, signature: raw)
    }
    return false
  }

  func authenticate(_ req: HTTPRequestHead, query: String, body: String, params: [String: String], now: Int64)
    throws(VenueError) -> Int
  {
    guard let key = req.headers["x-mbx-apikey"], !key.isEmpty, key.count <= 256 else {
      throw VenueError(401, -2014, "API-key format invalid.")
    }
    guard let cred = credentials[key] else {
      throw VenueError(401, -2015, "Invalid API-key, IP, or permissions for action.")
    }
    try checkTimestamp(params, now: now)
    let (q, qs) = Self.stripSignature(query)
    let (b, bs) = Self.stripSignature(body)
    guard let signature = qs ?? bs, !signature.isEmpty else {
      throw .badParam("Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    }
    let ok = verify(cred, payload: q + b, signature: signature)
    guard ok else { throw VenueError(400, -1022, "Signature for this request is not valid.") }
    return cred.account
  }

  func symbol(_ p: [String: String]) throws(VenueError) -> VenueSymbol {
    guard let name = p["symbol"] else {
      throw .badParam("Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.")
    }
    guard let s = engine.symbols[name.uppercased()] else { throw .badSymbol }
    return s
  }

  /// Where execution reports go (the user-data stream); set by the WebSocket side.
  public var onOrderEvents: (([OrderEvent]) -> Void)?

  // MARK: formatting

  /// A decimal string with 8 fraction digits, as Binance prints them.
  static func dec8(_ raw: Int128, scale: Int) -> String {
    var r = raw
    var sc = scale
    while sc < 8 {
      r *= 10
      sc += 1
    }
    while sc > 8 {
      r /= 10
      sc -= 1
    }
    return FixedPoint.format(r, scale: 8)
  }
  func price(_ s: VenueSymbol, _ ticks: Int64) -> String { s.priceString(ticks) }
  func qty(_ s: VenueSymbol, _ q: Int64) -> String { s.quantityString(q) }
  func quote(_ s: VenueSymbol, _ n: Int128) -> String {
    Self.dec8(n, scale: s.instrument.priceScale + s.instrument.quantityScale)
  }
  static func units(_ u: Int128) -> String { dec8(u, scale: MatchingEngine.assetScale) }
}
