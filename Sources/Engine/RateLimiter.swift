/// Request budgets the way Binance counts them, and what to do when the venue says stop.
///
/// - Pools: each has a limit per window (calendar-aligned, like Binance's: a minute window resets
///   at :00). An endpoint draws a weight from one or more pools (linked limits: an order draws
///   from REQUEST_WEIGHT and ORDERS).
/// - Share: several bots on one key each get `sharePercent` of every limit.
/// - 429: wait as told (`Retry-After`), for every request, then carry on.
/// - 418: the IP is banned; everything stops until the ban ends, with the reason kept for the
///   operator.
/// - The venue's own count (`x-mbx-used-weight-1m`) replaces ours when it is higher: other
///   processes on the same IP spend the same budget.
public final class RateLimiter {
  public struct Pool: Sendable {
    public var name: String
    public var limit: Int
    public var windowNs: Int64
    public init(name: String, limit: Int, windowNs: Int64) {
      self.name = name
      self.limit = limit
      self.windowNs = windowNs
    }
  }

  public enum Decision: Equatable, Sendable {
    case go
    /// Try again at this time (budget spent, or a 429 back-off).
    case waitUntil(Int64)
    /// Banned (418) until this time: send nothing.
    case halted(until: Int64, reason: String)
  }

  var pools: [String: Pool]
  var used: [String: Int] = [:]
  var windowStart: [String: Int64] = [:]
  var endpoints: [String: [(String, Int)]]
  public let sharePercent: Int
  public private(set) var backoffUntil: Int64 = 0
  public private(set) var haltedUntil: Int64 = 0
  public private(set) var haltReason = ""
  public private(set) var throttled = 0
  public private(set) var responses429 = 0
  public private(set) var responses418 = 0

  public init(pools: [Pool], endpoints: [String: [(pool: String, weight: Int)]], sharePercent: Int = 100) {
    precondition(sharePercent > 0 && sharePercent <= 100)
    self.pools = Dictionary(uniqueKeysWithValues: pools.map { ($0.name, $0) })
    self.endpoints = endpoints.mapValues { $0.map { ($0.pool, $0.weight) } }
    self.sharePercent = sharePercent
  }

  func limit(_ p: Pool) -> Int { max(1, p.limit * sharePercent / 100) }

  func roll(_ name: String, now: Int64) {
    guard let p = pools[name] else { return }
    let start = now / p.windowNs * p.windowNs
    if windowStart[name] != start {
      windowStart[name] = start
      used[name] = 0
    }
  }

  /// Asks to send a request to `endpoint` now; on `.go` its weight is spent.
  public func acquire(_ endpoint: String, now: Int64) -> Decision {
    if now < haltedUntil { return .halted(until: haltedUntil, reason: haltReason) }
    if now < backoffUntil {
      throttled += 1
      return .waitUntil(backoffUntil)
    }
    let draws = endpoints[endpoint] ?? [("REQUEST_WEIGHT", 1)]
    var wait: Int64 = 0
    for (name, w) in draws {
      guard let p = pools[name] else { continue }
      roll(name, now: now)
      if used[name, default: 0] + w > limit(p) { wait = max(wait, (now / p.windowNs + 1) * p.windowNs) }
    }
    if wait > 0 {
      throttled += 1
      return .waitUntil(wait)
    }
    for (name, w) in draws where pools[name] != nil { used[name, default: 0] += w }
    return .go
  }

  /// The venue said 429: wait `retryAfterSeconds` before any further request.
  public func on429(retryAfterSeconds: Int, now: Int64) {
    responses429 += 1
    backoffUntil = max(backoffUntil, now + Int64(max(retryAfterSeconds, 1)) * 1_000_000_000)
  }

  /// The venue said 418: stop everything until the ban is over.
  public func on418(retryAfterSeconds: Int, now: Int64, message: String) {
    responses418 += 1
    haltedUntil = max(haltedUntil, now + Int64(max(retryAfterSeconds, 1)) * 1_000_000_000)
    haltReason = "IP banned by the venue (418) until +\(retryAfterSeconds)s: \(message)"
  }

  /// Adopts the venue's count for a pool when it is higher than ours.
  public func sync(pool: String, used venueCount: Int, now: Int64) {
    roll(pool, now: now)
    if venueCount > used[pool, default: 0] { used[pool] = venueCount }
  }

  public func used(_ pool: String) -> Int { used[pool, default: 0] }
}
