import ArgumentParser
import Backtest
import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import Persistence
import Strategies

struct BacktestCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "backtest",
    abstract: "Run a config's strategy on recorded market data, on the live path and data time.",
    discussion: """
      Takes the same config as `run` plus a `backtest:` section (capture files, queue model, \
      latency). The captures go through the venue's production decoder once onto a tape kept in \
      a cache keyed by their content; each run replays the tape through the book sync, the \
      strategy host, the tracker and the Clock on the data's time, against a simulated exchange \
      with hftbacktest's queue models. Prints a summary, writes the history (SQLite, `needletail \
      history` reads it) and a self-contained HTML report. `needletail backtest \
      --print-example-config` prints a config that runs on the shared Binance captures.
      """)

  @Argument(help: "The YAML config (a run config with a backtest: section).")
  var config: String?

  @Flag(help: "Print an example config and exit.")
  var printExampleConfig = false

  @Option(
    parsing: .upToNextOption,
    help:
      "Capture files to replay instead of the config's backtest.data (the instrument's scales come from them)."
  )
  var data: [String] = []

  @Option(help: "The trade history (SQLite; default: the config's path with .backtest.sqlite).")
  var db: String?

  @Option(help: "The HTML report (default: the config's path with .html; 'none': no report).")
  var report: String?

  mutating func run() throws {
    if printExampleConfig {
      print(BacktestSetup.example)
      return
    }
    guard let config else { throw ValidationError("give a config file (or --print-example-config)") }
    let setup = try BacktestSetup(configPath: config, data: data)
    let dbPath = db ?? (config as NSString).deletingPathExtension + ".backtest.sqlite"
    let reportPath = report ?? (config as NSString).deletingPathExtension + ".html"
    try setup.run(dbPath: dbPath, reportPath: reportPath == "none" ? nil : reportPath)
  }
}

/// A backtest as the command runs it: the config read and checked, the captures found, the
/// instrument known, the tape ready.
struct BacktestSetup {
  let cfg: RunConfig
  let params: BacktestParameters
  let files: [String]
  let instrument: Instrument
  let tape: MarketTape
  let tapeNote: String
  let baseAsset: String
  let quoteAsset: String
  let configDir: String

  init(configPath: String, data: [String]) throws {
    let cfg = try loadRunConfig(configPath)
    self.cfg = cfg
    guard var p = cfg.backtest else {
      throw ValidationError(
        "\(configPath): no backtest: section (needletail backtest --print-example-config shows one)")
    }
    if !data.isEmpty { p.data = data }
    params = p
    guard !p.data.isEmpty else {
      throw ValidationError("\(configPath): backtest.data: no capture files (give them there or with --data)")
    }
    // A relative path is the working directory's, else the config file's directory's.
    let dir = (configPath as NSString).deletingLastPathComponent
    configDir = dir
    files = try p.data.map { f in
      let fm = FileManager.default
      var path = f
      if !fm.fileExists(atPath: path), !f.hasPrefix("/"), !dir.isEmpty {
        let beside = (dir as NSString).appendingPathComponent(f)
        if fm.fileExists(atPath: beside) { path = beside }
      }
      var isDir: ObjCBool = false
      guard fm.fileExists(atPath: path, isDirectory: &isDir) else {
        throw ValidationError("cannot read capture file \(f): no such file")
      }
      guard !isDir.boolValue, fm.isReadableFile(atPath: path) else {
        throw ValidationError(
          "cannot read capture file \(f): \(isDir.boolValue ? "a directory" : "permission denied")")
      }
      return path
    }
    // The scales the capture is written in; the grid from the config when it gives one.
    let inferred = try captureInstrument(files: files, symbol: cfg.market, dialect: p.venue.rawValue)
    func raw(_ text: String?, scale: Int, key: String, unit: Int64) throws -> Int64 {
      guard let text else { return unit }
      guard let v = try? FixedPoint.parse(text, scale: scale), v > 0 else {
        throw ValidationError(
          "\(configPath): backtest.\(key): \(text) is not a positive multiple of the capture's unit (10^-\(scale))"
        )
      }
      return v
    }
    instrument = Instrument(
      symbol: cfg.market, priceScale: inferred.priceScale, quantityScale: inferred.quantityScale,
      tickSize: try raw(p.tickSize, scale: inferred.priceScale, key: "tick_size", unit: inferred.tickSize),
      lotSize: try raw(p.lotSize, scale: inferred.quantityScale, key: "lot_size", unit: inferred.lotSize))
    // Base and quote: the paper_balances assets the market starts and ends with.
    let assets = cfg.paperBalances.map(\.0)
    guard let base = assets.first(where: { cfg.market.hasPrefix($0) }),
      let quote = assets.first(where: { cfg.market.hasSuffix($0) && $0 != base }),
      base.count + quote.count == cfg.market.count
    else {
      throw ValidationError(
        "\(configPath): paper_balances: give the starting balance of \(cfg.market)'s base and quote assets (e.g. { BTC: \"1\", USDT: \"10000\" }); found \(assets.joined(separator: ", "))"
      )
    }
    baseAsset = base
    quoteAsset = quote
    (tape, tapeNote) = try cachedTape(files: files, instrument: instrument, cacheDirectory: p.cacheDirectory)
    guard tape.header.messages > 0 else {
      throw ValidationError(
        "no market data in \(files.joined(separator: ", ")): \(tape.header.lines) lines, \(tape.header.decodeErrors) could not be read"
      )
    }
  }

  func run(dbPath: String, reportPath: String?) throws {
    let strategy: any MarketMakingStrategy
    let limits: RiskLimits
    let time = SimulatedTime(startNs: Backtester.startNs(tape))
    let rule = TradingRule(
      tickSize: instrument.tickSize, stepSize: instrument.lotSize, minQuantity: instrument.lotSize)
    do {
      limits = try cfg.riskLimits(instrument: instrument)
      strategy = try cfg.makeStrategy(instrument: instrument, rule: rule, time: time) { _ in
        if cfg.priceFeed() != nil {
          throw ConfigError(
            file: "config", path: "pure_market_making.price_source",
            message: "only current_market is available in a backtest (the capture has no other price)")
        }
      }
    } catch let e as ConfigError {
      throw ValidationError(e.description)
    }
    let fees = cfg.fees ?? FeeSchema(makerRate: 100_000, takerRate: 100_000)
    func units(_ asset: String) throws -> Int128 {
      let amount = cfg.paperBalances.first { $0.0 == asset }?.1 ?? "0"
      return Int128(try FixedPoint.parse(amount, scale: 8)) * 10_000_000_000
    }
    let startBase = try units(baseAsset)
    let startQuote = try units(quoteAsset)
    strategy.portfolio = Portfolio(
      base: startBase, quote: startQuote, fees: fees, priceScale: instrument.priceScale,
      quantityScale: instrument.quantityScale)
    var s = Backtester.Settings()
    s.queue = params.queue
    s.fills = params.fills
    s.latency = .constant(
      entryNs: Int64((params.entryMs * 1e6).rounded()), responseNs: Int64((params.responseMs * 1e6).rounded())
    )
    if let recorded = try recordedLatency() { s.latency = .recorded(recorded) }
    s.clockTickNs = Int64((cfg.clockTickSeconds * 1e3).rounded()) * 1_000_000
    s.clockFromFirstEvent = params.clockFromFirstEvent
    s.keepFills = false  // the recorder keeps what the results need, in flat memory
    let prefix = "bt-"
    let syncRule: BinanceSyncRule = params.venue == .binanceSpot ? .spot : .futures
    let inst = instrument
    let bt = Backtester(
      tape: tape, instrument: instrument, strategy: strategy, tradingRule: rule, limits: limits,
      clientIDs: ClientIDCodec(unchecked: prefix), settings: s, time: time
    ) { BinanceCaptureTape.bookFeed(syncRule, instrument: inst, sink: $0) }
    let recorder = BacktestRecorder(
      runtime: bt.runtime, instrument: instrument, makerRate: Double(fees.makerRate) / 1e8,
      takerRate: Double(fees.takerRate) / 1e8, startBase: Double(startBase) / 1e18,
      startQuote: Double(startQuote) / 1e18)
    bt.runtime.clock.add(recorder)
    bt.onFill = { recorder.fill($0) }
    let first = tape.header.firstLocalNs
    let writer = try JournalWriter(
      path: dbPath,
      run: RunInfo(
        startedAtNs: first, mode: "backtest",
        venue: .ephemeral(
          kind: "backtest",
          environment: files.map { ($0 as NSString).lastPathComponent }.joined(separator: ","),
          nowNs: Int64(Date().timeIntervalSince1970 * 1e9)),
        symbol: cfg.market, baseAsset: baseAsset, quoteAsset: quoteAsset, priceScale: instrument.priceScale,
        quantityScale: instrument.quantityScale, fees: fees, prefix: prefix, startBase: startBase,
        startQuote: startQuote),
      time: bt.time)
    writer.journal.waitWhenFull = true
    bt.host.journal = writer.journal
    writer.start()

    let t0 = cplat_now_ns()
    let progress = isatty(2) != 0
    var lastShown = t0
    bt.run(every: 1 << 15) { fraction in
      guard progress else { return }
      let now = cplat_now_ns()
      guard now - lastShown > 250_000_000 else { return }
      lastShown = now
      let elapsed = Double(now - t0) / 1e9
      let rate = Double(bt.messages + bt.exchangeRows) / max(elapsed, 1e-9)
      let left = fraction > 0 ? elapsed * (1 - fraction) / fraction : 0
      FileHandle.standardError.write(
        Data(
          String(format: "\r  %3.0f%%  %.2f M events/s  %.1f s left ", fraction * 100, rate / 1e6, left).utf8)
      )
    }
    // The end of the data: the strategy stops (its orders are cancelled) and what is in flight
    // is answered.
    bt.host.perform(referencePrice: StrategyHost.mid(bt.runtime.book), now: bt.time.nowNs) { intents in
      strategy.stop(reason: "end of the data", intents: &intents)
    }
    bt.finish()
    let seconds = Double(cplat_now_ns() - t0) / 1e9
    if progress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    writer.stop()

    let results = recorder.finish(bt)
    let lines = summary(results, bt: bt)
    for l in lines { say(l) }
    if let reportPath {
      let html = BacktestHTML.render(
        results, title: "Needletail backtest: \(cfg.market) \(cfg.strategy)", lines: lines)
      do {
        try html.write(toFile: reportPath, atomically: true, encoding: .utf8)
      } catch {
        throw ValidationError("cannot write the report \(reportPath): \(error.localizedDescription)")
      }
    }
    // What differs from run to run (where things were written, how long it took) goes to stderr:
    // stdout is the results, the same for the same config and data.
    let h = try RunHistory.load(writer.store, run: writer.run.id).first
    let problems =
      writer.writeErrors > 0 || writer.dropped > 0
      ? " — WARNING: \(writer.writeErrors) writes failed, \(writer.dropped) records dropped" : ""
    var notes = [
      tapeNote,
      String(
        format: "ran in %.2f s (%.2f M events/s)", seconds,
        Double(bt.messages + bt.exchangeRows) / max(seconds, 1e-9) / 1e6),
      "history: run \(writer.run.id) in \(dbPath): \(h?.orders ?? 0) orders, \(h?.fills ?? 0) fills (needletail history \(dbPath) --run \(writer.run.id))\(problems)",
    ]
    if let reportPath { notes.append("report: \(reportPath)") }
    FileHandle.standardError.write(Data((notes.joined(separator: "\n") + "\n").utf8))
  }

  /// The round trips of `latency.file`, laid on this tape's times.
  func recordedLatency() throws -> RecordedLatency? {
    guard let given = params.latencyFile else { return nil }
    // Like the captures: the working directory's, else the config file's directory's.
    var file = given
    if !FileManager.default.fileExists(atPath: file), !file.hasPrefix("/"), !configDir.isEmpty {
      let beside = (configDir as NSString).appendingPathComponent(file)
      if FileManager.default.fileExists(atPath: beside) { file = beside }
    }
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
      throw ValidationError("backtest.latency.file: cannot read \(file)")
    }
    var trips: [OrderRoundTrip] = []
    for (i, line) in text.split(whereSeparator: \.isNewline).enumerated() {
      if i == 0 && line.hasPrefix("request_ns") { continue }
      let f = line.split(separator: ",").map { Int64($0.trimmingCharacters(in: .whitespaces)) }
      guard f.count == 3, let r = f[0], let e = f[1], let p = f[2], r > 0, e > 0, p >= r else {
        throw ValidationError(
          "backtest.latency.file: \(file) line \(i + 1): expected request_ns,exchange_ns,response_ns (Unix ns, the answer after the request), found '\(line.prefix(80))'"
        )
      }
      trips.append(OrderRoundTrip(requestNs: r, exchangeNs: e, responseNs: p))
    }
    let start = Backtester.startNs(tape)
    guard
      let r = RecordedLatency(
        trips, startNs: start, endNs: tape.header.lastLocalNs &+ Backtester.localShift(tape))
    else {
      throw ValidationError("backtest.latency.file: \(file) has no round trips")
    }
    return r
  }

  func latencyText() throws -> String {
    guard let r = try recordedLatency() else {
      return String(format: "latency %.3f ms + %.3f ms", params.entryMs, params.responseMs)
    }
    let m = r.medians
    return String(
      format: "latency from %@ (%d round trips, median %.3f ms + %.3f ms, %@%@)",
      (params.latencyFile! as NSString).lastPathComponent, r.count, Double(m.entry) / 1e6,
      Double(m.response) / 1e6,
      r.offsetNs == 0 ? "on the data's times" : "laid from the data's start, repeated",
      r.negative > 0 ? ", \(r.negative) negative differences counted as 0" : "")
  }

  func summary(_ r: BacktestResults, bt: Backtester) -> [String] {
    let h = tape.header
    func date(_ ns: Int64) -> String {
      let f = DateFormatter()
      f.locale = Locale(identifier: "en_US_POSIX")
      f.timeZone = TimeZone(identifier: "UTC")
      f.dateFormat = "yyyy-MM-dd HH:mm:ss"
      return f.string(from: Date(timeIntervalSince1970: Double(ns) / 1e9))
    }
    func f(_ v: Double, _ d: Int = 4) -> String { String(format: "%.\(d)f", v) }
    let span = Double(h.lastLocalNs - h.firstLocalNs) / 1e9
    var out: [String] = []
    out.append(
      "backtest: \(cfg.strategy) on \(cfg.market) (\(params.venue.rawValue)), \(files.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))"
    )
    out.append(
      "  data: \(date(h.firstLocalNs)) → \(date(h.lastLocalNs)) UTC (\(f(span / 60, 1)) min), \(h.messages) messages, \(h.rows) rows; bad lines \(h.decodeErrors + h.oversizeLines) (\(h.decodeErrors) unreadable, \(h.oversizeLines) oversize), \(h.backwardsLines) out of order"
    )
    out.append(
      "  instrument: tick \(FixedPoint.format(instrument.tickSize, scale: instrument.priceScale)), lot \(FixedPoint.format(instrument.lotSize, scale: instrument.quantityScale)); queue \(params.queue), \(params.fills.rawValue) fills, \((try? latencyText()) ?? "latency ?"), clock \(cfg.clockTickSeconds) s"
    )
    out.append(
      "  book: \(bt.sync.snapshots) snapshots, \(bt.sync.gaps) gaps, \(bt.runtime.batchesSeen) batches to the strategy; receive clock moved \(f(Double(bt.localShiftNs) / 1e9, 3)) s forward to the venue's"
    )
    out.append(
      "  orders: \(r.ordersSent) sent, \(r.cancelsSent) cancels; fills \(r.fills) (\(r.makerFills) maker), volume \(f(r.volumeBase, 6)) \(baseAsset) / \(f(r.volumeQuote, 2)) \(quoteAsset), fees \(f(r.fees)) \(quoteAsset)"
    )
    out.append(
      "  PnL \(f(r.pnl)) \(quoteAsset) (against holding the start balances), max drawdown \(f(r.maxDrawdown)) \(quoteAsset), inventory \(f(r.inventoryMin, 6)) .. \(f(r.inventoryMax, 6)) \(baseAsset) (final \(f(r.finalInventory, 6)))"
    )
    out.append(
      "  Sharpe \(r.sharpe.map { f($0, 2) } ?? "n/a") (1-minute equity returns, annualized; \(r.sharpeMinutes) minutes), queue ahead at entry of maker fills \(r.averageQueueAhead.map { f($0, 6) } ?? "n/a") \(baseAsset)"
    )
    return out
  }

  static let example = """
    # Needletail backtest: pure market making on Binance USD-M BTCUSDT, replayed from the shared
    # capture through the live path (decoder, book sync, strategy host, tracker) on data time.
    # The same file runs with `needletail run` (the backtest: section is ignored there).
    mode: paper
    exchange:
      name: binance
    market: BTCUSDT
    paper_balances: { BTC: "0.1", USDT: "10000" }
    clock_tick: 0.1                  # seconds between strategy ticks
    strategy: pure_market_making
    pure_market_making:
      bid_spread: 0.005              # percent
      ask_spread: 0.005
      order_refresh_time: 1
      order_amount: "0.001"
      order_levels: 1
      filled_order_delay: 1
      inventory_skew_enabled: true
      inventory_target_base_pct: 50
    fees: { maker_pct: 0.02, taker_pct: 0.05 }
    backtest:
      data: [../shared/data/market/binance-usdm/btcusdt_20240808.gz]   # or --data FILE...
      venue: binance_usdm            # binance (spot) or binance_usdm: the capture's dialect
      queue_model: risk_averse       # risk_averse, power:N, power2:N, power3:N, log, log2
      fills: partial                 # or whole: hftbacktest's no-partial-fill exchange
      latency: { entry_ms: 1, response_ms: 1 }   # or { file: latency.csv }: your live round trips
                                                 # (needletail history DB --export-latency latency.csv)
      tick_size: "0.1"               # default: one unit of the capture's price decimals
      lot_size: "0.001"              # default: one unit of the capture's quantity decimals
      # cache_dir: ~/.cache/needletail   # where prepared tapes are kept
      # clock_phase: aligned         # or first_event (hftbacktest's elapse steps)
    """
}
