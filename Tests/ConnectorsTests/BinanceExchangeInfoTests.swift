import Engine
import FastBook
import Foundation
import TestSupport
import Testing
import Wire

@testable import Connectors

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

  /// The real answer's four limits, each over its own interval (RAW_REQUESTS over 5 minutes), and
  /// the headers Binance reports their counts in (a real order answer's headers).
  @Test func realExchangeInfoGivesEveryLimitAndItsHeaders() throws {
    let body = [UInt8](try SharedData.data("data/wire/binance-spot/rest_exchangeInfo_BTCUSDT_real_2021.json"))
    let limits = try BinanceExchangeInfo.parse(body, symbol: "BTCUSDT").rateLimits
    #expect(
      limits.summary == "REQUEST_WEIGHT 1200/1m, ORDERS 50/10s, ORDERS 160000/1d, RAW_REQUESTS 6100/5m")
    let limiter = limits.limiter()
    let headers = BinanceRateLimits.usageHeaders(limiter).map {
      "\($0.pool):" + String(decoding: $0.name, as: UTF8.self)
    }
    #expect(headers == ["0:x-mbx-used-weight-1m", "1:x-mbx-order-count-10s", "2:x-mbx-order-count-1d"])
    // A new order draws 1 from every pool; a status query 4 weight and 1 raw request.
    #expect(limiter.acquire(BinanceRequest.place, now: 1) == .go)
    #expect(limiter.acquire(BinanceRequest.orderStatus, now: 1) == .go)
    #expect((0..<4).map { limiter.used($0) } == [5, 1, 1, 2])
    let json =
      try JSONSerialization.jsonObject(
        with: try SharedData.data("data/wire/binance-spot/http_200_order_headers.json")) as? [String: Any]
    let fields = try #require(json?["headers"] as? [String: String])
    let rest = BinanceSpotREST(
      http: HTTPClient(loop: try EventLoop(), host: "127.0.0.1", port: 1, tls: nil, serverName: "localhost"),
      apiKey: "k", secret: "s",
      instrument: Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 8, tickSize: 1, lotSize: 1),
      limiter: limiter)
    rest.syncUsage(HTTPHeaders(fields.map { ($0.key, $0.value) }))
    #expect((0..<4).map { limiter.venueUsed($0) } == [12, 3, 41, 2] && rest.usedWeight == 12)
    #expect(limits.sharePercent == 100 && !limits.summary.contains("share"))
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
