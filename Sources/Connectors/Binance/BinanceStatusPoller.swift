import Engine

/// Status polling as the fallback for user data, ticked by the Clock, by `StatusPollRule`: while
/// the user stream is down or quiet, orders in flight are reconciled over REST every
/// `quietIntervalNs`; while it is live, every `liveIntervalNs` (a safety net for dropped events). After every (re)subscription it
/// reconciles at once and holds trading (`tradingAllowed` false) until that reconciliation is done:
/// what the stream missed while it was down is known before anything new is sent.
public final class BinanceStatusPoller: TimeIterator {
  let orders: BinanceOrderManager
  let stream: BinanceUserStream?
  public var rule: StatusPollRule
  public private(set) var polls = 0
  public private(set) var reconcilesAfterResubscribe = 0
  /// False from a (re)subscription until its reconciliation has finished.
  public private(set) var tradingAllowed = true
  var running = false
  var resubscribed = false

  public init(
    orders: BinanceOrderManager, stream: BinanceUserStream?, quietIntervalNs: Int64 = 2_000_000_000,
    liveIntervalNs: Int64 = 30_000_000_000, quietAfterNs: Int64 = 5_000_000_000
  ) {
    self.orders = orders
    self.stream = stream
    rule = StatusPollRule(
      quietIntervalNs: quietIntervalNs, liveIntervalNs: liveIntervalNs, quietAfterNs: quietAfterNs)
    let previous = stream?.onSubscribed
    stream?.onSubscribed = { [weak self] in
      previous?()
      guard let self else { return }
      self.resubscribed = true
      self.tradingAllowed = false
      self.reconcile(now: self.orders.nowNs(), afterResubscribe: true)
    }
  }

  /// Whether the stream is down or has been silent while orders are in flight.
  public func streamIsQuiet(now: Int64) -> Bool {
    let inFlight = orders.tracker.orders.values.contains { !$0.state.isDone }
    return rule.isQuiet(
      now: now, lastEventNs: stream?.lastEventNs ?? 0, inFlight: inFlight,
      streamUp: stream?.subscribed ?? false)
  }

  public func tick(now: Int64) {
    if rule.isDue(now: now, quiet: streamIsQuiet(now: now)) { reconcile(now: now, afterResubscribe: false) }
  }

  func reconcile(now: Int64, afterResubscribe: Bool) {
    guard !running else {
      if afterResubscribe { resubscribed = true }  // run again when this one ends
      return
    }
    running = true
    resubscribed = false
    rule.polled(at: now)
    polls += 1
    if afterResubscribe { reconcilesAfterResubscribe += 1 }
    orders.reconcile { [weak self] in
      guard let self else { return }
      self.running = false
      if self.resubscribed {
        self.reconcile(now: self.orders.nowNs(), afterResubscribe: true)
      } else if afterResubscribe || !self.tradingAllowed {
        self.tradingAllowed = true
      }
    }
  }
}
