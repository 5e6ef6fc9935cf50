import ArgumentParser
import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import Logging
import Persistence
import Strategies
import Wire
import Yams

/// Reads and checks a run config, turning its errors into the CLI's.
func loadRunConfig(_ path: String) throws -> RunConfig {
  guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
    throw ValidationError("cannot read config file \(path)")
  }
  do {
    return try RunConfig.parse(text, file: path, environment: ProcessInfo.processInfo.environment)
  } catch let e as ConfigError {
    throw ValidationError(e.description)
  }
}

struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run a strategy from a YAML config, live or paper.",
    discussion: """
      Connects to the exchange of the config (Binance spot, or a local `needletail venue` with \
      its ca_file), reads the market's trading rule from exchangeInfo, and runs the strategy in \
      the live runtime. Paper mode uses live market data and fills orders locally against the live \
      book with queue position; live mode sends real orders. Ctrl-C stops: orders are cancelled \
      and a summary printed. `needletail run --print-example-config` prints a commented config.
      """)

  @Argument(help: "The YAML config.")
  var config: String?

  @Flag(help: "Print an example config and exit.")
  var printExampleConfig = false

  @Option(help: "Override the config's duration (seconds; 0: until interrupted).")
  var duration: Double?

  @Option(help: "The trade history (SQLite; default: the config's path with .sqlite).")
  var db: String?

  @OptionGroup var runtimeOptions: RuntimeOptions

  @OptionGroup var logging: LogOptions

  mutating func run() throws {
    if printExampleConfig {
      print(RunConfig.example)
      return
    }
    guard let config else { throw ValidationError("give a config file (or --print-example-config)") }
    var cfg = try loadRunConfig(config)
    if let duration { cfg.durationSeconds = duration }
    cfg.runtime = try runtimeOptions.apply(to: cfg.runtime)
    let log = try logging.start(secrets: [cfg.apiKey, cfg.secret], label: "needletail.run")
    say(cfg.summary)
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let tls = try TLSContext(client: cfg.caFile)
    let pick = try BinanceSpotPick(
      loop: loop, endpoints: cfg.endpoints, tls: tls, symbol: cfg.market)
    let info = pick.symbol
    let instrument = info.instrument
    let strategy: any MarketMakingStrategy
    let limits: RiskLimits
    var feed: HTTPPriceFeed? = nil
    defer { feed?.stop() }
    do {
      limits = try cfg.riskLimits(instrument: instrument)
      strategy = try cfg.makeStrategy(instrument: instrument, rule: info.rule) { pc in
        if let f = cfg.priceFeed() {
          let external = ExternalPrice()
          pc.externalPrice = external
          pc.externalPriceMaxAgeNs = max(3 * f.intervalNs, 2_000_000_000)
          var source = try HTTPPriceFeed.Source.parse(f.url, field: f.field).get()
          source.invert = f.invert
          source.headers = f.headers
          feed = HTTPPriceFeed(
            loop: loop, source: source, tls: tls, serverName: source.host == cfg.host ? cfg.serverName : nil,
            priceScale: instrument.priceScale, intervalNs: f.intervalNs, into: external)
          log.info("reference price from \(f.url)", metadata: ["field": "\(f.field.rawValue)"])
        }
      }
    } catch let e as ConfigError {
      throw ValidationError("\(config): \(e.path): \(e.message)")
    }
    let tracker = OrderTracker()
    let ms: Int64 = 1_000_000
    let prefix = newClientIDPrefix()
    let session = pick.node(
      apiKey: cfg.apiKey, secret: cfg.secret, strategy: strategy, limits: limits, prefix: prefix,
      tracker: tracker, clock: Clock(tickNs: Int64(cfg.clockTickSeconds * 1e3) * ms, start: cplat_now_ns()),
      centreTick: 0, paper: cfg.mode == .paper ? .proportional : nil, sharePercent: cfg.rateLimitsSharePct,
      layout: cfg.runtime.nodeLayout)
    say("runtime: \(cfg.runtime)")
    var shared = pick.info.rateLimits
    shared.sharePercent = cfg.rateLimitsSharePct
    log.info("request limits (the venue's exchangeInfo)", metadata: ["limits": "\(shared.summary)"])
    let dbPath = db ?? (config as NSString).deletingPathExtension + ".sqlite"
    var base: Int128 = 0
    var quote: Int128 = 0
    var fees = cfg.fees ?? FeeSchema(makerRate: 100_000, takerRate: 100_000)
    var feesFrom = cfg.fees == nil ? "paper default" : "config"
    let venueID: VenueIdentity
    if cfg.mode == .paper {
      // The paper exchange lives in this process: a venue of its own each run.
      venueID = .ephemeral(
        kind: "paper", environment: "\(cfg.host):\(cfg.port)",
        nowNs: Int64(Date().timeIntervalSince1970 * 1e9))
      for (asset, amount) in cfg.paperBalances {
        let units = Int128(try FixedPoint.parse(amount, scale: 8)) * 10_000_000_000
        if asset == info.baseAsset { base = units }
        if asset == info.quoteAsset { quote = units }
      }
    } else {
      if let w = cfg.recvWindowMs {
        session.rest.recvWindowMs = w
        session.entry.recvWindowMs = w
      }
      // Signed requests carry the venue's time: measure our clock against it before the first.
      if let t = session.syncServerTime() {
        log.info(
          "server time", metadata: ["offset_ms": "\(t.offsetMs)", "round_trip_ms": "\(t.roundTripMs)"])
      } else {
        log.warning("the venue did not answer GET /api/v3/time: signing with this host's clock")
      }
      session.keepServerTimeSynced()
      let account: AccountSnapshot
      do { account = try session.fetchAccount() } catch {
        throw RunFailure("\(error) — no balances, no trading")
      }
      // The venue is the exchange where the account is: its trade and client ids are its own.
      // The history keeps each account's orders and fills apart by it: without it a restart
      // could settle another account's orders.
      guard let uid = account.account else {
        throw RunFailure(
          "the account answer had no account id (uid): no trading (the history keys accounts by it)")
      }
      venueID = VenueIdentity(
        kind: BinanceSpotPick.kind, environment: "\(cfg.host):\(cfg.port)", account: uid)
      let b = account.balances
      base = (b[info.baseAsset]?.free ?? 0) + (b[info.baseAsset]?.locked ?? 0)
      quote = (b[info.quoteAsset]?.free ?? 0) + (b[info.quoteAsset]?.locked ?? 0)
      // The account's own rates (its VIP tier, any discount) unless the config overrides them.
      if cfg.fees == nil {
        if let f = account.fees {
          fees = f
          feesFrom = "account"
        } else {
          feesFrom = "default: the account answer had no commissionRates"
          log.warning("the account answer had no commissionRates: assuming 0.1 % maker and taker")
        }
      } else if let f = account.fees, f != fees {
        log.warning(
          "the config's fees differ from the account's",
          metadata: [
            "account_maker_pct": "\(Double(f.makerRate) / 1e6)",
            "account_taker_pct": "\(Double(f.takerRate) / 1e6)",
          ])
      }
    }
    // The trading rule is read again every 30 minutes and after a filter refusal (paper too: it
    // trades the live market's rule).
    session.keepTradingRulesFresh(symbol: cfg.market, rule: info.rule)
    // Before anything is placed: what earlier runs left at this venue is settled and written.
    if let note = try TradeHistory.recover(
      path: dbPath, asking: cfg.mode == .paper ? nil : session.adapter, instrument: instrument, venue: venueID
    ) {
      log.notice("history \(dbPath): \(note)")
    }
    log.info(
      "fees",
      metadata: [
        "maker_pct": "\(Double(fees.makerRate) / 1e6)", "taker_pct": "\(Double(fees.takerRate) / 1e6)",
        "from": "\(feesFrom)",
      ])
    strategy.portfolio = Portfolio(
      base: base, quote: quote, fees: fees, priceScale: instrument.priceScale,
      quantityScale: instrument.quantityScale)
    let writer = try startHistory(
      path: dbPath,
      run: RunInfo(
        startedAtNs: Int64(Date().timeIntervalSince1970 * 1e9), mode: cfg.mode == .paper ? "paper" : "live",
        venue: venueID, symbol: cfg.market, baseAsset: info.baseAsset, quoteAsset: info.quoteAsset,
        priceScale: instrument.priceScale, quantityScale: instrument.quantityScale, fees: fees,
        prefix: prefix,
        startBase: base, startQuote: quote), host: session.host, log: log, sideCPU: cfg.runtime.sideCPU)
    defer { writer.stop() }
    feed?.start()
    let (status, flat) = try trade(
      session: session, pmm: strategy, tracker: tracker, instrument: instrument,
      duration: cfg.durationSeconds,
      statusEvery: cfg.statusEverySeconds, runtime: cfg.runtime, log: log)
    status.summary(record: nil, allCancelled: flat)
    try finishHistory(writer, path: dbPath)
  }
}

struct ConfigCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "config", abstract: "Check configs.", subcommands: [Check.self])

  struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check a run config (or a venue config with --venue) without connecting anywhere.",
      discussion:
        "Prints what the config will do, or the first error: its key, its value and what is allowed. Exit status 1 on an error."
    )

    @Argument(help: "The YAML file.")
    var file: String

    @Flag(help: "The file is a `needletail venue` config.")
    var venue = false

    mutating func run() throws {
      guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
        throw ValidationError("cannot read \(file)")
      }
      do {
        if venue {
          let c = try VenueConfig.parse(text, file: file, environment: ProcessInfo.processInfo.environment)
          say(
            "OK: venue on \(c.listeners.map { "\($0.host):\($0.port)" }.joined(separator: ", ")) with \(c.symbols.count) symbol(s) and \(c.accounts.count) account(s)"
          )
        } else {
          let c = try RunConfig.parse(text, file: file, environment: ProcessInfo.processInfo.environment)
          say("OK: \(c.summary)")
          say("runtime: \(c.runtime)")
        }
      } catch let e as ConfigError {
        FileHandle.standardError.write(Data("\(e.description)\n".utf8))
        throw ExitCode(1)
      }
    }
  }
}

struct ImportHummingbot: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "import-hummingbot",
    abstract: "Translate a Hummingbot pure market making or Avellaneda config into a Needletail run config.",
    discussion: """
      Reads a Hummingbot strategy config as Hummingbot's `create` writes it (every key of its \
      template; an empty value means not set): pure_market_making (template_version 24) or \
      avellaneda_market_making. Every parameter Needletail has is kept under the same name and \
      meaning; every other key of the template is named in the output with the reason it is not \
      kept. A key the template does not have is an error. The output is a run config in paper mode \
      (set mode: live and the key's environment variables to trade) that passes `config check`. \
      --client-config reads rate_limits_share_pct from Hummingbot's conf_client.yml.
      """)

  @Argument(help: "The Hummingbot strategy config file.")
  var file: String

  @Option(help: "Hummingbot's conf_client.yml, for rate_limits_share_pct.")
  var clientConfig: String?

  mutating func run() throws {
    guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
      throw ValidationError("cannot read \(file)")
    }
    var client: (text: String, file: String)? = nil
    if let path = clientConfig {
      guard let t = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw ValidationError("cannot read \(path)")
      }
      client = (t, path)
    }
    do {
      let r = try HummingbotImport.importConfig(text, file: file, clientConfig: client)
      print(r.config)
      FileHandle.standardError.write(
        Data(
          "imported \(r.kept.count) parameters; not kept: \(r.notKept.isEmpty ? "none" : r.notKept.map(\.key).joined(separator: ", ")) (reasons in the output's header)\n"
            .utf8))
    } catch let e as ConfigError {
      FileHandle.standardError.write(Data("\(e.description)\n".utf8))
      throw ExitCode(1)
    }
  }
}
