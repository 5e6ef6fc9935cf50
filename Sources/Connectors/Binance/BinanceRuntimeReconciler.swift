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
  public private(set) var queries = 0
  public private(set) var rounds = 0
  public private(set) var execRingFull = 0
  /// Where the next round's myTrades starts (`fromId`; nil: the most recent page), so each round
  /// reads the fills since the last one — however many — instead of the last 1,000 again.
  public private(set) var nextTradeID: Int64?
  /// myTrades pages read (a round reads more than one when a page comes back full).
  public private(set) var tradePages = 0
  /// Status queries of this round that did not name a venue order id (the order may exist and
  /// have fills we cannot attribute yet).
  var unresolved = 0
  var heldRounds = 0
  static let tradePage = 1000

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
        guard let o = body as? BinanceRESTAnswer else {
          self.unresolved += 1
          return
        }
        let venueID = max(0, o.venueOrderID)
        if venueID == 0 { self.unresolved += 1 }
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
        self.unresolved += 1
        if code == -2013 { self.push(ExecEvent(kind: .notFound, tag: tag)) }
      case .unknown, .limited:
        self.unresolved += 1  // still uncertain: the next round asks again
      }
    }
  }

  /// Learns the account's newest trade id before trading starts, so that the first round reads
  /// every fill since (not only the most recent page). Without an answer (an error, a venue down)
  /// the first round reads the most recent page.
  public func prime() {
    guard nextTradeID == nil else { return }
    rest.myTrades(symbol: symbol, limit: 1, reader: .decoded) { [weak self] outcome in
      guard let self, self.nextTradeID == nil else { return }
      if case .ok(let body) = outcome, let answer = body as? BinanceRESTAnswer {
        self.nextTradeID = (answer.trades.map(\.trade_id).max() ?? -1) + 1
      }
    }
  }

  /// The round's fills: the most recent page the first time (without `prime`), then forward from
  /// the newest trade id seen, page after page while they come back full (at most 10 a round; the
  /// next round goes on from there). Each trade goes to the strategy thread by its venue order id
  /// (`ExecEvent.byVenueID`): the tracker knows every order the venue has named, and this round's
  /// status answers reach it first (same ring, sent earlier). While some status query of the round
  /// named no venue id, the next round reads the same trades again (up to three rounds in a row):
  /// that order's fills may be among them. Then `reconciled`.
  func fills() {
    rounds += 1
    page(from: nextTradeID, pages: 0)
  }

  func page(from: Int64?, pages: Int) {
    tradePages += 1
    rest.myTrades(symbol: symbol, fromId: from, limit: Self.tradePage, reader: .decoded) {
      [weak self] outcome in
      guard let self else { return }
      if case .ok(let body) = outcome, let answer = body as? BinanceRESTAnswer {
        var newest: Int64?
        for t in answer.trades {
          newest = max(newest ?? t.trade_id, t.trade_id)
          // A price or quantity off the instrument's scales is not a trade of ours.
          guard t.price >= 0, t.qty >= 0 else { continue }
          self.push(
            ExecEvent(
              kind: .filled, tag: ExecEvent.byVenueID, venueOrderID: t.order_id, tradeID: t.trade_id,
              price: t.price, quantity: t.qty))
        }
        let hold = self.unresolved > 0 && self.heldRounds < 3
        if let newest {
          let after = newest + 1
          if !hold { self.nextTradeID = max(self.nextTradeID ?? 0, after) }
          if answer.trades.count == Self.tradePage, (pages < 9), after > (from ?? .min) {
            return self.page(from: after, pages: pages + 1)
          }
        }
        self.heldRounds = hold ? self.heldRounds + 1 : 0
      }
      self.unresolved = 0
      self.push(ExecEvent(kind: .reconciled, tag: 0))
    }
  }
}
