/// A venue's order constraints for one symbol, as raws (prices at the price scale, quantities
/// at the quantity scale): what a strategy's proposal must be rounded to before it is sent.
public struct TradingRule: Sendable, Equatable {
  public var tickSize: Int64
  public var stepSize: Int64
  public var minQuantity: Int64
  public var maxQuantity: Int64
  /// Minimum price·quantity, as a raw at price scale + quantity scale (0: none).
  public var minNotional: Int128

  public init(
    tickSize: Int64, stepSize: Int64, minQuantity: Int64 = 0, maxQuantity: Int64 = .max,
    minNotional: Int128 = 0
  ) {
    precondition(tickSize > 0 && stepSize > 0)
    self.tickSize = tickSize
    self.stepSize = stepSize
    self.minQuantity = minQuantity
    self.maxQuantity = maxQuantity
    self.minNotional = minNotional
  }

  /// A price on the tick grid, never more aggressive than asked: bids round down, asks up.
  public func quantize(price: Int64, side: TradeSide) -> Int64 {
    let r = price % tickSize
    if r == 0 { return price }
    let down = price - (r < 0 ? r + tickSize : r)
    return side == .buy ? down : down + tickSize
  }

  /// A quantity on the step grid, rounded down (never more than asked), capped at the maximum.
  public func quantize(quantity: Int64) -> Int64 {
    min(quantity - quantity % stepSize, maxQuantity - maxQuantity % stepSize)
  }

  /// Why an order would be refused, or nil when it passes (checked after quantizing).
  public func violation(price: Int64, quantity: Int64) -> String? {
    if quantity <= 0 { return "quantity rounds to zero" }
    if quantity < minQuantity { return "quantity below the minimum" }
    if quantity > maxQuantity { return "quantity above the maximum" }
    if minNotional > 0 && Int128(price) * Int128(quantity) < minNotional {
      return "notional below the minimum"
    }
    return nil
  }
}
