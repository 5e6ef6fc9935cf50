/// Why a history cannot be used as it is.
public enum TradeStoreError: Error, CustomStringConvertible, Equatable {
  /// Written by a newer needletail: this one would misread it.
  case newerSchema(path: String, version: Int64)
  /// The file holds tables, but not a needletail history's.
  case notAHistory(path: String)
  /// An order or fill names a run the history does not have.
  case noSuchRun(Int64)

  public var description: String {
    switch self {
    case .newerSchema(let path, let v):
      return
        "\(path): the trade history's schema is \(v), newer than this needletail's \(TradeStore.schemaVersion): use the needletail that wrote it, or another --db"
    case .notAHistory(let path):
      return "\(path): not a needletail trade history (it has other tables): use another --db"
    case .noSuchRun(let id): return "the history has no run \(id)"
    }
  }
}

extension TradeStore {
  /// The layout this code reads and writes (SQLite's `user_version`).
  ///
  /// 1 (`user_version` 0, a `fills` table without `venue_id`): runs named their venue as text and
  /// fills were keyed by (symbol, trade id) alone, so a second venue's (or a second demo's) trade
  /// ids were dropped. 2: a `venues` table; orders are keyed by (venue, client id), fills by
  /// (venue, symbol, trade id); fills whose key is already kept for something else go to
  /// `fill_conflicts`. 3: `order_latency`, each order's measured round trip (request sent, the
  /// venue's event time, answer received), which a backtest's latency model reads.
  public static let schemaVersion: Int64 = 3

  /// Added by schema 3 (created in a new file, added to a schema-2 one).
  static let latencySchema = """
    CREATE TABLE IF NOT EXISTS order_latency(
      venue_id INTEGER NOT NULL, client_order_id TEXT NOT NULL, run_id INTEGER NOT NULL,
      request_ns INTEGER NOT NULL, exchange_ns INTEGER NOT NULL, response_ns INTEGER NOT NULL,
      PRIMARY KEY(venue_id, client_order_id));
    CREATE INDEX IF NOT EXISTS order_latency_run ON order_latency(run_id, request_ns);
    """

  static let schema = """
    CREATE TABLE IF NOT EXISTS venues(
      id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, environment TEXT NOT NULL,
      account TEXT NOT NULL, instance TEXT NOT NULL, created_ns INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS runs(
      id INTEGER PRIMARY KEY, started_ns INTEGER NOT NULL, mode TEXT NOT NULL, venue TEXT NOT NULL,
      symbol TEXT NOT NULL, base_asset TEXT NOT NULL, quote_asset TEXT NOT NULL,
      price_scale INTEGER NOT NULL, quantity_scale INTEGER NOT NULL,
      maker_rate INTEGER NOT NULL, taker_rate INTEGER NOT NULL, prefix TEXT NOT NULL,
      start_base TEXT NOT NULL, start_quote TEXT NOT NULL, venue_id INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS orders(
      venue_id INTEGER NOT NULL, client_order_id TEXT NOT NULL, run_id INTEGER NOT NULL, symbol TEXT NOT NULL,
      side TEXT NOT NULL, price INTEGER NOT NULL, quantity INTEGER NOT NULL,
      venue_order_id INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, filled INTEGER NOT NULL DEFAULT 0,
      created_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL, PRIMARY KEY(venue_id, client_order_id));
    CREATE INDEX IF NOT EXISTS orders_state ON orders(symbol, state);
    CREATE TABLE IF NOT EXISTS order_status(
      id INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL, state TEXT NOT NULL, at_ns INTEGER NOT NULL,
      venue_id INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX IF NOT EXISTS order_status_order ON order_status(venue_id, client_order_id);
    CREATE TABLE IF NOT EXISTS fills(
      venue_id INTEGER NOT NULL, symbol TEXT NOT NULL, trade_id INTEGER NOT NULL, client_order_id TEXT NOT NULL,
      run_id INTEGER NOT NULL, side TEXT NOT NULL, price INTEGER NOT NULL, quantity INTEGER NOT NULL,
      fee_quote INTEGER NOT NULL, at_ns INTEGER NOT NULL, source TEXT NOT NULL,
      PRIMARY KEY(venue_id, symbol, trade_id, side));
    CREATE INDEX IF NOT EXISTS fills_run ON fills(run_id);
    CREATE TABLE IF NOT EXISTS fill_conflicts(
      id INTEGER PRIMARY KEY, venue_id INTEGER NOT NULL, symbol TEXT NOT NULL, trade_id INTEGER NOT NULL,
      client_order_id TEXT NOT NULL, run_id INTEGER NOT NULL, side TEXT NOT NULL, price INTEGER NOT NULL,
      quantity INTEGER NOT NULL, fee_quote INTEGER NOT NULL, at_ns INTEGER NOT NULL, source TEXT NOT NULL,
      found_ns INTEGER NOT NULL);
    """

  /// Makes `db` a history of `schemaVersion`: creates one in an empty file, migrates a schema-1
  /// history in one transaction (returns what it did), refuses a newer or foreign file.
  static func prepareSchema(_ db: SQLiteDatabase) throws -> String? {
    func version() throws -> Int64 {
      var v: Int64 = 0
      try db.prepare("PRAGMA user_version").query { v = $0.int(0) }
      return v
    }
    // Without a lock first: the common case (the current schema) takes none.
    if try version() == schemaVersion { return nil }
    var migrated: String?
    // Then under the write lock, so two processes opening an old file migrate it once.
    try db.exec("BEGIN IMMEDIATE")
    do {
      let version = try version()
      if version == schemaVersion {
        try db.exec("COMMIT")
        return nil
      }
      if version > schemaVersion { throw TradeStoreError.newerSchema(path: db.path, version: version) }
      var tables: Set<String> = []
      try db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").query {
        tables.insert($0.text(0))
      }
      if tables.isEmpty {
        try db.exec(schema)
      } else if tables.isSuperset(of: ["runs", "orders", "order_status", "fills"]), version == 0 {
        migrated = try migrateFromVersion1(db)
      } else if tables.isSuperset(of: ["venues", "runs", "orders", "order_status", "fills"]), version == 2 {
        migrated = "history schema 2 → 3: order round trips are kept from now on"
      } else {
        throw TradeStoreError.notAHistory(path: db.path)
      }
      try db.exec(latencySchema)
      try db.exec("PRAGMA user_version = \(schemaVersion)")
      try db.exec("COMMIT")
    } catch {
      try? db.exec("ROLLBACK")
      throw error
    }
    return migrated
  }

  /// Schema 1 → 2. Each live run's venue was "host:port": live runs on one host:port become one
  /// Binance-spot venue whose account was not recorded (`VenueIdentity.unrecordedAccount`; a
  /// restart on that host:port settles their orders as before). Each demo and paper run traded a venue of its own (its process's) and gets one.
  /// Fills and orders take their run's venue. What schema 1 already dropped cannot be restored.
  static func migrateFromVersion1(_ db: SQLiteDatabase) throws -> String {
    var runs: [(id: Int64, mode: String, venue: String, started: Int64)] = []
    try db.prepare("SELECT id, mode, venue, started_ns FROM runs ORDER BY id").query {
      runs.append(($0.int(0), $0.text(1), $0.text(2), $0.int(3)))
    }
    try db.exec(
      """
      ALTER TABLE runs ADD COLUMN venue_id INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE order_status ADD COLUMN venue_id INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE orders RENAME TO orders_v1;
      ALTER TABLE fills RENAME TO fills_v1;
      DROP INDEX IF EXISTS orders_state;
      """)
    try db.exec(schema)
    let addVenue = try db.prepare(
      """
      INSERT INTO venues(key, kind, environment, account, instance, created_ns) VALUES(?1, ?2, ?3, ?4, ?5, ?6)
      ON CONFLICT(key) DO NOTHING
      """)
    let setVenue = try db.prepare(
      "UPDATE runs SET venue_id = (SELECT id FROM venues WHERE key = ?2) WHERE id = ?1")
    for r in runs {
      let v: VenueIdentity
      switch r.mode {
      case "live":
        v = VenueIdentity(
          kind: "binance-spot", environment: r.venue, account: VenueIdentity.unrecordedAccount)
      case "demo":
        v = VenueIdentity(
          kind: "demo", environment: r.venue.replacingPrefix("embedded:", with: "127.0.0.1:"), account: "",
          instance: "schema1-run\(r.id)")
      default:
        v = VenueIdentity(
          kind: r.mode, environment: r.venue, account: "", instance: "schema1-run\(r.id)")
      }
      try addVenue.run([
        .text(v.key), .text(v.kind), .text(v.environment), .text(v.account), .text(v.instance),
        .int(r.started),
      ])
      try setVenue.run([.int(r.id), .text(v.key)])
    }
    try db.exec(
      """
      INSERT INTO orders(venue_id, client_order_id, run_id, symbol, side, price, quantity, venue_order_id, state,
        filled, created_ns, updated_ns)
      SELECT r.venue_id, o.client_order_id, o.run_id, o.symbol, o.side, o.price, o.quantity, o.venue_order_id,
        o.state, o.filled, o.created_ns, o.updated_ns
      FROM orders_v1 o JOIN runs r ON r.id = o.run_id;
      UPDATE order_status SET venue_id = coalesce(
        (SELECT venue_id FROM orders WHERE orders.client_order_id = order_status.client_order_id), 0);
      INSERT INTO fills(venue_id, symbol, trade_id, client_order_id, run_id, side, price, quantity, fee_quote,
        at_ns, source)
      SELECT r.venue_id, f.symbol, f.trade_id, f.client_order_id, f.run_id, f.side, f.price, f.quantity,
        f.fee_quote, f.at_ns, f.source
      FROM fills_v1 f JOIN runs r ON r.id = f.run_id;
      """)
    // Every row came across (a row whose run was missing would not have): else nothing is changed.
    func count(_ table: String) throws -> Int64 {
      var n: Int64 = 0
      try db.prepare("SELECT count(*) FROM \(table)").query { n = $0.int(0) }
      return n
    }
    for (old, new) in [("orders_v1", "orders"), ("fills_v1", "fills")] {
      if try count(old) == count(new) { continue }
      throw SQLiteError(
        description:
          "\(db.path): migrating \(new) kept \(try count(new)) of \(try count(old)) rows (some name a run the history lacks); the file is left as it was"
      )
    }
    try db.exec("DROP TABLE orders_v1; DROP TABLE fills_v1;")
    var venues = 0
    try db.prepare("SELECT count(*) FROM venues").query { venues = Int($0.int(0)) }
    return
      "migrated from schema 1 to \(schemaVersion): \(runs.count) runs on \(venues) venues; fills are now kept per venue (trade ids an earlier run on another venue had already used were dropped by schema 1 and are not in this file)"
  }
}

extension String {
  func replacingPrefix(_ p: String, with q: String) -> String {
    hasPrefix(p) ? q + dropFirst(p.count) : self
  }
}
