import ArgumentParser
import Connectors
import Engine
import FastBook
import Foundation
import Logging
import Persistence

/// `needletail history <db>`: what the trade history says of each run.
struct HistoryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "history",
    abstract: "Print fills, volume, fees, PnL and inventory from a run's SQLite history.",
    discussion: """
      Every `run` and `demo` writes its orders, their status changes and its fills to SQLite (from \
      the side thread). This reads that file and prints, per run: orders, fills, bought and sold, \
      volume, fees in quote, realized PnL and the open position's PnL at the last fill's price, and \
      the inventory from the run's starting balances.
      """)

  @Argument(help: "The history database (a run's --db).")
  var database: String

  @Option(name: .customLong("run"), help: "Only this run (its number in the history).")
  var onlyRun: Int64?

  @Flag(help: "Also list every fill.")
  var fills = false

  @Option(
    help: ArgumentHelp(
      "Write the orders' measured round trips (request sent, the venue's event, answer received; Unix ns) to this CSV file, for a backtest's latency: { file: ... }.",
      valueName: "file"))
  var exportLatency: String?

  mutating func run() throws {
    guard FileManager.default.fileExists(atPath: database) else {
      throw ValidationError("\(database): no such file")
    }
    let store: TradeStore
    do { store = try TradeStore(path: database) } catch let e as TradeStoreError {
      throw ValidationError(e.description)
    }
    if let m = store.migration { say("\(database): \(m)") }
    if let exportLatency {
      let trips = try store.roundTrips(run: onlyRun)
      var text = "request_ns,exchange_ns,response_ns\n"
      for t in trips { text += "\(t.requestNs),\(t.exchangeNs),\(t.responseNs)\n" }
      do {
        try text.write(toFile: exportLatency, atomically: true, encoding: .utf8)
      } catch {
        throw ValidationError("cannot write \(exportLatency): \(error.localizedDescription)")
      }
      let ms = trips.map { Double($0.responseNs - $0.requestNs) / 1e6 }.sorted()
      say(
        "\(exportLatency): \(trips.count) round trips\(onlyRun.map { " of run \($0)" } ?? "")"
          + (ms.isEmpty
            ? ""
            : String(
              format: ", median %.3f ms, p99 %.3f ms", ms[ms.count / 2],
              ms[min(ms.count - 1, ms.count * 99 / 100)])))
      return
    }
    let runs = try RunHistory.load(store, run: onlyRun)
    if runs.isEmpty { say(onlyRun.map { "\(database): no run \($0)" } ?? "\(database): no runs yet") }
    for h in runs {
      say(h.report)
      if fills {
        for f in try store.fills(run: h.run.id) {
          say(
            "    \(f.tradeID) \(f.side == .buy ? "BUY " : "SELL") \(h.qty(f.quantity)) @ \(h.px(f.price)) fee \(h.quote(Int128(f.feeQuote))) \(h.run.quoteAsset) \(f.clientOrderID) (\(f.source))"
          )
        }
        for c in try store.conflicts(run: h.run.id) {
          let f = c.fill
          say(
            "    CONFLICT \(f.tradeID) \(f.side == .buy ? "BUY " : "SELL") \(h.qty(f.quantity)) @ \(h.px(f.price)) \(f.clientOrderID) (\(f.source)), not kept: run \(c.kept.runID) has \(c.kept.side == .buy ? "BUY" : "SELL") \(h.qty(c.kept.quantity)) @ \(h.px(c.kept.price)) \(c.kept.clientOrderID)"
          )
        }
      }
    }
  }
}

/// The history of a run being traded: settles what earlier runs left, then records this run.
enum TradeHistory {
  /// Settles the orders earlier live runs on `venue` left in flight (see `VenueAccountQueries.recover`)
  /// and writes their outcome — on that venue only: the same kind, environment and account (and
  /// runs from a history of schema 1, whose account was not recorded, on the same environment).
  /// Orders of earlier runs on venues that lived in their process (a demo's, a paper exchange)
  /// are closed as `lost`; those of live runs on other venues, or when no venue is given to ask
  /// (paper, demo), wait for a live run there. Returns what to tell the operator.
  static func recover(
    path: String, asking session: (any VenueAccountQueries)?, instrument inst: Instrument,
    venue: VenueIdentity
  ) throws -> String? {
    let symbol = inst.symbol
    let store = try TradeStore(path: path)
    var lines: [String] = store.migration.map { [$0] } ?? []
    let venues = try store.venues()
    let runs = try store.runs().filter { $0.symbol == symbol }
    let runByID = Dictionary(uniqueKeysWithValues: runs.map { ($0.id, $0) })
    let inFlight = try store.inFlightOrders(symbol: symbol)
    let now = Int64(Date().timeIntervalSince1970 * 1e9)
    let closed = inFlight.filter { runByID[$0.runID]?.venue.ephemeral ?? false }
    if !closed.isEmpty {
      try store.begin()
      for o in closed {
        try store.setState(o.clientOrderID, .lost, venue: runByID[o.runID]!.venueID, atNs: now)
      }
      try store.commit()
      lines.append(
        "\(closed.count) orders of earlier runs on venues that ended with their process (demo, paper) closed as lost"
      )
    }
    guard let session, !venue.ephemeral else { return lines.isEmpty ? nil : lines.joined(separator: "; ") }
    let here = Set(
      venues.filter { _, v in
        v == venue
          || (v.accountUnrecorded && v.kind == venue.kind && v.environment == venue.environment)
      }.keys)
    let askable = runs.filter { $0.mode == "live" && here.contains($0.venueID) }
    let known = inFlight.filter { o in askable.contains { $0.id == o.runID } }
    guard !askable.isEmpty else { return lines.isEmpty ? nil : lines.joined(separator: "; ") }
    let r = session.recover(
      known: known.map { ($0.clientOrderID, $0.venueOrderID) }, prefixes: askable.map(\.prefix),
      fromTradeID: try store.lastTradeID(venues: Array(here), symbol: symbol).map { $0 + 1 },
      timeoutNs: 5_000_000_000)
    let runOf = { (cid: String) in askable.last(where: { cid.hasPrefix($0.prefix) }) }
    try store.begin()
    for o in r.orders {
      guard let run = runOf(o.clientOrderID) else { continue }
      if o.adopted {
        try store.add(
          StoredOrder(
            clientOrderID: o.clientOrderID, runID: run.id, symbol: symbol, side: o.side, price: o.price,
            quantity: o.quantity, venueOrderID: o.venueOrderID, state: .open, filled: 0, createdNs: now,
            updatedNs: now))
      }
      try store.setState(
        o.clientOrderID, o.state, venue: run.venueID, venueOrderID: o.venueOrderID, atNs: now)
    }
    var newFills = 0
    var conflicts: [String] = []
    for t in r.trades {
      guard let run = runOf(t.clientOrderID) else { continue }
      // The venue's commission (10⁻⁸ units) in quote, as price·quantity raws.
      let q = Int128(FixedPoint.pow10(inst.priceScale + inst.quantityScale))
      let fee: Int128 =
        t.commissionAsset == run.quoteAsset
        ? t.commission * q / 100_000_000
        : t.commissionAsset == run.baseAsset
          ? t.commission * Int128(t.price) * Int128(FixedPoint.pow10(inst.quantityScale)) / 100_000_000 : 0
      let fill = StoredFill(
        symbol: symbol, tradeID: t.tradeID, clientOrderID: t.clientOrderID, runID: run.id, side: t.side,
        price: t.price, quantity: t.quantity, feeQuote: Int64(fee), atNs: t.timeMs * 1_000_000,
        source: "recovery")
      switch try store.add(fill, nowNs: now) {
      case .added: newFills += 1
      case .duplicate: break
      case .conflict(let kept):
        conflicts.append(JournalWriter.conflictText(fill, kept: kept, venue: run.venue))
      }
    }
    try store.commit()
    let cancelled = r.orders.filter(\.cancelledNow).count
    let adopted = r.orders.filter(\.adopted).count
    let lost = r.orders.filter { $0.state == .lost }.count
    if !r.orders.isEmpty || !r.unresolved.isEmpty {
      lines.append(
        "settled \(r.orders.count) orders earlier runs left (\(cancelled) still working, cancelled now; \(r.orders.count - cancelled - lost) had ended; \(lost) never reached the venue; \(adopted) the history had not written), \(newFills) fills the history lacked"
          + (r.unresolved.isEmpty ? "" : "; UNSETTLED (no answer): \(r.unresolved.joined(separator: ", "))"))
    }
    lines += conflicts
    return lines.isEmpty ? nil : lines.joined(separator: "; ")
  }
}

/// A client-order-id prefix for a new run: "nt", 8 random hex digits, "-". Binance allows 36
/// characters; the tag after it is at most 20 digits. The history finds a run's orders by it.
func newClientIDPrefix() -> String { "nt" + String(UInt32.random(in: 0...UInt32.max), radix: 16) + "-" }

/// Opens the history at `path` for a new run and attaches it to `host`: from now on
/// every order change goes to the side thread, which writes it. End with `finishHistory`.
func startHistory(
  path: String, run: RunInfo, host: StrategyHost, log: Logger, time: any TimeSource = LiveTime.shared,
  waitWhenFull: Bool = false, sideCPU: Int? = nil
) throws -> JournalWriter {
  let writer = try JournalWriter(path: path, run: run, time: time)
  writer.journal.waitWhenFull = waitWhenFull
  writer.problem = { log.error("\($0)", metadata: ["history": "\(path)"]) }
  host.journal = writer.journal
  writer.start(cpu: sideCPU)
  return writer
}

/// Stops the side thread (what is queued is written), prints the closing line about this run's
/// history, and returns that history.
@discardableResult
func finishHistory(_ writer: JournalWriter, path: String) throws -> RunHistory? {
  writer.stop()
  let problems =
    writer.writeErrors > 0 || writer.dropped > 0 || writer.conflicts > 0
    ? " — WARNING: \(writer.writeErrors) writes failed\(writer.lastError.map { " (\($0))" } ?? ""), \(writer.dropped) records dropped, \(writer.conflicts) fills conflicted with kept ones"
    : ""
  let h = try RunHistory.load(writer.store, run: writer.run.id).first
  say(
    "history: run \(writer.run.id) in \(path): \(h?.orders ?? 0) orders, \(h?.fills ?? 0) fills (needletail history \(path) --run \(writer.run.id))\(problems)"
  )
  return h
}
