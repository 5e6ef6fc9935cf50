import Foundation
import Venue
import Yams

/// Hummingbot config → Needletail run config, for the configs Hummingbot's `create` writes:
/// pure market making (`conf_pure_market_making_strategy_TEMPLATE.yml`, template_version 24) and
/// Avellaneda market making (`conf_avellaneda_market_making_strategy_TEMPLATE.yml`), every key of
/// the template, with null meaning "not set". Each key is either carried over, or named in the
/// output as not kept, with the reason. Keys outside the template are refused by name.
/// `rate_limits_share_pct` comes from Hummingbot's `conf_client.yml` when it is given.
enum HummingbotImport {
  /// Why a key is not carried over.
  struct NotKept: Equatable {
    var key: String
    var reason: String
  }

  /// What an import gives: the run config's text, and what was left out and why.
  struct Result {
    var config: String
    var kept: [String]
    var notKept: [NotKept]
  }

  // MARK: the two templates

  /// Hummingbot's bookkeeping: the template's version, and the keys that become the run
  /// config's own (`strategy`, `exchange`, `market`).
  static let bookkeeping: Set<String> = ["template_version", "strategy", "exchange", "market"]

  /// Pure market making keys that run takes under the same name and meaning.
  static var pmmKept: Set<String> { Set(RunConfig.pmmKeys) }

  /// Pure market making keys of the template that run has no setting for, and why.
  static let pmmNotKept: [String: String] = [
    "inventory_price":
      "Hummingbot keeps it only for display (its template says it affects nothing); the cost basis here is the fills' own average",
    "coin_id_overrides":
      "CoinGecko ids for Hummingbot's rate oracle; Needletail values everything in the market's quote asset and has no rate oracle",
  ]

  /// Avellaneda market making keys of the template that run takes, with the name they get.
  static let asKept: [String: String] = [
    "order_amount": "order_amount", "order_levels": "order_levels", "level_distances": "level_distances",
    "risk_factor": "risk_factor", "order_amount_shape_factor": "order_amount_shape_factor",
    "min_spread": "min_spread", "order_refresh_time": "order_refresh_time",
    "order_refresh_tolerance_pct": "order_refresh_tolerance_pct", "filled_order_delay": "filled_order_delay",
    "inventory_target_base_pct": "inventory_target_base_pct",
    "volatility_buffer_size": "volatility_buffer_size",
    "trading_intensity_buffer_size": "trading_intensity_buffer_size",
    "execution_timeframe": "execution_timeframe", "start_time": "start_time", "end_time": "end_time",
  ]

  /// Avellaneda market making keys of the template that Needletail's Avellaneda–Stoikov has no
  /// setting for, and why (a key at its no-effect value is noted the same way).
  static let asNotKept: [String: String] = [
    "order_optimization_enabled":
      "Needletail's Avellaneda–Stoikov quotes the prices the model gives; it does not move a quote to just ahead of the best price",
    "max_order_age": "its quotes are replaced at every order_refresh_time; there is no separate maximum age",
    "add_transaction_costs": "fees are not added to its quoted prices",
    "hanging_orders_enabled": "a filled level's opposite quote is replaced with the rest, not left hanging",
    "hanging_orders_cancel_pct": "no hanging orders (see hanging_orders_enabled)",
    "order_override":
      "its quotes come from the model; fixed override orders are a pure market making feature",
    "should_wait_order_cancel_confirmation":
      "the engine always waits for the venue to confirm a cancel before it counts the order as gone",
  ]

  // MARK: translating

  static func translate(_ text: String, file: String, clientConfig: (text: String, file: String)? = nil)
    throws -> String
  {
    try importConfig(text, file: file, clientConfig: clientConfig).config
  }

  static func importConfig(_ text: String, file: String, clientConfig: (text: String, file: String)? = nil)
    throws -> Result
  {
    let root = try ConfigNode.load(text, file: file)
    let strategy = try root.key("strategy").string()
    let isAS: Bool
    switch strategy {
    case "pure_market_making": isAS = false
    case "avellaneda_market_making": isAS = true
    default:
      throw root.key("strategy").fail(
        "'\(strategy)' cannot be imported (allowed: pure_market_making, avellaneda_market_making)")
    }
    let exchange = try root.key("exchange").string()
    guard exchange == "binance" || exchange == "binance_paper_trade" else {
      throw root.key("exchange").fail(
        "'\(exchange)' is not supported (allowed: binance, binance_paper_trade)")
    }
    let market = try root.key("market").string()
    let symbol = binanceSymbol(market)
    var kept: [String] = []
    var notKept: [NotKept] = []
    var lines: [String] = []
    for (key, node) in try root.entries() {
      if bookkeeping.contains(key) { continue }
      guard node.exists else {
        // null: not set (Hummingbot writes every key of its template, the unused ones empty).
        continue
      }
      if isAS {
        if let name = asKept[key] {
          kept.append(key)
          lines.append("  \(name): \(try yamlValue(node))")
        } else if let why = asNotKept[key] {
          notKept.append(NotKept(key: key, reason: why + " (value \(try yamlValue(node)))"))
        } else {
          throw node.fail("not an Avellaneda market making parameter (Hummingbot's template has no such key)")
        }
        continue
      }
      if let why = pmmNotKept[key] {
        notKept.append(NotKept(key: key, reason: why))
        continue
      }
      guard pmmKept.contains(key) else {
        throw node.fail("not a pure market making parameter (Hummingbot's template has no such key)")
      }
      kept.append(key)
      switch key {
      case "price_source_market":
        // Hummingbot's pair (ETH-USDT) as Binance's symbol.
        lines.append("  \(key): \(binanceSymbol(try node.string()))")
      default:
        lines.append("  \(key): \(try yamlValue(node))")
      }
    }
    var share: Int? = nil
    if let client = clientConfig {
      let c = try ConfigNode.load(client.text, file: client.file)
      let s = c.key("rate_limits_share_pct")
      if s.exists {
        let v = try s.double(range: 0.0001...100, what: "a percentage above 0, at most 100")
        share = max(1, Int(v))
        if Double(share!) != v {
          notKept.append(
            NotKept(
              key: "rate_limits_share_pct",
              reason:
                "\(v)% kept as \(share!)%: Needletail's share is a whole percentage (from \(client.file))"))
        }
      }
    }
    let base = market.split(separator: "-").first.map(String.init) ?? "BASE"
    let quote = market.split(separator: "-").dropFirst().first.map(String.init) ?? "QUOTE"
    let section = isAS ? "avellaneda_market_making" : "pure_market_making"
    var head = [
      "# Imported from \(file) (Hummingbot \(strategy) on \(exchange) \(market)): \(kept.count) parameter\(kept.count == 1 ? "" : "s") kept.",
      "# Paper mode: set mode: live and the key's environment variables to trade.",
    ]
    if notKept.isEmpty {
      head.append("# Not kept: none.")
    } else {
      head.append("# Not kept:")
      for n in notKept { head.append("#   \(oneLine(n.key)): \(oneLine(n.reason))") }
    }
    let out = """
      \(head.joined(separator: "\n"))
      mode: paper
      exchange:
        name: binance
        profile: mainnet
        api_key_env: NEEDLETAIL_API_KEY
        secret_env: NEEDLETAIL_API_SECRET
      \(share.map { "  rate_limits_share_pct: \($0)\n" } ?? "")market: \(symbol)
      paper_balances: { \(base): "1", \(quote): "10000" }
      strategy: \(strategy)
      \(section):
      \(lines.joined(separator: "\n"))
      """
    // What is printed must itself be a valid config: run's own checks, as `config check` makes
    // them.
    var env = ProcessInfo.processInfo.environment
    env["NEEDLETAIL_API_KEY"] = env["NEEDLETAIL_API_KEY"] ?? "x"
    env["NEEDLETAIL_API_SECRET"] = env["NEEDLETAIL_API_SECRET"] ?? "x"
    _ = try RunConfig.parse(out, file: "(imported from \(file))", environment: env)
    return Result(config: out, kept: kept, notKept: notKept)
  }

  /// Text for a comment line: no line breaks (a value's newline would end the comment).
  static func oneLine(_ s: String) -> String {
    String(s.map { $0.isNewline ? " " : $0 })
  }

  /// A double-quoted YAML scalar: a JSON string (backslash, quote and control characters
  /// escaped) reads back the same as YAML.
  static func quoted(_ v: String) -> String { JSONWriter.string(v) }

  /// Hummingbot's trading pair (BTC-USDT) as Binance's symbol (BTCUSDT).
  static func binanceSymbol(_ pair: String) -> String {
    pair.replacingOccurrences(of: "-", with: "").uppercased()
  }

  /// A node written back as flow-style YAML on one line.
  static func yamlValue(_ n: ConfigNode) throws -> String {
    guard let node = n.node else { return "~" }
    return flow(node)
  }

  static func flow(_ node: Node) -> String {
    switch node {
    case .scalar(let s):
      let v = s.string
      // A plain null inside a list or mapping stays null.
      if s.style == .plain && ["", "~", "null", "Null", "NULL"].contains(v) { return "~" }
      if s.style == .plain && (Double(v) != nil || ["true", "false"].contains(v.lowercased())) {
        return v.lowercased()
      }
      return quoted(v)
    case .sequence(let seq):
      return "[" + seq.map(flow).joined(separator: ", ") + "]"
    case .mapping(let m):
      return "{ " + m.map { "\(quoted($0.key.string ?? "?")): \(flow($0.value))" }.joined(separator: ", ")
        + " }"
    case .alias:
      return "~"
    }
  }
}
