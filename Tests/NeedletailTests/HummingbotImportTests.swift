import Foundation
import Testing

@testable import needletail

/// Hummingbot's current templates, filled the way its `create` command writes them — every key
/// of the template present, the prompted ones with the answers, the rest with their defaults or
/// empty (null) — imported into run configs that `config check` accepts, every key accounted for.
@Suite struct HummingbotImportTests {
  /// The keys of `conf_pure_market_making_strategy_TEMPLATE.yml`, template_version 24, in its
  /// order, with the values `create` leaves for a BTC-USDT bot on Binance (nil: written empty).
  static let pmmTemplate: [(String, String?)] = [
    ("template_version", "24"), ("strategy", "pure_market_making"), ("exchange", "binance"),
    ("market", "BTC-USDT"), ("bid_spread", "0.1"), ("ask_spread", "0.1"), ("minimum_spread", "-100.0"),
    ("order_refresh_time", "30.0"), ("max_order_age", "1800.0"), ("order_refresh_tolerance_pct", "0.0"),
    ("order_amount", "0.001"), ("price_ceiling", "-1.0"), ("price_floor", "-1.0"),
    ("moving_price_band_enabled", "false"), ("price_ceiling_pct", "1.0"), ("price_floor_pct", "-1.0"),
    ("price_band_refresh_time", "86400.0"), ("ping_pong_enabled", "false"),
    ("inventory_skew_enabled", "false"),
    ("inventory_target_base_pct", "50.0"), ("inventory_range_multiplier", "1.0"), ("inventory_price", "1.0"),
    ("order_levels", "1"), ("order_level_amount", "0"), ("order_level_spread", "1.0"),
    ("filled_order_delay", "60.0"), ("hanging_orders_enabled", "false"),
    ("hanging_orders_cancel_pct", "10.0"),
    ("order_optimization_enabled", "false"), ("ask_order_optimization_depth", "0.0"),
    ("bid_order_optimization_depth", "0.0"), ("add_transaction_costs", "false"),
    ("price_source", "current_market"), ("price_type", "mid_price"), ("price_source_exchange", nil),
    ("price_source_market", nil), ("price_source_custom_api", nil), ("custom_api_update_interval", "5.0"),
    ("take_if_crossed", nil), ("order_override", nil), ("split_order_levels_enabled", "false"),
    ("bid_order_level_spreads", nil), ("ask_order_level_spreads", nil), ("bid_order_level_amounts", nil),
    ("ask_order_level_amounts", nil), ("should_wait_order_cancel_confirmation", "True"),
    ("coin_id_overrides", "{}"), ("invert_custom_api_price", "false"), ("header_custom_api", "{}"),
  ]

  /// `conf_avellaneda_market_making_strategy_TEMPLATE.yml` (template_version 8), filled the same
  /// way; its last keys carry the template's own defaults.
  static let asTemplate: [(String, String?)] = [
    ("template_version", "8"), ("strategy", "avellaneda_market_making"), ("exchange", "binance"),
    ("market", "ETH-USDT"), ("execution_timeframe", "infinite"), ("start_time", nil), ("end_time", nil),
    ("order_refresh_time", "30.0"), ("order_optimization_enabled", "true"), ("max_order_age", "1800.0"),
    ("order_refresh_tolerance_pct", "0.0"), ("order_amount", "0.05"), ("filled_order_delay", "60.0"),
    ("inventory_target_base_pct", "50.0"), ("order_levels", "1"), ("level_distances", "0.0"),
    ("add_transaction_costs", "false"), ("hanging_orders_enabled", "false"),
    ("hanging_orders_cancel_pct", "10.0"),
    ("order_override", nil), ("risk_factor", "1"), ("order_amount_shape_factor", "0"), ("min_spread", "0"),
    ("volatility_buffer_size", "60"), ("trading_intensity_buffer_size", "200"),
    ("should_wait_order_cancel_confirmation", "True"),
  ]

  static func yaml(_ keys: [(String, String?)], replacing: [String: String?] = [:]) -> String {
    "# written by Hummingbot's create command\n"
      + keys.map { k, v in
        let value = replacing[k] ?? v
        return value.map { "\(k): \($0)" } ?? "\(k):"
      }.joined(separator: "\n") + "\n"
  }

  /// Every key of the template is kept, named as not kept, bookkeeping, or empty.
  func accountedFor(_ r: HummingbotImport.Result, _ keys: [(String, String?)]) {
    let notKept = Set(r.notKept.map(\.key))
    for (k, v) in keys {
      let ok =
        r.kept.contains(k) || notKept.contains(k) || HummingbotImport.bookkeeping.contains(k) || v == nil
      #expect(ok, "\(k) is neither kept nor said to be left out")
      if notKept.contains(k) {
        #expect(r.config.contains("#   \(k): "), "the output says why \(k) is not kept")
      }
    }
  }

  /// `needletail config check` on `text`, with the imported config's environment variables set.
  func configCheck(_ text: String) throws -> (status: Int32, output: String) {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("nt-hb-\(UUID().uuidString).yml")
    try text.write(to: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: path) }
    return try runToEnd(
      BinaryVenue.binary, ["config", "check", path.path],
      environment: ["NEEDLETAIL_API_KEY": "k", "NEEDLETAIL_API_SECRET": "s"])
  }

  @Test func pureMarketMakingAsCreateWritesIt() throws {
    let r = try HummingbotImport.importConfig(Self.yaml(Self.pmmTemplate), file: "conf_pure_mm_1.yml")
    accountedFor(r, Self.pmmTemplate)
    #expect(Set(r.notKept.map(\.key)) == ["inventory_price", "coin_id_overrides"], "\(r.notKept)")
    let c = try RunConfig.parse(
      r.config, file: "imported", environment: ["NEEDLETAIL_API_KEY": "k", "NEEDLETAIL_API_SECRET": "s"])
    #expect(c.market == "BTCUSDT" && c.mode == .paper && c.strategy == "pure_market_making")
    #expect(c.pmm.bidSpread == 0.1 && c.pmm.orderAmount == "0.001" && c.pmm.minimumSpread == -100)
    #expect(c.pmm.shouldWaitOrderCancelConfirmation && !c.pmm.takeIfCrossed && c.pmm.orderOverride.isEmpty)
    #expect(c.endpoints.rest.host == "api.binance.com", "the mainnet profile")
    if BinaryVenue.missing() { return }
    let check = try configCheck(r.config)
    #expect(
      check.status == 0 && check.output.hasPrefix("OK: pure market making on BTCUSDT"), "\(check.output)")
  }

  /// The external and custom price sources import as run supports them: Hummingbot's pair for
  /// the external market becomes Binance's symbol; the custom API keeps its interval, its
  /// inversion and its headers.
  @Test func priceSourcesImport() throws {
    let external = try HummingbotImport.importConfig(
      Self.yaml(
        Self.pmmTemplate,
        replacing: [
          "price_source": "external_market", "price_source_exchange": "binance",
          "price_source_market": "ETH-USDT",
        ]), file: "hb.yml")
    let e = try RunConfig.parse(
      external.config, file: "i", environment: ["NEEDLETAIL_API_KEY": "k", "NEEDLETAIL_API_SECRET": "s"])
    #expect(e.pmm.priceSource == "external_market" && e.pmm.priceSourceMarket == "ETHUSDT")
    #expect(e.priceFeed()?.url == "https://api.binance.com/api/v3/ticker/bookTicker?symbol=ETHUSDT")
    let custom = try HummingbotImport.importConfig(
      Self.yaml(
        Self.pmmTemplate,
        replacing: [
          "price_source": "custom_api", "price_source_custom_api": "https://prices.example/btc",
          "custom_api_update_interval": "2.0", "invert_custom_api_price": "true",
          "header_custom_api": #"{X-API-KEY: abc123, "X,Y #1": "a\\b \"c\""}"#,
        ]), file: "hb.yml")
    let c = try RunConfig.parse(
      custom.config, file: "i", environment: ["NEEDLETAIL_API_KEY": "k", "NEEDLETAIL_API_SECRET": "s"])
    let feed = try #require(c.priceFeed())
    #expect(feed.url == "https://prices.example/btc" && feed.intervalNs == 2_000_000_000)
    #expect(
      feed.invert && feed.headers.map { "\($0.0)=\($0.1)" } == ["X-API-KEY=abc123", #"X,Y #1=a\b "c""#])
    #expect(throws: ConfigError.self) {
      try HummingbotImport.importConfig(
        Self.yaml(
          Self.pmmTemplate,
          replacing: [
            "price_source": "external_market", "price_source_exchange": "kucoin",
            "price_source_market": "ETH-USDT",
          ]),
        file: "hb.yml")
    }
  }

  @Test func avellanedaAsCreateWritesIt() throws {
    let r = try HummingbotImport.importConfig(Self.yaml(Self.asTemplate), file: "conf_avellaneda_1.yml")
    accountedFor(r, Self.asTemplate)
    #expect(
      Set(r.notKept.map(\.key)) == [
        "order_optimization_enabled", "max_order_age", "add_transaction_costs", "hanging_orders_enabled",
        "hanging_orders_cancel_pct", "should_wait_order_cancel_confirmation",
      ], "\(r.notKept)")
    let c = try RunConfig.parse(
      r.config, file: "imported", environment: ["NEEDLETAIL_API_KEY": "k", "NEEDLETAIL_API_SECRET": "s"])
    #expect(c.strategy == "avellaneda_market_making" && c.market == "ETHUSDT")
    let a = c.avellaneda
    #expect(a.riskFactor == 1 && a.orderAmount == "0.05" && a.volatilityBufferSize == 60)
    #expect(a.tradingIntensityBufferSize == 200 && a.timeframe == .infinite)
    let daily = try HummingbotImport.importConfig(
      Self.yaml(
        Self.asTemplate,
        replacing: [
          "execution_timeframe": "daily_between_times", "start_time": "\"09:00:00\"",
          "end_time": "\"17:30:00\"",
        ]),
      file: "hb.yml")
    let d = try RunConfig.parse(
      daily.config, file: "i", environment: ["NEEDLETAIL_API_KEY": "k", "NEEDLETAIL_API_SECRET": "s"])
    #expect(d.avellaneda.timeframe == .daily(startSecond: 9 * 3_600, endSecond: 17 * 3_600 + 30 * 60))
    if BinaryVenue.missing() { return }
    let check = try configCheck(r.config)
    #expect(
      check.status == 0 && check.output.hasPrefix("OK: Avellaneda–Stoikov on ETHUSDT"), "\(check.output)")
  }

  /// rate_limits_share_pct from Hummingbot's conf_client.yml (a decimal there) becomes this
  /// engine's share; a key outside the template is refused by name.
  @Test func clientShareAndUnknownKeys() throws {
    let client = "instance_id: 5b2f\nrate_limits_share_pct: 50.0\nkill_switch_mode: {}\n"
    let r = try HummingbotImport.importConfig(
      Self.yaml(Self.pmmTemplate), file: "hb.yml", clientConfig: (client, "conf_client.yml"))
    let c = try RunConfig.parse(
      r.config, file: "i", environment: ["NEEDLETAIL_API_KEY": "k", "NEEDLETAIL_API_SECRET": "s"])
    #expect(c.rateLimitsSharePct == 50)
    let odd = try HummingbotImport.importConfig(
      Self.yaml(Self.pmmTemplate), file: "hb.yml",
      clientConfig: ("rate_limits_share_pct: 33.3\n", "conf_client.yml"))
    #expect(odd.notKept.contains { $0.key == "rate_limits_share_pct" && $0.reason.contains("33%") })
    do {
      _ = try HummingbotImport.importConfig(Self.yaml(Self.pmmTemplate) + "magic_spread: 3\n", file: "hb.yml")
      Issue.record("an unknown key was accepted")
    } catch let e as ConfigError {
      #expect(e.path == "magic_spread")
    }
  }
}
