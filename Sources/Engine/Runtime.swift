import CPlatform
import FastBook
import Glibc
import Synchronization

/// When a book batch passed each stage on its way to a strategy decision (CLOCK_MONOTONIC ns;
/// 0 = not measured). Rides with the order it caused, so the wire thread can log the whole path.
@frozen
public struct StageStamps: BitwiseCopyable, Sendable, Equatable {
  /// The receive completion of the frame that carried the batch (wire thread).
  public var recvNs: Int64 = 0
  /// The frame decoded (wire thread).
  public var decodedNs: Int64 = 0
  /// The batch applied to the strategy thread's book.
  public var appliedNs: Int64 = 0
  /// The strategy answered and the order passed the rule, the gate and the tracker.
  public var decidedNs: Int64 = 0
  /// The venue's update id of the batch (its last diff), or 0.
  public var updateID: Int64 = 0
  /// Whether the batch was a snapshot (a resync), not a diff.
  public var snapshot = false
  public init() {}
}

/// An order command from the strategy thread to the wire thread: fixed size and reference-free,
/// so it crosses an SPSC ring by copy. `tag` names the order: its client order id is the host's
/// prefix followed by the tag in decimal, which the wire side writes without a String.
@frozen
public struct WireOrder: BitwiseCopyable, Sendable, Equatable {
  @frozen
  public enum Kind: UInt8, BitwiseCopyable, Sendable {
    case place, cancel
    /// Reconciliation: ask the venue for this order's state (answered with exec events, or
    /// `notFound`).
    case status
    /// Reconciliation: after the status queries, fetch recent fills, then answer `reconciled`.
    case reconcileEnd
  }
  public var kind: Kind
  public var side: TradeSide
  public var postOnly: Bool
  public var immediateOrCancel: Bool
  public var tag: UInt64
  /// Raw at the instrument's price scale (place only).
  public var price: Int64
  /// Raw at the instrument's quantity scale (place only).
  public var quantity: Int64
  public var stamps: StageStamps

  public init(
    kind: Kind, tag: UInt64, side: TradeSide = .buy, price: Int64 = 0, quantity: Int64 = 0,
    postOnly: Bool = false, immediateOrCancel: Bool = false, stamps: StageStamps = StageStamps()
  ) {
    self.kind = kind
    self.side = side
    self.postOnly = postOnly
    self.immediateOrCancel = immediateOrCancel
    self.tag = tag
    self.price = price
    self.quantity = quantity
    self.stamps = stamps
  }
}

/// What the venue said about an order, from the wire thread to the strategy thread (which owns
/// the tracker). Fixed size; the order is named by its tag.
@frozen
public struct ExecEvent: BitwiseCopyable, Sendable, Equatable {
  @frozen
  public enum Kind: UInt8, BitwiseCopyable, Sendable {
    /// The venue holds the order (`venueOrderID`).
    case accepted
    /// A fill: `tradeID`, `price`, `quantity` (raws).
    case filled
    /// Cancelled or expired at the venue (IOC remainder, a cancel confirmed).
    case cancelled
    /// Refused by the venue: the order does not exist there.
    case rejected
    /// A cancel the venue refused (unknown order or already done).
    case cancelRejected
    /// The wire side may have missed events (account stream unreadable, dropped or resubscribed,
    /// an order connection lost): the strategy thread reconciles before placing again.
    case stateInDoubt
    /// A status query: the venue does not know the order.
    case notFound
    /// The answers to a reconciliation round are all in.
    case reconciled
  }
  public var kind: Kind
  public var tag: UInt64
  public var venueOrderID: Int64
  public var tradeID: Int64
  public var price: Int64
  public var quantity: Int64

  public init(
    kind: Kind, tag: UInt64, venueOrderID: Int64 = 0, tradeID: Int64 = 0, price: Int64 = 0,
    quantity: Int64 = 0
  ) {
    self.kind = kind
    self.tag = tag
    self.venueOrderID = venueOrderID
    self.tradeID = tradeID
    self.price = price
    self.quantity = quantity
  }
}

extension OrderTracker {
  /// Applies a venue answer about order `id`: the one mapping from execution events to tracker
  /// transitions, for the runtime (events by tag from the rings) and for connectors that own a
  /// tracker themselves. Reconciliation markers (`stateInDoubt`, `reconciled`) are not about an
  /// order and are ignored here.
  public func apply(
    _ x: ExecEvent, to id: ClientOrderID, now: Int64, rejectReason: String = "rejected by the venue"
  ) {
    switch x.kind {
    case .accepted:
      accepted(id, venueID: VenueOrderID(x.venueOrderID), now: now)
    case .filled:
      if x.venueOrderID != 0 { acceptedIfFirst(id, venueID: VenueOrderID(x.venueOrderID), now: now) }
      fill(Fill(clientOrderID: id, tradeID: x.tradeID, price: x.price, quantity: x.quantity), now: now)
    case .cancelled:
      cancelledAtVenue(id, now: now)
    case .rejected:
      rejected(id, reason: rejectReason, now: now)
    case .cancelRejected:
      cancelFailed(id, now: now)
    case .notFound:
      notFound(id, now: now)
    case .stateInDoubt, .reconciled:
      break
    }
  }
}

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
    polls &+= 1
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
    clock.advance(to: now)
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
      let uncertain = host.tracker.orders.values.contains {
        $0.state == .pendingCreate || $0.state == .pendingCancel
      }
      if uncertain && reconcileRounds < 5 { startReconciliation() }
    case .cancelRejected:
      // The venue refused a cancel (Binance: "Unknown order" — it is most likely done, and we
      // missed how): the order is working again in the tracker until a reconciliation says more.
      host.tracker.apply(x, to: host.clientOrderID(tag: x.tag), now: time.nowNs)
      requestReconciliation()
    default:
      // Events for orders the tracker does not know are counted there (`unknownOrderUpdates`).
      host.tracker.apply(x, to: host.clientOrderID(tag: x.tag), now: time.nowNs)
    }
  }

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
  /// then for recent fills; `reconciled` releases the hold. Rare: may allocate.
  ///
  /// Never waits for the order ring (in the one-thread layout its reader is this thread): status
  /// queries that do not fit are left for the next round (`reconcileQueriesDeferred`), and a round
  /// that cannot even queue its end marker is not started.
  func startReconciliation() {
    guard !host.reconciling, ordersOut.freeCount > 0 else { return }
    host.reconciling = true
    reconciliations += 1
    reconcileRounds += 1
    for o in host.tracker.activeOrders {
      guard let tag = host.tag(of: o.clientOrderID) else { continue }
      // Keep one slot for the end marker.
      guard ordersOut.freeCount > 1, ordersOut.tryPush(WireOrder(kind: .status, tag: tag)) else {
        reconcileQueriesDeferred += 1
        continue
      }
    }
    _ = ordersOut.tryPush(WireOrder(kind: .reconcileEnd, tag: 0))
  }

  /// Cancels the venue has not confirmed for the tracker's `cancelRetryNs` go out again (their
  /// answer may have been lost, or refused during a Retry-After): after each reconciliation round
  /// and on the status poller's tick. Rare: may allocate.
  public func retryCancels(now: Int64) {
    let due = host.tracker.cancelsToRetry(now: now)
    guard !due.isEmpty else { return }
    cancelRetries += due.count
    host.perform(referencePrice: StrategyHost.mid(applier.book), now: now) { intents in
      for id in due { if let tag = host.tag(of: id) { intents.cancel(tag: tag) } }
    }
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

/// Order latency samples kept by the wire thread: the stamps each order carried plus the moment
/// its send was submitted. Pre-allocated; when full, further samples are counted, not kept.
public final class LatencyLog: @unchecked Sendable {
  public struct Sample: BitwiseCopyable, Sendable {
    public var tag: UInt64
    public var stamps: StageStamps
    /// The request encoded, signed, framed and sealed; its send queued for the kernel.
    public var queuedNs: Int64
    /// The submit syscall returned (on loopback the kernel has delivered the bytes by then).
    public var sentNs: Int64
  }
  public let capacity: Int
  public let samples: UnsafeMutablePointer<Sample>
  public private(set) var count = 0
  public private(set) var dropped = 0

  public init(capacity: Int) {
    self.capacity = capacity
    samples = .allocate(capacity: capacity)
  }
  deinit { samples.deallocate() }

  @inline(__always)
  public func record(tag: UInt64, stamps: StageStamps, queuedNs: Int64, sentNs: Int64) {
    guard count < capacity else {
      dropped &+= 1
      return
    }
    samples[count] = Sample(tag: tag, stamps: stamps, queuedNs: queuedNs, sentNs: sentNs)
    count &+= 1
  }

  public var all: UnsafeBufferPointer<Sample> { UnsafeBufferPointer(start: samples, count: count) }
}

/// A fixed-size record for the side thread (logging, persistence): a code and four numbers, so
/// the hot threads hand it over by copy and never format text themselves.
@frozen
public struct SideRecord: BitwiseCopyable, Sendable, Equatable {
  public var code: UInt32
  public var tag: UInt64
  public var a: Int64
  public var b: Int64
  public var c: Int64
  public init(code: UInt32, tag: UInt64 = 0, a: Int64 = 0, b: Int64 = 0, c: Int64 = 0) {
    self.code = code
    self.tag = tag
    self.a = a
    self.b = b
    self.c = c
  }
}

/// The side thread: drains a ring of fixed-size records (`SideRecord` for logs, `JournalRecord`
/// for the trade history) and hands each to `handle` (which may format, write files, talk to
/// SQLite — it is off the hot path), then calls `batchEnd` once per drained batch (a database
/// commits there). It sleeps briefly when idle rather than spinning, so it costs the pinned
/// threads nothing. A full ring drops the record and counts it: a hot thread never waits for the
/// side thread.
public final class SideThread<Record: BitwiseCopyable>: @unchecked Sendable {
  public let ring: SPSCRing<Record>
  let handle: (Record) -> Void
  let batchEnd: (() -> Void)?
  let stopping = Atomic<Bool>(false)
  var thread: NativeThread?
  public private(set) var dropped = 0
  public private(set) var handled = 0

  public init(
    capacity: Int = 1 << 14, batchEnd: (() -> Void)? = nil, handle: @escaping (Record) -> Void
  ) {
    ring = SPSCRing(capacity: capacity)
    self.handle = handle
    self.batchEnd = batchEnd
  }

  /// Called from the one producing thread.
  @inline(__always)
  public func post(_ r: Record) {
    if !ring.tryPush(r) { dropped &+= 1 }
  }

  public func start() {
    thread = NativeThread(name: "nt-side", cpu: nil) { [self] in
      while true {
        let n = ring.drain { r in
          handle(r)
          handled &+= 1
        }
        if n > 0 {
          batchEnd?()
        } else {
          if stopping.load(ordering: .acquiring) && ring.count == 0 { return }
          usleep(200)
        }
      }
    }
  }

  /// Handles what is queued, then ends the thread.
  public func stop() {
    stopping.store(true, ordering: .releasing)
    thread?.join()
    thread = nil
  }
}

/// A pthread running a closure, optionally pinned to one CPU (`cplat_pin_current_thread`).
/// The runtime's wire and strategy threads are these; `pinned` says whether pinning worked.
public final class NativeThread: @unchecked Sendable {
  final class Box {
    let body: () -> Void
    let cpu: Int?
    let name: String
    var pinned = false
    init(_ body: @escaping () -> Void, cpu: Int?, name: String) {
      self.body = body
      self.cpu = cpu
      self.name = name
    }
  }
  var tid = pthread_t()
  let box: Box
  var joined = false

  public init(name: String, cpu: Int?, _ body: @escaping () -> Void) {
    box = Box(body, cpu: cpu, name: name)
    let unmanaged = Unmanaged.passRetained(box)
    let rc = pthread_create(
      &tid, nil,
      { arg in
        let b = Unmanaged<NativeThread.Box>.fromOpaque(arg!).takeRetainedValue()
        _ = cplat_set_thread_name(b.name)
        if let c = b.cpu { b.pinned = cplat_pin_current_thread(Int32(c)) == 0 }
        b.body()
        return nil
      }, unmanaged.toOpaque())
    precondition(rc == 0, "pthread_create failed: \(rc)")
  }

  public var pinned: Bool { box.pinned }

  public func join() {
    guard !joined else { return }
    joined = true
    pthread_join(tid, nil)
  }
}

/// Hands the Clock's ticks to the strategy (its slow logic: Hummingbot's `tick`).
final class StrategyTicker: TimeIterator {
  unowned let runtime: StrategyRuntime
  init(runtime: StrategyRuntime) { self.runtime = runtime }
  func tick(now: Int64) {
    runtime.host.tick(now: now, referencePrice: StrategyHost.mid(runtime.book))
  }
}

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

  public func tick(now: Int64) {
    // Once per tick (1 s by default): a scan of the tracker is cheap at that rate.
    guard runtime.host.tracker.orders.values.contains(where: { !$0.state.isDone }) else { return }
    if !runtime.host.reconciling { runtime.retryCancels(now: now) }
    let quiet = rule.isQuiet(now: now, lastEventNs: runtime.lastExecNs, inFlight: true)
    guard rule.isDue(now: now, quiet: quiet) else { return }
    rule.polled(at: now)
    polls += 1
    runtime.requestReconciliation()
  }
}
