import Engine
import FastBook

/// How an executor's order goes out. `market` is a limit IOC priced `slippage` beyond the far
/// side's best (Binance market orders without the unbounded price); `limitMaker` is post-only.
public enum ExecutorOrderType: Sendable, Equatable {
  case market
  case limit
  case limitMaker
}

/// Why an executor ended (Hummingbot's close types).
public enum CloseType: String, Sendable, Equatable {
  case takeProfit, stopLoss, timeLimit, trailingStop, completed, earlyStop, expired, failed
}

/// Hummingbot's triple barrier: stop loss, take profit, time limit and trailing stop, each with
/// the order type that closes the position. Returns as fractions of the entry price.
public struct TripleBarrier: Sendable {
  public var stopLoss: Double?
  public var takeProfit: Double?
  public var timeLimitNs: Int64?
  /// Activates once the return reaches `activation`; then closes when it falls `delta` below the
  /// best return since.
  public var trailingStop: (activation: Double, delta: Double)?
  public var takeProfitOrderType = ExecutorOrderType.limit
  public var stopLossOrderType = ExecutorOrderType.market
  public var timeLimitOrderType = ExecutorOrderType.market
  public init(
    stopLoss: Double? = nil, takeProfit: Double? = nil, timeLimitNs: Int64? = nil,
    trailingStop: (activation: Double, delta: Double)? = nil
  ) {
    self.stopLoss = stopLoss
    self.takeProfit = takeProfit
    self.timeLimitNs = timeLimitNs
    self.trailingStop = trailingStop
  }
}

/// What an executor is asked to do (Hummingbot V2's executor configs).
public enum ExecutorConfig: Sendable {
  /// Open `amount` on `side` (at `entryPrice`, or at once when nil / order type market), then
  /// close it by the first barrier reached.
  case position(
    side: TradeSide, amount: Int64, entryPrice: Int64?, openOrderType: ExecutorOrderType,
    barrier: TripleBarrier)
  /// Enter at several prices (limit orders), then close the whole position by the barrier
  /// measured from the average entry.
  case dca(side: TradeSide, levels: [(price: Int64, amount: Int64)], barrier: TripleBarrier)
  /// Buy at each grid level below the price, sell one level up when a buy fills (and the
  /// reverse), between `lower` and `upper` with `levels` levels of `amountPerLevel`.
  case grid(
    lower: Int64, upper: Int64, levels: Int, amountPerLevel: Int64,
    limit: (stopLoss: Int64?, takeProfit: Int64?))
  /// `amount` in `slices` equal orders, one every `intervalNs`.
  case twap(side: TradeSide, amount: Int64, slices: Int, intervalNs: Int64, orderType: ExecutorOrderType)
  /// One order; `limitChaser` keeps a limit `distance` (fraction) from the best price on its side,
  /// re-priced when the best moves more than `refreshThreshold` (fraction) from where it was.
  case single(side: TradeSide, amount: Int64, price: Int64?, orderType: ExecutorOrderType)
  case limitChaser(side: TradeSide, amount: Int64, distance: Double, refreshThreshold: Double)
}

/// An executor's state as a controller sees it.
public struct ExecutorInfo: Sendable {
  public var id: Int
  public var config: ExecutorConfig
  public var isActive: Bool
  public var closeType: CloseType?
  /// Base bought minus sold by this executor.
  public var position: Int64
  /// Σ signed quote flow of its fills (sells +, buys −), price·quantity raws; with the position
  /// valued at a mark this is its PnL.
  public var quoteFlow: Int128
  public var filledOrders: Int
}

/// Hummingbot V2's controller: looks at the market and the executors, asks for executors to be
/// created or stopped. Called by the orchestrator on the Clock's tick.
public protocol Controller: AnyObject {
  func determineActions(book: LadderBook, executors: [ExecutorInfo], now: Int64) -> [ExecutorAction]
}

public enum ExecutorAction: Sendable {
  case create(ExecutorConfig)
  case stop(id: Int)
}

/// An executor: a small state machine owning some orders, stepped on book events and ticks.
public class Executor {
  public let id: Int
  public let config: ExecutorConfig
  public internal(set) var closeType: CloseType?
  public internal(set) var position: Int64 = 0
  public internal(set) var quoteFlow: Int128 = 0
  public internal(set) var filledOrders = 0
  /// Its working orders by tag.
  public internal(set) var orders: [UInt64: OwnOrder] = [:]
  /// Entry notional and quantity (for the average entry price).
  var entryNotional: Int128 = 0
  var entryQuantity: Int64 = 0
  let startNs: Int64
  /// Set when the orchestrator adds it; the orchestrator owns its executors, so it outlives them.
  unowned var orchestrator: ExecutorOrchestrator!
  /// Set when it was told to stop early; it closes what it holds first.
  var stopping = false

  init(id: Int, config: ExecutorConfig, now: Int64) {
    self.id = id
    self.config = config
    startNs = now
  }

  public var isActive: Bool { closeType == nil }
  public var averageEntry: Int64? { entryQuantity == 0 ? nil : Int64(entryNotional / Int128(entryQuantity)) }

  var info: ExecutorInfo {
    ExecutorInfo(
      id: id, config: config, isActive: isActive, closeType: closeType, position: position,
      quoteFlow: quoteFlow,
      filledOrders: filledOrders)
  }

  // What subclasses do.
  func step(book: LadderBook, now: Int64, intents: inout Intents) {}
  func filled(_ o: OwnOrder, tag: UInt64, price: Int64, quantity: Int64, now: Int64, intents: inout Intents) {
  }
  func ended(_ o: OwnOrder, tag: UInt64, completed: Bool, now: Int64, intents: inout Intents) {}
  /// The host refused the order before it left (risk gate, trading rule, a reconciliation under
  /// way): by default, the executor sends it again at its next step.
  func refused(_ o: OwnOrder, tag: UInt64, now: Int64) { retry.append(o) }
  /// Orders to send again (refused before they left).
  var retry: [OwnOrder] = []

  /// Sends again what was refused (same side, price, quantity).
  func sendRetries(book: LadderBook, now: Int64, intents: inout Intents) {
    guard !retry.isEmpty else { return }
    let again = retry
    retry.removeAll()
    for o in again {
      place(
        o.side, o.quantity, price: o.price, type: o.taker ? .market : .limit, book: book, now: now,
        intents: &intents)
    }
  }

  // MARK: orders

  func place(
    _ side: TradeSide, _ quantity: Int64, price: Int64?, type: ExecutorOrderType, book: LadderBook,
    now: Int64,
    intents: inout Intents
  ) {
    guard quantity > 0 else { return }
    let o = orchestrator!
    var px: Int64
    switch type {
    case .market:
      guard let far = side == .buy ? book.bestAsk : book.bestBid else { return }
      let ref = Double(far.tick * book.instrument.tickSize)
      px = Int64(side == .buy ? ref * (1 + o.slippage) : ref * (1 - o.slippage))
    case .limit, .limitMaker:
      guard let p = price else { return }
      px = p
    }
    px = o.rule.quantize(price: px, side: side)
    let q = o.rule.quantize(quantity: quantity)
    guard q > 0 else { return }
    let tag = o.newTag(for: self)
    orders[tag] = OwnOrder(side: side, price: px, quantity: q, createdNs: now, taker: type == .market)
    intents.place(
      PlaceIntent(
        tag: tag, side: side, price: px, quantity: q, postOnly: type == .limitMaker,
        immediateOrCancel: type == .market))
  }

  func cancelAll(intents: inout Intents, where keep: (OwnOrder) -> Bool = { _ in false }) {
    for (tag, o) in orders where !o.cancelling && !keep(o) {
      var c = o
      c.cancelling = true
      orders[tag] = c
      intents.cancel(tag: tag)
    }
  }

  func apply(_ e: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
    guard let o = orders.record(e, tag: tag) else { return }
    switch e {
    case .filled(_, let f):
      position += o.side == .buy ? f.quantity : -f.quantity
      let n = Int128(f.price) * Int128(f.quantity)
      quoteFlow += o.side == .buy ? -n : n
      orchestrator.portfolio.fill(side: o.side, price: f.price, quantity: f.quantity, taker: o.taker)
      filled(o, tag: tag, price: f.price, quantity: f.quantity, now: now, intents: &intents)
    case .completed:
      filledOrders += 1
      ended(o, tag: tag, completed: true, now: now, intents: &intents)
    case .cancelled, .failed, .lost:
      if o.filled > 0 { filledOrders += 1 }
      ended(o, tag: tag, completed: false, now: now, intents: &intents)
    case .cancelRefused, .created:
      break
    }
  }

  func finish(_ t: CloseType) {
    if closeType == nil { closeType = t }
  }
}

/// Runs executors and a controller as one `Strategy` on one market: book events and ticks step
/// every active executor, order events go to the executor that owns the tag, and on each tick
/// the controller's actions create or stop executors.
public final class ExecutorOrchestrator: Strategy {
  public let rule: TradingRule
  public var portfolio: Portfolio
  public var controller: Controller?
  /// How far beyond the far side's best a `market` order is priced (fraction).
  public var slippage = 0.02
  public private(set) var executors: [Executor] = []
  var owner: [UInt64: Executor] = [:]
  var nextTag: UInt64 = 1
  var nextID = 1
  var pending: [ExecutorAction] = []
  /// The runtime's book (one instance for the run): held strongly, as the other strategies do.
  var lastBook: LadderBook?

  public init(rule: TradingRule, portfolio: Portfolio, controller: Controller? = nil) {
    self.rule = rule
    self.portfolio = portfolio
    self.controller = controller
  }

  func newTag(for e: Executor) -> UInt64 {
    let t = nextTag
    nextTag += 1
    owner[t] = e
    return t
  }

  /// Queues an action (created or stopped at the next book event or tick).
  public func submit(_ a: ExecutorAction) { pending.append(a) }

  public func executor(_ id: Int) -> Executor? { executors.first { $0.id == id } }

  func carryOut(_ a: ExecutorAction, book: LadderBook, now: Int64, intents: inout Intents) {
    switch a {
    case .create(let c):
      let e: Executor
      switch c {
      case .position, .dca: e = PositionExecutor(id: nextID, config: c, now: now)
      case .grid: e = GridExecutor(id: nextID, config: c, now: now)
      case .twap: e = TWAPExecutor(id: nextID, config: c, now: now)
      case .single, .limitChaser: e = SingleOrderExecutor(id: nextID, config: c, now: now)
      }
      nextID += 1
      e.orchestrator = self
      executors.append(e)
    case .stop(let id):
      guard let e = executor(id), e.isActive else { return }
      e.stopping = true
    }
  }

  public func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {
    lastBook = book
    if !pending.isEmpty {
      for a in pending { carryOut(a, book: book, now: now, intents: &intents) }
      pending.removeAll(keepingCapacity: true)
    }
    for e in executors where e.isActive {
      e.sendRetries(book: book, now: now, intents: &intents)
      e.step(book: book, now: now, intents: &intents)
    }
  }

  public func onTick(now: Int64, intents: inout Intents) {
    guard let book = lastBook else { return }
    if let c = controller {
      pending.append(contentsOf: c.determineActions(book: book, executors: executors.map(\.info), now: now))
    }
    onBook(book, now: now, intents: &intents)
  }

  public func onOrder(_ event: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
    guard let e = owner[tag] else { return }
    e.apply(event, tag: tag, now: now, intents: &intents)
    switch event {
    case .completed, .cancelled, .failed, .lost: owner[tag] = nil
    default: break
    }
    if let b = lastBook, e.isActive { e.step(book: b, now: now, intents: &intents) }
  }

  public func onRefused(tag: UInt64, now: Int64, intents: inout Intents) {
    guard let e = owner.removeValue(forKey: tag), let o = e.orders.removeValue(forKey: tag) else { return }
    e.refused(o, tag: tag, now: now)
  }
}

/// Position executor (and DCA: several entry levels): opens, then closes the whole position by
/// the first barrier reached — take profit (a limit order resting from the moment something is
/// open and resized as the position grows, or a market close when the return reaches it), stop
/// loss, time limit, trailing stop — or when stopped. An entry not filled by the time limit is
/// cancelled (`expired`). Closing cancels what is working, then sends what is held.
final class PositionExecutor: Executor {
  let side: TradeSide
  let barrier: TripleBarrier
  var opened = false
  var closing: CloseType?
  var bestReturn = -Double.infinity
  var trailingActive = false
  var takeProfitTag: UInt64?
  /// Orders that reduce the position (take profit, close).
  var exits: Set<UInt64> = []

  override init(id: Int, config: ExecutorConfig, now: Int64) {
    switch config {
    case .position(let s, _, _, _, let b), .dca(let s, _, let b):
      side = s
      barrier = b
    default: preconditionFailure("not a position config")
    }
    super.init(id: id, config: config, now: now)
  }

  /// Return of the position at `mark` (fraction of the average entry), signed for the side.
  func currentReturn(mark: Int64) -> Double? {
    guard let entry = averageEntry, entry > 0 else { return nil }
    let r = Double(mark - entry) / Double(entry)
    return side == .buy ? r : -r
  }

  var exitSide: TradeSide { side == .buy ? .sell : .buy }

  func placeExit(
    _ quantity: Int64, price: Int64?, type: ExecutorOrderType, book: LadderBook, now: Int64,
    intents: inout Intents
  )
    -> UInt64
  {
    let tag = orchestrator.nextTag
    place(exitSide, quantity, price: price, type: type, book: book, now: now, intents: &intents)
    if orders[tag] != nil { exits.insert(tag) }
    return tag
  }

  override func step(book: LadderBook, now: Int64, intents: inout Intents) {
    if !opened {
      opened = true
      switch config {
      case .position(let s, let a, let p, let t, _):
        place(s, a, price: p, type: p == nil ? .market : t, book: book, now: now, intents: &intents)
      case .dca(let s, let levels, _):
        for l in levels {
          place(s, l.amount, price: l.price, type: .limit, book: book, now: now, intents: &intents)
        }
      default: break
      }
      return
    }
    if let why = closing {
      // Wait for the cancels; then close what is held (market, or a limit at the far side's best).
      guard orders.isEmpty else { return }
      if position == 0 {
        finish(why)
        return
      }
      let type =
        why == .stopLoss
        ? barrier.stopLossOrderType : why == .timeLimit ? barrier.timeLimitOrderType : .market
      let far = (exitSide == .buy ? book.bestAsk : book.bestBid).map { $0.tick * book.instrument.tickSize }
      _ = placeExit(
        abs(position), price: far, type: type == .market ? .market : .limit, book: book, now: now,
        intents: &intents)
      return
    }
    if stopping { return startClosing(.earlyStop, intents: &intents) }
    if let limit = barrier.timeLimitNs, now - startNs >= limit {
      return startClosing(position == 0 ? .expired : .timeLimit, intents: &intents)
    }
    let mid = StrategyHost.mid(book)
    guard position != 0, mid > 0, let r = currentReturn(mark: mid), let entry = averageEntry else { return }
    if let tp = barrier.takeProfit, barrier.takeProfitOrderType != .market {
      if let t = takeProfitTag, let o = orders[t] {
        // The position grew (more entries filled): the take profit is resized.
        if !o.cancelling && o.remaining != abs(position) { cancel(t, intents: &intents) }
      } else {
        let price = Int64(Double(entry) * (side == .buy ? 1 + tp : 1 - tp))
        takeProfitTag = placeExit(
          abs(position), price: price, type: barrier.takeProfitOrderType, book: book, now: now,
          intents: &intents)
      }
    }
    if let sl = barrier.stopLoss, r <= -sl {
      startClosing(.stopLoss, intents: &intents)
    } else if let tp = barrier.takeProfit, barrier.takeProfitOrderType == .market, r >= tp {
      startClosing(.takeProfit, intents: &intents)
    } else if let ts = barrier.trailingStop {
      if r >= ts.activation { trailingActive = true }
      if trailingActive {
        bestReturn = max(bestReturn, r)
        if r <= bestReturn - ts.delta { startClosing(.trailingStop, intents: &intents) }
      }
    }
  }

  func cancel(_ tag: UInt64, intents: inout Intents) {
    guard var o = orders[tag], !o.cancelling else { return }
    o.cancelling = true
    orders[tag] = o
    intents.cancel(tag: tag)
  }

  func startClosing(_ why: CloseType, intents: inout Intents) {
    closing = why
    cancelAll(intents: &intents)
    if orders.isEmpty && position == 0 { finish(why) }
  }

  override func filled(
    _ o: OwnOrder, tag: UInt64, price: Int64, quantity: Int64, now: Int64, intents: inout Intents
  ) {
    if !exits.contains(tag) {
      entryNotional += Int128(price) * Int128(quantity)
      entryQuantity += quantity
    }
  }

  /// A refused entry is sent again as configured; a refused exit is re-decided at the next step
  /// (the take profit re-placed, the close re-sent with what is held then).
  override func refused(_ o: OwnOrder, tag: UInt64, now: Int64) {
    if exits.remove(tag) != nil {
      if tag == takeProfitTag { takeProfitTag = nil }
    } else {
      retry.append(o)
    }
  }

  override func ended(_ o: OwnOrder, tag: UInt64, completed: Bool, now: Int64, intents: inout Intents) {
    exits.remove(tag)
    if tag == takeProfitTag {
      takeProfitTag = nil
      // The take profit filled the whole position: the rest of the entries go, and it is done.
      if completed && position == 0 && closing == nil { startClosing(.takeProfit, intents: &intents) }
    }
    if let why = closing, orders.isEmpty, position == 0 { finish(why) }
  }
}

/// Grid: a buy at each level below the price; when one fills, a sell one level up (and a buy one
/// level down when a sell fills). Stops (closing what it holds at market) outside the limits.
final class GridExecutor: Executor {
  var prices: [Int64] = []
  var started = false
  var stopLoss: Int64?
  var takeProfit: Int64?
  var closing = false
  var pendingClose: CloseType = .completed

  override func step(book: LadderBook, now: Int64, intents: inout Intents) {
    guard case .grid(let lower, let upper, let levels, let a, let limit) = config else { return }
    let mid = StrategyHost.mid(book)
    guard mid > 0 else { return }
    if !started {
      started = true
      stopLoss = limit.stopLoss
      takeProfit = limit.takeProfit
      let n = max(levels, 2)
      prices = (0..<n).map { lower + (upper - lower) * Int64($0) / Int64(n - 1) }
      for p in prices where p < mid {
        place(.buy, a, price: p, type: .limitMaker, book: book, now: now, intents: &intents)
      }
      return
    }
    if closing {
      if orders.isEmpty {
        if position == 0 {
          finish(pendingClose)
        } else {
          place(
            position > 0 ? .sell : .buy, abs(position), price: nil, type: .market, book: book, now: now,
            intents: &intents)
        }
      }
      return
    }
    if stopping || (stopLoss.map { mid <= $0 } ?? false) || (takeProfit.map { mid >= $0 } ?? false) {
      closing = true
      pendingClose = stopping ? .earlyStop : ((stopLoss.map { mid <= $0 } ?? false) ? .stopLoss : .takeProfit)
      cancelAll(intents: &intents)
    }
  }

  func level(of price: Int64) -> Int? { prices.firstIndex(of: price) }

  override func ended(_ o: OwnOrder, tag: UInt64, completed: Bool, now: Int64, intents: inout Intents) {
    guard completed, !closing, let i = level(of: o.price), let book = orchestrator.lastBook else { return }
    if o.side == .buy, i + 1 < prices.count {
      place(.sell, o.quantity, price: prices[i + 1], type: .limit, book: book, now: now, intents: &intents)
    } else if o.side == .sell, i > 0 {
      place(.buy, o.quantity, price: prices[i - 1], type: .limit, book: book, now: now, intents: &intents)
    }
  }
}

/// TWAP: the amount in equal slices, one every interval; done when all are filled (a market
/// slice that did not fill completely is sent again at the next interval).
final class TWAPExecutor: Executor {
  var nextNs: Int64 = 0

  override func step(book: LadderBook, now: Int64, intents: inout Intents) {
    guard case .twap(let side, let amount, let slices, let interval, let type) = config else { return }
    let done = abs(position)
    if stopping {
      cancelAll(intents: &intents)
      if orders.isEmpty { finish(.earlyStop) }
      return
    }
    if done >= amount {
      finish(.completed)
      return
    }
    guard now >= nextNs, orders.isEmpty else { return }
    let slice = max(amount / Int64(max(slices, 1)), 1)
    let q = min(slice, amount - done)
    nextNs = now + interval
    let price: Int64? =
      type == .market
      ? nil : (side == .buy ? book.bestBid : book.bestAsk).map { $0.tick * book.instrument.tickSize }
    place(side, q, price: price, type: type, book: book, now: now, intents: &intents)
  }

  /// A refused slice is not resent as it was: the next interval sends what is left then.
  override func refused(_ o: OwnOrder, tag: UInt64, now: Int64) {}
}

/// One order: limit, limit-maker, market, or a limit chaser that follows the best price.
final class SingleOrderExecutor: Executor {
  var placed = false
  var anchor: Int64 = 0

  override func step(book: LadderBook, now: Int64, intents: inout Intents) {
    let amount: Int64
    let side: TradeSide
    switch config {
    case .single(let s, let a, _, _), .limitChaser(let s, let a, _, _):
      side = s
      amount = a
    default: return
    }
    let remaining = amount - abs(position)
    if remaining <= 0 {
      finish(.completed)
      return
    }
    if stopping {
      cancelAll(intents: &intents)
      if orders.isEmpty { finish(.earlyStop) }
      return
    }
    let bestSame = (side == .buy ? book.bestBid : book.bestAsk).map { $0.tick * book.instrument.tickSize }
    switch config {
    case .single(_, _, let p, let t):
      if !placed {
        placed = true
        place(side, remaining, price: p, type: t, book: book, now: now, intents: &intents)
      } else if orders.isEmpty && t == .market {
        finish(.completed)
      }
    case .limitChaser(_, _, let distance, let threshold):
      guard let best = bestSame else { return }
      if orders.isEmpty {
        anchor = best
        let px = Int64(Double(best) * (side == .buy ? 1 - distance : 1 + distance))
        place(side, remaining, price: px, type: .limitMaker, book: book, now: now, intents: &intents)
      } else if abs(Double(best - anchor)) / Double(anchor) > threshold {
        cancelAll(intents: &intents)
      }
    default: break
    }
  }

  override func ended(_ o: OwnOrder, tag: UInt64, completed: Bool, now: Int64, intents: inout Intents) {
    if case .single(_, _, _, let t) = config, !completed, t != .market, !stopping { finish(.failed) }
  }

  /// Refused before it left: placed again at the next step (the chaser re-prices anyway).
  override func refused(_ o: OwnOrder, tag: UInt64, now: Int64) { placed = false }
}
