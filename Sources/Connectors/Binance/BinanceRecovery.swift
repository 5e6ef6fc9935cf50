import Engine
import FastBook
import Foundation
import Wire

extension BinanceSpotAdapter {
  /// See `VenueAccountQueries.recover`. Each order ends in its venue state with every fill (by
  /// the order's venue id, so fills of any age are found). An order the venue does not know after
  /// three queries half a second apart never reached it (`lost`). REST only, bounded by
  /// `timeoutNs` per request.
  public func recover(
    known: [(clientOrderID: String, venueOrderID: Int64)], prefixes: [String], fromTradeID: Int64?,
    timeoutNs: Int64 = 5_000_000_000
  ) -> RecoveryReport {
    var out = RecoveryReport()
    let inst = rest.instrument
    let symbol = inst.symbol
    func call(_ f: (@escaping (BinanceSpotREST.Outcome) -> Void) -> Void) -> BinanceSpotREST.Outcome {
      // A lost answer or a rate limit is asked again, a few times.
      for attempt in 0..<4 {
        var result: BinanceSpotREST.Outcome?
        out.requests += 1
        f { result = $0 }
        loop.run(timeoutNs: timeoutNs + 1_000_000_000) { result != nil }
        switch result {
        case .ok?, .refused?: return result!
        case .limited(_, let after, _)?:
          let waitNs = Int64(max(after, 1)) * 1_000_000_000
          loop.run(timeoutNs: waitNs) { false }
        default:
          loop.run(timeoutNs: Int64(100_000_000) << attempt) { false }
        }
      }
      return .unknown("no answer")
    }
    func ours(_ id: String) -> Bool { prefixes.contains { id.hasPrefix($0) } }
    func order(_ o: [String: Any], adopted: Bool) -> RecoveryReport.Order? {
      guard let cid = o["clientOrderId"] as? String, let vid = int64(o["orderId"]),
        let p = (o["price"] as? String).flatMap({ try? inst.parseTick($0) }),
        let q = (o["origQty"] as? String).flatMap({ try? inst.parseQuantity($0).raw }),
        let x = (o["executedQty"] as? String).flatMap({ try? inst.parseQuantity($0).raw })
      else { return nil }
      let state: OrderState
      switch o["status"] as? String {
      case "NEW": state = .open
      case "PARTIALLY_FILLED": state = .partiallyFilled
      case "FILLED": state = .filled
      case "CANCELED", "EXPIRED", "EXPIRED_IN_MATCH": state = .cancelled
      case "REJECTED": state = .failed
      default: return nil
      }
      return RecoveryReport.Order(
        clientOrderID: cid, venueOrderID: vid, side: (o["side"] as? String) == "SELL" ? .sell : .buy,
        price: p * inst.tickSize, quantity: q, filled: x, state: state, adopted: adopted, cancelledNow: false)
    }

    // 1. Working orders of ours the history lacks.
    var todo = known.map { (id: $0.clientOrderID, adopted: false) }
    let knownIDs = Set(known.map(\.clientOrderID))
    if case .ok(let body) = call({ self.rest.openOrders(symbol: symbol, $0) }),
      let list = body as? [[String: Any]]
    {
      for o in list {
        if let cid = o["clientOrderId"] as? String, ours(cid), !knownIDs.contains(cid) {
          todo.append((cid, true))
        }
      }
    }

    // 2. Each one's state; cancel what still works; mark what never arrived.
    var seenIDs = Set<String>()
    for (cid, adopted) in todo {
      seenIDs.insert(cid)
      var final: RecoveryReport.Order?
      var notFound = 0
      var settled = false
      for _ in 0..<6 where !settled {
        switch call({ self.rest.status(symbol: symbol, clientOrderID: ClientOrderID(cid), $0) }) {
        case .ok(let body):
          guard let o = body as? [String: Any], var got = order(o, adopted: adopted) else {
            settled = true
            break
          }
          if got.state == .open || got.state == .partiallyFilled {
            let answer = call({ self.rest.cancel(symbol: symbol, clientOrderID: ClientOrderID(cid), $0) })
            if case .ok(let c) = answer, let co = c as? [String: Any], let done = order(co, adopted: adopted)
            {
              got = done
              got.cancelledNow = true
            } else {
              continue  // refused (filled meanwhile) or unknown: ask the status again
            }
          }
          final = got
          settled = true
        case .refused(let code, _, _) where code == -2013:
          notFound += 1
          if notFound >= 3 {
            settled = true
          } else {
            loop.run(timeoutNs: 500_000_000) { false }
          }
        default:
          settled = false
        }
      }
      if let final {
        out.orders.append(final)
      } else if notFound >= 3 {
        out.orders.append(
          RecoveryReport.Order(
            clientOrderID: cid, venueOrderID: 0, side: .buy, price: 0, quantity: 0, filled: 0, state: .lost,
            adopted: adopted, cancelledNow: false))
      } else {
        out.unresolved.append(cid)
      }
    }

    // 3. Orders of ours that finished while nobody watched: from the fills since the history's last.
    var from = fromTradeID
    var byVenueID = Dictionary(
      out.orders.map { ($0.venueOrderID, $0.clientOrderID) }, uniquingKeysWith: { a, _ in a })
    var pages = 0
    while pages < 50 {
      pages += 1
      guard case .ok(let body) = call({ self.rest.myTrades(symbol: symbol, fromId: from, limit: 1000, $0) }),
        let list = body as? [[String: Any]]
      else { break }
      for t in list {
        guard let f = myTrade(t, inst), byVenueID[f.orderID] == nil else { continue }
        if case .ok(let body) = call({ self.rest.status(symbol: symbol, venueOrderID: f.orderID, $0) }),
          let o = body as? [String: Any], let cid = o["clientOrderId"] as? String, ours(cid),
          !seenIDs.contains(cid),
          let got = order(o, adopted: !knownIDs.contains(cid))
        {
          seenIDs.insert(cid)
          out.orders.append(got)
        }
        byVenueID[f.orderID] = out.orders.last(where: { $0.venueOrderID == f.orderID })?.clientOrderID ?? ""
      }
      guard list.count == 1000, let last = list.last.flatMap({ int64($0["id"]) }) else { break }
      from = last + 1
    }

    // 4. Every fill of each order that traded, by its venue id.
    for o in out.orders where o.filled > 0 && o.venueOrderID != 0 {
      guard case .ok(let body) = call({ self.rest.myTrades(symbol: symbol, orderId: o.venueOrderID, $0) }),
        let list = body as? [[String: Any]]
      else {
        out.unresolved.append(o.clientOrderID)
        continue
      }
      for t in list {
        guard let f = myTrade(t, inst) else { continue }
        out.trades.append(
          RecoveryReport.Trade(
            clientOrderID: o.clientOrderID, tradeID: f.tradeID, venueOrderID: f.orderID, side: o.side,
            price: f.price,
            quantity: f.quantity,
            commission: (t["commission"] as? String).flatMap(BinanceOrderManager.units8) ?? 0,
            commissionAsset: t["commissionAsset"] as? String ?? "", timeMs: int64(t["time"]) ?? 0))
      }
    }
    return out
  }
}

/// One entry of a myTrades answer: trade id, order id, price and quantity as raws (nil when a
/// field is missing or not a number the instrument can hold).
func myTrade(_ t: [String: Any], _ inst: Instrument) -> (
  tradeID: Int64, orderID: Int64, price: Int64, quantity: Int64
)? {
  guard let tid = int64(t["id"]), let oid = int64(t["orderId"]),
    let p = (t["price"] as? String).flatMap({ try? inst.parseTick($0) }),
    let q = (t["qty"] as? String).flatMap({ try? inst.parseQuantity($0).raw })
  else { return nil }
  return (tid, oid, p * inst.tickSize, q)
}

/// A JSON number from Foundation's parser as Int64.
func int64(_ v: Any?) -> Int64? {
  if let n = v as? NSNumber { return n.int64Value }
  return (v as? Int).map(Int64.init)
}
