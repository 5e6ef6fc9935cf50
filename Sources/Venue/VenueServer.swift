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
  /// 429s within one minute window after which the client is banned (418).
  public let banAfterViolations: Int
  public let banDurationMs: Int64
  var windowStart: Int64 = 0
  var usedWeight = 0
  var violations = 0
  var bannedUntil: Int64 = 0
  public private(set) var rejectedRequests = 0
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

  /// Sets the REQUEST_WEIGHT limit per minute (from configuration).
  public func weightLimitOverride(_ limit: Int) { weightLimit = limit }

  /// The HTTP handler (plug into `HTTPServer`).
  public func handle(_ req: HTTPRequestHead, _ body: [UInt8]) -> (HTTPResponseHead, [UInt8]) {
    let now = clockMs()
    let (status, json, extra) = route(req, body, now: now)
    var h = HTTPResponseHead(
      status: status, headers: HTTPHeaders([("Content-Type", "application/json;charset=UTF-8")]))
    h.headers.add("x-mbx-used-weight-1m", String(usedWeight))
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

  func route(_ req: HTTPRequestHead, _ body: [UInt8], now: Int64) -> (Int, String, [(String, String)]) {
    // Rate limits first: a banned or over-limit client is refused before anything else.
    let minute = now / 60_000 * 60_000
    if minute != windowStart {
      windowStart = minute
      usedWeight = 0
      violations = 0
    }
    if now < bannedUntil {
      var r = fail(
        VenueError(
          418, -1003,
          "Way too much request weight used; IP banned until \(bannedUntil). Please use WebSocket Streams for live updates to avoid bans."
        ))
      r.2 = [("Retry-After", String((bannedUntil - now + 999) / 1000))]
      return r
    }
    var weight = Self.weights[req.path] ?? 1
    if req.path == "/api/v3/depth" {
      let limit = Int(Self.params(req.query ?? "")["limit"] ?? "100") ?? 100
      weight = limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250
    }
    if req.path == "/api/v3/openOrders" && req.method == "GET"
      && Self.params(req.query ?? "")["symbol"] == nil
    {
      weight = 80
    }
    if usedWeight + weight > weightLimit {
      violations += 1
      if violations >= banAfterViolations {
        bannedUntil = now + banDurationMs
        var r = fail(
          VenueError(
            418, -1003,
            "Way too much request weight used; IP banned until \(bannedUntil). Please use WebSocket Streams for live updates to avoid bans."
          ))
        r.2 = [("Retry-After", String(banDurationMs / 1000))]
        return r
      }
      var r = fail(
        VenueError(
          429, -1003,
          "Too much request weight used; current limit is \(weightLimit) request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API."
        ))
      r.2 = [("Retry-After", String((minute + 60_000 - now + 999) / 1000))]
      return r
    }
    usedWeight += weight
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
      case ("POST", "/api/v3/order"): return (200, try newOrder(account, p), [])
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
      return fail(error)
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

  // MARK: endpoints

  func exchangeInfo(now: Int64, symbol: String?) -> String {
    let syms = engine.symbols.values.filter { symbol == nil || $0.name == symbol }.sorted {
      $0.name < $1.name
    }
    let list = syms.map { s -> String in
      let tick = price(s, 1)
      let filters = [
        JSONWriter.object([
          ("filterType", "\"PRICE_FILTER\""), ("minPrice", JSONWriter.string(price(s, s.minPriceTicks))),
          ("maxPrice", JSONWriter.string(price(s, s.maxPriceTicks))), ("tickSize", JSONWriter.string(tick)),
        ]),
        JSONWriter.object([
          ("filterType", "\"LOT_SIZE\""), ("minQty", JSONWriter.string(qty(s, s.minQty))),
          ("maxQty", JSONWriter.string(qty(s, s.maxQty))), ("stepSize", JSONWriter.string(qty(s, s.stepQty))),
        ]),
        JSONWriter.object([
          ("filterType", "\"NOTIONAL\""), ("minNotional", JSONWriter.string(quote(s, s.minNotional))),
          ("applyMinToMarket", s.applyMinToMarket ? "true" : "false"),
          (
            "maxNotional", JSONWriter.string(s.maxNotional > 0 ? quote(s, s.maxNotional) : "9000000.00000000")
          ),
          ("applyMaxToMarket", "false"), ("avgPriceMins", "5"),
        ]),
        JSONWriter.object([("filterType", "\"MAX_NUM_ORDERS\""), ("maxNumOrders", String(s.maxNumOrders))]),
      ]
      return JSONWriter.object([
        ("symbol", JSONWriter.string(s.name)), ("status", "\"TRADING\""),
        ("baseAsset", JSONWriter.string(s.baseAsset)),
        ("baseAssetPrecision", "8"), ("quoteAsset", JSONWriter.string(s.quoteAsset)), ("quotePrecision", "8"),
        ("quoteAssetPrecision", "8"), ("baseCommissionPrecision", "8"), ("quoteCommissionPrecision", "8"),
        ("orderTypes", "[\"LIMIT\",\"LIMIT_MAKER\",\"MARKET\"]"), ("icebergAllowed", "false"),
        ("ocoAllowed", "false"),
        ("otoAllowed", "false"), ("quoteOrderQtyMarketAllowed", "true"), ("allowTrailingStop", "false"),
        ("cancelReplaceAllowed", "false"), ("amendAllowed", "false"), ("isSpotTradingAllowed", "true"),
        ("isMarginTradingAllowed", "false"), ("filters", JSONWriter.array(filters)), ("permissions", "[]"),
        ("permissionSets", "[[\"SPOT\"]]"),
        ("defaultSelfTradePreventionMode", JSONWriter.string(s.defaultSTP.rawValue)),
        (
          "allowedSelfTradePreventionModes",
          JSONWriter.array(s.allowedSTP.map { JSONWriter.string($0.rawValue) })
        ),
      ])
    }
    return JSONWriter.object([
      ("timezone", "\"UTC\""), ("serverTime", String(now)),
      (
        "rateLimits",
        JSONWriter.array([
          JSONWriter.object([
            ("rateLimitType", "\"REQUEST_WEIGHT\""), ("interval", "\"MINUTE\""), ("intervalNum", "1"),
            ("limit", String(weightLimit)),
          ]),
          JSONWriter.object([
            ("rateLimitType", "\"ORDERS\""), ("interval", "\"SECOND\""), ("intervalNum", "10"),
            ("limit", "100"),
          ]),
        ])
      ),
      ("exchangeFilters", "[]"), ("symbols", JSONWriter.array(list)),
    ])
  }

  func depth(_ s: VenueSymbol, limit: Int) -> String {
    let d = engine.depth(symbol: s.name, limit: limit)
    func side(_ l: [BookLevel]) -> String {
      JSONWriter.array(
        l.map { "[\(JSONWriter.string(price(s, $0.tick))),\(JSONWriter.string(qty(s, $0.quantity)))]" })
    }
    return JSONWriter.object([
      ("lastUpdateId", String(engine.bookUpdateID(symbol: s.name))), ("bids", side(d.bids)),
      ("asks", side(d.asks)),
    ])
  }

  func bookTicker(_ s: VenueSymbol) -> String {
    let d = engine.depth(symbol: s.name, limit: 1)
    let b = d.bids.first
    let a = d.asks.first
    return JSONWriter.object([
      ("symbol", JSONWriter.string(s.name)),
      ("bidPrice", JSONWriter.string(b.map { price(s, $0.tick) } ?? "0.00000000")),
      ("bidQty", JSONWriter.string(b.map { qty(s, $0.quantity) } ?? "0.00000000")),
      ("askPrice", JSONWriter.string(a.map { price(s, $0.tick) } ?? "0.00000000")),
      ("askQty", JSONWriter.string(a.map { qty(s, $0.quantity) } ?? "0.00000000")),
    ])
  }

  /// Parses a decimal parameter into a raw at `scale`; -1111 when it has too many decimals,
  /// -1100 when it is not a number.
  func decimal(_ p: [String: String], _ name: String, scale: Int) throws(VenueError) -> Int64? {
    guard let text = p[name] else { return nil }
    do {
      return try FixedPoint.parse(text, scale: scale)
    } catch .tooPrecise {
      throw VenueError(400, -1111, "Parameter '\(name)' has too much precision.")
    } catch {
      throw VenueError(
        400, -1100,
        "Illegal characters found in parameter '\(name)'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.")
    }
  }

  func newOrder(_ account: Int, _ p: [String: String]) throws(VenueError) -> String {
    let s = try symbol(p)
    guard let side = p["side"].flatMap({ OrderSide(rawValue: $0) }) else {
      throw p["side"] == nil
        ? .badParam("Mandatory parameter 'side' was not sent, was empty/null, or malformed.")
        : VenueError(400, -1117, "Invalid side.")
    }
    guard let type = p["type"].flatMap({ OrderType(rawValue: $0) }) else {
      throw p["type"] == nil
        ? .badParam("Mandatory parameter 'type' was not sent, was empty/null, or malformed.")
        : VenueError(400, -1116, "Invalid orderType.")
    }
    var o = NewOrder(account: account, symbol: s.name, side: side, type: type)
    if type == .LIMIT {
      guard let tif = p["timeInForce"] else {
        throw .badParam("Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.")
      }
      guard let t = TimeInForce(rawValue: tif) else { throw VenueError(400, -1115, "Invalid timeInForce.") }
      o.timeInForce = t
    }
    if let q = try decimal(p, "quantity", scale: s.instrument.quantityScale) { o.quantity = q }
    if let q = try decimal(p, "quoteOrderQty", scale: s.instrument.priceScale + s.instrument.quantityScale) {
      o.quoteOrderQty = Int128(q)
    }
    if let pr = try decimal(p, "price", scale: s.instrument.priceScale) {
      guard pr % s.instrument.tickSize == 0 else { throw .filter("PRICE_FILTER") }
      o.priceTicks = pr / s.instrument.tickSize
    }
    o.clientOrderId = p["newClientOrderId"]
    if let stp = p["selfTradePreventionMode"] {
      guard let m = STPMode(rawValue: stp) else { throw VenueError(400, -1013, "Invalid STP mode.") }
      o.stpMode = m
    }
    let respType = p["newOrderRespType"] ?? (type == .MARKET || type == .LIMIT ? "FULL" : "ACK")
    let r = try engine.place(o)
    notifyEvents(r.events)
    switch respType {
    case "ACK":
      return JSONWriter.object([
        ("symbol", JSONWriter.string(s.name)), ("orderId", String(r.order.orderId)), ("orderListId", "-1"),
        ("clientOrderId", JSONWriter.string(r.order.clientOrderId)), ("transactTime", String(r.order.time)),
      ])
    case "RESULT": return orderJSON(r.order, s, full: false, cancel: false, transact: true)
    default:
      var j = orderJSON(r.order, s, full: false, cancel: false, transact: true)
      j.removeLast()
      let fills = r.fills.map { t -> String in
        let takerIsBuyer = !t.buyerIsMaker
        return JSONWriter.object([
          ("price", JSONWriter.string(price(s, t.priceTicks))), ("qty", JSONWriter.string(qty(s, t.qty))),
          (
            "commission", JSONWriter.string(Self.units(takerIsBuyer ? t.buyerCommission : t.sellerCommission))
          ),
          ("commissionAsset", JSONWriter.string(takerIsBuyer ? s.baseAsset : s.quoteAsset)),
          ("tradeId", String(t.tradeId)),
        ])
      }
      return j + ",\"fills\":" + JSONWriter.array(fills) + "}"
    }
  }

  /// Where execution reports go (the user-data stream); set by the WebSocket side.
  public var onOrderEvents: (([OrderEvent]) -> Void)?
  /// Publishes order events (the user-data stream listens): for orders placed on the engine
  /// directly, e.g. another participant in a test.
  public func notifyEvents(_ e: [OrderEvent]) { onOrderEvents?(e) }

  func orderJSON(_ o: VenueOrder, _ s: VenueSymbol, full: Bool, cancel: Bool, transact: Bool = false)
    -> String
  {
    var pairs: [(String, String)] = [
      ("symbol", JSONWriter.string(s.name)), ("orderId", String(o.orderId)), ("orderListId", "-1"),
      ("clientOrderId", JSONWriter.string(o.clientOrderId)),
    ]
    if cancel { pairs.insert(("origClientOrderId", JSONWriter.string(o.clientOrderId)), at: 1) }
    if transact { pairs.append(("transactTime", String(o.updateTime))) }
    pairs += [
      ("price", JSONWriter.string(price(s, o.priceTicks))), ("origQty", JSONWriter.string(qty(s, o.origQty))),
      ("executedQty", JSONWriter.string(qty(s, o.executedQty))),
      ("origQuoteOrderQty", JSONWriter.string(quote(s, o.quoteOrderQty))),
      ("cummulativeQuoteQty", JSONWriter.string(quote(s, o.cumulativeQuoteQty))),
      ("status", JSONWriter.string(o.status.rawValue)),
      ("timeInForce", JSONWriter.string(o.timeInForce.rawValue)),
      ("type", JSONWriter.string(o.type.rawValue)), ("side", JSONWriter.string(o.side.rawValue)),
    ]
    if !cancel && !transact {
      pairs += [
        ("stopPrice", "\"0.00000000\""), ("icebergQty", "\"0.00000000\""), ("time", String(o.time)),
        ("updateTime", String(o.updateTime)), ("isWorking", o.isWorking ? "true" : "false"),
      ]
    }
    pairs += [
      ("workingTime", String(o.isWorking || o.executedQty > 0 ? o.time : -1)),
      ("selfTradePreventionMode", JSONWriter.string(o.stpMode.rawValue)),
    ]
    return JSONWriter.object(pairs)
  }

  /// The symbol and the order named by `orderId` or `origClientOrderId` (one is required).
  func orderReference(_ p: [String: String]) throws(VenueError) -> (VenueSymbol, Int64?, String?) {
    let s = try symbol(p)
    let id = p["orderId"].flatMap { Int64($0) }
    let cid = p["origClientOrderId"]
    guard id != nil || cid != nil else {
      throw VenueError(
        400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
    }
    return (s, id, cid)
  }

  func cancelOrder(_ account: Int, _ p: [String: String]) throws(VenueError) -> String {
    let (s, id, cid) = try orderReference(p)
    let r = try engine.cancel(account: account, symbol: s.name, orderId: id, clientOrderId: cid)
    notifyEvents([r.event])
    return orderJSON(r.order, s, full: false, cancel: true)
  }

  func queryOrder(_ account: Int, _ p: [String: String]) throws(VenueError) -> String {
    let (s, id, cid) = try orderReference(p)
    var o = try engine.order(account: account, symbol: s.name, orderId: id, clientOrderId: cid)
    if let f = faults, o.status == .CANCELED, clockMs() - o.updateTime < f.plan.staleStatusAfterCancelMs {
      // A stale replica: the cancel has not reached it yet.
      f.counts["stale status after cancel", default: 0] += 1
      o.status = o.executedQty > 0 ? .PARTIALLY_FILLED : .NEW
      o.isWorking = true
    }
    return orderJSON(o, s, full: true, cancel: false)
  }

  func openOrders(_ account: Int, _ p: [String: String]) -> String {
    let list = engine.openOrders(account: account, symbol: p["symbol"])
    return JSONWriter.array(
      list.compactMap { o in engine.symbols[o.symbol].map { orderJSON(o, $0, full: true, cancel: false) } })
  }

  func accountJSON(_ account: Int, now: Int64) -> String {
    let assets = (engine.balances[account] ?? [:]).sorted { $0.key < $1.key }
    let maker = engine.symbols.values.first?.makerFeeRate ?? 0
    let taker = engine.symbols.values.first?.takerFeeRate ?? 0
    return JSONWriter.object([
      ("makerCommission", String(maker / 10_000)), ("takerCommission", String(taker / 10_000)),
      ("buyerCommission", "0"), ("sellerCommission", "0"),
      (
        "commissionRates",
        JSONWriter.object([
          ("maker", JSONWriter.string(Self.dec8(Int128(maker), scale: 8))),
          ("taker", JSONWriter.string(Self.dec8(Int128(taker), scale: 8))), ("buyer", "\"0.00000000\""),
          ("seller", "\"0.00000000\""),
        ])
      ),
      ("canTrade", "true"), ("canWithdraw", "false"), ("canDeposit", "false"), ("brokered", "false"),
      ("requireSelfTradePrevention", "false"), ("preventSor", "false"), ("updateTime", String(now)),
      ("accountType", "\"SPOT\""),
      (
        "balances",
        JSONWriter.array(
          assets.map {
            JSONWriter.object([
              ("asset", JSONWriter.string($0.key)), ("free", JSONWriter.string(Self.units($0.value.free))),
              ("locked", JSONWriter.string(Self.units($0.value.locked))),
            ])
          })
      ),
      ("permissions", "[\"SPOT\"]"), ("uid", String(account)),
    ])
  }

  func myTrades(_ account: Int, _ p: [String: String]) throws(VenueError) -> String {
    let s = try symbol(p)
    var list = engine.myTrades(account: account, symbol: s.name)
    // orderId: only that order's trades (Binance: with symbol only).
    if let oid = p["orderId"].flatMap({ Int64($0) }) {
      list = list.filter { ($0.buyerAccount == account ? $0.buyerOrderId : $0.sellerOrderId) == oid }
    }
    let limit = min(Int(p["limit"] ?? "500") ?? 500, 1000)
    // fromId: trades with id ≥ it, oldest first; otherwise the most recent ones.
    let page: ArraySlice<VenueTrade>
    if let from = p["fromId"].flatMap({ Int64($0) }) {
      page = list.drop { $0.tradeId < from }.prefix(limit)
    } else {
      page = list.suffix(limit)
    }
    return JSONWriter.array(
      page.map { t in
        let isBuyer = t.buyerAccount == account
        return JSONWriter.object([
          ("symbol", JSONWriter.string(s.name)), ("id", String(t.tradeId)),
          ("orderId", String(isBuyer ? t.buyerOrderId : t.sellerOrderId)), ("orderListId", "-1"),
          ("price", JSONWriter.string(price(s, t.priceTicks))), ("qty", JSONWriter.string(qty(s, t.qty))),
          ("quoteQty", JSONWriter.string(quote(s, t.quoteQty))),
          ("commission", JSONWriter.string(Self.units(isBuyer ? t.buyerCommission : t.sellerCommission))),
          ("commissionAsset", JSONWriter.string(isBuyer ? s.baseAsset : s.quoteAsset)),
          ("time", String(t.time)),
          ("isBuyer", isBuyer ? "true" : "false"),
          ("isMaker", (isBuyer == t.buyerIsMaker) ? "true" : "false"),
          ("isBestMatch", "true"),
        ])
      })
  }
}
