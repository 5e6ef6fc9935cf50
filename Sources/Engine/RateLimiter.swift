/// Request budgets the way venues count them, and what to do when the venue says stop.
///
/// - Pools: each has a limit per window (calendar-aligned, like Binance's: a minute window resets
///   at :00). A request kind draws a weight from one or more pools (linked limits: a Binance order
///   draws from REQUEST_WEIGHT and from both ORDERS pools).
/// - Pools and kinds are numbered, fixed at construction: `acquire` on the order path is a few
///   array reads and adds — no strings, no hashing, no allocation. Each venue's policy names its
///   kinds (`RequestKind` constants) and builds the limiter from the venue's own figures.
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

  /// A request kind's index in its policy (the venue's adapter defines the constants).
  @frozen
  public struct RequestKind: Hashable, Sendable {
    public let index: Int
    public init(_ index: Int) { self.index = index }
  }

  public enum Decision: Equatable, Sendable {
    case go
    /// Try again at this time (budget spent, or a 429 back-off).
    case waitUntil(Int64)
    /// Banned (418) until this time: send nothing.
    case halted(until: Int64, reason: String)
  }

  public let pools: [Pool]
  let limits: [Int]
  var used: [Int]
  var windowStart: [Int64]
  /// Kind k draws `drawWeight[i]` from pool `drawPool[i]` for i in `drawStart[k]..<drawStart[k+1]`.
  let drawStart: [Int]
  let drawPool: [Int]
  let drawWeight: [Int]
  public let sharePercent: Int
  public private(set) var backoffUntil: Int64 = 0
  public private(set) var haltedUntil: Int64 = 0
  public private(set) var haltReason = ""
  /// Requests told to wait because a pool was spent or a Retry-After was running.
  public private(set) var throttled = 0
  public private(set) var responses429 = 0
  public private(set) var responses418 = 0

  /// `kinds[k]`: what a request of kind k draws, as (pool index, weight). A kind past the end
  /// draws nothing (it is only held back by a Retry-After or a ban).
  public init(pools: [Pool], kinds: [[(pool: Int, weight: Int)]], sharePercent: Int = 100) {
    precondition(sharePercent > 0 && sharePercent <= 100)
    precondition(
      kinds.allSatisfy { $0.allSatisfy { $0.pool >= 0 && $0.pool < pools.count && $0.weight >= 0 } })
    self.pools = pools
    self.sharePercent = sharePercent
    limits = pools.map { max(1, $0.limit * sharePercent / 100) }
    used = Array(repeating: 0, count: pools.count)
    windowStart = Array(repeating: Int64.min, count: pools.count)
    var start = [0]
    var pool: [Int] = []
    var weight: [Int] = []
    for k in kinds {
      for d in k {
        pool.append(d.pool)
        weight.append(d.weight)
      }
      start.append(pool.count)
    }
    drawStart = start
    drawPool = pool
    drawWeight = weight
  }

  /// No pools: only Retry-After and bans hold requests back.
  public convenience init() { self.init(pools: [], kinds: []) }

  @inline(__always)
  func roll(_ p: Int, now: Int64) {
    let w = pools[p].windowNs
    let start = now / w * w
    if windowStart[p] != start {
      windowStart[p] = start
      used[p] = 0
    }
  }

  /// Asks to send a request of `kind` now; on `.go` its weight is spent.
  @inline(__always)
  public func acquire(_ kind: RequestKind, now: Int64) -> Decision {
    if now < haltedUntil { return .halted(until: haltedUntil, reason: haltReason) }
    if now < backoffUntil {
      throttled &+= 1
      return .waitUntil(backoffUntil)
    }
    let k = kind.index
    guard k + 1 < drawStart.count else { return .go }
    let (lo, hi) = (drawStart[k], drawStart[k + 1])
    var wait: Int64 = 0
    for i in lo..<hi {
      let p = drawPool[i]
      roll(p, now: now)
      if used[p] + drawWeight[i] > limits[p] {
        let w = pools[p].windowNs
        wait = max(wait, (now / w + 1) * w)
      }
    }
    if wait > 0 {
      throttled &+= 1
      return .waitUntil(wait)
    }
    for i in lo..<hi { used[drawPool[i]] += drawWeight[i] }
    return .go
  }

  /// The venue said 429: wait `retryAfterSeconds` before any further request (a REST
  /// `Retry-After` header, whole seconds).
  public func on429(retryAfterSeconds: Int, now: Int64) {
    on429(waitNs: Int64(max(retryAfterSeconds, 1)) * 1_000_000_000, now: now)
  }

  /// The venue said 429 and until when to wait, to the millisecond (the WebSocket API's
  /// `retryAfter`): `waitNs` from `now`, at least 1 ms.
  public func on429(waitNs: Int64, now: Int64) {
    responses429 += 1
    backoffUntil = max(backoffUntil, now + max(waitNs, 1_000_000))
  }

  /// The venue said 418: stop everything until the ban is over.
  public func on418(retryAfterSeconds: Int, now: Int64, message: String) {
    on418(waitNs: Int64(max(retryAfterSeconds, 1)) * 1_000_000_000, now: now, message: message)
  }

  /// A 418 with the ban's end to the millisecond: `waitNs` from `now`, at least 1 ms.
  public func on418(waitNs: Int64, now: Int64, message: String) {
    responses418 += 1
    let wait = max(waitNs, 1_000_000)
    haltedUntil = max(haltedUntil, now + wait)
    haltReason = "IP banned by the venue (418) until +\(Self.describe(waitNs: wait)): \(message)"
  }

  /// "35s" for whole seconds, "250 ms" otherwise (a rare path: text is made here).
  public static func describe(waitNs: Int64) -> String {
    let ms = (waitNs + 999_999) / 1_000_000
    return ms % 1000 == 0 ? "\(ms / 1000)s" : "\(ms) ms"
  }

  /// Adopts the venue's count for pool `p` when it is higher than ours.
  public func sync(pool p: Int, used venueCount: Int, now: Int64) {
    guard p >= 0 && p < pools.count else { return }
    roll(p, now: now)
    if venueCount > used[p] { used[p] = venueCount }
  }

  /// What pool `p` has spent in its current window.
  public func used(_ p: Int) -> Int { p >= 0 && p < pools.count ? used[p] : 0 }
}
