import Engine
import FastBook
import Foundation
import Strategies
import Testing

@testable import needletail

@Suite struct RunConfigTests {
  let inst = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)

  func message(_ yaml: String, env: [String: String] = [:]) -> String {
    do {
      _ = try RunConfig.parse(yaml, file: "r.yml", environment: env)
      return "accepted"
    } catch {
      return "\(error)"
    }
  }

  /// The example parses, and its Hummingbot units become the engine's: percentages to fractions,
  /// seconds to nanoseconds, amounts to raws at the market's scale.
  @Test func theExampleParsesAndConvertsUnits() throws {
    let c = try RunConfig.parse(RunConfig.example, file: "example", environment: [:])
    #expect(c.mode == .paper && c.market == "BTCUSDT" && c.paperBalances.count == 2)
    let s = try c.strategyConfig(instrument: inst)
    #expect(s.bidSpread == 0.0001 && s.orderAmount == 100 && s.orderRefreshTimeNs == 30_000_000_000)
    #expect(s.minimumSpread == nil && s.priceCeiling == nil && s.movingPriceFloor == 0.01)
    #expect(s.waitForCancelConfirmation && !s.eventDriven)
    let l = try c.riskLimits(instrument: inst)
    #expect(l.maxOpenOrders == 20 && l.priceBandBps == 200 && l.maxOrdersPerSecond == 20)
  }

  /// Bad configs are refused before anything connects, and the message names the key, the value
  /// and what is allowed; a secret's value never appears in one.
  @Test func badConfigsAreRefusedWithAPreciseMessage() {
    let base = "market: BTCUSDT\npaper_balances: {BTC: \"1\"}\nstrategy: pure_market_making\n"
    let pmm = "pure_market_making: {bid_spread: 0.1, ask_spread: 0.1, order_amount: \"0.001\"}\n"
    #expect(message(base + pmm) == "accepted")
    #expect(
      message(base + pmm + "colour: red\n").hasPrefix(
        "r.yml: colour: unknown key; allowed here: mode, exchange"))
    #expect(
      message(base + "pure_market_making: {bid_spred: 0.1, ask_spread: 0.1, order_amount: \"1\"}\n")
        .hasPrefix("r.yml: pure_market_making.bid_spred: unknown key; allowed here: bid_spread"))
    #expect(
      message(base + "pure_market_making: {bid_spread: wide, ask_spread: 0.1, order_amount: \"1\"}\n")
        == "r.yml: pure_market_making.bid_spread: 'wide' is not a number")
    #expect(
      message(base + "pure_market_making: {bid_spread: 150, ask_spread: 0.1, order_amount: \"1\"}\n")
        == "r.yml: pure_market_making.bid_spread: 150 is not allowed (a percentage, -100 to 100)")
    #expect(
      message(base + "pure_market_making: {bid_spread: 1, ask_spread: 1, order_amount: \"0\"}\n")
        == "r.yml: pure_market_making.order_amount: 0 is not allowed (an amount above 0)")
    #expect(
      message(
        base + "pure_market_making: {bid_spread: 1, ask_spread: 1, order_amount: \"1\", order_levels: 0}\n")
        == "r.yml: pure_market_making.order_levels: 0 is out of range (allowed 1...100)")
    #expect(
      message(
        base
          + "pure_market_making: {bid_spread: 1, ask_spread: 1, order_amount: \"1\", ping_pong_enabled: maybe}\n"
      )
        == "r.yml: pure_market_making.ping_pong_enabled: 'maybe' is not true or false")
    #expect(
      message(
        base + "pure_market_making: {bid_spread: 1, ask_spread: 1, order_amount: \"1\", price_type: vwap}\n"
      )
      .hasPrefix("r.yml: pure_market_making.price_type: 'vwap' is not allowed (mid_price, last_price"))
    #expect(message(base) == "r.yml: pure_market_making: missing (the strategy's parameters)")
    #expect(
      message("market: BTCUSDT\nstrategy: pure_market_making\n" + pmm).hasPrefix(
        "r.yml: paper_balances: missing (paper mode trades these balances"))
    #expect(message(base + pmm + "mode: maybe\n") == "r.yml: mode: 'maybe' is not allowed (live or paper)")
    #expect(
      message(base + pmm + "risk: {max_open_orders: 0}\n")
        == "r.yml: risk.max_open_orders: 0 is out of range (allowed 1...10000)")
    // Live mode needs the key and the secret, from the environment or a 0600 file.
    let live =
      "mode: live\nexchange: {api_key_env: K, secret_env: S}\nmarket: BTCUSDT\nstrategy: pure_market_making\n"
      + pmm
    #expect(
      message(live)
        == "r.yml: exchange.api_key_env: environment variable K is not set (live mode needs the API key)")
    #expect(message(live, env: ["K": "key"]).contains("environment variable S is not set"))
    #expect(message(live, env: ["K": "key", "S": "topsecret"]) == "accepted")
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("nt-secret-\(UUID().uuidString)")
      .path
    _ = FileManager.default.createFile(
      atPath: file, contents: Data("topsecret\n".utf8), attributes: [.posixPermissions: 0o644])
    let withFile = live.replacingOccurrences(of: "secret_env: S", with: "secret_file: \(file)")
    let m = message(withFile, env: ["K": "key"])
    #expect(m.contains("is readable by others (mode 644); make it 0600") && !m.contains("topsecret"))
  }

  /// An amount finer than the market's lot is an error that names the key, once the market's
  /// scales are known.
  /// `fees:` overrides the rates in percent (a negative maker fee is a rebate); without it the
  /// rates are left to the account (live) or 0.1 % (paper); bad values name the key.
  /// Binance's three services from a profile (the real hosts), each overridable; one host for
  /// all (a local venue) as before; a profile and a host together refused.
  @Test func exchangeProfilesGiveEachServiceItsHost() throws {
    func parse(_ exchange: String) throws -> RunConfig {
      try RunConfig.parse(
        "mode: paper\nexchange: \(exchange)\nmarket: BTCUSDT\npaper_balances: {BTC: \"1\", USDT: \"100\"}\n"
          + "strategy: pure_market_making\n"
          + "pure_market_making: {bid_spread: 0.1, ask_spread: 0.1, order_amount: \"0.001\"}\n",
        file: "r.yml", environment: [:])
    }
    let main = try RunConfig.parse(RunConfig.example, file: "example", environment: [:]).endpoints
    #expect(main.rest.host == "api.binance.com" && main.rest.port == 443)
    #expect(
      main.streams.host == "stream.binance.com" && main.streams.port == 9443 && main.streams.path == "/stream"
    )
    #expect(
      main.wsAPI.host == "ws-api.binance.com" && main.wsAPI.port == 443 && main.wsAPI.path == "/ws-api/v3")
    let test = try parse("{ name: binance, profile: testnet, streams: { port: 443 } }").endpoints
    #expect(test.rest.host == "testnet.binance.vision" && test.wsAPI.host == "ws-api.testnet.binance.vision")
    #expect(test.streams.host == "stream.testnet.binance.vision" && test.streams.port == 443)
    let local = try parse("{ name: binance, host: 127.0.0.1, port: 8443, server_name: localhost }").endpoints
    #expect(
      [local.rest, local.streams, local.wsAPI].allSatisfy {
        $0.host == "127.0.0.1" && $0.port == 8443 && $0.serverName == "localhost"
      })
    #expect(local.wsAPI.path == "/ws-api/v3" && local.streams.path == "/stream")
    let over = try parse("{ name: binance, rest: { host: api1.binance.com } }").endpoints
    #expect(over.rest.host == "api1.binance.com" && over.rest.serverName == "api1.binance.com")
    #expect(over.wsAPI == main.wsAPI)
    #expect(throws: ConfigError.self) { try parse("{ name: binance, profile: testnet, host: x }") }
    #expect(throws: ConfigError.self) { try parse("{ name: binance, profile: moon }") }
    #expect(throws: ConfigError.self) { try parse("{ name: binance, ws_api: { hots: x } }") }
    #expect(try parse("{ name: binance, recv_window_ms: 2500 }").recvWindowMs == 2500)
    #expect(try parse("{ name: binance }").recvWindowMs == nil)
    #expect(throws: ConfigError.self) { try parse("{ name: binance, recv_window_ms: 70000 }") }
    #expect(try parse("{ name: binance }").rateLimitsSharePct == 100)
    #expect(try parse("{ name: binance, rate_limits_share_pct: 25 }").rateLimitsSharePct == 25)
    #expect(throws: ConfigError.self) { try parse("{ name: binance, rate_limits_share_pct: 0 }") }
    #expect(throws: ConfigError.self) { try parse("{ name: binance, rate_limits_share_pct: 101 }") }
  }

  /// `runtime:` — the layout, idle mode and CPUs; defaults from the CPU count (two threads from
  /// three CPUs, the strategy spinning on the last); CPUs the process may not use, or both engine
  /// threads on one CPU, refused with the key.
  @Test func runtimeLayoutFromTheConfigAndTheCPUCount() throws {
    func parse(_ runtime: String) throws -> RuntimeSettings {
      try RunConfig.parse(
        "mode: paper\nmarket: BTCUSDT\npaper_balances: {BTC: \"1\", USDT: \"100\"}\n"
          + "strategy: pure_market_making\n"
          + "pure_market_making: {bid_spread: 0.1, ask_spread: 0.1, order_amount: \"0.001\"}\n" + runtime,
        file: "r.yml", environment: [:]
      ).runtime
    }
    let two = RuntimeSettings.defaults(cpus: [0, 1])
    #expect(two.layout == .oneThread && two.idle == .block && two.wireCPU == nil)
    let four = RuntimeSettings.defaults(cpus: [0, 1, 2, 3])
    #expect(four.layout == .twoThreads && four.idle == .spin)
    #expect(four.wireCPU == 2 && four.strategyCPU == 3 && four.sideCPU == 0)
    #expect(RuntimeSettings.defaults(cpus: [4, 6, 8]).sideCPU == nil)
    #expect(try parse("") == RuntimeSettings.defaults(cpus: RuntimeSettings.allowedCPUs()))
    let cpus = RuntimeSettings.allowedCPUs()
    let r = try parse("runtime: {layout: two-threads, idle: block, cpus: {wire: \(cpus[0])}}")
    #expect(r.layout == .twoThreads && r.idle == .block && r.wireCPU == cpus[0] && r.strategyCPU == nil)
    #expect("\(r)".hasPrefix("two-threads: wire CPU \(cpus[0]) blocking in io_uring, strategy unpinned"))
    for (bad, key) in [
      ("runtime: {layout: three-threads}", "runtime.layout"), ("runtime: {idle: nap}", "runtime.idle"),
      ("runtime: {layout: two-threads, cpus: {wire: 4095}}", "runtime.cpus.wire"),
      (
        "runtime: {layout: two-threads, cpus: {wire: \(cpus[0]), strategy: \(cpus[0])}}",
        "runtime.cpus.strategy"
      ),
      ("runtime: {layout: one-thread, cpus: {strategy: \(cpus[0])}}", "runtime.cpus.strategy"),
      ("runtime: {cpus: {core: 1}}", "runtime.cpus.core"),
    ] {
      #expect(throws: ConfigError.self) { try parse(bad) }
      do { _ = try parse(bad) } catch let e as ConfigError { #expect(e.path == key, "\(bad): \(e)") }
    }
  }

  @Test func feesFromTheConfigOrLeftToTheAccount() throws {
    let base =
      "market: BTCUSDT\npaper_balances: {BTC: \"1\"}\nstrategy: pure_market_making\n"
      + "pure_market_making: {bid_spread: 0.1, ask_spread: 0.1, order_amount: \"0.001\"}\n"
    #expect(try RunConfig.parse(base, file: "r.yml", environment: [:]).fees == nil)
    let c = try RunConfig.parse(
      base + "fees: {maker_pct: -0.0025, taker_pct: 0.075}\n", file: "r.yml", environment: [:])
    #expect(c.fees == FeeSchema(makerRate: -2_500, takerRate: 75_000))
    #expect(
      message(base + "fees: {maker_pct: 12, taker_pct: 0.1}\n")
        == "r.yml: fees.maker_pct: 12 is not allowed (a percentage from -1 to 10)")
    #expect(
      message(base + "fees: {maker: 0.1}\n").hasPrefix(
        "r.yml: fees.maker: unknown key; allowed here: maker_pct"))
    #expect(
      message(base + "fees: {maker_pct: 0.1}\n").hasPrefix("r.yml: fees.taker_pct: "),
      "\(message(base + "fees: {maker_pct: 0.1}\n"))")
  }

  /// Hummingbot's price sources: this market, another market of the exchange (its ticker), or a
  /// custom URL; each misuse names its key.
  @Test func priceSources() throws {
    let base = "market: BTCUSDT\npaper_balances: {BTC: \"1\"}\nstrategy: pure_market_making\n"
    func pmm(_ extra: String) -> String {
      base + "pure_market_making: {bid_spread: 0.1, ask_spread: 0.1, order_amount: \"0.001\"\(extra)}\n"
    }
    #expect(try RunConfig.parse(pmm(""), file: "r.yml", environment: [:]).priceFeed() == nil)
    let ext = try RunConfig.parse(
      pmm(", price_source: external_market, price_source_market: ETHUSDT, price_type: best_bid"),
      file: "r.yml",
      environment: [:])
    let f = try #require(ext.priceFeed())
    #expect(f.url == "https://api.binance.com/api/v3/ticker/bookTicker?symbol=ETHUSDT" && f.field == .bestBid)
    #expect(f.intervalNs == 5_000_000_000)
    let api = try RunConfig.parse(
      pmm(
        ", price_source: custom_api, price_source_custom_api: \"http://127.0.0.1:8080/p\", custom_api_update_interval: 1"
      ),
      file: "r.yml", environment: [:])
    #expect(api.priceFeed()?.url == "http://127.0.0.1:8080/p" && api.priceFeed()?.intervalNs == 1_000_000_000)
    #expect(
      message(pmm(", price_source: oracle"))
        == "r.yml: pure_market_making.price_source: 'oracle' is not allowed (current_market, external_market or custom_api)"
    )
    #expect(
      message(pmm(", price_source: external_market")).hasPrefix(
        "r.yml: pure_market_making.price_source_market: "))
    #expect(
      message(
        pmm(", price_source: external_market, price_source_market: ETHUSDT, price_source_exchange: kraken")
      )
      .hasPrefix("r.yml: pure_market_making.price_source_exchange: 'kraken' is not supported"))
    #expect(
      message(
        pmm(", price_source: external_market, price_source_market: ETHUSDT, price_type: inventory_cost")
      )
      .hasPrefix("r.yml: pure_market_making.price_type: 'inventory_cost' cannot come from an external market")
    )
    #expect(
      message(pmm(", price_source: custom_api, price_source_custom_api: \"ftp://x/p\""))
        == "r.yml: pure_market_making.price_source_custom_api: 'ftp://x/p' is not an http:// or https:// URL with a host"
    )
  }

  @Test func amountsFinerThanTheMarketAreRefused() throws {
    let yaml =
      "market: BTCUSDT\npaper_balances: {BTC: \"1\"}\nstrategy: pure_market_making\n"
      + "pure_market_making: {bid_spread: 1, ask_spread: 1, order_amount: \"0.0000001\"}\n"
    let c = try RunConfig.parse(yaml, file: "r.yml", environment: [:])
    #expect(throws: ConfigError.self) { try c.strategyConfig(instrument: inst) }
    do {
      _ = try c.strategyConfig(instrument: inst)
    } catch let e as ConfigError {
      #expect(e.path == "pure_market_making.order_amount" && e.message.contains("quantity scale (5)"))
    }
  }

  /// A Hummingbot pure market making config imports: every parameter keeps its name and value,
  /// the market becomes Binance's symbol, and what is printed is itself a valid config. A
  /// parameter Needletail does not have is refused by name.
  @Test func hummingbotConfigsImport() throws {
    let hb = """
      template_version: 24
      strategy: pure_market_making
      exchange: binance
      market: ETH-USDT
      bid_spread: 0.2
      ask_spread: 0.3
      order_amount: 0.05
      order_levels: 3
      order_level_spread: 0.5
      inventory_skew_enabled: true
      inventory_price: 1.0
      hanging_orders_enabled: true
      ping_pong_enabled: false
      price_source: current_market
      price_type: mid_price
      price_source_exchange:
      order_override:
        special: [sell, 0.7, 0.01]
      take_if_crossed: false
      """
    let out = try HummingbotImport.translate(hb, file: "hb.yml")
    let c = try RunConfig.parse(out, file: "imported", environment: [:])
    #expect(c.market == "ETHUSDT" && c.mode == .paper)
    #expect(c.pmm.bidSpread == 0.2 && c.pmm.askSpread == 0.3 && c.pmm.orderAmount == "0.05")
    #expect(c.pmm.orderLevels == 3 && c.pmm.inventorySkewEnabled && c.pmm.hangingOrdersEnabled)
    #expect(c.pmm.orderOverride.count == 1 && c.pmm.orderOverride[0].side == .sell)
    #expect(out.contains("inventory_price"), "what was not kept is said")
    let custom = hb.replacingOccurrences(of: "price_source: current_market", with: "price_source: custom_api")
    #expect(throws: ConfigError.self) { try HummingbotImport.translate(custom, file: "hb.yml") }
    let unknown = hb + "\nmagic_spread: 3"
    do {
      _ = try HummingbotImport.translate(unknown, file: "hb.yml")
      Issue.record("an unknown parameter was accepted")
    } catch let e as ConfigError {
      #expect(e.path == "magic_spread")
    }
  }

  /// Avellaneda–Stoikov from a config: γ and k in quote units become per price raw, percentages
  /// fractions; a bad time of day or timeframe names its key.
  @Test func glftConfigs() throws {
    let yaml = """
      market: BTCUSDT
      paper_balances: {BTC: "1", USDT: "60000"}
      strategy: glft_market_making
      glft_market_making:
        risk_aversion: 0.1
        order_amount: "0.01"
        max_position: 5
        inventory_target_base_pct: 0
        volatility_window: 300
        intensity_window: 120
        half_spread_multiplier: 1.5
      backtest:
        data: [a.gz, b.gz]
        venue: binance_usdm
        queue_model: "power:2"
        fills: whole
        latency: { file: lat.csv }
      """
    let c = try RunConfig.parse(yaml, file: "g.yml", environment: [:])
    let g = try c.glftConfig(instrument: inst)
    #expect(g.gamma == 0.1 && g.orderAmount == 1_000 && g.maxPosition == 5 && g.inventoryTargetBase == 0)
    #expect(
      g.volatilityWindowSeconds == 300 && g.intensityWindowSeconds == 120 && g.halfSpreadMultiplier == 1.5)
    #expect(g.skewMultiplier == 1 && g.warmupSeconds == 60)
    #expect(c.summary.hasPrefix("GLFT market making on BTCUSDT"))
    let b = try #require(c.backtest)
    #expect(
      b.data == ["a.gz", "b.gz"] && b.venue == .binanceUSDM && b.queue == .power(2) && b.fills == .whole)
    #expect(b.latencyFile == "lat.csv")
    #expect(
      message(yaml.replacingOccurrences(of: "max_position: 5", with: "max_posiiton: 5"))
        .hasPrefix("r.yml: glft_market_making.max_posiiton: unknown key; allowed here: risk_aversion"))
    #expect(
      message(yaml.replacingOccurrences(of: "queue_model: \"power:2\"", with: "queue_model: fifo"))
        == "r.yml: backtest.queue_model: 'fifo' is not a queue model (allowed: risk_averse, power:N, power2:N, power3:N, log, log2)"
    )
    #expect(
      message(
        yaml.replacingOccurrences(
          of: "latency: { file: lat.csv }", with: "latency: { file: lat.csv, entry_ms: 2 }"))
        == "r.yml: backtest.latency: give either file (recorded round trips) or entry_ms/response_ms (constant), not both"
    )
  }

  @Test func avellanedaStoikovConfigs() throws {
    let yaml = """
      market: BTCUSDT
      paper_balances: {BTC: "1", USDT: "60000"}
      strategy: avellaneda_market_making
      avellaneda_market_making:
        risk_factor: 0.5
        order_amount: "0.01"
        order_amount_shape_factor: 0.3
        min_spread: 0.02
        order_levels: 2
        level_distances: 50
        kappa_prior: 2
        execution_timeframe: daily_between_times
        start_time: "09:00:00"
        end_time: "17:30:00"
      """
    let c = try RunConfig.parse(yaml, file: "as.yml", environment: [:])
    let a = try c.avellanedaConfig(instrument: inst)
    #expect(a.riskFactor == 0.005 && a.kappa == 0.02 && a.orderAmount == 1_000)
    #expect(a.minimumSpread == 0.0002 && a.levelDistances == 0.5 && a.orderLevels == 2)
    #expect(a.timeframe == .daily(startSecond: 9 * 3_600, endSecond: 17 * 3_600 + 1_800))
    #expect(c.summary.hasPrefix("Avellaneda–Stoikov on BTCUSDT"))
    #expect(
      message(yaml.replacingOccurrences(of: "\"17:30:00\"", with: "\"25:00:00\""))
        == "r.yml: avellaneda_market_making.end_time: '25:00:00' is not a time of day (HH:MM:SS, UTC)")
    #expect(
      message(yaml.replacingOccurrences(of: "risk_factor: 0.5", with: "risk_factor: 0"))
        == "r.yml: avellaneda_market_making.risk_factor: 0 is not allowed (γ, above 0)")
    #expect(
      message(yaml.replacingOccurrences(of: "strategy: avellaneda_market_making", with: "strategy: grid"))
        == "r.yml: strategy: 'grid' is not available (allowed: pure_market_making, avellaneda_market_making, glft_market_making)"
    )
  }
}
