import CPlatform
import Engine
import FastBook
import Foundation

/// Keeps the trade history from the side thread: drains a host's journal ring (see
/// `StrategyHost.journal`) into SQLite, one transaction per drained batch — never on the strategy
/// thread. Fees are recorded in quote at the run's maker rate with Binance's rounding (the
/// stream's fills do not say maker or taker).
///
/// A write that fails is counted (`writeErrors`, `lastError`) and the writer goes on; nothing the
/// strategy thread holds depends on it.
public final class JournalWriter: @unchecked Sendable {
  public let store: TradeStore
  public let run: RunInfo
  public private(set) var journal: OrderJournal!
  /// Wall clock minus the monotonic clock the records carry, taken at construction.
  let wallOffsetNs: Int64
  /// The run's fee rules (only its `fee(side:price:quantity:taker:)` is used).
  let feeRules: Portfolio
  var inTransaction = false
  public private(set) var writeErrors = 0
  public private(set) var lastError: String?
  public private(set) var fillsWritten = 0

  /// Opens (or creates) the history at `path` and records `run` in it (its id is set here).
  public init(path: String, run: RunInfo, capacity: Int = 1 << 16) throws {
    store = try TradeStore(path: path)
    var r = run
    r.id = try store.addRun(run)
    self.run = r
    wallOffsetNs = Int64(Date().timeIntervalSince1970 * 1e9) - cplat_now_ns()
    feeRules = Portfolio(
      base: 0, quote: 0, fees: run.fees, priceScale: run.priceScale, quantityScale: run.quantityScale)
    journal = OrderJournal(capacity: capacity, batchEnd: { [unowned self] in self.commit() }) {
      [unowned self] r in self.write(r)
    }
  }

  public func start() { journal.start() }

  /// Writes what is queued, commits, and ends the side thread.
  public func stop() { journal.stop() }

  /// Records lost because the ring was full.
  public var dropped: Int { journal.dropped }

  func id(_ tag: UInt64) -> String { run.prefix + String(tag) }

  func write(_ r: JournalRecord) {
    do {
      if !inTransaction {
        try store.begin()
        inTransaction = true
      }
      let at = r.timeNs + wallOffsetNs
      let cid = id(r.tag)
      switch r.kind {
      case .placed:
        try store.add(
          StoredOrder(
            clientOrderID: cid, runID: run.id, symbol: run.symbol, side: r.side, price: r.price,
            quantity: r.quantity, venueOrderID: 0, state: .pendingCreate, filled: 0, createdNs: at,
            updatedNs: at))
      case .cancelRequested: try store.setState(cid, .pendingCancel, atNs: at)
      case .created: try store.setState(cid, .open, venueOrderID: r.venueOrderID, atNs: at)
      case .cancelRefused: try store.setState(cid, .open, atNs: at)
      case .completed: try store.setState(cid, .filled, atNs: at)
      case .cancelled: try store.setState(cid, .cancelled, atNs: at)
      case .failed: try store.setState(cid, .failed, atNs: at)
      case .lost: try store.setState(cid, .lost, atNs: at)
      case .filled:
        let fee = Int64(
          feeRules.fee(side: r.side, price: r.price, quantity: r.quantity, taker: false).inQuote)
        let added = try store.add(
          StoredFill(
            symbol: run.symbol, tradeID: r.tradeID, clientOrderID: cid, runID: run.id, side: r.side,
            price: r.price,
            quantity: r.quantity, feeQuote: fee, atNs: at, source: "stream"),
          orderFilled: r.filled)
        if added { fillsWritten += 1 }
      }
    } catch {
      writeErrors += 1
      lastError = "\(error)"
    }
  }

  func commit() {
    guard inTransaction else { return }
    inTransaction = false
    do { try store.commit() } catch {
      writeErrors += 1
      lastError = "\(error)"
    }
  }
}
