import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import Testing
import Wire

@testable import Venue

/// The venue changes a symbol's filters while the node trades (as Binance does): after an order
/// refused for a filter failure (-1013), the node reads exchangeInfo again and the strategy
/// thread's host checks every later order against the new rule — the same order is then refused
/// before it is sent. The periodic refresh finds a change nobody was refused for.
@Suite(.serialized) struct TradingRuleRefreshTests {
  final class Quiet: Strategy { func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {} }

  @Test func aFilterFailureRereadsTheRuleAndTheHostAdoptsIt() throws {
    let v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 2, liquidityQuantity: 50_000)
    defer { v.loop.shutdown() }
    let endpoint = BinanceSession.Endpoint(host: "127.0.0.1", port: v.host.port, serverName: "localhost")
    let tls = try TLSContext(client: v.certs.ca)
    let info = try BinanceSession.exchangeInfo(loop: v.loop, endpoint: endpoint, tls: tls, symbol: "BTCUSDT")
    let tracker = OrderTracker()
    let session = BinanceSession(
      loop: v.loop, endpoint: endpoint, tls: tls, apiKey: "k1", secret: "s1", instrument: info.instrument,
      strategy: Quiet(), rule: info.rule, limits: RiskLimits(), prefix: "rr-", tracker: tracker,
      clock: Clock(start: cplat_now_ns()), centreTick: 10_000, rateLimits: info.rateLimits)
    session.start()
    defer { session.stop() }
    #expect(session.run(timeoutNs: 10_000_000_000) { session.ready })
    session.keepTradingRulesFresh(symbol: "BTCUSDT", rule: info.rule, everyNs: 3_600_000_000_000, minGapNs: 0)
    let quantity = try FixedPoint.parse("0.01", scale: info.instrument.quantityScale)  // 0.99 USDT at 99.00
    func place(_ tag: UInt64) -> OrderState? {
      session.host.perform(referencePrice: 0, now: cplat_now_ns()) {
        $0.place(PlaceIntent(tag: tag, side: .buy, price: 9_900, quantity: quantity))
      }
      session.turn()
      _ = session.run(timeoutNs: 3_000_000_000) { session.pendingRequests == 0 }
      _ = session.run(timeoutNs: 100_000_000) { false }
      return tracker.orders[session.host.clientOrderID(tag: tag)]?.state
    }
    #expect(place(1) == .open)
    // The venue raises its minimum notional to 10 USDT (its scales: 2 + 5 decimals).
    v.engine.changeFilters(symbol: "BTCUSDT") { $0.minNotional = 10 * 10_000_000 }
    let sent = session.entry.placesSent
    #expect(place(2) == .failed, "refused by the venue")
    #expect(session.entry.placesSent == sent + 1 && session.entry.lastRefusal?.contains("-1013") == true)
    #expect(session.run(timeoutNs: 3_000_000_000) { session.ruleChangesPosted == 1 })
    _ = session.run(timeoutNs: 50_000_000) { false }  // a turn: the host adopts it
    #expect(session.host.ruleChanges == 1)
    #expect(
      session.host.rule.minNotional == 10
        * Int128(FixedPoint.pow10(info.instrument.priceScale + info.instrument.quantityScale)))
    let refusedBefore = session.host.ruleRefusals
    #expect(place(3) == nil, "refused before tracking: never sent")
    #expect(session.host.ruleRefusals == refusedBefore + 1 && session.entry.placesSent == sent + 1)
    #expect(session.ruleRefreshes == 1 && session.ruleRefreshFailures == 0 && session.ruleScaleChanges == 0)
  }

  @Test func thePeriodicRefreshFindsAChangeNobodyWasRefusedFor() throws {
    let v = try LoopbackVenue(faults: FaultPlan(), liquidityOrders: 2, liquidityQuantity: 50_000)
    defer { v.loop.shutdown() }
    let endpoint = BinanceSession.Endpoint(host: "127.0.0.1", port: v.host.port, serverName: "localhost")
    let tls = try TLSContext(client: v.certs.ca)
    let info = try BinanceSession.exchangeInfo(loop: v.loop, endpoint: endpoint, tls: tls, symbol: "BTCUSDT")
    let session = BinanceSession(
      loop: v.loop, endpoint: endpoint, tls: tls, apiKey: "k1", secret: "s1", instrument: info.instrument,
      strategy: Quiet(), rule: info.rule, limits: RiskLimits(), prefix: "rp-", tracker: OrderTracker(),
      clock: Clock(start: cplat_now_ns()), centreTick: 10_000, rateLimits: info.rateLimits)
    session.start()
    defer { session.stop() }
    #expect(session.run(timeoutNs: 10_000_000_000) { session.ready })
    session.keepTradingRulesFresh(symbol: "BTCUSDT", rule: info.rule, everyNs: 200_000_000)
    _ = session.run(timeoutNs: 500_000_000) { false }
    #expect(session.ruleRefreshes >= 1 && session.ruleChangesPosted == 0, "unchanged: nothing handed over")
    v.engine.changeFilters(symbol: "BTCUSDT") { $0.minQty = 100 }  // 0.00100 BTC
    #expect(session.run(timeoutNs: 3_000_000_000) { session.host.ruleChanges == 1 })
    #expect(session.host.rule.minQuantity == 100 * FixedPoint.pow10(info.instrument.quantityScale - 5))
  }
}
