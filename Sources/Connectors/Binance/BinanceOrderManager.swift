import CSimdJSON
import Engine
import FastBook
import Foundation
import Wire

/// Places, cancels and reconciles orders on Binance spot through REST, keeping an `OrderTracker`
/// right whatever the venue does: an order is tracked before it is sent; a timeout, a lost
/// response or a 5xx leaves it unknown until a status query settles it; "unknown order" answers
/// are counted, not trusted at once; fills come from `myTrades`, de-duplicated by trade id.
public final class BinanceOrderManager {
  public let rest: BinanceSpotREST
  public let tracker: OrderTracker
  public let symbol: String
  public var nowNs: () -> Int64
  /// Requests in flight (placements, cancels, queries).
  public private(set) var pending = 0
  public private(set) var unknownOutcomes = 0
  public private(set) var refusals: [Int: Int] = [:]
  /// Set on a 418 (IP ban): no new order is placed until `resumeTrading()`, even after the ban
  /// ends — an operator should see why first. Cancels and status queries resume after Retry-After.
  public private(set) var haltReason: String?
  public private(set) var rateLimited = 0
  public private(set) var banned = 0
  /// Where the next reconciliation's myTrades page starts (nil: the most recent page).
  public private(set) var nextTradeID: Int64?
  /// myTrades page size (Binance allows up to 1,000).
  public var tradePage = 1000
  /// Calls refused locally because of a pause or halt (nothing was sent, nothing tracked).
  public private(set) var heldBack = 0

  /// Balances as the venue last reported them over REST: asset → (free, locked) in units of
  /// 10⁻⁸ (Binance's eight decimals), exact.
  public private(set) var balances: [String: (free: Int128, locked: Int128)] = [:]
  /// Balance answers that could not be read (counted; the previous balances are kept).
  public private(set) var malformedBalances = 0

  /// Reads every balance (GET /api/v3/account); calls `done(true)` when they were updated.
  public func refreshBalances(_ done: @escaping (Bool) -> Void) {
    guard canSend else {
      heldBack += 1
      return done(false)
    }
    pending += 1
    rest.account { [weak self] outcome in
      guard let self else { return done(false) }
      self.pending -= 1
      guard case .ok(let body) = outcome, let fresh = Self.balances(body) else {
        if case .limited(let st, let ra, let msg) = outcome {
          self.limited(status: st, retryAfter: ra, message: msg)
        }
        if case .ok = outcome { self.malformedBalances += 1 }
        return done(false)
      }
      self.balances = fresh
      done(true)
    }
  }

  /// The balances of a `GET /api/v3/account` answer: asset → (free, locked) in units of 10⁻⁸;
  /// nil when any entry cannot be read.
  public static func balances(_ body: Any) -> [String: (free: Int128, locked: Int128)]? {
    guard let obj = body as? [String: Any], let list = obj["balances"] as? [[String: Any]] else { return nil }
    var out: [String: (free: Int128, locked: Int128)] = [:]
    for b in list {
      guard let a = b["asset"] as? String, let f = (b["free"] as? String).flatMap(units8),
        let l = (b["locked"] as? String).flatMap(units8)
      else { return nil }
      out[a] = (f, l)
    }
    return out
  }

  /// The account's maker and taker rates from `commissionRates` ("0.00100000" → 100_000 at scale
  /// 8), or nil when the answer has none (Binance spot deducts the fee from what an order
  /// receives unless BNB pays it).
  static func commissionRates(_ body: Any) -> FeeSchema? {
    guard let rates = (body as? [String: Any])?["commissionRates"] as? [String: Any],
      let maker = (rates["maker"] as? String).flatMap(units8),
      let taker = (rates["taker"] as? String).flatMap(units8)
    else { return nil }
    return FeeSchema(makerRate: Int64(maker), takerRate: Int64(taker))
  }

  /// The account's `uid` (a number in Binance's answer) as text, or nil when there is none.
  static func accountID(_ body: Any) -> String? {
    guard let uid = (body as? [String: Any])?["uid"] else { return nil }
    if let n = uid as? Int64 { return String(n) }
    if let n = uid as? Int { return String(n) }
    if let t = uid as? String, !t.isEmpty { return t }
    return nil
  }

  /// "123.45678901" → 12345678901 (units of 10⁻⁸, signed); nil for anything else or a non-zero
  /// digit past the eighth.
  static func units8(_ s: String) -> Int128? { try? FixedPoint.parse(s, scale: 8, as: Int128.self) }

  public init(rest: BinanceSpotREST, tracker: OrderTracker, symbol: String, nowNs: @escaping () -> Int64) {
    self.rest = rest
    self.tracker = tracker
    self.symbol = symbol
    self.nowNs = nowNs
  }

  /// True when a request may go out now (no Retry-After pending at the REST client, which also
  /// holds back requests already queued).
  public var canSend: Bool { rest.wallNs >= rest.pausedUntilNs }
  /// True when new orders may be placed (can send and not halted by a 418).
  public var canPlace: Bool { haltReason == nil && canSend }

  public func resumeTrading() { haltReason = nil }

  /// Called on the loop when a Retry-After has passed (the loop is woken for it, so a caller
  /// waiting on `canSend` does not sleep through it).
  public var onCanSend: (() -> Void)?

  func limited(status: Int, retryAfter: Int, message: String) {
    let wait = rest.pausedUntilNs - rest.wallNs
    _ = rest.http.loop.schedule(after: max(0, wait)) { [weak self] in self?.onCanSend?() }
    if status == 418 {
      banned += 1
      haltReason = "HTTP 418 from Binance (IP banned; retry after \(retryAfter) s): \(message)"
    } else {
      rateLimited += 1
    }
  }

  /// Tracks, then sends a LIMIT order. Returns false — nothing tracked, nothing sent — while a
  /// Retry-After is pending or trading is halted by a 418.
  @discardableResult
  public func submit(
    _ id: ClientOrderID, side: TradeSide, price: Int64, quantity: Int64, timeInForce: String = "GTC"
  ) -> Bool {
    guard canPlace else {
      heldBack += 1
      return false
    }
    tracker.track(id, symbol: symbol, side: side, price: price, quantity: quantity, now: nowNs())
    pending += 1
    rest.placeLimit(
      symbol: symbol, clientOrderID: id, side: side, price: price, quantity: quantity,
      timeInForce: timeInForce, reader: .decoded
    ) {
      [weak self] outcome in
      guard let self else { return }
      self.pending -= 1
      switch outcome {
      case .ok(let body): self.applyStatus(id, body)
      case .refused(let code, let message, _):
        self.refusals[code, default: 0] += 1
        if code == -2010 && message.contains("Duplicate") {
          self.unknownOutcomes += 1  // it exists after all: a status query will say how it is
        } else {
          self.tracker.rejected(id, reason: "\(code) \(message)", now: self.nowNs())
        }
      case .unknown:
        self.unknownOutcomes += 1  // unknown, not failed: reconciliation settles it
      case .limited(let status, let retryAfter, let message):
        // Binance refuses a rate-limited request before processing it, but the order stays
        // unknown until a status query says so: the safe reading costs one query.
        self.limited(status: status, retryAfter: retryAfter, message: message)
        self.unknownOutcomes += 1
      }
    }
    return true
  }

  /// Sends a cancel (again, if one is already pending).
  public func cancel(_ id: ClientOrderID) {
    guard canSend else {
      heldBack += 1
      return
    }
    guard tracker.cancelRequested(id, now: nowNs()) else { return }
    pending += 1
    rest.cancel(symbol: symbol, clientOrderID: id, reader: .decoded) { [weak self] outcome in
      guard let self else { return }
      self.pending -= 1
      switch outcome {
      case .ok(let body): self.applyStatus(id, body)
      case .refused(let code, _, _):
        self.refusals[code, default: 0] += 1
        if code == -2011 {
          self.tracker.notFound(id, now: self.nowNs())
        } else {
          self.tracker.cancelFailed(id, now: self.nowNs())
        }
      case .unknown:
        self.unknownOutcomes += 1
      case .limited(let status, let retryAfter, let message):
        self.limited(status: status, retryAfter: retryAfter, message: message)
        self.unknownOutcomes += 1
      }
    }
  }

  /// Queries every order whose state is uncertain (unknown placement, unconfirmed cancel, or
  /// open), then fetches recent fills; `done` runs when all answers are in. Queries go one after
  /// another and stop at a 429/418 (the rest stay uncertain for the next round), so a rate limit
  /// is never answered with more requests.
  public func reconcile(_ done: @escaping () -> Void) {
    let now = nowNs()
    let uncertain = tracker.activeOrders.filter { tracker.worthAsking($0, now: now) }.map(\.clientOrderID)
    var next = 0
    func step() {
      guard canSend else {
        heldBack += 1
        return done()
      }
      if next == uncertain.count {
        // Fills: the most recent page the first time, then page forward from the newest trade
        // id seen, so no fill is missed however many came since the last reconciliation.
        pending += 1
        rest.myTrades(symbol: symbol, fromId: nextTradeID, limit: tradePage, reader: .decoded) {
          [weak self] outcome in
          guard let self else { return done() }
          self.pending -= 1
          switch outcome {
          case .ok(let body):
            let list = (body as? BinanceRESTAnswer)?.trades ?? []
            let unattributed = self.applyTrades(list)
            let before = self.nextTradeID
            // A trade we could not match to an order may belong to one whose placement is still
            // unknown (no venue id yet): start there next time instead of skipping past it.
            let waiting = self.tracker.orders.values.contains { $0.venueOrderID == nil && !$0.state.isDone }
            if let first = unattributed, waiting {
              self.nextTradeID = max(self.nextTradeID ?? 0, first)
            } else if let newest = list.map(\.trade_id).max() {
              self.nextTradeID = max(self.nextTradeID ?? 0, newest + 1)
            }
            if list.count == self.tradePage, let after = self.nextTradeID, after > (before ?? .min) {
              return step()
            }
          case .limited(let status, let retryAfter, let message):
            self.limited(status: status, retryAfter: retryAfter, message: message)
          default: break
          }
          done()
        }
        return
      }
      let id = uncertain[next]
      next += 1
      pending += 1
      rest.status(symbol: symbol, clientOrderID: id, reader: .decoded) { [weak self] outcome in
        guard let self else { return done() }
        self.pending -= 1
        switch outcome {
        case .ok(let body): self.applyStatus(id, body)
        case .refused(let code, _, _):
          if code == -2013 { self.tracker.notFound(id, now: self.nowNs()) }
        case .limited(let status, let retryAfter, let message):
          self.limited(status: status, retryAfter: retryAfter, message: message)
        case .unknown: break
        }
        step()
      }
    }
    step()
  }

  /// An order body read by CSimdJSON (`BodyReader.decoded`; anything else says nothing).
  func applyStatus(_ id: ClientOrderID, _ body: Any) {
    guard let o = body as? BinanceRESTAnswer else { return }
    let now = nowNs()
    let vid = o.venueOrderID >= 0 ? o.venueOrderID : nil
    if let vid { tracker.acceptedIfFirst(id, venueID: VenueOrderID(vid), now: now) }
    switch o.statusKind {
    case .accepted?:
      if let vid { tracker.accepted(id, venueID: VenueOrderID(vid), now: now) }
    case .cancelled?:
      tracker.cancelledAtVenue(id, now: now)
    case .rejected?:
      tracker.rejected(id, reason: "REJECTED", now: now)
    default: break
    }
  }

  /// Feeds a myTrades page to the tracker; returns the smallest trade id it could not match to a
  /// tracked order (nil if none).
  @discardableResult
  func applyTrades(_ list: [nt_rest_trade]) -> Int64? {
    let now = nowNs()
    var unattributed: Int64?
    var byVenueID: [Int64: ClientOrderID] = [:]
    for o in tracker.orders.values { if let v = o.venueOrderID { byVenueID[v.value] = o.clientOrderID } }
    for t in list {
      // A price or quantity off the instrument's scales is not a trade of ours.
      guard t.price >= 0, t.qty >= 0, let id = byVenueID[t.order_id] else {
        unattributed = min(unattributed ?? t.trade_id, t.trade_id)
        continue
      }
      tracker.fill(Fill(clientOrderID: id, tradeID: t.trade_id, price: t.price, quantity: t.qty), now: now)
    }
    return unattributed
  }
}
