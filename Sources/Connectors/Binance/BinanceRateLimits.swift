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

/// Binance spot's limits (`exchangeInfo.rateLimits`): request weight (per IP), new orders (per
/// account) and raw requests, each per its interval. The defaults are the documented figures
/// (6,000 weight a minute; 50 orders per 10 s, 160,000 a day); a run reads the venue's own from
/// exchangeInfo, whatever intervals it names.
public struct BinanceRateLimits: Sendable, Equatable {
  /// The kinds of limit Binance names (`rateLimitType`), as the limiter's pools are tagged.
  public enum Kind: Int, Sendable {
    case requestWeight = 0
    case orders = 1
    case rawRequests = 2

    init?(_ name: String) {
      switch name {
      case "REQUEST_WEIGHT": self = .requestWeight
      case "ORDERS": self = .orders
      case "RAW_REQUESTS": self = .rawRequests
      default: return nil
      }
    }
    var name: String {
      switch self {
      case .requestWeight: "REQUEST_WEIGHT"
      case .orders: "ORDERS"
      case .rawRequests: "RAW_REQUESTS"
      }
    }
  }

  public struct Limit: Sendable, Equatable {
    public var kind: Kind
    public var limit: Int
    public var windowNs: Int64
    public init(_ kind: Kind, _ limit: Int, windowNs: Int64) {
      self.kind = kind
      self.limit = limit
      self.windowNs = windowNs
    }
  }

  static let second: Int64 = 1_000_000_000
  static let minute = 60 * second

  public var limits: [Limit] = [
    Limit(.requestWeight, 6_000, windowNs: minute),
    Limit(.orders, 50, windowNs: 10 * second),
    Limit(.orders, 160_000, windowNs: 1_440 * minute),
  ]

  /// This engine's share of each limit, in percent (Hummingbot's `rate_limits_share_pct`): for
  /// several engines on one key or IP. 1...100.
  public var sharePercent = 100

  public init() {}

  /// From the `rateLimits` entries of an exchangeInfo answer (parsed at set-up, not per message):
  /// every REQUEST_WEIGHT, ORDERS and RAW_REQUESTS entry with its interval (SECOND, MINUTE, HOUR,
  /// DAY × intervalNum). Without any entry the documented defaults stay.
  public init(rateLimits: [[String: Any]]) {
    var read: [Limit] = []
    for r in rateLimits {
      guard let type = (r["rateLimitType"] as? String).flatMap(Kind.init),
        let interval = r["interval"] as? String, let n = (r["intervalNum"] as? NSNumber)?.intValue,
        let limit = (r["limit"] as? NSNumber)?.intValue, let window = Self.windowNs(interval, n), limit > 0
      else { continue }
      read.append(Limit(type, limit, windowNs: window))
    }
    if !read.isEmpty { limits = read }
  }

  static func windowNs(_ interval: String, _ n: Int) -> Int64? {
    guard n > 0 else { return nil }
    switch interval {
    case "SECOND": return Int64(n) * second
    case "MINUTE": return Int64(n) * minute
    case "HOUR": return Int64(n) * 60 * minute
    case "DAY": return Int64(n) * 1_440 * minute
    default: return nil
    }
  }

  /// The interval as Binance's headers spell it: "1m", "10s", "1d".
  static func interval(_ windowNs: Int64) -> String {
    let day = 1_440 * minute
    if windowNs % day == 0 { return "\(windowNs / day)d" }
    if windowNs % (60 * minute) == 0 { return "\(windowNs / (60 * minute))h" }
    if windowNs % minute == 0 { return "\(windowNs / minute)m" }
    return "\(windowNs / second)s"
  }

  /// The first limit of `kind` over `windowNs`, read or set (setting one that is not there adds it).
  public subscript(kind: Kind, windowNs: Int64) -> Int? {
    get { limits.first { $0.kind == kind && $0.windowNs == windowNs }?.limit }
    set {
      if let i = limits.firstIndex(where: { $0.kind == kind && $0.windowNs == windowNs }) {
        if let newValue { limits[i].limit = newValue } else { limits.remove(at: i) }
      } else if let newValue {
        limits.append(Limit(kind, newValue, windowNs: windowNs))
      }
    }
  }

  /// Binance's documented figures by name (the tests and harnesses lift them).
  public var requestWeightPerMinute: Int {
    get { self[.requestWeight, Self.minute] ?? 0 }
    set { self[.requestWeight, Self.minute] = newValue }
  }
  public var ordersPer10Seconds: Int {
    get { self[.orders, 10 * Self.second] ?? 0 }
    set { self[.orders, 10 * Self.second] = newValue }
  }
  public var ordersPerDay: Int {
    get { self[.orders, 1_440 * Self.minute] ?? 0 }
    set { self[.orders, 1_440 * Self.minute] = newValue }
  }

  /// "REQUEST_WEIGHT 6000/1m, ORDERS 50/10s, ORDERS 160000/1d" (printed at start), with the
  /// share when it is not all.
  public var summary: String {
    limits.map { "\($0.kind.name) \($0.limit)/\(Self.interval($0.windowNs))" }.joined(separator: ", ")
      + (sharePercent == 100 ? "" : " (this engine's share: \(sharePercent)%)")
  }

  /// The limiter every Binance client of one IP and account shares; `sharePercent` of each limit
  /// when several engines trade on one key (Hummingbot's `rate_limits_share_pct`).
  public func limiter(sharePercent: Int? = nil) -> RateLimiter {
    let sharePercent = min(100, max(1, sharePercent ?? self.sharePercent))
    let pools = limits.map {
      RateLimiter.Pool(
        name: "\($0.kind.name)/\(Self.interval($0.windowNs))", limit: $0.limit, windowNs: $0.windowNs,
        tag: $0.kind.rawValue)
    }
    // Each request draws its weight from every REQUEST_WEIGHT pool and 1 from every RAW_REQUESTS
    // pool; a new order 1 from every ORDERS pool too.
    func draw(_ weight: Int, order: Bool = false) -> [(pool: Int, weight: Int)] {
      pools.indices.compactMap { p -> (pool: Int, weight: Int)? in
        switch limits[p].kind {
        case .requestWeight: (pool: p, weight: weight)
        case .rawRequests: (pool: p, weight: 1)
        case .orders: order ? (pool: p, weight: 1) : nil
        }
      }
    }
    let kinds: [[(pool: Int, weight: Int)]] = [
      draw(1, order: true),  // place
      draw(1),  // cancel
      draw(4),  // order status
      draw(6),  // open orders (one symbol)
      draw(20),  // myTrades
      draw(20),  // account
      draw(20),  // exchangeInfo
      draw(1),  // time
      draw(5), draw(25), draw(50), draw(250),  // depth by limit
      draw(5),  // myTrades of one order
    ]
    return RateLimiter(pools: pools, kinds: kinds, sharePercent: sharePercent)
  }

  /// The response headers that carry the venue's counts for `limiter`'s pools, lower case:
  /// `x-mbx-used-weight-1m` for REQUEST_WEIGHT over a minute, `x-mbx-order-count-10s` and
  /// `-1d` for ORDERS.
  public static func usageHeaders(_ limiter: RateLimiter) -> [(pool: Int, name: [UInt8])] {
    limiter.pools.indices.compactMap { p in
      let pool = limiter.pools[p]
      let prefix =
        switch Kind(rawValue: pool.tag) {
        case .requestWeight?: "x-mbx-used-weight-"
        case .orders?: "x-mbx-order-count-"
        default: ""
        }
      return prefix.isEmpty ? nil : (pool: p, name: Array((prefix + interval(pool.windowNs)).utf8))
    }
  }
}
