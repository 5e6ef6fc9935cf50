/// When to poll order status, the rule every status poller follows: while the account stream is
/// down, or orders are in flight and no event has come for `quietAfterNs`, every
/// `quietIntervalNs`; otherwise every `liveIntervalNs` (a safety net for lost events).
public struct StatusPollRule: Sendable {
  public var quietIntervalNs: Int64
  public var liveIntervalNs: Int64
  public var quietAfterNs: Int64
  /// When the last poll started.
  public private(set) var lastPollNs: Int64 = 0

  public init(quietIntervalNs: Int64, liveIntervalNs: Int64, quietAfterNs: Int64) {
    self.quietIntervalNs = quietIntervalNs
    self.liveIntervalNs = liveIntervalNs
    self.quietAfterNs = quietAfterNs
  }

  /// Whether the stream counts as quiet: down, or silent (since the last event and the last poll)
  /// for `quietAfterNs` while orders are in flight.
  public func isQuiet(now: Int64, lastEventNs: Int64, inFlight: Bool, streamUp: Bool = true) -> Bool {
    !streamUp || (inFlight && now - max(lastEventNs, lastPollNs) >= quietAfterNs)
  }

  /// Whether a poll is due at `now`.
  public func isDue(now: Int64, quiet: Bool) -> Bool {
    now - lastPollNs >= (quiet ? quietIntervalNs : liveIntervalNs)
  }

  public mutating func polled(at now: Int64) { lastPollNs = now }
}

/// Status polling on the strategy thread, ticked by its Clock — the runtime's fallback for lost
/// account events (`StatusPollRule`, counting execution events as the stream's): while orders are
/// in flight it starts a reconciliation when one is due (orders held, status queries and recent
/// fills over the wire side's REST).
public final class RuntimeStatusPoller: TimeIterator {
  unowned let runtime: StrategyRuntime
  public var rule: StatusPollRule
  public private(set) var polls = 0

  public init(
    runtime: StrategyRuntime, quietIntervalNs: Int64 = 2_000_000_000, liveIntervalNs: Int64 = 30_000_000_000,
    quietAfterNs: Int64 = 5_000_000_000
  ) {
    self.runtime = runtime
    rule = StatusPollRule(
      quietIntervalNs: quietIntervalNs, liveIntervalNs: liveIntervalNs, quietAfterNs: quietAfterNs)
  }

  var started = false

  public func tick(now: Int64) {
    // The intervals count from the first tick, not from time zero: otherwise the first tick that
    // finds an order in flight reconciles at once, holding the run's first orders for nothing.
    if !started {
      started = true
      rule.polled(at: now)
    }
    // Once per tick (1 s by default): finished orders past their retention are forgotten, so a
    // long run's tracker holds its open orders and the last `retainFinishedNs` of finished ones.
    runtime.host.tracker.prune(now: now)
    // Orders in flight: lost ones past their questioning time do not count.
    let tracker = runtime.host.tracker
    guard tracker.anyActive(where: { tracker.worthAsking($0, now: now) }) else { return }
    if !runtime.host.reconciling { runtime.retryCancels(now: now) }
    let quiet = rule.isQuiet(now: now, lastEventNs: runtime.lastExecNs, inFlight: true)
    guard rule.isDue(now: now, quiet: quiet) else { return }
    rule.polled(at: now)
    polls += 1
    runtime.requestReconciliation()
  }
}
