import CSimdJSON
import Engine
import FastBook

/// What a Binance spot REST body says, read by CSimdJSON (`BinanceRESTDecoder`): an order's id,
/// state and executed quantity, a myTrades list, or an error's code and message.
public struct BinanceRESTAnswer {
  /// `orderId`; -1 when the body has none.
  public var venueOrderID: Int64 = -1
  /// `status`, an `nt_order_status` raw value (0 when absent or unknown).
  public var orderStatus: UInt8 = 0
  /// `executedQty` at the quantity scale; -1 when absent.
  public var executedQuantity: Int64 = -1
  /// A myTrades answer's entries (price and quantity -1 where they do not fit the scales).
  public var trades: [nt_rest_trade] = []
  /// An error body's `code` and `msg`.
  public var errorCode: Int64?
  public var errorMessage = ""

  /// The order state as the tracker reads it (nil when the status says nothing definite).
  public var statusKind: ExecEvent.Kind? { Self.kind(ofStatus: orderStatus) }

  /// An `nt_order_status` as the tracker reads it (nil when it says nothing definite).
  public static func kind(ofStatus orderStatus: UInt8) -> ExecEvent.Kind? {
    switch Int(orderStatus) {
    case Int(NT_ORDER_NEW.rawValue), Int(NT_ORDER_PARTIALLY_FILLED.rawValue), Int(NT_ORDER_FILLED.rawValue):
      .accepted
    case Int(NT_ORDER_CANCELED.rawValue), Int(NT_ORDER_EXPIRED.rawValue),
      Int(NT_ORDER_EXPIRED_IN_MATCH.rawValue):
      .cancelled
    case Int(NT_ORDER_REJECTED.rawValue): .rejected
    default: nil
    }
  }
}

/// Decodes Binance spot REST bodies (orders, myTrades lists, error bodies) with CSimdJSON: one
/// pass, no Foundation. The decoder's buffers are allocated once; a myTrades answer's entries are
/// copied into the answer's array (one allocation per list, none per order or error).
/// Not thread-safe: one per REST client.
public final class BinanceRESTDecoder {
  public let instrument: Instrument
  let decoder: OpaquePointer
  let msg: UnsafeMutablePointer<nt_account_msg>
  let err: UnsafeMutablePointer<nt_error>
  let fillStore: UnsafeMutablePointer<nt_fill>
  let tradeStore: UnsafeMutablePointer<nt_rest_trade>
  let fillCapacity: Int
  let tradeCapacity: Int
  let tradeList: UnsafeMutablePointer<nt_rest_trades>
  /// Failed decodes, by `nt_status` raw value (index 0 unused).
  public private(set) var errorCounts = [Int](repeating: 0, count: 16)

  /// Bodies up to `maxBodyBytes` (a 1,000-entry myTrades answer is about 250 kB).
  public init(
    instrument: Instrument, maxBodyBytes: Int = 1 << 21, fillCapacity: Int = 1024, tradeCapacity: Int = 1000
  ) {
    guard let d = nt_decoder_new(maxBodyBytes) else { fatalError("out of memory creating a decoder") }
    self.instrument = instrument
    decoder = d
    self.fillCapacity = fillCapacity
    self.tradeCapacity = tradeCapacity
    msg = .allocate(capacity: 1)
    msg.initialize(to: nt_account_msg())
    err = .allocate(capacity: 1)
    err.initialize(to: nt_error())
    fillStore = .allocate(capacity: fillCapacity)
    fillStore.initialize(repeating: nt_fill(), count: fillCapacity)
    tradeStore = .allocate(capacity: tradeCapacity)
    tradeStore.initialize(repeating: nt_rest_trade(), count: tradeCapacity)
    tradeList = .allocate(capacity: 1)
    tradeList.initialize(to: nt_rest_trades(items: tradeStore, capacity: UInt32(tradeCapacity), count: 0))
  }

  deinit {
    nt_decoder_free(decoder)
    msg.deallocate()
    err.deallocate()
    fillStore.deallocate()
    tradeStore.deallocate()
    tradeList.deallocate()
  }

  /// What `read` found, in scalars: a myTrades list stays in the decoder (`trades`), an error's
  /// message too (`errorMessage()`).
  public struct Read {
    /// `orderId`; -1 when the body has none.
    public var venueOrderID: Int64 = -1
    /// `status`, an `nt_order_status` raw value (0 when absent or unknown).
    public var orderStatus: UInt8 = 0
    /// `executedQty` at the quantity scale; -1 when absent.
    public var executedQuantity: Int64 = -1
    /// A myTrades answer (its entries: `trades`).
    public var isTradeList = false
    /// An error body's `code`.
    public var errorCode: Int64?
  }

  /// Reads a body in place: nothing allocated. Nil when it is not a body of these shapes
  /// (malformed, cut short, too large, a field missing: `lastError`, counted in `errorCounts`).
  public func read(_ body: UnsafeRawBufferPointer) -> Read? {
    msg.pointee.answer.fills = nt_fills(items: fillStore, capacity: UInt32(fillCapacity), count: 0)
    tradeList.pointee = nt_rest_trades(items: tradeStore, capacity: UInt32(tradeCapacity), count: 0)
    let base = body.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
    let st = nt_binance_rest_decode(
      decoder, base.assumingMemoryBound(to: CChar.self), body.count, body.count, Int32(instrument.priceScale),
      Int32(instrument.quantityScale), msg, tradeList, err)
    lastStatus = st
    guard st == NT_OK else {
      errorCounts[Int(st.rawValue) & 15] &+= 1
      return nil
    }
    var a = Read()
    let m = msg.pointee
    if m.kind == NT_ACCOUNT_TRADES {
      a.isTradeList = true
    } else if m.answer.has_error != 0 {
      a.errorCode = m.answer.error_code
    } else {
      a.venueOrderID = m.answer.order_id
      a.orderStatus = m.answer.order_status
      a.executedQuantity = m.answer.executed_qty
    }
    return a
  }

  var lastStatus = NT_OK

  /// Why the last `read` failed.
  public var lastError: BinanceRESTDecodeError {
    BinanceRESTDecodeError(status: lastStatus, field: String(cString: err.pointee.field))
  }

  /// The last myTrades answer's entries, in place (valid until the next `read`).
  public var trades: UnsafeBufferPointer<nt_rest_trade> {
    UnsafeBufferPointer(start: tradeStore, count: Int(tradeList.pointee.count))
  }

  /// The last error body's `msg` (made only when asked).
  public func errorMessage() -> String {
    BinanceAccountDecoder.string(msg.pointee.answer.error_msg, count: Int(msg.pointee.answer.error_msg_len))
  }

  /// The body read, or the decoder's status when it is not a body of these shapes (malformed,
  /// cut short, too large, a field missing). A myTrades list is copied out (one allocation).
  public func decode(_ body: [UInt8]) -> Result<BinanceRESTAnswer, BinanceRESTDecodeError> {
    guard let r = body.withUnsafeBytes({ self.read($0) }) else { return .failure(lastError) }
    var a = BinanceRESTAnswer()
    if r.isTradeList {
      a.trades = Array(trades)
    } else if let code = r.errorCode {
      a.errorCode = code
      a.errorMessage = errorMessage()
    } else {
      a.venueOrderID = r.venueOrderID
      a.orderStatus = r.orderStatus
      a.executedQuantity = r.executedQuantity
    }
    return .success(a)
  }
}

/// Why a REST body could not be read: the decoder's status and the field it was on.
public struct BinanceRESTDecodeError: Error, CustomStringConvertible {
  public let status: nt_status
  public let field: String
  public var description: String {
    String(cString: nt_status_string(status)) + (field.isEmpty ? "" : " at \(field)")
  }
}
