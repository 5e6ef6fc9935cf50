import FastBook

/// Binance's order vocabulary, spelled as on the wire.
public enum OrderSide: String, Sendable { case BUY, SELL }
public enum OrderType: String, Sendable { case LIMIT, MARKET, LIMIT_MAKER }
public enum TimeInForce: String, Sendable { case GTC, IOC, FOK }
public enum OrderStatus: String, Sendable {
  case NEW, PARTIALLY_FILLED, FILLED, CANCELED, REJECTED, EXPIRED, EXPIRED_IN_MATCH
  public var isOpen: Bool { self == .NEW || self == .PARTIALLY_FILLED }
}
public enum ExecutionType: String, Sendable { case NEW, CANCELED, REJECTED, TRADE, EXPIRED, TRADE_PREVENTION }
public enum STPMode: String, Sendable { case NONE, EXPIRE_TAKER, EXPIRE_MAKER, EXPIRE_BOTH }

/// A Binance-style error: HTTP status, code and message (`{"code":-2010,"msg":"..."}`).
public struct VenueError: Error, Equatable, Sendable, CustomStringConvertible {
  public var httpStatus: Int
  public var code: Int
  public var msg: String
  public init(_ httpStatus: Int, _ code: Int, _ msg: String) {
    self.httpStatus = httpStatus
    self.code = code
    self.msg = msg
  }
  public var description: String { "\(code) \(msg)" }

  public static func filter(_ name: String) -> VenueError {
    VenueError(400, -1013, "Filter failure: \(name)")
  }
  public static let insufficientBalance = VenueError(
    400, -2010, "Account has insufficient balance for requested action.")
  public static let wouldTake = VenueError(400, -2010, "Order would immediately match and take.")
  public static let duplicate = VenueError(400, -2010, "Duplicate order sent.")
  public static let unknownOrderCancel = VenueError(400, -2011, "Unknown order sent.")
  public static let noSuchOrder = VenueError(400, -2013, "Order does not exist.")
  public static let badSymbol = VenueError(400, -1121, "Invalid symbol.")
  public static func badParam(_ msg: String) -> VenueError { VenueError(400, -1102, msg) }
}

/// One tradable symbol with the filters Binance enforces. Prices in ticks of `instrument`,
/// quantities in its lot raws. A limit of 0 disables that check, as on Binance.
public struct VenueSymbol: Sendable {
  public var name: String
  public var baseAsset: String
  public var quoteAsset: String
  public var instrument: Instrument
  /// PRICE_FILTER min/max, in ticks (0 = unchecked).
  public var minPriceTicks: Int64 = 0
  public var maxPriceTicks: Int64 = 0
  /// LOT_SIZE min/max/step, as quantity raws.
  public var minQty: Int64 = 0
  public var maxQty: Int64 = 0
  public var stepQty: Int64 = 1
  /// NOTIONAL min/max, in quote raws at priceScale + quantityScale (0 = unchecked).
  public var minNotional: Int128 = 0
  public var maxNotional: Int128 = 0
  public var applyMinToMarket = true
  /// MAX_NUM_ORDERS: open orders per account on this symbol (0 = unlimited).
  public var maxNumOrders = 200
  /// Fee rates as fractions at scale 8 (0.001 = 100_000).
  public var makerFeeRate: Int64 = 100_000
  public var takerFeeRate: Int64 = 100_000
  public var defaultSTP: STPMode = .EXPIRE_MAKER
  public var allowedSTP: [STPMode] = [.NONE, .EXPIRE_TAKER, .EXPIRE_MAKER, .EXPIRE_BOTH]

  public init(name: String, baseAsset: String, quoteAsset: String, instrument: Instrument) {
    self.name = name
    self.baseAsset = baseAsset
    self.quoteAsset = quoteAsset
    self.instrument = instrument
  }
}

/// An order as the venue holds it.
public struct VenueOrder: Sendable, Equatable {
  public var orderId: Int64
  public var clientOrderId: String
  public var account: Int
  public var symbol: String
  public var side: OrderSide
  public var type: OrderType
  public var timeInForce: TimeInForce
  /// Limit price in ticks (0 for MARKET).
  public var priceTicks: Int64
  /// Ordered quantity (for a MARKET by quote amount: what was bought).
  public var origQty: Int64
  public var quoteOrderQty: Int128
  public var executedQty: Int64 = 0
  /// Σ price·qty of the fills, at priceScale + quantityScale.
  public var cumulativeQuoteQty: Int128 = 0
  public var status: OrderStatus = .NEW
  public var stpMode: STPMode
  public var time: Int64
  public var updateTime: Int64
  public var isWorking = false
  /// Replayed-flow mode: the outside market's quantity ahead of this order in its level's queue
  /// (what the market showed there when it started resting; reduced by trades at its price, and
  /// to what the market still shows there when that falls below it: hftbacktest's risk-averse
  /// model, exact for a queue whose cancels come from its back).
  public var queueAhead: Int64 = 0
  public var remaining: Int64 { origQty - executedQty }
}

/// A fill, as the taker's FULL response lists it and as `myTrades` returns it per side.
public struct VenueTrade: Sendable, Equatable {
  public var tradeId: Int64
  public var symbol: String
  public var priceTicks: Int64
  public var qty: Int64
  public var quoteQty: Int128
  public var buyerOrderId: Int64
  public var sellerOrderId: Int64
  public var buyerAccount: Int
  public var sellerAccount: Int
  public var buyerIsMaker: Bool
  /// Commission charged to each side, in the asset it received (buyer: base, seller: quote), in
  /// asset units (scale 18).
  public var buyerCommission: Int128
  public var sellerCommission: Int128
  public var time: Int64
}

/// What a change did to an order: one executionReport's worth.
public struct OrderEvent: Sendable, Equatable {
  public var order: VenueOrder
  public var execution: ExecutionType
  /// The fill this event reports (TRADE), else nil.
  public var trade: VenueTrade?
}
