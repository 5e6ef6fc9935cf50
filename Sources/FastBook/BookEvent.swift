/// A book event: the fixed-size record a connector pushes through an SPSC ring to the thread that
/// owns the `LadderBook` (DESIGN.md: snapshot begin / levels / end, deltas, batch end, reset).
///
/// ## Layout (32 bytes, checked below)
/// ```
///  byte 0      kind            byte 1   side (levels)     bytes 2-3  instrument index
///  bytes 4-7   flags: batchEnd → bit 0 set when the batch is a snapshot; bits 8-31 the time
///                  from receive to decoded in ns (saturating at 16.7 ms; 0 when not measured)
///  bytes 8-15  a:  level → tick      snapshotBegin → centre tick   batchEnd → last update id
///                  reset → reason raw                             trade → price tick
///  bytes 16-23 b:  level → quantity  snapshotBegin → update id     batchEnd → exchange time (ns)
///                  trade → quantity
///  bytes 24-31 c:  level → 0         batchEnd → local receive time (ns)
///                  trade → the venue's trade time (ns)
/// ```
/// A `trade` is a public trade on the market, its `side` the aggressor's (`.bid`: a buyer took
/// liquidity). It rides the same ring as the book, so the strategy sees trades and book changes
/// in the order the venue sent them, and never between the levels of a batch.
/// A batch is: levels… then `batchEnd`. A snapshot is: `snapshotBegin`, levels…, `batchEnd`.
/// The consumer applies levels as they arrive and tells the strategy only at `batchEnd`, so a
/// strategy never sees a half-applied batch. `reset` empties the book until the next snapshot.
@frozen
public struct BookEvent: BitwiseCopyable, Equatable, Sendable {
  @frozen
  public enum Kind: UInt8, Sendable, BitwiseCopyable {
    case level = 0
    case snapshotBegin = 1
    case batchEnd = 2
    case reset = 3
    case trade = 4
  }

  public var kind: Kind
  public var side: Side
  public var instrument: InstrumentIndex
  public var flags: UInt32
  public var a: Int64
  public var b: Int64
  public var c: Int64

  @inlinable
  init(kind: Kind, side: Side = .bid, instrument: InstrumentIndex, a: Int64, b: Int64, c: Int64) {
    self.kind = kind
    self.side = side
    self.instrument = instrument
    self.flags = 0
    self.a = a
    self.b = b
    self.c = c
  }

  @inlinable
  public static func level(_ side: Side, tick: Int64, quantity: Int64, instrument: InstrumentIndex)
    -> BookEvent
  {
    BookEvent(kind: .level, side: side, instrument: instrument, a: tick, b: quantity, c: 0)
  }
  @inlinable
  public static func snapshotBegin(centreTick: Int64, updateID: Int64, instrument: InstrumentIndex)
    -> BookEvent
  {
    BookEvent(kind: .snapshotBegin, instrument: instrument, a: centreTick, b: updateID, c: 0)
  }
  @inlinable
  public static func batchEnd(
    updateID: Int64, exchangeTimeNs: Int64, localTimeNs: Int64, instrument: InstrumentIndex,
    isSnapshot: Bool = false, decodedTimeNs: Int64 = 0
  ) -> BookEvent {
    var e = BookEvent(kind: .batchEnd, instrument: instrument, a: updateID, b: exchangeTimeNs, c: localTimeNs)
    e.flags = isSnapshot ? BookEvent.snapshotFlag : 0
    if decodedTimeNs > localTimeNs && localTimeNs > 0 {
      e.flags |= UInt32(min(decodedTimeNs - localTimeNs, 0xFF_FFFF)) << 8
    }
    return e
  }

  /// For a `batchEnd`: when its last message was decoded (ns, same clock as `localTimeNs`), or 0.
  @inlinable public var decodedTimeNs: Int64 {
    let d = Int64(flags >> 8)
    return d == 0 ? 0 : c + d
  }

  public static let snapshotFlag: UInt32 = 1
  /// For a `batchEnd`: whether the batch was a snapshot (not a diff).
  @inlinable public var isSnapshotEnd: Bool { flags & BookEvent.snapshotFlag != 0 }
  @inlinable
  public static func reset(reason: ResetReason, instrument: InstrumentIndex) -> BookEvent {
    BookEvent(kind: .reset, instrument: instrument, a: Int64(reason.rawValue), b: 0, c: 0)
  }

  @inlinable
  public static func trade(
    aggressor: Side, tick: Int64, quantity: Int64, exchangeTimeNs: Int64, instrument: InstrumentIndex
  ) -> BookEvent {
    BookEvent(kind: .trade, side: aggressor, instrument: instrument, a: tick, b: quantity, c: exchangeTimeNs)
  }

  @inlinable public var tick: Int64 { a }
  @inlinable public var quantity: Int64 { b }
  @inlinable public var updateID: Int64 { kind == .snapshotBegin ? b : a }
  @inlinable public var exchangeTimeNs: Int64 { b }
  /// For a `trade`: the venue's time of the trade (ns).
  @inlinable public var tradeTimeNs: Int64 { c }
  @inlinable public var localTimeNs: Int64 { c }
  @inlinable public var resetReason: ResetReason {
    ResetReason(rawValue: UInt8(truncatingIfNeeded: a)) ?? .other
  }
}

/// Why a book was reset: it is then rebuilt from a fresh snapshot, never patched.
public enum ResetReason: UInt8, Sendable, BitwiseCopyable {
  /// An update id did not follow the previous one.
  case sequenceGap = 1
  /// The first diff after a snapshot did not bracket it (snapshot too old or too new).
  case snapshotMismatch = 2
  /// A message on the book's stream could not be decoded: state may be wrong.
  case malformedMessage = 3
  /// The book's storage could not hold a level (see `LadderBook.isExact`).
  case capacity = 4
  /// The connection dropped.
  case disconnected = 5
  case other = 255
}

extension BookEvent {
  static func _checkLayout() {
    precondition(MemoryLayout<BookEvent>.size == 32 && MemoryLayout<BookEvent>.stride == 32)
  }
}

/// Applies book events to a `LadderBook` on the thread that owns it.
public struct BookEventApplier {
  public let book: LadderBook
  /// Whether the book holds a synced state (false from construction or a reset until a snapshot).
  public var isLive = false
  public var lastUpdateID: Int64 = -1
  public var batches = 0
  public var levelsApplied = 0
  public var resets = 0
  /// Public trades passed through (they do not change the book).
  public var trades = 0
  /// Levels the book could not store (capacity); the book is then not exact until the next snapshot.
  public var capacityFailures = 0

  public init(book: LadderBook) {
    BookEvent._checkLayout()
    self.book = book
  }

  /// Applies one event; returns true at the end of a batch (the moment to tell the strategy).
  @inlinable @inline(__always)
  public mutating func apply(_ e: BookEvent) -> Bool {
    switch e.kind {
    case .level:
      if !book.update(e.side, tick: e.tick, quantity: e.quantity) { capacityFailures &+= 1 }
      levelsApplied &+= 1
      return false
    case .batchEnd:
      lastUpdateID = e.updateID
      batches &+= 1
      return true
    case .snapshotBegin:
      book.clear(centreTick: e.a)
      isLive = true
      lastUpdateID = e.updateID
      return false
    case .reset:
      book.clear()
      isLive = false
      resets &+= 1
      return false
    case .trade:
      // Not a book change: the consumer hands it to the strategy (see `Kind.trade`).
      trades &+= 1
      return false
    }
  }
}
