import CPlatform
import FastBook
import Wire

/// The REST endpoints of the simulated Binance spot venue, each answering as Binance does.
extension VenueREST {
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
            ("rateLimitType", "\"REQUEST_WEIGHT\""),
            ("interval", JSONWriter.string(Self.interval(ms: weightWindowMs).interval)),
            ("intervalNum", String(Self.interval(ms: weightWindowMs).num)), ("limit", String(weightLimit)),
          ]),
          JSONWriter.object([
            ("rateLimitType", "\"ORDERS\""), ("interval", "\"SECOND\""), ("intervalNum", "10"),
            ("limit", String(orderLimitPer10s)),
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
    try chargeNewOrder(account, now: clockMs())
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
