import Engine
import FastBook
import Foundation
import Persistence
import Testing

/// Places what it is told to from outside (`host.perform`), nothing on its own.
final class Idle: Strategy {
  func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {}
}

func temporaryPath(_ name: String) -> String {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent(
    "nt-persist-\(UInt32.random(in: 0...UInt32.max))")
  try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  return dir.appendingPathComponent(name).path
}

@Suite struct JournalTests {
  let fees = FeeSchema(makerRate: 100_000, takerRate: 100_000)
  let unit: Int128 = 1_000_000_000_000_000_000

  static let testVenue = VenueIdentity(kind: "binance-spot", environment: "test:443", account: "1")

  /// An idle strategy's host on BTCUSDT whose journal is `writer`'s, the writer started.
  func journaledHost(_ writer: JournalWriter, prefix: String) -> (StrategyHost, OrderTracker) {
    let tracker = OrderTracker()
    let host = StrategyHost(
      strategy: Idle(), symbol: "BTCUSDT", rule: TradingRule(tickSize: 1, stepSize: 1), limits: RiskLimits(),
      tracker: tracker, prefix: prefix)
    host.journal = writer.journal
    writer.start()
    return (host, tracker)
  }

  func run(prefix: String, venue: VenueIdentity = testVenue, mode: String = "live") -> RunInfo {
    RunInfo(
      startedAtNs: 1, mode: mode, venue: venue, symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT",
      priceScale: 2, quantityScale: 5, fees: fees, prefix: prefix, startBase: unit, startQuote: 10_000 * unit)
  }

  /// Every order change the strategy thread makes reaches SQLite through the side thread: the
  /// order's final state and venue id, its status history in order, each fill once with its fee
  /// in quote, and the history's PnL equals a portfolio fed the same fills.
  @Test func orderChangesAndFillsReachTheDatabase() throws {
    let path = temporaryPath("h.sqlite")
    let writer = try JournalWriter(path: path, run: run(prefix: "j1-"))
    let (host, tracker) = journaledHost(writer, prefix: "j1-")
    let mid: Int64 = 6_000_000
    host.perform(referencePrice: mid, now: 10) {
      $0.place(PlaceIntent(tag: 1, side: .buy, price: 5_999_000, quantity: 2_000))
      $0.place(PlaceIntent(tag: 2, side: .sell, price: 6_001_000, quantity: 1_000))
      $0.place(PlaceIntent(tag: 3, side: .sell, price: 6_002_000, quantity: 1_000))
    }
    func venue(_ x: ExecEvent) {
      tracker.apply(x, to: host.clientOrderID(tag: x.tag), now: 20)
      host.drainTracker(referencePrice: mid, now: 20)
    }
    venue(ExecEvent(kind: .accepted, tag: 1, venueOrderID: 101))
    venue(ExecEvent(kind: .accepted, tag: 2, venueOrderID: 102))
    venue(ExecEvent(kind: .accepted, tag: 3, venueOrderID: 103))
    venue(ExecEvent(kind: .filled, tag: 1, venueOrderID: 101, tradeID: 7, price: 5_999_000, quantity: 500))
    venue(ExecEvent(kind: .filled, tag: 1, venueOrderID: 101, tradeID: 7, price: 5_999_000, quantity: 500))  // again
    venue(ExecEvent(kind: .filled, tag: 1, venueOrderID: 101, tradeID: 8, price: 5_999_000, quantity: 1_500))
    venue(ExecEvent(kind: .filled, tag: 2, venueOrderID: 102, tradeID: 9, price: 6_001_000, quantity: 400))
    host.perform(referencePrice: mid, now: 30) { $0.cancel(tag: 2) }
    venue(ExecEvent(kind: .cancelled, tag: 2, venueOrderID: 102))
    writer.stop()
    #expect(writer.writeErrors == 0 && writer.dropped == 0 && writer.fillsWritten == 3)

    let store = try TradeStore(path: path)
    let orders = try store.orders(symbol: "BTCUSDT")
    #expect(orders.map(\.clientOrderID) == ["j1-1", "j1-2", "j1-3"])
    #expect(orders.map(\.state) == [.filled, .cancelled, .open])
    #expect(orders.map(\.venueOrderID) == [101, 102, 103])
    #expect(orders.map(\.filled) == [2_000, 400, 0])
    #expect(try store.inFlightOrders(symbol: "BTCUSDT").map(\.clientOrderID) == ["j1-3"])
    #expect(
      try store.statusHistory("j1-2", venue: writer.run.venueID) == [
        "pendingCreate", "open", "fill 9", "pendingCancel", "cancelled",
      ])
    let fills = try store.fills(symbol: "BTCUSDT")
    #expect(fills.map(\.tradeID) == [7, 8, 9])
    // 0.1 % of each fill in quote (price·quantity raws at scale 7): 0.29995, 0.89985 and 0.24004 USDT;
    // buys pay in base, valued at the price.
    #expect(fills.map(\.feeQuote) == [2_999_500, 8_998_500, 2_400_400])

    var p = Portfolio(base: unit, quote: 10_000 * unit, fees: fees, priceScale: 2, quantityScale: 5)
    p.fill(side: .buy, price: 5_999_000, quantity: 500, taker: false)
    p.fill(side: .buy, price: 5_999_000, quantity: 1_500, taker: false)
    p.fill(side: .sell, price: 6_001_000, quantity: 400, taker: false)
    let h = try #require(try RunHistory.load(store).first)
    #expect(h.fills == 3 && h.bought == 2_000 && h.sold == 400 && h.inFlight == 1 && h.orders == 3)
    #expect(h.endBase == p.base && h.endQuote == p.quote && h.realized == p.realized)
    #expect(h.fees == p.feesInQuote && h.unrealized == p.unrealized(mark: 6_001_000))
    #expect(h.report.contains("3 fills") && h.report.contains("bought 0.02000 BTC, sold 0.00400 BTC"))
  }

  /// A fill the venue reports as taking liquidity pays the taker's rate in the history, a maker
  /// fill the maker's (the backtest's and paper's fills and the account stream's `m` say which).
  @Test func takerFillsPayTheTakerFee() throws {
    let path = temporaryPath("taker.sqlite")
    var info = run(prefix: "tk-")
    info.fees = FeeSchema(makerRate: 100_000, takerRate: 400_000)  // 0.1 % and 0.4 %
    let writer = try JournalWriter(path: path, run: info)
    let (host, tracker) = journaledHost(writer, prefix: "tk-")
    host.perform(referencePrice: 6_000_000, now: 10) {
      $0.place(PlaceIntent(tag: 1, side: .sell, price: 6_000_000, quantity: 1_000))
    }
    for x in [
      ExecEvent(kind: .accepted, tag: 1, venueOrderID: 5),
      ExecEvent(
        kind: .filled, tag: 1, venueOrderID: 5, tradeID: 1, price: 6_000_000, quantity: 400, taker: true),
      ExecEvent(kind: .filled, tag: 1, venueOrderID: 5, tradeID: 2, price: 6_000_000, quantity: 600),
    ] {
      tracker.apply(x, to: host.clientOrderID(tag: x.tag), now: 20)
      host.drainTracker(referencePrice: 6_000_000, now: 20)
    }
    writer.stop()
    let fills = try TradeStore(path: path).fills(symbol: "BTCUSDT")
    // 0.4 % of 240 USDT, then 0.1 % of 360 USDT, in price·quantity raws at scale 7.
    #expect(fills.map(\.feeQuote) == [9_600_000, 3_600_000])
  }

  /// A done order stays done: an event about it that arrives late (a refused cancel, a repeated
  /// acknowledgement) does not make it working again in the history, so a restart never "recovers"
  /// it.
  @Test func aDoneOrderIsNotReopenedByALateEvent() throws {
    let store = try TradeStore(path: temporaryPath("d.sqlite"))
    let r = try store.addRun(run(prefix: "d-"))
    let (id, v) = (r.id, r.venueID)
    try store.add(
      StoredOrder(
        clientOrderID: "d-1", runID: id, symbol: "BTCUSDT", side: .buy, price: 1, quantity: 10,
        venueOrderID: 0,
        state: .pendingCreate, filled: 0, createdNs: 1, updatedNs: 1))
    try store.setState("d-1", .open, venue: v, venueOrderID: 55, atNs: 2)
    try store.setState("d-1", .cancelled, venue: v, atNs: 3)
    try store.setState("d-1", .open, venue: v, atNs: 4)
    try store.setState("d-1", .pendingCancel, venue: v, atNs: 5)
    #expect(try store.order("d-1", venue: v)?.state == .cancelled)
    #expect(try store.order("d-1", venue: v)?.venueOrderID == 55)
    #expect(try store.inFlightOrders(symbol: "BTCUSDT").isEmpty)
    #expect(try store.statusHistory("d-1", venue: v) == ["pendingCreate", "open", "cancelled"])
  }

  /// The journal is written by the side thread, so the history's file is readable by another
  /// connection while it is being written (WAL), and a second run is kept apart from the first.
  @Test func runsAreKeptApartAndTheFileIsReadableWhileWritten() throws {
    let path = temporaryPath("r.sqlite")
    let w1 = try JournalWriter(path: path, run: run(prefix: "a-"))
    w1.start()
    w1.journal.post(JournalRecord(kind: .placed, tag: 1, side: .buy, price: 5, quantity: 100, timeNs: 1))
    w1.stop()
    let w2 = try JournalWriter(path: path, run: run(prefix: "b-"))
    w2.start()
    w2.journal.post(JournalRecord(kind: .placed, tag: 1, side: .sell, price: 6, quantity: 100, timeNs: 2))
    let reader = try TradeStore(path: path)
    var seen = 0
    for _ in 0..<200 where seen < 2 {
      seen = try reader.orders(symbol: "BTCUSDT").count
      usleep(5_000)
    }
    #expect(seen == 2)
    w2.stop()
    #expect(try reader.runs().map(\.prefix) == ["a-", "b-"])
    #expect(try reader.orders(run: w2.run.id).map(\.clientOrderID) == ["b-1"])
    var mode = ""
    try reader.db.prepare("PRAGMA journal_mode").query { mode = $0.text(0) }
    #expect(mode == "wal")
  }
}
