import Glibc

/// Where a resting order stands in its price level's queue, as a backtest estimates it from L2
/// data (which never shows our own order): `ahead` is the quantity estimated in front of us,
/// `tradedSince` the traded quantity at our price since the level last changed (the
/// probabilistic models use it to tell trades from cancellations).
///
/// The models are hftbacktest's (2.4.x, `backtest/models/queue.rs`), kept to its arithmetic — the
/// same operations in the same order on `Double`s, Rust's NaN-ignoring `min` and half-away
/// rounding — so that a differential test can ask for the same fills, not nearly the same:
///
/// - A new order joins the back: `ahead` = the level's quantity when it arrives (0 when empty).
/// - A trade of `q` at our price: `ahead −= q` (probabilistic models also `tradedSince += q`).
/// - The level changes from `P` to `N`:
///   - risk-averse: `ahead = min(ahead, N)` — cancellations are assumed to come from behind us;
///     the estimate only ever moves forward.
///   - probabilistic: with `F = ahead`, `Δ = (P − N) − tradedSince` (the decrease trades do not
///     explain: cancellations), `tradedSince = 0`. If `Δ < 0` (the level grew): `F = min(F, N)`.
///     Otherwise, with `B = P − F` behind us and `p = prob(F, B)` the share of the cancellations
///     assumed behind us (an infinite `p` counts as 1): `F = min(F − (1 − p)·Δ + min(B − p·Δ, 0), N)`
///     — what cannot come from behind (more than `B`) comes from the front.
/// - Filled at a trade at our price when `round(−ahead / lot) > 0`: the trades have gone at least
///   half a lot past the queue that was in front of us (then `ahead = 0`).
///
/// The probability functions, `F` ahead and `B` behind:
/// - `power(n)`: Bⁿ / (Bⁿ + Fⁿ);  `power2(n)`: Bⁿ / (B + F)ⁿ;  `power3(n)`: 1 − (F / (F + B))ⁿ
/// - `log`: ln(1 + B) / (ln(1 + B) + ln(1 + F));  `log2`: ln(1 + B) / ln(1 + B + F)
///
/// (Source: hftbacktest's documentation of its probabilistic queue models and `queue.rs`; the
/// formulas were re-derived and checked against hftbacktest 2.4.4's fills, see
/// docs/backtest/hftbacktest-semantics.md.)
public enum QueueModel: Sendable, Equatable, CustomStringConvertible {
  case riskAverse
  case power(Double)
  case power2(Double)
  case power3(Double)
  case log
  case log2

  /// The config's spelling: `risk_averse`, `power:N`, `power2:N`, `power3:N`, `log`, `log2`.
  public init?(config s: String) {
    let parts = s.split(separator: ":", maxSplits: 1).map(String.init)
    let n = parts.count == 2 ? Double(parts[1]) : nil
    switch parts[0] {
    case "risk_averse", "riskaverse", "risk_adverse": self = .riskAverse
    case "power" where n != nil: self = .power(n!)
    case "power2" where n != nil: self = .power2(n!)
    case "power3" where n != nil: self = .power3(n!)
    case "log" where parts.count == 1: self = .log
    case "log2" where parts.count == 1: self = .log2
    default: return nil
    }
  }

  public var description: String {
    switch self {
    case .riskAverse: "risk_averse"
    case .power(let n): "power:\(n)"
    case .power2(let n): "power2:\(n)"
    case .power3(let n): "power3:\(n)"
    case .log: "log"
    case .log2: "log2"
    }
  }

  /// The share of a level's cancellations assumed to be behind us (`front` ahead, `back` behind).
  public func probability(front f: Double, back b: Double) -> Double {
    switch self {
    case .riskAverse: 0
    case .power(let n):
      Glibc.pow(b, n) / (Glibc.pow(b, n) + Glibc.pow(f, n))
    case .power2(let n): Glibc.pow(b, n) / Glibc.pow(b + f, n)
    case .power3(let n): 1 - Glibc.pow(f / (f + b), n)
    case .log: Glibc.log(1 + b) / (Glibc.log(1 + b) + Glibc.log(1 + f))
    case .log2: Glibc.log(1 + b) / Glibc.log(1 + b + f)
    }
  }
}

/// One order's place in its queue (see `QueueModel`).
public struct QueuePosition: Sendable, Equatable {
  public var ahead: Double
  public var tradedSince: Double = 0

  /// At the back of a level showing `levelQuantity`.
  public init(levelQuantity: Double) { ahead = levelQuantity }
}

extension QueueModel {
  /// A trade of `quantity` at the order's price.
  @inline(__always)
  public func trade(_ q: inout QueuePosition, quantity: Double) {
    q.ahead -= quantity
    if self != .riskAverse { q.tradedSince += quantity }
  }

  /// The order's level changed from `previous` to `new` (market quantity, ours not in it).
  public func depth(_ q: inout QueuePosition, previous p: Double, new n: Double) {
    guard self != .riskAverse else {
      q.ahead = Double.minimum(q.ahead, n)
      return
    }
    let change = (p - n) - q.tradedSince
    q.tradedSince = 0
    if change < 0 {
      q.ahead = Double.minimum(q.ahead, n)
      return
    }
    let front = q.ahead
    let back = p - front
    var prob = probability(front: front, back: back)
    if prob.isInfinite { prob = 1 }
    let estimate = front - (1 - prob) * change + Double.minimum(back - prob * change, 0)
    q.ahead = Double.minimum(estimate, n)
  }

  /// Whether the trades have gone past the queue ahead (by at least half a `lot`); if so the
  /// position is at the front.
  public func isFilled(_ q: inout QueuePosition, lot: Double) -> Bool {
    guard roundedLots(-q.ahead / lot) > 0 else { return false }
    q.ahead = 0
    return true
  }
}

/// `x` rounded half away from zero to an integer, saturating, NaN as 0 (Rust's `f64::round() as
/// i64`).
@inline(__always)
func roundedLots(_ x: Double) -> Int64 {
  // Truncation is one instruction; the half-away step is exact (x − trunc(x) is representable).
  var r = x.rounded(.towardZero)
  let f = x - r
  if f >= 0.5 { r += 1 } else if f <= -0.5 { r -= 1 }
  if r.isNaN { return 0 }
  if r >= 9.223372036854775807e18 { return .max }
  if r <= -9.223372036854775808e18 { return .min }
  return Int64(r)
}
