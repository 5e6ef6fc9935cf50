import Engine
import FastBook

/// The trade history in SQLite (WAL): runs, orders (their latest state — the tracker's in-flight
/// state is the orders not done), every status change, and fills. The journal writer keeps it
/// from the side thread while trading; a restart reads the in-flight orders back from it.
public final class TradeStore {
  public let db: SQLiteDatabase
  let insertOrder: SQLiteDatabase.Statement
  let updateState: SQLiteDatabase.Statement
  let insertStatus: SQLiteDatabase.Statement
  let insertFill: SQLiteDatabase.Statement
  let keptFill: SQLiteDatabase.Statement
  let insertConflict: SQLiteDatabase.Statement
  let updateFilled: SQLiteDatabase.Statement
  let insertLatency: SQLiteDatabase.Statement
  /// What opening the file did to an older history (nil: nothing), for the operator.
  public let migration: String?

  /// In-flight: the states of orders not known to be done.
  public static let inFlightStates: [OrderState] = [.pendingCreate, .open, .partiallyFilled, .pendingCancel]

  /// Opens the history at `path`, creating it or migrating an older one (see
  /// `TradeStore+Schema.swift`); a history of a newer schema, or a file that is not a history,
  /// is refused with a `TradeStoreError`.
  public init(path: String) throws {
    db = try SQLiteDatabase(path: path)
    // The schema first: a file that is refused is left as it was (not switched to WAL).
    migration = try Self.prepareSchema(db)
    try db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    insertOrder = try db.prepare(
      """
      INSERT INTO orders(venue_id, client_order_id, run_id, symbol, side, price, quantity, venue_order_id, state,
        filled, created_ns, updated_ns)
      VALUES((SELECT venue_id FROM runs WHERE id = ?2), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
      ON CONFLICT(venue_id, client_order_id) DO NOTHING
      """)
    // A terminal state is never replaced by a working one (a late event of a done order).
    updateState = try db.prepare(
      """
      UPDATE orders SET state = ?2, updated_ns = ?3,
        venue_order_id = CASE WHEN ?4 != 0 THEN ?4 ELSE venue_order_id END
      WHERE venue_id = ?5 AND client_order_id = ?1
        AND (state IN ('pendingCreate', 'open', 'partiallyFilled', 'pendingCancel')
          OR ?2 IN ('filled', 'cancelled', 'failed', 'lost'))
      """)
    insertLatency = try db.prepare(
      """
      INSERT INTO order_latency(venue_id, client_order_id, run_id, request_ns, exchange_ns, response_ns)
      VALUES((SELECT venue_id FROM runs WHERE id = ?2), ?1, ?2, ?3, ?4, ?5)
      ON CONFLICT(venue_id, client_order_id) DO NOTHING
      """)
    insertStatus = try db.prepare(
      "INSERT INTO order_status(venue_id, client_order_id, state, at_ns) VALUES(?4, ?1, ?2, ?3)")
    insertFill = try db.prepare(
      """
      INSERT INTO fills(venue_id, symbol, trade_id, client_order_id, run_id, side, price, quantity, fee_quote,
        at_ns, source)
      VALUES((SELECT venue_id FROM runs WHERE id = ?4), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
      ON CONFLICT(venue_id, symbol, trade_id, side) DO NOTHING
      """)
    keptFill = try db.prepare(
      """
      SELECT \(Self.fillColumns) FROM fills
      WHERE venue_id = (SELECT venue_id FROM runs WHERE id = ?3) AND symbol = ?1 AND trade_id = ?2 AND side = ?4
      """)
    insertConflict = try db.prepare(
      """
      INSERT INTO fill_conflicts(venue_id, symbol, trade_id, client_order_id, run_id, side, price, quantity,
        fee_quote, at_ns, source, found_ns)
      VALUES((SELECT venue_id FROM runs WHERE id = ?4), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
      """)
    updateFilled = try db.prepare(
      """
      UPDATE orders SET filled = max(filled, ?2), updated_ns = ?3,
        state = CASE WHEN state IN ('pendingCreate', 'open') AND ?2 < quantity THEN 'partiallyFilled'
                     WHEN ?2 >= quantity THEN 'filled' ELSE state END
      WHERE venue_id = ?4 AND client_order_id = ?1
      """)
  }

  /// Starts a write transaction, taking the write lock now (a read that precedes the first write
  /// cannot then be overtaken by another connection's commit).
  public func begin() throws { try db.exec("BEGIN IMMEDIATE") }
  public func commit() throws { try db.exec("COMMIT") }

  var runVenues: [Int64: Int64] = [:]
  /// The venue row of run `run` (0 for no such run).
  func venueOf(run: Int64) throws -> Int64 {
    if let v = runVenues[run] { return v }
    var v: Int64 = 0
    try db.prepare("SELECT venue_id FROM runs WHERE id = ?1").query([.int(run)]) { v = $0.int(0) }
    if v != 0 { runVenues[run] = v }
    return v
  }

  /// The venue's row, added when it is new.
  public func venueID(_ v: VenueIdentity, nowNs: Int64) throws -> Int64 {
    try db.prepare(
      """
      INSERT INTO venues(key, kind, environment, account, instance, created_ns) VALUES(?1, ?2, ?3, ?4, ?5, ?6)
      ON CONFLICT(key) DO NOTHING
      """
    ).run([
      .text(v.key), .text(v.kind), .text(v.environment), .text(v.account), .text(v.instance), .int(nowNs),
    ])
    var id: Int64 = 0
    try db.prepare("SELECT id FROM venues WHERE key = ?1").query([.text(v.key)]) { id = $0.int(0) }
    return id
  }

  /// Every venue the history knows, by row.
  public func venues() throws -> [Int64: VenueIdentity] {
    var out: [Int64: VenueIdentity] = [:]
    try db.prepare("SELECT id, kind, environment, account, instance FROM venues").query { r in
      out[r.int(0)] = VenueIdentity(
        kind: r.text(1), environment: r.text(2), account: r.text(3), instance: r.text(4))
    }
    return out
  }

  /// Records a new run (and its venue, when new); returns it with its `id` and `venueID` set.
  @discardableResult
  public func addRun(_ r: RunInfo) throws -> RunInfo {
    var out = r
    out.venueID = try venueID(r.venue, nowNs: r.startedAtNs)
    try db.prepare(
      """
      INSERT INTO runs(started_ns, mode, venue, symbol, base_asset, quote_asset, price_scale, quantity_scale,
        maker_rate, taker_rate, prefix, start_base, start_quote, venue_id)
      VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
      """
    ).run([
      .int(r.startedAtNs), .text(r.mode), .text(r.venue.description), .text(r.symbol), .text(r.baseAsset),
      .text(r.quoteAsset), .int(Int64(r.priceScale)), .int(Int64(r.quantityScale)), .int(r.fees.makerRate),
      .int(r.fees.takerRate), .text(r.prefix), .text(String(r.startBase)), .text(String(r.startQuote)),
      .int(out.venueID),
    ])
    out.id = db.lastInsertRowID
    runVenues[out.id] = out.venueID
    return out
  }

  public func runs() throws -> [RunInfo] {
    var out: [RunInfo] = []
    try db.prepare(
      """
      SELECT r.id, started_ns, mode, v.kind, symbol, base_asset, quote_asset, price_scale, quantity_scale,
        maker_rate, taker_rate, prefix, start_base, start_quote, v.environment, v.account, v.instance, v.id
      FROM runs r JOIN venues v ON v.id = r.venue_id ORDER BY r.id
      """
    ).query { r in
      var info = RunInfo(
        startedAtNs: r.int(1), mode: r.text(2),
        venue: VenueIdentity(
          kind: r.text(3), environment: r.text(14), account: r.text(15), instance: r.text(16)),
        symbol: r.text(4), baseAsset: r.text(5),
        quoteAsset: r.text(6), priceScale: Int(r.int(7)), quantityScale: Int(r.int(8)),
        fees: FeeSchema(makerRate: r.int(9), takerRate: r.int(10)), prefix: r.text(11),
        startBase: Int128(r.text(12)) ?? 0, startQuote: Int128(r.text(13)) ?? 0)
      info.id = r.int(0)
      info.venueID = r.int(17)
      out.append(info)
    }
    return out
  }

  /// Adds an order (a placement, or one a restart found at the venue) on its run's venue; a
  /// client id that venue already has in the history is left as it is.
  public func add(_ o: StoredOrder) throws {
    let venue = try venueOf(run: o.runID)
    guard venue != 0 else { throw TradeStoreError.noSuchRun(o.runID) }
    try insertOrder.run([
      .text(o.clientOrderID), .int(o.runID), .text(o.symbol), .text(o.side == .buy ? "BUY" : "SELL"),
      .int(o.price), .int(o.quantity), .int(o.venueOrderID), .text(o.state.rawValue), .int(o.filled),
      .int(o.createdNs), .int(o.updatedNs),
    ])
    if db.changes > 0 {
      try insertStatus.run([.text(o.clientOrderID), .text(o.state.rawValue), .int(o.createdNs), .int(venue)])
    }
  }

  /// A new state of the order `id` on `venue` (and its venue id when one is given); a done order
  /// keeps its final state.
  /// An order's measured round trip (its first; a repeat is ignored).
  public func addRoundTrip(_ id: String, run: Int64, _ t: OrderRoundTrip) throws {
    try insertLatency.run([.text(id), .int(run), .int(t.requestNs), .int(t.exchangeNs), .int(t.responseNs)])
  }

  /// The round trips kept, in request order (of one run, or of all).
  public func roundTrips(run: Int64? = nil) throws -> [OrderRoundTrip] {
    var out: [OrderRoundTrip] = []
    let where_ = run == nil ? "" : "WHERE run_id = ?1"
    try db.prepare(
      "SELECT request_ns, exchange_ns, response_ns FROM order_latency \(where_) ORDER BY request_ns, client_order_id"
    ).query(run.map { [.int($0)] } ?? []) {
      out.append(OrderRoundTrip(requestNs: $0.int(0), exchangeNs: $0.int(1), responseNs: $0.int(2)))
    }
    return out
  }

  public func setState(
    _ id: String, _ state: OrderState, venue: Int64, venueOrderID: Int64 = 0, atNs: Int64
  ) throws {
    try updateState.run([.text(id), .text(state.rawValue), .int(atNs), .int(venueOrderID), .int(venue)])
    if db.changes > 0 { try insertStatus.run([.text(id), .text(state.rawValue), .int(atNs), .int(venue)]) }
  }

  /// Adds a fill once per (its run's venue, symbol, trade id, side) — a self-trade is one trade id
  /// with both sides ours — and raises its order's filled
  /// quantity to `orderFilled` (nil: the sum of the order's fills). A fill already kept with the
  /// same order, price and quantity is a `.duplicate`; one kept with anything else is a
  /// `.conflict`, recorded in `fill_conflicts` (never silently dropped) and not counted as a fill.
  @discardableResult
  public func add(_ f: StoredFill, orderFilled: Int64? = nil, nowNs: Int64 = 0) throws -> FillWrite {
    let venue = try venueOf(run: f.runID)
    guard venue != 0 else { throw TradeStoreError.noSuchRun(f.runID) }
    let values: [SQLiteDatabase.Value] = [
      .text(f.symbol), .int(f.tradeID), .text(f.clientOrderID), .int(f.runID),
      .text(f.side == .buy ? "BUY" : "SELL"),
      .int(f.price), .int(f.quantity), .int(f.feeQuote), .int(f.atNs), .text(f.source),
    ]
    try insertFill.run(values)
    guard db.changes > 0 else {
      var kept: StoredFill?
      try keptFill.query([
        .text(f.symbol), .int(f.tradeID), .int(f.runID), .text(f.side == .buy ? "BUY" : "SELL"),
      ]) {
        kept = Self.fill($0)
      }
      guard let kept else { throw TradeStoreError.noSuchRun(f.runID) }
      if kept.clientOrderID == f.clientOrderID && kept.side == f.side && kept.price == f.price
        && kept.quantity == f.quantity
      {
        return .duplicate
      }
      try insertConflict.run(values + [.int(nowNs)])
      return .conflict(kept: kept)
    }
    var total = orderFilled ?? 0
    if orderFilled == nil {
      try db.prepare(
        "SELECT coalesce(sum(quantity), 0) FROM fills WHERE venue_id = ?2 AND client_order_id = ?1"
      ).query([.text(f.clientOrderID), .int(venue)]) { total = $0.int(0) }
    }
    try updateFilled.run([.text(f.clientOrderID), .int(total), .int(f.atNs), .int(venue)])
    if db.changes > 0 {
      try insertStatus.run([.text(f.clientOrderID), .text("fill \(f.tradeID)"), .int(f.atNs), .int(venue)])
    }
    return .added
  }

  static let orderColumns =
    "client_order_id, run_id, symbol, side, price, quantity, venue_order_id, state, filled, created_ns, updated_ns"

  func orders(where clause: String, _ values: [SQLiteDatabase.Value]) throws -> [StoredOrder] {
    var out: [StoredOrder] = []
    try db.prepare(
      "SELECT \(Self.orderColumns) FROM orders WHERE \(clause) ORDER BY created_ns, client_order_id"
    )
    .query(values) { r in
      out.append(
        StoredOrder(
          clientOrderID: r.text(0), runID: r.int(1), symbol: r.text(2),
          side: r.text(3) == "BUY" ? .buy : .sell,
          price: r.int(4), quantity: r.int(5), venueOrderID: r.int(6),
          state: OrderState(rawValue: r.text(7)) ?? .lost, filled: r.int(8), createdNs: r.int(9),
          updatedNs: r.int(10)))
    }
    return out
  }

  static let inFlightClause = "state IN ('pendingCreate', 'open', 'partiallyFilled', 'pendingCancel')"

  /// Orders of `symbol` not known to be done, on every venue: the tracker's in-flight state at
  /// the last write.
  public func inFlightOrders(symbol: String) throws -> [StoredOrder] {
    try orders(where: "symbol = ?1 AND \(Self.inFlightClause)", [.text(symbol)])
  }

  /// Orders of `symbol` on `venue` not known to be done.
  public func inFlightOrders(venue: Int64, symbol: String) throws -> [StoredOrder] {
    try orders(
      where: "venue_id = ?2 AND symbol = ?1 AND \(Self.inFlightClause)", [.text(symbol), .int(venue)])
  }

  public func orders(symbol: String) throws -> [StoredOrder] {
    try orders(where: "symbol = ?1", [.text(symbol)])
  }
  public func orders(run: Int64) throws -> [StoredOrder] { try orders(where: "run_id = ?1", [.int(run)]) }

  public func order(_ id: String, venue: Int64) throws -> StoredOrder? {
    try orders(where: "venue_id = ?2 AND client_order_id = ?1", [.text(id), .int(venue)]).first
  }

  static let fillColumnNames = [
    "symbol", "trade_id", "client_order_id", "run_id", "side", "price", "quantity", "fee_quote", "at_ns",
    "source",
  ]
  static let fillColumns = fillColumns("")
  /// The fill columns in `fill(_:from:)`'s order, each after `alias`.
  static func fillColumns(_ alias: String) -> String {
    fillColumnNames.map { alias + $0 }.joined(separator: ", ")
  }

  static func fill(_ r: SQLiteDatabase.Row, from c: Int32 = 0) -> StoredFill {
    StoredFill(
      symbol: r.text(c), tradeID: r.int(c + 1), clientOrderID: r.text(c + 2), runID: r.int(c + 3),
      side: r.text(c + 4) == "BUY" ? .buy : .sell, price: r.int(c + 5), quantity: r.int(c + 6),
      feeQuote: r.int(c + 7), atNs: r.int(c + 8), source: r.text(c + 9))
  }

  func fills(where clause: String, _ values: [SQLiteDatabase.Value]) throws -> [StoredFill] {
    var out: [StoredFill] = []
    try db.prepare("SELECT \(Self.fillColumns) FROM fills WHERE \(clause) ORDER BY at_ns, trade_id")
      .query(values) { out.append(Self.fill($0)) }
    return out
  }

  public func fills(run: Int64) throws -> [StoredFill] { try fills(where: "run_id = ?1", [.int(run)]) }
  /// The fills of `symbol` on every venue.
  public func fills(symbol: String) throws -> [StoredFill] {
    try fills(where: "symbol = ?1", [.text(symbol)])
  }
  public func fills(venue: Int64, symbol: String) throws -> [StoredFill] {
    try fills(where: "venue_id = ?2 AND symbol = ?1", [.text(symbol), .int(venue)])
  }

  /// The fills of run `run` that were not kept because their trade id on that venue was already
  /// kept for something else, with what was kept.
  public func conflicts(run: Int64) throws -> [FillConflict] {
    var out: [FillConflict] = []
    try db.prepare(
      """
      SELECT \(Self.fillColumns("c.")), \(Self.fillColumns("f.")), c.found_ns FROM fill_conflicts c
      JOIN fills f ON f.venue_id = c.venue_id AND f.symbol = c.symbol AND f.trade_id = c.trade_id
        AND f.side = c.side
      WHERE c.run_id = ?1 ORDER BY c.id
      """
    ).query([.int(run)]) { r in
      out.append(FillConflict(fill: Self.fill(r), kept: Self.fill(r, from: 10), foundNs: r.int(20)))
    }
    return out
  }

  /// The highest trade id of `symbol` kept for any of `venues` (nil: none).
  public func lastTradeID(venues: [Int64], symbol: String) throws -> Int64? {
    guard !venues.isEmpty else { return nil }
    var v: Int64?
    try db.prepare(
      "SELECT max(trade_id) FROM fills WHERE symbol = ?1 AND venue_id IN (\(venues.map(String.init).joined(separator: ",")))"
    ).query([.text(symbol)]) {
      v = $0.isNull(0) ? nil : $0.int(0)
    }
    return v
  }

  /// The status changes of one order, oldest first.
  public func statusHistory(_ id: String, venue: Int64) throws -> [String] {
    var out: [String] = []
    try db.prepare(
      "SELECT state FROM order_status WHERE venue_id = ?2 AND client_order_id = ?1 ORDER BY id"
    ).query([.text(id), .int(venue)]) {
      out.append($0.text(0))
    }
    return out
  }
}
