import Synchronization

/// A trading rule handed from one thread to another: the wire side posts the venue's new rule,
/// the strategy thread takes it between turns. Taking costs one atomic load while nothing is
/// posted; a rule posted twice before it is taken is the later one.
public final class RuleMailbox: Sendable {
  let posted = Atomic<Bool>(false)
  let box = Mutex<TradingRule?>(nil)

  public init() {}

  public func post(_ rule: TradingRule) {
    box.withLock { $0 = rule }
    posted.store(true, ordering: .releasing)
  }

  @inline(__always)
  public func take() -> TradingRule? {
    guard posted.load(ordering: .acquiring) else { return nil }
    posted.store(false, ordering: .relaxed)
    return box.withLock {
      let r = $0
      $0 = nil
      return r
    }
  }
}
