import Engine
import FastBook
import Foundation
import Persistence
import Testing
import Venue
import Wire

/// `needletail run` killed with SIGKILL while it has orders working, then started again on the same
/// history: every order it ever sent is in the history with the venue's final state and fills,
/// none is forgotten, none is left working beside the new run's quotes, and the history's
/// figures are the venue's. The venue runs in this process (its loop pumped by the test); the
/// engine is the real `needletail` binary in a child process, so SIGKILL is a real crash.
@Suite(.serialized) struct RestartTests {
  @Test func killDashNineThenRestartForgetsAndDuplicatesNothing() throws {
    if BinaryVenue.missing() { return }
    let v = try BinaryVenue()
    let (loop, engine, dir) = (v.loop, v.engine, v.dir)
    // Someone else's book around 100.00: 99.90 … and 100.10 ….
    try v.rest(
      (0..<10).flatMap { i in
        [("BTCUSDT", OrderSide.BUY, 9_990 - Int64(i)), ("BTCUSDT", .SELL, 10_010 + Int64(i))]
      })
    let config = try v.config(
      """
      market: BTCUSDT
      clock_tick: 0.1
      duration: 0
      status_every: 60
      strategy: pure_market_making
      pure_market_making: {bid_spread: 0.05, ask_spread: 0.05, order_levels: 2, order_level_spread: 0.05, order_amount: "0.01", order_refresh_time: 600, filled_order_delay: 600}
      risk: {max_open_orders: 20, max_orders_per_second: 20, price_band_bps: 500}
      """)
    let db = dir + "/history.sqlite"
    let reader = try TradeStore(path: db)
    func ours() -> [VenueOrder] {
      engine.orders.values.filter { $0.account == 1 }.sorted { $0.orderId < $1.orderId }
    }

    // Run 1: until its four quotes rest and a fill of one of them is in the history.
    let out1 = Pipe()
    let run1 = try v.start(["run", config, "--db", db], output: out1)
    loop.run(timeoutNs: 30_000_000_000) {
      engine.openOrders(account: 1).count == 4
        && ((try? reader.inFlightOrders(symbol: "BTCUSDT").count) ?? 0) == 4
    }
    #expect(engine.openOrders(account: 1).count == 4, "run 1 never quoted")
    try v.trade(.SELL, lots: 400)  // into our best bid
    loop.run(timeoutNs: 10_000_000_000) { ((try? reader.fills(symbol: "BTCUSDT").count) ?? 0) == 1 }
    #expect(try reader.fills(symbol: "BTCUSDT").count == 1, "run 1's fill did not reach the history")

    kill(run1.processIdentifier, SIGKILL)
    run1.waitUntilExit()
    #expect(run1.terminationReason == .uncaughtSignal)
    let run1IDs = Set(ours().map(\.clientOrderId))

    // While nobody watches: the rest of that bid fills, the best ask fills in part.
    try v.trade(.SELL, lots: 600)
    try v.trade(.BUY, lots: 300)
    let bestAsk = try #require(
      engine.openOrders(account: 1).filter { $0.side == .SELL }.min { $0.priceTicks < $1.priceTicks })
    #expect(bestAsk.executedQty == 300)
    // The last writes before the crash never committed: the best ask's placement and the first fill
    // are gone from the history (the side thread commits every batch, so this is the window a
    // SIGKILL can cut).
    try reader.db.exec("DELETE FROM orders WHERE client_order_id = '\(bestAsk.clientOrderId)'")
    try reader.db.exec("DELETE FROM order_status WHERE client_order_id = '\(bestAsk.clientOrderId)'")
    try reader.db.exec("DELETE FROM fills")
    let workingAtRestart = engine.openOrders(account: 1).count
    // Another account on the same exchange wrote to this history too: an order of its own still
    // working, and a fill. Run 2 must not ask about that order (this venue would call it lost),
    // and that account's fill is not run 1's. (That the search for missing fills starts from this
    // venue's last trade id is FillKeyTests' lastTradeID check.)
    let elsewhere = try reader.addRun(
      RunInfo(
        startedAtNs: 1, mode: "live",
        venue: VenueIdentity(kind: "binance-spot", environment: "127.0.0.1:\(v.host.port)", account: "9"),
        symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", priceScale: 2, quantityScale: 5,
        fees: FeeSchema(makerRate: 0, takerRate: 0), prefix: "ntother-", startBase: 0, startQuote: 0))
    try reader.add(
      StoredOrder(
        clientOrderID: "ntother-1", runID: elsewhere.id, symbol: "BTCUSDT", side: .buy, price: 9_000,
        quantity: 1_000, venueOrderID: 0, state: .pendingCreate, filled: 0, createdNs: 1, updatedNs: 1))
    try reader.add(
      StoredFill(
        symbol: "BTCUSDT", tradeID: 1_000_000, clientOrderID: "ntother-1", runID: elsewhere.id, side: .buy,
        price: 9_000, quantity: 100, feeQuote: 0, atNs: 1, source: "stream"))

    // Run 2: settles what run 1 left, trades briefly, stops cleanly.
    let out2 = Pipe()
    let run2 = try v.start(["run", config, "--db", db, "--duration", "2"], output: out2)
    let (status, text) = v.finish(run2, output: out2)
    #expect(status == 0, "\(text)")
    #expect(
      text.contains(
        "settled 4 orders earlier runs left (\(workingAtRestart) still working, cancelled now; 1 had ended; 0 never reached the venue; 1 the history had not written), 3 fills the history lacked"
      ), "\(text)")

    #expect(try reader.order("ntother-1", venue: elsewhere.venueID)?.state == .partiallyFilled)

    // Nothing forgotten: every order account 1 ever had is in the history, in the venue's state,
    // with the venue's filled quantity; nothing duplicated: each client id once at the venue, no
    // order of run 1 still working, nothing working at all after run 2's stop.
    let venueOrders = ours()
    #expect(Set(venueOrders.map(\.clientOrderId)).count == venueOrders.count)
    #expect(engine.openOrders(account: 1).isEmpty)
    #expect(venueOrders.filter { run1IDs.contains($0.clientOrderId) }.allSatisfy { !$0.status.isOpen })
    // The history holds quantities at the client's scale (the 8 decimals exchangeInfo writes),
    // the venue at its lot's: compared through the wire's decimals.
    let clientScale = try #require(try RunHistory.load(reader).first { $0.run.id != elsewhere.id }).run
      .quantityScale
    let up = FixedPoint.pow10(clientScale - engine.symbols["BTCUSDT"]!.instrument.quantityScale)
    let stored = try reader.orders(symbol: "BTCUSDT").filter { $0.runID != elsewhere.id }
    #expect(stored.count == venueOrders.count)
    let byID = Dictionary(uniqueKeysWithValues: stored.map { ($0.clientOrderID, $0) })
    for v in venueOrders {
      guard let s = byID[v.clientOrderId] else {
        Issue.record("venue order \(v.clientOrderId) is not in the history")
        continue
      }
      let want: OrderState = v.status == .FILLED ? .filled : (v.status == .CANCELED ? .cancelled : .open)
      #expect(
        s.state == want && s.filled == v.executedQty * up && s.venueOrderID == v.orderId, "\(s) vs \(v)")
    }
    // Every fill once, as the venue has it; the history's totals are the venue's.
    let trades = engine.myTrades(account: 1, symbol: "BTCUSDT")
    let fills = try reader.fills(symbol: "BTCUSDT").filter { $0.runID != elsewhere.id }
    #expect(fills.map(\.tradeID).sorted() == trades.map(\.tradeId).sorted())
    #expect(fills.reduce(0) { $0 + $1.quantity } == trades.reduce(0) { $0 + $1.qty } * up)
    let runs = try RunHistory.load(reader).filter { $0.run.id != elsewhere.id }
    #expect(runs.count == 2)
    #expect(
      runs.reduce(0) { $0 + $1.bought } == trades.filter { $0.buyerAccount == 1 }.reduce(0) { $0 + $1.qty }
        * up)
    #expect(
      runs.reduce(0) { $0 + $1.sold } == trades.filter { $0.sellerAccount == 1 }.reduce(0) { $0 + $1.qty }
        * up)
    #expect(runs.allSatisfy { $0.inFlight == 0 })
  }
}
