import FastBook

/// Paper trading: orders are filled locally against the live book and the live trade stream,
/// and answered with the same `ExecEvent`s a venue's order entry produces — so the strategy
/// thread, the tracker and the risk gate run exactly as they do live. It takes the order entry's
/// place on the wire thread (`send`), with its own copy of the book (`PaperBookSink` feeds it).
///
/// Fills are modelled, not assumed:
/// - An order that crosses the book takes liquidity level by level at the book's prices, only as
///   much as each level shows (partial fills; an IOC remainder is cancelled, a post-only order that
///   would cross is rejected). Liquidity taken stays taken until the venue's book changes that level.
/// - A resting order joins the back of its level: the quantity ahead of it is what the book showed
///   there when it arrived. Public trades at its price eat that queue first and only the excess
///   fills it (partially, as often as it takes); a trade through its price (a sell printed below
///   a resting bid) fills it at its own price, up to the trade's size.
/// - A level that shrinks by more than the trades seen there lost orders to cancellation: under
///   `.proportional` those cancellations come evenly from ahead of and behind the order; under
///   `.riskAverse` they come from behind it (the queue ahead only shrinks when the level becomes
///   smaller than it).
/// - If the other side of the book moves onto or through a resting order's price, the order is
///   filled at its own price against what that side shows there.
///
/// Fixed capacity, no allocation per order or per event. Not thread-safe: one thread (the wire
/// thread, in place of the connector's order entry).
public final class PaperExchange {
  public enum QueueModel: Sendable {
    case riskAverse
    case proportional
  }

  struct Resting {
    var tag: UInt64
    var venueID: Int64
    var side: TradeSide
    var tick: Int64
    var remaining: Int64
    /// Quantity ahead in the queue at `tick`.
    var ahead: Int64
    /// The book's quantity at `tick` on the order's side when last looked at.
    var levelSeen: Int64
    /// Trade quantity at `tick` since then (already taken off `ahead`).
    var tradedSince: Int64
  }

  struct Taken {
    var side: Side
    var tick: Int64
    /// The level's quantity when liquidity was taken from it, and how much was taken.
    var levelQuantity: Int64
    var taken: Int64
  }

  public let instrument: Instrument
  public let model: QueueModel
  public var applier: BookEventApplier
  public let execOut: SPSCRing<ExecEvent>
  let orders: UnsafeMutablePointer<Resting>
  public let capacity: Int
  public private(set) var restingCount = 0
  let taken: UnsafeMutablePointer<Taken>
  let takenCapacity = 256
  var takenCount = 0
  var nextVenueID: Int64 = 1
  var nextTradeID: Int64 = 1

  public private(set) var placed = 0
  public private(set) var fills = 0
  public private(set) var filledQuantity: Int64 = 0
  public private(set) var rejects = 0
  public private(set) var cancels = 0
  /// Orders refused because `capacity` orders were already resting.
  public private(set) var full = 0
  /// Events dropped because the ring to the strategy thread was full.
  public private(set) var execRingFull = 0

  public init(
    instrument: Instrument, book: LadderBook, execOut: SPSCRing<ExecEvent>, model: QueueModel = .proportional,
    capacity: Int = 1024
  ) {
    self.instrument = instrument
    self.model = model
    self.applier = BookEventApplier(book: book)
    self.execOut = execOut
    self.capacity = capacity
    orders = .allocate(capacity: capacity)
    taken = .allocate(capacity: takenCapacity)
  }

  deinit {
    orders.deallocate()
    taken.deallocate()
  }

  public var book: LadderBook { applier.book }

  @inline(__always)
  func push(_ e: ExecEvent) {
    if !execOut.tryPush(e) { execRingFull &+= 1 }
  }

  /// Takes an order command as a venue's order entry would. Returns false only when the command
  /// could not be taken at all (never: a paper venue is always connected).
  @discardableResult
  public func send(_ o: WireOrder) -> Bool {
    switch o.kind {
    case .place: place(o)
    case .cancel: cancel(tag: o.tag)
    case .status:
      // The paper venue never loses an order: a resting one is open, anything else is done (its
      // events were all sent) or was never placed.
      if let i = index(of: o.tag) {
        push(ExecEvent(kind: .accepted, tag: o.tag, venueOrderID: orders[i].venueID))
      } else {
        push(ExecEvent(kind: .notFound, tag: o.tag))
      }
    case .reconcileEnd:
      push(ExecEvent(kind: .reconciled, tag: 0))
    }
    return true
  }

  func place(_ o: WireOrder) {
    let tickSize = instrument.tickSize
    guard o.quantity > 0, o.price > 0, o.price % tickSize == 0 else {
      rejects &+= 1
      return push(ExecEvent(kind: .rejected, tag: o.tag))
    }
    let tick = o.price / tickSize
    let opposite: Side = o.side == .buy ? .ask : .bid
    let crosses = book.best(opposite).map { o.side == .buy ? $0.tick <= tick : $0.tick >= tick } ?? false
    if crosses && o.postOnly {
      rejects &+= 1
      return push(ExecEvent(kind: .rejected, tag: o.tag))
    }
    if !o.immediateOrCancel && restingCount == capacity {
      full &+= 1
      rejects &+= 1
      return push(ExecEvent(kind: .rejected, tag: o.tag))
    }
    placed &+= 1
    let venueID = nextVenueID
    nextVenueID &+= 1
    push(ExecEvent(kind: .accepted, tag: o.tag, venueOrderID: venueID))
    var remaining = o.quantity
    if crosses {
      remaining = take(
        tag: o.tag, venueID: venueID, side: o.side, limitTick: tick, quantity: remaining, atOwnPrice: false)
    }
    guard remaining > 0 else { return }
    if o.immediateOrCancel {
      return push(ExecEvent(kind: .cancelled, tag: o.tag, venueOrderID: venueID))
    }
    let mine: Side = o.side == .buy ? .bid : .ask
    let level = book.quantity(mine, at: tick)
    orders[restingCount] = Resting(
      tag: o.tag, venueID: venueID, side: o.side, tick: tick, remaining: remaining, ahead: level,
      levelSeen: level, tradedSince: 0)
    restingCount += 1
  }

  func cancel(tag: UInt64) {
    guard let i = index(of: tag) else {
      return push(ExecEvent(kind: .cancelRejected, tag: tag))
    }
    cancels &+= 1
    push(ExecEvent(kind: .cancelled, tag: tag, venueOrderID: orders[i].venueID))
    remove(at: i)
  }

  func index(of tag: UInt64) -> Int? {
    for i in 0..<restingCount where orders[i].tag == tag { return i }
    return nil
  }

  func remove(at i: Int) {
    restingCount -= 1
    orders[i] = orders[restingCount]
  }

  @inline(__always)
  func fill(tag: UInt64, venueID: Int64, tick: Int64, quantity: Int64, taker: Bool = false) {
    fills &+= 1
    filledQuantity &+= quantity
    push(
      ExecEvent(
        kind: .filled, tag: tag, venueOrderID: venueID, tradeID: nextTradeID,
        price: tick * instrument.tickSize,
        quantity: quantity, taker: taker))
    nextTradeID &+= 1
  }

  /// Takes up to `quantity` from the other side's levels at or better than `limitTick`, each
  /// level at most what it shows less what was taken from it already. Returns what is left.
  func take(
    tag: UInt64, venueID: Int64, side: TradeSide, limitTick: Int64, quantity: Int64, atOwnPrice: Bool
  ) -> Int64 {
    let other: Side = side == .buy ? .ask : .bid
    var left = quantity
    book.forEachLevel(other) { level in
      if side == .buy ? level.tick > limitTick : level.tick < limitTick { return false }
      let j = takenIndex(other, level.tick, level.quantity)
      let available = level.quantity - (j.map { taken[$0].taken } ?? 0)
      if available > 0 {
        let q = min(left, available)
        fill(
          tag: tag, venueID: venueID, tick: atOwnPrice ? limitTick : level.tick, quantity: q,
          taker: !atOwnPrice)
        left -= q
        if let j {
          taken[j].taken += q
        } else if takenCount < takenCapacity {
          taken[takenCount] = Taken(side: other, tick: level.tick, levelQuantity: level.quantity, taken: q)
          takenCount += 1
        }
      }
      return left > 0
    }
    return left
  }

  /// The entry for liquidity taken at this level, if the level still shows what it showed then.
  func takenIndex(_ side: Side, _ tick: Int64, _ levelQuantity: Int64) -> Int? {
    for j in 0..<takenCount where taken[j].side == side && taken[j].tick == tick {
      return taken[j].levelQuantity == levelQuantity ? j : nil
    }
    return nil
  }

  /// A public trade (`aggressor`: the side that took liquidity), from the venue's trade stream.
  public func onTrade(tick: Int64, quantity: Int64, aggressor: TradeSide) {
    var i = 0
    while i < restingCount {
      let o = orders[i]
      // A sell aggressor hits bids: resting buys at or above the print; a buy aggressor lifts asks.
      let hit = o.side == .buy ? aggressor == .sell && o.tick >= tick : aggressor == .buy && o.tick <= tick
      guard hit else {
        i += 1
        continue
      }
      var q = quantity
      if o.tick == tick {
        let eaten = min(q, orders[i].ahead)
        orders[i].ahead -= eaten
        orders[i].tradedSince += q
        q -= eaten
      }  // through the order's price: everything ahead of it went first
      let f = min(q, o.remaining)
      if f > 0 {
        fill(tag: o.tag, venueID: o.venueID, tick: o.tick, quantity: f)
        orders[i].remaining -= f
        if orders[i].remaining == 0 {
          remove(at: i)
          continue
        }
      }
      i += 1
    }
  }

  /// Called after each batch applied to `book` (the sink does it): forgets liquidity taken from
  /// levels that changed, moves queues for cancellations, and fills resting orders the other side
  /// has reached.
  public func onBook() {
    var j = 0
    while j < takenCount {
      if book.quantity(taken[j].side, at: taken[j].tick) != taken[j].levelQuantity {
        takenCount -= 1
        taken[j] = taken[takenCount]
      } else {
        j += 1
      }
    }
    var i = 0
    while i < restingCount {
      var o = orders[i]
      let mine: Side = o.side == .buy ? .bid : .ask
      let now = book.quantity(mine, at: o.tick)
      if now < o.levelSeen {
        let cancelled = max(0, o.levelSeen - now - o.tradedSince)
        if cancelled > 0 && model == .proportional && o.levelSeen > 0 {
          // Spread over the queue as it stood: the share ahead of the order.
          let share = Int64((Int128(cancelled) * Int128(o.ahead)) / Int128(o.levelSeen))
          o.ahead -= min(o.ahead, share)
        }
        o.ahead = min(o.ahead, now)
      }
      o.levelSeen = now
      o.tradedSince = 0
      orders[i] = o
      // The other side at or through the order's price: it would have traded with the order.
      let other: Side = o.side == .buy ? .ask : .bid
      if let best = book.best(other), o.side == .buy ? best.tick <= o.tick : best.tick >= o.tick {
        let left = take(
          tag: o.tag, venueID: o.venueID, side: o.side, limitTick: o.tick, quantity: o.remaining,
          atOwnPrice: true)
        if left == 0 {
          remove(at: i)
          continue
        }
        orders[i].remaining = left
      }
      i += 1
    }
  }

  /// The quantity ahead of a resting order in its queue (nil: not resting).
  public func queueAhead(tag: UInt64) -> Int64? { index(of: tag).map { orders[$0].ahead } }
  /// A resting order's unfilled quantity (nil: not resting).
  public func remaining(tag: UInt64) -> Int64? { index(of: tag).map { orders[$0].remaining } }
}
