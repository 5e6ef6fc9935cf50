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
  var risk = RiskParameters()
  /// Maker and taker rates (fractions at scale 8) from `fees:`; nil: live runs read the
  /// account's rates, paper runs use 0.1 % each.
  var fees: FeeSchema? = nil

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
    "price_source_custom_api", "custom_api_update_interval",
  ]

  static let example = """
    # Needletail: pure market making on one Binance spot market.
    mode: paper                      # paper: live data, orders filled locally; live: real orders
    exchange:
      name: binance
      host: api.binance.com
      port: 443
      # ca_file: .needletail/venue/ca.pem   # to trade a local `needletail venue`
      api_key_env: NEEDLETAIL_API_KEY
      secret_env: NEEDLETAIL_API_SECRET     # or secret_file: a 0600 file
    market: BTCUSDT
    paper_balances: { BTC: "0.5", USDT: "30000" }
    clock_tick: 1                    # seconds between strategy ticks (0.001 .. 60)
    duration: 0                      # seconds to run; 0: until interrupted
    status_every: 10
    strategy: pure_market_making     # or avellaneda_market_making (section of that name: risk_factor,
                                     # order_amount, order_amount_shape_factor, min_spread, order_levels,
                                     # level_distances, kappa_prior, execution_timeframe, ...)
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
      "pure_market_making", "avellaneda_market_making", "risk", "fees",
    ])
    var c = RunConfig()
    let mode = try root.key("mode").string(default: "paper")
    guard let m = Mode(rawValue: mode) else {
      throw root.key("mode").fail("'\(mode)' is not allowed (live or paper)")
    }
    c.mode = m
    let ex = root.key("exchange")
    try ex.only([
      "name", "host", "port", "server_name", "ca_file", "api_key_env", "secret_env", "secret_file",
    ])
    c.exchange = try ex.key("name").string(default: "binance")
    guard c.exchange == "binance" else {
      throw ex.key("name").fail("'\(c.exchange)' is not supported (allowed: binance — Binance spot)")
    }
    c.host = try ex.key("host").string(default: "api.binance.com")
    c.port = UInt16(try ex.key("port").int(default: 443, range: 1...65535))
    c.serverName = ex.key("server_name").exists ? try ex.key("server_name").string() : nil
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
    default:
      throw root.key("strategy").fail(
        "'\(c.strategy)' is not available (allowed: pure_market_making, avellaneda_market_making)")
    }
    let fees = root.key("fees")
    if fees.exists {
      try fees.only(["maker_pct", "taker_pct"])
      // Percent, as Hummingbot writes fee overrides; a negative maker fee is a rebate.
      let maker = try fees.key("maker_pct").double(range: -1...10, what: "a percentage from -1 to 10")
      let taker = try fees.key("taker_pct").double(range: -1...10, what: "a percentage from -1 to 10")
      c.fees = FeeSchema(makerRate: Int64((maker * 1e6).rounded()), takerRate: Int64((taker * 1e6).rounded()))
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

  static func parsePMM(_ n: ConfigNode) throws -> PMMParameters {
    guard n.exists else { throw n.fail("missing (the strategy's parameters)") }
    try n.only(pmmKeys)
    var p = PMMParameters()
    let pct = -100.0...100.0
    p.bidSpread = try n.key("bid_spread").double(range: pct, what: "a percentage, -100 to 100")
    p.askSpread = try n.key("ask_spread").double(range: pct, what: "a percentage, -100 to 100")
    p.minimumSpread = try n.key("minimum_spread").double(
      default: -100, range: pct, what: "a percentage, -100 (off) to 100")
    p.orderRefreshTime = try n.key("order_refresh_time").double(
      default: 30, range: 0...86_400, what: "seconds")
    p.maxOrderAge = try n.key("max_order_age").double(default: 1800, range: 0...31_536_000, what: "seconds")
    p.orderRefreshTolerancePct = try n.key("order_refresh_tolerance_pct").double(
      default: 0, range: -10...10, what: "a percentage, -10 to 10")
    p.orderAmount = try n.key("order_amount").decimal(range: 1e-18...1e12, what: "an amount above 0")
    p.orderLevels = try n.key("order_levels").int(default: 1, range: 1...100)
    p.orderLevelAmount = try n.key("order_level_amount").decimal(
      default: "0", range: -1e12...1e12, what: "an amount")
    p.orderLevelSpread = try n.key("order_level_spread").double(
      default: 1, range: 0...100, what: "a percentage, 0 to 100")
    p.inventorySkewEnabled = try n.key("inventory_skew_enabled").bool(default: false)
    p.inventoryTargetBasePct = try n.key("inventory_target_base_pct").double(
      default: 50, range: 0...100, what: "a percentage, 0 to 100")
    p.inventoryRangeMultiplier = try n.key("inventory_range_multiplier").double(
      default: 1, range: 0...1_000, what: "a multiple of the total order size, 0 to 1000")
    p.filledOrderDelay = try n.key("filled_order_delay").double(
      default: 60, range: 0...86_400, what: "seconds")
    p.hangingOrdersEnabled = try n.key("hanging_orders_enabled").bool(default: false)
    p.hangingOrdersCancelPct = try n.key("hanging_orders_cancel_pct").double(
      default: 10, range: 0...100, what: "a percentage, 0 to 100")
    p.orderOptimizationEnabled = try n.key("order_optimization_enabled").bool(default: false)
    p.askOrderOptimizationDepth = try n.key("ask_order_optimization_depth").decimal(
      default: "0", range: 0...1e12, what: "an amount, 0 or more")
    p.bidOrderOptimizationDepth = try n.key("bid_order_optimization_depth").decimal(
      default: "0", range: 0...1e12, what: "an amount, 0 or more")
    p.addTransactionCosts = try n.key("add_transaction_costs").bool(default: false)
    p.priceCeiling = try n.key("price_ceiling").decimal(
      default: "-1", range: -1...1e12, what: "a price, or -1 for none")
    p.priceFloor = try n.key("price_floor").decimal(
      default: "-1", range: -1...1e12, what: "a price, or -1 for none")
    p.movingPriceBandEnabled = try n.key("moving_price_band_enabled").bool(default: false)
    p.priceCeilingPct = try n.key("price_ceiling_pct").double(default: 1, range: pct, what: "a percentage")
    p.priceFloorPct = try n.key("price_floor_pct").double(default: -1, range: pct, what: "a percentage")
    p.priceBandRefreshTime = try n.key("price_band_refresh_time").double(
      default: 86_400, range: 1...31_536_000, what: "seconds")
    p.pingPongEnabled = try n.key("ping_pong_enabled").bool(default: false)
    let pt = try n.key("price_type").string(default: "mid_price")
    guard let t = PriceType(rawValue: pt) else {
      throw n.key("price_type").fail(
        "'\(pt)' is not allowed (\(PriceType.allCases.map(\.rawValue).joined(separator: ", ")))")
    }
    p.priceType = t
    p.priceSource = try n.key("price_source").string(default: "current_market")
    switch p.priceSource {
    case "current_market":
      break
    case "external_market":
      if n.key("price_source_exchange").exists {
        let ex = try n.key("price_source_exchange").string()
        guard ex == "binance" else {
          throw n.key("price_source_exchange").fail(
            "'\(ex)' is not supported (the external market is on the run's own exchange: binance)")
        }
      }
      let m = try n.key("price_source_market").string()
      guard m.count >= 2, m.allSatisfy({ $0.isUppercase || $0.isNumber }) else {
        throw n.key("price_source_market").fail("'\(m)' is not a Binance symbol (e.g. ETHUSDT)")
      }
      guard [.mid, .bestBid, .bestAsk, .last].contains(p.priceType) else {
        throw n.key("price_type").fail(
          "'\(p.priceType.rawValue)' cannot come from an external market (mid_price, best_bid, best_ask or last_price)"
        )
      }
      p.priceSourceMarket = m
    case "custom_api":
      let url = try n.key("price_source_custom_api").string()
      if case .failure(let e) = HTTPPriceFeed.Source.parse(url) {
        throw n.key("price_source_custom_api").fail("\(e)")
      }
      p.priceSourceCustomAPI = url
    default:
      throw n.key("price_source").fail(
        "'\(p.priceSource)' is not allowed (current_market, external_market or custom_api)")
    }
    p.customAPIUpdateInterval = try n.key("custom_api_update_interval").double(
      default: 5, range: 0.1...3_600, what: "seconds")
    p.takeIfCrossed = try n.key("take_if_crossed").bool(default: false)
    for (name, o) in try n.key("order_override").entries() {
      let parts = try o.list()
      guard parts.count == 3 else {
        throw o.fail("expected [side, spread %, amount], e.g. [buy, 0.5, \"0.01\"]")
      }
      let sideText = try parts[0].string()
      guard let side: TradeSide = sideText == "buy" ? .buy : (sideText == "sell" ? .sell : nil) else {
        throw parts[0].fail("'\(sideText)' is not allowed (buy or sell)")
      }
      let spread = try parts[1].double(range: pct, what: "a percentage")
      let amount = try parts[2].decimal(range: 1e-18...1e12, what: "an amount above 0")
      p.orderOverride.append((name, side, spread, amount))
    }
    p.splitOrderLevelsEnabled = try n.key("split_order_levels_enabled").bool(default: false)
    p.bidOrderLevelSpreads = try n.key("bid_order_level_spreads").doubles(range: pct, what: "a percentage")
    p.askOrderLevelSpreads = try n.key("ask_order_level_spreads").doubles(range: pct, what: "a percentage")
    p.bidOrderLevelAmounts = try n.key("bid_order_level_amounts").doubles(range: 0...1e12, what: "an amount")
    p.askOrderLevelAmounts = try n.key("ask_order_level_amounts").doubles(range: 0...1e12, what: "an amount")
    if p.splitOrderLevelsEnabled {
      guard !p.bidOrderLevelSpreads.isEmpty || !p.askOrderLevelSpreads.isEmpty else {
        throw n.key("split_order_levels_enabled").fail(
          "true, but bid_order_level_spreads and ask_order_level_spreads are both empty")
      }
      for (spreads, amounts, key) in [
        (p.bidOrderLevelSpreads, p.bidOrderLevelAmounts, "bid_order_level_amounts"),
        (p.askOrderLevelSpreads, p.askOrderLevelAmounts, "ask_order_level_amounts"),
      ] where !amounts.isEmpty && amounts.count != spreads.count {
        throw n.key(key).fail(
          "\(amounts.count) amounts for \(spreads.count) spreads: the lists must be as long")
      }
    }
    p.shouldWaitOrderCancelConfirmation = try n.key("should_wait_order_cancel_confirmation").bool(
      default: true)
    p.eventDriven = try n.key("event_driven").bool(default: false)
    if n.key("kill_switch_rate").exists {
      p.killSwitchRate = try n.key("kill_switch_rate").double(
        range: -100...100, what: "a PnL percentage, -100 to 100")
    }
    return p
  }

  static func parseAS(_ n: ConfigNode) throws -> ASParameters {
    guard n.exists else { throw n.fail("missing (the strategy's parameters)") }
    try n.only(asKeys)
    var p = ASParameters()
    p.riskFactor = try n.key("risk_factor").double(range: 1e-9...1e9, what: "γ, above 0")
    p.orderAmountShapeFactor = try n.key("order_amount_shape_factor").double(
      default: 0, range: 0...1e6, what: "η, 0 or more")
    p.minSpread = try n.key("min_spread").double(
      default: 0, range: 0...100, what: "a percentage of the mid, 0 to 100")
    p.orderAmount = try n.key("order_amount").decimal(range: 1e-18...1e12, what: "an amount above 0")
    p.orderLevels = try n.key("order_levels").int(default: 1, range: 1...100)
    p.levelDistances = try n.key("level_distances").double(
      default: 0, range: 0...10_000, what: "a percentage of the optimal half-spread")
    p.orderRefreshTime = try n.key("order_refresh_time").double(
      default: 30, range: 0...86_400, what: "seconds")
    p.orderRefreshTolerancePct = try n.key("order_refresh_tolerance_pct").double(
      default: 0, range: 0...10, what: "a percentage, 0 to 10")
    p.filledOrderDelay = try n.key("filled_order_delay").double(
      default: 60, range: 0...86_400, what: "seconds")
    p.inventoryTargetBasePct = try n.key("inventory_target_base_pct").double(
      default: 50, range: 0...100, what: "a percentage, 0 to 100")
    p.volatilityBufferSize = try n.key("volatility_buffer_size").int(default: 200, range: 2...100_000)
    p.tradingIntensityBufferSize = try n.key("trading_intensity_buffer_size").int(
      default: 200, range: 2...100_000)
    let tf = try n.key("execution_timeframe").string(default: "infinite")
    switch tf {
    case "infinite": p.timeframe = .infinite
    case "daily_between_times":
      func seconds(_ k: String) throws -> Int {
        let t = try n.key(k).string()
        let parts = t.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 3, (0..<24).contains(parts[0]), (0..<60).contains(parts[1]),
          (0..<60).contains(parts[2])
        else { throw n.key(k).fail("'\(t)' is not a time of day (HH:MM:SS, UTC)") }
        return parts[0] * 3_600 + parts[1] * 60 + parts[2]
      }
      let start = try seconds("start_time")
      let end = try seconds("end_time")
      guard end > start else { throw n.key("end_time").fail("must be after start_time") }
      p.timeframe = .daily(startSecond: start, endSecond: end)
    default:
      throw n.key("execution_timeframe").fail("'\(tf)' is not allowed (infinite, daily_between_times)")
    }
    if n.key("kappa_prior").exists {
      p.kappaPrior = try n.key("kappa_prior").double(
        range: 1e-12...1e12, what: "k per unit of price, above 0")
    }
    return p
  }

  /// Avellaneda–Stoikov's parameters in the engine's units: γ and k per price raw.
  func avellanedaConfig(instrument: Instrument) throws -> AvellanedaStoikovConfig {
    let a = avellaneda
    let perRaw = pow(10.0, Double(instrument.priceScale))
    var c = AvellanedaStoikovConfig()
    c.riskFactor = a.riskFactor / perRaw
    c.orderAmountShapeFactor = a.orderAmountShapeFactor
    c.minimumSpread = a.minSpread / 100
    do {
      c.orderAmount = try FixedPoint.parse(a.orderAmount, scale: instrument.quantityScale)
    } catch {
      throw ConfigError(
        file: "config", path: "avellaneda_market_making.order_amount",
        message:
          "'\(a.orderAmount)' has more decimals than \(instrument.symbol)'s quantity scale (\(instrument.quantityScale))"
      )
    }
    c.orderLevels = a.orderLevels
    c.levelDistances = a.levelDistances / 100
    c.orderRefreshTimeNs = Int64(a.orderRefreshTime * 1e9)
    c.orderRefreshTolerance = a.orderRefreshTolerancePct / 100
    c.filledOrderDelayNs = Int64(a.filledOrderDelay * 1e9)
    c.inventoryTargetBase = a.inventoryTargetBasePct / 100
    c.volatilityBufferSize = a.volatilityBufferSize
    c.tradingIntensityBufferSize = a.tradingIntensityBufferSize
    c.timeframe = a.timeframe
    c.kappa = a.kappaPrior.map { $0 / perRaw }
    return c
  }

  /// The strategy's parameters in the engine's units, once the market's scales are known.
  func strategyConfig(instrument: Instrument) throws -> PureMarketMakingConfig {
    func qty(_ s: String, _ key: String) throws -> Int64 {
      do {
        return try FixedPoint.parse(s, scale: instrument.quantityScale)
      } catch {
        throw ConfigError(
          file: "config", path: "pure_market_making.\(key)",
          message:
            "'\(s)' has more decimals than \(instrument.symbol)'s quantity scale (\(instrument.quantityScale))"
        )
      }
    }
    func price(_ s: String, _ key: String) throws -> Int64? {
      if (Double(s) ?? -1) < 0 { return nil }
      do {
        return try FixedPoint.parse(s, scale: instrument.priceScale)
      } catch {
        throw ConfigError(
          file: "config", path: "pure_market_making.\(key)",
          message:
            "'\(s)' has more decimals than \(instrument.symbol)'s price scale (\(instrument.priceScale))")
      }
    }
    let p = pmm
    var c = PureMarketMakingConfig()
    c.bidSpread = p.bidSpread / 100
    c.askSpread = p.askSpread / 100
    c.minimumSpread = p.minimumSpread <= -100 ? nil : p.minimumSpread / 100
    c.orderRefreshTimeNs = Int64(p.orderRefreshTime * 1e9)
    c.maxOrderAgeNs = Int64(p.maxOrderAge * 1e9)
    c.orderRefreshTolerance = p.orderRefreshTolerancePct / 100
    c.orderAmount = try qty(p.orderAmount, "order_amount")
    c.orderLevels = p.orderLevels
    c.orderLevelAmount = try qty(p.orderLevelAmount, "order_level_amount")
    c.orderLevelSpread = p.orderLevelSpread / 100
    if p.splitOrderLevelsEnabled {
      c.bidLevelSpreads = p.bidOrderLevelSpreads.map { $0 / 100 }
      c.askLevelSpreads = p.askOrderLevelSpreads.map { $0 / 100 }
      c.bidLevelAmounts = try p.bidOrderLevelAmounts.map { try qty(String($0), "bid_order_level_amounts") }
      c.askLevelAmounts = try p.askOrderLevelAmounts.map { try qty(String($0), "ask_order_level_amounts") }
    }
    c.inventorySkew = p.inventorySkewEnabled
    c.inventoryTargetBase = p.inventoryTargetBasePct / 100
    c.inventoryRangeMultiplier = p.inventoryRangeMultiplier
    c.filledOrderDelayNs = Int64(p.filledOrderDelay * 1e9)
    c.hangingOrders = p.hangingOrdersEnabled
    c.hangingOrdersCancel = p.hangingOrdersCancelPct / 100
    c.orderOptimization = p.orderOptimizationEnabled
    c.askOptimizationDepth = try qty(p.askOrderOptimizationDepth, "ask_order_optimization_depth")
    c.bidOptimizationDepth = try qty(p.bidOrderOptimizationDepth, "bid_order_optimization_depth")
    c.addTransactionCosts = p.addTransactionCosts
    c.priceCeiling = try price(p.priceCeiling, "price_ceiling")
    c.priceFloor = try price(p.priceFloor, "price_floor")
    c.movingPriceBand = p.movingPriceBandEnabled
    c.movingPriceCeiling = p.priceCeilingPct / 100
    c.movingPriceFloor = -p.priceFloorPct / 100
    c.movingPriceBandRefreshNs = Int64(p.priceBandRefreshTime * 1e9)
    c.pingPong = p.pingPongEnabled
    c.priceType = p.priceType
    c.takeIfCrossed = p.takeIfCrossed
    c.orderOverrides = try p.orderOverride.map {
      OrderOverride(
        side: $0.side, spread: $0.spread / 100, amount: try qty($0.amount, "order_override.\($0.name)"))
    }
    c.waitForCancelConfirmation = p.shouldWaitOrderCancelConfirmation
    c.eventDriven = p.eventDriven
    c.killSwitch = p.killSwitchRate.map { $0 / 100 }
    return c
  }

  /// Where pure market making's reference price is polled from when it is not this market's own
  /// book (`price_source: external_market` or `custom_api`), or nil. An external market is read
  /// from the exchange's ticker (bookTicker for mid and best bid/ask, ticker/price for last).
  func priceFeed() -> (url: String, field: HTTPPriceFeed.Field, intervalNs: Int64)? {
    guard strategy == "pure_market_making" else { return nil }
    let interval = Int64(pmm.customAPIUpdateInterval * 1e9)
    if let url = pmm.priceSourceCustomAPI { return (url, .price, interval) }
    guard let m = pmm.priceSourceMarket else { return nil }
    let origin = "https://\(host)\(port == 443 ? "" : ":\(port)")"
    switch pmm.priceType {
    case .bestBid: return ("\(origin)/api/v3/ticker/bookTicker?symbol=\(m)", .bestBid, interval)
    case .bestAsk: return ("\(origin)/api/v3/ticker/bookTicker?symbol=\(m)", .bestAsk, interval)
    case .last: return ("\(origin)/api/v3/ticker/price?symbol=\(m)", .price, interval)
    default: return ("\(origin)/api/v3/ticker/bookTicker?symbol=\(m)", .mid, interval)
    }
  }

  /// The risk limits in raws.
  func riskLimits(instrument: Instrument) throws -> RiskLimits {
    var l = RiskLimits()
    if let a = risk.maxOrderAmount {
      l.maxOrderQuantity = try FixedPoint.parse(a, scale: instrument.quantityScale)
    }
    if let a = risk.maxPosition { l.maxPosition = try FixedPoint.parse(a, scale: instrument.quantityScale) }
    if let n = risk.maxOpenOrders { l.maxOpenOrders = n }
    if let b = risk.priceBandBps { l.priceBandBps = Int64(b) }
    if let r = risk.maxOrdersPerSecond { l.maxOrdersPerSecond = r }
    return l
  }

  /// One line on what this config will do (no secret in it).
  var summary: String {
    if strategy == "avellaneda_market_making" {
      let a = avellaneda
      return
        "Avellaneda–Stoikov on \(market) (\(exchange) spot at \(host):\(port), \(mode.rawValue)): γ \(a.riskFactor), η \(a.orderAmountShapeFactor), \(a.orderLevels) level\(a.orderLevels == 1 ? "" : "s") of \(a.orderAmount), refresh \(a.orderRefreshTime) s"
    }
    var levels = "\(pmm.orderLevels) level\(pmm.orderLevels == 1 ? "" : "s")"
    if pmm.splitOrderLevelsEnabled { levels = "split levels" }
    if !pmm.orderOverride.isEmpty { levels = "\(pmm.orderOverride.count) override orders" }
    return
      "pure market making on \(market) (\(exchange) spot at \(host):\(port), \(mode.rawValue)): spreads \(pmm.bidSpread) % / \(pmm.askSpread) %, \(levels) of \(pmm.orderAmount), refresh \(pmm.orderRefreshTime) s"
  }
}
