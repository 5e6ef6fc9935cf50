import Engine
import FastBook
import Foundation
import Persistence
import Synchronization
import Testing

/// A fill is one trade of one venue: the history keeps it by (venue, symbol, trade id). The same
/// trade id on two venues is two fills; on one venue it is one, and a second fill under that id
/// that is not the same trade is reported, never silently dropped.
@Suite struct FillKeyTests {
  let fees = FeeSchema(makerRate: 100_000, takerRate: 100_000)
  let unit: Int128 = 1_000_000_000_000_000_000

  func run(_ venue: VenueIdentity, prefix: String, mode: String = "live") -> RunInfo {
    RunInfo(
      startedAtNs: 1, mode: mode, venue: venue, symbol: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT",
      priceScale: 2, quantityScale: 5, fees: fees, prefix: prefix, startBase: unit, startQuote: 10_000 * unit)
  }

  func fill(_ run: RunInfo, tag: Int, trade: Int64, side: TradeSide = .buy, qty: Int64 = 100) -> StoredFill {
    StoredFill(
      symbol: "BTCUSDT", tradeID: trade, clientOrderID: run.prefix + String(tag), runID: run.id, side: side,
      price: 6_000_000, quantity: qty, feeQuote: 0, atNs: 10, source: "stream")
  }

  func order(_ run: RunInfo, tag: Int) -> StoredOrder {
    StoredOrder(
      clientOrderID: run.prefix + String(tag), runID: run.id, symbol: "BTCUSDT", side: .buy, price: 6_000_000,
      quantity: 1_000, venueOrderID: 0, state: .pendingCreate, filled: 0, createdNs: 1, updatedNs: 1)
  }

  @Test func theSameTradeIDOnTwoVenuesIsTwoFillsAndOnOneVenueOne() throws {
    let store = try TradeStore(path: temporaryPath("k.sqlite"))
    let mainnet = try store.addRun(
      run(VenueIdentity(kind: "binance-spot", environment: "api.binance.com:443", account: "7"), prefix: "a-")
    )
    let testnet = try store.addRun(
      run(
        VenueIdentity(kind: "binance-spot", environment: "testnet.binance.vision:443", account: "7"),
        prefix: "b-"))
    #expect(mainnet.venueID != testnet.venueID)
    for r in [mainnet, testnet] { try store.add(order(r, tag: 1)) }
    #expect(try store.add(fill(mainnet, tag: 1, trade: 42)) == .added)
    #expect(try store.add(fill(testnet, tag: 1, trade: 42)) == .added)
    #expect(try store.fills(symbol: "BTCUSDT").count == 2)
    #expect(try store.fills(venue: mainnet.venueID, symbol: "BTCUSDT").map(\.runID) == [mainnet.id])
    #expect(try store.fills(venue: testnet.venueID, symbol: "BTCUSDT").map(\.runID) == [testnet.id])

    // One venue, the same trade twice (the stream, then a restart reading it from the venue with
    // the venue's fee and time): one fill.
    var again = fill(mainnet, tag: 1, trade: 42)
    again.source = "recovery"
    again.feeQuote = 6_000
    again.atNs = 99
    #expect(try store.add(again) == .duplicate)
    #expect(try store.fills(venue: mainnet.venueID, symbol: "BTCUSDT").count == 1)
    #expect(try store.order("a-1", venue: mainnet.venueID)?.filled == 100)

    // A second run on the same venue (same kind, environment, account) shares its ids.
    let mainnet2 = try store.addRun(
      run(VenueIdentity(kind: "binance-spot", environment: "api.binance.com:443", account: "7"), prefix: "c-")
    )
    #expect(mainnet2.venueID == mainnet.venueID)
    try store.add(order(mainnet2, tag: 1))
    // …so its fill under trade id 42 for another order is a conflict: reported and kept apart.
    let other = fill(mainnet2, tag: 1, trade: 42, qty: 250)
    #expect(try store.add(other, nowNs: 5) == .conflict(kept: fill(mainnet, tag: 1, trade: 42)))
    #expect(try store.fills(venue: mainnet.venueID, symbol: "BTCUSDT").count == 1)
    #expect(try store.order("c-1", venue: mainnet.venueID)?.filled == 0)
    let conflicts = try store.conflicts(run: mainnet2.id)
    #expect(conflicts.map(\.fill) == [other] && conflicts.map(\.kept.clientOrderID) == ["a-1"])
    let h = try RunHistory.load(store, run: mainnet2.id)
    #expect(h.first?.fills == 0 && h.first?.conflicts == 1)
    #expect(h.first?.report.contains("CONFLICTS: 1 fills were not kept") == true)
    #expect(try RunHistory.load(store, run: mainnet.id).first?.conflicts == 0)
  }

  /// A self-trade is one trade id with both sides ours: two fills, not a conflict. And the last
  /// trade id a restart searches from is its own venue's.
  @Test func aSelfTradeIsTwoFillsAndTheLastTradeIDIsPerVenue() throws {
    let store = try TradeStore(path: temporaryPath("s.sqlite"))
    let a = try store.addRun(
      run(VenueIdentity(kind: "binance-spot", environment: "h:1", account: "1"), prefix: "a-"))
    let b = try store.addRun(
      run(VenueIdentity(kind: "binance-spot", environment: "h:1", account: "2"), prefix: "b-"))
    for t in [1, 2] { try store.add(order(a, tag: t)) }
    try store.add(order(b, tag: 1))
    #expect(try store.add(fill(a, tag: 1, trade: 77, side: .buy)) == .added)
    #expect(try store.add(fill(a, tag: 2, trade: 77, side: .sell)) == .added)
    #expect(try store.fills(run: a.id).count == 2 && (try store.conflicts(run: a.id)).isEmpty)
    #expect(try store.add(fill(b, tag: 1, trade: 1_000_000)) == .added)
    #expect(try store.lastTradeID(venues: [a.venueID], symbol: "BTCUSDT") == 77)
    #expect(try store.lastTradeID(venues: [a.venueID, b.venueID], symbol: "BTCUSDT") == 1_000_000)
    #expect(try store.lastTradeID(venues: [], symbol: "BTCUSDT") == nil)
  }

  /// Through the side thread, as `run` writes: a conflicting fill is counted and told, and the
  /// fills already kept are untouched.
  @Test func theJournalWriterCountsAndTellsAConflict() throws {
    let path = temporaryPath("w.sqlite")
    let venue = VenueIdentity(kind: "binance-spot", environment: "h:1", account: "3")
    let w1 = try JournalWriter(path: path, run: run(venue, prefix: "x-"))
    w1.start()
    w1.journal.post(JournalRecord(kind: .placed, tag: 1, side: .buy, price: 5, quantity: 100, timeNs: 1))
    w1.journal.post(
      JournalRecord(
        kind: .filled, tag: 1, side: .buy, price: 5, quantity: 100, tradeID: 9, filled: 100, timeNs: 2))
    w1.stop()
    #expect(w1.fillsWritten == 1 && w1.conflicts == 0)

    let told = Mutex<[String]>([])
    let w2 = try JournalWriter(path: path, run: run(venue, prefix: "y-"))
    w2.problem = { line in told.withLock { $0.append(line) } }
    w2.start()
    w2.journal.post(JournalRecord(kind: .placed, tag: 1, side: .buy, price: 6, quantity: 100, timeNs: 3))
    w2.journal.post(
      JournalRecord(
        kind: .filled, tag: 1, side: .buy, price: 6, quantity: 100, tradeID: 9, filled: 100, timeNs: 4))
    w2.stop()
    #expect(w2.fillsWritten == 0 && w2.conflicts == 1 && w2.writeErrors == 0)
    let lines = told.withLock { $0 }
    #expect(lines.count == 1 && lines[0].contains("CONFLICT") && lines[0].contains("trade 9"), "\(lines)")
    let store = try TradeStore(path: path)
    #expect(try store.fills(symbol: "BTCUSDT").map(\.clientOrderID) == ["x-1"])
    #expect(try store.conflicts(run: w2.run.id).map(\.fill.clientOrderID) == ["y-1"])
  }

  /// Each demo (and paper) run's venue is a new one: the same trade ids in two of them are two
  /// fills each time.
  @Test func venuesOfOneProcessAreNewEachRun() throws {
    let store = try TradeStore(path: temporaryPath("e.sqlite"))
    var runs: [RunInfo] = []
    for i in 0..<3 {
      let v = VenueIdentity.ephemeral(kind: "demo", environment: "127.0.0.1:4000", nowNs: 1)
      #expect(v.ephemeral)
      runs.append(try store.addRun(run(v, prefix: "d\(i)-", mode: "demo")))
      try store.add(order(runs[i], tag: 1))
      #expect(try store.add(fill(runs[i], tag: 1, trade: 1)) == .added)
    }
    #expect(Set(runs.map(\.venueID)).count == 3)
    #expect(try RunHistory.load(store).map(\.fills) == [1, 1, 1])
  }
}

/// Histories written before venues were recorded (schema 1) are migrated when opened; a newer
/// schema or a foreign file is refused with a message naming the fix.
@Suite struct HistoryMigrationTests {
  /// Schema 1 as needletail wrote it, with two demo runs (each its own venue, so the second's
  /// trade id 1 was dropped: what schema 1 lost is not invented) and a live run.
  static let version1 = """
    CREATE TABLE runs(
      id INTEGER PRIMARY KEY, started_ns INTEGER NOT NULL, mode TEXT NOT NULL, venue TEXT NOT NULL,
      symbol TEXT NOT NULL, base_asset TEXT NOT NULL, quote_asset TEXT NOT NULL,
      price_scale INTEGER NOT NULL, quantity_scale INTEGER NOT NULL,
      maker_rate INTEGER NOT NULL, taker_rate INTEGER NOT NULL, prefix TEXT NOT NULL,
      start_base TEXT NOT NULL, start_quote TEXT NOT NULL);
    CREATE TABLE orders(
      client_order_id TEXT PRIMARY KEY, run_id INTEGER NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
      price INTEGER NOT NULL, quantity INTEGER NOT NULL, venue_order_id INTEGER NOT NULL DEFAULT 0,
      state TEXT NOT NULL, filled INTEGER NOT NULL DEFAULT 0,
      created_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL);
    CREATE INDEX orders_state ON orders(symbol, state);
    CREATE TABLE order_status(
      id INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL, state TEXT NOT NULL, at_ns INTEGER NOT NULL);
    CREATE TABLE fills(
      symbol TEXT NOT NULL, trade_id INTEGER NOT NULL, client_order_id TEXT NOT NULL,
      run_id INTEGER NOT NULL, side TEXT NOT NULL, price INTEGER NOT NULL, quantity INTEGER NOT NULL,
      fee_quote INTEGER NOT NULL, at_ns INTEGER NOT NULL, source TEXT NOT NULL,
      PRIMARY KEY(symbol, trade_id));
    INSERT INTO runs VALUES(1, 10, 'demo', 'embedded:4001', 'BTCUSDT', 'BTC', 'USDT', 2, 5, 100000, 100000, 'ntaa-', '1', '2');
    INSERT INTO runs VALUES(2, 20, 'demo', 'embedded:4002', 'BTCUSDT', 'BTC', 'USDT', 2, 5, 100000, 100000, 'ntbb-', '1', '2');
    INSERT INTO runs VALUES(3, 30, 'live', '127.0.0.1:9443', 'BTCUSDT', 'BTC', 'USDT', 2, 5, 100000, 100000, 'ntcc-', '1', '2');
    INSERT INTO orders VALUES('ntaa-1', 1, 'BTCUSDT', 'BUY', 600, 10, 5, 'filled', 10, 11, 12);
    INSERT INTO orders VALUES('ntbb-1', 2, 'BTCUSDT', 'SELL', 601, 10, 5, 'filled', 10, 21, 22);
    INSERT INTO orders VALUES('ntcc-1', 3, 'BTCUSDT', 'BUY', 599, 10, 77, 'open', 0, 31, 31);
    INSERT INTO order_status(client_order_id, state, at_ns) VALUES('ntaa-1', 'pendingCreate', 11);
    INSERT INTO order_status(client_order_id, state, at_ns) VALUES('ntaa-1', 'fill 1', 12);
    INSERT INTO order_status(client_order_id, state, at_ns) VALUES('ntcc-1', 'pendingCreate', 31);
    INSERT INTO fills VALUES('BTCUSDT', 1, 'ntaa-1', 1, 'BUY', 600, 10, 6, 12, 'stream');
    """

  func sqlite(_ path: String, _ sql: String) throws {
    let db = try SQLiteDatabase(path: path)
    try db.exec(sql)
  }

  @Test func aVersion1HistoryIsMigratedOnceAndKeepsEverything() throws {
    let path = temporaryPath("v1.sqlite")
    try sqlite(path, Self.version1)
    let store = try TradeStore(path: path)
    let note = try #require(store.migration)
    #expect(note.contains("3 runs on 3 venues"), "\(note)")
    let runs = try store.runs()
    #expect(runs.map(\.prefix) == ["ntaa-", "ntbb-", "ntcc-"])
    #expect(runs.map(\.venue.kind) == ["demo", "demo", "binance-spot"])
    #expect(runs[0].venue.ephemeral && runs[1].venue.ephemeral && !runs[2].venue.ephemeral)
    #expect(runs[0].venue.environment == "127.0.0.1:4001" && runs[2].venue.environment == "127.0.0.1:9443")
    #expect(Set(runs.map(\.venueID)).count == 3)
    #expect(try store.orders(symbol: "BTCUSDT").map(\.clientOrderID) == ["ntaa-1", "ntbb-1", "ntcc-1"])
    #expect(try store.inFlightOrders(venue: runs[2].venueID, symbol: "BTCUSDT").map(\.venueOrderID) == [77])
    #expect(try store.statusHistory("ntaa-1", venue: runs[0].venueID) == ["pendingCreate", "fill 1"])
    #expect(try store.fills(run: 1).map(\.tradeID) == [1] && (try store.fills(run: 2)).isEmpty)
    // Now the second demo's trade 1 is its own fill.
    #expect(
      try store.add(
        StoredFill(
          symbol: "BTCUSDT", tradeID: 1, clientOrderID: "ntbb-1", runID: 2, side: .sell, price: 601,
          quantity: 10,
          feeQuote: 6, atNs: 22, source: "recovery")) == .added)
    #expect(try RunHistory.load(store).map(\.fills) == [1, 1, 0])
    var version: Int64 = 0
    try store.db.prepare("PRAGMA user_version").query { version = $0.int(0) }
    #expect(version == TradeStore.schemaVersion)
    // Opened again: nothing more to do.
    #expect(try TradeStore(path: path).migration == nil)
  }

  /// Schema 2 (no order round trips) gains the table once, and what it held stays.
  @Test func aVersion2HistoryGainsRoundTrips() throws {
    let path = temporaryPath("v2.sqlite")
    do {
      let store = try TradeStore(path: path)
      _ = try store.addRun(
        RunInfo(
          startedAtNs: 1, mode: "demo", venue: .ephemeral(kind: "demo", environment: "x", nowNs: 1),
          symbol: "BTCUSDT",
          baseAsset: "BTC", quoteAsset: "USDT", priceScale: 2, quantityScale: 5,
          fees: FeeSchema(makerRate: 0, takerRate: 0), prefix: "nt-", startBase: 0, startQuote: 0))
    }
    try sqlite(path, "DROP TABLE order_latency; PRAGMA user_version = 2")
    let store = try TradeStore(path: path)
    #expect(store.migration?.contains("schema 2 → 3") == true, "\(store.migration ?? "nothing")")
    #expect(try store.runs().count == 1)
    let t = OrderRoundTrip(requestNs: 10, exchangeNs: 12, responseNs: 15)
    try store.addRoundTrip("nt-1", run: 1, t)
    try store.addRoundTrip("nt-1", run: 1, OrderRoundTrip(requestNs: 99, exchangeNs: 99, responseNs: 99))
    #expect(try store.roundTrips() == [t] && (try store.roundTrips(run: 2)).isEmpty)
    #expect(try TradeStore(path: path).migration == nil)
  }

  @Test func aNewerOrForeignFileIsRefused() throws {
    let newer = temporaryPath("v9.sqlite")
    _ = try TradeStore(path: newer)
    try sqlite(newer, "PRAGMA user_version = 9")
    #expect(throws: TradeStoreError.newerSchema(path: newer, version: 9)) { try TradeStore(path: newer) }
    #expect(
      TradeStoreError.newerSchema(path: newer, version: 9).description.contains(
        "use the needletail that wrote it"))

    let foreign = temporaryPath("other.sqlite")
    try sqlite(foreign, "CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT)")
    #expect(throws: TradeStoreError.notAHistory(path: foreign)) { try TradeStore(path: foreign) }
    // Refused without touching it.
    var tables: [String] = []
    try SQLiteDatabase(path: foreign).prepare("SELECT name FROM sqlite_master WHERE type = 'table'").query {
      tables.append($0.text(0))
    }
    #expect(tables == ["notes"])
    var mode = ""
    try SQLiteDatabase(path: foreign).prepare("PRAGMA journal_mode").query { mode = $0.text(0) }
    #expect(mode == "delete", "the refused file was switched to \(mode)")
  }
}
