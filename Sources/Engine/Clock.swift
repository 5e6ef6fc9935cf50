/// Something the Clock ticks: slow strategy logic, reconciliation, status — in the order added,
/// as Hummingbot's Clock does.
public protocol TimeIterator: AnyObject {
  func tick(now: Int64)
}

/// Ticks its iterators every `tickNs` (default 1 s, down to 1 ms). In real time the runtime calls
/// `advance(to:)` from its poll loop with the wall clock; in a backtest, with data timestamps.
/// Either way each boundary passed produces one tick, in order, with that boundary's time — a
/// late poll catches up instead of skipping.
public final class Clock {
  public let tickNs: Int64
  public private(set) var nextTickNs: Int64
  var iterators: [TimeIterator] = []
  public private(set) var ticks = 0

  public init(tickNs: Int64 = 1_000_000_000, start: Int64) {
    precondition(tickNs >= 1_000_000, "the clock ticks at most every millisecond")
    self.tickNs = tickNs
    nextTickNs = (start / tickNs + 1) * tickNs
  }

  /// Ticks at `firstTickNs` and every `tickNs` after it (a backtest phased to its data's first
  /// event, as hftbacktest's `elapse` steps are).
  public init(tickNs: Int64, firstTickNs: Int64) {
    precondition(tickNs >= 1_000_000, "the clock ticks at most every millisecond")
    self.tickNs = tickNs
    nextTickNs = firstTickNs
  }

  public func add(_ it: TimeIterator) { iterators.append(it) }
  public func remove(_ it: TimeIterator) { iterators.removeAll { $0 === it } }

  /// Runs every tick due at or before `now`. Cheap when none is: one comparison.
  @inline(__always)
  public func advance(to now: Int64) {
    if now < nextTickNs { return }
    fire(until: now)
  }

  @inline(never)
  func fire(until now: Int64) {
    while nextTickNs <= now {
      let t = nextTickNs
      for it in iterators { it.tick(now: t) }
      ticks += 1
      nextTickNs += tickNs
    }
  }
}
