import Backtest
import Foundation

/// The `backtest:` section of a run config: what `needletail backtest` replays and how its
/// simulated exchange fills. The strategy, its parameters, `paper_balances` (the starting
/// balances), `fees` and `risk` are the run config's own, so the same file runs live, on paper and
/// in a backtest.
struct BacktestParameters {
  /// Capture files (shared/data/market's format: gzip, `<receive ns> <raw JSON>` lines), in order.
  var data: [String] = []
  /// The capture's venue dialect: its decoder and book sequence rule.
  var venue = Venue.binanceSpot
  var queue = QueueModel.riskAverse
  var fills = SimulatedExchange.FillMode.partial
  /// Constant order latencies (ms): request to the exchange, answer back.
  var entryMs = 1.0
  var responseMs = 1.0
  /// Recorded round trips to interpolate instead (`needletail history --export-latency`).
  var latencyFile: String? = nil
  /// The instrument's grid, decimal text (nil: from the capture: one unit at the scales it is
  /// written in).
  var tickSize: String? = nil
  var lotSize: String? = nil
  /// Where prepared tapes are kept (nil: $XDG_CACHE_HOME/needletail or ~/.cache/needletail).
  var cacheDir: String? = nil
  /// The Clock's first tick one tick after the data's first event (hftbacktest's stepping)
  /// instead of on whole multiples of clock_tick (as live).
  var clockFromFirstEvent = false

  enum Venue: String, CaseIterable {
    case binanceSpot = "binance"
    case binanceUSDM = "binance_usdm"
  }

  static let keys = [
    "data", "venue", "queue_model", "fills", "latency", "tick_size", "lot_size", "cache_dir", "clock_phase",
  ]

  static func parse(_ n: ConfigNode, defaultVenue: String) throws -> BacktestParameters {
    try n.only(keys)
    var b = BacktestParameters()
    let data = n.key("data")
    if data.exists {
      if data.node?.sequence != nil {
        b.data = try data.list().map { try $0.string() }
      } else {
        b.data = [try data.string()]
      }
    }
    let venue = try n.key("venue").string(default: defaultVenue)
    guard let v = Venue(rawValue: venue) else {
      throw n.key("venue").fail(
        "'\(venue)' is not a capture dialect Needletail reads (allowed: \(Venue.allCases.map(\.rawValue).joined(separator: ", ")))"
      )
    }
    b.venue = v
    let q = try n.key("queue_model").string(default: "risk_averse")
    guard let model = QueueModel(config: q) else {
      throw n.key("queue_model").fail(
        "'\(q)' is not a queue model (allowed: risk_averse, power:N, power2:N, power3:N, log, log2)")
    }
    b.queue = model
    let fills = try n.key("fills").string(default: "partial")
    guard let f = SimulatedExchange.FillMode(rawValue: fills) else {
      throw n.key("fills").fail(
        "'\(fills)' is not allowed (partial: takers walk the book, makers fill in pieces, our orders queue behind each other; whole: hftbacktest's no-partial-fill exchange)"
      )
    }
    b.fills = f
    let lat = n.key("latency")
    try lat.only(["entry_ms", "response_ms", "file"])
    if lat.key("file").exists {
      guard !lat.key("entry_ms").exists, !lat.key("response_ms").exists else {
        throw lat.fail("give either file (recorded round trips) or entry_ms/response_ms (constant), not both")
      }
      b.latencyFile = try lat.key("file").string()
    }
    b.entryMs = try lat.key("entry_ms").double(default: 1, range: 0...60_000, what: "milliseconds")
    b.responseMs = try lat.key("response_ms").double(default: 1, range: 0...60_000, what: "milliseconds")
    if n.key("tick_size").exists {
      b.tickSize = try n.key("tick_size").decimal(range: 1e-18...1e12, what: "a positive price step")
    }
    if n.key("lot_size").exists {
      b.lotSize = try n.key("lot_size").decimal(range: 1e-18...1e12, what: "a positive quantity step")
    }
    if n.key("cache_dir").exists { b.cacheDir = try n.key("cache_dir").string() }
    let phase = try n.key("clock_phase").string(default: "aligned")
    guard phase == "aligned" || phase == "first_event" else {
      throw n.key("clock_phase").fail(
        "'\(phase)' is not allowed (aligned: ticks on whole multiples of clock_tick, as live; first_event: one tick after the data's first event, as hftbacktest steps)"
      )
    }
    b.clockFromFirstEvent = phase == "first_event"
    return b
  }

  /// The tape cache directory.
  var cacheDirectory: String {
    if let cacheDir { return (cacheDir as NSString).expandingTildeInPath }
    let env = ProcessInfo.processInfo.environment
    if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/needletail" }
    return (env["HOME"] ?? NSTemporaryDirectory()) + "/.cache/needletail"
  }
}
