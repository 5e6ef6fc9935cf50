import Engine
import Foundation

/// Binance spot's request kinds, as the shared `RateLimiter` numbers them, with their weights:
/// what each draws from REQUEST_WEIGHT (per IP, per minute) and, for a new order, from the ORDERS
/// pools (per account, per 10 seconds and per day).
public enum BinanceRequest {
  public static let place = RateLimiter.RequestKind(0)
  public static let cancel = RateLimiter.RequestKind(1)
  /// GET /api/v3/order (a status query): weight 4.
  public static let orderStatus = RateLimiter.RequestKind(2)
  public static let openOrders = RateLimiter.RequestKind(3)
  public static let myTrades = RateLimiter.RequestKind(4)
  public static let account = RateLimiter.RequestKind(5)
  public static let exchangeInfo = RateLimiter.RequestKind(6)
  public static let time = RateLimiter.RequestKind(7)
  /// GET /api/v3/depth: weight 5 up to 100 levels, 25 to 500, 50 to 1000, 250 beyond.
  public static func depth(limit: Int) -> RateLimiter.RequestKind {
    RateLimiter.RequestKind(limit <= 100 ? 8 : limit <= 500 ? 9 : limit <= 1000 ? 10 : 11)
  }
  /// GET /api/v3/myTrades for one order (`orderId`): weight 5.
  public static let orderTrades = RateLimiter.RequestKind(12)
}

/// Binance spot's limits (`exchangeInfo.rateLimits`): the request weight per minute and the new
/// orders per 10 seconds and per day. The defaults are the documented figures; a run reads the
/// venue's own from exchangeInfo.
public struct BinanceRateLimits: Sendable, Equatable {
  public var requestWeightPerMinute = 6_000
  public var ordersPer10Seconds = 50
  public var ordersPerDay = 160_000

  public init() {}

  /// From the `rateLimits` entries of an exchangeInfo answer (parsed at set-up, not per message) (REQUEST_WEIGHT per MINUTE, ORDERS
  /// per SECOND×10 and per DAY); entries it does not know keep their defaults.
  public init(rateLimits: [[String: Any]]) {
    for r in rateLimits {
      guard let type = r["rateLimitType"] as? String, let interval = r["interval"] as? String,
        let n = (r["intervalNum"] as? NSNumber)?.intValue, let limit = (r["limit"] as? NSNumber)?.intValue
      else { continue }
      switch (type, interval, n) {
      case ("REQUEST_WEIGHT", "MINUTE", 1): requestWeightPerMinute = limit
      case ("ORDERS", "SECOND", 10): ordersPer10Seconds = limit
      case ("ORDERS", "DAY", 1): ordersPerDay = limit
      default: continue
      }
    }
  }

  /// The limiter every Binance client of one IP and account shares; `sharePercent` of each limit
  /// when several engines trade on one key.
  public func limiter(sharePercent: Int = 100) -> RateLimiter {
    let minute: Int64 = 60_000_000_000
    let pools = [
      RateLimiter.Pool(name: "REQUEST_WEIGHT", limit: requestWeightPerMinute, windowNs: minute),
      RateLimiter.Pool(name: "ORDERS/10s", limit: ordersPer10Seconds, windowNs: 10_000_000_000),
      RateLimiter.Pool(name: "ORDERS/day", limit: ordersPerDay, windowNs: 1_440 * minute),
    ]
    func w(_ n: Int) -> [(pool: Int, weight: Int)] { [(pool: 0, weight: n)] }
    let kinds: [[(pool: Int, weight: Int)]] = [
      [(pool: 0, weight: 1), (pool: 1, weight: 1), (pool: 2, weight: 1)],  // place
      w(1),  // cancel
      w(4),  // order status
      w(6),  // open orders (one symbol)
      w(20),  // myTrades
      w(20),  // account
      w(20),  // exchangeInfo
      w(1),  // time
      w(5), w(25), w(50), w(250),  // depth by limit
      w(5),  // myTrades of one order
    ]
    return RateLimiter(pools: pools, kinds: kinds, sharePercent: sharePercent)
  }
}
