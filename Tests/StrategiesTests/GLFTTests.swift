import Engine
import FastBook
import Foundation
import Testing

@testable import Strategies

@Suite struct GLFTTests {
  /// The fit recovers A and k from rates that follow λ(δ) = A·e^(−kδ), and refuses what cannot
  /// be fitted (too few depths reached, or a rate that grows with depth).
  @Test func theIntensityFitRecoversAAndK() throws {
    let f = try #require(GLFTMarketMaking.fit(depths: 20) { 3.5 * exp(-0.4 * (Double($0) + 0.5)) })
    #expect(abs(f.a - 3.5) < 1e-9 && abs(f.k - 0.4) < 1e-9)
    #expect(GLFTMarketMaking.fit(depths: 20) { $0 < 2 ? 1 : 0 } == nil)
    #expect(GLFTMarketMaking.fit(depths: 10) { Double($0) + 1 } == nil)
  }

  /// The closed form's limits: with little risk aversion the half spread is 1/k (the
  /// intensity's own optimum) and the inventory skew vanishes; more risk aversion or more
  /// volatility widens and skews more.
  @Test func theQuotesBehaveAsTheModelSays() {
    let calm = GLFTMarketMaking.quotes(gamma: 1e-9, a: 2, k: 0.5, sigma: 3)
    #expect(abs(calm.halfSpread - 2) < 1e-3 && calm.skew < 1e-3)
    let base = GLFTMarketMaking.quotes(gamma: 0.1, a: 2, k: 0.5, sigma: 3)
    let averse = GLFTMarketMaking.quotes(gamma: 0.5, a: 2, k: 0.5, sigma: 3)
    let volatile = GLFTMarketMaking.quotes(gamma: 0.1, a: 2, k: 0.5, sigma: 6)
    #expect(averse.skew > base.skew && volatile.skew > base.skew && volatile.halfSpread > base.halfSpread)
    // At this γ, the spread term: c1 = ln(1 + γ/k)/γ, c2 = √(γ/(2Ak)·(1 + γ/k)^(k/γ+1)).
    let c1 = log(1 + 0.1 / 0.5) / 0.1
    let c2 = (0.1 / (2 * 2 * 0.5) * pow(1 + 0.1 / 0.5, 0.5 / 0.1 + 1)).squareRoot()
    #expect(abs(base.halfSpread - (c1 + 0.5 * 3 * c2)) < 1e-12 && abs(base.skew - 3 * c2) < 1e-12)
  }
}
