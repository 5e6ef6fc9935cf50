import Testing

@testable import Engine

@Suite struct BudgetTests {
  // Prices at scale 2 (tick 1 = 0.01), quantities at scale 5 (step 1000 = 0.01).
  let rule = TradingRule(tickSize: 1, stepSize: 1_000, minQuantity: 1_000, minNotional: 5 * 10_000_000)

  @Test func collateralIsLockedAcrossTheBatch() {
    let b = BudgetChecker(rule: rule, fees: FeeSchema(makerRate: 100_000, takerRate: 100_000))
    // 300 USDT available (scale 7), two bids of 0.02 BTC at 10,000.00 (200 USDT each).
    let out = b.adjust(
      [
        OrderCandidate(side: .buy, price: 1_000_000, quantity: 2_000),
        OrderCandidate(side: .buy, price: 1_000_000, quantity: 2_000),
      ],
      availableBase: 0, availableQuote: 300 * 10_000_000)
    #expect(out.map(\.quantity) == [2_000, 1_000], "the second is scaled down to what is left (100 USDT)")
    // Sells are limited by base.
    let sells = b.adjust(
      [
        OrderCandidate(side: .sell, price: 1_000_000, quantity: 3_000),
        OrderCandidate(side: .sell, price: 1_000_100, quantity: 3_000),
      ],
      availableBase: 4_500, availableQuote: 0)
    #expect(sells.map(\.quantity) == [3_000, 1_000])
  }

  @Test func feesAddedToCostNeedCollateralToo() {
    let b = BudgetChecker(
      rule: rule, fees: FeeSchema(makerRate: 100_000, takerRate: 200_000, deductedFromReturns: false))
    // Exactly 200 USDT: 0.02 BTC at 10,000 costs 200 + 0.1% fee, so only 0.01 fits.
    let out = b.adjust(
      [OrderCandidate(side: .buy, price: 1_000_000, quantity: 2_000)], availableBase: 0,
      availableQuote: 200 * 10_000_000)
    #expect(out[0].quantity == 1_000)
    #expect(
      b.quoteNeeded(out[0], quantity: 1_000) == 100 * 10_000_000 + 1_000_000,
      "100 USDT notional plus 0.1 USDT fee")
  }

  @Test func tooSmallAfterScalingIsDropped() {
    let b = BudgetChecker(rule: rule, fees: FeeSchema(makerRate: 0, takerRate: 0))
    // 4 USDT buys 0.0004 BTC: below the 0.01 step → 0; and under the 5 USDT notional anyway.
    let out = b.adjust(
      [OrderCandidate(side: .buy, price: 1_000_000, quantity: 2_000)], availableBase: 0,
      availableQuote: 4 * 10_000_000)
    #expect(out[0].quantity == 0)
  }
}
