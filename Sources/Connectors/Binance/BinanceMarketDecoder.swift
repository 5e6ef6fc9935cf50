import CSimdJSON
import FastBook

/// Decodes Binance market-data messages (depthUpdate, REST depth snapshot, trade, bookTicker;
/// spot and futures; raw or combined-stream envelope) with CSimdJSON into fixed point.
///
/// Owns the decoder and the level storage, all allocated at init: `decode` allocates nothing.
/// After a successful call, `message` holds the result and `bids`/`asks` its levels; both are
/// overwritten by the next call. Not thread-safe: one per wire thread.
public final class BinanceMarketDecoder {
  public let instrument: Instrument
  public let maxMessageBytes: Int
  public let levelCapacity: Int
  @usableFromInline let decoder: OpaquePointer
  @usableFromInline let bidStore: UnsafeMutablePointer<nt_level>
  @usableFromInline let askStore: UnsafeMutablePointer<nt_level>
  @usableFromInline let msg: UnsafeMutablePointer<nt_binance_msg>
  @usableFromInline let err: UnsafeMutablePointer<nt_error>
  /// Failed decodes, by `nt_status` raw value (index 0 unused).
  public let errorCounts: UnsafeMutableBufferPointer<Int>

  /// `levelCapacity` levels per side (a REST snapshot with limit=5000 needs 5,000).
  public init(instrument: Instrument, maxMessageBytes: Int = 1 << 20, levelCapacity: Int = 5000) {
    guard let d = nt_decoder_new(maxMessageBytes) else { fatalError("out of memory creating a decoder") }
    self.instrument = instrument
    self.maxMessageBytes = maxMessageBytes
    self.levelCapacity = levelCapacity
    decoder = d
    bidStore = .allocate(capacity: levelCapacity)
    askStore = .allocate(capacity: levelCapacity)
    msg = .allocate(capacity: 1)
    msg.initialize(to: nt_binance_msg())
    err = .allocate(capacity: 1)
    err.initialize(to: nt_error())
    errorCounts = .allocate(capacity: 16)
    errorCounts.initialize(repeating: 0)
  }

  deinit {
    nt_decoder_free(decoder)
    bidStore.deallocate()
    askStore.deallocate()
    msg.deallocate()
    err.deallocate()
    errorCounts.deallocate()
  }

  /// Decodes `count` bytes at `bytes`; `readable` is how many bytes may be read from `bytes`
  /// (at least `count`; with NT_PADDING more the input is parsed in place, else copied).
  @inlinable
  public func decode(_ bytes: UnsafeRawPointer, count: Int, readable: Int) -> nt_status {
    msg.pointee.depth.bids = nt_levels(items: bidStore, capacity: UInt32(levelCapacity), count: 0)
    msg.pointee.depth.asks = nt_levels(items: askStore, capacity: UInt32(levelCapacity), count: 0)
    let st = nt_binance_decode(
      decoder, bytes.assumingMemoryBound(to: CChar.self), count, readable,
      Int32(instrument.priceScale), Int32(instrument.quantityScale), msg, err)
    if st != NT_OK { errorCounts[Int(st.rawValue) & 15] &+= 1 }
    return st
  }

  /// Decodes a Swift byte array (tests, tools).
  public func decode(_ bytes: [UInt8]) -> nt_status {
    bytes.withUnsafeBytes {
      decode($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: $0.count, readable: $0.count)
    }
  }

  /// The last result. Valid until the next `decode`.
  @inlinable public var message: UnsafePointer<nt_binance_msg> { UnsafePointer(msg) }
  @inlinable public var bids: UnsafeBufferPointer<nt_level> {
    UnsafeBufferPointer(start: bidStore, count: Int(msg.pointee.depth.bids.count))
  }
  @inlinable public var asks: UnsafeBufferPointer<nt_level> {
    UnsafeBufferPointer(start: askStore, count: Int(msg.pointee.depth.asks.count))
  }
  /// The field the last failure was about ("b", "u", ...), for logs.
  public var lastErrorField: String { String(cString: err.pointee.field) }
  public var totalErrors: Int { errorCounts.reduce(0, +) }

  public static func describe(_ status: nt_status) -> String { String(cString: nt_status_string(status)) }
}
