import CSimdJSON
import FastBook
import Foundation
import TestSupport
import Testing

let wireDepthFiles = [
  "data/wire/binance-spot/ws_depthUpdate_real_combined.json",
  "data/wire/binance-spot/ws_depthUpdate.json",
  "data/wire/binance-usdm/ws_depthUpdate_real_combined.json",
  "data/wire/binance-usdm/ws_depthUpdate.json",
]

@Suite struct DecoderTests {
  func bytes(_ path: String) throws -> [UInt8] { [UInt8](try SharedData.data(path)) }

  @Test(arguments: wireDepthFiles)
  func depthUpdatesMatchTheOracle(path: String) throws {
    let input = try bytes(path)
    let h = Harness()
    for padded in [false, true] {
      #expect(h.decode(input, padded: padded) == NT_OK, "\(path): \(String(cString: h.error.field))")
      let o = Oracle.object(input)
      #expect(h.msg.kind == NT_MSG_DEPTH_UPDATE)
      #expect(h.msg.depth.first_update_id == Oracle.int(o["U"]))
      #expect(h.msg.depth.last_update_id == Oracle.int(o["u"]))
      #expect(h.msg.depth.prev_update_id == (o["pu"].map(Oracle.int) ?? -1))
      #expect(h.msg.depth.event_time_ms == Oracle.int(o["E"]))
      #expect(h.msg.depth.transaction_time_ms == (o["T"].map(Oracle.int) ?? -1))
      #expect(h.bidLevels().map { ($0.price, $0.qty) }.elementsEqual(Oracle.levels(o["b"]), by: ==))
      #expect(h.askLevels().map { ($0.price, $0.qty) }.elementsEqual(Oracle.levels(o["a"]), by: ==))
      #expect((h.msg.enveloped == 1) == path.contains("combined"))
    }
  }

  @Test(arguments: [
    "data/wire/binance-spot/rest_depth_real_1000.json", "data/wire/binance-usdm/rest_depth_real_1000.json",
    "data/wire/binance-spot/rest_depth.json",
  ])
  func snapshotsMatchTheOracle(path: String) throws {
    let input = try bytes(path)
    let h = Harness()
    #expect(h.decode(input) == NT_OK)
    let o = Oracle.object(input)
    #expect(h.msg.kind == NT_MSG_DEPTH_SNAPSHOT)
    #expect(h.msg.depth.last_update_id == Oracle.int(o["lastUpdateId"]))
    #expect(h.msg.depth.first_update_id == -1)
    #expect(h.bidLevels().map { ($0.price, $0.qty) }.elementsEqual(Oracle.levels(o["bids"]), by: ==))
    #expect(h.askLevels().map { ($0.price, $0.qty) }.elementsEqual(Oracle.levels(o["asks"]), by: ==))
  }

  @Test(arguments: [
    "data/wire/binance-spot/ws_trade_real_combined.json", "data/wire/binance-spot/ws_trade.json",
    "data/wire/binance-usdm/ws_trade_real_combined.json",
  ])
  func tradesMatchTheOracle(path: String) throws {
    let input = try bytes(path)
    let h = Harness()
    #expect(h.decode(input) == NT_OK)
    let o = Oracle.object(input)
    #expect(h.msg.kind == NT_MSG_TRADE)
    #expect(h.msg.trade.trade_id == Oracle.int(o["t"]))
    #expect(h.msg.trade.price == Oracle.fixed(o["p"]))
    #expect(h.msg.trade.qty == Oracle.fixed(o["q"]))
    #expect(h.msg.trade.trade_time_ms == Oracle.int(o["T"]))
    #expect(h.msg.trade.event_time_ms == Oracle.int(o["E"]))
    #expect((h.msg.trade.buyer_is_maker == 1) == (o["m"] as! Bool))
  }

  @Test(arguments: [
    "data/wire/binance-spot/ws_bookTicker_real_combined.json", "data/wire/binance-spot/ws_bookTicker.json",
    "data/wire/binance-usdm/ws_bookTicker_real_combined.json", "data/wire/binance-usdm/ws_bookTicker.json",
  ])
  func bookTickersMatchTheOracle(path: String) throws {
    let input = try bytes(path)
    let h = Harness()
    #expect(h.decode(input) == NT_OK)
    let o = Oracle.object(input)
    #expect(h.msg.kind == NT_MSG_BOOK_TICKER)
    #expect(h.msg.ticker.update_id == Oracle.int(o["u"]))
    #expect(h.msg.ticker.bid_price == Oracle.fixed(o["b"]))
    #expect(h.msg.ticker.bid_qty == Oracle.fixed(o["B"]))
    #expect(h.msg.ticker.ask_price == Oracle.fixed(o["a"]))
    #expect(h.msg.ticker.ask_qty == Oracle.fixed(o["A"]))
    #expect(h.msg.ticker.event_time_ms == (o["E"].map(Oracle.int) ?? -1))
  }

  @Test func scaleIsExactAndNeverRounds() throws {
    let input = try bytes("data/wire/binance-spot/ws_depthUpdate_real_combined.json")
    let h = Harness()
    #expect(h.decode(input, priceScale: 2, qtyScale: 8) == NT_OK)
    #expect(h.bidLevels().first?.price == 6_173_763)  // "61737.63000000" at scale 2
    // BTCUSDT quantities carry 5 significant decimals: scale 4 must refuse, not round.
    #expect(h.decode(input, priceScale: 2, qtyScale: 4) == NT_ERR_TOO_PRECISE)
    #expect(h.msg.kind == NT_MSG_NONE && h.msg.depth.bids.count == 0 && h.msg.depth.asks.count == 0)
  }

  @Test func errorsNameWhatWasWrong() {
    let h = Harness(levels: 2)
    func check(_ json: String, _ status: nt_status, field: String? = nil) {
      let s = h.decode(Array(json.utf8))
      #expect(s == status, "\(json)")
      if let field { #expect(String(cString: h.error.field) == field, "\(json)") }
      #expect(h.msg.kind == NT_MSG_NONE && h.msg.depth.bids.count == 0 && h.msg.depth.asks.count == 0)
      #expect(h.error.status == status)
    }
    check(#"{"e":"depthUpdate","E":1,"s":"X","u":2,"b":[],"a":[]}"#, NT_ERR_MISSING_FIELD, field: "U")
    check(
      #"{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[["1.0","2"],["1","2"],["1","2"]],"a":[]}"#,
      NT_ERR_TOO_MANY_LEVELS, field: "b")
    check(#"{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[["1.0x","2"]],"a":[]}"#, NT_ERR_BAD_NUMBER, field: "b")
    check(#"{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[[1.0,"2"]],"a":[]}"#, NT_ERR_WRONG_TYPE, field: "b")
    check(#"{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[["1","2","3"]],"a":[]}"#, NT_ERR_WRONG_TYPE, field: "b")
    check(#"{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[["1","-2"]],"a":[]}"#, NT_ERR_OUT_OF_RANGE, field: "b")
    check(#"{"e":"depthUpdate","E":1,"U":"1","u":2,"b":[],"a":[]}"#, NT_ERR_WRONG_TYPE, field: "U")
    check(#"{"e":"depthUpdate","E":1,"U":-1,"u":2,"b":[],"a":[]}"#, NT_ERR_OUT_OF_RANGE, field: "U")
    check(
      #"{"e":"depthUpdate","E":1,"U":99999999999999999999,"u":2,"b":[],"a":[]}"#, NT_ERR_OUT_OF_RANGE,
      field: "U")
    check(
      #"{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[["99999999999.0","1"]],"a":[]}"#, NT_ERR_OUT_OF_RANGE,
      field: "b")
    check(#"{"e":"aggTrade","E":1}"#, NT_ERR_UNKNOWN_MESSAGE, field: "e")
    check(#"[1,2,3]"#, NT_ERR_UNKNOWN_MESSAGE)
    check(#"{"result":null,"id":1}"#, NT_ERR_UNKNOWN_MESSAGE)
    check(#"{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[],"a":[]} trailing"#, NT_ERR_MALFORMED_JSON)
    check(#"{"e":"depthUpdate","E":1,"U":1,"#, NT_ERR_MALFORMED_JSON)
    check("", NT_ERR_MALFORMED_JSON)
    check("not json", NT_ERR_MALFORMED_JSON)
    check("true", NT_ERR_UNKNOWN_MESSAGE)
    check("nul", NT_ERR_MALFORMED_JSON)
    check(#"{"e":"depthUpdate","E":1.5,"U":1,"u":2,"b":[],"a":[]}"#, NT_ERR_OUT_OF_RANGE, field: "E")
    check(#"{"lastUpdateId":5,"bids":[]}"#, NT_ERR_MISSING_FIELD, field: "asks")
    check(#"{"e":"trade","E":1,"t":5,"p":"1.5","T":1,"m":true}"#, NT_ERR_MISSING_FIELD, field: "q")
  }

  @Test func oversizeInputIsRefused() {
    let h = Harness(maxBytes: 256)
    let big =
      #"{"e":"depthUpdate","E":1,"U":1,"u":2,"b":[],"a":[],"pad":""# + String(repeating: "x", count: 300)
      + #""}"#
    #expect(h.decode(Array(big.utf8)) == NT_ERR_TOO_LARGE)
    #expect(h.msg.kind == NT_MSG_NONE)
  }

  /// The C converter and FastBook's FixedPoint implement one rule set: they must agree.
  @Test func cConverterAgreesWithFixedPoint() {
    var rng = SplitMix64(seed: 11)
    let alphabet: [Character] = ["0", "1", "5", "9", ".", "-", "0", "0", "7", "x", "+"]
    for i in 0..<50_000 {
      let len = Int.random(in: 0...24, using: &rng)
      var s = String((0..<len).map { _ in alphabet.randomElement(using: &rng)! })
      if i % 3 == 0 {
        s = FixedPoint.format(
          Int64.random(in: .min ... .max, using: &rng), scale: Int.random(in: 0...18, using: &rng))
      }
      let scale = Int32.random(in: 0...18, using: &rng)
      var out: Int64 = 0
      let st = s.withCString { nt_parse_fixed($0, strlen($0), scale, &out) }
      let swift: Result<Int64, FixedPointError> = Result { () throws(FixedPointError) in
        try FixedPoint.parse(s, scale: Int(scale))
      }
      switch swift {
      case .success(let v): #expect(st == NT_OK && out == v, "\(s) @\(scale)")
      case .failure(.tooPrecise): #expect(st == NT_ERR_TOO_PRECISE, "\(s) @\(scale)")
      case .failure(.overflow): #expect(st == NT_ERR_OUT_OF_RANGE, "\(s) @\(scale)")
      case .failure: #expect(st == NT_ERR_BAD_NUMBER, "\(s) @\(scale)")
      }
    }
  }
}
