import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import Strategies
import Testing
import Wire

@testable import Venue

@Suite(.serialized) struct CrossExchangeVenueTests {
  /// Cross-exchange market making between two Venues (maker A, taker B), both over TLS in the
  /// runtime on one thread: the maker quotes are priced from B's book with the minimum
  /// profitability and then kept one tick inside A's top; every maker fill is hedged on B — sent in
  /// the fill's own callback, as a limit IOC — until B's fills equal A's, opposite side; when B's
  /// bids fall so the resting bid is no longer profitable, it is cancelled and re-priced from the
  /// new book; both portfolios equal their venue's balances to the unit.
  @Test func everyMakerFillIsHedgedOnTheOtherVenue() throws {
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let a = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 0, liquidityQuantity: 0, loop: loop)
    let b = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 10, liquidityQuantity: 50_000, loop: loop)
    let unit: Int128 = 1_000_000_000_000_000_000
    // A: someone else's bid at 98.00 and ask at 102.00. B: bids 99.90 … 99.82, asks 100.11 … 100.19.
    for (side, ticks) in [(OrderSide.BUY, Int64(9_800)), (.SELL, 10_200)] {
      var o = NewOrder(account: 9, symbol: "BTCUSDT", side: side, type: .LIMIT)
      o.priceTicks = ticks
      o.quantity = 50_000
      _ = try a.engine.place(o)
    }
    let ms: Int64 = 1_000_000
    var c = CrossExchangeMarketMakingConfig()
    c.orderAmount = 10_000
    c.minProfitability = 0.003
    let rule = TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1)
    let fees = FeeSchema(makerRate: 100_000, takerRate: 100_000)
    let empty = Portfolio(base: 0, quote: 0, fees: fees, priceScale: 2, quantityScale: 5)
    let xemm = CrossExchangeMarketMaking(
      config: c, makerRule: rule, takerRule: rule, makerPortfolio: empty, takerPortfolio: empty)
    let (ta, tb) = (
      OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: .max),
      OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: .max)
    )
    func session(_ v: LoopbackVenue, _ s: Strategy, _ prefix: String, _ t: OrderTracker) throws
      -> BinanceSession
    {
      try BinanceSession(
        loop: loop, endpoint: .init(host: "127.0.0.1", port: v.host.port, serverName: "localhost"),
        tls: TLSContext(client: v.certs.ca), apiKey: "k1", secret: "s1", instrument: v.instrument,
        strategy: s,
        rule: rule, limits: RiskLimits(), prefix: prefix, tracker: t,
        clock: Clock(tickNs: 50 * ms, start: cplat_now_ns()), centreTick: 10_000)
    }
    let sa = try session(a, xemm.maker, "xm-", ta)
    let sb = try session(b, xemm.taker, "xt-", tb)
    xemm.attach(maker: sa.host, taker: sb.host)
    let ba = try #require(sa.fetchBalances())
    let bb = try #require(sb.fetchBalances())
    xemm.makerPortfolio = Portfolio(
      base: ba["BTC"]!.free, quote: ba["USDT"]!.free, fees: fees, priceScale: 2, quantityScale: 5)
    xemm.takerPortfolio = Portfolio(
      base: bb["BTC"]!.free, quote: bb["USDT"]!.free, fees: fees, priceScale: 2, quantityScale: 5)
    sa.start()
    sb.start()
    defer {
      sa.stop()
      sb.stop()
    }
    func pump(_ timeoutNs: Int64, until cond: () -> Bool) -> Bool {
      BinanceSession.run([sa, sb], timeoutNs: timeoutNs, until: cond)
    }
    func ours(_ v: LoopbackVenue, _ side: OrderSide) -> [VenueOrder] {
      v.engine.openOrders(account: 1, symbol: "BTCUSDT").filter { $0.side == side }
    }

    // Bid: B's 99.90 / 1.003 = 99.60, kept one tick above A's 98.00 → 98.01. Ask: 100.11 × 1.003 =
    // 100.41, kept one tick below A's 102.00 → 101.99. Nothing rests on B.
    #expect(pump(10_000_000_000) { ours(a, .BUY).count == 1 && ours(a, .SELL).count == 1 })
    #expect(ours(a, .BUY).map(\.priceTicks) == [9_801] && ours(a, .SELL).map(\.priceTicks) == [10_199])
    #expect(ours(a, .BUY).map(\.origQty) == [10_000] && ours(a, .SELL).map(\.origQty) == [10_000])
    #expect(b.engine.openOrders(account: 1).isEmpty)

    // Someone sells 0.04 into our bid on A: we sell 0.04 on B at once.
    a.engine.deposit(account: 7, asset: "BTC", units: 10 * unit)
    a.engine.deposit(account: 7, asset: "USDT", units: 100_000 * unit)
    var sell = NewOrder(account: 7, symbol: "BTCUSDT", side: .SELL, type: .LIMIT)
    sell.priceTicks = 9_801
    sell.quantity = 4_000
    a.host.rest.notifyEvents(try a.engine.place(sell).events)
    #expect(pump(5_000_000_000) { xemm.hedgeFilled == 4_000 })
    #expect(xemm.hedgesOnFill >= 1, "the hedge left in the maker fill's callback")
    // Someone buys our whole ask on A: we buy 0.1 on B.
    var buy = NewOrder(account: 7, symbol: "BTCUSDT", side: .BUY, type: .LIMIT)
    buy.priceTicks = 10_199
    buy.quantity = 10_000
    a.host.rest.notifyEvents(try a.engine.place(buy).events)
    #expect(pump(5_000_000_000) { xemm.hedgeFilled == 14_000 })
    let tradesA = a.engine.myTrades(account: 1, symbol: "BTCUSDT")
    let tradesB = b.engine.myTrades(account: 1, symbol: "BTCUSDT")
    func sum(_ t: [VenueTrade], bought: Bool) -> Int64 {
      t.filter { ($0.buyerAccount == 1) == bought }.reduce(0) { $0 + $1.qty }
    }
    #expect(sum(tradesA, bought: true) == 4_000 && sum(tradesA, bought: false) == 10_000)
    #expect(sum(tradesB, bought: false) == 4_000 && sum(tradesB, bought: true) == 10_000)
    #expect(b.engine.openOrders(account: 1).isEmpty, "hedges are IOC: nothing rests on B")
    #expect(xemm.unhedged == 0 && xemm.makerFilled == 14_000)

    // B's bids fall to 97.00: the resting bid (6,000 left at 98.01) no longer earns 0.3 %; it is
    // cancelled and re-priced at 97.00 / 1.003 = 96.70.
    b.engine.deposit(account: 8, asset: "BTC", units: 10 * unit)
    var dump = NewOrder(account: 8, symbol: "BTCUSDT", side: .SELL, type: .MARKET)
    dump.quantity = 250_000
    _ = try b.engine.place(dump)
    var low = NewOrder(account: 9, symbol: "BTCUSDT", side: .BUY, type: .LIMIT)
    low.priceTicks = 9_700
    low.quantity = 50_000
    _ = try b.engine.place(low)
    #expect(pump(10_000_000_000) { ours(a, .BUY).map(\.priceTicks) == [9_670] })
    #expect(xemm.cancelsSent >= 1)

    // Every answer in; then each portfolio is its venue's account, to the unit.
    #expect(
      pump(5_000_000_000) {
        ![ta, tb].contains {
          $0.orders.values.contains { $0.state == .pendingCreate || $0.state == .pendingCancel }
        }
      })
    for (v, p) in [(a, xemm.makerPortfolio), (b, xemm.takerPortfolio)] {
      let btc = v.engine.balance(account: 1, asset: "BTC")
      let usdt = v.engine.balance(account: 1, asset: "USDT")
      #expect(p.base == btc.free + btc.locked && p.quote == usdt.free + usdt.locked)
    }
    #expect(expectAgreement(engine: a.engine, tracker: ta) >= 4)
    #expect(expectAgreement(engine: b.engine, tracker: tb) >= 2)
  }
}
