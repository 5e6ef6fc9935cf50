import Connectors
import Engine
import FastBook
import Foundation
import Strategies

/// The strategy and risk sections of a run config: parsed from their nodes, then turned into the
/// strategies' own configs for an instrument.
extension RunConfig {
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
    p.invertCustomAPIPrice = try n.key("invert_custom_api_price").bool(default: false)
    for (name, v) in try n.key("header_custom_api").entries() where v.exists {
      p.headerCustomAPI.append((name, try v.string()))
    }
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

  static func parseGLFT(_ n: ConfigNode) throws -> GLFTParameters {
    guard n.exists else { throw n.fail("missing (the strategy's parameters)") }
    try n.only(glftKeys)
    var p = GLFTParameters()
    p.riskAversion = try n.key("risk_aversion").double(default: 0.05, range: 1e-9...1e6, what: "γ, above 0")
    p.orderAmount = try n.key("order_amount").decimal(range: 1e-18...1e12, what: "an amount above 0")
    p.maxPosition = try n.key("max_position").double(
      default: 20, range: 0...1e9, what: "orders of order_amount, 0 or more")
    p.inventoryTargetBasePct = try n.key("inventory_target_base_pct").double(
      default: 50, range: 0...100, what: "a percentage, 0 to 100")
    p.volatilityWindow = try n.key("volatility_window").double(
      default: 600, range: 1...86_400, what: "seconds")
    p.intensityWindow = try n.key("intensity_window").double(default: 600, range: 1...86_400, what: "seconds")
    p.intensityDepthTicks = try n.key("intensity_depth_ticks").int(default: 40, range: 3...10_000)
    p.halfSpreadMultiplier = try n.key("half_spread_multiplier").double(
      default: 1, range: 0...1000, what: "a factor, 0 or more")
    p.skewMultiplier = try n.key("skew_multiplier").double(
      default: 1, range: 0...1000, what: "a factor, 0 or more")
    p.warmup = try n.key("warmup").double(default: 60, range: 0...86_400, what: "seconds")
    return p
  }

  func glftConfig(instrument: Instrument) throws -> GLFTConfig {
    var c = GLFTConfig()
    c.gamma = glft.riskAversion
    do {
      c.orderAmount = try FixedPoint.parse(glft.orderAmount, scale: instrument.quantityScale)
    } catch {
      throw ConfigError(
        file: "config", path: "glft_market_making.order_amount",
        message:
          "'\(glft.orderAmount)' has more decimals than \(instrument.symbol)'s quantity scale (\(instrument.quantityScale))"
      )
    }
    c.maxPosition = glft.maxPosition
    c.inventoryTargetBase = glft.inventoryTargetBasePct / 100
    c.volatilityWindowSeconds = glft.volatilityWindow
    c.intensityWindowSeconds = glft.intensityWindow
    c.intensityDepthTicks = glft.intensityDepthTicks
    c.halfSpreadMultiplier = glft.halfSpreadMultiplier
    c.skewMultiplier = glft.skewMultiplier
    c.warmupSeconds = glft.warmup
    return c
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
  func priceFeed() -> (
    url: String, field: HTTPPriceFeed.Field, intervalNs: Int64, invert: Bool, headers: [(String, String)]
  )? {
    guard strategy == "pure_market_making" else { return nil }
    let interval = Int64(pmm.customAPIUpdateInterval * 1e9)
    if let url = pmm.priceSourceCustomAPI {
      return (url, .price, interval, pmm.invertCustomAPIPrice, pmm.headerCustomAPI)
    }
    guard let m = pmm.priceSourceMarket else { return nil }
    let origin = "https://\(host)\(port == 443 ? "" : ":\(port)")"
    switch pmm.priceType {
    case .bestBid: return ("\(origin)/api/v3/ticker/bookTicker?symbol=\(m)", .bestBid, interval, false, [])
    case .bestAsk: return ("\(origin)/api/v3/ticker/bookTicker?symbol=\(m)", .bestAsk, interval, false, [])
    case .last: return ("\(origin)/api/v3/ticker/price?symbol=\(m)", .price, interval, false, [])
    default: return ("\(origin)/api/v3/ticker/bookTicker?symbol=\(m)", .mid, interval, false, [])
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
    if strategy == "glft_market_making" {
      let g = glft
      return
        "GLFT market making on \(market) (\(exchange) spot at \(host):\(port), \(mode.rawValue)): γ \(g.riskAversion), orders of \(g.orderAmount), max position \(g.maxPosition) orders, windows \(g.volatilityWindow) s / \(g.intensityWindow) s"
    }
    var levels = "\(pmm.orderLevels) level\(pmm.orderLevels == 1 ? "" : "s")"
    if pmm.splitOrderLevelsEnabled { levels = "split levels" }
    if !pmm.orderOverride.isEmpty { levels = "\(pmm.orderOverride.count) override orders" }
    return
      "pure market making on \(market) (\(exchange) spot at \(host):\(port), \(mode.rawValue)): spreads \(pmm.bidSpread) % / \(pmm.askSpread) %, \(levels) of \(pmm.orderAmount), refresh \(pmm.orderRefreshTime) s"
  }
}

extension RunConfig {
  /// The config's strategy, on an empty portfolio (the caller sets the balances). `configure`
  /// may wire pure market making's config (its external price) before the strategy is built.
  func makeStrategy(
    instrument: Instrument, rule: TradingRule, time: any TimeSource = LiveTime.shared,
    configure: (inout PureMarketMakingConfig) throws -> Void = { _ in }
  ) throws -> any MarketMakingStrategy {
    let empty = Portfolio(
      base: 0, quote: 0, fees: fees ?? FeeSchema(makerRate: 100_000, takerRate: 100_000),
      priceScale: instrument.priceScale, quantityScale: instrument.quantityScale)
    if strategy == "avellaneda_market_making" {
      return AvellanedaStoikov(
        config: try avellanedaConfig(instrument: instrument), rule: rule, instrument: instrument,
        portfolio: empty, time: time)
    }
    if strategy == "glft_market_making" {
      return GLFTMarketMaking(
        config: try glftConfig(instrument: instrument), rule: rule, instrument: instrument, portfolio: empty)
    }
    var pc = try strategyConfig(instrument: instrument)
    try configure(&pc)
    return PureMarketMaking(config: pc, rule: rule, instrument: instrument, portfolio: empty)
  }
}
