import Engine
import FastBook
import Foundation
import Logging
import Persistence
import Testing
import Venue
import Wire

@testable import needletail

@Suite struct LogLineTests {
  func tempFile() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("nt-log-\(UUID().uuidString).log").path
  }

  /// A line is UTC time to the millisecond, level, label, message and sorted metadata; a secret
  /// quoted in the message or the metadata comes out as ***; the file is created 0600.
  @Test func linesCarryTimeLevelLabelAndMetadataButNoSecret() throws {
    let path = tempFile()
    let sink = try LogSink(path: path)
    let secret = "9f2c41d7e0a8b35c6d1e4f7a2b9c0d3e"
    let key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
    let logger = Logger(label: "needletail.test") {
      LineLogHandler(label: $0, sink: sink, redactor: Redactor(secrets: [key, secret, "ab"]), level: .info)
    }
    logger.debug("below the level")
    logger.warning("signed with \(secret)", metadata: ["key": "\(key)", "b": "2", "a": "1"])
    logger.info("about a tab")
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let lines = text.split(separator: "\n").map(String.init)
    #expect(lines.count == 2, "\(lines)")
    let format = #/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (warning|info) needletail\.test: .+$/#
    #expect(lines.allSatisfy { $0.wholeMatch(of: format) != nil }, "\(lines)")
    #expect(lines[0].hasSuffix("warning needletail.test: signed with *** a=1 b=2 key=***"), "\(lines[0])")
    #expect(lines[1].hasSuffix("info needletail.test: about a tab"), "a 2-character 'secret' is not redacted")
    #expect(!text.contains(secret) && !text.contains(key))
    let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
    #expect(mode == 0o600)
  }

  /// A connector's problem report, posted as a fixed-size record on its thread, becomes a warning
  /// on the side thread saying what arrived and what was done about it.
  @Test func problemReportsBecomeWarningsOnTheSideThread() throws {
    let path = tempFile()
    let sink = try LogSink(path: path)
    let logger = Logger(label: "needletail.connector") {
      LineLogHandler(label: $0, sink: sink, redactor: Redactor(secrets: []), level: .info)
    }
    let thread = ProblemLogThread(logger: logger)
    let problems = ProblemLog()
    problems.post = thread.side.post
    thread.start()
    problems.report(.malformedUserEvent, .reconcileOrders, message: Array(#"{"e":"executionRep"#.utf8))
    problems.report(.malformedMarketMessage, .bookResync, message: Array("\u{1}garbage".utf8))
    thread.stop(logger: logger)
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
    #expect(lines.count == 2)
    #expect(
      lines[0].hasSuffix(
        #"warning needletail.connector: malformed user-data event (18 bytes, starting "{"e":"executionR…"): orders to be reconciled with the venue"#
      ), "\(lines)")
    #expect(
      lines[1].hasSuffix(
        #"warning needletail.connector: malformed market-stream message (8 bytes, starting ".garbage"): book reset, snapshot requested"#
      ), "\(lines)")
    #expect(problems[.malformedUserEvent] == 1 && problems.total == 2)
  }

  @Test func unknownLevelIsRefusedWithTheChoices() {
    #expect(throws: LogSetupError.self) { try Logs.level("loud") }
    do {
      _ = try Logs.level("loud")
    } catch {
      #expect("\(error)".contains("trace, debug, info, notice, warning, error, critical"))
    }
    #expect((try? Logs.level("NOTICE")) == .notice)
  }
}

/// `needletail run` (the real binary) against a Venue in this process, with `--log-file`: the log
/// says when each connection came up, warns of an account event the venue cut short and notes
/// the reconciliation that followed, and never carries the API key or secret — nor does the
/// binary's own output.
@Suite(.serialized) struct RunLogTests {
  @Test func runLogsConnectionsProblemsAndTheReconciliationButNoSecret() throws {
    if BinaryVenue.missing() { return }
    let (key, secret) = ("log-test-key-7Hq2Zr", "log-test-secret-c0ffee0123456789abcdef")
    // This account's tier: 0.05 % maker, 0.075 % taker (not the 0.1 % a run assumes without it).
    let v = try BinaryVenue(key: key, secret: secret, faults: FaultPlan()) {
      $0.makerFeeRate = 50_000
      $0.takerFeeRate = 75_000
    }
    let (loop, engine, host, dir) = (v.loop, v.engine, v.host, v.dir)
    try v.rest([("BTCUSDT", .BUY, 9_990), ("BTCUSDT", .SELL, 10_010)])
    let config = try v.config(
      """
      market: BTCUSDT
      clock_tick: 0.1
      duration: 0
      status_every: 1
      strategy: pure_market_making
      pure_market_making: {bid_spread: 0.05, ask_spread: 0.05, order_amount: "0.01", order_refresh_time: 600, filled_order_delay: 600}
      risk: {max_open_orders: 20, max_orders_per_second: 20, price_band_bps: 500}
      """)
    let logPath = dir + "/run.log"
    let out = Pipe()
    let p = try v.start(
      ["run", config, "--db", dir + "/h.sqlite", "--duration", "4", "--log-file", logPath], output: out)
    loop.run(timeoutNs: 30_000_000_000) { engine.openOrders(account: 1).count == 2 || !p.isRunning }
    #expect(engine.openOrders(account: 1).count == 2, "the run never quoted")
    // The next account event is cut short on the wire; then someone trades into our bid.
    host.rest.faults?.arm("user event cut short")
    try v.trade(.SELL, lots: 400)
    let (status, output) = v.finish(p, output: out)
    #expect(status == 0, "\(output)")
    let log = try String(contentsOfFile: logPath, encoding: .utf8)
    for expected in [
      "info needletail.session: market data connected", "info needletail.session: order entry connected",
      "info needletail.session: account stream connected", "info needletail.run: trading",
      "warning needletail.connector: malformed user-data event",
      "): orders to be reconciled with the venue",
      "notice needletail.session: orders reconciled with the venue",
      "info needletail.run: fees from=account maker_pct=0.05 taker_pct=0.075",
      "info needletail.run: connections closed",
    ] {
      #expect(log.contains(expected), "missing \(expected) in:\n\(log)")
    }
    #expect(!log.contains("connection lost"), "the run's own closing is not a lost connection:\n\(log)")
    #expect((host.rest.faults?.counts["user event cut short"] ?? 0) == 1)
    #expect(!log.contains(secret) && !log.contains(key) && !output.contains(secret), "\(log)\n\(output)")
    let mode = try FileManager.default.attributesOfItem(atPath: logPath)[.posixPermissions] as? Int
    #expect(mode == 0o600)
    // The trade reached the strategy anyway (through the reconciliation): the run's fill.
    #expect(engine.myTrades(account: 1, symbol: "BTCUSDT").count == 1)
    #expect(output.contains("fills 1"), "\(output)")
    // The history, written with the account's rates, ends where the venue's balances are.
    let runs = try RunHistory.load(try TradeStore(path: dir + "/h.sqlite"))
    #expect(runs.count == 1 && runs[0].run.fees == FeeSchema(makerRate: 50_000, takerRate: 75_000))
    #expect(runs[0].fills == 1 && runs[0].fees > 0)
    let btc = engine.balance(account: 1, asset: "BTC")
    let usdt = engine.balance(account: 1, asset: "USDT")
    #expect(runs[0].endBase == btc.free + btc.locked && runs[0].endQuote == usdt.free + usdt.locked)
  }
}

/// A key the venue refuses: `run` says what the venue said (its code and message, and what to
/// check), not a guess, prints no usage text after it (the command line was right), and shows
/// neither the key's secret nor the wrong one.
@Suite(.serialized) struct RunRefusalTests {
  @Test func aRefusedKeyIsReportedAsTheVenueSaidIt() throws {
    if BinaryVenue.missing() { return }
    let v = try BinaryVenue(key: "refusal-key", secret: "the-right-secret-5e1f")
    let config = try v.config(
      """
      market: BTCUSDT
      duration: 5
      strategy: pure_market_making
      pure_market_making: {bid_spread: 0.05, ask_spread: 0.05, order_amount: "0.01"}
      """)
    for (override, expected) in [
      (
        ["NT_TEST_SECRET": "a-wrong-secret-77aa"], "-1022 Signature for this request is not valid. (HTTP 400)"
      ),
      (["NT_TEST_KEY": "nobodys-key"], "-2015 Invalid API-key, IP, or permissions for action."),
    ] {
      let out = Pipe()
      let p = try v.start(["run", config, "--db", v.dir + "/h.sqlite"], output: out, override: override)
      let (status, output) = v.finish(p, output: out)
      #expect(status != 0, "\(output)")
      #expect(output.contains("GET /api/v3/account refused by the venue: \(expected)"), "\(output)")
      #expect(
        !output.contains("USAGE") && !output.contains("--help"), "usage text after a runtime error: \(output)"
      )
      #expect(
        !output.contains("the-right-secret-5e1f") && !output.contains("a-wrong-secret-77aa"), "\(output)")
    }
    #expect(v.engine.orders.isEmpty)
  }
}

/// `price_source: external_market` from the command line: the real binary quotes BTCUSDT around
/// ETHUSDT's mid (read from the venue's bookTicker), not around BTCUSDT's own.
@Suite(.serialized) struct ExternalPriceRunTests {
  @Test func runQuotesAroundAnotherMarketsMid() throws {
    if BinaryVenue.missing() { return }
    let v = try BinaryVenue(symbols: [("BTCUSDT", "BTC"), ("ETHUSDT", "ETH")])
    let (loop, engine, host, dir) = (v.loop, v.engine, v.host, v.dir)
    // BTCUSDT 99.90 / 100.10 (mid 100.00); ETHUSDT 101.99 / 102.01 (mid 102.00).
    try v.rest([
      ("BTCUSDT", .BUY, 9_990), ("BTCUSDT", .SELL, 10_010), ("ETHUSDT", .BUY, 10_199),
      ("ETHUSDT", .SELL, 10_201),
    ])
    let config = try v.config(
      """
      market: BTCUSDT
      clock_tick: 0.1
      status_every: 60
      strategy: pure_market_making
      pure_market_making: {bid_spread: 5, ask_spread: 5, order_amount: "0.01", order_refresh_time: 600, price_source: external_market, price_source_market: ETHUSDT, custom_api_update_interval: 0.2}
      """)
    let out = Pipe()
    let p = try v.start(["run", config, "--db", dir + "/h.sqlite", "--duration", "3"], output: out)
    func ours(_ side: OrderSide) -> [Int64] {
      engine.openOrders(account: 1, symbol: "BTCUSDT").filter { $0.side == side }.map(\.priceTicks)
    }
    // 102.00 × 0.95 = 96.90 and × 1.05 = 107.10 (its own mid would give 95.00 and 105.00).
    loop.run(timeoutNs: 30_000_000_000) { (ours(.BUY).count == 1 && ours(.SELL).count == 1) || !p.isRunning }
    #expect(ours(.BUY) == [9_690] && ours(.SELL) == [10_710])
    let (status, output) = v.finish(p, output: out)
    #expect(status == 0, "\(output)")
    #expect(
      output.contains(
        "info needletail.run: reference price from https://127.0.0.1:\(host.port)/api/v3/ticker/bookTicker?symbol=ETHUSDT field=mid"
      ), "\(output)")
    #expect(engine.openOrders(account: 1).isEmpty)
  }
}
