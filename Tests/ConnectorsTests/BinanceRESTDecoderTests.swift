import CSimdJSON
import Connectors
import FastBook
import Foundation
import TestSupport
import Testing

/// The REST body decoder the runtime's reconciler reads order states and myTrades with, checked
/// against Foundation's reading of Binance's documented bodies (shared/data/wire), and under cuts
/// and mutations of every wire sample.
@Suite struct BinanceRESTDecoderTests {
  let d = BinanceRESTDecoder(
    instrument: Instrument(symbol: "BNBBTC", priceScale: 8, quantityScale: 8, tickSize: 1, lotSize: 1))

  func sample(_ name: String) throws -> [UInt8] {
    [UInt8](try SharedData.data("data/wire/binance-spot/" + name))
  }
  func foundation(_ b: [UInt8]) throws -> Any { try JSONSerialization.jsonObject(with: Data(b)) }
  func int(_ v: Any?) -> Int64? { (v as? NSNumber)?.int64Value }

  @Test func ordersAsFoundationReadsThem() throws {
    for name in [
      "rest_order_query.json", "rest_order_cancel.json", "rest_order_new_result.json",
      "rest_order_new_full.json",
      "rest_order_new_ack.json",
    ] {
      let body = try sample(name)
      let o = try foundation(body) as! [String: Any]
      let a = try d.decode(body).get()
      #expect(a.errorCode == nil && a.trades.isEmpty, "\(name)")
      #expect(a.venueOrderID == int(o["orderId"]), "\(name)")
      let status = o["status"] as? String
      #expect((status == nil) == (a.orderStatus == 0), "\(name)")
      if let q = o["executedQty"] as? String {
        #expect(a.executedQuantity == (try FixedPoint.parse(q, scale: 8)), "\(name)")
      } else {
        #expect(a.executedQuantity == -1, "\(name)")
      }
    }
    let q = try d.decode(try sample("rest_order_query.json")).get()
    #expect(q.statusKind == .accepted && q.venueOrderID == 1 && q.executedQuantity == 0)
    let c = try d.decode(try sample("rest_order_cancel.json")).get()
    #expect(c.statusKind == .cancelled)
  }

  @Test func everyDocumentedErrorBody() throws {
    let names = SharedData.files(under: "data/wire/binance-spot").map(\.lastPathComponent)
      .filter { $0.hasPrefix("rest_error_") }
    #expect(names.count >= 15)
    for name in names {
      let body = try sample(name)
      let o = try foundation(body) as! [String: Any]
      let a = try d.decode(body).get()
      #expect(a.errorCode == int(o["code"]) && a.errorMessage == o["msg"] as? String, "\(name)")
      #expect(a.venueOrderID == -1 && a.statusKind == nil, "\(name)")
    }
    let e = try d.decode(try sample("rest_error_-2013_no_such_order.json")).get()
    #expect(e.errorCode == -2013 && e.errorMessage == "Order does not exist.")
  }

  @Test func myTradesAsFoundationReadsThem() throws {
    let one = try d.decode(try sample("rest_myTrades.json")).get()
    #expect(one.trades.count == 1)
    let t = one.trades[0]
    #expect(t.trade_id == 28457 && t.order_id == 100_234 && t.price == 400_000_100 && t.qty == 1_200_000_000)
    // A long list in the Venue's key order and in reverse, and an entry of another scale.
    var entries: [String] = []
    for i in 0..<1000 {
      let fields = [
        "\"symbol\":\"BNBBTC\"", "\"id\":\(i + 1)", "\"orderId\":\(9000 + i / 3)", "\"orderListId\":-1",
        "\"price\":\"0.0\(i % 10)000001\"", "\"qty\":\"\(i % 7).5\"", "\"commission\":\"0.1\"",
        "\"isBuyer\":\(i % 2 == 0)",
      ]
      entries.append("{" + (i % 2 == 0 ? fields : fields.reversed()).joined(separator: ",") + "}")
    }
    let body = Array(("[" + entries.joined(separator: ",") + "]").utf8)
    let list = try d.decode(body).get().trades
    let reference = try foundation(body) as! [[String: Any]]
    #expect(list.count == 1000)
    for (got, want) in zip(list, reference) {
      #expect(got.trade_id == int(want["id"]) && got.order_id == int(want["orderId"]))
      #expect(got.price == (try FixedPoint.parse(want["price"] as! String, scale: 8)))
      #expect(got.qty == (try FixedPoint.parse(want["qty"] as! String, scale: 8)))
    }
    let foreign = try d.decode(Array(#"[{"id":1,"orderId":2,"price":"0.000000001","qty":"1"}]"#.utf8)).get()
    #expect(
      foreign.trades.count == 1 && foreign.trades[0].price == -1 && foreign.trades[0].qty == 100_000_000)
    // More entries than the decoder holds, or one without its order id, fail the body.
    let small = BinanceRESTDecoder(instrument: d.instrument, tradeCapacity: 10)
    guard case .failure(let big) = small.decode(body) else { Issue.record("1,000 entries in 10"); return }
    #expect(big.status == NT_ERR_TOO_MANY_LEVELS)
    guard case .failure(let missing) = d.decode(Array(#"[{"id":1,"price":"1","qty":"1"}]"#.utf8)) else {
      Issue.record("an entry without orderId read")
      return
    }
    #expect(missing.status == NT_ERR_MISSING_FIELD && missing.field == "[].orderId")
  }

  @Test func bodiesOfOtherShapesAndCutBodiesAreErrors() throws {
    for text in [
      #"{"balances":[]}"#, "[1,2]", "\"x\"", "", #"{"orderId":1,"status":"NEW""#, #"{"orderId":1} x"#,
    ] {
      guard case .failure = d.decode(Array(text.utf8)) else {
        Issue.record("read: \(text)")
        continue
      }
    }
    // An empty list is a list.
    #expect(try d.decode(Array("[]".utf8)).get().trades.isEmpty)
  }

  /// Every wire sample cut at every hundredth and mutated at random: a result or an error every
  /// time, never a crash; an error counts.
  @Test func cutsAndMutationsNeverCrash() throws {
    let samples = SharedData.files(under: "data/wire")
    #expect(samples.count > 100)
    var rng = SplitMix64(seed: 2028)
    let interesting: [UInt8] = Array(#"{}[]",:"0123456789.-eEtrufalsn\ "#.utf8) + [0, 0xff, 0xc3]
    var ok = 0
    var failed = 0
    func check(_ b: [UInt8]) {
      switch d.decode(b) {
      case .success(let a):
        ok += 1
        #expect(a.trades.count <= 1000)
      case .failure: failed += 1
      }
    }
    for url in samples {
      let original = [UInt8](try Data(contentsOf: url))
      var cut = 0
      while cut < original.count {
        check(Array(original[0..<cut]))
        cut += max(1, original.count / 100)
      }
      for _ in 0..<50 {
        var b = original
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
          guard !b.isEmpty else { break }
          let i = Int.random(in: 0..<b.count, using: &rng)
          switch Int.random(in: 0..<3, using: &rng) {
          case 0: b[i] = interesting.randomElement(using: &rng)!
          case 1: b.remove(at: i)
          default: b.insert(interesting.randomElement(using: &rng)!, at: i)
          }
        }
        check(b)
      }
    }
    #expect(ok > 0 && failed > 0 && d.errorCounts.reduce(0, +) == failed)
  }
}
