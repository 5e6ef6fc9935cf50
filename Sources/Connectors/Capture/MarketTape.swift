import CSimdJSON
import CZlib
import Engine
import FastBook
import Glibc

/// One recorded market message after the venue's production decoder: a book diff (its sequence
/// header and levels), a snapshot (its last update id and levels) or a public trade, with the
/// recorder's receive time and the venue's time. What a backtest replays: the local side feeds it
/// to the venue's book sync exactly as the live feed does; the simulated exchange reads its rows
/// (`MarketTape.forEachRow`) on venue time.
///
/// Fixed 80 bytes, followed on the tape by `bidCount + askCount` `nt_level`s (bids first).
@frozen
public struct TapeMessage: BitwiseCopyable, Sendable {
  @frozen
  public enum Kind: UInt8, BitwiseCopyable, Sendable {
    case diff = 1
    case snapshot = 2
    case trade = 3
  }
  public var kind: Kind
  /// A trade's aggressor (`.bid`: a buyer took liquidity).
  public var side: Side
  var pad0: UInt16 = 0
  public var bidCount: UInt32
  public var askCount: UInt32
  var pad1: UInt32 = 0
  /// The recorder's receive time (ns).
  public var localNs: Int64
  /// The venue's time (ns): its transaction time where the message has one, else its event time,
  /// else (a spot snapshot) the receive time.
  public var exchangeNs: Int64
  /// A diff's header; a snapshot's last update id is `update.last`.
  public var update: DepthUpdate
  /// A trade's price and quantity (raws at the instrument's scales).
  public var price: Int64
  public var quantity: Int64

  public init(
    kind: Kind, side: Side = .bid, bidCount: Int = 0, askCount: Int = 0, localNs: Int64, exchangeNs: Int64,
    update: DepthUpdate = DepthUpdate(first: 0, last: 0), price: Int64 = 0, quantity: Int64 = 0
  ) {
    self.kind = kind
    self.side = side
    self.bidCount = UInt32(bidCount)
    self.askCount = UInt32(askCount)
    self.localNs = localNs
    self.exchangeNs = exchangeNs
    self.update = update
    self.price = price
    self.quantity = quantity
  }

  @inlinable @inline(__always) public var levelCount: Int { Int(bidCount) + Int(askCount) }
}

/// The tape file's header: what the tape was made from (a key of the capture files' content,
/// the instrument's scales), what it holds, and what reading the capture met.
@frozen
public struct TapeHeader: BitwiseCopyable, Sendable, Equatable {
  public static let magic: UInt64 = 0x3130_4550_4154_544E  // "NTTAPE01"
  public static let version: UInt64 = 1
  public var magic = TapeHeader.magic
  public var version = TapeHeader.version
  /// `MarketTape.key(files:…)` of the captures it was made from.
  public var key: UInt64 = 0
  public var priceScale: Int64 = 0
  public var quantityScale: Int64 = 0
  public var tickSize: Int64 = 0
  public var lotSize: Int64 = 0
  public var messages: Int64 = 0
  /// Rows the messages give (`forEachRow`).
  public var rows: Int64 = 0
  public var bodyBytes: Int64 = 0
  /// The smallest receive time minus venue time over all rows (negative: the recorder's clock
  /// ran behind the venue's somewhere).
  public var minLagNs: Int64 = .max
  /// The largest receive time minus venue time (how far back in venue time a message yet to be
  /// received can be: what a replay's venue-time window must cover).
  public var maxLagNs: Int64 = .min
  /// The earliest venue time of any message.
  public var firstExchangeNs: Int64 = .max
  public var firstLocalNs: Int64 = 0
  public var lastLocalNs: Int64 = 0
  public var lines: Int64 = 0
  /// Lines the decoder refused (malformed, cut short, off the instrument's scales).
  public var decodeErrors: Int64 = 0
  /// Lines that decoded to nothing the tape keeps (an unknown event, a bookTicker).
  public var skippedLines: Int64 = 0
  /// Lines longer than the reader's limit (skipped).
  public var oversizeLines: Int64 = 0
  /// Lines whose receive time was earlier than the line before (kept; the replay's clock holds).
  public var backwardsLines: Int64 = 0
  public init() {}
}

/// A tape of recorded market messages (`TapeMessage`s with their levels), written once from a
/// venue's capture by its reader and read back memory-mapped: the prepared input a backtest runs
/// on and a parameter sweep reuses. It is venue-neutral: the venue's decoder ran when it was
/// written; replaying it needs only the venue's sequence rule.
///
/// Reading is zero-copy: a cursor is a byte offset, a message and its levels are pointers into the
/// mapping. `release(before:)` hands the pages behind every cursor back to the kernel, so a long
/// tape is read with flat memory.
public final class MarketTape {
  public let path: String
  public let header: TapeHeader
  @usableFromInline let base: UnsafeRawPointer
  let mappedBytes: Int
  static let headerBytes = 256
  public var bodyStart: Int { Self.headerBytes }
  /// The offset just past the last message.
  public var end: Int { Self.headerBytes + Int(header.bodyBytes) }

  public enum OpenError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(String, String)
    case notATape(String)
    case truncated(String)
    /// A capture file that could not be read to its end (a damaged or cut-short gzip stream).
    case damagedCapture(String, String)
    public var description: String {
      switch self {
      case .damagedCapture(let p, let why): return "capture file \(p) is damaged: \(why)"
      case .cannotOpen(let p, let why): return "cannot open tape \(p): \(why)"
      case .notATape(let p): return "\(p) is not a Needletail tape (or one of another version)"
      case .truncated(let p): return "tape \(p) is cut short"
      }
    }
  }

  public init(path: String) throws {
    self.path = path
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { throw OpenError.cannotOpen(path, String(cString: strerror(errno))) }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw OpenError.cannotOpen(path, String(cString: strerror(errno))) }
    let size = Int(st.st_size)
    guard size >= Self.headerBytes else { throw OpenError.notATape(path) }
    guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
      throw OpenError.cannotOpen(path, String(cString: strerror(errno)))
    }
    let h = p.load(as: TapeHeader.self)
    guard h.magic == TapeHeader.magic, h.version == TapeHeader.version else {
      munmap(p, size)
      throw OpenError.notATape(path)
    }
    guard Int64(size) == Int64(Self.headerBytes) + h.bodyBytes else {
      munmap(p, size)
      throw OpenError.truncated(path)
    }
    header = h
    base = UnsafeRawPointer(p)
    mappedBytes = size
    _ = madvise(p, size, MADV_SEQUENTIAL)
  }

  deinit { munmap(UnsafeMutableRawPointer(mutating: base), mappedBytes) }

  /// The instrument the tape's raws are at.
  public var instrument: Instrument {
    Instrument(
      symbol: "", priceScale: Int(header.priceScale), quantityScale: Int(header.quantityScale),
      tickSize: header.tickSize, lotSize: header.lotSize)
  }

  @inlinable @inline(__always)
  public func message(at offset: Int) -> UnsafePointer<TapeMessage> {
    (base + offset).assumingMemoryBound(to: TapeMessage.self)
  }
  @inlinable @inline(__always)
  public func bids(at offset: Int) -> UnsafeBufferPointer<nt_level> {
    let m = message(at: offset)
    return UnsafeBufferPointer(
      start: (base + offset + MemoryLayout<TapeMessage>.stride).assumingMemoryBound(to: nt_level.self),
      count: Int(m.pointee.bidCount))
  }
  @inlinable @inline(__always)
  public func asks(at offset: Int) -> UnsafeBufferPointer<nt_level> {
    let m = message(at: offset)
    return UnsafeBufferPointer(
      start: (base + offset + MemoryLayout<TapeMessage>.stride).assumingMemoryBound(to: nt_level.self)
        + Int(m.pointee.bidCount),
      count: Int(m.pointee.askCount))
  }
  /// The offset of the message after the one at `offset`.
  @inlinable @inline(__always)
  public func next(after offset: Int) -> Int {
    offset + MemoryLayout<TapeMessage>.stride + message(at: offset).pointee.levelCount
      * MemoryLayout<nt_level>.stride
  }

  var releasedTo = 0

  /// Gives back the pages wholly before `offset` (no cursor will read them again).
  public func release(before offset: Int) {
    let page = 1 << 16
    let to = offset & ~(page - 1)
    guard to > releasedTo + (4 << 20) else { return }
    _ = madvise(UnsafeMutableRawPointer(mutating: base + releasedTo), to - releasedTo, MADV_DONTNEED)
    releasedTo = to
  }

  /// The rows of the message at `offset`, as the simulated exchange replays them on venue time
  /// (and as hftbacktest's converters make them): a diff gives a level row per level, bids
  /// first; a snapshot gives a `clear` of the bids (from its lowest bid), its bids, a `clear` of
  /// the asks (from its highest ask), its asks; a trade one row, on the aggressor's side.
  @inlinable @inline(__always)
  public func forEachRow(at offset: Int, _ body: (MarketRow) -> Void) {
    let m = message(at: offset).pointee
    switch m.kind {
    case .diff:
      for l in bids(at: offset) { body(MarketRow(.level, .bid, m, l.price, l.qty)) }
      for l in asks(at: offset) { body(MarketRow(.level, .ask, m, l.price, l.qty)) }
    case .snapshot:
      let b = bids(at: offset)
      let a = asks(at: offset)
      var lowest = Int64.max
      for l in b where l.price < lowest { lowest = l.price }
      var highest = Int64.min
      for l in a where l.price > highest { highest = l.price }
      body(MarketRow(.clear, .bid, m, b.isEmpty ? 0 : lowest, 0))
      for l in b { body(MarketRow(.snapshotLevel, .bid, m, l.price, l.qty)) }
      body(MarketRow(.clear, .ask, m, a.isEmpty ? 0 : highest, 0))
      for l in a { body(MarketRow(.snapshotLevel, .ask, m, l.price, l.qty)) }
    case .trade:
      body(MarketRow(.trade, m.side, m, m.price, m.quantity))
    }
  }

  /// Every row of the tape, message after message.
  public func forEachRow(_ body: (MarketRow) -> Void) {
    var o = bodyStart
    while o < end {
      forEachRow(at: o, body)
      o = next(after: o)
    }
  }

  /// How many rows the message gives.
  @inline(__always)
  public static func rowCount(_ m: TapeMessage) -> Int {
    switch m.kind {
    case .diff: return m.levelCount
    case .snapshot: return m.levelCount + 2
    case .trade: return 1
    }
  }

  // MARK: keys

  /// The key of a tape made from `files` at `instrument`'s scales: the files' sizes, CRC-32s
  /// and Adler-32s of their bytes, the scales, and the tape format — a changed file, a different
  /// instrument or a new format never reads an old tape.
  public static func key(files: [String], instrument: Instrument, reader: UInt64) throws -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ v: UInt64) {
      var x = v
      for _ in 0..<8 {
        h = (h ^ (x & 0xff)) &* 0x100_0000_01b3
        x >>= 8
      }
    }
    mix(TapeHeader.version)
    mix(reader)
    mix(UInt64(instrument.priceScale))
    mix(UInt64(instrument.quantityScale))
    mix(UInt64(bitPattern: instrument.tickSize))
    mix(UInt64(bitPattern: instrument.lotSize))
    let chunk = 1 << 20
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
    defer { buffer.deallocate() }
    for f in files {
      guard let fp = fopen(f, "rb") else { throw OpenError.cannotOpen(f, String(cString: strerror(errno))) }
      defer { fclose(fp) }
      var crc = crc32(0, nil, 0)
      var ad = adler32(0, nil, 0)
      var size: UInt64 = 0
      while true {
        let n = fread(buffer, 1, chunk, fp)
        if n == 0 { break }
        let p = buffer.assumingMemoryBound(to: Bytef.self)
        crc = crc32(crc, p, uInt(n))
        ad = adler32(ad, p, uInt(n))
        size += UInt64(n)
      }
      if ferror(fp) != 0 { throw OpenError.cannotOpen(f, "read error") }
      mix(size)
      mix(UInt64(crc) << 32 | UInt64(ad))
    }
    return h
  }
}

extension MarketRow {
  @inlinable @inline(__always)
  init(_ k: Kind, _ s: Side, _ m: TapeMessage, _ price: Int64, _ quantity: Int64) {
    self.init(
      kind: k, side: s, exchangeNs: m.exchangeNs, localNs: m.localNs, price: price, quantity: quantity)
  }
}

/// Writes a tape: messages appended in capture order, the header (counts, times, the smallest
/// lag) written last, and the file moved into place only when complete — a reader never sees a
/// half-written tape under the final name.
public final class TapeWriter {
  public let path: String
  let temporary: String
  let file: UnsafeMutablePointer<FILE>
  public private(set) var header: TapeHeader
  var lastLocal: Int64 = .min
  var failed: String?
  var finished = false

  public init(path: String, key: UInt64, instrument: Instrument) throws {
    self.path = path
    temporary = path + ".partial-\(getpid())"
    guard let f = fopen(temporary, "wb") else {
      throw MarketTape.OpenError.cannotOpen(temporary, String(cString: strerror(errno)))
    }
    file = f
    var h = TapeHeader()
    h.key = key
    h.priceScale = Int64(instrument.priceScale)
    h.quantityScale = Int64(instrument.quantityScale)
    h.tickSize = instrument.tickSize
    h.lotSize = instrument.lotSize
    header = h
    setvbuf(f, nil, _IOFBF, 1 << 20)
    writeHeader()
  }

  deinit {
    if !finished {
      fclose(file)
      unlink(temporary)
    }
  }

  func writeHeader() {
    var raw = [UInt8](repeating: 0, count: MarketTape.headerBytes)
    withUnsafeBytes(of: header) { h in raw.withUnsafeMutableBytes { $0.copyMemory(from: h) } }
    if fwrite(raw, 1, raw.count, file) != raw.count { failed = "write failed" }
  }

  /// Counts a line of the capture (whatever became of it).
  public func countLine(localNs: Int64) {
    header.lines += 1
    guard localNs >= 0 else { return }  // no timestamp: counted as unreadable, not as out of order
    if localNs < lastLocal { header.backwardsLines += 1 }
    lastLocal = max(lastLocal, localNs)
  }
  public func countDecodeError() { header.decodeErrors += 1 }
  public func countSkipped() { header.skippedLines += 1 }
  public func countOversize(_ n: Int) { header.oversizeLines = Int64(n) }

  /// Appends a message and its levels (bids, then asks).
  public func append(
    _ m: TapeMessage, bids: UnsafeBufferPointer<nt_level>, asks: UnsafeBufferPointer<nt_level>
  ) {
    var m = m
    m.bidCount = UInt32(bids.count)
    m.askCount = UInt32(asks.count)
    withUnsafeBytes(of: m) {
      if fwrite($0.baseAddress, 1, $0.count, file) != $0.count { failed = "write failed" }
    }
    let stride = MemoryLayout<nt_level>.stride
    if let b = bids.baseAddress, fwrite(b, stride, bids.count, file) != bids.count { failed = "write failed" }
    if let a = asks.baseAddress, fwrite(a, stride, asks.count, file) != asks.count { failed = "write failed" }
    if header.messages == 0 { header.firstLocalNs = m.localNs }
    header.lastLocalNs = m.localNs
    header.messages += 1
    header.rows += Int64(MarketTape.rowCount(m))
    header.bodyBytes += Int64(MemoryLayout<TapeMessage>.stride + m.levelCount * stride)
    header.minLagNs = min(header.minLagNs, m.localNs &- m.exchangeNs)
    header.maxLagNs = max(header.maxLagNs, m.localNs &- m.exchangeNs)
    header.firstExchangeNs = min(header.firstExchangeNs, m.exchangeNs)
  }

  /// Writes the header and moves the tape into place.
  public func finish() throws {
    if header.messages == 0 {
      header.minLagNs = 0
      header.maxLagNs = 0
      header.firstExchangeNs = 0
    }
    if fseek(file, 0, SEEK_SET) != 0 { failed = "seek failed" }
    writeHeader()
    finished = true
    if fclose(file) != 0 { failed = failed ?? "close failed" }
    if let failed {
      unlink(temporary)
      throw MarketTape.OpenError.cannotOpen(path, failed)
    }
    guard rename(temporary, path) == 0 else {
      let why = String(cString: strerror(errno))
      unlink(temporary)
      throw MarketTape.OpenError.cannotOpen(path, why)
    }
  }
}
