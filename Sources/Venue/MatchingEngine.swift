import FastBook

/// Balances of one asset for one account, in asset units (18 decimals).
public struct Balance: Sendable, Equatable {
  public var free: Int128 = 0
  public var locked: Int128 = 0
  public var total: Int128 { free + locked }
}

/// A new order request, as the REST and WebSocket front doors parse it.
public struct NewOrder: Sendable {
  public var account: Int
  public var symbol: String
  public var side: OrderSide
  public var type: OrderType
  public var timeInForce: TimeInForce = .GTC
  public var priceTicks: Int64 = 0
  public var quantity: Int64 = 0
  /// MARKET only: spend (BUY) or receive (SELL) this much quote instead of a quantity, as a raw at
  /// priceScale + quantityScale.
  public var quoteOrderQty: Int128 = 0
  public var clientOrderId: String? = nil
  public var stpMode: STPMode? = nil
  public init(account: Int, symbol: String, side: OrderSide, type: OrderType) {
    self.account = account
    self.symbol = symbol
    self.side = side
    self.type = type
  }
}

/// A price-time priority matching engine for Binance-spot-like symbols: LIMIT (GTC, IOC, FOK),
/// MARKET by quantity or by quote amount, LIMIT_MAKER; partial fills; free and locked balances;
/// maker and taker fees charged in the asset received, as Binance does without BNB; the filters
/// PRICE_FILTER, LOT_SIZE, NOTIONAL and MAX_NUM_ORDERS with Binance's codes; self-trade prevention
/// (the taker's mode decides). Deterministic: the same requests at the same clock give the same
/// results. Single-threaded.
///
/// Amounts: balances are `Int128` at 18 decimals ("asset units"); commissions are rounded down to
/// 8 decimals (Binance's asset precision). Nothing is created or destroyed: every unit a trade
/// moves leaves one balance and enters another or the fee account (`feesCollected`).
public final class MatchingEngine {
  public static let assetScale = 18
  public private(set) var symbols: [String: VenueSymbol] = [:]
  var books: [String: SymbolBook] = [:]
  public private(set) var balances: [Int: [String: Balance]] = [:]
  public private(set) var feesCollected: [String: Int128] = [:]
  public private(set) var orders: [Int64: VenueOrder] = [:]
  var lockedFor: [Int64: Int128] = [:]  // asset units still locked by each open order
  var openClientIds: [String: Int64] = [:]
  /// The newest order id per account|symbol|client id, open or not (status queries by client id).
  var latestByClientId: [String: Int64] = [:]
  /// Open order ids per account (so open-order queries and MAX_NUM_ORDERS do not scan history).
  var openByAccount: [Int: Set<Int64>] = [:]
  public private(set) var trades: [VenueTrade] = []
  var nextOrderId: Int64 = 1
  var nextTradeId: Int64 = 1
  var updateIDs: [String: Int64] = [:]
  /// Price levels changed since the market-data side last took them, per symbol.
  var touched: [String: Set<LevelKey>] = [:]
  /// Called for every trade, as it happens (the @trade stream).
  public var onTrade: ((VenueTrade) -> Void)?
  /// Milliseconds since the epoch; injected so runs are reproducible.
  public var clock: () -> Int64

  public init(clock: @escaping () -> Int64 = { 0 }) { self.clock = clock }

  public func addSymbol(_ s: VenueSymbol) {
    precondition(s.instrument.priceScale + s.instrument.quantityScale <= Self.assetScale)
    symbols[s.name] = s
    books[s.name] = SymbolBook()
  }

  /// Changes a listed symbol's filters while it trades (min notional, quantities, order counts),
  /// as an exchange does: orders already resting stay; new ones meet the new filters.
  public func changeFilters(symbol: String, _ change: (inout VenueSymbol) -> Void) {
    guard var s = symbols[symbol] else { return }
    let instrument = s.instrument
    change(&s)
    s.instrument = instrument  // the scales are the symbol's identity, not a filter
    symbols[symbol] = s
  }

  public func deposit(account: Int, asset: String, units: Int128) {
    balances[account, default: [:]][asset, default: Balance()].free += units
  }

  public func balance(account: Int, asset: String) -> Balance { balances[account]?[asset] ?? Balance() }

  /// Sum over accounts of an asset plus the fees collected in it: constant under trading.
  public func totalSupply(_ asset: String) -> Int128 {
    balances.values.reduce(Int128(0)) { $0 + ($1[asset]?.total ?? 0) } + (feesCollected[asset] ?? 0)
  }

  // MARK: unit conversions

  func baseUnits(_ s: VenueSymbol, _ qty: Int64) -> Int128 {
    Int128(qty) * pow10(Self.assetScale - s.instrument.quantityScale)
  }
  /// price·qty as a raw at priceScale + quantityScale.
  func notional(_ s: VenueSymbol, _ ticks: Int64, _ qty: Int64) -> Int128 {
    Int128(ticks) * Int128(s.instrument.tickSize) * Int128(qty)
  }
  func quoteUnits(_ s: VenueSymbol, _ notional: Int128) -> Int128 {
    notional * pow10(Self.assetScale - s.instrument.priceScale - s.instrument.quantityScale)
  }
  func pow10(_ n: Int) -> Int128 {
    var r: Int128 = 1
    for _ in 0..<n { r *= 10 }
    return r
  }
  /// Commission on `units` at `rate` (scale 8), rounded down to 8 decimals.
  func commission(_ units: Int128, rate: Int64) -> Int128 {
    let exact = units * Int128(rate) / 100_000_000
    let step = pow10(Self.assetScale - 8)
    return exact / step * step
  }

  // MARK: placing

  /// Places an order. Throws Binance's error for anything refused before matching; an order
  /// that is accepted but cannot fill as asked (IOC/FOK/MARKET remainder, STP) ends EXPIRED or
  /// EXPIRED_IN_MATCH and is returned, as Binance does.
  public func place(_ req: NewOrder) throws(VenueError) -> (
    order: VenueOrder, fills: [VenueTrade], events: [OrderEvent]
  ) {
    guard let sym = symbols[req.symbol], let book = books[req.symbol] else { throw .badSymbol }
    let now = clock()
    let isMarket = req.type == .MARKET
    // Parameters.
    if isMarket {
      if (req.quantity > 0) == (req.quoteOrderQty > 0) {
        throw .badParam("Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
      }
    } else {
      guard req.quantity > 0 else {
        throw .badParam("Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.")
      }
      guard req.priceTicks > 0 else {
        throw .badParam("Mandatory parameter 'price' was not sent, was empty/null, or malformed.")
      }
    }
    let stp = req.stpMode ?? sym.defaultSTP
    guard sym.allowedSTP.contains(stp) else {
      throw VenueError(400, -1013, "Invalid STP mode for this symbol.")
    }
    // Filters.
    if !isMarket {
      if (sym.minPriceTicks > 0 && req.priceTicks < sym.minPriceTicks)
        || (sym.maxPriceTicks > 0 && req.priceTicks > sym.maxPriceTicks)
      {
        throw .filter("PRICE_FILTER")
      }
    }
    if req.quantity > 0 {
      if (sym.minQty > 0 && req.quantity < sym.minQty) || (sym.maxQty > 0 && req.quantity > sym.maxQty)
        || req.quantity % sym.stepQty != 0
      {
        throw .filter("LOT_SIZE")
      }
    }
    let refTicks =
      isMarket ? (req.side == .BUY ? book.asks.first?.price : book.bids.first?.price) : req.priceTicks
    if let p = refTicks, req.quantity > 0, !isMarket || sym.applyMinToMarket {
      let n = notional(sym, p, req.quantity)
      if (sym.minNotional > 0 && n < sym.minNotional) || (sym.maxNotional > 0 && n > sym.maxNotional) {
        throw .filter("NOTIONAL")
      }
    }
    if isMarket && req.quoteOrderQty > 0 && sym.minNotional > 0 && req.quoteOrderQty < sym.minNotional {
      throw .filter("NOTIONAL")
    }
    if sym.maxNumOrders > 0 && !isMarket && req.timeInForce == .GTC {
      let open = (openByAccount[req.account] ?? []).filter { orders[$0]?.symbol == req.symbol }.count
      if open >= sym.maxNumOrders { throw .filter("MAX_NUM_ORDERS") }
    }
    let clientId = req.clientOrderId ?? "venue-\(nextOrderId)"
    let clientKey = "\(req.account)|\(req.symbol)|\(clientId)"
    if openClientIds[clientKey] != nil { throw .duplicate }
    if req.type == .LIMIT_MAKER, book.crosses(side: req.side, ticks: req.priceTicks) { throw .wouldTake }
    // Funds.
    var lock: Int128 = 0
    let quoteAsset = sym.quoteAsset
    let baseAsset = sym.baseAsset
    let isOutsideMarket = req.account == Self.marketAccount
    if isOutsideMarket {
      lock = 0  // the outside market is not funds-checked
    } else if req.side == .BUY {
      if isMarket {
        let need =
          req.quoteOrderQty > 0
          ? quoteUnits(sym, req.quoteOrderQty)
          : quoteUnits(sym, book.cost(buying: req.quantity, sym: sym, engine: self))
        lock = need
      } else {
        lock = quoteUnits(sym, notional(sym, req.priceTicks, req.quantity))
      }
      guard balance(account: req.account, asset: quoteAsset).free >= lock else { throw .insufficientBalance }
    } else {
      let qty =
        req.quantity > 0 ? req.quantity : book.quantity(selling: req.quoteOrderQty, sym: sym, engine: self)
      lock = baseUnits(sym, qty)
      guard balance(account: req.account, asset: baseAsset).free >= lock else { throw .insufficientBalance }
    }
    // Accepted.
    let lockAsset = req.side == .BUY ? quoteAsset : baseAsset
    balances[req.account, default: [:]][lockAsset, default: Balance()].free -= lock
    balances[req.account, default: [:]][lockAsset, default: Balance()].locked += lock
    var order = VenueOrder(
      orderId: nextOrderId, clientOrderId: clientId, account: req.account, symbol: req.symbol, side: req.side,
      type: req.type, timeInForce: isMarket ? .GTC : (req.type == .LIMIT_MAKER ? .GTC : req.timeInForce),
      priceTicks: isMarket ? 0 : req.priceTicks,
      origQty: req.quantity > 0 ? req.quantity : Int64.max / 4, quoteOrderQty: req.quoteOrderQty,
      stpMode: stp,
      time: now, updateTime: now)
    nextOrderId += 1
    lockedFor[order.orderId] = lock
    var events = [OrderEvent(order: order, execution: .NEW, trade: nil)]
    var fills: [VenueTrade] = []
    // FOK: all or nothing (self-trades count as liquidity, as they would fill or expire anyway).
    if req.timeInForce == .FOK && !isMarket,
      book.volume(side: req.side, limit: req.priceTicks, engine: self) < req.quantity
    {
      order.status = .EXPIRED
      finish(&order, events: &events, execution: .EXPIRED, asset: lockAsset)
      orders[order.orderId] = order
      return (order, fills, events)
    }
    // Match.
    var quoteLeft = req.quoteOrderQty
    let byQuote = req.quoteOrderQty > 0
    var takerExpiredBySTP = false
    while order.remaining > 0, let top = book.best(opposite: req.side),
      isMarket || (req.side == .BUY ? top.price <= req.priceTicks : top.price >= req.priceTicks)
    {
      guard var maker = orders[top.orderId] else { fatalError("book and order table disagree") }
      if maker.account == order.account && order.stpMode != .NONE {
        let mode = order.stpMode
        if mode == .EXPIRE_MAKER || mode == .EXPIRE_BOTH {
          book.remove(orderId: maker.orderId, side: maker.side, ticks: maker.priceTicks)
          touch(req.symbol, maker.side, maker.priceTicks)
          maker.status = .EXPIRED_IN_MATCH
          var makerEvents: [OrderEvent] = []
          finish(
            &maker, events: &makerEvents, execution: .TRADE_PREVENTION,
            asset: maker.side == .BUY ? quoteAsset : baseAsset)
          orders[maker.orderId] = maker
          events += makerEvents
        }
        if mode == .EXPIRE_TAKER || mode == .EXPIRE_BOTH {
          takerExpiredBySTP = true
          break
        }
        continue
      }
      var qty = min(order.remaining, maker.remaining)
      if byQuote {
        // MARKET by quote amount: as much as the remaining quote buys (BUY) or sells for (SELL).
        let perLot = notional(sym, maker.priceTicks, sym.stepQty)
        let lots = Int64(quoteLeft / perLot)
        qty = min(maker.remaining, lots * sym.stepQty)
        if qty == 0 { break }
      }
      let trade = execute(sym: sym, taker: &order, maker: &maker, qty: qty, now: now)
      touch(req.symbol, maker.side, maker.priceTicks)
      onTrade?(trade)
      if byQuote { quoteLeft -= trade.quoteQty }
      if order.side == .BUY && !isMarket && maker.priceTicks < order.priceTicks {
        // Price improvement: the lock taken at the limit price is more than the fill used.
        let excess = quoteUnits(sym, notional(sym, order.priceTicks - maker.priceTicks, qty))
        lockedFor[order.orderId, default: 0] -= excess
        balances[order.account, default: [:]][quoteAsset, default: Balance()].locked -= excess
        balances[order.account, default: [:]][quoteAsset, default: Balance()].free += excess
      }
      fills.append(trade)
      trades.append(trade)
      events.append(OrderEvent(order: order, execution: .TRADE, trade: trade))
      events.append(OrderEvent(order: maker, execution: .TRADE, trade: trade))
      if maker.remaining == 0 {
        book.remove(orderId: maker.orderId, side: maker.side, ticks: maker.priceTicks)
        maker.status = .FILLED
        releaseLock(&maker, asset: maker.side == .BUY ? quoteAsset : baseAsset)
      }
      orders[maker.orderId] = maker
    }
    if byQuote { order.origQty = order.executedQty }  // by quote amount: the quantity is what it bought
    // What is left.
    if order.remaining == 0 && order.executedQty > 0 {
      order.status = .FILLED
      releaseLock(&order, asset: lockAsset)
    } else if takerExpiredBySTP {
      order.status = .EXPIRED_IN_MATCH
      finish(&order, events: &events, execution: .TRADE_PREVENTION, asset: lockAsset)
    } else if isMarket || req.timeInForce == .IOC || req.timeInForce == .FOK || order.remaining == 0 {
      order.status = order.remaining == 0 && order.executedQty > 0 ? .FILLED : .EXPIRED
      finish(
        &order, events: &events, execution: order.status == .FILLED ? .TRADE : .EXPIRED, asset: lockAsset)
    } else {
      order.isWorking = true
      order.queueAhead = marketQuantity(symbol: req.symbol, side: order.side, ticks: order.priceTicks)
      book.add(orderId: order.orderId, side: order.side, ticks: order.priceTicks)
      touch(req.symbol, order.side, order.priceTicks)
      openClientIds[clientKey] = order.orderId
      openByAccount[order.account, default: []].insert(order.orderId)
    }
    orders[order.orderId] = order
    latestByClientId[clientKey] = order.orderId
    if !fills.isEmpty || order.isWorking || events.count > 2 { updateIDs[req.symbol, default: 0] += 1 }
    return (order, fills, events)
  }

  /// Settles one fill at the maker's price; fees in the asset each side receives.
  func execute(sym: VenueSymbol, taker: inout VenueOrder, maker: inout VenueOrder, qty: Int64, now: Int64)
    -> VenueTrade
  {
    let n = notional(sym, maker.priceTicks, qty)
    let base = baseUnits(sym, qty)
    let quote = quoteUnits(sym, n)
    let buyerIsMaker = maker.side == .BUY
    var buyer = buyerIsMaker ? maker : taker
    var seller = buyerIsMaker ? taker : maker
    let buyerFee = commission(base, rate: buyerIsMaker ? sym.makerFeeRate : sym.takerFeeRate)
    let sellerFee = commission(quote, rate: buyerIsMaker ? sym.takerFeeRate : sym.makerFeeRate)
    // Buyer: quote leaves its lock, base (less fee) arrives.
    balances[buyer.account, default: [:]][sym.quoteAsset, default: Balance()].locked -= quote
    lockedFor[buyer.orderId, default: 0] -= quote
    balances[buyer.account, default: [:]][sym.baseAsset, default: Balance()].free += base - buyerFee
    // Seller: base leaves its lock, quote (less fee) arrives.
    balances[seller.account, default: [:]][sym.baseAsset, default: Balance()].locked -= base
    lockedFor[seller.orderId, default: 0] -= base
    balances[seller.account, default: [:]][sym.quoteAsset, default: Balance()].free += quote - sellerFee
    feesCollected[sym.baseAsset, default: 0] += buyerFee
    feesCollected[sym.quoteAsset, default: 0] += sellerFee
    buyer.executedQty += qty
    buyer.cumulativeQuoteQty += n
    seller.executedQty += qty
    seller.cumulativeQuoteQty += n
    buyer.status = buyer.remaining == 0 ? .FILLED : .PARTIALLY_FILLED
    seller.status = seller.remaining == 0 ? .FILLED : .PARTIALLY_FILLED
    buyer.updateTime = now
    seller.updateTime = now
    if buyerIsMaker {
      maker = buyer
      taker = seller
    } else {
      taker = buyer
      maker = seller
    }
    let t = VenueTrade(
      tradeId: nextTradeId, symbol: sym.name, priceTicks: maker.priceTicks, qty: qty, quoteQty: n,
      buyerOrderId: buyer.orderId, sellerOrderId: seller.orderId, buyerAccount: buyer.account,
      sellerAccount: seller.account, buyerIsMaker: buyerIsMaker, buyerCommission: buyerFee,
      sellerCommission: sellerFee, time: now)
    nextTradeId += 1
    return t
  }

  /// Returns whatever an order still has locked to free.
  func releaseLock(_ o: inout VenueOrder, asset: String) {
    let left = lockedFor.removeValue(forKey: o.orderId) ?? 0
    if left != 0 {
      balances[o.account, default: [:]][asset, default: Balance()].locked -= left
      balances[o.account, default: [:]][asset, default: Balance()].free += left
    }
    o.isWorking = false
    openClientIds.removeValue(forKey: "\(o.account)|\(o.symbol)|\(o.clientOrderId)")
    openByAccount[o.account]?.remove(o.orderId)
  }

  func finish(_ o: inout VenueOrder, events: inout [OrderEvent], execution: ExecutionType, asset: String) {
    releaseLock(&o, asset: asset)
    o.updateTime = clock()
    events.append(OrderEvent(order: o, execution: execution, trade: nil))
  }

  // MARK: cancelling and queries

  /// Cancels an open order by id or client id; -2011 when it is not open.
  public func cancel(account: Int, symbol: String, orderId: Int64? = nil, clientOrderId: String? = nil)
    throws(VenueError)
    -> (order: VenueOrder, event: OrderEvent)
  {
    guard let sym = symbols[symbol] else { throw .badSymbol }
    let id = orderId ?? clientOrderId.flatMap { openClientIds["\(account)|\(symbol)|\($0)"] }
    guard let id, var o = orders[id], o.account == account, o.symbol == symbol, o.status.isOpen else {
      throw .unknownOrderCancel
    }
    books[symbol]!.remove(orderId: id, side: o.side, ticks: o.priceTicks)
    touch(symbol, o.side, o.priceTicks)
    updateIDs[symbol, default: 0] += 1
    o.status = .CANCELED
    var events: [OrderEvent] = []
    finish(&o, events: &events, execution: .CANCELED, asset: o.side == .BUY ? sym.quoteAsset : sym.baseAsset)
    orders[id] = o
    return (o, events[0])
  }

  /// Cancels every open order of an account on a symbol.
  public func cancelAll(account: Int, symbol: String) throws(VenueError) -> [VenueOrder] {
    guard symbols[symbol] != nil else { throw .badSymbol }
    let ids = (openByAccount[account] ?? []).filter { orders[$0]?.symbol == symbol }.sorted()
    var out: [VenueOrder] = []
    for id in ids { out.append(try cancel(account: account, symbol: symbol, orderId: id).order) }
    return out
  }

  public func order(account: Int, symbol: String, orderId: Int64? = nil, clientOrderId: String? = nil)
    throws(VenueError)
    -> VenueOrder
  {
    if let orderId, let o = orders[orderId], o.account == account, o.symbol == symbol { return o }
    if let c = clientOrderId, let id = latestByClientId["\(account)|\(symbol)|\(c)"], let o = orders[id] {
      return o
    }
    throw .noSuchOrder
  }

  public func openOrders(account: Int, symbol: String? = nil) -> [VenueOrder] {
    (openByAccount[account] ?? []).compactMap { orders[$0] }
      .filter { $0.status.isOpen && (symbol == nil || $0.symbol == symbol) }
      .sorted { $0.orderId < $1.orderId }
  }

  public func myTrades(account: Int, symbol: String) -> [VenueTrade] {
    trades.filter { $0.symbol == symbol && ($0.buyerAccount == account || $0.sellerAccount == account) }
  }

  func touch(_ symbol: String, _ side: OrderSide, _ ticks: Int64) {
    touched[symbol, default: []].insert(LevelKey(side: side, ticks: ticks))
  }

  /// The levels changed since the last call (for the diff stream), and forgets them.
  public func takeTouched(symbol: String) -> Set<LevelKey> { touched.removeValue(forKey: symbol) ?? [] }

  /// Resting quantity at one price level.
  public func levelQuantity(symbol: String, side: OrderSide, ticks: Int64) -> Int64 {
    guard let l = books[symbol]?.level(side, ticks) else { return 0 }
    return remainingQty(l.ids[l.head...])
  }

  /// The account that stands for the outside market (replayed captures, synthetic agents): its
  /// orders rest and trade like anyone's, but it has no balances to check.
  public static let marketAccount = 0

  /// Sets the outside market's resting quantity at one level (a capture's depth diff, an agent's
  /// quote). More quantity joins the back of the level's queue — behind orders already there,
  /// ours included; less is taken from the market's newest orders first. No matching: a replayed
  /// book may cross for a moment within a batch, as the real one does.
  public func setMarketLevel(symbol: String, side: OrderSide, ticks: Int64, quantity: Int64) {
    guard let book = books[symbol] else { return }
    let ids = book.level(side, ticks).map { Array($0.ids[$0.head...]) } ?? []
    let market = ids.filter { orders[$0]?.account == Self.marketAccount }
    let current = market.reduce(Int64(0)) { $0 + (orders[$1]?.remaining ?? 0) }
    if quantity > current {
      let now = clock()
      var o = VenueOrder(
        orderId: nextOrderId, clientOrderId: "market-\(nextOrderId)", account: Self.marketAccount,
        symbol: symbol,
        side: side, type: .LIMIT, timeInForce: .GTC, priceTicks: ticks, origQty: quantity - current,
        quoteOrderQty: 0,
        stpMode: .NONE, time: now, updateTime: now)
      o.isWorking = true
      nextOrderId += 1
      orders[o.orderId] = o
      book.add(orderId: o.orderId, side: side, ticks: ticks)
    } else if quantity < current {
      // The market's newest orders go first: those behind ours, then those ahead. What is left of
      // it is the most that can still stand ahead of any of ours (the risk-averse estimate, exact).
      for id in ids {
        guard var o = orders[id], o.account != Self.marketAccount, o.queueAhead > quantity else { continue }
        o.queueAhead = quantity
        orders[id] = o
      }
      var cut = current - quantity
      for id in market.reversed() where cut > 0 {
        guard var o = orders[id] else { continue }
        let take = min(cut, o.remaining)
        o.origQty -= take
        cut -= take
        if o.remaining == 0 {
          o.status = o.executedQty > 0 ? .FILLED : .CANCELED
          o.isWorking = false
          book.remove(orderId: id, side: side, ticks: ticks)
        }
        orders[id] = o
      }
    } else {
      return
    }
    touch(symbol, side, ticks)
    updateIDs[symbol, default: 0] += 1
    if quantity > 0 && marketCrossesFill { marketCrossed(symbol: symbol, side: side, ticks: ticks) }
  }

  /// Replayed-flow mode: the market's quantity set at or through the price of a resting order of
  /// ours fills it (`marketCrossed`). Off, a crossed market rests beside ours until it moves
  /// (the synthetic market's and the harnesses' levels).
  public var marketCrossesFill = false

  /// The outside market's resting quantity at one level (what of it stands in the queue).
  public func marketQuantity(symbol: String, side: OrderSide, ticks: Int64) -> Int64 {
    guard let l = books[symbol]?.level(side, ticks) else { return 0 }
    var q: Int64 = 0
    for id in l.ids[l.head...] where orders[id]?.account == Self.marketAccount {
      q += orders[id]?.remaining ?? 0
    }
    return q
  }

  /// Removes the outside market's levels on `side` from `tick` to its best (a replayed snapshot's
  /// reset of what it covers); our orders stay.
  public func clearMarket(symbol: String, side: OrderSide, from tick: Int64) {
    guard let book = books[symbol] else { return }
    let levels = side == .BUY ? book.bids.filter { $0.price >= tick } : book.asks.filter { $0.price <= tick }
    for l in levels { setMarketLevel(symbol: symbol, side: side, ticks: l.price, quantity: 0) }
  }

  /// The outside market now rests at `ticks` on `side`, at or through the price of orders of
  /// ours on the other side: the order that put it there went through them first, so they fill
  /// in full at their own prices (as the backtest's exchange fills them when the other side's best
  /// moves onto them).
  func marketCrossed(symbol: String, side: OrderSide, ticks: Int64) {
    let ourSide: OrderSide = side == .BUY ? .SELL : .BUY
    let crossed = ours(symbol: symbol, side: ourSide) { ourSide == .BUY ? $0 >= ticks : $0 <= ticks }
    for o in crossed { fillByMarket(o, quantity: o.remaining) }
  }

  /// Our working orders (any account but the market's) on one side of `symbol` whose price
  /// passes `reaches`: best price first, then time.
  func ours(symbol: String, side: OrderSide, reaches: (Int64) -> Bool) -> [VenueOrder] {
    openByAccount.values.flatMap { $0 }.compactMap { orders[$0] }
      .filter { o in o.symbol == symbol && o.side == side && o.isWorking && reaches(o.priceTicks) }
      .sorted { a, b in
        a.priceTicks != b.priceTicks
          ? (side == .BUY ? a.priceTicks > b.priceTicks : a.priceTicks < b.priceTicks)
          : a.orderId < b.orderId
      }
  }

  /// One of our resting orders fills `quantity` against the outside market (the market takes).
  @discardableResult
  func fillByMarket(_ order: VenueOrder, quantity: Int64) -> VenueTrade? {
    guard quantity > 0, let sym = symbols[order.symbol], let book = books[order.symbol] else { return nil }
    var o = order
    let now = clock()
    var market = VenueOrder(
      orderId: nextOrderId, clientOrderId: "market-\(nextOrderId)", account: Self.marketAccount,
      symbol: o.symbol, side: o.side == .BUY ? .SELL : .BUY, type: .MARKET, timeInForce: .GTC, priceTicks: 0,
      origQty: quantity, quoteOrderQty: 0, stpMode: .NONE, time: now, updateTime: now)
    nextOrderId += 1
    let trade = execute(sym: sym, taker: &market, maker: &o, qty: quantity, now: now)
    orders[market.orderId] = market
    trades.append(trade)
    onTrade?(trade)
    if o.remaining == 0 {
      book.remove(orderId: o.orderId, side: o.side, ticks: o.priceTicks)
      o.status = .FILLED
      releaseLock(&o, asset: o.side == .BUY ? sym.quoteAsset : sym.baseAsset)
    }
    orders[o.orderId] = o
    touch(o.symbol, o.side, o.priceTicks)
    updateIDs[o.symbol, default: 0] += 1
    onMarketFill?(OrderEvent(order: o, execution: .TRADE, trade: trade))
    return trade
  }

  /// A trade of the replayed market (a capture's trade message): the aggressor took `quantity` at
  /// `priceTicks`. Our resting orders on the other side fill by queue position: a trade through
  /// an order's price went through all of it, so it fills in full; a trade at its price first uses
  /// up the market's quantity that stands ahead of it (what was there when it joined, less what
  /// traded or left since) and our own earlier orders at that price (they stand ahead of it in
  /// the level's queue), and only the excess fills it. Fills are against the outside-market
  /// account, at the order's price. The book's market levels follow the capture's depth diffs,
  /// not these trades, so nothing is counted twice.
  @discardableResult
  public func marketTrade(symbol: String, priceTicks: Int64, quantity: Int64, aggressor: OrderSide)
    -> [VenueTrade]
  {
    let restingSide: OrderSide = aggressor == .BUY ? .SELL : .BUY
    let reached = ours(symbol: symbol, side: restingSide) {
      restingSide == .BUY ? $0 >= priceTicks : $0 <= priceTicks
    }
    var fills: [VenueTrade] = []
    // At the trade's price: our earlier orders' remaining (before this trade) stands ahead, and
    // what this trade gave them did not pass the market's queue behind them.
    var oursAhead: Int64 = 0
    var oursTook: Int64 = 0
    for var o in reached {
      if o.priceTicks != priceTicks {
        if let t = fillByMarket(o, quantity: o.remaining) { fills.append(t) }
        continue
      }
      let before = o.remaining
      let fillQty = min(o.remaining, max(0, quantity - o.queueAhead - oursAhead))
      o.queueAhead = max(0, o.queueAhead - max(0, quantity - oursTook))
      orders[o.orderId] = o
      oursAhead += before
      oursTook += fillQty
      if let t = fillByMarket(o, quantity: fillQty) { fills.append(t) }
    }
    return fills
  }

  /// Called for each fill of our orders by replayed market flow (the user-data stream hooks in).
  public var onMarketFill: ((OrderEvent) -> Void)?

  /// An update id per symbol, advanced on every change to its book (REST depth's lastUpdateId,
  /// and U/u of the diff stream).
  public func bookUpdateID(symbol: String) -> Int64 { updateIDs[symbol] ?? 0 }
  /// Starts `symbol`'s update ids at `id` (a real venue's are in the tens of billions).
  public func setBookUpdateID(symbol: String, _ id: Int64) { updateIDs[symbol] = id }

  /// Aggregated depth: price ticks and total quantity per level, best first.
  public func depth(symbol: String, limit: Int = 100) -> (bids: [BookLevel], asks: [BookLevel]) {
    guard let b = books[symbol] else { return ([], []) }
    func agg(_ levels: ReversedCollection<[SymbolBook.Level]>) -> [BookLevel] {
      levels.prefix(limit).map { l in
        BookLevel(tick: l.price, quantity: l.ids[l.head...].reduce(0) { $0 + (orders[$1]?.remaining ?? 0) })
      }
    }
    return (agg(b.bids), agg(b.asks))
  }
}
