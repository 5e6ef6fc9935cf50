import Engine
import FastBook
import Synchronization
import Wire

/// A strategy trading one instrument on one venue, wired as DESIGN.md's runtime, generic over the
/// venue's adapter, in either layout (`Layout`): on the wire loop the adapter's feed fills
/// the book ring, its order entry sends what the strategy decided, account events and order
/// answers come back through the exec ring; every `turn()` is one pass of the strategy thread's
/// work (`StrategyRuntime.pollOnce`) followed by handing the orders it decided to the entry. In
/// paper mode the entry and account stream stay idle and a `PaperExchange` answers the orders
/// from the live book.
///
/// Order state put in doubt by the wire side (an unreadable account event, a resubscription, an
/// unknown outcome) makes the runtime reconcile before it places again; the status poller on the
/// Clock is the fallback for what nothing reported.
public final class TradingNode<Adapter: VenueAdapter> {
  /// DESIGN.md's layouts. One thread: the strategy's work runs on the wire loop, a turn at each
  /// wake-up (`run`), and a full book ring is drained in place. Two threads: the strategy thread
  /// busy-polls the rings on a core of its own while the wire loop only moves bytes
  /// (`runTwoThreads`); a full book ring makes the wire side wait for the strategy thread.
  public enum Layout: Sendable, Equatable {
    case oneThread
    case twoThreads
  }

  public let loop: EventLoop
  public let layout: Layout
  public let host: StrategyHost
  public let runtime: StrategyRuntime
  public let adapter: Adapter
  /// Paper mode: orders are filled here against the live book instead of going to the venue.
  public let paper: PaperExchange?
  public let poller: RuntimeStatusPoller
  public let instrument: Instrument
  /// Times the account stream subscribed (more than once: it was dropped and came back).
  public private(set) var accountSubscriptions = 0
  /// Trading-rule refreshes from the venue (wire side): asked, failed, rules that changed and
  /// were handed to the strategy thread (the last of them), and answers whose scales changed
  /// (not followed).
  public internal(set) var ruleRefreshes = 0
  public internal(set) var ruleRefreshFailures = 0
  public internal(set) var ruleChangesPosted = 0
  public internal(set) var lastPostedRule: TradingRule?
  public internal(set) var ruleScaleChanges = 0
  /// Told (on the wire loop) each time order state was put in doubt.
  public var onStateInDoubt: (() -> Void)?

  /// `clientIDs` spells every client order id (from `Adapter.clientIDs(prefix:)`); make its
  /// prefix unique per run (ids must never repeat). `adapter` builds the venue's connector on the
  /// node's rings.
  public init(
    loop: EventLoop, instrument: Instrument, strategy: Strategy, rule: TradingRule, limits: RiskLimits,
    clientIDs: ClientIDCodec, tracker: OrderTracker = OrderTracker(), clock: Clock,
    bookWindowTicks: Int = 1 << 14,
    centreTick: Int64, paper paperModel: PaperExchange.QueueModel? = nil,
    time: any TimeSource = LiveTime.shared, layout: Layout = .oneThread,
    adapter makeAdapter: (VenueWiring) -> Adapter
  ) {
    self.loop = loop
    self.layout = layout
    self.instrument = instrument
    host = StrategyHost(
      strategy: strategy, symbol: instrument.symbol, rule: rule, limits: limits, tracker: tracker,
      ids: clientIDs, time: time)
    let runtime = StrategyRuntime(
      host: host,
      book: LadderBook(instrument: instrument, windowTicks: bookWindowTicks, centreTick: centreTick),
      clock: clock)
    self.runtime = runtime
    let paper = paperModel.map {
      PaperExchange(
        instrument: instrument,
        book: LadderBook(instrument: instrument, windowTicks: bookWindowTicks, centreTick: centreTick),
        execOut: runtime.execIn, model: $0)
    }
    self.paper = paper
    adapter = makeAdapter(
      VenueWiring(
        loop: loop, instrument: instrument,
        bookSink: PaperBookSink(
          inner: layout == .oneThread ? runtime.sameThreadBookSink : RingBookSink(ring: runtime.bookIn),
          paper: paper),
        execOut: runtime.execIn,
        clientIDs: clientIDs, time: time))
    poller = RuntimeStatusPoller(runtime: runtime)
    clock.add(poller)
    // One thread: cancels a strategy sends early leave now, not after its callback returns.
    if layout == .oneThread { host.onCancelsQueued = { [unowned self] in handOver() } }
    // The wire loop is the exec ring's one producer: these run on it.
    adapter.account.onStateInDoubt = { [unowned self] in stateInDoubt() }
    adapter.account.onSubscribed = { [unowned self] in
      accountSubscriptions += 1
      if accountSubscriptions > 1 { stateInDoubt() }
    }
  }

  func stateInDoubt() {
    _ = runtime.execIn.tryPush(ExecEvent(kind: .stateInDoubt, tag: 0))
    onStateInDoubt?()
  }

  public func start() {
    adapter.feed.start()
    guard paper == nil else { return }
    adapter.entry.start()
    adapter.account.start()
  }

  public func stop() {
    adapter.feed.stop()
    adapter.entry.stop()
    adapter.account.stop()
  }

  /// Every part's bad-input counters and log hook: set their `post` to a side thread to have each
  /// report logged.
  public var problemLogs: [ProblemLog] { adapter.problemLogs }

  /// The book is live and both order connections are up (paper: the book is live).
  public var ready: Bool {
    runtime.applier.isLive && (paper != nil || (adapter.entry.isOpen && adapter.account.isSubscribed))
  }

  /// One pass of the strategy thread's work, then what it decided goes out (one-thread layout).
  public func turn() {
    precondition(layout == .oneThread, "turn() is the one-thread layout's; use runTwoThreads")
    runtime.pollOnce()
    sendDecided()
  }

  /// The wire side's share of a turn: the orders the strategy thread queued go to the entry (or
  /// the paper exchange), and overdue answers are noticed.
  @inline(__always)
  func sendDecided() {
    handOver()
    if paper == nil { adapter.entry.poll(now: runtime.time.nowNs) }
  }

  /// The queued orders to the entry (or the paper exchange), nothing else.
  @inline(__always)
  func handOver() {
    if let paper {
      while let o = runtime.ordersOut.tryPop() { _ = paper.send(o) }
    } else {
      while let o = runtime.ordersOut.tryPop() { _ = adapter.entry.send(o) }
    }
  }

  /// The two-thread layout: the strategy thread (pinned to `strategyCPU` when given) polls the
  /// rings — spinning, or sleeping `idle` between empty turns — while this thread runs the wire
  /// loop, sending what it decided at every wake-up (`wakeNs`), until `condition` holds or
  /// `timeoutNs` passes; then the strategy thread is stopped and joined. `condition` runs on the
  /// wire thread: it may read wire-side state (the adapter, a venue on the same loop) but not the
  /// strategy thread's (book, tracker, host) until this returns. Returns `condition()`.
  /// `mode: .busyPoll` spins the wire loop too (each thread on a core of its own); `onStrategy`
  /// runs on the strategy thread between its turns (a harness's per-thread bookkeeping).
  @discardableResult
  public func runTwoThreads(
    strategyCPU: Int? = nil, idle: StrategyRuntime.Idle = .spin, mode: EventLoop.WaitMode = .block,
    timeoutNs: Int64, wakeNs: Int64 = 100_000, onStrategy: @escaping () -> Void = {},
    until condition: () -> Bool
  ) -> Bool {
    precondition(layout == .twoThreads, "this node was built for the one-thread layout")
    let stop = StopFlag()
    let runtime = self.runtime
    let strategy = NativeThread(name: "nt-strategy", cpu: strategyCPU) {
      runtime.run(idle: idle) {
        onStrategy()
        return stop.flag.load(ordering: .acquiring)
      }
    }
    let wake = loop.schedule(every: wakeNs) { true }
    let met = loop.run(mode: mode, timeoutNs: timeoutNs) {
      sendDecided()
      return condition()
    }
    loop.cancelTimer(wake)
    stop.flag.store(true, ordering: .releasing)
    strategy.join()
    strategyPinned = strategy.pinned  // set by the thread itself: read after the join
    sendDecided()  // what the strategy thread queued before it stopped
    return met
  }

  /// Whether the last `runTwoThreads` pinned its strategy thread.
  public private(set) var strategyPinned = false

  final class StopFlag: Sendable {
    let flag = Atomic<Bool>(false)
  }

  /// Order requests not answered yet: queued for the wire side, or sent and waiting.
  public var pendingRequests: Int { runtime.ordersOut.count + adapter.entry.pendingRequests }

  /// Runs the loop, a turn at every wake-up, until `condition` holds or `timeoutNs` passes.
  /// A timer wakes the loop every `wakeNs` so the Clock ticks even when the venue is quiet.
  /// `mode: .busyPoll` never sleeps (the one-thread-spin layout).
  @discardableResult
  public func run(
    mode: EventLoop.WaitMode = .block, timeoutNs: Int64, wakeNs: Int64 = 1_000_000,
    until condition: () -> Bool
  ) -> Bool {
    Self.run([self], mode: mode, timeoutNs: timeoutNs, wakeNs: wakeNs, until: condition)
  }

  /// The same for several nodes sharing one loop (a strategy trading two venues on one thread,
  /// e.g. cross-exchange market making): each takes its turn at every wake-up.
  @discardableResult
  public static func run(
    _ nodes: [TradingNode], mode: EventLoop.WaitMode = .block, timeoutNs: Int64, wakeNs: Int64 = 1_000_000,
    until condition: () -> Bool
  ) -> Bool {
    guard let loop = nodes.first?.loop else { return condition() }
    precondition(nodes.allSatisfy { $0.loop === loop }, "nodes run together share one loop")
    // One repeating timer: re-arming it allocates nothing (a chain of one-shot timers would
    // allocate a closure on the engine thread at every wake-up).
    let wake = loop.schedule(every: wakeNs) { true }
    defer { loop.cancelTimer(wake) }
    return loop.run(mode: mode, timeoutNs: timeoutNs) {
      for n in nodes { n.turn() }
      return condition()
    }
  }
}
