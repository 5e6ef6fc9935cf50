import ArgumentParser
import CPlatform
import Connectors
import FastBook
import Foundation
import Venue
import Wire

@main
struct Needletail: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "needletail",
    abstract: "A low-latency market-making and trading engine.",
    subcommands: [
      Demo.self, Run.self, BacktestCommand.self, HistoryCommand.self, ConfigCommand.self,
      ImportHummingbot.self, Replay.self,
      VenueCommand.self,
    ],
    defaultSubcommand: Demo.self)
}

/// Where the embedded default capture lives: shared/ beside the checkout, or $NEEDLETAIL_SHARED.
func defaultSharedDirectory() -> String {
  if let env = ProcessInfo.processInfo.environment["NEEDLETAIL_SHARED"] { return env }
  let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
  // .build/<config>/needletail → checkout → ../shared; else the current directory's ../shared.
  for base in [
    exe.deletingLastPathComponent(), URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
  ] {
    var dir = base
    for _ in 0..<5 {
      let candidate = dir.appendingPathComponent("shared/data/market")
      if FileManager.default.fileExists(atPath: candidate.path) {
        return dir.appendingPathComponent("shared").path
      }
      let sibling = dir.deletingLastPathComponent().appendingPathComponent("shared/data/market")
      if FileManager.default.fileExists(atPath: sibling.path) {
        return dir.deletingLastPathComponent().appendingPathComponent("shared").path
      }
      dir = dir.deletingLastPathComponent()
    }
  }
  return "../shared"
}

struct Replay: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Replay Binance captures through decode → ring → book and check them.",
    discussion: """
      Files are replayed in the order given, in the format of shared/data/market: one message per \
      line, '<local receive time ns> <raw JSON>', gzip or plain. With no files, replays the real \
      Binance spot BTCUSDT capture of 2024-08-08/09 from shared/.

      The book is synced by Binance's rules (spot: U <= lastUpdateId+1 <= u, then U == prev u + 1; \
      futures: pu == prev u), with diffs buffered until the snapshot. Every bookTicker whose update \
      id equals an applied diff's is an independent check of the top of book.
      """)

  @Argument(help: "Capture files, replayed back to back.")
  var files: [String] = []

  @Option(help: "Sync rule: spot, futures or auto (futures when diffs carry pu).")
  var rule: String = "auto"

  @Option(help: "Tick size (e.g. 0.01). Default: inferred from the snapshot's prices.")
  var tickSize: String?

  @Option(help: "Lot size (e.g. 0.00001). Default: one unit of the decimals written on the wire.")
  var lotSize: String?

  @Option(help: "1: decode and book on one thread; 2: a producer thread and a book thread.")
  var threads: Int = 2

  @Option(help: "Pin the producer and book threads to these CPUs, e.g. 0,1.")
  var pin: String?

  @Option(help: "Levels per side to print.")
  var depth: Int = 5

  @Flag(help: "Exit with status 1 if anything was wrong: a gap, a mismatch, a decode error.")
  var strict = false

  mutating func run() throws {
    var paths = files
    if paths.isEmpty {
      let base = defaultSharedDirectory() + "/data/market/binance-spot/"
      paths = [base + "btcusdt_20240808.gz", base + "btcusdt_20240809.gz"]
      print("no files given: replaying the embedded default capture (Binance spot BTCUSDT, real data)")
    }
    for p in paths where !FileManager.default.isReadableFile(atPath: p) {
      throw ValidationError("cannot read capture file \(p)")
    }
    guard threads == 1 || threads == 2 else {
      throw ValidationError("--threads must be 1 or 2, not \(threads)")
    }
    let syncRule: BinanceSyncRule
    switch rule {
    case "spot": syncRule = .spot
    case "futures": syncRule = .futures
    case "auto":
      guard let r = try BinanceCaptureReplay.inferRule(files: paths) else {
        throw ValidationError("no depthUpdate found to infer the rule from; pass --rule spot|futures")
      }
      syncRule = r
    default: throw ValidationError("--rule must be spot, futures or auto, not '\(rule)'")
    }
    guard var instrument = try BinanceCaptureReplay.inferInstrument(files: paths) else {
      throw ValidationError("no REST depth snapshot in the files: a book cannot be built without one")
    }
    if tickSize != nil || lotSize != nil {
      do {
        instrument = try Instrument(
          symbol: "", tickSize: tickSize ?? FixedPoint.format(1, scale: instrument.priceScale),
          lotSize: lotSize ?? FixedPoint.format(1, scale: instrument.quantityScale),
          priceScale: max(instrument.priceScale, FixedPoint.significantDecimals(tickSize ?? "0") ?? 0),
          quantityScale: max(instrument.quantityScale, FixedPoint.significantDecimals(lotSize ?? "0") ?? 0))
      } catch {
        throw ValidationError("invalid --tick-size/--lot-size: \(error)")
      }
    }
    var options = BinanceCaptureReplay.Options(files: paths, instrument: instrument, rule: syncRule)
    options.threads = threads
    if let pin {
      let cpus = pin.split(separator: ",").compactMap { Int32($0) }
      guard cpus.count == 2 else { throw ValidationError("--pin takes two CPUs, e.g. 0,1") }
      options.pin = (cpus[0], cpus[1])
    }
    let r = try BinanceCaptureReplay(options: options).run()
    report(r, instrument: instrument, rule: syncRule)
    let bad =
      r.sync.gaps + r.sync.snapshotMismatches + r.decodeErrors + r.bookTickerMismatches.count
      + r.capacityFailures + r.oversizeLines
    if strict && bad > 0 { throw ExitCode(1) }
  }

  func report(_ r: BinanceCaptureReplay.Result, instrument: Instrument, rule: BinanceSyncRule) {
    func px(_ l: BookLevel?) -> String {
      guard let l else { return "-" }
      return "\(instrument.formatTick(l.tick)) x \(instrument.format(Quantity(raw: l.quantity)))"
    }
    print(
      "instrument  price scale \(instrument.priceScale), tick \(instrument.formatTick(1)), quantity scale \(instrument.quantityScale); rule \(rule)"
    )
    print(
      "messages    \(r.lines) lines, \(r.bytes) bytes: \(r.depthMessages) diffs, \(r.snapshots) snapshots, \(r.bookTickers) bookTickers, \(r.trades) trades, \(r.unknownMessages) other"
    )
    print(
      "sync        \(r.sync.applied) diffs applied, \(r.sync.droppedStale) stale dropped, \(r.sync.buffered) buffered, \(r.sync.gaps) gaps, \(r.sync.snapshotMismatches) snapshot mismatches, \(r.resets) resets"
    )
    let errs = r.decodeErrorsByStatus.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    print(
      "errors      \(r.decodeErrors) decode errors\(errs.isEmpty ? "" : " (\(errs))"), \(r.oversizeLines) oversize lines, \(r.capacityFailures) book capacity failures"
    )
    print(
      "book        \(r.levelsApplied) level updates, \(r.book.count(.bid)) bids / \(r.book.count(.ask)) asks, \(r.book.recentreCount) re-centres, \(r.book.absentDeleteCount) deletes of absent levels, crossed: \(r.book.isCrossed)"
    )
    print(
      "check       \(r.bookTickerMatches) / \(r.bookTickerSameU) bookTickers with the same update id match the book exactly"
    )
    for (got, want) in r.bookTickerMismatches.prefix(5) {
      print(
        "  MISMATCH at u=\(got.updateID): book \(px(got.bid)) | \(px(got.ask)); bookTicker \(px(want.bid)) | \(px(want.ask))"
      )
    }
    let state: String
    if case .synced(let u) = r.state {
      state = "synced at update id \(u)"
    } else {
      state = "NOT synced (awaiting a snapshot)"
    }
    print("final       \(state)")
    let bids = r.book.levels(.bid, limit: depth)
    let asks = r.book.levels(.ask, limit: depth)
    for i in 0..<max(bids.count, asks.count) {
      let b = i < bids.count ? px(bids[i]) : ""
      let a = i < asks.count ? px(asks[i]) : ""
      print("  \(b.padding(toLength: 32, withPad: " ", startingAt: 0)) | \(a)")
    }
    if let spread = r.book.spreadTicks, let mid = r.book.midPrice {
      print("  spread \(instrument.formatTick(spread)), mid \(mid)")
    }
    let rate = Double(r.lines) / max(r.seconds, 1e-9)
    print(
      String(
        format: "throughput  %.3f s, %.0f messages/s, %.1f MB/s (decompressed), %d thread(s)",
        r.seconds, rate, Double(r.bytes) / max(r.seconds, 1e-9) / 1e6, options_threads))
  }

  var options_threads: Int { threads }
}

/// Prints a line and flushes at once (status lines must show when the output is a pipe).
func say(_ line: String) {
  print(line)
  fflush(nil)
}

struct VenueCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "venue",
    abstract: "Run the simulated Binance-spot venue on 127.0.0.1 with TLS.",
    discussion: """
      Serves Binance's REST paths (/api/v3/...), market streams (/ws/<stream>, /stream?streams=...) \
      and the WebSocket API (/ws-api/v3) over HTTPS on loopback, with the symbols, accounts, market \
      flow and faults of the config file (without --config: the embedded example, printed by \
      --print-example-config). All three share one port unless the config's listen section gives a \
      role its own address and port, as Binance serves them from three hosts; a listener refuses \
      the paths of roles it does not serve. On first run it writes a local CA and a server \
      certificate naming every listener's address and name to the data directory, and prints how \
      to trust them. Secrets come from the environment or a 0600 file and are never printed.
      """)

  @Option(help: "The venue's YAML configuration.")
  var config: String?

  @Flag(help: "Print the embedded example configuration and exit.")
  var printExampleConfig = false

  @Option(help: "Override the config's port (0 picks a free one).")
  var port: UInt16?

  @Option(help: "Stop after this many seconds (0: run until killed).")
  var duration: Double = 0

  @Option(
    parsing: .upToNextOption,
    help: ArgumentHelp(
      "Replay these capture files as the outside market instead of the config's synthetic one.",
      discussion:
        "The format of shared/data/market; the first symbol of the config trades on the capture's levels and trades, our orders queue among them, and the venue's clock shows the capture's time."
    ))
  var replay: [String] = []

  @Option(help: "With --replay: capture seconds played per wall-clock second.")
  var speed: Double = 1

  @Option(help: "With --replay: the capture's book rule, spot or futures (Binance USD-M and COIN-M).")
  var replayRule: String = "spot"

  mutating func run() throws {
    if printExampleConfig {
      print(VenueConfig.example)
      return
    }
    let text: String
    let file: String
    if let config {
      guard let t = try? String(contentsOfFile: config, encoding: .utf8) else {
        throw ValidationError("cannot read config file \(config)")
      }
      text = t
      file = config
    } else {
      text = VenueConfig.example
      file = "(embedded example)"
    }
    var cfg: VenueConfig
    do {
      cfg = try VenueConfig.parse(text, file: file, environment: ProcessInfo.processInfo.environment)
    } catch let e as ConfigError {
      throw ValidationError(e.description)
    }
    if let port {
      guard cfg.roles.count < VenueRole.allCases.count else {
        throw ValidationError("--port: every role has its own listener in the config; set their ports there")
      }
      cfg.port = port
    }
    guard speed > 0 else { throw ValidationError("--speed must be positive") }
    let rule: BinanceSyncRule
    switch replayRule {
    case "spot": rule = .spot
    case "futures": rule = .futures
    default: throw ValidationError("--replay-rule: '\(replayRule)' is not a rule (spot or futures)")
    }
    // Replayed flow: the capture's tape at the first symbol's grid, in the capture's scales.
    var replayTape: (tape: MarketTape, note: String)?
    if !replay.isEmpty {
      let (symbol, tape, note) = try Self.replaySymbol(cfg.symbols[0], files: replay)
      cfg.symbols[0] = symbol
      cfg.synthetic = nil
      replayTape = (tape, note)
    }
    let certs = try VenueHost.ensureCertificates(dataDir: cfg.dataDir, names: cfg.certificateNames)
    let loop = try EventLoop()
    let engine = MatchingEngine(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
    for s in cfg.symbols { engine.addSymbol(s) }
    var credentials: [VenueCredential] = []
    for (i, a) in cfg.accounts.enumerated() {
      credentials.append(VenueCredential(apiKey: a.apiKey, account: i + 1, hmacSecret: a.secret))
      for (asset, amount) in a.balances {
        let raw = try FixedPoint.parse(amount, scale: 8)
        engine.deposit(account: i + 1, asset: asset, units: Int128(raw) * 10_000_000_000)
      }
    }
    let host = try VenueHost(
      loop: loop, engine: engine, credentials: credentials,
      tls: TLSContext(server: certs.cert, keyFile: certs.key),
      listeners: cfg.listeners, market: cfg.synthetic, faults: cfg.faults)
    var replayer: VenueReplay?
    if let replayTape {
      let r = VenueReplay(
        tape: replayTape.tape, engine: engine, symbol: cfg.symbols[0].name,
        instrument: cfg.symbols[0].instrument, rule: rule)
      replayer = r
      // The capture's clock, running at `speed` from its first event.
      let (wall0, capture0, speed) = (cplat_now_ns(), r.nowNs, self.speed)
      let captureNs = { capture0 + Int64(Double(cplat_now_ns() - wall0) * speed) }
      engine.clock = { captureNs() / 1_000_000 }
      host.rest.clockMs = { captureNs() / 1_000_000 }
      loop.schedule(every: 1_000_000) {
        r.play(untilNs: captureNs())
        if r.isDone { say("replay finished: \(r.messages) messages, \(r.trades) trades; still serving") }
        return !r.isDone
      }
      say(replayTape.note)
    }
    host.rest.weightLimitOverride(cfg.weightLimit, windowMs: Int64(cfg.weightWindowSeconds) * 1_000)
    host.rest.orderLimitOverride(cfg.ordersPer10Seconds)
    host.streams.pingIntervalNs = Int64(cfg.pingIntervalSeconds * 1e9)
    if cfg.forcedDisconnectSeconds > 0 {
      host.streams.forcedDisconnectNs = Int64(cfg.forcedDisconnectSeconds * 1e9)
    }
    if cfg.skipDiffEverySeconds > 0 {
      let every = Int64(cfg.skipDiffEverySeconds * 1e9)
      func arm() {
        loop.schedule(after: every) {
          host.streams.skipNextDiff = true
          arm()
        }
      }
      arm()
    }
    let served: [VenueRole: String] = [
      .rest: "REST /api/v3", .streams: "streams /ws and /stream", .wsAPI: "WebSocket API /ws-api/v3",
    ]
    for (l, server) in zip(host.listeners, host.servers) {
      let names = VenueRole.allCases.compactMap { l.roles.contains($0) ? cfg.roles[$0]?.name : nil }
      say(
        "venue listening on https://\(l.host):\(server.port)\(names.isEmpty ? "" : " (\(names.joined(separator: ", ")))") (\(VenueRole.allCases.filter(l.roles.contains).compactMap { served[$0] }.joined(separator: ", ")))"
      )
    }
    say(
      "trust it with: --cacert \(certs.ca)   (curl), REQUESTS_CA_BUNDLE=\(certs.ca)   (Python), or TLSContext(client: \"\(certs.ca)\")"
    )
    say(
      "symbols: \(cfg.symbols.map(\.name).joined(separator: ", ")); accounts: \(cfg.accounts.map(\.apiKey).joined(separator: ", "))"
    )
    let end = duration > 0 ? cplat_now_ns() + Int64(duration * 1e9) : Int64.max
    var lastStatus = cplat_now_ns()
    let first = cfg.symbols[0]
    loop.run(timeoutNs: .max) {
      let now = cplat_now_ns()
      if now - lastStatus > 5_000_000_000 {
        lastStatus = now
        let d = engine.depth(symbol: first.name, limit: 1)
        say(
          "status: \(first.name) best bid \(d.bids.first.map { first.priceString($0.tick) } ?? "-") / ask \(d.asks.first.map { first.priceString($0.tick) } ?? "-"), \(engine.trades.count) trades, faults \(host.rest.faults?.counts ?? [:])"
        )
      }
      return now >= end
    }
    say("venue stopped: \(engine.trades.count) trades")
    if let replayer { say("replayed \(replayer.messages) messages of the capture") }
    host.close()
    loop.shutdown()
  }

  /// `symbol` on a capture's market: its grid in the capture's scales (the filters scaled with
  /// it), and the capture's tape at that instrument.
  static func replaySymbol(_ symbol: VenueSymbol, files: [String]) throws -> (VenueSymbol, MarketTape, String)
  {
    for f in files where !FileManager.default.isReadableFile(atPath: f) {
      throw ValidationError("cannot read capture file \(f)")
    }
    let inferred = try captureInstrument(files: files, symbol: symbol.name, dialect: "Binance")
    let mine = symbol.instrument
    let dp = inferred.priceScale - mine.priceScale
    let dq = inferred.quantityScale - mine.quantityScale
    guard dp >= 0, dq >= 0 else {
      throw ValidationError(
        "\(symbol.name): the capture is written in fewer decimals (prices 10^-\(inferred.priceScale), quantities 10^-\(inferred.quantityScale)) than the config's tick_size/lot_size"
      )
    }
    func up(_ x: Int64, _ d: Int) -> Int64 { (0..<d).reduce(x) { v, _ in v * 10 } }
    var s = symbol
    s.instrument = Instrument(
      symbol: symbol.name, priceScale: inferred.priceScale, quantityScale: inferred.quantityScale,
      tickSize: up(mine.tickSize, dp), lotSize: up(mine.lotSize, dq))
    s.minQty = up(s.minQty, dq)
    s.maxQty = up(s.maxQty, dq)
    s.stepQty = up(s.stepQty, dq)
    let dn = dp + dq
    s.minNotional = (0..<dn).reduce(s.minNotional) { v, _ in v * 10 }
    s.maxNotional = (0..<dn).reduce(s.maxNotional) { v, _ in v * 10 }
    let (tape, note) = try cachedTape(
      files: files, instrument: s.instrument, cacheDirectory: BacktestParameters().cacheDirectory)
    guard tape.header.messages > 0 else {
      throw ValidationError("no market data in \(files.joined(separator: ", "))")
    }
    return (s, tape, note)
  }
}
