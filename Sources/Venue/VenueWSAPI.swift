import CPlatform
import Foundation
import Wire

/// Binance's WebSocket API at `/ws-api/v3`: `ping`, `time`, `order.place`, `order.cancel`,
/// `order.status`, and `userDataStream.subscribe.signature`, after which the account's
/// `executionReport` and `outboundAccountPosition` events arrive as
/// `{"subscriptionId":N,"event":{...}}` — spot's only user-data path since listen keys were retired.
public final class VenueWSAPI: WebSocketDelegate {
  let rest: VenueREST
  var engine: MatchingEngine { rest.engine }
  /// account → (socket, subscription id)
  var subscriptions: [Int: [(WebSocket, Int)]] = [:]
  var nextSubscription: [ObjectIdentifier: Int] = [:]
  var sockets: [ObjectIdentifier: WebSocket] = [:]
  var executionID: Int64 = 1
  public private(set) var eventsSent = 0
  /// Called with every request frame and when its handling began (CLOCK_MONOTONIC ns), before it
  /// is parsed: the venue's "order arrived" stamp for tick-to-trade.
  public var onRequest: ((UnsafeRawBufferPointer, Int64) -> Void)?

  public init(rest: VenueREST) {
    self.rest = rest
    let previous = rest.onOrderEvents
    rest.onOrderEvents = { [weak self] events in
      previous?(events)
      self?.publish(events)
    }
  }

  /// Takes `/ws-api/v3` upgrades from the HTTP server.
  public func accept(_ stream: any ByteStream, _ head: HTTPRequestHead) -> Bool {
    guard head.path == "/ws-api/v3" else { return false }
    let ws = WebSocket(server: stream, upgrade: head)
    ws.delegate = self
    sockets[ObjectIdentifier(ws)] = ws
    return true
  }

  public func webSocketDidOpen(_ ws: WebSocket) {}

  public func webSocketDidClose(_ ws: WebSocket, code: UInt16, error: WireError?) {
    sockets[ObjectIdentifier(ws)] = nil
    for (a, list) in subscriptions { subscriptions[a] = list.filter { $0.0 !== ws } }
  }

  public func webSocket(_ ws: WebSocket, didReceive opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer)
  {
    if let hook = onRequest { hook(payload, cplat_now_ns()) }
    guard opcode == .text,
      let obj = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
      let method = obj["method"] as? String
    else {
      reply(ws, id: "null", status: 400, error: VenueError(400, -1000, "Malformed request."))
      return
    }
    let id = Self.jsonValue(obj["id"] ?? NSNull())
    var params: [String: String] = [:]
    for (k, v) in (obj["params"] as? [String: Any] ?? [:]) {
      params[k] = (v as? String) ?? (v as? NSNumber)?.stringValue ?? "\(v)"
    }
    let now = rest.clockMs()
    // The WebSocket API spends the same per-IP weight as REST (Binance counts both).
    let weight = method == "order.status" ? 4 : method.hasPrefix("userDataStream.") ? 2 : 1
    if let (e, retryAfterSeconds) = rest.chargeWeight(weight, now: now) {
      reply(ws, id: id, status: e.httpStatus, error: e, retryAfterMs: now + Int64(retryAfterSeconds) * 1000)
      return
    }
    do throws(VenueError) {
      switch method {
      case "ping": reply(ws, id: id, result: "{}")
      case "time": reply(ws, id: id, result: JSONWriter.object([("serverTime", String(now))]))
      case "userDataStream.subscribe.signature":
        let account = try rest.authenticateWS(params, now: now)
        let sub = nextSubscription[ObjectIdentifier(ws), default: 0]
        if subscriptions[account, default: []].contains(where: { $0.0 === ws }) {
          throw VenueError(400, -2035, "User Data Stream subscription already active.")
        }
        nextSubscription[ObjectIdentifier(ws)] = sub + 1
        subscriptions[account, default: []].append((ws, sub))
        reply(ws, id: id, result: JSONWriter.object([("subscriptionId", String(sub))]))
      case "order.place", "order.cancel":
        let account = try rest.authenticateWS(params, now: now)
        if let limited = rest.wsRateLimitFault(params, now: now) {
          reply(
            ws, id: id, status: limited.error.httpStatus, error: limited.error,
            retryAfterMs: limited.retryAfterMs)
          return
        }
        if let f = rest.faults, f.roll(f.plan.serverErrorBefore, "503 before processing") {
          throw VenueError(
            503, -1008,
            "Server is currently overloaded with other requests. Please try again in a few minutes.")
        }
        let result =
          method == "order.place" ? try rest.newOrder(account, params) : try rest.cancelOrder(account, params)
        if let f = rest.faults {
          // Carried out; then the answer may be lost, be a 500 (status unknown, as Binance says
          // of 5xx), or arrive cut short.
          if f.roll(f.plan.lostResponseAfterAccept, "response lost after accept") { return }
          if f.roll(f.plan.serverErrorAfter, "500 after processing") {
            throw VenueError(500, -1001, "Internal error; unable to process your request. Please try again.")
          }
          if f.roll(f.plan.malformedResponse, "WS API answer cut short") {
            let text = JSONWriter.object([
              ("id", id), ("status", "200"), ("result", result), ("rateLimits", rateLimits(account: account)),
            ])
            try? ws.send(text: String(text.prefix(text.count / 2)))
            return
          }
        }
        reply(ws, id: id, result: result, account: account)
      case "order.status":
        let account = try rest.authenticateWS(params, now: now)
        reply(ws, id: id, result: try rest.queryOrder(account, params))
      default:
        throw VenueError(400, -1000, "Unknown method.")
      }
    } catch {
      reply(
        ws, id: id, status: error.httpStatus, error: error,
        retryAfterMs: error.code == -1015 ? rest.orderWindowEnd(now: now) : nil)
    }
  }

  static func jsonValue(_ v: Any) -> String {
    if let s = v as? String { return JSONWriter.string(s) }
    if let n = v as? NSNumber { return n.stringValue }
    return "null"
  }

  /// The answer's `rateLimits`: the IP's request weight, and for an order call the account's
  /// new orders in the current 10 s window (as Binance reports them).
  func rateLimits(account: Int? = nil) -> String {
    let now = rest.clockMs()
    let w = VenueREST.interval(ms: rest.weightWindowMs)
    var list = [
      JSONWriter.object([
        ("rateLimitType", "\"REQUEST_WEIGHT\""), ("interval", JSONWriter.string(w.interval)),
        ("intervalNum", String(w.num)), ("limit", String(rest.weightLimit)),
        ("count", String(rest.currentWeight(now: now))),
      ])
    ]
    if let account {
      list.append(
        JSONWriter.object([
          ("rateLimitType", "\"ORDERS\""), ("interval", "\"SECOND\""), ("intervalNum", "10"),
          ("limit", String(rest.orderLimitPer10s)), ("count", String(rest.currentOrders(account, now: now))),
        ]))
    }
    return JSONWriter.array(list)
  }

  func reply(_ ws: WebSocket, id: String, result: String, account: Int? = nil) {
    try? ws.send(
      text: JSONWriter.object([
        ("id", id), ("status", "200"), ("result", result), ("rateLimits", rateLimits(account: account)),
      ]))
  }

  /// An error answer; a 429/418 carries `data.serverTime` and `data.retryAfter` (epoch ms), as
  /// Binance's does.
  func reply(_ ws: WebSocket, id: String, status: Int, error: VenueError, retryAfterMs: Int64? = nil) {
    var fields = [("code", String(error.code)), ("msg", JSONWriter.string(error.msg))]
    if let retryAfterMs {
      fields.append(
        (
          "data",
          JSONWriter.object([("serverTime", String(rest.clockMs())), ("retryAfter", String(retryAfterMs))])
        ))
    }
    try? ws.send(
      text: JSONWriter.object([
        ("id", id), ("status", String(status)), ("error", JSONWriter.object(fields)),
        ("rateLimits", rateLimits()),
      ]))
  }

  // MARK: user data

  /// The user-data messages as the fault plan lets them through: some dropped, some sent twice,
  /// some swapped with the next one.
  static func applyFaults<T>(_ messages: [T], _ faults: FaultInjector?) -> [T] {
    guard let f = faults else { return messages }
    var out: [T] = []
    var held: T? = nil
    for m in messages {
      if f.roll(f.plan.dropUserEvent, "user event dropped") { continue }
      if f.roll(f.plan.duplicateUserEvent, "user event duplicated") { out.append(m) }
      if held == nil && f.roll(f.plan.reorderUserEvents, "user events reordered") {
        held = m
        continue
      }
      out.append(m)
      if let h = held {
        out.append(h)
        held = nil
      }
    }
    if let h = held { out.append(h) }
    return out
  }

  /// Sends user-data messages, through the fault plan.
  func deliver(_ messages: [(WebSocket, String)]) {
    for (ws, text) in Self.applyFaults(messages, rest.faults) {
      if let f = rest.faults, f.roll(f.plan.malformedUserEvent, "user event cut short") {
        try? ws.send(text: String(text.prefix(text.count / 2)))
      } else {
        try? ws.send(text: text)
      }
      eventsSent += 1
      if let f = rest.faults, f.roll(f.plan.closeSocket, "socket closed") { ws.close(code: 1006, reason: "") }
    }
  }

  func publish(_ events: [OrderEvent]) {
    var touchedAccounts: [Int: Set<String>] = [:]
    var messages: [(WebSocket, String)] = []
    defer { deliver(messages) }
    for e in events {
      guard let sym = engine.symbols[e.order.symbol] else { continue }
      touchedAccounts[e.order.account, default: []].formUnion([sym.baseAsset, sym.quoteAsset])
      guard let subs = subscriptions[e.order.account], !subs.isEmpty else { continue }
      let report = executionReport(e, sym)
      for (ws, sub) in subs { messages.append((ws, "{\"subscriptionId\":\(sub),\"event\":\(report)}")) }
    }
    let now = rest.clockMs()
    for (account, assets) in touchedAccounts {
      guard let subs = subscriptions[account], !subs.isEmpty else { continue }
      let balances = assets.sorted().map { a -> String in
        let b = engine.balance(account: account, asset: a)
        return JSONWriter.object([
          ("a", JSONWriter.string(a)), ("f", JSONWriter.string(VenueREST.units(b.free))),
          ("l", JSONWriter.string(VenueREST.units(b.locked))),
        ])
      }
      let event = JSONWriter.object([
        ("e", "\"outboundAccountPosition\""), ("E", String(now)), ("u", String(now)),
        ("B", JSONWriter.array(balances)),
      ])
      for (ws, sub) in subs { messages.append((ws, "{\"subscriptionId\":\(sub),\"event\":\(event)}")) }
    }
  }

  /// An executionReport exactly in Binance's shape (`../shared/data/wire/binance-spot/uds_executionReport.json`).
  func executionReport(_ e: OrderEvent, _ s: VenueSymbol) -> String {
    let o = e.order
    let t = e.trade
    let isBuyer = t.map { $0.buyerOrderId == o.orderId } ?? false
    let commission = t.map { isBuyer ? $0.buyerCommission : $0.sellerCommission }
    let isMaker = t.map { ($0.buyerIsMaker && isBuyer) || (!$0.buyerIsMaker && !isBuyer) } ?? false
    let now = rest.clockMs()
    defer { executionID += 1 }
    return JSONWriter.object([
      ("e", "\"executionReport\""), ("E", String(now)), ("s", JSONWriter.string(s.name)),
      ("c", JSONWriter.string(o.clientOrderId)), ("S", JSONWriter.string(o.side.rawValue)),
      ("o", JSONWriter.string(o.type.rawValue)), ("f", JSONWriter.string(o.timeInForce.rawValue)),
      ("q", JSONWriter.string(s.quantityString(o.origQty))),
      ("p", JSONWriter.string(s.priceString(o.priceTicks))),
      ("P", "\"0.00000000\""), ("F", "\"0.00000000\""), ("g", "-1"),
      ("C", JSONWriter.string(e.execution == .CANCELED ? o.clientOrderId : "")),
      ("x", JSONWriter.string(e.execution.rawValue)), ("X", JSONWriter.string(o.status.rawValue)),
      ("r", "\"NONE\""),
      ("i", String(o.orderId)), ("l", JSONWriter.string(t.map { s.quantityString($0.qty) } ?? "0.00000000")),
      ("z", JSONWriter.string(s.quantityString(o.executedQty))),
      ("L", JSONWriter.string(t.map { s.priceString($0.priceTicks) } ?? "0.00000000")),
      ("n", JSONWriter.string(commission.map { VenueREST.units($0) } ?? "0")),
      ("N", t == nil ? "null" : JSONWriter.string(isBuyer ? s.baseAsset : s.quoteAsset)),
      ("T", String(o.updateTime)), ("t", String(t?.tradeId ?? -1)), ("I", String(executionID)),
      ("w", o.isWorking ? "true" : "false"), ("m", isMaker ? "true" : "false"), ("M", "false"),
      ("O", String(o.time)),
      (
        "Z",
        JSONWriter.string(
          VenueREST.dec8(o.cumulativeQuoteQty, scale: s.instrument.priceScale + s.instrument.quantityScale))
      ),
      (
        "Y",
        JSONWriter.string(
          t.map { VenueREST.dec8($0.quoteQty, scale: s.instrument.priceScale + s.instrument.quantityScale) }
            ?? "0.00000000")
      ),
      (
        "Q",
        JSONWriter.string(
          VenueREST.dec8(o.quoteOrderQty, scale: s.instrument.priceScale + s.instrument.quantityScale))
      ),
      ("W", String(o.time)), ("V", JSONWriter.string(o.stpMode.rawValue)),
    ])
  }
}
