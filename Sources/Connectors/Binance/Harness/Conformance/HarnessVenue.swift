import Connectors
import Engine
import FastBook
import Foundation
import Venue
import Wire

/// The instrument both harnesses trade.
package let harnessInstrument = Instrument(
  symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)

/// The Venue both harnesses trade against: BTCUSDT at 0.01 / 0.00001 (no order-count limit),
/// accounts funded with 1,000,000,000 USDT and 100,000 BTC, one HMAC API key for account 1, on
/// `loop` over TLS with `certs`, its weight limit set to `weightLimitPerMinute`.
package func harnessVenue(
  loop: EventLoop, certs: (ca: String, cert: String, key: String), apiKey: String, secret: String,
  fundedAccounts: [Int], faults: FaultPlan? = nil, weightLimitPerMinute: Int
) throws -> VenueHost {
  let inst = harnessInstrument
  var sym = VenueSymbol(name: inst.symbol, baseAsset: "BTC", quoteAsset: "USDT", instrument: inst)
  sym.minQty = 1
  sym.maxNumOrders = 0
  let engine = MatchingEngine(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
  engine.addSymbol(sym)
  let unit: Int128 = 1_000_000_000_000_000_000
  for account in fundedAccounts {
    engine.deposit(account: account, asset: "USDT", units: 1_000_000_000 * unit)
    engine.deposit(account: account, asset: "BTC", units: 100_000 * unit)
  }
  let host = try VenueHost(
    loop: loop, engine: engine,
    credentials: [VenueCredential(apiKey: apiKey, account: 1, hmacSecret: secret)],
    tls: TLSContext(server: certs.cert, keyFile: certs.key), faults: faults)
  host.rest.weightLimitOverride(weightLimitPerMinute)
  host.rest.orderLimitOverride(1_000_000)  // the harnesses test tracking; pacing has its own test
  return host
}

public enum SoakError: Error { case timedOut(String) }

/// The soak's book: applies the sync's events as the strategy thread would, and after every diff
/// compares its top 20 levels a side with the venue's at that update id.
package final class BookCheck {
  package var applier: BookEventApplier
  package var truth: [Int64: ([BookLevel], [BookLevel])] = [:]
  package var checkpoints = 0
  package var mismatches = 0
  package var firstMismatch: String?

  package init(book: LadderBook) { applier = BookEventApplier(book: book) }

  package func handle(_ e: BookEvent) {
    guard applier.apply(e), applier.isLive, !e.isSnapshotEnd else { return }
    check(applier.book, updateID: e.updateID)
  }

  /// Compares `book` after the diff `updateID` with the venue's book then (when it was recorded).
  package func check(_ book: LadderBook, updateID: Int64) {
    guard let want = truth[updateID] else { return }
    checkpoints += 1
    let bids = book.levels(.bid, limit: 20)
    let asks = book.levels(.ask, limit: 20)
    if bids != want.0 || asks != want.1 {
      mismatches += 1
      if firstMismatch == nil {
        firstMismatch =
          "book at u=\(updateID): bids \(bids.prefix(3)) asks \(asks.prefix(3)), venue \(want.0.prefix(3)) \(want.1.prefix(3))"
      }
    }
  }
}

package struct CheckSink: BookEventSink {
  package let check: BookCheck
  package init(check: BookCheck) { self.check = check }
  package mutating func emit(_ event: BookEvent) { check.handle(event) }
}

/// The tracker state a venue order status corresponds to.
package func trackerState(_ status: OrderStatus) -> OrderState {
  switch status {
  case .NEW: .open
  case .PARTIALLY_FILLED: .partiallyFilled
  case .FILLED: .filled
  case .CANCELED, .EXPIRED, .EXPIRED_IN_MATCH: .cancelled
  case .REJECTED: .failed
  }
}
