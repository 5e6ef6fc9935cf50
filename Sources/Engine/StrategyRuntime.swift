import CPlatform
import FastBook
import Glibc

/// The strategy thread of DESIGN.md's runtime. It owns the book, the tracker (through the host),
/// the strategy and the Clock, and talks to the wire thread only through three SPSC rings:
/// book events and execution events in, order commands out. `pollOnce` is one turn of the
/// busy-poll loop; `run` spins it (pin the calling thread first), and the one-thread layout calls
/// `pollOnce` from the wire loop instead.
///
/// Capacities: the rings are fixed at construction. A full order ring refuses the order before it
/// is tracked (counted in `host.outboundFull`); the wire side counts full inbound rings.
public final class StrategyRuntime {
  public let host: StrategyHost
  public private(set) var applier: BookEventApplier
  public let bookIn: SPSCRing<BookEvent>
  public let execIn: SPSCRing<ExecEvent>
  public let ordersOut: SPSCRing<WireOrder>
  public let clock: Clock
  /// The host's time source: every turn reads it once (the Clock advances on it).
  public let time: any TimeSource
  public private(set) var execEvents = 0
  /// Book batches handed to the strategy.
  public private(set) var batchesSeen = 0
  /// Public trades handed to the strategy (`BookEvent.trade`, through the book ring).
  public private(set) var tradesSeen = 0
  public private(set) var polls = 0

  public init(
    host: StrategyHost, book: LadderBook, clock: Clock, bookRingCapacity: Int = 1 << 16,
    execRingCapacity: Int = 1 << 12, orderRingCapacity: Int = 1 << 12
  ) {
    self.host = host
    self.applier = BookEventApplier(book: book)
    self.clock = clock
    time = host.time
    bookIn = SPSCRing(capacity: bookRingCapacity)
    execIn = SPSCRing(capacity: execRingCapacity)
    ordersOut = SPSCRing(capacity: orderRingCapacity)
    host.wireOut = ordersOut
    // The strategy's own tick comes first on the Clock, then whatever is added later.
    clock.add(StrategyTicker(runtime: self))
  }

  public var book: LadderBook { applier.book }

  /// One turn: every book event waiting (the strategy is told at each batch end of a live book),
  /// every execution event (the tracker, then the gate and the strategy), then the Clock.
  /// Returns how many events it handled. Allocates nothing on the book path.
  @discardableResult
  public func pollOnce() -> Int {
    let handled = pollEvents()
    clock.advance(to: time.nowNs)
    return handled
  }

  /// `pollOnce` without the Clock: the book and execution events waiting. A backtest calls it at
  /// each event and advances the Clock itself, so that a tick at `t` comes after every event of
  /// time `t` from every source.
  @discardableResult
  public func pollEvents() -> Int {
    polls &+= 1
    host.adoptPostedRule()
    var handled = drainBook()
    var execs = 0
    while let x = execIn.tryPop() {
      execs &+= 1
      apply(x)
    }
    let now = time.nowNs
    if execs > 0 {
      lastExecNs = now
      handled &+= execs
      execEvents &+= execs
      host.stamps = StageStamps()
      host.drainTracker(referencePrice: StrategyHost.mid(applier.book), now: now)
    }
    return handled
  }

  /// Applies every book event waiting; the strategy is told at each batch end of a live book and
  /// at each public trade.
  /// Part of `pollOnce`; in the one-thread layout also the book sink's answer to a full ring
  /// (the wire side is mid-message then, so only book events are taken). Returns how many.
  @discardableResult
  public func drainBook() -> Int {
    var handled = 0
    while let e = bookIn.tryPop() {
      handled &+= 1
      if e.kind == .trade {
        tradesSeen &+= 1
        host.trade(
          priceTicks: e.tick, quantity: e.quantity, aggressor: e.side == .bid ? .buy : .sell,
          referencePrice: StrategyHost.mid(applier.book), now: time.nowNs)
        continue
      }
      if applier.apply(e), applier.isLive {
        let applied = time.nowNs
        var s = StageStamps()
        s.recvNs = e.localTimeNs
        s.decodedNs = e.decodedTimeNs
        s.appliedNs = applied
        s.updateID = e.updateID
        s.snapshot = e.isSnapshotEnd
        host.stamps = s
        batchesSeen &+= 1
        host.book(applier.book, now: applied)
      }
    }
    return handled
  }

  func apply(_ x: ExecEvent) {
    switch x.kind {
    case .stateInDoubt:
      requestReconciliation()
    case .reconciled:
      host.reconciling = false
      retryCancels(now: time.nowNs)
      // Still uncertain (an answer lost, a "not found" not yet counted enough): another round,
      // a bounded number of times in a row.
      let uncertain = host.tracker.anyActive { $0.state == .pendingCreate || $0.state == .pendingCancel }
      if uncertain && reconcileRounds < 5 { startReconciliation() }
    case .cancelRejected:
      // The venue refused a cancel (Binance: "Unknown order"). If its fill (or its cancel) is
      // already here, the cancel only raced it: nothing is in doubt. Otherwise it is most likely
      // done and we missed how: the order is working again in the tracker until a
      // reconciliation says more.
      let known = host.tracker.order(tag: x.tag)?.state.isDone ?? false
      host.tracker.apply(x, now: time.nowNs)
      if known { cancelsRacingDone &+= 1 } else { requestReconciliation() }
    default:
      // Events for orders the tracker does not know are counted there (`unknownOrderUpdates`).
      host.tracker.apply(x, now: time.nowNs)
      // The order entry measured this order's round trip: into the history.
      if let t = x.roundTrip, let journal = host.journal {
        journal.post(.roundTrip(tag: x.tag, t, timeNs: time.nowNs))
      }
    }
  }

  /// Cancels the venue refused for orders already known done (a cancel that crossed the order's
  /// fill): no reconciliation needed.
  public private(set) var cancelsRacingDone = 0

  /// When the last execution event arrived (0: none yet).
  public private(set) var lastExecNs: Int64 = 0

  /// Starts a reconciliation now (the status poller's tick; a wire-side `stateInDoubt` does the
  /// same through the ring). Ignored while one is under way.
  public func requestReconciliation() {
    reconcileRounds = 0
    startReconciliation()
  }

  /// Reconciliations started (rounds), and rounds in the current one.
  public private(set) var reconciliations = 0
  var reconcileRounds = 0

  /// Holds new placements and asks the wire side for the state of every order not known done,
  /// then for recent fills; `reconciled` releases the hold. Allocates nothing here (the wire
  /// side's REST queries do).
  ///
  /// Never waits for the order ring (in the one-thread layout its reader is this thread): status
  /// queries that do not fit are left for the next round (`reconcileQueriesDeferred`), and a round
  /// that cannot even queue its end marker is not started.
  func startReconciliation() {
    guard !host.reconciling, ordersOut.freeCount > 0 else { return }
    host.reconciling = true
    reconciliations += 1
    reconcileRounds += 1
    let now = time.nowNs
    let tracker = host.tracker
    tracker.forEachActive { o in
      guard tracker.worthAsking(o, now: now), let tag = o.tag ?? host.tag(of: o.clientOrderID) else { return }
      // Keep one slot for the end marker.
      guard ordersOut.freeCount > 1, ordersOut.tryPush(WireOrder(kind: .status, tag: tag)) else {
        reconcileQueriesDeferred += 1
        return
      }
    }
    _ = ordersOut.tryPush(WireOrder(kind: .reconcileEnd, tag: 0))
  }

  /// Cancels the venue has not confirmed for the tracker's `cancelRetryNs` go out again (their
  /// answer may have been lost, or refused during a Retry-After): after each reconciliation round
  /// and on the status poller's tick. Allocates nothing.
  public func retryCancels(now: Int64) {
    let tracker = host.tracker
    guard tracker.activeCount > 0 else { return }
    var n = 0
    host.perform(referencePrice: StrategyHost.mid(applier.book), now: now) { intents in
      tracker.forEachCancelToRetry(now: now) { tag in
        intents.cancel(tag: tag)
        n += 1
      }
    }
    cancelRetries += n
  }

  /// Cancels sent again by `retryCancels`.
  public private(set) var cancelRetries = 0

  /// Status queries a reconciliation round could not queue (the order ring was full).
  public private(set) var reconcileQueriesDeferred = 0

  /// What the loop does when a turn found nothing.
  public enum Idle: Sendable {
    /// Spin (a pause instruction): the latency mode, for a pinned core of its own.
    case spin
    /// Sleep this many microseconds: for shared machines and tests, where a spinning thread would
    /// starve everything else.
    case sleep(microseconds: UInt32)
  }

  /// Polls until `stop()` (checked every 1,024 idle turns and after work). Pin first when spinning.
  public func run(idle: Idle = .spin, until stop: () -> Bool) {
    var idleTurns = 0
    while true {
      if pollOnce() > 0 {
        idleTurns = 0
        if stop() { return }
      } else {
        idleTurns &+= 1
        switch idle {
        case .spin:
          cplat_cpu_relax()
          if idleTurns & 1023 == 0, stop() { return }
        case .sleep(let us):
          usleep(us)
          if stop() { return }
        }
      }
    }
  }
}

/// Hands the Clock's ticks to the strategy (its slow logic: Hummingbot's `tick`).
final class StrategyTicker: TimeIterator {
  unowned let runtime: StrategyRuntime
  init(runtime: StrategyRuntime) { self.runtime = runtime }
  func tick(now: Int64) {
    // What the Clock causes carries no book change's stamps (its orders answer no tick).
    runtime.host.stamps = StageStamps()
    runtime.host.tick(now: now, referencePrice: StrategyHost.mid(runtime.book))
  }
}
