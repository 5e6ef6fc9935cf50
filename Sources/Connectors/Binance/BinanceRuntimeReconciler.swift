import Engine
import FastBook
import Foundation
import Wire

/// The wire side of the runtime's reconciliation: the strategy thread (which owns the tracker)
/// asks for the state of each order it is unsure of (`WireOrder.status`) and then for recent fills
/// (`reconcileEnd`); this asks Binance over REST and answers with `ExecEvent`s through the exec
/// ring — accepted / cancelled / rejected / notFound per order, one `filled` per trade (trade ids,
/// so fills already counted are dropped by the tracker), then `reconciled`. A 5xx, timeout or
/// 429/418 answer leaves the order uncertain (no event); the REST client's limiter holds every
/// request back during a Retry-After. Bodies are read by CSimdJSON (`BodyReader.decoded`), not
/// Foundation: every unknown outcome asks here.
public final class BinanceRuntimeReconciler {
  public let rest: BinanceSpotREST
  let symbol: String
  let clientIDs: ClientIDCodec
  public let execOut: SPSCRing<ExecEvent>
  /// Venue order id → tag, learned from status answers (to attribute myTrades).
  var tagOfVenueID: [Int64: UInt64] = [:]
  public private(set) var queries = 0
  public private(set) var rounds = 0
  public private(set) var execRingFull = 0

  public init(rest: BinanceSpotREST, symbol: String, clientIDs: ClientIDCodec, execOut: SPSCRing<ExecEvent>) {
    self.rest = rest
    self.symbol = symbol
    self.clientIDs = clientIDs
    self.execOut = execOut
  }

  func push(_ e: ExecEvent) {
    if !execOut.tryPush(e) { execRingFull += 1 }
  }

  public func handle(_ o: WireOrder) {
    switch o.kind {
    case .status: status(tag: o.tag)
    case .reconcileEnd: fills()
    case .place, .cancel: break
    }
  }

  func status(tag: UInt64) {
    queries += 1
    let id = clientIDs.id(tag: tag)
    rest.status(symbol: symbol, clientOrderID: id, reader: .decoded) { [weak self] outcome in
      guard let self else { return }
      switch outcome {
      case .ok(let body):
        guard let o = body as? BinanceRESTAnswer else { return }
        let venueID = max(0, o.venueOrderID)
        if venueID != 0 { self.tagOfVenueID[venueID] = tag }
        switch o.statusKind {
        case .accepted?:
          self.push(ExecEvent(kind: .accepted, tag: tag, venueOrderID: venueID))
        case .cancelled?:
          self.push(ExecEvent(kind: .accepted, tag: tag, venueOrderID: venueID))
          self.push(ExecEvent(kind: .cancelled, tag: tag, venueOrderID: venueID))
        case .rejected?:
          self.push(ExecEvent(kind: .rejected, tag: tag))
        default: break
        }
      case .refused(let code, _, _):
        if code == -2013 { self.push(ExecEvent(kind: .notFound, tag: tag)) }
      case .unknown, .limited:
        break  // still uncertain: the next round asks again
      }
    }
  }

  func fills() {
    rounds += 1
    rest.myTrades(symbol: symbol, limit: 1000, reader: .decoded) { [weak self] outcome in
      guard let self else { return }
      if case .ok(let body) = outcome, let answer = body as? BinanceRESTAnswer {
        for t in answer.trades where t.price >= 0 && t.qty >= 0 {
          guard let tag = self.tagOfVenueID[t.order_id] else { continue }
          self.push(
            ExecEvent(
              kind: .filled, tag: tag, venueOrderID: t.order_id, tradeID: t.trade_id, price: t.price,
              quantity: t.qty))
        }
      }
      self.push(ExecEvent(kind: .reconciled, tag: 0))
    }
  }
}
