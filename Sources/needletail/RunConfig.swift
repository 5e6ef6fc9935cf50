import Connectors
import Engine
import FastBook
import Foundation
import Strategies

/// `needletail run`'s configuration: which exchange, which market, paper or live, the strategy
/// and its parameters (Hummingbot's names and units, so a Hummingbot user reads it at once), and
/// the risk limits. Every key is known; every error names the key, the value and what is allowed.
/// Amounts stay decimal text until the market's scales are known (from exchangeInfo).
struct RunConfig {
  enum Mode: String { case live, paper }

  var mode: Mode = .paper
  var exchange = "binance"
  var host = "api.binance.com"
  var port: UInt16 = 443
  var serverName: String? = nil
  /// `exchange.profile`: mainnet or testnet (nil: everything at `host`, a local venue).
  var profile: String? = "mainnet"
  /// The exchange's three services: the profile's hosts, each overridable (`rest`, `streams`,
  /// `ws_api`), or all at `host`:`port` when only that is given.
  var endpoints = BinanceSpotAdapter.Endpoints.mainnet
  /// `exchange.recv_window_ms`: how old a signed request may be when the venue reads it (nil: the
  /// venue's default, 5,000 ms).
  var recvWindowMs: Int? = nil
  /// `runtime:`: the layout, the idle mode and the CPUs (defaults from the CPU count).
  var runtime = RuntimeSettings.defaults(cpus: RuntimeSettings.allowedCPUs())
  /// `exchange.rate_limits_share_pct`: this engine's share of the venue's request limits, in
  /// percent (Hummingbot's `rate_limits_share_pct`, for several engines on one key or IP).
  var rateLimitsSharePct = 100
  /// A CA bundle to trust (a local venue's); nil: the system's.
  var caFile: String? = nil
  var apiKey = ""
  var secret = ""
  var market = "BTCUSDT"
  var paperBalances: [(String, String)] = []
  var clockTickSeconds = 1.0
  var durationSeconds = 0.0
  var statusEverySeconds = 10.0
  var strategy = "pure_market_making"
  var pmm = PMMParameters()
  var avellaneda = ASParameters()
  var glft = GLFTParameters()
  var risk = RiskParameters()
  /// Maker and taker rates (fractions at scale 8) from `fees:`; nil: live runs read the
  /// account's rates, paper runs use 0.1 % each.
  var fees: FeeSchema? = nil
  /// `backtest:` — what `needletail backtest` replays (nil: none given; `run` ignores it).
  var backtest: BacktestParameters? = nil

  /// Avellaneda–Stoikov's parameters as written (Hummingbot's names; prices in quote units).
  struct ASParameters {
    var riskFactor = 1.0
    var orderAmountShapeFactor = 0.0
    var minSpread = 0.0
    var orderAmount = "0"
    var orderLevels = 1
    var levelDistances = 0.0
    var orderRefreshTime = 30.0
    var orderRefreshTolerancePct = 0.0
    var filledOrderDelay = 60.0
    var inventoryTargetBasePct = 50.0
    var volatilityBufferSize = 200
    var tradingIntensityBufferSize = 200
    var timeframe = ExecutionTimeframe.infinite
    var kappaPrior: Double? = nil
  }

  /// GLFT's parameters as written (γ, amounts in base units, windows in seconds).
  struct GLFTParameters {
    var riskAversion = 0.05
    var orderAmount = "0"
    var maxPosition = 20.0
    var inventoryTargetBasePct = 50.0
    var volatilityWindow = 600.0
    var intensityWindow = 600.0
    var intensityDepthTicks = 40
    var halfSpreadMultiplier = 1.0
    var skewMultiplier = 1.0
    var warmup = 60.0
  }

  static let glftKeys = [
    "risk_aversion", "order_amount", "max_position", "inventory_target_base_pct", "volatility_window",
    "intensity_window", "intensity_depth_ticks", "half_spread_multiplier", "skew_multiplier", "warmup",
  ]

  static let asKeys = [
    "risk_factor", "order_amount_shape_factor", "min_spread", "order_amount", "order_levels",
    "level_distances",
    "order_refresh_time", "order_refresh_tolerance_pct", "filled_order_delay", "inventory_target_base_pct",
    "volatility_buffer_size", "trading_intensity_buffer_size", "execution_timeframe", "start_time",
    "end_time",
    "kappa_prior",
  ]

  /// Pure market making's parameters as written (percentages as Hummingbot writes them).
  struct PMMParameters {
    var bidSpread = 1.0
    var askSpread = 1.0
    var minimumSpread = -100.0
    var orderRefreshTime = 30.0
    var maxOrderAge = 1800.0
    var orderRefreshTolerancePct = 0.0
    var orderAmount = "0"
    var orderLevels = 1
    var orderLevelAmount = "0"
    var orderLevelSpread = 1.0
    var inventorySkewEnabled = false
    var inventoryTargetBasePct = 50.0
    var inventoryRangeMultiplier = 1.0
    var filledOrderDelay = 60.0
    var hangingOrdersEnabled = false
    var hangingOrdersCancelPct = 10.0
    var orderOptimizationEnabled = false
    var askOrderOptimizationDepth = "0"
    var bidOrderOptimizationDepth = "0"
    var addTransactionCosts = false
    var priceCeiling = "-1"
    var priceFloor = "-1"
    var movingPriceBandEnabled = false
    var priceCeilingPct = 1.0
    var priceFloorPct = -1.0
    var priceBandRefreshTime = 86_400.0
    var pingPongEnabled = false
    var priceType = PriceType.mid
    var takeIfCrossed = false
    var orderOverride: [(name: String, side: TradeSide, spread: Double, amount: String)] = []
    var splitOrderLevelsEnabled = false
    var bidOrderLevelSpreads: [Double] = []
    var askOrderLevelSpreads: [Double] = []
    var bidOrderLevelAmounts: [Double] = []
    var askOrderLevelAmounts: [Double] = []
    var shouldWaitOrderCancelConfirmation = true
    var eventDriven = false
    var killSwitchRate: Double? = nil
    var priceSource = "current_market"
    var priceSourceMarket: String? = nil
    var priceSourceCustomAPI: String? = nil
    var customAPIUpdateInterval = 5.0
    var invertCustomAPIPrice = false
    var headerCustomAPI: [(String, String)] = []
  }

  struct RiskParameters {
    var maxOrderAmount: String? = nil
    var maxOpenOrders: Int? = nil
    var maxPosition: String? = nil
    var priceBandBps: Int? = nil
    var maxOrdersPerSecond: Int? = nil
  }

  static let pmmKeys = [
    "bid_spread", "ask_spread", "minimum_spread", "order_refresh_time", "max_order_age",
    "order_refresh_tolerance_pct", "order_amount", "order_levels", "order_level_amount", "order_level_spread",
    "inventory_skew_enabled", "inventory_target_base_pct", "inventory_range_multiplier", "filled_order_delay",
    "hanging_orders_enabled", "hanging_orders_cancel_pct", "order_optimization_enabled",
    "ask_order_optimization_depth", "bid_order_optimization_depth", "add_transaction_costs", "price_ceiling",
    "price_floor", "moving_price_band_enabled", "price_ceiling_pct", "price_floor_pct",
    "price_band_refresh_time", "ping_pong_enabled", "price_type", "take_if_crossed", "order_override",
    "split_order_levels_enabled", "bid_order_level_spreads", "ask_order_level_spreads",
    "bid_order_level_amounts", "ask_order_level_amounts", "should_wait_order_cancel_confirmation",
    "event_driven", "kill_switch_rate", "price_source", "price_source_exchange", "price_source_market",
    "price_source_custom_api", "custom_api_update_interval", "invert_custom_api_price", "header_custom_api",
  ]

  static let example = """
    # Needletail: pure market making on one Binance spot market.
    mode: paper                      # paper: live data, orders filled locally; live: real orders
    exchange:
      name: binance
      profile: mainnet                 # mainnet: api.binance.com, stream.binance.com:9443,
                                       # ws-api.binance.com; testnet: *.testnet.binance.vision
      # rest: { host: api1.binance.com }        # any service's host, port, path, server_name
      # host: 127.0.0.1                # instead of a profile: one host for all (a local venue)
      # port: 8443
      # ca_file: .needletail/venue/ca.pem   # to trade a local `needletail venue`
      api_key_env: NEEDLETAIL_API_KEY
      secret_env: NEEDLETAIL_API_SECRET     # or secret_file: a 0600 file
      # recv_window_ms: 5000           # how old a signed request may arrive
      # rate_limits_share_pct: 100     # this engine's share of the venue's request limits
    market: BTCUSDT
    paper_balances: { BTC: "0.5", USDT: "30000" }
    clock_tick: 1                    # seconds between strategy ticks (0.001 .. 60)
    duration: 0                      # seconds to run; 0: until interrupted
    status_every: 10
    strategy: pure_market_making     # or avellaneda_market_making (section of that name: risk_factor,
                                     # order_amount, order_amount_shape_factor, min_spread, order_levels,
                                     # level_distances, kappa_prior, execution_timeframe, ...), or
                                     # glft_market_making (risk_aversion, order_amount, max_position,
                                     # inventory_target_base_pct, volatility_window, intensity_window,
                                     # intensity_depth_ticks, half_spread_multiplier, skew_multiplier, warmup)
    pure_market_making:              # Hummingbot's keys and units (spreads in %)
      bid_spread: 0.01
      ask_spread: 0.01
      minimum_spread: -100
      order_refresh_time: 30
      max_order_age: 1800
      order_refresh_tolerance_pct: 0
      order_amount: "0.001"
      order_levels: 1
      order_level_amount: "0"
      order_level_spread: 1
      inventory_skew_enabled: false
      inventory_target_base_pct: 50
      inventory_range_multiplier: 1
      filled_order_delay: 60
      hanging_orders_enabled: false
      hanging_orders_cancel_pct: 10
      order_optimization_enabled: false
      ask_order_optimization_depth: 0
      bid_order_optimization_depth: 0
      add_transaction_costs: false
      price_ceiling: -1
      price_floor: -1
      moving_price_band_enabled: false
      price_ceiling_pct: 1
      price_floor_pct: -1
      price_band_refresh_time: 86400
      ping_pong_enabled: false
      price_type: mid_price
      price_source: current_market   # or external_market (price_source_market: ETHUSDT, read from
                                     # the exchange's ticker) or custom_api (price_source_custom_api:
                                     # a URL answering a number or JSON with "price")
      custom_api_update_interval: 5  # seconds between polls; a price 3 polls old (at least 2 s)
                                     # counts as none, and the quotes are pulled
      take_if_crossed: false
      should_wait_order_cancel_confirmation: true
      event_driven: false            # Needletail: also re-quote on book changes
    # fees: { maker_pct: 0.1, taker_pct: 0.1 }   # default: live reads the account's rates,
                                                 # paper uses 0.1 % each
    risk:
      max_open_orders: 20
      max_orders_per_second: 20
      price_band_bps: 200
    """

  static func parse(_ text: String, file: String, environment: [String: String]) throws -> RunConfig {
    let root = try ConfigNode.load(text, file: file)
    try root.only([
      "mode", "exchange", "market", "paper_balances", "clock_tick", "duration", "status_every", "strategy",
      "pure_market_making", "avellaneda_market_making", "glft_market_making", "risk", "fees", "backtest",
      "runtime",
    ])
    var c = RunConfig()
    c.runtime = try RuntimeSettings.parse(root.key("runtime"), over: c.runtime)
    let mode = try root.key("mode").string(default: "paper")
    guard let m = Mode(rawValue: mode) else {
      throw root.key("mode").fail("'\(mode)' is not allowed (live or paper)")
    }
    c.mode = m
    let ex = root.key("exchange")
    try ex.only([
      "name", "profile", "rest", "streams", "ws_api", "host", "port", "server_name", "ca_file", "api_key_env",
      "secret_env", "secret_file", "recv_window_ms", "rate_limits_share_pct",
    ])
    c.exchange = try ex.key("name").string(default: "binance")
    guard c.exchange == "binance" else {
      throw ex.key("name").fail("'\(c.exchange)' is not supported (allowed: binance — Binance spot)")
    }
    // The three services: a profile's hosts (mainnet unless said), or — `host` alone, the way a
    // local venue serving all three on one port is given — everything there; then each role's
    // own settings.
    if ex.key("profile").exists {
      let p = try ex.key("profile").string()
      switch p {
      case "mainnet": c.endpoints = .mainnet
      case "testnet": c.endpoints = .testnet
      default: throw ex.key("profile").fail("'\(p)' is not a profile (mainnet or testnet)")
      }
      c.profile = p
      if ex.key("host").exists || ex.key("port").exists {
        throw ex.key("host").fail(
          "give either a profile (each service's host under rest/streams/ws_api) or one host for all, not both"
        )
      }
    } else if ex.key("host").exists {
      let host = try ex.key("host").string()
      let port = UInt16(try ex.key("port").int(default: 443, range: 1...65535))
      let name = ex.key("server_name").exists ? try ex.key("server_name").string() : host
      c.endpoints = .single(BinanceSpotAdapter.Endpoint(host: host, port: port, serverName: name))
      c.profile = nil
    }
    for (key, role) in [
      ("rest", \BinanceSpotAdapter.Endpoints.rest), ("streams", \.streams), ("ws_api", \.wsAPI),
    ] {
      let n = ex.key(key)
      guard n.exists else { continue }
      try n.only(["host", "port", "path", "server_name"])
      var e = c.endpoints[keyPath: role]
      if n.key("host").exists {
        e.host = try n.key("host").string()
        e.serverName = e.host
      }
      if n.key("port").exists { e.port = UInt16(try n.key("port").int(range: 1...65535)) }
      if n.key("path").exists, key != "rest" { e.path = try n.key("path").string() }
      if n.key("server_name").exists { e.serverName = try n.key("server_name").string() }
      c.endpoints[keyPath: role] = e
    }
    if ex.key("recv_window_ms").exists {
      c.recvWindowMs = try ex.key("recv_window_ms").int(range: 1...60_000)
    }
    c.rateLimitsSharePct = try ex.key("rate_limits_share_pct").int(default: 100, range: 1...100)
    c.host = c.endpoints.rest.host
    c.port = c.endpoints.rest.port
    c.serverName = c.endpoints.rest.serverName
    if ex.key("ca_file").exists {
      let path = try ex.key("ca_file").string()
      guard FileManager.default.isReadableFile(atPath: path) else {
        throw ex.key("ca_file").fail("cannot read \(path)")
      }
      c.caFile = path
    }
    if c.mode == .live {
      let keyEnv = try ex.key("api_key_env").string()
      guard let k = environment[keyEnv], !k.isEmpty else {
        throw ex.key("api_key_env").fail(
          "environment variable \(keyEnv) is not set (live mode needs the API key)")
      }
      c.apiKey = k
      c.secret = try ex.secret(prefix: "", environment: environment)
    }
    c.market = try root.key("market").string()
    guard c.market.count >= 2, c.market.allSatisfy({ $0.isUppercase || $0.isNumber }) else {
      throw root.key("market").fail(
        "'\(c.market)' is not a Binance symbol (upper-case letters and digits, e.g. BTCUSDT)")
    }
    for (asset, v) in try root.key("paper_balances").entries() {
      let amount = try v.string()
      guard (try? FixedPoint.parse(amount, scale: 8)).map({ $0 >= 0 }) == true else {
        throw v.fail("'\(amount)' is not a non-negative amount with at most 8 decimals")
      }
      c.paperBalances.append((asset, amount))
    }
    if c.mode == .paper && c.paperBalances.isEmpty {
      throw root.key("paper_balances").fail(
        "missing (paper mode trades these balances, e.g. { BTC: \"1\", USDT: \"10000\" })")
    }
    c.clockTickSeconds = try root.key("clock_tick").double(
      default: 1, range: 0.001...60, what: "0.001 to 60 seconds")
    c.durationSeconds = try root.key("duration").double(
      default: 0, range: 0...31_536_000, what: "seconds, 0 for no limit")
    c.statusEverySeconds = try root.key("status_every").double(
      default: 10, range: 0.1...86_400, what: "seconds")
    c.strategy = try root.key("strategy").string()
    switch c.strategy {
    case "pure_market_making": c.pmm = try parsePMM(root.key("pure_market_making"))
    case "avellaneda_market_making": c.avellaneda = try parseAS(root.key("avellaneda_market_making"))
    case "glft_market_making": c.glft = try parseGLFT(root.key("glft_market_making"))
    default:
      throw root.key("strategy").fail(
        "'\(c.strategy)' is not available (allowed: pure_market_making, avellaneda_market_making, glft_market_making)"
      )
    }
    let fees = root.key("fees")
    if fees.exists {
      try fees.only(["maker_pct", "taker_pct"])
      // Percent, as Hummingbot writes fee overrides; a negative maker fee is a rebate.
      let maker = try fees.key("maker_pct").double(range: -1...10, what: "a percentage from -1 to 10")
      let taker = try fees.key("taker_pct").double(range: -1...10, what: "a percentage from -1 to 10")
      c.fees = FeeSchema(makerRate: Int64((maker * 1e6).rounded()), takerRate: Int64((taker * 1e6).rounded()))
    }
    if root.key("backtest").exists {
      c.backtest = try BacktestParameters.parse(root.key("backtest"), defaultVenue: c.exchange)
    }
    let risk = root.key("risk")
    try risk.only([
      "max_order_amount", "max_open_orders", "max_position", "price_band_bps", "max_orders_per_second",
    ])
    if risk.key("max_order_amount").exists {
      c.risk.maxOrderAmount = try risk.key("max_order_amount").decimal(
        range: 0...1e12, what: "a positive amount")
    }
    if risk.key("max_position").exists {
      c.risk.maxPosition = try risk.key("max_position").decimal(range: 0...1e12, what: "a positive amount")
    }
    if risk.key("max_open_orders").exists {
      c.risk.maxOpenOrders = try risk.key("max_open_orders").int(range: 1...10_000)
    }
    if risk.key("price_band_bps").exists {
      c.risk.priceBandBps = try risk.key("price_band_bps").int(range: 1...10_000)
    }
    if risk.key("max_orders_per_second").exists {
      c.risk.maxOrdersPerSecond = try risk.key("max_orders_per_second").int(range: 1...10_000)
    }
    return c
  }
}
