/// What a strategy asks for. Plain values (no strings, no existentials), so intents cross the
/// strategy → wire ring without allocating; the wire side turns `tag` into a client order id.
public struct PlaceIntent: Sendable, Equatable, BitwiseCopyable {
  /// The strategy's own number for the order; unique per strategy run.
  public var tag: UInt64
  public var side: TradeSide
  /// Raw at the instrument's price scale.
  public var price: Int64
  /// Raw at the instrument's quantity scale.
  public var quantity: Int64
  public var postOnly: Bool
  /// Immediate-or-cancel: whatever does not fill at once expires (never rests).
  public var immediateOrCancel: Bool

  public init(
    tag: UInt64, side: TradeSide, price: Int64, quantity: Int64, postOnly: Bool = false,
    immediateOrCancel: Bool = false
  ) {
    self.tag = tag
    self.side = side
    self.price = price
    self.quantity = quantity
    self.postOnly = postOnly
    self.immediateOrCancel = immediateOrCancel
  }
}

/// Why the gate refused an intent. An enum, not a string: refusing must not allocate either.
public enum RiskRefusal: Int, Sendable, CaseIterable, CustomStringConvertible {
  case halted, quantity, notional, openOrders, position, priceBand, noReference, orderRate

  public var description: String {
    switch self {
    case .halted: "trading halted"
    case .quantity: "order quantity above the limit"
    case .notional: "order notional above the limit"
    case .openOrders: "too many open orders"
    case .position: "position limit would be exceeded if every open order on this side filled"
    case .priceBand: "price outside the band around the reference price"
    case .noReference: "no reference price yet (empty or crossed book)"
    case .orderRate: "order rate limit"
    }
  }
}

/// The limits an operator sets; every field has a "no limit" value so a config may name only some.
public struct RiskLimits: Sendable, Equatable {
  /// Largest quantity of one order (raw).
  public var maxOrderQuantity: Int64 = .max
  /// Largest price·quantity of one order (raw at price scale + quantity scale).
  public var maxOrderNotional: Int128 = .max
  /// Most orders open (or in flight) at once.
  public var maxOpenOrders: Int = .max
  /// Largest absolute net position (raw base quantity), counted as if every open order on the
  /// order's side filled: the worst case, not the hopeful one.
  public var maxPosition: Int64 = .max
  /// Largest distance of a limit price from the reference (mid) price, in basis points.
  /// `nil`: no band (and no reference needed).
  public var priceBandBps: Int64? = nil
  /// Most new orders per second, as a token bucket of this size refilled continuously.
  public var maxOrdersPerSecond: Int = .max

  public init() {}
}

/// The check between a strategy's intents and the order tracker. It keeps the exposure it has
/// let through (open quantity per side, open order count) and is told of fills and finished
/// orders by its owner on the strategy thread; it allocates nothing per intent.
public struct RiskGate {
  public var limits: RiskLimits
  /// Net base position (raw): buys add, sells subtract.
  public private(set) var position: Int64 = 0
  public private(set) var openOrders = 0
  public private(set) var openBuyQuantity: Int64 = 0
  public private(set) var openSellQuantity: Int64 = 0
  public private(set) var accepted = 0
  /// Refusals per reason, indexed by `RiskRefusal.rawValue`.
  public private(set) var refusals = [Int](repeating: 0, count: RiskRefusal.allCases.count)
  /// Why trading stopped (set by `halt`), or nil.
  public private(set) var haltReason: String?

  var tokens: Int64 = 0
  var lastRefillNs: Int64 = .min

  public init(limits: RiskLimits, position: Int64 = 0) {
    self.limits = limits
    self.position = position
  }

  public func refusals(_ r: RiskRefusal) -> Int { refusals[r.rawValue] }

  /// Stops every new order until `resume`; cancels still pass (they only reduce risk).
  public mutating func halt(_ reason: String) { haltReason = reason }
  public mutating func resume() { haltReason = nil }

  /// Admits or refuses a new order. `referencePrice` is the mid (or any price the operator trusts);
  /// 0 means none. On acceptance the order counts as open until `finished`.
  public mutating func check(_ i: PlaceIntent, referencePrice: Int64, now: Int64) -> RiskRefusal? {
    if let r = refusal(i, referencePrice: referencePrice, now: now) {
      refusals[r.rawValue] += 1
      return r
    }
    if limits.maxOrdersPerSecond != .max { tokens -= 1_000_000_000 }
    openOrders += 1
    if i.side == .buy { openBuyQuantity += i.quantity } else { openSellQuantity += i.quantity }
    accepted += 1
    return nil
  }

  mutating func refusal(_ i: PlaceIntent, referencePrice: Int64, now: Int64) -> RiskRefusal? {
    if haltReason != nil { return .halted }
    if i.quantity > limits.maxOrderQuantity { return .quantity }
    if Int128(i.price) * Int128(i.quantity) > limits.maxOrderNotional { return .notional }
    if openOrders >= limits.maxOpenOrders { return .openOrders }
    let worst =
      i.side == .buy
      ? position + openBuyQuantity + i.quantity
      : position - openSellQuantity - i.quantity
    if worst.magnitude > limits.maxPosition.magnitude { return .position }
    if let band = limits.priceBandBps {
      if referencePrice <= 0 { return .noReference }
      let distance = Int128((i.price - referencePrice).magnitude) * 10_000
      if distance > Int128(band) * Int128(referencePrice) { return .priceBand }
    }
    if limits.maxOrdersPerSecond != .max {
      let capacity = Int64(limits.maxOrdersPerSecond) * 1_000_000_000
      // Tokens are kept in nano-orders so the refill is exact integer arithmetic.
      if lastRefillNs == .min {
        tokens = capacity
      } else if now > lastRefillNs {
        let (add, overflow) = (now - lastRefillNs).multipliedReportingOverflow(
          by: Int64(limits.maxOrdersPerSecond))
        tokens = overflow ? capacity : min(capacity, tokens + add)
      }
      lastRefillNs = max(lastRefillNs, now)
      if tokens < 1_000_000_000 { return .orderRate }
    }
    return nil
  }

  /// A fill on an order the gate admitted: moves quantity from open to position.
  public mutating func filled(side: TradeSide, quantity: Int64) {
    if side == .buy {
      position += quantity
      openBuyQuantity = max(0, openBuyQuantity - quantity)
    } else {
      position -= quantity
      openSellQuantity = max(0, openSellQuantity - quantity)
    }
  }

  /// An admitted order is done (filled, cancelled, failed or lost) with `unfilled` left over.
  public mutating func finished(side: TradeSide, unfilled: Int64) {
    openOrders = max(0, openOrders - 1)
    if side == .buy {
      openBuyQuantity = max(0, openBuyQuantity - unfilled)
    } else {
      openSellQuantity = max(0, openSellQuantity - unfilled)
    }
  }
}
