import Engine
import FastBook

/// One run of a strategy, as the history keeps it: what it traded, at which scales and fees,
/// with which client-order-id prefix, from which balances (asset units of 10⁻¹⁸).
public struct RunInfo: Sendable, Equatable {
  public var id: Int64 = 0
  /// Wall clock, ns since 1970.
  public var startedAtNs: Int64
  /// "live", "paper" or "demo".
  public var mode: String
  public var venue: String
  public var symbol: String
  public var baseAsset: String
  public var quoteAsset: String
  public var priceScale: Int
  public var quantityScale: Int
  public var fees: FeeSchema
  public var prefix: String
  public var startBase: Int128
  public var startQuote: Int128

  public init(
    startedAtNs: Int64, mode: String, venue: String, symbol: String, baseAsset: String, quoteAsset: String,
    priceScale: Int, quantityScale: Int, fees: FeeSchema, prefix: String, startBase: Int128,
    startQuote: Int128
  ) {
    self.startedAtNs = startedAtNs
    self.mode = mode
    self.venue = venue
    self.symbol = symbol
    self.baseAsset = baseAsset
    self.quoteAsset = quoteAsset
    self.priceScale = priceScale
    self.quantityScale = quantityScale
    self.fees = fees
    self.prefix = prefix
    self.startBase = startBase
    self.startQuote = startQuote
  }
}

/// An order as the history keeps it. `state` is an `OrderState` raw value; `venueOrderID` 0 is
/// "not known".
public struct StoredOrder: Sendable, Equatable {
  public var clientOrderID: String
  public var runID: Int64
  public var symbol: String
  public var side: TradeSide
  public var price: Int64
  public var quantity: Int64
  public var venueOrderID: Int64
  public var state: OrderState
  public var filled: Int64
  public var createdNs: Int64
  public var updatedNs: Int64

  public init(
    clientOrderID: String, runID: Int64, symbol: String, side: TradeSide, price: Int64, quantity: Int64,
    venueOrderID: Int64, state: OrderState, filled: Int64, createdNs: Int64, updatedNs: Int64
  ) {
    self.clientOrderID = clientOrderID
    self.runID = runID
    self.symbol = symbol
    self.side = side
    self.price = price
    self.quantity = quantity
    self.venueOrderID = venueOrderID
    self.state = state
    self.filled = filled
    self.createdNs = createdNs
    self.updatedNs = updatedNs
  }
}

/// A fill as the history keeps it; `feeQuote` is the fee in quote, in price·quantity raws.
public struct StoredFill: Sendable, Equatable {
  public var symbol: String
  public var tradeID: Int64
  public var clientOrderID: String
  public var runID: Int64
  public var side: TradeSide
  public var price: Int64
  public var quantity: Int64
  public var feeQuote: Int64
  public var atNs: Int64
  /// "stream" (seen while trading) or "recovery" (found at a restart).
  public var source: String

  public init(
    symbol: String, tradeID: Int64, clientOrderID: String, runID: Int64, side: TradeSide, price: Int64,
    quantity: Int64, feeQuote: Int64, atNs: Int64, source: String
  ) {
    self.symbol = symbol
    self.tradeID = tradeID
    self.clientOrderID = clientOrderID
    self.runID = runID
    self.side = side
    self.price = price
    self.quantity = quantity
    self.feeQuote = feeQuote
    self.atNs = atNs
    self.source = source
  }
}

/// The trade history in SQLite (WAL): runs, orders (their latest state — the tracker's in-flight
/// state is the orders not done), every status change, and fills. The journal writer keeps it
/// from the side thread while trading; a restart reads the in-flight orders back from it.
public final class TradeStore {
  public let db: SQLiteDatabase
  let insertOrder: SQLiteDatabase.Statement
  let updateState: SQLiteDatabase.Statement
  let insertStatus: SQLiteDatabase.Statement
  let insertFill: SQLiteDatabase.Statement
  let updateFilled: SQLiteDatabase.Statement

  /// In-flight: the states of orders not known to be done.
  public static let inFlightStates: [OrderState] = [.pendingCreate, .open, .partiallyFilled, .pendingCancel]

  public init(path: String) throws {
    db = try SQLiteDatabase(path: path)
    try db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    try db.exec(
      """
      CREATE TABLE IF NOT EXISTS runs(
        id INTEGER PRIMARY KEY, started_ns INTEGER NOT NULL, mode TEXT NOT NULL, venue TEXT NOT NULL,
        symbol TEXT NOT NULL, base_asset TEXT NOT NULL, quote_asset TEXT NOT NULL,
        price_scale INTEGER NOT NULL, quantity_scale INTEGER NOT NULL,
        maker_rate INTEGER NOT NULL, taker_rate INTEGER NOT NULL, prefix TEXT NOT NULL,
        start_base TEXT NOT NULL, start_quote TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS orders(
        client_order_id TEXT PRIMARY KEY, run_id INTEGER NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL,
        price INTEGER NOT NULL, quantity INTEGER NOT NULL, venue_order_id INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL, filled INTEGER NOT NULL DEFAULT 0,
        created_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL);
      CREATE INDEX IF NOT EXISTS orders_state ON orders(symbol, state);
      CREATE TABLE IF NOT EXISTS order_status(
        id INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL, state TEXT NOT NULL, at_ns INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS fills(
        symbol TEXT NOT NULL, trade_id INTEGER NOT NULL, client_order_id TEXT NOT NULL,
        run_id INTEGER NOT NULL, side TEXT NOT NULL, price INTEGER NOT NULL, quantity INTEGER NOT NULL,
        fee_quote INTEGER NOT NULL, at_ns INTEGER NOT NULL, source TEXT NOT NULL,
        PRIMARY KEY(symbol, trade_id));
      """)
    insertOrder = try db.prepare(
      """
      INSERT INTO orders(client_order_id, run_id, symbol, side, price, quantity, venue_order_id, state, filled,
        created_ns, updated_ns) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
      ON CONFLICT(client_order_id) DO NOTHING
      """)
    // A terminal state is never replaced by a working one (a late event of a done order).
    updateState = try db.prepare(
      """
      UPDATE orders SET state = ?2, updated_ns = ?3,
        venue_order_id = CASE WHEN ?4 != 0 THEN ?4 ELSE venue_order_id END
      WHERE client_order_id = ?1 AND (state IN ('pendingCreate', 'open', 'partiallyFilled', 'pendingCancel')
        OR ?2 IN ('filled', 'cancelled', 'failed', 'lost'))
      """)
    insertStatus = try db.prepare(
      "INSERT INTO order_status(client_order_id, state, at_ns) VALUES(?1, ?2, ?3)")
    insertFill = try db.prepare(
      """
      INSERT INTO fills(symbol, trade_id, client_order_id, run_id, side, price, quantity, fee_quote, at_ns, source)
      VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(symbol, trade_id) DO NOTHING
      """)
    updateFilled = try db.prepare(
      """
      UPDATE orders SET filled = max(filled, ?2), updated_ns = ?3,
        state = CASE WHEN state IN ('pendingCreate', 'open') AND ?2 < quantity THEN 'partiallyFilled'
                     WHEN ?2 >= quantity THEN 'filled' ELSE state END
      WHERE client_order_id = ?1
      """)
  }

  public func begin() throws { try db.exec("BEGIN") }
  public func commit() throws { try db.exec("COMMIT") }

  /// Records a new run; returns its id.
  @discardableResult
  public func addRun(_ r: RunInfo) throws -> Int64 {
    try db.prepare(
      """
      INSERT INTO runs(started_ns, mode, venue, symbol, base_asset, quote_asset, price_scale, quantity_scale,
        maker_rate, taker_rate, prefix, start_base, start_quote)
      VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
      """
    ).run([
      .int(r.startedAtNs), .text(r.mode), .text(r.venue), .text(r.symbol), .text(r.baseAsset),
      .text(r.quoteAsset), .int(Int64(r.priceScale)), .int(Int64(r.quantityScale)), .int(r.fees.makerRate),
      .int(r.fees.takerRate), .text(r.prefix), .text(String(r.startBase)), .text(String(r.startQuote)),
    ])
    return db.lastInsertRowID
  }

  public func runs() throws -> [RunInfo] {
    var out: [RunInfo] = []
    try db.prepare(
      """
      SELECT id, started_ns, mode, venue, symbol, base_asset, quote_asset, price_scale, quantity_scale,
        maker_rate, taker_rate, prefix, start_base, start_quote FROM runs ORDER BY id
      """
    ).query { r in
      var info = RunInfo(
        startedAtNs: r.int(1), mode: r.text(2), venue: r.text(3), symbol: r.text(4), baseAsset: r.text(5),
        quoteAsset: r.text(6), priceScale: Int(r.int(7)), quantityScale: Int(r.int(8)),
        fees: FeeSchema(makerRate: r.int(9), takerRate: r.int(10)), prefix: r.text(11),
        startBase: Int128(r.text(12)) ?? 0, startQuote: Int128(r.text(13)) ?? 0)
      info.id = r.int(0)
      out.append(info)
    }
    return out
  }

  /// Adds an order (a placement, or one a restart found at the venue); an id already kept is left.
  public func add(_ o: StoredOrder) throws {
    try insertOrder.run([
      .text(o.clientOrderID), .int(o.runID), .text(o.symbol), .text(o.side == .buy ? "BUY" : "SELL"),
      .int(o.price), .int(o.quantity), .int(o.venueOrderID), .text(o.state.rawValue), .int(o.filled),
      .int(o.createdNs), .int(o.updatedNs),
    ])
    try insertStatus.run([.text(o.clientOrderID), .text(o.state.rawValue), .int(o.createdNs)])
  }

  /// A new state (and the venue id when one is given); a done order keeps its final state.
  public func setState(_ id: String, _ state: OrderState, venueOrderID: Int64 = 0, atNs: Int64) throws {
    try updateState.run([.text(id), .text(state.rawValue), .int(atNs), .int(venueOrderID)])
    if db.changes > 0 { try insertStatus.run([.text(id), .text(state.rawValue), .int(atNs)]) }
  }

  /// Adds a fill once (by symbol and trade id) and raises its order's filled quantity to
  /// `orderFilled` (nil: the sum of the order's fills). Returns false for a fill already kept.
  @discardableResult
  public func add(_ f: StoredFill, orderFilled: Int64? = nil) throws -> Bool {
    try insertFill.run([
      .text(f.symbol), .int(f.tradeID), .text(f.clientOrderID), .int(f.runID),
      .text(f.side == .buy ? "BUY" : "SELL"),
      .int(f.price), .int(f.quantity), .int(f.feeQuote), .int(f.atNs), .text(f.source),
    ])
    guard db.changes > 0 else { return false }
    var total = orderFilled ?? 0
    if orderFilled == nil {
      try db.prepare("SELECT coalesce(sum(quantity), 0) FROM fills WHERE client_order_id = ?1").query([
        .text(f.clientOrderID)
      ]) { total = $0.int(0) }
    }
    try updateFilled.run([.text(f.clientOrderID), .int(total), .int(f.atNs)])
    if db.changes > 0 {
      try insertStatus.run([.text(f.clientOrderID), .text("fill \(f.tradeID)"), .int(f.atNs)])
    }
    return true
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

  /// Orders of `symbol` not known to be done: the tracker's in-flight state at the last write.
  public func inFlightOrders(symbol: String) throws -> [StoredOrder] {
    try orders(
      where: "symbol = ?1 AND state IN ('pendingCreate', 'open', 'partiallyFilled', 'pendingCancel')",
      [.text(symbol)])
  }

  public func orders(symbol: String) throws -> [StoredOrder] {
    try orders(where: "symbol = ?1", [.text(symbol)])
  }
  public func orders(run: Int64) throws -> [StoredOrder] { try orders(where: "run_id = ?1", [.int(run)]) }

  public func order(_ id: String) throws -> StoredOrder? {
    try orders(where: "client_order_id = ?1", [.text(id)]).first
  }

  func fills(where clause: String, _ values: [SQLiteDatabase.Value]) throws -> [StoredFill] {
    var out: [StoredFill] = []
    try db.prepare(
      """
      SELECT symbol, trade_id, client_order_id, run_id, side, price, quantity, fee_quote, at_ns, source
      FROM fills WHERE \(clause) ORDER BY at_ns, trade_id
      """
    ).query(values) { r in
      out.append(
        StoredFill(
          symbol: r.text(0), tradeID: r.int(1), clientOrderID: r.text(2), runID: r.int(3),
          side: r.text(4) == "BUY" ? .buy : .sell, price: r.int(5), quantity: r.int(6), feeQuote: r.int(7),
          atNs: r.int(8), source: r.text(9)))
    }
    return out
  }

  public func fills(run: Int64) throws -> [StoredFill] { try fills(where: "run_id = ?1", [.int(run)]) }
  public func fills(symbol: String) throws -> [StoredFill] {
    try fills(where: "symbol = ?1", [.text(symbol)])
  }

  /// The highest trade id kept for `symbol` (nil: none).
  public func lastTradeID(symbol: String) throws -> Int64? {
    var v: Int64?
    try db.prepare("SELECT max(trade_id) FROM fills WHERE symbol = ?1").query([.text(symbol)]) {
      v = $0.isNull(0) ? nil : $0.int(0)
    }
    return v
  }

  /// The status changes of one order, oldest first.
  public func statusHistory(_ id: String) throws -> [String] {
    var out: [String] = []
    try db.prepare("SELECT state FROM order_status WHERE client_order_id = ?1 ORDER BY id").query([.text(id)])
    {
      out.append($0.text(0))
    }
    return out
  }
}
