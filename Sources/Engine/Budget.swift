/// How a venue charges fees.
public struct FeeSchema: Sendable, Equatable {
  /// Rates as fractions at scale 8 (0.001 = 100_000).
  public var makerRate: Int64
  public var takerRate: Int64
  /// true: the fee is taken from what the order receives (Binance spot without BNB); false: it is
  /// added to what the order pays, so it needs collateral too.
  public var deductedFromReturns: Bool
  public init(makerRate: Int64, takerRate: Int64, deductedFromReturns: Bool = true) {
    self.makerRate = makerRate
    self.takerRate = takerRate
    self.deductedFromReturns = deductedFromReturns
  }
}

/// An order a strategy proposes, before funds are checked.
public struct OrderCandidate: Sendable, Equatable {
  public var side: TradeSide
  public var price: Int64  // raw at the price scale
  public var quantity: Int64  // raw at the quantity scale
  public var isMaker: Bool
  public init(side: TradeSide, price: Int64, quantity: Int64, isMaker: Bool = true) {
    self.side = side
    self.price = price
    self.quantity = quantity
    self.isMaker = isMaker
  }
}

/// Checks a batch of proposals against available balances, locking collateral across the batch
/// (the second order sees what the first one took), and scales an order down to what is left —
/// on the step grid — or drops it (quantity 0) when that falls under the rule's minimums.
/// Amounts: base in quantity raws, quote in price·quantity raws (price scale + quantity scale).
public struct BudgetChecker {
  public let rule: TradingRule
  public let fees: FeeSchema

  public init(rule: TradingRule, fees: FeeSchema) {
    self.rule = rule
    self.fees = fees
  }

  /// Quote an order of `quantity` at `price` needs (fee included when it is added to the cost).
  public func quoteNeeded(_ c: OrderCandidate, quantity: Int64) -> Int128 {
    let notional = Int128(c.price) * Int128(quantity)
    if fees.deductedFromReturns { return notional }
    let rate = Int128(c.isMaker ? fees.makerRate : fees.takerRate)
    return notional + (notional * rate + 99_999_999) / 100_000_000  // rounded up: never short
  }

  public func adjust(_ candidates: [OrderCandidate], availableBase: Int64, availableQuote: Int128)
    -> [OrderCandidate]
  {
    var base = availableBase
    var quote = availableQuote
    var out: [OrderCandidate] = []
    for var c in candidates {
      var q = rule.quantize(quantity: c.quantity)
      switch c.side {
      case .sell:
        q = min(q, base - base % rule.stepSize)
      case .buy:
        if quoteNeeded(c, quantity: q) > quote {
          // The largest step multiple that fits (binary search: the fee makes it non-linear).
          var lo: Int64 = 0
          var hi = q / rule.stepSize
          while lo < hi {
            let mid = (lo + hi + 1) / 2
            if quoteNeeded(c, quantity: mid * rule.stepSize) <= quote { lo = mid } else { hi = mid - 1 }
          }
          q = lo * rule.stepSize
        }
      }
      if q > 0 && rule.violation(price: c.price, quantity: q) != nil { q = 0 }
      c.quantity = q
      if q > 0 {
        if c.side == .sell { base -= q } else { quote -= quoteNeeded(c, quantity: q) }
      }
      out.append(c)
    }
    return out
  }
}
