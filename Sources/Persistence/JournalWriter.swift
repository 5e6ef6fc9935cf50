import Engine
import FastBook
import Foundation

/// Keeps the trade history from the side thread: drains a host's journal ring (see
/// `StrategyHost.journal`) into SQLite, one transaction per drained batch — never on the strategy
/// thread. Fees are recorded in quote at the run's maker rate with Binance's rounding (the
/// stream's fills do not say maker or taker).
///
/// A write that fails is counted (`writeErrors`, `lastError`) and the writer goes on; nothing the
/// strategy thread holds depends on it. A fill whose trade id this venue already has for another
/// order, side, price or quantity is kept in `fill_conflicts`, counted (`conflicts`) and told to
/// `problem`, never dropped without a word.
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
  /// Fills not kept because their trade id on this venue was already kept for something else.
  public private(set) var conflicts = 0
  /// Told (on the side thread) of each failed write and each conflicting fill, in words.
  public var problem: (@Sendable (String) -> Void)?

  /// Opens (or creates) the history at `path` and records `run` in it (its id is set here).
  /// Record times are the engine's `nowNs`; `time` turns them into wall times (live: the offset
  /// between the clocks at open; simulated: none, the data's time is already Unix time).
  public init(
    path: String, run: RunInfo, capacity: Int = 1 << 16, time: any TimeSource = LiveTime.shared
  ) throws {
    store = try TradeStore(path: path)
    self.run = try store.addRun(run)
    wallOffsetNs = time.wallNs - time.nowNs
    feeRules = Portfolio(
      base: 0, quote: 0, fees: run.fees, priceScale: run.priceScale, quantityScale: run.quantityScale)
    journal = OrderJournal(capacity: capacity, batchEnd: { [unowned self] in self.commit() }) {
      [unowned self] r in self.write(r)
    }
  }

  public func start(cpu: Int? = nil) { journal.start(cpu: cpu) }

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
      let venue = run.venueID
      switch r.kind {
      case .placed:
        try store.add(
          StoredOrder(
            clientOrderID: cid, runID: run.id, symbol: run.symbol, side: r.side, price: r.price,
            quantity: r.quantity, venueOrderID: 0, state: .pendingCreate, filled: 0, createdNs: at,
            updatedNs: at))
      case .cancelRequested: try store.setState(cid, .pendingCancel, venue: venue, atNs: at)
      case .created: try store.setState(cid, .open, venue: venue, venueOrderID: r.venueOrderID, atNs: at)
      case .cancelRefused: try store.setState(cid, .open, venue: venue, atNs: at)
      case .completed: try store.setState(cid, .filled, venue: venue, atNs: at)
      case .cancelled: try store.setState(cid, .cancelled, venue: venue, atNs: at)
      case .failed: try store.setState(cid, .failed, venue: venue, atNs: at)
      case .lost: try store.setState(cid, .lost, venue: venue, atNs: at)
      case .roundTrip: try store.addRoundTrip(cid, run: run.id, r.roundTrip)
      case .filled:
        let fee = Int64(
          feeRules.fee(side: r.side, price: r.price, quantity: r.quantity, taker: r.taker).inQuote)
        let fill = StoredFill(
          symbol: run.symbol, tradeID: r.tradeID, clientOrderID: cid, runID: run.id, side: r.side,
          price: r.price, quantity: r.quantity, feeQuote: fee, atNs: at, source: "stream")
        switch try store.add(fill, orderFilled: r.filled, nowNs: at) {
        case .added: fillsWritten += 1
        case .duplicate: break
        case .conflict(let kept):
          conflicts += 1
          problem?(Self.conflictText(fill, kept: kept, venue: run.venue))
        }
      }
    } catch {
      writeErrors += 1
      lastError = "\(error)"
      problem?("history write failed: \(error)")
    }
  }

  /// One line about a fill that conflicts with the one kept.
  public static func conflictText(_ f: StoredFill, kept: StoredFill, venue: VenueIdentity) -> String {
    func d(_ x: StoredFill) -> String {
      "\(x.clientOrderID) \(x.side == .buy ? "BUY" : "SELL") \(x.quantity) @ \(x.price) (run \(x.runID), \(x.source))"
    }
    return
      "fill CONFLICT on \(venue) \(f.symbol) trade \(f.tradeID): \(d(f)) differs from the kept \(d(kept)); kept in fill_conflicts, not counted as a fill"
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
