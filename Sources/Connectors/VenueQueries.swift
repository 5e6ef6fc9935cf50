import Engine
import FastBook

// The venue boundary's blocking side: what the CLI asks a venue before it trades — the account's
// balances and fees, and what earlier runs left there — without knowing which venue it is.

/// One symbol as the venue describes it before trading: the instrument, its trading rule, and the
/// names of its two assets.
public struct SymbolInfo: Sendable, Equatable {
  public var instrument: Instrument
  public var rule: TradingRule
  public var baseAsset: String
  public var quoteAsset: String
  public init(instrument: Instrument, rule: TradingRule, baseAsset: String, quoteAsset: String) {
    self.instrument = instrument
    self.rule = rule
    self.baseAsset = baseAsset
    self.quoteAsset = quoteAsset
  }
}

/// The account as the venue reports it: balances in units of 10⁻¹⁸ per asset, the account's
/// commission rates (nil when the venue's answer has none) and the venue's id of the account (nil
/// when absent: the history keys accounts by it, so a live run refuses to trade without it).
public struct AccountSnapshot: Sendable {
  public var balances: [String: (free: Int128, locked: Int128)]
  public var fees: FeeSchema?
  public var account: String?
  public init(balances: [String: (free: Int128, locked: Int128)], fees: FeeSchema?, account: String?) {
    self.balances = balances
    self.fees = fees
    self.account = account
  }
}

/// What a restart found out at the venue about the orders an earlier run left (see
/// `VenueAccountQueries.recover`): every order's final state, the fills the history had not
/// seen, and what could not be settled.
public struct RecoveryReport: Sendable {
  /// An order of an earlier run, as the venue (or, if it never got there, the recovery) ends it.
  public struct Order: Sendable, Equatable {
    public var clientOrderID: String
    public var venueOrderID: Int64
    public var side: TradeSide
    public var price: Int64
    public var quantity: Int64
    public var filled: Int64
    public var state: OrderState
    /// The history did not have it (its placement was not written before the process ended).
    public var adopted: Bool
    /// The recovery cancelled it (it was still working at the venue).
    public var cancelledNow: Bool
    public init(
      clientOrderID: String, venueOrderID: Int64, side: TradeSide, price: Int64, quantity: Int64,
      filled: Int64,
      state: OrderState, adopted: Bool, cancelledNow: Bool
    ) {
      self.clientOrderID = clientOrderID
      self.venueOrderID = venueOrderID
      self.side = side
      self.price = price
      self.quantity = quantity
      self.filled = filled
      self.state = state
      self.adopted = adopted
      self.cancelledNow = cancelledNow
    }
  }
  /// One of its fills, with the venue's commission (units of 10⁻⁸ of `commissionAsset`).
  public struct Trade: Sendable, Equatable {
    public var clientOrderID: String
    public var tradeID: Int64
    public var venueOrderID: Int64
    public var side: TradeSide
    public var price: Int64
    public var quantity: Int64
    public var commission: Int128
    public var commissionAsset: String
    public var timeMs: Int64
    public init(
      clientOrderID: String, tradeID: Int64, venueOrderID: Int64, side: TradeSide, price: Int64,
      quantity: Int64,
      commission: Int128, commissionAsset: String, timeMs: Int64
    ) {
      self.clientOrderID = clientOrderID
      self.tradeID = tradeID
      self.venueOrderID = venueOrderID
      self.side = side
      self.price = price
      self.quantity = quantity
      self.commission = commission
      self.commissionAsset = commissionAsset
      self.timeMs = timeMs
    }
  }
  public var orders: [Order] = []
  public var trades: [Trade] = []
  /// Client ids whose state stayed unknown (the venue did not answer in time): they stay in flight.
  public var unresolved: [String] = []
  public var requests = 0
  public init() {}
}

/// Why a venue call gave no answer: the venue's own code and message when it refused, so that a
/// user sees "-1022 Signature for this request is not valid." rather than a guess.
public struct VenueCallError: Error, Sendable, Equatable, CustomStringConvertible {
  public var call: String
  /// The venue's error code (Binance: -1022, -2014, ...); nil when the venue said nothing.
  public var code: Int?
  public var message: String
  public var httpStatus: Int?
  public init(call: String, code: Int? = nil, message: String, httpStatus: Int? = nil) {
    self.call = call
    self.code = code
    self.message = message
    self.httpStatus = httpStatus
  }

  public var description: String {
    guard let code else { return "\(call) failed: \(message)" }
    let status = httpStatus.map { " (HTTP \($0))" } ?? ""
    let hint = Self.hints[code].map { "; \($0)" } ?? ""
    return "\(call) refused by the venue: \(code) \(message)\(status)\(hint)"
  }

  /// What a user can do about Binance's refusals of signed requests.
  static let hints: [Int: String] = [
    -1021: "this host's clock or the request's recv_window: the request reached the venue outside its window",
    -1022: "the secret does not match the API key (check the secret's environment variable or file)",
    -2014: "the API key is not in the form the venue issues (check the key's environment variable)",
    -2015:
      "the venue does not accept this key from here: a wrong or deleted key, a missing permission, or an IP not on the key's list",
  ]
}

/// A venue's blocking account calls, made on the adapter's loop before trading starts (and so
/// before `start()`): they are not on any hot path.
public protocol VenueAccountQueries: AnyObject {
  /// The account's balances, fees and id; the venue's refusal (or the failure) when there is none.
  func fetchAccount(timeoutNs: Int64) throws(VenueCallError) -> AccountSnapshot
  /// Before trading after a crash or restart: settles every order an earlier run may have left.
  ///
  /// - `known`: the history's in-flight orders (client id → venue id, 0 when unknown).
  /// - `prefixes`: the client-id prefixes of earlier runs; an open order or a fill of an order
  ///   with one of them that the history lacks (written after its last commit) is adopted.
  /// - `fromTradeID`: the history's last trade id + 1 (nil: none kept); fills from there on are
  ///   searched for orders of ours that finished while nobody watched.
  ///
  /// Orders still working are cancelled — the new run starts from a flat book of its own instead
  /// of quoting twice — and each ends in its venue state with every fill.
  func recover(
    known: [(clientOrderID: String, venueOrderID: Int64)], prefixes: [String], fromTradeID: Int64?,
    timeoutNs: Int64
  ) -> RecoveryReport
}

extension TradingNode {
  /// The adapter's `fetchAccount` (blocking on the node's loop; call before `start()`).
  public func fetchAccount(timeoutNs: Int64 = 5_000_000_000) throws(VenueCallError) -> AccountSnapshot {
    try adapter.fetchAccount(timeoutNs: timeoutNs)
  }
  /// Balances alone (units of 10⁻¹⁸ per asset; nil: the call failed).
  public func fetchBalances(timeoutNs: Int64 = 5_000_000_000) -> [String: (free: Int128, locked: Int128)]? {
    (try? adapter.fetchAccount(timeoutNs: timeoutNs))?.balances
  }
  /// The adapter's `recover` (blocking on the node's loop; call before `start()`).
  public func recover(
    known: [(clientOrderID: String, venueOrderID: Int64)], prefixes: [String], fromTradeID: Int64?,
    timeoutNs: Int64 = 5_000_000_000
  ) -> RecoveryReport {
    adapter.recover(known: known, prefixes: prefixes, fromTradeID: fromTradeID, timeoutNs: timeoutNs)
  }
}
