import CSimdJSON
import Connectors
import Engine
import FastBook

/// A backtest on the live path: a `MarketTape` (a venue's capture after its production decoder)
/// replayed through the venue's book sync into the runtime's book ring, the strategy host, the
/// tracker and the Clock on a `SimulatedTime` — the same objects `run` trades with — while a
/// `SimulatedExchange` fills the orders on venue time with a queue model. One thread, no sockets,
/// run to completion; the same tape and settings give the same events in the same order.
///
/// Five sources of events, each in time order, at equal times in this order (hftbacktest's for
/// the first four, so that fills line up with its):
/// 1. market messages on receive time (shifted by `localShiftNs`): the book sync, then a turn of
///    the strategy thread's work (`StrategyRuntime.pollEvents`) and its orders handed over;
/// 2. answers reaching the trader (after `responseNs`): `ExecEvent`s into the exec ring, a turn;
/// 3. market rows on venue time: the exchange's book and queues;
/// 4. requests reaching the exchange (after `entryNs`);
/// 5. the Clock's ticks — after every event of their time, as a strategy stepped by hftbacktest's
///    `elapse` acts after the events up to its step.
///
/// The receive clock is moved forward by the largest amount it ran behind the venue's anywhere on
/// the tape (hftbacktest's converter does the same), so no message is received before it
/// happened. The exchange's rows are put in venue-time order within a window the tape's largest
/// lag bounds (`maxLagNs`: exact for a capture whose receive times never go back).
public final class Backtester {
  public struct Settings: Sendable {
    public var queue: QueueModel = .riskAverse
    /// Partial fills, takers walking the book, our own orders queueing behind each other
    /// (`.partial`), or hftbacktest's no-partial-fill exchange (`.whole`).
    public var fills: SimulatedExchange.FillMode = .partial
    /// Order entry latency (a request reaches the exchange this long after it is sent) and
    /// response latency (the exchange's answer reaches the trader this long after its event):
    /// constant, or from recorded round trips.
    public var latency = LatencyModel.constant(entryNs: 1_000_000, responseNs: 1_000_000)
    public var clockTickNs: Int64 = 1_000_000_000
    /// The Clock's ticks on whole multiples of `clockTickNs` (as live), or one tick after the
    /// data's first event and every `clockTickNs` after it (as hftbacktest's `elapse` steps).
    public var clockFromFirstEvent = false
    public var bookWindowTicks = 1 << 16
    /// Keep every fill in `fills` (tests, small runs); off, fills only go to `onFill` and memory
    /// does not grow with them.
    public var keepFills = true
    public init() {}
  }

  /// A fill as the exchange made it (venue time).
  public struct Fill: Sendable, Equatable {
    public var exchangeNs: Int64
    /// When the answer reached the trader.
    public var localNs: Int64
    public var tag: UInt64
    public var side: TradeSide
    /// Price and quantity raws.
    public var price: Int64
    public var quantity: Int64
    public var maker: Bool
    /// For maker fills: the quantity that was ahead of the order when it arrived (lots of the
    /// instrument's quantity scale, as a fraction).
    public var queueAhead: Double
    /// The order's round trip: sent, reached the exchange, the fill's answer received.
    public var sentNs: Int64
  }

  public let tape: MarketTape
  public let settings: Settings
  public let instrument: Instrument
  public let time: SimulatedTime
  public let runtime: StrategyRuntime
  public var host: StrategyHost { runtime.host }
  public let exchange: SimulatedExchange
  /// The venue's book sync the tape's messages go through (the local side).
  public let sync: any TapeBookFeed
  /// With `exchangeSeesReceived`: the exchange's own sync, and the rows it gives.
  let exchangeSync: (any TapeBookFeed)?
  let exchangeBook = ExchangeBookRows()
  public let localShiftNs: Int64
  let tickSize: Int64
  let quantityUnit: Double

  // 1. local data
  var localAt: Int
  // 3. exchange rows: read ahead from the tape, kept in venue-time order
  var exchangeAt: Int
  var rows: RowQueue
  let maxLagNs: Int64
  /// The receive time of the last message read ahead for the exchange (max so far).
  var readAheadLocal: Int64 = .min
  // 2. and 4.: the buses
  var requests = TimedQueue<Request>()
  var answers = TimedQueue<ExecEvent>()

  enum Request {
    case place(
      tag: UInt64, side: TradeSide, tick: Int64, quantity: Double, tif: SimulatedExchange.TimeInForce)
    case cancel(tag: UInt64)
    case status(tag: UInt64)
    case reconcileEnd
  }

  struct OrderInfo {
    var side: TradeSide
    var quantity: Int64
    var sentNs: Int64
    var filled: Int64 = 0
  }
  var orderInfo: [UInt64: OrderInfo] = [:]
  var nextTradeID: Int64 = 1

  public private(set) var fills: [Fill] = []
  /// Told of every fill as the exchange makes it (the recorder of a run's results).
  public var onFill: ((Fill) -> Void)?
  /// Fills made (whether or not kept).
  public private(set) var fillCount = 0
  public private(set) var messages = 0
  public private(set) var exchangeRows = 0
  /// Rows that reached the exchange after a later one (a capture whose receive times go back
  /// beyond what the window covers): applied at the exchange's current time.
  public private(set) var lateRows = 0
  public private(set) var ordersSent = 0
  public private(set) var cancelsSent = 0
  public private(set) var now: Int64 = 0

  /// `strategy` trades `tape` (its raws at `instrument`'s scales) through the venue's book sync
  /// (`bookFeed`, made on the runtime's book sink by the venue's capture reader); `limits`
  /// and `tradingRule` as live. With `exchangeSeesReceived` (a second sync of the venue's, made
  /// on the sink given), the exchange sees the market when the trader receives it — the book as
  /// that sync keeps it, at the receive time: a venue with no feed latency, as the Venue
  /// replaying a capture in lockstep with a trader beside it (the parity test's setting).
  public init(
    tape: MarketTape, instrument: Instrument, strategy: Strategy, tradingRule: TradingRule,
    limits: RiskLimits, clientIDs: ClientIDCodec, tracker: OrderTracker = OrderTracker(),
    settings: Settings = Settings(), time: SimulatedTime? = nil,
    exchangeSeesReceived: ((ExchangeBookSink) -> any TapeBookFeed)? = nil,
    bookFeed: (RingBookSink) -> any TapeBookFeed
  ) {
    self.tape = tape
    self.settings = settings
    self.instrument = instrument
    tickSize = max(1, instrument.tickSize)
    var unit = 1.0
    for _ in 0..<instrument.quantityScale { unit *= 10 }
    quantityUnit = unit
    localShiftNs = Self.localShift(tape)
    maxLagNs = max(0, tape.header.maxLagNs &+ localShiftNs)
    let start = Self.startNs(tape)
    let time = time ?? SimulatedTime(startNs: start)
    self.time = time
    now = start
    let clock =
      settings.clockFromFirstEvent
      ? Clock(tickNs: settings.clockTickNs, firstTickNs: start &+ settings.clockTickNs)
      : Clock(tickNs: settings.clockTickNs, start: start)
    let host = StrategyHost(
      strategy: strategy, symbol: instrument.symbol, rule: tradingRule, limits: limits, tracker: tracker,
      ids: clientIDs, time: time)
    let centre = Int64(0)
    runtime = StrategyRuntime(
      host: host,
      book: LadderBook(instrument: instrument, windowTicks: settings.bookWindowTicks, centreTick: centre),
      clock: clock)
    let lot = Double(instrument.lotSize) / unit
    exchange = SimulatedExchange(model: settings.queue, lot: lot, mode: settings.fills)
    sync = bookFeed(runtime.sameThreadBookSink)
    let out = exchangeBook
    let tick = max(1, instrument.tickSize)
    exchangeSync = exchangeSeesReceived.map { $0(ExchangeBookSink(out: out, tickSize: tick)) }
    localAt = tape.bodyStart
    exchangeAt = tape.bodyStart
    rows = RowQueue()
  }

  deinit { rows.buffer.deallocate() }

  /// How far the tape's receive clock is moved forward (its largest lag behind the venue's).
  public static func localShift(_ tape: MarketTape) -> Int64 {
    tape.header.minLagNs < 0 ? -tape.header.minLagNs : 0
  }

  /// The time a backtest of `tape` starts at: its first event on either clock. Give a strategy
  /// that reads the time source a `SimulatedTime` starting here, and the backtester the same.
  public static func startNs(_ tape: MarketTape) -> Int64 {
    guard tape.header.messages > 0 else { return 0 }
    return min(tape.header.firstLocalNs &+ localShift(tape), tape.header.firstExchangeNs)
  }

  /// Runs to the end of the tape (and of every answer and request in flight), then stops.
  public func run() {
    while step() {}
  }

  /// The same, calling `progress` with the share of the tape read every `every` events.
  public func run(every: Int, _ progress: (Double) -> Void) {
    let span = Double(max(1, tape.end - tape.bodyStart))
    var n = 0
    while step() {
      n &+= 1
      if n == every {
        n = 0
        progress(Double(localAt - tape.bodyStart) / span)
      }
    }
  }

  /// After `run`: what the strategy decided since (its stop's cancels) goes out and is answered.
  public func finish() {
    handOver()
    run()
  }

  /// Handles the earliest event (ties in the order above); false when nothing is left.
  @discardableResult
  public func step() -> Bool {
    fillRows()
    let lt = localAt < tape.end ? tape.message(at: localAt).pointee.localNs &+ localShiftNs : Int64.max
    let rt = answers.nextNs
    let et = rows.isEmpty ? Int64.max : rows.first.exchangeNs
    let qt = requests.nextNs
    let ct = runtime.clock.nextTickNs
    let t = min(lt, rt, et, qt)
    if t == Int64.max { return false }
    if ct < t {
      tick(ct)
      return true
    }
    now = max(now, t)
    if lt == t {
      local(at: localAt)
      localAt = tape.next(after: localAt)
      tape.release(before: min(localAt, exchangeAt))
    } else if rt == t {
      while answers.nextNs == t {
        let x = answers.pop()
        // A full exec ring is drained into the tracker first: nothing is dropped.
        while !runtime.execIn.tryPush(x) { runtime.pollEvents() }
      }
      time.advance(to: t)
      turn()
    } else if et == t {
      applyRow(rows.pop())
      collectAnswers()
    } else {
      while requests.nextNs == t { arrive(requests.pop(), at: t) }
      collectAnswers()
    }
    return true
  }

  func tick(_ t: Int64) {
    now = max(now, t)
    time.advance(to: t)
    runtime.clock.advance(to: t)
    handOver()
  }

  /// A turn of the strategy thread's work at the current time, and its orders handed over.
  @inline(__always)
  func turn() {
    runtime.pollEvents()
    handOver()
  }

  // MARK: 1. the trader's market data

  func local(at offset: Int) {
    let m = tape.message(at: offset).pointee
    let t = m.localNs &+ localShiftNs
    time.advance(to: t)
    messages += 1
    sync.replay(tape, at: offset, localNs: t)
    turn()
  }

  // MARK: 3. the exchange's market data

  /// Reads messages ahead for the exchange until the earliest queued row is certain to be the
  /// earliest of all: a message not yet read was received no earlier than the last one read, and
  /// happened at most `maxLagNs` before it was received.
  func fillRows() {
    while exchangeAt < tape.end, rows.isEmpty || readAheadLocal &- maxLagNs < rows.first.exchangeNs {
      let m = tape.message(at: exchangeAt).pointee
      let local = m.localNs &+ localShiftNs
      readAheadLocal = max(readAheadLocal, local)
      if let exchangeSync {
        exchangeSync.replay(tape, at: exchangeAt, localNs: local)
        for var r in exchangeBook.rows {
          r.exchangeNs = local
          r.localNs = local
          rows.insert(r)
        }
        exchangeBook.rows.removeAll(keepingCapacity: true)
      } else {
        tape.forEachRow(at: exchangeAt) { rows.insert($0) }
      }
      exchangeAt = tape.next(after: exchangeAt)
    }
  }

  @inline(__always) func quantity(_ q: Int64) -> Double { Double(q) / quantityUnit }

  func applyRow(_ r: MarketRow) {
    exchangeRows += 1
    var at = r.exchangeNs
    if at < exchangeNow {
      lateRows += 1
      at = exchangeNow
    }
    exchangeNow = at
    let tick = r.price / tickSize
    switch r.kind {
    case .level, .snapshotLevel:
      exchange.level(r.side, tick: tick, quantity: quantity(r.quantity), now: at)
    case .clear: exchange.clear(r.price == Int64.min ? nil : r.side, from: tick)
    case .trade:
      exchange.trade(
        aggressor: r.side == .bid ? .buy : .sell, tick: tick, quantity: quantity(r.quantity), now: at)
    }
  }
  var exchangeNow: Int64 = .min

  // MARK: 4. requests at the exchange, and its answers

  func arrive(_ r: Request, at t: Int64) {
    exchangeNow = max(exchangeNow, t)
    switch r {
    case .place(let tag, let side, let tick, let q, let tif):
      exchange.place(id: tag, side: side, tick: tick, quantity: q, timeInForce: tif, now: t)
    case .cancel(let tag):
      exchange.cancel(id: tag, side: orderInfo[tag]?.side ?? .buy, now: t)
    case .status(let tag):
      // The simulated exchange loses nothing: a resting order is working, anything else was
      // answered in full before this (answers arrive in order).
      answers.push(
        exchange.isResting(id: tag)
          ? ExecEvent(kind: .accepted, tag: tag, venueOrderID: Int64(bitPattern: tag))
          : ExecEvent(kind: .notFound, tag: tag),
        at: t &+ settings.latency.response(at: t))
    case .reconcileEnd:
      answers.push(ExecEvent(kind: .reconciled, tag: 0), at: t &+ settings.latency.response(at: t))
    }
  }

  func collectAnswers() {
    exchange.takeAnswers { a in
      let at = a.exchangeNs &+ settings.latency.response(at: a.exchangeNs)
      let venueID = Int64(bitPattern: a.id)
      switch a.kind {
      case .accepted:
        // With its round trip, as the live order entry measures it (the history keeps it).
        let sent = orderInfo[a.id]?.sentNs ?? 0
        answers.push(
          .accepted(
            tag: a.id, venueOrderID: venueID, requestNs: sent, exchangeNs: a.exchangeNs,
            responseNs: max(at, answers.lastNs)),
          at: at)
      case .filled:
        var info = orderInfo[a.id]
        // The last piece is what is left of the order (no rounding drift); others as made.
        let piece = Int64((a.quantity * quantityUnit).rounded())
        let q =
          a.last
          ? (info.map { $0.quantity - $0.filled } ?? piece)
          : min(piece, info.map { $0.quantity - $0.filled } ?? piece)
        info?.filled += q
        let price = a.tick &* tickSize
        let fill = Fill(
          exchangeNs: a.exchangeNs, localNs: max(at, answers.lastNs), tag: a.id, side: a.side, price: price,
          quantity: q, maker: a.maker, queueAhead: a.queueAhead, sentNs: info?.sentNs ?? 0)
        fillCount += 1
        if settings.keepFills { fills.append(fill) }
        onFill?(fill)
        answers.push(
          ExecEvent(
            kind: .filled, tag: a.id, venueOrderID: venueID, tradeID: nextTradeID, price: price, quantity: q,
            taker: !a.maker),
          at: at)
        nextTradeID += 1
        orderInfo[a.id] = a.last ? nil : info
      case .cancelled, .expired:
        answers.push(ExecEvent(kind: .cancelled, tag: a.id, venueOrderID: venueID), at: at)
        orderInfo[a.id] = nil
      case .cancelRejected:
        answers.push(ExecEvent(kind: .cancelRejected, tag: a.id), at: at)
      }
    }
  }

  // MARK: the strategy's orders

  /// The orders the strategy thread queued, onto the bus to the exchange.
  func handOver() {
    let t = time.nowNs
    let arrive = t &+ settings.latency.entry(at: t)
    while let o = runtime.ordersOut.tryPop() {
      switch o.kind {
      case .place:
        ordersSent += 1
        orderInfo[o.tag] = OrderInfo(side: o.side, quantity: o.quantity, sentNs: t)
        requests.push(
          .place(
            tag: o.tag, side: o.side, tick: o.price / tickSize, quantity: quantity(o.quantity),
            tif: o.immediateOrCancel ? .ioc : o.postOnly ? .gtx : .gtc),
          at: arrive)
      case .cancel:
        cancelsSent += 1
        requests.push(.cancel(tag: o.tag), at: arrive)
      case .status:
        requests.push(.status(tag: o.tag), at: arrive)
      case .reconcileEnd:
        requests.push(.reconcileEnd, at: arrive)
      }
    }
  }
}

/// A first-in-first-out bus of timed items: a later push never arrives before an earlier one (its
/// time is raised to the last). Keeps its storage (no allocation once warm).
struct TimedQueue<T> {
  var items: [(ns: Int64, item: T)] = []
  var head = 0
  @inline(__always) var nextNs: Int64 { head < items.count ? items[head].ns : Int64.max }
  @inline(__always) var lastNs: Int64 { items.last?.ns ?? .min }
  @inline(__always) mutating func push(_ x: T, at ns: Int64) {
    if head == items.count && head > 0 {
      items.removeAll(keepingCapacity: true)
      head = 0
    }
    items.append((max(ns, lastNs), x))
  }
  @inline(__always) mutating func pop() -> T {
    let x = items[head].item
    head += 1
    if head == items.count {
      items.removeAll(keepingCapacity: true)
      head = 0
    } else if head >= 4096 && head * 2 >= items.count {
      items.removeFirst(head)
      head = 0
    }
    return x
  }
}

/// Rows waiting for the exchange, kept in venue-time order (rows of equal time in tape order):
/// a ring that grows when full. Recorded rows arrive nearly in order, so inserting from the back
/// moves few.
struct RowQueue {
  var buffer: UnsafeMutablePointer<MarketRow>
  var capacity: Int
  var head = 0
  var count = 0

  init(capacity: Int = 1 << 14) {
    self.capacity = capacity
    buffer = .allocate(capacity: capacity)
  }

  @inline(__always) var isEmpty: Bool { count == 0 }
  @inline(__always) var first: MarketRow { buffer[head] }
  @inline(__always) func at(_ i: Int) -> MarketRow { buffer[(head + i) & (capacity - 1)] }

  @inline(__always) mutating func pop() -> MarketRow {
    let r = buffer[head]
    head = (head + 1) & (capacity - 1)
    count -= 1
    return r
  }

  @inline(__always) mutating func insert(_ r: MarketRow) {
    if count == capacity { grow() }
    var i = count
    let mask = capacity - 1
    while i > 0 {
      let prev = buffer[(head + i - 1) & mask]
      if prev.exchangeNs <= r.exchangeNs { break }
      buffer[(head + i) & mask] = prev
      i -= 1
    }
    buffer[(head + i) & mask] = r
    count += 1
  }

  mutating func grow() {
    let bigger = UnsafeMutablePointer<MarketRow>.allocate(capacity: capacity * 2)
    for i in 0..<count { bigger[i] = at(i) }
    buffer.deallocate()
    buffer = bigger
    capacity *= 2
    head = 0
  }
}

/// The rows a book sync gives the exchange (`Backtester`'s `exchangeSeesReceived`).
public final class ExchangeBookRows {
  var rows: [MarketRow] = []
}

/// A book sync's events as the exchange's market rows: a snapshot clears both sides, then its
/// levels; diffs' levels; trades. Times are set by the backtester.
public struct ExchangeBookSink: BookEventSink {
  let out: ExchangeBookRows
  let tickSize: Int64

  public mutating func emit(_ e: BookEvent) {
    switch e.kind {
    case .level:
      out.rows.append(
        MarketRow(
          kind: .level, side: e.side, exchangeNs: 0, localNs: 0, price: e.tick &* tickSize,
          quantity: e.quantity))
    case .snapshotBegin:
      out.rows.append(
        MarketRow(kind: .clear, side: .bid, exchangeNs: 0, localNs: 0, price: Int64.min, quantity: 0))
    case .trade:
      out.rows.append(
        MarketRow(
          kind: .trade, side: e.side, exchangeNs: 0, localNs: 0, price: e.tick &* tickSize,
          quantity: e.quantity))
    case .batchEnd, .reset:
      break  // a gap resets the trader's book, not the venue's
    }
  }
}
