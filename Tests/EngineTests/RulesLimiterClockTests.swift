import Testing

@testable import Engine

@Suite struct TradingRuleTests {
  let rule = TradingRule(
    tickSize: 10, stepSize: 1000, minQuantity: 1000, maxQuantity: 9_000_000, minNotional: 5_000_000_000)

  @Test func quantizeNeverMoreAggressiveAndNeverMoreThanAsked() {
    #expect(rule.quantize(price: 100_005, side: .buy) == 100_000)
    #expect(rule.quantize(price: 100_005, side: .sell) == 100_010)
    #expect(rule.quantize(price: 100_010, side: .sell) == 100_010)
    #expect(rule.quantize(quantity: 12_345) == 12_000)
    #expect(rule.quantize(quantity: 99_999_999) == 9_000_000)
  }

  @Test func violations() {
    #expect(rule.violation(price: 100_000, quantity: 0) == "quantity rounds to zero")
    #expect(rule.violation(price: 100_000, quantity: 500) == "quantity below the minimum")
    #expect(rule.violation(price: 100_000, quantity: 10_000) == "notional below the minimum")
    #expect(rule.violation(price: 100_000, quantity: 50_000) == nil)
  }
}

@Suite struct RateLimiterTests {
  let minute: Int64 = 60_000_000_000
  let order = RateLimiter.RequestKind(0)
  let depth = RateLimiter.RequestKind(1)

  func limiter(share: Int = 100) -> RateLimiter {
    RateLimiter(
      pools: [
        .init(name: "REQUEST_WEIGHT", limit: 100, windowNs: 60_000_000_000),
        .init(name: "ORDERS", limit: 5, windowNs: 10_000_000_000),
      ],
      kinds: [
        [(pool: 0, weight: 1), (pool: 1, weight: 1)],  // order
        [(pool: 0, weight: 50)],  // depth
      ],
      sharePercent: share)
  }

  @Test func poolsLinkedLimitsAndWindows() {
    let r = limiter()
    let t0 = 5 * minute + 1
    for _ in 0..<5 { #expect(r.acquire(order, now: t0) == .go) }
    // The ORDERS pool (5 per 10 s) is spent; its window resets at the next 10 s boundary.
    #expect(r.acquire(order, now: t0) == .waitUntil(5 * minute + 10_000_000_000))
    #expect(r.acquire(depth, now: t0) == .go)
    #expect(r.acquire(depth, now: t0) == .waitUntil(6 * minute), "105 > 100 weight")
    #expect(r.acquire(order, now: 5 * minute + 10_000_000_000) == .go)
    #expect(r.used(0) == 56)
  }

  @Test func shareOfTheLimit() {
    let r = limiter(share: 50)
    #expect(r.acquire(depth, now: 1) == .go)
    #expect(r.acquire(depth, now: 1) == .waitUntil(minute), "50% of 100")
  }

  @Test func backsOffOn429AndHaltsOn418() {
    let r = limiter()
    r.on429(retryAfterSeconds: 35, now: 1_000)
    #expect(r.acquire(depth, now: 2_000) == .waitUntil(1_000 + 35_000_000_000))
    #expect(r.acquire(depth, now: 1_000 + 35_000_000_000) == .go)
    r.on418(retryAfterSeconds: 120, now: 40_000_000_000, message: "Way too much request weight used")
    if case .halted(let until, let reason) = r.acquire(order, now: 41_000_000_000) {
      #expect(until == 160_000_000_000 && reason.contains("418"))
    } else {
      Issue.record("not halted")
    }
    #expect(r.responses429 == 1 && r.responses418 == 1)
  }

  /// The WebSocket API names the end of a wait to the millisecond: it is held to that, not
  /// rounded up to a second (and never to less than 1 ms).
  @Test func millisecondWaitsAreHeldExactly() {
    let r = limiter()
    r.on429(waitNs: 50_000_000, now: 1_000)
    #expect(r.acquire(depth, now: 2_000) == .waitUntil(1_000 + 50_000_000))
    #expect(r.acquire(depth, now: 1_000 + 50_000_000) == .go)
    r.on429(waitNs: 0, now: 100_000_000)
    #expect(r.acquire(depth, now: 100_000_001) == .waitUntil(101_000_000))
    r.on418(waitNs: 250_000_000, now: 200_000_000, message: "banned")
    if case .halted(let until, let reason) = r.acquire(order, now: 200_000_001) {
      #expect(until == 450_000_000 && reason.contains("+250 ms"), "\(reason)")
    } else {
      Issue.record("not halted")
    }
    #expect(RateLimiter.describe(waitNs: 35_000_000_000) == "35s")
    #expect(RateLimiter.describe(waitNs: 1_500_000_000) == "1500 ms")
  }

  /// A kind the policy does not list is held back only by a Retry-After or a ban.
  @Test func anUnlistedKindDrawsNothing() {
    let r = limiter()
    for _ in 0..<1_000 { #expect(r.acquire(RateLimiter.RequestKind(7), now: 1) == .go) }
    #expect(r.used(0) == 0 && RateLimiter().acquire(order, now: 1) == .go)
  }

  @Test func adoptsTheVenuesCount() {
    let r = limiter()
    let s: Int64 = 1_000_000_000
    r.sync(pool: 0, used: 90, now: s)
    #expect(r.acquire(depth, now: s + 1) == .waitUntil(minute))
    r.sync(pool: 0, used: 10, now: s + 2)  // lower than ours: ignored
    #expect(r.venueUsed(0) == 90)
    // An answer to a request sent in the last window carries that window's count: not adopted.
    r.sync(pool: 0, used: 95, now: minute + 100_000_000, sentAt: minute - 5_000_000)
    #expect(r.venueUsed(0) == 0 && r.acquire(depth, now: minute + 100_000_001) == .go)
    r.sync(pool: 0, used: 95, now: minute + 100_000_002, sentAt: minute + 1)
    #expect(r.venueUsed(0) == 95)
  }

  /// A clock corrected backwards across a window's start stays in the window it was in: its
  /// count is not wiped (which would let the same venue window be spent twice).
  @Test func aClockStepBackKeepsTheWindowsCount() {
    let r = limiter()
    #expect(r.acquire(depth, now: minute + 1_000_000_000) == .go)
    r.venueClockOffsetNs = -2_000_000_000  // the venue turned out to be 2 s behind
    #expect(r.acquire(depth, now: minute + 1_000_000_001) == .go, "100 of 100 in the same window")
    // Its end: the venue's 120 s, our 122 s.
    #expect(r.acquire(depth, now: minute + 1_000_000_002) == .waitUntil(2 * minute + 2_000_000_000))
    #expect(r.used(0) == 100)
  }

  /// With a share, our own spending is held to the share and the venue's count (everyone's) to
  /// the whole limit: two engines at 50% each can use all of it between them, and neither can
  /// push the IP over when the other has spent more than its half.
  @Test func aShareHoldsOurSpendingAndTheVenuesCountTheWholeLimit() {
    let r = limiter(share: 50)
    let t: Int64 = 1_000_000_000
    r.sync(pool: 0, used: 30, now: t)  // the other engine spent 30
    #expect(r.acquire(depth, now: t + 1) == .go, "ours 50 of 50, the venue's 80 of 100")
    #expect(r.acquire(depth, now: t + 2) == .waitUntil(minute), "our half is spent")
    let s = limiter(share: 50)
    s.sync(pool: 0, used: 60, now: t)  // the other engine overspent its half
    #expect(s.acquire(depth, now: t + 1) == .waitUntil(minute), "60 + 50 > 100 at the venue")
    #expect(s.used(0) == 0 && s.venueUsed(0) == 60)
  }

  /// A request sent in the last `boundaryGuardNs` of a window may arrive in the next: it is
  /// counted in both, so the next window cannot be overfilled by requests that crossed over.
  @Test func requestsCloseToAWindowsEndCountInTheNextToo() {
    let r = limiter()
    r.boundaryGuardNs = 100_000_000
    let late = minute - 50_000_000
    #expect(r.acquire(depth, now: late) == .go)
    #expect(r.used(0) == 50)
    #expect(r.acquire(depth, now: minute + 1) == .go, "the next window holds the 50 carried over")
    #expect(r.used(0) == 100 && r.venueUsed(0) == 100)
    #expect(r.acquire(depth, now: minute + 2) == .waitUntil(2 * minute))
    // A window that does not follow the last one starts empty.
    #expect(r.acquire(depth, now: 5 * minute + 1) == .go && r.used(0) == 50)
  }

  /// Windows turn on the venue's clock: 2 s ahead, its minute ends 2 s before ours.
  @Test func windowsTurnOnTheVenuesClock() {
    let r = limiter()
    r.venueClockOffsetNs = 2_000_000_000
    #expect(r.acquire(depth, now: 10_000_000_000) == .go)
    #expect(r.acquire(depth, now: 10_000_000_000) == .go)
    #expect(r.acquire(depth, now: 10_000_000_000) == .waitUntil(minute - 2_000_000_000))
    #expect(r.acquire(depth, now: minute - 2_000_000_000) == .go)
  }

  @Test func findsThePoolOfAVenuesLimit() {
    let r = RateLimiter(
      pools: [
        .init(name: "REQUEST_WEIGHT", limit: 100, windowNs: minute, tag: 0),
        .init(name: "ORDERS/10s", limit: 5, windowNs: 10_000_000_000, tag: 1),
        .init(name: "ORDERS/day", limit: 50, windowNs: 1_440 * minute, tag: 1),
      ], kinds: [])
    #expect(r.pool(tag: 1, windowNs: 1_440 * minute) == 2 && r.pool(tag: 0, windowNs: minute) == 0)
    #expect(r.pool(tag: 0, windowNs: 10_000_000_000) == -1)
  }
}

@Suite struct ClockTests {
  final class Recorder: TimeIterator {
    let name: String
    let log: Log
    init(_ name: String, _ log: Log) {
      self.name = name
      self.log = log
    }
    func tick(now: Int64) { log.entries.append("\(name)@\(now)") }
  }
  final class Log { var entries: [String] = [] }

  @Test func ticksInOrderAddedAndCatchesUp() {
    let log = Log()
    let c = Clock(tickNs: 1_000_000_000, start: 500_000_000)
    c.add(Recorder("a", log))
    c.add(Recorder("b", log))
    c.advance(to: 900_000_000)
    #expect(log.entries.isEmpty)
    c.advance(to: 1_000_000_000)
    #expect(log.entries == ["a@1000000000", "b@1000000000"])
    c.advance(to: 3_500_000_000)  // a late poll: two ticks, in order, with their own times
    #expect(log.entries.suffix(4) == ["a@2000000000", "b@2000000000", "a@3000000000", "b@3000000000"])
    #expect(c.ticks == 3)
  }

  @Test func millisecondTicksForBacktests() {
    let log = Log()
    let c = Clock(tickNs: 1_000_000, start: 0)
    c.add(Recorder("x", log))
    c.advance(to: 10_000_000)
    #expect(c.ticks == 10 && log.entries.last == "x@10000000")
  }
}
