import FastBook
import Testing

@testable import Venue

/// The replayed-flow mode's queue, order by order: the market's quantity ahead of ours shrinks
/// with trades at our price and with what the level loses below it (cancels come from the back);
/// our own orders at one price stand in line behind each other; a trade through our price or the
/// market resting at or through it fills what is left.
@Suite struct ReplayedFlowQueueTests {
  static func venue() -> MatchingEngine {
    let e = MatchingEngine()
    var s = VenueSymbol(
      name: "X", baseAsset: "B", quoteAsset: "Q",
      instrument: Instrument(symbol: "X", priceScale: 0, quantityScale: 0, tickSize: 1, lotSize: 1))
    s.maxNumOrders = 0
    e.addSymbol(s)
    e.deposit(account: 1, asset: "Q", units: 1_000_000_000 * 1_000_000_000_000_000_000)
    e.deposit(account: 1, asset: "B", units: 1_000_000 * 1_000_000_000_000_000_000)
    e.marketCrossesFill = true
    return e
  }

  static func bid(_ e: MatchingEngine, _ ticks: Int64, _ qty: Int64) throws -> Int64 {
    var o = NewOrder(account: 1, symbol: "X", side: .BUY, type: .LIMIT_MAKER)
    o.priceTicks = ticks
    o.quantity = qty
    return try e.place(o).order.orderId
  }

  @Test func theQueueAheadShrinksWithTradesAndWithTheLevel() throws {
    let e = Self.venue()
    e.setMarketLevel(symbol: "X", side: .BUY, ticks: 100, quantity: 50)
    e.setMarketLevel(symbol: "X", side: .SELL, ticks: 101, quantity: 50)
    let id = try Self.bid(e, 100, 10)
    #expect(e.orders[id]?.queueAhead == 50)
    e.setMarketLevel(symbol: "X", side: .BUY, ticks: 100, quantity: 80)  // joins behind us
    #expect(e.orders[id]?.queueAhead == 50)
    #expect(e.marketTrade(symbol: "X", priceTicks: 100, quantity: 20, aggressor: .SELL).isEmpty)
    #expect(e.orders[id]?.queueAhead == 30)
    e.setMarketLevel(symbol: "X", side: .BUY, ticks: 100, quantity: 12)  // cancels reach ahead of us
    #expect(e.orders[id]?.queueAhead == 12)
    let fills = e.marketTrade(symbol: "X", priceTicks: 100, quantity: 16, aggressor: .SELL)
    #expect(fills.map(\.qty) == [4])
    #expect(e.orders[id]?.remaining == 6 && e.orders[id]?.queueAhead == 0)
  }

  @Test func ourOrdersAtOnePriceQueueBehindEachOther() throws {
    let e = Self.venue()
    e.setMarketLevel(symbol: "X", side: .BUY, ticks: 100, quantity: 5)
    e.setMarketLevel(symbol: "X", side: .SELL, ticks: 101, quantity: 50)
    let first = try Self.bid(e, 100, 10)
    let second = try Self.bid(e, 100, 10)
    #expect(e.orders[second]?.queueAhead == 5)  // the market's only; ours is in the level's line
    // 12 trade: 5 market, then 7 of the first; the second gets nothing.
    var fills = e.marketTrade(symbol: "X", priceTicks: 100, quantity: 12, aggressor: .SELL)
    #expect(fills.map(\.qty) == [7])
    // 8 more: 3 finish the first, 5 go to the second.
    fills = e.marketTrade(symbol: "X", priceTicks: 100, quantity: 8, aggressor: .SELL)
    #expect(fills.map(\.qty) == [3, 5])
    #expect(e.orders[first]?.status == .FILLED && e.orders[second]?.remaining == 5)
  }

  @Test func throughThePriceOrTheMarketCrossingFillsWhatIsLeft() throws {
    let e = Self.venue()
    e.setMarketLevel(symbol: "X", side: .BUY, ticks: 100, quantity: 500)
    e.setMarketLevel(symbol: "X", side: .SELL, ticks: 102, quantity: 50)
    let a = try Self.bid(e, 100, 10)
    let b = try Self.bid(e, 101, 10)
    // A 1-lot trade at 99 went through both prices: both fill in full.
    let fills = e.marketTrade(symbol: "X", priceTicks: 99, quantity: 1, aggressor: .SELL)
    #expect(fills.map(\.qty) == [10, 10] && e.orders[a]?.status == .FILLED && e.orders[b]?.status == .FILLED)
    // The market's ask moving onto a resting bid fills it.
    let c = try Self.bid(e, 101, 10)
    var events: [OrderEvent] = []
    e.onMarketFill = { events.append($0) }
    e.setMarketLevel(symbol: "X", side: .SELL, ticks: 101, quantity: 3)
    #expect(e.orders[c]?.status == .FILLED && events.count == 1 && events[0].trade?.priceTicks == 101)
    // Off (the synthetic market's levels), a crossing level rests beside ours.
    e.marketCrossesFill = false
    let d = try Self.bid(e, 100, 10)
    e.setMarketLevel(symbol: "X", side: .SELL, ticks: 100, quantity: 3)
    #expect(e.orders[d]?.isWorking == true)
  }
}
