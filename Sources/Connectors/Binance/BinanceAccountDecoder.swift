import CSimdJSON
import FastBook

/// Decodes the Binance account stream's events (executionReport, outboundAccountPosition,
/// balanceUpdate, others by name) and WebSocket API answers (result — a subscription, or an
/// order's id, status, executed quantity and fills — and errors with code, message and
/// retryAfter) with CSimdJSON: one pass, no Foundation, nothing allocated per message. After a
/// successful call `message` holds the result and `balances` its balance entries, until the next.
/// Not thread-safe: one per wire thread.
public final class BinanceAccountDecoder {
  public let instrument: Instrument
  public let balanceCapacity: Int
  let decoder: OpaquePointer
  let store: UnsafeMutablePointer<nt_balance>
  let fillStore: UnsafeMutablePointer<nt_fill>
  /// Fills an order answer may carry (a FULL answer lists one per trade).
  public let fillCapacity: Int
  let msg: UnsafeMutablePointer<nt_account_msg>
  let err: UnsafeMutablePointer<nt_error>
  /// Failed decodes, by `nt_status` raw value (index 0 unused).
  public private(set) var errorCounts = [Int](repeating: 0, count: 16)

  /// `balanceCapacity` entries for an outboundAccountPosition (an account holds few assets that
  /// change in one event; more is an error, counted).
  public init(
    instrument: Instrument, maxMessageBytes: Int = 1 << 16, balanceCapacity: Int = 256,
    fillCapacity: Int = 512
  ) {
    guard let d = nt_decoder_new(maxMessageBytes) else { fatalError("out of memory creating a decoder") }
    self.instrument = instrument
    self.balanceCapacity = balanceCapacity
    decoder = d
    store = .allocate(capacity: balanceCapacity)
    store.initialize(repeating: nt_balance(), count: balanceCapacity)
    self.fillCapacity = fillCapacity
    fillStore = .allocate(capacity: fillCapacity)
    fillStore.initialize(repeating: nt_fill(), count: fillCapacity)
    msg = .allocate(capacity: 1)
    msg.initialize(to: nt_account_msg())
    err = .allocate(capacity: 1)
    err.initialize(to: nt_error())
  }

  deinit {
    nt_decoder_free(decoder)
    store.deallocate()
    fillStore.deallocate()
    msg.deallocate()
    err.deallocate()
  }

  /// Decodes `bytes` (parsed in place with NT_PADDING readable bytes after them, else copied).
  public func decode(_ bytes: UnsafeRawBufferPointer, readable: Int? = nil) -> nt_status {
    msg.pointee.balances = nt_balances(items: store, capacity: UInt32(balanceCapacity), count: 0)
    msg.pointee.answer.fills = nt_fills(items: fillStore, capacity: UInt32(fillCapacity), count: 0)
    let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
    let st = nt_binance_account_decode(
      decoder, base.assumingMemoryBound(to: CChar.self), bytes.count, readable ?? bytes.count,
      Int32(instrument.priceScale), Int32(instrument.quantityScale), msg, err)
    if st != NT_OK { errorCounts[Int(st.rawValue) & 15] &+= 1 }
    return st
  }

  public func decode(_ bytes: [UInt8]) -> nt_status { bytes.withUnsafeBytes { decode($0) } }

  public var message: UnsafePointer<nt_account_msg> { UnsafePointer(msg) }
  /// An order answer's fills (`result.fills`), until the next decode.
  public var fills: UnsafeBufferPointer<nt_fill> {
    UnsafeBufferPointer(start: fillStore, count: Int(msg.pointee.answer.fills.count))
  }
  public var balances: UnsafeBufferPointer<nt_balance> {
    UnsafeBufferPointer(start: store, count: Int(msg.pointee.balances.count))
  }
  /// The field the last failure was about, for logs.
  public var lastErrorField: String { String(cString: err.pointee.field) }
  /// The first decimal of the last message that did not fit its scale ("" when none).
  public var badNumber: String { String(cString: msg.pointee.bad_number) }

  /// The bytes of a fixed text field, valid during `body`.
  public static func withText<T, R>(_ field: T, count: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    withUnsafeBytes(of: field) { body(UnsafeRawBufferPointer(rebasing: $0[0..<min(count, $0.count)])) }
  }

  /// A fixed text field as a String (allocates: for logs, balances and tests, not the order path).
  public static func string<T>(_ field: T, count: Int) -> String {
    withText(field, count: count) { String(decoding: $0, as: UTF8.self) }
  }
}
