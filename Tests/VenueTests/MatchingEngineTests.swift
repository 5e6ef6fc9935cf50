import FastBook
import TestSupport
import Testing

@testable import Venue

let unit: Int128 = 1_000_000_000_000_000_000  // one whole asset in asset units

/// BTCUSDT as Binance lists it: tick 0.01, step 0.00001, min notional 5 USDT, fee 0.1%.
func btcusdt() -> VenueSymbol {
  var s = VenueSymbol(
    name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT",
    instrument: Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1))
  s.minPriceTicks = 1
  s.maxPriceTicks = 100_000_000  // 1,000,000.00
  s.minQty = 1
  s.maxQty = 900_000_000
  s.stepQty = 1
  s.minNotional = 5 * 10_000_000  // 5 USDT at scale 7
  return s
}

func px(_ p: Double) -> Int64 { Int64((p * 100).rounded()) }
func qty(_ q: Double) -> Int64 { Int64((q * 100_000).rounded()) }

func engine() -> MatchingEngine {
  let e = MatchingEngine(clock: { 1_700_000_000_000 })
  e.addSymbol(btcusdt())
  for a in 1...4 {
    e.deposit(account: a, asset: "USDT", units: 1_000_000 * unit)
    e.deposit(account: a, asset: "BTC", units: 100 * unit)
  }
  return e
}

func limit(
  _ a: Int, _ side: OrderSide, _ p: Double, _ q: Double, _ tif: TimeInForce = .GTC, stp: STPMode? = nil,
  id: String? = nil
)
  -> NewOrder
{
  var o = NewOrder(account: a, symbol: "BTCUSDT", side: side, type: .LIMIT)
  o.priceTicks = px(p)
  o.quantity = qty(q)
  o.timeInForce = tif
  o.stpMode = stp
  o.clientOrderId = id
  return o
}

@Suite struct MatchingEngineTests {
  @Test func priceThenTimePriority() throws {
    let e = engine()
    let first = try e.place(limit(1, .SELL, 100, 1)).order
    let second = try e.place(limit(3, .SELL, 100, 1)).order
    let better = try e.place(limit(1, .SELL, 99, 1)).order
    let r = try e.place(limit(2, .BUY, 101, 2.5))
    #expect(r.fills.map(\.priceTicks) == [px(99), px(100), px(100)])
    #expect(r.fills.map(\.sellerOrderId) == [better.orderId, first.orderId, second.orderId])
    #expect(r.fills.map(\.qty) == [qty(1), qty(1), qty(0.5)])
    #expect(r.order.status == .FILLED && r.order.executedQty == qty(2.5))
    #expect(
      r.order.cumulativeQuoteQty == Int128(px(99)) * Int128(qty(1)) + Int128(px(100)) * Int128(qty(1.5)))
    let rest = try e.order(account: 3, symbol: "BTCUSDT", orderId: second.orderId)
    #expect(rest.status == .PARTIALLY_FILLED && rest.remaining == qty(0.5))
    #expect(e.depth(symbol: "BTCUSDT").asks == [BookLevel(tick: px(100), quantity: qty(0.5))])
  }

  @Test func restingRemainderAndCancelReturnTheLock() throws {
    let e = engine()
    _ = try e.place(limit(1, .SELL, 100, 1))
    let r = try e.place(limit(2, .BUY, 100, 3, id: "mine"))
    #expect(r.order.status == .PARTIALLY_FILLED && r.order.isWorking)
    #expect(e.openOrders(account: 2).map(\.clientOrderId) == ["mine"])
    // Locked: 2 BTC at 100 = 200 USDT.
    #expect(e.balance(account: 2, asset: "USDT").locked == 200 * unit)
    let c = try e.cancel(account: 2, symbol: "BTCUSDT", clientOrderId: "mine")
    #expect(c.order.status == .CANCELED && c.event.execution == .CANCELED)
    #expect(e.balance(account: 2, asset: "USDT").locked == 0)
    #expect(throws: VenueError.unknownOrderCancel) {
      try e.cancel(account: 2, symbol: "BTCUSDT", clientOrderId: "mine")
    }
    #expect(throws: VenueError.noSuchOrder) { try e.order(account: 2, symbol: "BTCUSDT", orderId: 999) }
  }

  @Test func timeInForce() throws {
    let e = engine()
    _ = try e.place(limit(1, .SELL, 100, 1))
    let ioc = try e.place(limit(2, .BUY, 100, 2, .IOC))
    #expect(ioc.order.status == .EXPIRED && ioc.order.executedQty == qty(1))
    #expect(ioc.events.last?.execution == .EXPIRED)
    _ = try e.place(limit(1, .SELL, 100, 1))
    let fokShort = try e.place(limit(2, .BUY, 100, 2, .FOK))
    #expect(fokShort.order.status == .EXPIRED && fokShort.fills.isEmpty)
    #expect(
      e.depth(symbol: "BTCUSDT").asks.first?.quantity == qty(1), "FOK that cannot fill leaves the book alone")
    let fok = try e.place(limit(2, .BUY, 100, 1, .FOK))
    #expect(fok.order.status == .FILLED)
    #expect(e.balance(account: 2, asset: "USDT").locked == 0)
  }

  @Test func marketOrdersByQuantityAndByQuote() throws {
    let e = engine()
    _ = try e.place(limit(1, .SELL, 100, 1))
    _ = try e.place(limit(1, .SELL, 110, 2))
    var m = NewOrder(account: 2, symbol: "BTCUSDT", side: .BUY, type: .MARKET)
    m.quantity = qty(1.5)
    let r = try e.place(m)
    #expect(r.order.status == .FILLED && r.fills.map(\.priceTicks) == [px(100), px(110)])
    var q = NewOrder(account: 2, symbol: "BTCUSDT", side: .BUY, type: .MARKET)
    q.quoteOrderQty = 55 * 10_000_000  // 55 USDT buys 0.5 BTC at 110
    let rq = try e.place(q)
    #expect(rq.order.executedQty == qty(0.5), "\(rq.order) \(rq.fills)")
    #expect(rq.order.cumulativeQuoteQty == 55 * 10_000_000)
    #expect(rq.order.status == .FILLED)
    var s = NewOrder(account: 3, symbol: "BTCUSDT", side: .SELL, type: .MARKET)
    s.quantity = qty(1)
    let rs = try e.place(s)
    #expect(rs.order.status == .EXPIRED && rs.fills.isEmpty, "nothing to sell into")
    #expect(
      e.balance(account: 2, asset: "USDT").locked == 0 && e.balance(account: 3, asset: "BTC").locked == 0)
  }

  @Test func limitMakerIsRejectedWhenItWouldTake() throws {
    let e = engine()
    _ = try e.place(limit(1, .SELL, 100, 1))
    var lm = NewOrder(account: 2, symbol: "BTCUSDT", side: .BUY, type: .LIMIT_MAKER)
    lm.priceTicks = px(100)
    lm.quantity = qty(1)
    #expect(throws: VenueError.wouldTake) { try e.place(lm) }
    lm.priceTicks = px(99.99)
    #expect(try e.place(lm).order.isWorking)
  }

  @Test func filtersAndRejectionsUseBinanceCodes() throws {
    var s = btcusdt()
    s.stepQty = 10
    s.maxNumOrders = 2
    let e = MatchingEngine()
    e.addSymbol(s)
    e.deposit(account: 1, asset: "USDT", units: 1000 * unit)
    func code(_ o: NewOrder) -> VenueError? {
      do { _ = try e.place(o) } catch { return error }
      return nil
    }
    #expect(code(limit(1, .BUY, 2_000_000, 0.001)) == .filter("PRICE_FILTER"))
    #expect(code(limit(1, .BUY, 100, 0.00015)) == .filter("LOT_SIZE"))
    #expect(code(limit(1, .BUY, 100, 0.0001)) == .filter("NOTIONAL"))  // 0.01 USDT < 5
    #expect(code(limit(1, .BUY, 100, 20)) == .insufficientBalance)
    #expect(code(limit(1, .BUY, 100, 1, id: "a")) == nil)
    #expect(code(limit(1, .BUY, 100, 1, id: "a")) == .duplicate)
    #expect(code(limit(1, .BUY, 100, 1)) == nil)
    #expect(code(limit(1, .BUY, 100, 1)) == .filter("MAX_NUM_ORDERS"))
    #expect(code(NewOrder(account: 1, symbol: "NOPE", side: .BUY, type: .LIMIT)) == .badSymbol)
    #expect(VenueError.filter("LOT_SIZE").code == -1013 && VenueError.duplicate.code == -2010)
  }

  @Test func feesAreChargedInTheAssetReceived() throws {
    let e = engine()
    _ = try e.place(limit(1, .SELL, 100, 2))  // maker seller
    _ = try e.place(limit(2, .BUY, 100, 2))  // taker buyer
    // Buyer gets 2 BTC less 0.1%; seller gets 200 USDT less 0.1%.
    #expect(e.balance(account: 2, asset: "BTC").total == 100 * unit + 2 * unit - 2 * unit / 1000)
    #expect(e.balance(account: 2, asset: "USDT").total == 1_000_000 * unit - 200 * unit)
    #expect(e.balance(account: 1, asset: "USDT").total == 1_000_000 * unit + 200 * unit - 200 * unit / 1000)
    #expect(e.feesCollected["BTC"] == 2 * unit / 1000 && e.feesCollected["USDT"] == 200 * unit / 1000)
    let t = try #require(e.myTrades(account: 1, symbol: "BTCUSDT").first)
    #expect(
      !t.buyerIsMaker && t.buyerCommission == 2 * unit / 1000 && t.sellerCommission == 200 * unit / 1000)
  }

  @Test func selfTradePrevention() throws {
    // EXPIRE_MAKER (default): the own resting order expires, the taker trades on with others.
    var e = engine()
    let own = try e.place(limit(1, .SELL, 100, 1)).order
    _ = try e.place(limit(3, .SELL, 100, 1))
    var r = try e.place(limit(1, .BUY, 100, 1))
    #expect(try e.order(account: 1, symbol: "BTCUSDT", orderId: own.orderId).status == .EXPIRED_IN_MATCH)
    #expect(r.order.status == .FILLED && r.fills.first?.sellerAccount == 3)
    #expect(r.events.contains { $0.execution == .TRADE_PREVENTION && $0.order.orderId == own.orderId })
    // EXPIRE_TAKER: the incoming order expires, the resting one stays.
    e = engine()
    _ = try e.place(limit(1, .SELL, 100, 1))
    r = try e.place(limit(1, .BUY, 100, 1, stp: .EXPIRE_TAKER))
    #expect(r.order.status == .EXPIRED_IN_MATCH && r.fills.isEmpty)
    #expect(e.depth(symbol: "BTCUSDT").asks.first?.quantity == qty(1))
    // EXPIRE_BOTH.
    e = engine()
    _ = try e.place(limit(1, .SELL, 100, 1))
    r = try e.place(limit(1, .BUY, 100, 1, stp: .EXPIRE_BOTH))
    #expect(r.order.status == .EXPIRED_IN_MATCH && e.depth(symbol: "BTCUSDT").asks.isEmpty)
    // NONE: a self-trade happens.
    e = engine()
    _ = try e.place(limit(1, .SELL, 100, 1))
    r = try e.place(limit(1, .BUY, 100, 1, stp: NONE_STP))
    #expect(
      r.order.status == .FILLED && r.fills.first?.buyerAccount == 1 && r.fills.first?.sellerAccount == 1)
    for a in 1...4 {
      #expect(
        e.balance(account: a, asset: "USDT").locked == 0 && e.balance(account: a, asset: "BTC").locked == 0)
    }
  }

  /// Random flow from four accounts: nothing is created or destroyed, locks match open orders,
  /// no balance goes negative, and the same inputs give the same outputs.
  @Test(arguments: [11, 12, 13] as [UInt64])
  func conservationAndDeterminism(seed: UInt64) throws {
    func run() -> ([VenueTrade], [Int: [String: Balance]]) {
      let e = engine()
      let supply = (e.totalSupply("BTC"), e.totalSupply("USDT"))
      var rng = SplitMix64(seed: seed)
      for _ in 0..<3000 {
        let a = Int.random(in: 1...4, using: &rng)
        let side: OrderSide = Bool.random(using: &rng) ? .BUY : .SELL
        switch Int.random(in: 0..<10, using: &rng) {
        case 0..<6:
          let tifs: [TimeInForce] = [.GTC, .GTC, .GTC, .IOC, .FOK]
          let stps: [STPMode?] = [nil, .NONE, .EXPIRE_TAKER, .EXPIRE_BOTH]
          _ = try? e.place(
            limit(
              a, side, Double(Int.random(in: 9_900...10_100, using: &rng)) / 100,
              Double(Int.random(in: 1...300, using: &rng)) / 100,
              tifs.randomElement(using: &rng)!, stp: stps.randomElement(using: &rng)!))
        case 6..<8:
          var m = NewOrder(account: a, symbol: "BTCUSDT", side: side, type: .MARKET)
          if Bool.random(using: &rng) {
            m.quantity = qty(Double(Int.random(in: 1...200, using: &rng)) / 100)
          } else {
            m.quoteOrderQty = Int128(Int.random(in: 10...2000, using: &rng)) * 10_000_000
          }
          if let r = try? e.place(m), m.quoteOrderQty > 0 {
            #expect(
              r.order.cumulativeQuoteQty <= m.quoteOrderQty, "a market order by quote never spends more")
            #expect(r.order.status == .FILLED || r.order.status == .EXPIRED)
          }
        default:
          if let o = e.openOrders(account: a).randomElement(using: &rng) {
            _ = try? e.cancel(account: a, symbol: "BTCUSDT", orderId: o.orderId)
          }
        }
        #expect(e.totalSupply("BTC") == supply.0 && e.totalSupply("USDT") == supply.1)
      }
      for a in 1...4 {
        for asset in ["BTC", "USDT"] {
          let b = e.balance(account: a, asset: asset)
          #expect(b.free >= 0 && b.locked >= 0, "account \(a) \(asset) \(b)")
        }
        let lockedUSDT = e.openOrders(account: a).filter { $0.side == .BUY }.reduce(Int128(0)) {
          $0 + Int128($1.priceTicks) * Int128($1.remaining) * 100_000_000_000
        }
        let lockedBTC = e.openOrders(account: a).filter { $0.side == .SELL }.reduce(Int128(0)) {
          $0 + Int128($1.remaining) * 10_000_000_000_000
        }
        #expect(e.balance(account: a, asset: "USDT").locked == lockedUSDT)
        #expect(e.balance(account: a, asset: "BTC").locked == lockedBTC)
      }
      #expect(e.trades.count > 100)
      return (e.trades, e.balances)
    }
    let (t1, b1) = run()
    let (t2, b2) = run()
    #expect(t1 == t2 && b1 == b2)
  }
}

let NONE_STP: STPMode = .NONE
