/// Request budgets the way venues count them, and what to do when the venue says stop.
///
/// - Pools: each has a limit per window (calendar-aligned, like Binance's: a minute window resets
///   at :00). A request kind draws a weight from one or more pools (linked limits: a Binance order
///   draws from REQUEST_WEIGHT and from both ORDERS pools).
/// - Pools and kinds are numbered, fixed at construction: `acquire` on the order path is a few
///   array reads and adds — no strings, no hashing, no allocation. Each venue's policy names its
///   kinds (`RequestKind` constants) and builds the limiter from the venue's own figures.
/// - Share: several bots on one key each get `sharePercent` of every limit: their own spending
///   is held to that share, while the venue's count (everyone's) is held to the whole limit.
/// - 429: wait as told (`Retry-After`), for every request, then carry on.
/// - 418: the IP is banned; everything stops until the ban ends, with the reason kept for the
///   operator.
/// - The venue's own count (`x-mbx-used-weight-1m`, the WebSocket API's `rateLimits`) is
///   adopted when it is higher than what we know of: other processes on the same IP spend the
///   same budget.
/// - Windows are the venue's: counted on its clock (`venueClockOffsetNs`), and a request sent in
///   the last `boundaryGuardNs` of a window is counted in the next one as well, since it may
///   arrive there.
public final class RateLimiter {
  public struct Pool: Sendable {
    public var name: String
    public var limit: Int
    public var windowNs: Int64
    /// The venue's kind of limit (its policy numbers them; -1: none), to find the pool a count
    /// the venue reports belongs to.
    public var tag: Int
    public init(name: String, limit: Int, windowNs: Int64, tag: Int = -1) {
      self.name = name
      self.limit = limit
      self.windowNs = windowNs
      self.tag = tag
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
  /// Our share of each limit, and the whole limit (what the venue enforces).
  let limits: [Int]
  let venueLimits: [Int]
  /// What we spent in each pool's current window, and what the venue has counted there (ours
  /// and everyone else's on the IP, as far as we know).
  var used: [Int]
  var venueUsed: [Int]
  /// The same for the next window: requests sent close to a window's end.
  var carry: [Int]
  var venueCarry: [Int]
  var windowStart: [Int64]
  /// The venue's clock minus ours (ns): windows turn on the venue's clock.
  public var venueClockOffsetNs: Int64 = 0
  /// A request this close to its window's end is counted in the next window too.
  public var boundaryGuardNs: Int64 = 200_000_000
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
    venueLimits = pools.map { max(1, $0.limit) }
    used = Array(repeating: 0, count: pools.count)
    venueUsed = used
    carry = used
    venueCarry = used
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

  /// Turns pool `p` to the window of `now` (venue time); returns how far into it `now` is. A
  /// window never turns back: a clock corrected backwards (a new offset, a stepped host clock)
  /// stays in the current window instead of starting an empty one.
  @inline(__always)
  func roll(_ p: Int, now: Int64) -> Int64 {
    let w = pools[p].windowNs
    let t = now &+ venueClockOffsetNs
    let start = t / w * w
    // A step back within a window's length stays (negative: before the window's start); a jump
    // further back is another time altogether (a simulated clock), and starts afresh below.
    if start < windowStart[p] && windowStart[p] - start <= w { return t - windowStart[p] }
    if windowStart[p] != start {
      // The window after the last one starts with what was carried into it.
      let next = windowStart[p] != Int64.min && windowStart[p] &+ w == start
      used[p] = next ? carry[p] : 0
      venueUsed[p] = next ? venueCarry[p] : 0
      carry[p] = 0
      venueCarry[p] = 0
      windowStart[p] = start
    }
    return t - start
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
    var late: UInt64 = 0  // bit i - lo: also counted in the next window
    for i in lo..<hi {
      let p = drawPool[i]
      let into = roll(p, now: now)
      let w = pools[p].windowNs
      let weight = drawWeight[i]
      var full = used[p] + weight > limits[p] || venueUsed[p] + weight > venueLimits[p]
      if into >= w - boundaryGuardNs {
        if i - lo < 64 { late |= 1 << UInt64(i - lo) }
        full = full || carry[p] + weight > limits[p] || venueCarry[p] + weight > venueLimits[p]
      }
      // Try again when this window ends (our time); a spent next window says so then.
      if full { wait = max(wait, now - into + w) }
    }
    if wait > 0 {
      throttled &+= 1
      return .waitUntil(wait)
    }
    for i in lo..<hi {
      let (p, weight) = (drawPool[i], drawWeight[i])
      used[p] += weight
      venueUsed[p] += weight
      if i - lo < 64 && late & (1 << UInt64(i - lo)) != 0 {
        carry[p] += weight
        venueCarry[p] += weight
      }
    }
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

  /// Adopts the venue's count for pool `p` (everyone's on the IP or account) when it is higher
  /// than what we know of. `sentAt`: when the request it answers was sent (our clock; nil: now).
  /// A request sent before the current window began was counted in the last one: its answer's
  /// count is that window's, and is not adopted.
  public func sync(pool p: Int, used venueCount: Int, now: Int64, sentAt: Int64? = nil) {
    guard p >= 0 && p < pools.count else { return }
    let into = roll(p, now: now)
    if let sentAt, sentAt < now - into { return }
    if venueCount > venueUsed[p] { venueUsed[p] = venueCount }
  }

  /// The pool of the venue's limit kind `tag` over `windowNs` (-1: none). A few comparisons.
  @inline(__always)
  public func pool(tag: Int, windowNs: Int64) -> Int {
    for p in pools.indices where pools[p].tag == tag && pools[p].windowNs == windowNs { return p }
    return -1
  }

  /// What we spent in pool `p`'s current window (at the last request or sync).
  public func used(_ p: Int) -> Int { p >= 0 && p < pools.count ? used[p] : 0 }
  /// What the venue has counted there, as far as we know (ours and everyone else's).
  public func venueUsed(_ p: Int) -> Int { p >= 0 && p < pools.count ? venueUsed[p] : 0 }
  /// Our share of pool `p`'s limit.
  public func limit(_ p: Int) -> Int { p >= 0 && p < pools.count ? limits[p] : 0 }
}
