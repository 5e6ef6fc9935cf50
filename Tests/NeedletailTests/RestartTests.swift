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
  let instrument = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)

  /// The `needletail` binary built beside this test bundle.
  var binary: String {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
      "needletail"
    )
    .path
  }

  func start(_ args: [String], output: Pipe) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: binary)
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    env["NEEDLETAIL_API_KEY"] = "k1"
    env["NEEDLETAIL_API_SECRET"] = "s1"
    p.environment = env
    p.standardOutput = output
    p.standardError = output
    try p.run()
    return p
  }

  @Test func killDashNineThenRestartForgetsAndDuplicatesNothing() throws {
    guard FileManager.default.isExecutableFile(atPath: binary) else {
      Issue.record("no needletail binary at \(binary): build it first (swift build --build-tests builds it)")
      return
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nt-restart-\(UUID().uuidString)")
      .path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let certs = try VenueHost.ensureCertificates(dataDir: dir + "/venue")
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let engine = MatchingEngine(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
    var sym = VenueSymbol(name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", instrument: instrument)
    sym.minQty = 1
    engine.addSymbol(sym)
    let unit: Int128 = 1_000_000_000_000_000_000
    for account in [1, 9] {
      engine.deposit(account: account, asset: "USDT", units: 1_000_000 * unit)
      engine.deposit(account: account, asset: "BTC", units: 100 * unit)
    }
    let host = try VenueHost(
      loop: loop, engine: engine, credentials: [VenueCredential(apiKey: "k1", account: 1, hmacSecret: "s1")],
      tls: TLSContext(server: certs.cert, keyFile: certs.key))
    defer { host.server.close() }
    // Someone else's book around 100.00: 99.90 … and 100.10 ….
    for i in 0..<10 {
      for side in [OrderSide.BUY, .SELL] {
        var o = NewOrder(account: 9, symbol: "BTCUSDT", side: side, type: .LIMIT)
        o.priceTicks = side == .BUY ? 9_990 - Int64(i) : 10_010 + Int64(i)
        o.quantity = 50_000
        _ = try engine.place(o)
      }
    }
    /// Account 9 trades into account 1's orders, told on the account stream as the venue does.
    func trade(_ side: OrderSide, lots: Int64) throws {
      var o = NewOrder(account: 9, symbol: "BTCUSDT", side: side, type: .MARKET)
      o.quantity = lots
      host.rest.notifyEvents(try engine.place(o).events)
    }
    let config = dir + "/mm.yml"
    try """
    mode: live
    exchange: {host: 127.0.0.1, port: \(host.port), server_name: localhost, ca_file: "\(certs.ca)", api_key_env: NEEDLETAIL_API_KEY, secret_env: NEEDLETAIL_API_SECRET}
    market: BTCUSDT
    clock_tick: 0.1
    duration: 0
    status_every: 60
    strategy: pure_market_making
    pure_market_making: {bid_spread: 0.05, ask_spread: 0.05, order_levels: 2, order_level_spread: 0.05, order_amount: "0.01", order_refresh_time: 600, filled_order_delay: 600}
    risk: {max_open_orders: 20, max_orders_per_second: 20, price_band_bps: 500}
    """.write(toFile: config, atomically: true, encoding: .utf8)
    let db = dir + "/history.sqlite"
    let reader = try TradeStore(path: db)
    func ours() -> [VenueOrder] {
      engine.orders.values.filter { $0.account == 1 }.sorted { $0.orderId < $1.orderId }
    }

    // Run 1: until its four quotes rest and a fill of one of them is in the history.
    let out1 = Pipe()
    let run1 = try start(["run", config, "--db", db], output: out1)
    loop.run(timeoutNs: 30_000_000_000) {
      engine.openOrders(account: 1).count == 4
        && ((try? reader.inFlightOrders(symbol: "BTCUSDT").count) ?? 0) == 4
    }
    #expect(engine.openOrders(account: 1).count == 4, "run 1 never quoted")
    try trade(.SELL, lots: 400)  // into our best bid
    loop.run(timeoutNs: 10_000_000_000) { ((try? reader.fills(symbol: "BTCUSDT").count) ?? 0) == 1 }
    #expect(try reader.fills(symbol: "BTCUSDT").count == 1, "run 1's fill did not reach the history")

    kill(run1.processIdentifier, SIGKILL)
    run1.waitUntilExit()
    #expect(run1.terminationReason == .uncaughtSignal)
    let run1IDs = Set(ours().map(\.clientOrderId))

    // While nobody watches: the rest of that bid fills, the best ask fills in part.
    try trade(.SELL, lots: 600)
    try trade(.BUY, lots: 300)
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

    // Run 2: settles what run 1 left, trades briefly, stops cleanly.
    let out2 = Pipe()
    let run2 = try start(["run", config, "--db", db, "--duration", "2"], output: out2)
    loop.run(timeoutNs: 60_000_000_000) { !run2.isRunning }
    if run2.isRunning { kill(run2.processIdentifier, SIGKILL) }
    run2.waitUntilExit()
    let text = String(decoding: out2.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(run2.terminationStatus == 0, "\(text)")
    #expect(
      text.contains(
        "settled 4 orders earlier runs left (\(workingAtRestart) still working, cancelled now; 1 had ended; 0 never reached the venue; 1 the history had not written), 3 fills the history lacked"
      ), "\(text)")

    // Nothing forgotten: every order account 1 ever had is in the history, in the venue's state,
    // with the venue's filled quantity; nothing duplicated: each client id once at the venue, no
    // order of run 1 still working, nothing working at all after run 2's stop.
    let venueOrders = ours()
    #expect(Set(venueOrders.map(\.clientOrderId)).count == venueOrders.count)
    #expect(engine.openOrders(account: 1).isEmpty)
    #expect(venueOrders.filter { run1IDs.contains($0.clientOrderId) }.allSatisfy { !$0.status.isOpen })
    let stored = try reader.orders(symbol: "BTCUSDT")
    #expect(stored.count == venueOrders.count)
    let byID = Dictionary(uniqueKeysWithValues: stored.map { ($0.clientOrderID, $0) })
    for v in venueOrders {
      guard let s = byID[v.clientOrderId] else {
        Issue.record("venue order \(v.clientOrderId) is not in the history")
        continue
      }
      let want: OrderState = v.status == .FILLED ? .filled : (v.status == .CANCELED ? .cancelled : .open)
      #expect(s.state == want && s.filled == v.executedQty && s.venueOrderID == v.orderId, "\(s) vs \(v)")
    }
    // Every fill once, as the venue has it; the history's totals are the venue's.
    let trades = engine.myTrades(account: 1, symbol: "BTCUSDT")
    let fills = try reader.fills(symbol: "BTCUSDT")
    #expect(fills.map(\.tradeID).sorted() == trades.map(\.tradeId).sorted())
    #expect(fills.reduce(0) { $0 + $1.quantity } == trades.reduce(0) { $0 + $1.qty })
    let runs = try RunHistory.load(reader)
    #expect(runs.count == 2)
    #expect(
      runs.reduce(0) { $0 + $1.bought } == trades.filter { $0.buyerAccount == 1 }.reduce(0) { $0 + $1.qty })
    #expect(
      runs.reduce(0) { $0 + $1.sold } == trades.filter { $0.sellerAccount == 1 }.reduce(0) { $0 + $1.qty })
    #expect(runs.allSatisfy { $0.inFlight == 0 })
  }
}
