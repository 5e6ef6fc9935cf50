import FastBook
import Foundation
import Venue

/// `needletail venue --config venue.yml`: what the simulated exchange serves. Every key is
/// checked; secrets come from the environment or a 0600 file and are never printed.
struct VenueConfig {
  struct Account {
    var apiKey: String
    var secret: String
    var balances: [(String, String)]
  }
  /// A role on its own listener (`listen.rest`, `listen.streams`, `listen.ws_api`).
  struct RoleListen: Equatable {
    var host: String
    var port: UInt16
    /// The name clients will reach it by (in the certificate), if not an address above.
    var name: String?
  }
  /// The shared listener: every role without one of its own.
  var host = "127.0.0.1"
  var port: UInt16 = 8443
  var roles: [VenueRole: RoleListen] = [:]
  var dataDir = ".needletail/venue"
  var weightLimit = 6000
  var weightWindowSeconds = 60
  var ordersPer10Seconds = 100
  var symbols: [VenueSymbol] = []
  var accounts: [Account] = []
  var synthetic: SyntheticMarket.Parameters? = nil
  var faults = FaultPlan()
  var skipDiffEverySeconds = 0.0
  var forcedDisconnectSeconds = 0.0
  var pingIntervalSeconds = 20.0

  /// Where the venue listens: roles sharing an address and port share a listener; roles without
  /// one of their own are on `host:port`.
  var listeners: [VenueListener] {
    var out: [VenueListener] = []
    for role in VenueRole.allCases {
      let (h, p) = roles[role].map { ($0.host, $0.port) } ?? (host, port)
      if let i = out.firstIndex(where: { $0.host == h && $0.port == p && p != 0 }) {
        out[i].roles.insert(role)
      } else {
        out.append(VenueListener(host: h, port: p, roles: [role]))
      }
    }
    return out
  }

  /// The names the certificate must carry: each listener's address and each role's name.
  var certificateNames: [String] {
    var names: [String] = []
    for n in listeners.map(\.host) + VenueRole.allCases.compactMap({ roles[$0]?.name })
    where !names.contains(n) {
      names.append(n)
    }
    return names
  }

  /// The embedded default: one BTCUSDT market, one account, a synthetic market.
  static let example = """
    # Needletail venue: a Binance-spot-compatible exchange on 127.0.0.1 (HTTPS).
    listen:                            # REST, market streams and the WebSocket API on one port...
      host: 127.0.0.1
      port: 8443
      # ...or a role on its own address and port, as Binance serves them (name: for the certificate):
      # rest:    { host: 127.0.0.2, port: 443,  name: api.binance.com }
      # streams: { host: 127.0.0.3, port: 9443, name: stream.binance.com }
      # ws_api:  { host: 127.0.0.4, port: 443,  name: ws-api.binance.com }
    data_dir: .needletail/venue        # the local CA and server certificate are made here
    weight_limit: 6000                 # REQUEST_WEIGHT per window; 429 over it, then 418
    weight_window_seconds: 60          # the window (Binance: 1 minute), as exchangeInfo says it
    orders_per_10_seconds: 100         # new orders an account may place per 10 s (-1015 over it)
    symbols:
      - name: BTCUSDT
        base: BTC
        quote: USDT
        tick_size: "0.01"
        lot_size: "0.00001"
        min_qty: "0.00001"
        max_qty: "9000"
        min_notional: "5"
        max_num_orders: 200
        maker_fee: "0.001"
        taker_fee: "0.001"
    accounts:
      - api_key: needletail-demo-key
        secret_env: NEEDLETAIL_VENUE_SECRET   # or secret_file: path to a 0600 file
        balances: { USDT: "100000", BTC: "1" }
    market:
      synthetic: { seed: 1, start_price: "60000", volatility_ticks_per_second: 20 }
    faults:                             # all off; see docs for each
      seed: 1
      rest_latency_ms: [0, 0]
      lost_response_after_accept: 0
      server_error_before: 0
      server_error_after: 0
      stale_status_after_cancel_ms: 0
      drop_user_event: 0
      duplicate_user_event: 0
      reorder_user_events: 0
      close_socket: 0
      force_429: 0
      force_418: 0
      retry_after_seconds: 1             # sent with forced 429/418; coming back sooner earns a 418
      skip_depth_diff_every_seconds: 0
      forced_disconnect_seconds: 0
      ping_interval_seconds: 20
    """

  static func parse(_ text: String, file: String, environment: [String: String]) throws -> VenueConfig {
    let root = try ConfigNode.load(text, file: file)
    try root.only([
      "listen", "data_dir", "weight_limit", "weight_window_seconds", "orders_per_10_seconds", "symbols",
      "accounts", "market", "faults",
    ])
    var c = VenueConfig()
    let listen = root.key("listen")
    try listen.only(["host", "port", "rest", "streams", "ws_api"])
    c.host = try listen.key("host").string(default: c.host)
    c.port = UInt16(try listen.key("port").int(default: 8443, range: 0...65535))
    for role in VenueRole.allCases {
      let n = listen.key(role.rawValue)
      guard n.exists else { continue }
      try n.only(["host", "port", "name"])
      c.roles[role] = RoleListen(
        host: try n.key("host").string(default: c.host),
        port: UInt16(try n.key("port").int(range: 0...65535)),
        name: n.key("name").exists ? try n.key("name").string() : nil)
    }
    c.dataDir = try root.key("data_dir").string(default: c.dataDir)
    c.weightLimit = try root.key("weight_limit").int(default: 6000, range: 1...1_000_000)
    c.weightWindowSeconds = try root.key("weight_window_seconds").int(default: 60, range: 1...86_400)
    c.ordersPer10Seconds = try root.key("orders_per_10_seconds").int(default: 100, range: 1...1_000_000)
    let syms = try root.key("symbols").list()
    guard !syms.isEmpty else {
      throw ConfigError(file: file, path: "symbols", message: "at least one symbol is required")
    }
    for s in syms {
      try s.only([
        "name", "base", "quote", "tick_size", "lot_size", "min_qty", "max_qty", "min_notional",
        "max_num_orders",
        "maker_fee", "taker_fee",
      ])
      let name = try s.key("name").string()
      let tick = try s.key("tick_size").string()
      let lot = try s.key("lot_size").string()
      let inst: Instrument
      do {
        inst = try Instrument(symbol: name, tickSize: tick, lotSize: lot)
      } catch {
        throw ConfigError(
          file: file, path: s.path + ".tick_size/lot_size", message: "'\(tick)'/'\(lot)': \(error)")
      }
      var v = VenueSymbol(
        name: name.uppercased(), baseAsset: try s.key("base").string(),
        quoteAsset: try s.key("quote").string(),
        instrument: inst)
      func qty(_ k: String, _ d: String) throws -> Int64 {
        let n = s.key(k)
        let text = try n.string(default: d)
        do { return try FixedPoint.parse(text, scale: inst.quantityScale) } catch {
          throw n.fail("'\(text)': \(error)")
        }
      }
      v.minQty = try qty("min_qty", FixedPoint.format(inst.lotSize, scale: inst.quantityScale))
      v.maxQty = try qty("max_qty", "9000")
      v.stepQty = inst.lotSize
      let mn = s.key("min_notional")
      let mnText = try mn.string(default: "0")
      do {
        v.minNotional = Int128(try FixedPoint.parse(mnText, scale: inst.priceScale + inst.quantityScale))
      } catch {
        throw mn.fail("'\(mnText)': \(error)")
      }
      v.maxNumOrders = try s.key("max_num_orders").int(default: 200, range: 0...100_000)
      v.makerFeeRate = Int64(
        (try s.key("maker_fee").double(default: 0.001, range: 0...0.1, what: "a fee rate from 0 to 0.1") * 1e8)
          .rounded())
      v.takerFeeRate = Int64(
        (try s.key("taker_fee").double(default: 0.001, range: 0...0.1, what: "a fee rate from 0 to 0.1") * 1e8)
          .rounded())
      v.minPriceTicks = 1
      v.maxPriceTicks = 0
      c.symbols.append(v)
    }
    for (i, a) in try root.key("accounts").list().enumerated() {
      try a.only(["api_key", "secret_env", "secret_file", "balances"])
      let key = try a.key("api_key").string()
      let secret = try a.secret(prefix: "", environment: environment)
      var balances: [(String, String)] = []
      for (asset, v) in try a.key("balances").entries() {
        let amount = try v.string()
        guard (try? FixedPoint.parse(amount, scale: 8)).map({ $0 >= 0 }) == true else {
          throw v.fail("'\(amount)' is not a non-negative amount with at most 8 decimals")
        }
        balances.append((asset, amount))
      }
      _ = i
      c.accounts.append(Account(apiKey: key, secret: secret, balances: balances))
    }
    let market = root.key("market")
    try market.only(["synthetic"])
    let syn = market.key("synthetic")
    if syn.exists {
      try syn.only([
        "seed", "start_price", "volatility_ticks_per_second", "limit_rate", "cancel_rate", "market_rate",
      ])
      var p = SyntheticMarket.Parameters()
      p.seed = UInt64(try syn.key("seed").int(default: 1, range: 0...Int.max))
      let sp = syn.key("start_price")
      let spText = try sp.string(default: "60000")
      do { p.startTicks = try c.symbols[0].instrument.parseTick(spText) } catch {
        throw sp.fail("'\(spText)': \(error)")
      }
      p.volatilityTicksPerSecond = try syn.key("volatility_ticks_per_second").double(
        default: 20, range: 0...1_000_000, what: "ticks per second, at least 0")
      p.limitRate = try syn.key("limit_rate").double(
        default: 400, range: 0...1_000_000, what: "orders per second")
      p.cancelRate = try syn.key("cancel_rate").double(
        default: 300, range: 0...1_000_000, what: "cancels per second")
      p.marketRate = try syn.key("market_rate").double(
        default: 20, range: 0...1_000_000, what: "orders per second")
      c.synthetic = p
    }
    let f = root.key("faults")
    try f.only([
      "seed", "rest_latency_ms", "lost_response_after_accept", "server_error_before", "server_error_after",
      "stale_status_after_cancel_ms", "drop_user_event", "duplicate_user_event", "reorder_user_events",
      "close_socket",
      "force_429", "force_418", "retry_after_seconds", "skip_depth_diff_every_seconds",
      "forced_disconnect_seconds", "ping_interval_seconds",
    ])
    func prob(_ k: String) throws -> Double {
      try f.key(k).double(default: 0, range: 0...1, what: "a probability between 0 and 1")
    }
    c.faults.seed = UInt64(try f.key("seed").int(default: 1, range: 0...Int.max))
    let lat = try f.key("rest_latency_ms").list()
    if !lat.isEmpty {
      guard lat.count == 2 else { throw f.key("rest_latency_ms").fail("expected [min, max] in milliseconds") }
      let lo = try lat[0].double(range: 0...60_000, what: "milliseconds")
      let hi = try lat[1].double(range: lo...60_000, what: "milliseconds, at least the minimum")
      if hi > 0 { c.faults.restLatencyNs = Int64(lo * 1e6)...Int64(hi * 1e6) }
    }
    c.faults.lostResponseAfterAccept = try prob("lost_response_after_accept")
    c.faults.serverErrorBefore = try prob("server_error_before")
    c.faults.serverErrorAfter = try prob("server_error_after")
    c.faults.staleStatusAfterCancelMs = Int64(
      try f.key("stale_status_after_cancel_ms").int(default: 0, range: 0...600_000))
    c.faults.dropUserEvent = try prob("drop_user_event")
    c.faults.duplicateUserEvent = try prob("duplicate_user_event")
    c.faults.reorderUserEvents = try prob("reorder_user_events")
    c.faults.closeSocket = try prob("close_socket")
    c.faults.force429 = try prob("force_429")
    c.faults.force418 = try prob("force_418")
    c.faults.retryAfterSeconds = try f.key("retry_after_seconds").int(default: 1, range: 1...3600)
    c.skipDiffEverySeconds = try f.key("skip_depth_diff_every_seconds").double(
      default: 0, range: 0...86_400, what: "seconds")
    c.forcedDisconnectSeconds = try f.key("forced_disconnect_seconds").double(
      default: 0, range: 0...604_800, what: "seconds")
    c.pingIntervalSeconds = try f.key("ping_interval_seconds").double(
      default: 20, range: 1...3600, what: "seconds")
    return c
  }
}
