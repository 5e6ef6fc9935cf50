import Connectors
import Engine
import FastBook
import Foundation
import TestSupport
import Testing

@Suite struct BinanceExchangeInfoTests {
  @Test func realExchangeInfoGivesRulesAndScales() throws {
    let body = [UInt8](try SharedData.data("data/wire/binance-spot/rest_exchangeInfo_BTCUSDT_real_2021.json"))
    let info = try BinanceExchangeInfo.parse(body, symbol: "BTCUSDT")
    // Prices at the tick's decimals; quantities at the 8 Binance writes (the lot is 0.00001000),
    // because the venue's books carry levels finer than the lot.
    #expect(info.instrument.priceScale == 2 && info.instrument.quantityScale == 8)
    #expect(info.rule.tickSize == 1 && info.rule.stepSize == 1_000)
    #expect(info.baseAsset == "BTC" && info.quoteAsset == "USDT")
    #expect(info.rule.minQuantity == 1_000)
    // A level as Binance's depth stream sends it on this symbol (binance-spot btcusdt capture).
    #expect(try info.instrument.parseQuantity("244.56630400").raw == 24_456_630_400)
    #expect(throws: BinanceExchangeInfo.ParseError.notFound("NOPE")) {
      try BinanceExchangeInfo.parse(body, symbol: "NOPE")
    }
  }

  @Test func timeSyncUsesTheFastestSample() {
    let t = BinanceTimeSync()
    t.add(sentMs: 1_000, receivedMs: 1_100, serverMs: 2_000)  // rtt 100: offset 950
    #expect(t.offsetMs == 950)
    t.add(sentMs: 5_000, receivedMs: 5_010, serverMs: 6_003)  // rtt 10: offset 998
    #expect(t.offsetMs == 998 && t.bestRoundTripMs == 10)
    t.add(sentMs: 9_000, receivedMs: 9_500, serverMs: 10_000)  // slower: ignored
    #expect(t.offsetMs == 998 && t.samples == 3)
  }
}
