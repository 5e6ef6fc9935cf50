import CSQLite

/// A failed SQLite call: what was being done and SQLite's own message.
public struct SQLiteError: Error, CustomStringConvertible {
  public var description: String
}

/// One SQLite connection, used by one thread at a time (the journal writer owns its own).
public final class SQLiteDatabase {
  let db: OpaquePointer
  public let path: String

  public init(path: String) throws {
    var h: OpaquePointer?
    let rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil)
    guard rc == SQLITE_OK, let h else {
      let msg = h.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
      if let h { sqlite3_close_v2(h) }
      throw SQLiteError(description: "cannot open \(path): \(msg)")
    }
    db = h
    self.path = path
    // Another connection (a reader, or the writer of an earlier process) may hold the lock briefly.
    sqlite3_busy_timeout(db, 5_000)
  }

  deinit { sqlite3_close_v2(db) }

  var message: String { String(cString: sqlite3_errmsg(db)) }

  public func exec(_ sql: String) throws {
    var err: UnsafeMutablePointer<CChar>?
    if sqlite3_exec(db, sql, nil, nil, &err) != SQLITE_OK {
      let m = err.map { String(cString: $0) } ?? message
      sqlite3_free(err)
      throw SQLiteError(description: "\(m) (in: \(sql.prefix(80)))")
    }
  }

  public func prepare(_ sql: String) throws -> Statement {
    var s: OpaquePointer?
    guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &s, nil) == SQLITE_OK, let s
    else {
      throw SQLiteError(description: "\(message) (preparing: \(sql.prefix(80)))")
    }
    return Statement(s, db: self)
  }

  public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(db) }
  /// Rows changed by the last statement.
  public var changes: Int { Int(sqlite3_changes(db)) }

  /// A value for `bind`.
  public enum Value {
    case int(Int64)
    case text(String)
    case null
  }

  /// A prepared statement: bind, step, read columns, reset.
  public final class Statement {
    let s: OpaquePointer
    unowned let db: SQLiteDatabase
    init(_ s: OpaquePointer, db: SQLiteDatabase) {
      self.s = s
      self.db = db
    }
    deinit { sqlite3_finalize(s) }

    /// Binds `values` to ?1, ?2, … (after a reset).
    public func bind(_ values: [Value]) {
      sqlite3_reset(s)
      sqlite3_clear_bindings(s)
      for (i, v) in values.enumerated() {
        let k = Int32(i + 1)
        switch v {
        case .int(let x): sqlite3_bind_int64(s, k, x)
        case .text(let t): sqlite3_bind_text(s, k, t, -1, csqlite_transient())
        case .null: sqlite3_bind_null(s, k)
        }
      }
    }

    /// Runs a statement that returns no rows.
    public func run(_ values: [Value]) throws {
      bind(values)
      let rc = sqlite3_step(s)
      sqlite3_reset(s)
      guard rc == SQLITE_DONE || rc == SQLITE_ROW else { throw SQLiteError(description: db.message) }
    }

    /// Runs a query, handing each row to `row`.
    public func query(_ values: [Value] = [], _ row: (Row) throws -> Void) throws {
      bind(values)
      defer { sqlite3_reset(s) }
      while true {
        let rc = sqlite3_step(s)
        if rc == SQLITE_DONE { return }
        guard rc == SQLITE_ROW else { throw SQLiteError(description: db.message) }
        try row(Row(s: s))
      }
    }
  }

  public struct Row {
    let s: OpaquePointer
    public func int(_ i: Int32) -> Int64 { sqlite3_column_int64(s, i) }
    public func isNull(_ i: Int32) -> Bool { sqlite3_column_type(s, i) == SQLITE_NULL }
    public func text(_ i: Int32) -> String {
      guard let p = sqlite3_column_text(s, i) else { return "" }
      return String(cString: p)
    }
  }
}
