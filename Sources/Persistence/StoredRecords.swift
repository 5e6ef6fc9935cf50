import Engine
import FastBook

/// Which venue a run traded: what makes a venue's trade ids and client ids its own. Two runs
/// on one venue share its ids (a restart settles the earlier run's orders there); runs on two
/// venues never do, even with the same symbol.
///
/// - `kind`: the connector ("binance-spot"), or "demo" / "paper" for venues that live in the process.
/// - `environment`: where it is (the REST host and port: mainnet and testnet differ).
/// - `account`: the venue's own account id (Binance's `uid`); `unrecordedAccount` for live runs
///   of histories written before venues were recorded; "" for the venues of one process.
/// - `instance`: "" for a venue that outlives the process; otherwise an id of its own, so that a
///   venue made for one run (the demo's, a paper exchange) is never confused with the next one.
public struct VenueIdentity: Sendable, Hashable, CustomStringConvertible {
  public var kind: String
  public var environment: String
  public var account: String
  public var instance: String

  public init(kind: String, environment: String, account: String, instance: String = "") {
    self.kind = kind
    self.environment = environment
    self.account = account
    self.instance = instance
  }

  /// The account of a schema-1 live run (the history did not record it): a restart on the same
  /// kind and environment settles such runs' orders too.
  public static let unrecordedAccount = "(not recorded: schema 1)"

  /// True for a venue migrated from a history that did not record the account.
  public var accountUnrecorded: Bool { account == Self.unrecordedAccount }

  /// A venue that exists for this process only: a new instance id each call (64 random bits
  /// and the wall clock).
  public static func ephemeral(kind: String, environment: String, nowNs: Int64) -> VenueIdentity {
    VenueIdentity(
      kind: kind, environment: environment, account: "",
      instance: String(UInt64.random(in: 0...UInt64.max), radix: 16) + "@" + String(nowNs))
  }

  /// True for a venue that ended with its process (its orders cannot be asked about later).
  public var ephemeral: Bool { !instance.isEmpty }

  /// The unique key the history keeps it by.
  public var key: String { [kind, environment, account, instance].joined(separator: "|") }

  public var description: String {
    var s = "\(kind) \(environment)"
    if !account.isEmpty { s += " account \(account)" }
    if ephemeral { s += " #\(instance.prefix { $0 != "@" })" }
    return s
  }
}

/// One run of a strategy, as the history keeps it: what it traded, at which scales and fees,
/// with which client-order-id prefix, from which balances (asset units of 10⁻¹⁸).
public struct RunInfo: Sendable, Equatable {
  public var id: Int64 = 0
  /// Wall clock, ns since 1970.
  public var startedAtNs: Int64
  /// "live", "paper" or "demo".
  public var mode: String
  public var venue: VenueIdentity
  /// The venue's row in the history (set when the run is added).
  public var venueID: Int64 = 0
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
    startedAtNs: Int64, mode: String, venue: VenueIdentity, symbol: String, baseAsset: String,
    quoteAsset: String,
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

/// A fill as the history keeps it; `feeQuote` is the fee in quote, in price·quantity raws. Its
/// venue is its run's: a fill is one trade of one venue, kept once by (venue, symbol, trade id).
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

/// What `TradeStore.add(_:orderFilled:)` did with a fill.
public enum FillWrite: Sendable, Equatable {
  /// New: kept.
  case added
  /// The same trade already kept (same order, side, price and quantity): nothing to do. Its fee
  /// and time may differ (the stream's fee is estimated, a restart reads the venue's).
  case duplicate
  /// The venue's trade id is already kept for something else: the fill is not kept as a fill;
  /// it is recorded in `fill_conflicts` and counted in the run's history.
  case conflict(kept: StoredFill)
}

/// A fill that was not kept because its (venue, symbol, trade id) was already kept for a
/// different order, side, price or quantity.
public struct FillConflict: Sendable, Equatable {
  public var fill: StoredFill
  public var kept: StoredFill
  public var foundNs: Int64
}
