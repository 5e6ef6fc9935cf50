import Engine
import FastBook

/// The backtest's clock and event order, as hftbacktest's (2.4.x) so that fills line up with its:
/// four sources of events — market rows on receive time (the trader's book), answers reaching the
/// trader, market rows on venue time (the exchange's book), requests reaching the exchange — each
/// taken in time order; at equal times in that order (so a request arriving at `t` finds every
/// market event of time ≤ `t` already applied at the exchange). `elapse(d)` runs every event up to
/// and including `now + d`, then stands at `now + d`; the first call starts at the first event.
///
/// Requests reach the exchange `entryNs` after they are sent and its answers reach the trader
/// `responseNs` after the exchange's event (constant order latency); a bus never delivers out of
/// order (a time before the last queued one is raised to it).
public final class BacktestEventLoop {
  public let exchange: SimulatedExchange
  /// The trader's book (on receive time), by the same level rules as the exchange's.
  public private(set) var book: ExchangeDepth
  public let tickSize: Int64
  let quantityUnit: Double
  let exchangeRows: [MarketRow]
  let localRows: [MarketRow]
  var ei = 0
  var li = 0
  /// Added to every receive time (a recorder's clock behind the venue's).
  public let localShiftNs: Int64
  public let entryNs: Int64
  public let responseNs: Int64

  enum Request {
    case place(
      id: UInt64, side: TradeSide, tick: Int64, quantity: Double,
      tif: SimulatedExchange.TimeInForce)
    case cancel(id: UInt64, side: TradeSide)
  }
  var requests: [(ns: Int64, request: Request)] = []
  var requestHead = 0
  var responses: [(ns: Int64, answer: SimulatedExchange.Answer)] = []
  var responseHead = 0
  public private(set) var now: Int64 = .min

  /// An order as the trader knows it.
  public struct LocalOrder: Sendable, Equatable {
    public var id: UInt64
    public var side: TradeSide
    public var tick: Int64
    public var status: SimulatedExchange.Status
    /// A request for it is on its way (a new order not yet answered, or a cancel).
    public var pending: Bool
    /// Exchange time of its last event, and the fill's price and quantity.
    public var exchangeNs: Int64 = 0
    public var fillTick: Int64 = 0
    public var fillQuantity: Double = 0
    public var maker = false
    /// When the last request for it was sent.
    public var requestNs: Int64
    /// A cancel can be sent: working and nothing on its way.
    public var cancellable: Bool { status == .new && !pending }
  }
  public private(set) var orders: [UInt64: LocalOrder] = [:]

  /// `rows` in file order; `tickSize` the price grid at the rows' price scale; quantities are
  /// read at `quantityScale` decimals.
  public init(
    rows: [MarketRow], tickSize: Int64, quantityScale: Int, lot: Double, model: QueueModel, entryNs: Int64,
    responseNs: Int64
  ) {
    self.tickSize = max(1, tickSize)
    var unit = 1.0
    for _ in 0..<quantityScale { unit *= 10 }
    quantityUnit = unit
    exchange = SimulatedExchange(model: model, lot: lot)
    book = ExchangeDepth(lot: lot)
    let lag = rows.map { $0.localNs - $0.exchangeNs }.min() ?? 0
    localShiftNs = lag < 0 ? -lag : 0
    exchangeRows = Self.stableSorted(rows) { $0.exchangeNs }
    localRows = Self.stableSorted(rows) { $0.localNs }
    self.entryNs = entryNs
    self.responseNs = responseNs
  }

  /// Rows in `key` order, rows of equal keys in file order. Recorded rows are nearly in order
  /// on either clock (a row is out of place by a few network delays at most), so an insertion
  /// sort is linear here; a capture far out of order still sorts, only slower.
  static func stableSorted(_ rows: [MarketRow], by key: (MarketRow) -> Int64) -> [MarketRow] {
    var out = rows
    out.withUnsafeMutableBufferPointer { b in
      guard b.count > 1 else { return }
      for i in 1..<b.count {
        let r = b[i]
        let k = key(r)
        var j = i
        while j > 0, key(b[j - 1]) > k {
          b[j] = b[j - 1]
          j -= 1
        }
        b[j] = r
      }
    }
    return out
  }

  @inline(__always) func tick(_ price: Int64) -> Int64 { price / tickSize }
  @inline(__always) func quantity(_ q: Int64) -> Double { Double(q) / quantityUnit }

  /// Runs the events up to and including `now + d`; false at the end of the data.
  public func elapse(_ d: Int64) -> Bool {
    if now == .min { now = nextTime() ?? 0 }
    let target = now + d
    while let t = nextTime() {
      if t > target {
        now = target
        return true
      }
      step()
    }
    return false
  }

  /// The earliest pending event's time.
  @inline(__always)
  func nextTime() -> Int64? {
    let t = min(
      li < localRows.count ? localRows[li].localNs + localShiftNs : Int64.max,
      responseHead < responses.count ? responses[responseHead].ns : Int64.max,
      ei < exchangeRows.count ? exchangeRows[ei].exchangeNs : Int64.max,
      requestHead < requests.count ? requests[requestHead].ns : Int64.max)
    return t == Int64.max ? nil : t
  }

  /// Handles the next event, the sources tied at the earliest time taken in their fixed order.
  func step() {
    let lt = li < localRows.count ? localRows[li].localNs + localShiftNs : Int64.max
    let rt = responseHead < responses.count ? responses[responseHead].ns : Int64.max
    let et = ei < exchangeRows.count ? exchangeRows[ei].exchangeNs : Int64.max
    let qt = requestHead < requests.count ? requests[requestHead].ns : Int64.max
    let t = min(lt, rt, et, qt)
    if lt == t {
      applyLocal(localRows[li])
      li += 1
    } else if rt == t {
      while responseHead < responses.count, responses[responseHead].ns == t {
        receive(responses[responseHead].answer)
        responseHead += 1
      }
    } else if et == t {
      applyExchange(exchangeRows[ei])
      ei += 1
      collectAnswers()
    } else {
      while requestHead < requests.count, requests[requestHead].ns == t {
        switch requests[requestHead].request {
        case .place(let id, let side, let tick, let q, let tif):
          exchange.place(id: id, side: side, tick: tick, quantity: q, timeInForce: tif, now: t)
        case .cancel(let id, let side):
          exchange.cancel(id: id, side: side, now: t)
        }
        requestHead += 1
        collectAnswers()
      }
    }
  }

  func applyLocal(_ r: MarketRow) {
    let side = r.side
    switch r.kind {
    case .level, .snapshotLevel: _ = book.update(side, tick: tick(r.price), quantity: quantity(r.quantity))
    case .clear: book.clear(side, from: tick(r.price))
    case .trade: break
    }
  }

  func applyExchange(_ r: MarketRow) {
    let side = r.side
    switch r.kind {
    case .level, .snapshotLevel:
      exchange.level(side, tick: tick(r.price), quantity: quantity(r.quantity), now: r.exchangeNs)
    case .clear: exchange.clear(side, from: tick(r.price))
    case .trade:
      exchange.trade(
        aggressor: r.side == .bid ? .buy : .sell, tick: tick(r.price), quantity: quantity(r.quantity),
        now: r.exchangeNs)
    }
  }

  func collectAnswers() {
    exchange.takeAnswers { a in
      let at = max(a.exchangeNs + responseNs, responses.last?.ns ?? .min)
      responses.append((at, a))
    }
  }

  func receive(_ a: SimulatedExchange.Answer) {
    guard var o = orders[a.id] else { return }
    switch a.kind {
    case .accepted: o.status = .new
    case .filled:
      o.status = .filled
      o.fillTick = a.tick
      o.fillQuantity = a.quantity
      o.maker = a.maker
    case .cancelled: o.status = .cancelled
    case .expired: o.status = .expired
    case .cancelRejected:
      // The order was already done (its own answer came first): only the request is settled.
      o.pending = false
      orders[a.id] = o
      return
    }
    o.pending = false
    o.exchangeNs = a.exchangeNs
    orders[a.id] = o
  }

  func send(_ r: Request) {
    let at = max(now + entryNs, requests.last?.ns ?? .min)
    requests.append((at, r))
  }

  // MARK: the trader's requests (at `now`)

  /// Sends a new limit order; false when the id is in use.
  @discardableResult
  public func submit(
    id: UInt64, side: TradeSide, tick: Int64, quantity: Double,
    timeInForce: SimulatedExchange.TimeInForce
  ) -> Bool {
    guard orders[id] == nil else { return false }
    orders[id] = LocalOrder(id: id, side: side, tick: tick, status: .new, pending: true, requestNs: now)
    send(.place(id: id, side: side, tick: tick, quantity: quantity, tif: timeInForce))
    return true
  }

  /// Sends a cancel; false when the order is unknown or a request for it is on its way.
  @discardableResult
  public func cancel(id: UInt64) -> Bool {
    guard var o = orders[id], !o.pending else { return false }
    o.pending = true
    o.requestNs = now
    orders[id] = o
    send(.cancel(id: id, side: o.side))
    return true
  }

  /// Forgets the orders that are done (filled, cancelled, expired).
  public func clearInactive() { orders = orders.filter { $0.value.status == .new } }
}
