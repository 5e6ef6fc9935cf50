import ArgumentParser
import Connectors
import Engine
import FastBook
import Foundation
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

  mutating func run() throws {
    guard FileManager.default.fileExists(atPath: database) else {
      throw ValidationError("\(database): no such file")
    }
    let store = try TradeStore(path: database)
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
      }
    }
  }
}

/// The history of a run being traded: settles what earlier runs left, then records this run.
enum TradeHistory {
  /// Settles the orders earlier live runs on `venue` left in flight (see `BinanceSession.recover`)
  /// and writes their outcome. Orders of earlier paper and demo runs lived only in their process
  /// (a demo's venue ended with it) and are closed as `lost`; those of live runs on other venues,
  /// or when no session is given (paper), wait for a live run there. Returns what to tell the
  /// operator.
  static func recover(path: String, session: BinanceSession?, venue: String, symbol: String) throws -> String?
  {
    let store = try TradeStore(path: path)
    let runs = try store.runs().filter { $0.symbol == symbol }
    let inFlight = try store.inFlightOrders(symbol: symbol)
    let askable = Set(runs.filter { $0.mode == "live" && $0.venue == venue && session != nil }.map(\.id))
    var lines: [String] = []
    let now = Int64(Date().timeIntervalSince1970 * 1e9)
    let live = Set(runs.filter { $0.mode == "live" }.map(\.id))
    let closed = inFlight.filter { !live.contains($0.runID) }
    if !closed.isEmpty {
      try store.begin()
      for o in closed { try store.setState(o.clientOrderID, .lost, atNs: now) }
      try store.commit()
      lines.append(
        "\(closed.count) orders of earlier paper or demo runs closed as lost (their venue is gone)")
    }
    guard let session else { return lines.isEmpty ? nil : lines.joined(separator: "; ") }
    let known = inFlight.filter { askable.contains($0.runID) }
    let prefixes = runs.filter { askable.contains($0.id) }.map(\.prefix)
    guard !prefixes.isEmpty else { return lines.isEmpty ? nil : lines.joined(separator: "; ") }
    let r = session.recover(
      known: known.map { ($0.clientOrderID, $0.venueOrderID) }, prefixes: prefixes,
      fromTradeID: try store.lastTradeID(symbol: symbol).map { $0 + 1 })
    let runOf = { (cid: String) in runs.last(where: { cid.hasPrefix($0.prefix) }) }
    let inst = session.instrument
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
      try store.setState(o.clientOrderID, o.state, venueOrderID: o.venueOrderID, atNs: now)
    }
    var newFills = 0
    for t in r.trades {
      guard let run = runOf(t.clientOrderID) else { continue }
      // The venue's commission (10⁻⁸ units) in quote, as price·quantity raws.
      let q = Int128(FixedPoint.pow10(inst.priceScale + inst.quantityScale))
      let fee: Int128 =
        t.commissionAsset == run.quoteAsset
        ? t.commission * q / 100_000_000
        : t.commissionAsset == run.baseAsset
          ? t.commission * Int128(t.price) * Int128(FixedPoint.pow10(inst.quantityScale)) / 100_000_000 : 0
      let added = try store.add(
        StoredFill(
          symbol: symbol, tradeID: t.tradeID, clientOrderID: t.clientOrderID, runID: run.id, side: t.side,
          price: t.price, quantity: t.quantity, feeQuote: Int64(fee), atNs: t.timeMs * 1_000_000,
          source: "recovery"))
      if added { newFills += 1 }
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
    return lines.isEmpty ? nil : lines.joined(separator: "; ")
  }
}

/// A client-order-id prefix for a new run: "nt", 8 random hex digits, "-". Binance allows 36
/// characters; the tag after it is at most 20 digits. The history finds a run's orders by it.
func newClientIDPrefix() -> String { "nt" + String(UInt32.random(in: 0...UInt32.max), radix: 16) + "-" }

/// Opens the history at `path` for a new run and attaches it to `session`'s host: from now on
/// every order change goes to the side thread, which writes it. End with `finishHistory`.
func startHistory(path: String, run: RunInfo, session: BinanceSession) throws -> JournalWriter {
  let writer = try JournalWriter(path: path, run: run)
  session.host.journal = writer.journal
  writer.start()
  return writer
}

/// Stops the side thread (what is queued is written), prints the closing line about this run's
/// history, and returns that history.
@discardableResult
func finishHistory(_ writer: JournalWriter, path: String) throws -> RunHistory? {
  writer.stop()
  let problems =
    writer.writeErrors > 0 || writer.dropped > 0
    ? " — WARNING: \(writer.writeErrors) writes failed (\(writer.lastError ?? "")), \(writer.dropped) records dropped"
    : ""
  let h = try RunHistory.load(writer.store, run: writer.run.id).first
  say(
    "history: run \(writer.run.id) in \(path): \(h?.orders ?? 0) orders, \(h?.fills ?? 0) fills (needletail history \(path) --run \(writer.run.id))\(problems)"
  )
  return h
}
