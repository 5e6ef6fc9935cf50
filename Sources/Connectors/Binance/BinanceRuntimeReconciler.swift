import Engine
import FastBook
import Wire

/// The wire side of the runtime's reconciliation: the strategy thread (which owns the tracker)
/// asks for the state of each order it is unsure of (`WireOrder.status`) and then for recent fills
/// (`reconcileEnd`); this asks Binance over REST and answers with `ExecEvent`s through the exec
/// ring — accepted / cancelled / rejected / notFound per order, one `filled` per trade (trade ids,
/// so fills already counted are dropped by the tracker), then `reconciled`. A 5xx, timeout or
/// 429/418 answer leaves the order uncertain (no event). An order the venue says has executed
/// some quantity gets its own trades asked for (`myTrades` by `orderId`): the round's page of
/// recent fills only covers trades since the last round, and this order's may be older (its
/// venue id was unknown when they went by).
///
/// Built for the wire thread, where it runs between order answers and market data: requests wait
/// in a fixed queue and go out one at a time on an `HTTPLane` (a keep-alive connection of its own:
/// the WebSocket API's answers are what may have been lost), each written and signed in place,
/// each answer read in place by CSimdJSON (`BinanceRESTDecoder.read`). Nothing is allocated per
/// round once the connection is up. The limiter is the IP's one, shared with the order entry and
/// the snapshot fetcher: a Retry-After or a spent weight pool holds the queue back, and the wire
/// loop's `poll(now:)` sends it when the wait is over.
public final class BinanceRuntimeReconciler: HTTPLaneDelegate {
  /// Signing key, API key, clock offset, recvWindow, time and limiter come from here (the
  /// adapter's REST client for the cold paths: account snapshot, recovery).
  public let rest: BinanceSpotREST
  public let lane: HTTPLane
  let symbol: [UInt8]
  let apiKey: [UInt8]
  let host: [UInt8]
  let clientIDs: ClientIDCodec
  public let execOut: SPSCRing<ExecEvent>
  public private(set) var queries = 0
  public private(set) var rounds = 0
  public private(set) var execRingFull = 0
  /// Where the next round's myTrades starts (`fromId`; nil: the most recent page), so each round
  /// reads the fills since the last one — however many — instead of the last 1,000 again.
  public private(set) var nextTradeID: Int64?
  /// myTrades pages read (a round reads more than one when a page comes back full).
  public private(set) var tradePages = 0
  /// Status queries that did not fit the queue (left uncertain: the next round asks again).
  public private(set) var queriesDropped = 0
  /// One order's trades asked for (its status showed an executed quantity), and those that did
  /// not fit their queue (the next round asks again).
  public private(set) var orderTradeQueries = 0
  public private(set) var orderTradeQueriesDropped = 0
  /// Orders whose trades could not be read in their round (left open for the next).
  public private(set) var orderTradeQueriesGivenUp = 0
  /// Fills the exec ring had no room for: the round stops there and the next reads them again.
  public private(set) var fillsHeldBack = 0
  /// Answers that were not Binance bodies of the expected shapes (200s are reported as problems).
  public private(set) var unreadable = 0
  /// The venue's used weight, from every answer's x-mbx-used-weight header; every count the
  /// venue reports is adopted by the limiter.
  public private(set) var usedWeight = 0
  let usageHeaders: [(pool: Int, name: [UInt8])]
  static let tradePage = 1000

  /// What waits and what is in flight: a status query (its tag), one order's trades (its venue
  /// id), a round's fills (`fills`: its first page; the next pages follow from the answers), or
  /// the priming request.
  enum Job: Equatable {
    case status(UInt64)
    case orderTrades(OrderTrades)
    case page(from: Int64?, pages: Int)
    case prime
  }
  var queue: [UInt64]
  var head = 0
  var count = 0
  /// Orders whose trades are to be read (venue ids), ahead of the main queue: they go out before
  /// the round's page, so the round's `reconciled` follows their fills.
  var orderTradesQueue: [OrderTrades]
  var orderTradesHead = 0
  var orderTradesCount = 0
  var current: Job?
  /// Nothing is sent before this (wall ns): a Retry-After or a spent pool's window.
  var retryAtNs: Int64 = 0
  /// Marks a round's fills in the queue (tags are never this).
  static let fillsMark = UInt64.max
  /// Marks the priming request in the queue.
  static let primeMark = UInt64.max - 1

  /// `queueCapacity` status queries (and a round's end) may wait at once.
  public init(
    rest: BinanceSpotREST, lane: HTTPLane, symbol: String, clientIDs: ClientIDCodec,
    execOut: SPSCRing<ExecEvent>, queueCapacity: Int = 4096
  ) {
    self.rest = rest
    self.lane = lane
    self.symbol = Array(symbol.utf8)
    apiKey = Array(rest.apiKey.utf8)
    host = Array(lane.hostField.utf8)
    self.clientIDs = clientIDs
    self.execOut = execOut
    usageHeaders = BinanceRateLimits.usageHeaders(rest.limiter)
    queue = [UInt64](repeating: 0, count: max(queueCapacity, 2))
    orderTradesQueue = [OrderTrades](
      repeating: OrderTrades(venueID: 0, tag: 0, thenCancelled: false, attempts: 0),
      count: max(queueCapacity / 4, 16))
    lane.delegate = self
  }

  func push(_ e: ExecEvent) {
    if execOut.tryPush(e) { return }
    execRingFull += 1
    // The round's end must arrive (the strategy thread holds new orders until it does): kept
    // and pushed again from `poll`.
    if e.kind == .reconciled { reconciledOwed = true }
  }

  /// When the request in flight was sent (wall ns): the venue's counts in its answer are for
  /// that moment's window.
  var sentAtNs: Int64 = 0

  /// A round's `reconciled` the exec ring had no room for, pushed at the next `poll`.
  var reconciledOwed = false

  /// One order's trades to read: its venue id, its tag, whether the venue said it is cancelled
  /// or expired (told only once its trades are in, so the tracker never closes an order whose
  /// fills it has not seen), and the attempts so far.
  struct OrderTrades: Equatable {
    var venueID: Int64
    var tag: UInt64
    var thenCancelled: Bool
    var attempts: UInt8
  }
  /// Attempts at one order's trades in a round before it is left to the next round (the order
  /// then stays open in the tracker, so the next round asks again).
  static let orderTradesAttempts: UInt8 = 3

  public func handle(_ o: WireOrder) {
    switch o.kind {
    case .status:
      queries += 1
      // One slot is kept for the round's end.
      guard count < queue.count - 1 else {
        queriesDropped += 1
        return
      }
      enqueue(o.tag)
    case .reconcileEnd:
      rounds += 1
      if count < queue.count { enqueue(Self.fillsMark) } else { push(ExecEvent(kind: .reconciled, tag: 0)) }
    case .place, .cancel: break
    }
    pump()
  }

  /// Learns the account's newest trade id before trading starts, so that the first round reads
  /// every fill since (not only the most recent page). Without an answer (an error, a venue down)
  /// the first round reads the most recent page.
  public func prime() {
    guard nextTradeID == nil, count < queue.count else { return }
    enqueue(Self.primeMark)
    pump()
  }

  /// Closes the connection: the request in flight fails as unanswered (a round in flight ends);
  /// what waits goes out on a new connection at the next `poll`, if the loop goes on.
  public func stop() { lane.close() }

  /// Requests waiting (not counting the one in flight).
  public var queued: Int { count + orderTradesCount }

  func enqueue(_ v: UInt64) {
    queue[(head + count) % queue.count] = v
    count += 1
  }

  /// The wire loop's turn: an overdue answer fails, and requests held back by a wait go out once
  /// it is over. One comparison while nothing waits.
  @inline(__always)
  public func poll(now: Int64) {
    if reconciledOwed && execOut.tryPush(ExecEvent(kind: .reconciled, tag: 0)) { reconciledOwed = false }
    if lane.busy { lane.poll(now: now) } else if count > 0 || orderTradesCount > 0 { pump() }
  }

  /// Sends the next request when the lane is free and the limiter lets it go.
  func pump() {
    guard current == nil, !lane.busy, count > 0 || orderTradesCount > 0 else { return }
    let wall = rest.wallNs
    guard wall >= retryAtNs, wall >= rest.pausedUntilNs else { return }
    if orderTradesCount > 0 {
      guard issue(.orderTrades(orderTradesQueue[orderTradesHead]), wall: wall) else { return }
      orderTradesHead = (orderTradesHead + 1) % orderTradesQueue.count
      orderTradesCount -= 1
      return
    }
    let next = queue[head]
    let job: Job =
      next == Self.fillsMark
      ? .page(from: nextTradeID, pages: 0) : next == Self.primeMark ? .prime : .status(next)
    if job == .prime && nextTradeID != nil {
      dequeue()
      return pump()
    }
    guard issue(job, wall: wall) else { return }
    dequeue()
  }

  func dequeue() {
    head = (head + 1) % queue.count
    count -= 1
  }

  /// Sends `job` when its weight is granted; false when it must wait (`retryAtNs` set).
  func issue(_ job: Job, wall: Int64) -> Bool {
    let kind =
      switch job {
      case .status: BinanceRequest.orderStatus
      case .orderTrades: BinanceRequest.orderTrades
      case .page, .prime: BinanceRequest.myTrades
      }
    switch rest.limiter.acquire(kind, now: wall) {
    case .go: break
    case .waitUntil(let t), .halted(let t, _):
      retryAtNs = max(t, wall + 1_000_000)
      return false
    }
    current = job
    sentAtNs = wall
    if case .page = job { tradePages += 1 }
    let sent = lane.send(timeoutNs: rest.timeoutNs) { buffer in write(job, into: buffer, wall: wall) }
    if !sent {
      // Could not be written (never: the buffer holds any of these): as if unanswered.
      failed(job)
    }
    return true
  }

  /// The request line and fields of `job`, the query signed in place.
  func write(_ job: Job, into buffer: UnsafeMutableRawBufferPointer, wall: Int64) -> Int {
    guard let base = buffer.baseAddress, buffer.count >= 1024 else { return 0 }
    var w = ByteWriter(base)
    if case .status = job { w.put("GET /api/v3/order?") } else { w.put("GET /api/v3/myTrades?") }
    let query = w.cursor
    w.put("symbol=")
    w.put(symbol)
    switch job {
    case .status(let tag):
      w.put("&origClientOrderId=")
      // Binance's ids are of `[.A-Z:/a-z0-9_-]`: nothing to percent-encode.
      clientIDs.id(tag: tag).withBytes { w.put($0) }
    case .orderTrades(let o):
      w.put("&orderId=")
      w.put(UInt64: UInt64(max(0, o.venueID)))
      w.put("&limit=")
      w.put(UInt64: UInt64(Self.tradePage))
    case .page(let from, _):
      w.put("&limit=")
      w.put(UInt64: UInt64(Self.tradePage))
      if let from {
        w.put("&fromId=")
        w.put(UInt64: UInt64(max(0, from)))
      }
    case .prime:
      w.put("&limit=1")
    }
    w.put("&recvWindow=")
    w.put(UInt64: UInt64(max(0, rest.recvWindowMs)))
    w.put("&timestamp=")
    w.put(UInt64: UInt64(max(0, wall / 1_000_000 + rest.timeOffsetMs)))
    let signed = w.cursor - query
    w.put("&signature=")
    rest.key.signHex(query, count: signed, into: w.cursor)
    w.skip(64)
    w.put(" HTTP/1.1\r\nHost: ")
    w.put(host)
    w.put("\r\nX-MBX-APIKEY: ")
    w.put(apiKey)
    w.put("\r\n\r\n")
    return w.count
  }

  // MARK: answers

  public func laneAnswered(_ lane: HTTPLane) {
    guard let job = current else { return }
    current = nil
    let r = lane.response
    let status = r.status
    for u in usageHeaders {
      guard let v = r.headerInt(u.name) else { continue }
      rest.limiter.sync(pool: u.pool, used: v, now: rest.wallNs, sentAt: sentAtNs)
      if rest.limiter.pools[u.pool].tag == BinanceRateLimits.Kind.requestWeight.rawValue { usedWeight = v }
    }
    let read = r.withBody { rest.bodyDecoder.read($0) }
    if status == 429 || status == 418 {
      let retryAfter = r.headerInt("retry-after") ?? 60
      if status == 418 {
        let message = read?.errorCode != nil ? rest.bodyDecoder.errorMessage() : ""
        rest.limiter.on418(retryAfterSeconds: retryAfter, now: rest.wallNs, message: message)
      } else {
        rest.limiter.on429(retryAfterSeconds: retryAfter, now: rest.wallNs)
      }
      failed(job)
    } else if status == 200, let read, read.errorCode == nil {
      answered(job, read)
    } else if status >= 500 {
      failed(job)
    } else if let code = read?.errorCode, status != 200 {
      if code == -1021 { rest.onClockRefusal?() }
      if case .status(let tag) = job {
        if code == -2013 { push(ExecEvent(kind: .notFound, tag: tag)) }  // "Order does not exist."
      } else {
        failed(job)
      }
    } else {
      // The request was processed, but what it said cannot be read: unknown, not failed.
      unreadable += 1
      if status == 200 {
        r.withBody { rest.problems.report(.malformedRESTBody, .outcomeUnknown, message: $0) }
      }
      failed(job)
    }
    pump()
  }

  public func lane(_ lane: HTTPLane, failed error: WireError) {
    guard let job = current else { return }
    current = nil
    failed(job)
    if error != .shutdown { pump() }  // stopped: nothing more goes out
  }

  /// No definite answer: the order stays uncertain (the next round asks again, and reads its
  /// trades again if it has executed), a round ends.
  func failed(_ job: Job) {
    current = nil
    switch job {
    case .page: endRound()
    case .orderTrades(let o): retry(o)
    default: break
    }
  }

  /// One order's trades again, ahead of the rest (the round waits for them), a bounded number
  /// of times; then the order is left open for the next round.
  func retry(_ o: OrderTrades) {
    guard o.attempts + 1 < Self.orderTradesAttempts else {
      orderTradeQueriesGivenUp += 1
      return
    }
    var again = o
    again.attempts += 1
    enqueueOrderTrades(again, first: true)
  }

  func answered(_ job: Job, _ read: BinanceRESTDecoder.Read) {
    switch job {
    case .status(let tag):
      let venueID = max(0, read.venueOrderID)
      switch BinanceRESTAnswer.kind(ofStatus: read.orderStatus) {
      case .accepted?:
        push(ExecEvent(kind: .accepted, tag: tag, venueOrderID: venueID))
      case .cancelled?:
        push(ExecEvent(kind: .accepted, tag: tag, venueOrderID: venueID))
        // Cancelled after fills: told once its trades are read (below).
        if !(venueID > 0 && read.executedQuantity > 0) {
          push(ExecEvent(kind: .cancelled, tag: tag, venueOrderID: venueID))
        }
      case .rejected?:
        push(ExecEvent(kind: .rejected, tag: tag))
      default: break
      }
      // Executed (partly or wholly, perhaps cancelled since): its trades are read by order id,
      // since they may be older than the round's page reaches.
      if venueID > 0 && read.executedQuantity > 0 {
        let cancelled = BinanceRESTAnswer.kind(ofStatus: read.orderStatus) == .cancelled
        enqueueOrderTrades(OrderTrades(venueID: venueID, tag: tag, thenCancelled: cancelled, attempts: 0))
      }
    case .orderTrades(let o):
      guard read.isTradeList else { return retry(o) }
      guard pushFills() == nil else { return retry(o) }  // the ring was full: again (duplicates are dropped)
      if o.thenCancelled { push(ExecEvent(kind: .cancelled, tag: o.tag, venueOrderID: o.venueID)) }
    case .prime:
      guard read.isTradeList, nextTradeID == nil else { return }
      var newest: Int64 = -1
      for t in rest.bodyDecoder.trades { newest = max(newest, t.trade_id) }
      nextTradeID = newest + 1
    case .page(let from, let pages):
      guard read.isTradeList else { return endRound() }
      page(from: from, pages: pages)
    }
  }

  func enqueueOrderTrades(_ o: OrderTrades, first: Bool = false) {
    guard orderTradesCount < orderTradesQueue.count else {
      orderTradeQueriesDropped += 1
      return
    }
    let n = orderTradesQueue.count
    if first {
      orderTradesHead = (orderTradesHead + n - 1) % n
      orderTradesQueue[orderTradesHead] = o
    } else {
      orderTradesQueue[(orderTradesHead + orderTradesCount) % n] = o
    }
    orderTradesCount += 1
    orderTradeQueries += 1
  }

  /// The decoded trade list's fills into the exec ring, each by its venue order id
  /// (`ExecEvent.byVenueID`), in the answer's order. Returns the id of the first trade the ring
  /// had no room for (nil: all went).
  func pushFills() -> Int64? {
    for t in rest.bodyDecoder.trades {
      // A price or quantity off the instrument's scales is not a trade of ours.
      guard t.price >= 0, t.qty >= 0 else { continue }
      let e = ExecEvent(
        kind: .filled, tag: ExecEvent.byVenueID, venueOrderID: t.order_id, tradeID: t.trade_id,
        price: t.price, quantity: t.qty)
      guard execOut.tryPush(e) else {
        fillsHeldBack += 1
        return t.trade_id
      }
    }
    return nil
  }

  /// A page of the round's fills: the most recent page the first time (without `prime`), then
  /// forward from the newest trade id seen, page after page while they come back full (at most
  /// 10 a round; the next round goes on from there). Each trade goes to the strategy thread by
  /// its venue order id: the tracker knows every order the venue has named, and this round's
  /// status answers reach it first (same ring, sent earlier). An order whose venue id was not
  /// known yet gets its trades read by order id once a status answer names it. A full exec ring
  /// stops the round at the first trade that did not fit (the next round starts there). Then
  /// `reconciled`.
  func page(from: Int64?, pages: Int) {
    let trades = rest.bodyDecoder.trades
    if let heldBack = pushFills() {
      nextTradeID = max(nextTradeID ?? 0, heldBack)
      return endRound()
    }
    var newest: Int64?
    for t in trades { newest = max(newest ?? t.trade_id, t.trade_id) }
    if let newest {
      let after = newest + 1
      nextTradeID = max(nextTradeID ?? 0, after)
      if trades.count == Self.tradePage, (pages < 9), (after > (from ?? .min)) {
        // The next page goes out at once (ahead of anything queued: the round is one unit).
        if issue(.page(from: after, pages: pages + 1), wall: rest.wallNs) { return }
        // Held back by the limiter: the round ends here; the next goes on from `nextTradeID`.
      }
    }
    endRound()
  }

  func endRound() {
    push(ExecEvent(kind: .reconciled, tag: 0))
  }
}
