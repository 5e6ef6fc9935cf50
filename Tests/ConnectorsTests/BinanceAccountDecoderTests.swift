import CSimdJSON
import Engine
import FastBook
import Foundation
import TestSupport
import Testing
import Wire

@testable import Connectors

/// The account stream's decoder on Binance's documented messages (shared/data/wire), in any key
/// order, and under cuts and mutations of every wire sample: a status every time, never a crash,
/// and an error leaves nothing that looks like data.
@Suite struct BinanceAccountDecoderTests {
  /// ETHBTC's sample prices have 8 decimals.
  let d = BinanceAccountDecoder(
    instrument: Instrument(symbol: "ETHBTC", priceScale: 8, quantityScale: 8, tickSize: 1, lotSize: 1))

  func sample(_ name: String) throws -> [UInt8] {
    [UInt8](try SharedData.data("data/wire/binance-spot/" + name))
  }
  func text<T>(_ f: T, _ n: some BinaryInteger) -> String { BinanceAccountDecoder.string(f, count: Int(n)) }

  @Test func documentedEventsAndAnswers() throws {
    #expect(d.decode(try sample("uds_executionReport.json")) == NT_OK)
    var m = d.message.pointee
    #expect(m.kind == NT_ACCOUNT_EXECUTION_REPORT && m.subscription_id == 0)
    var r = m.report
    #expect(text(r.client_id, r.client_id_len) == "mUvoqJxFIILMdfAW5iGSOW" && r.orig_client_id_len == 0)
    #expect(text(r.symbol, r.symbol_len) == "ETHBTC" && text(r.reject_reason, r.reject_reason_len) == "NONE")
    #expect(r.exec_type == UInt8(NT_EXEC_NEW.rawValue) && r.side == 1 && r.order_id == 4_293_153)
    #expect(r.trade_id == -1 && r.price == 10_264_410 && r.qty == 100_000_000 && r.last_qty == 0)
    #expect(r.commission_asset_len == 0 && r.event_time_ms == 1_499_405_658_658)
    #expect(r.transaction_time_ms == 1_499_405_658_657 && d.badNumber == "")
    #expect(r.is_maker == 0)  // "m": false

    #expect(d.decode(try sample("uds_outboundAccountPosition.json")) == NT_OK)
    #expect(d.message.pointee.kind == NT_ACCOUNT_POSITION && d.balances.count == 1)
    let b = d.balances[0]
    #expect(text(b.asset, b.asset_len) == "ETH" && text(b.free, b.free_len) == "10000.000000")
    #expect(text(b.locked, b.locked_len) == "0.000000")
    // The stream's balance table holds it in units of 10⁻⁸, and a later line for the same asset
    // replaces it in place.
    var table = BinanceStreamBalances()
    table.update(b)
    table.update(b)
    #expect(table["ETH"]! == (free: 1_000_000_000_000, locked: 0) && table.all.count == 1)

    #expect(d.decode(try sample("uds_balanceUpdate.json")) == NT_OK)
    #expect(d.message.pointee.kind == NT_ACCOUNT_BALANCE_UPDATE && d.balances.count == 1)
    #expect(text(d.balances[0].asset, d.balances[0].asset_len) == "BTC")
    #expect(text(d.balances[0].free, d.balances[0].free_len) == "100.00000000")

    #expect(d.decode(try sample("uds_eventStreamTerminated.json")) == NT_OK)
    m = d.message.pointee
    #expect(
      m.kind == NT_ACCOUNT_OTHER_EVENT && text(m.event_type, m.event_type_len) == "eventStreamTerminated")

    #expect(d.decode(try sample("wsapi_response_userDataStream_subscribe_signature.json")) == NT_OK)
    var a = d.message.pointee.answer
    #expect(d.message.pointee.kind == NT_ACCOUNT_ANSWER && a.status == 200 && a.has_result == 1)
    #expect(a.subscription_id == 0 && text(a.id, a.id_len) == "d3df8a22-98ea-4fe0-9f4e-0fcea5d418b7")

    #expect(d.decode(try sample("wsapi_response_error_418_banned.json")) == NT_OK)
    a = d.message.pointee.answer
    #expect(
      a.status == 418 && a.has_error == 1 && a.error_code == -1003 && a.retry_after_ms == 1_659_146_400_000)
    #expect(text(a.error_msg, a.error_msg_len).hasPrefix("Way too much request weight used; IP banned until"))

    // A trade, and a number id.
    let trade = #"""
      {"subscriptionId":3,"event":{"e":"executionReport","c":"web_1","C":"nt1-7","x":"TRADE","i":9,"t":55,
       "S":"SELL","L":"0.10000000","l":"2.50000000","z":"2.50000000","n":"0.00025000","N":"BNB","r":"NONE",
       "m":true,"M":true}}
      """#
    #expect(d.decode(Array(trade.utf8)) == NT_OK)
    r = d.message.pointee.report
    #expect(r.exec_type == UInt8(NT_EXEC_TRADE.rawValue) && r.side == 2 && r.trade_id == 55)
    #expect(text(r.orig_client_id, r.orig_client_id_len) == "nt1-7" && d.message.pointee.subscription_id == 3)
    #expect(r.last_price == 10_000_000 && r.last_qty == 250_000_000 && r.commission == 25_000)
    #expect(r.is_maker == 1)  // "m", not "M"
    #expect(text(r.commission_asset, r.commission_asset_len) == "BNB")
    #expect(
      d.decode(
        Array(
          #"{"id":17,"status":400,"error":{"code":-1022,"msg":"Signature for this request is not valid."}}"#
            .utf8)) == NT_OK)
    #expect(text(d.message.pointee.answer.id, d.message.pointee.answer.id_len) == "17")
  }

  /// Order answers of the WebSocket API as documented: a FULL placement with its fills, a cancel,
  /// an ACK, a refusal and a ban — read at BTCUSDT's scales (0.01 / 0.00001 would not fit these
  /// 8-decimal samples, so 8/8 here).
  @Test func documentedOrderAnswers() throws {
    let btc = BinanceAccountDecoder(
      instrument: Instrument(symbol: "BTCUSDT", priceScale: 8, quantityScale: 8, tickSize: 1, lotSize: 1))
    #expect(btc.decode(try sample("wsapi_response_order_place_full.json")) == NT_OK)
    var a = btc.message.pointee.answer
    #expect(btc.message.pointee.kind == NT_ACCOUNT_ANSWER && a.status == 200 && a.has_result == 1)
    #expect(a.order_id == 12_569_099_453 && a.order_status == UInt8(NT_ORDER_FILLED.rawValue))
    #expect(a.executed_qty == 847_000 && btc.badNumber == "")
    #expect(a.transact_time_ms == 1_660_801_715_793)
    #expect(btc.fills.map(\.trade_id) == [1_650_422_481, 1_650_422_482])
    #expect(btc.fills.map(\.price) == [2_341_610_000_000, 2_341_650_000_000])
    #expect(btc.fills.map(\.qty) == [635_000, 212_000])
    // Its rateLimits: the venue's counts, each with its window.
    #expect(a.rate_count_n == 3)
    let rates = withUnsafeBytes(of: a.rates) { Array($0.bindMemory(to: nt_rate_count.self).prefix(3)) }
    #expect(
      rates.map(\.type)
        == [NT_RATE_ORDERS, NT_RATE_ORDERS, NT_RATE_REQUEST_WEIGHT].map { UInt8($0.rawValue) })
    #expect(rates.map(\.window_ms) == [10_000, 86_400_000, 60_000] && rates.map(\.count) == [1, 1, 1])
    // Adopted by a limiter built from exchangeInfo's limits (which these are).
    let limiter = BinanceRateLimits().limiter()
    let entry = try BinanceWSOrderEntry(
      loop: EventLoop(), host: "127.0.0.1", port: 1, tls: nil, serverName: "localhost", apiKey: "k",
      secret: "s",
      instrument: btc.instrument, clientIDs: .binance(prefix: "x-"), execOut: SPSCRing(capacity: 4),
      limiter: limiter)
    var counted = a
    withUnsafeMutableBytes(of: &counted.rates) { $0.bindMemory(to: nt_rate_count.self)[2].count = 4_321 }
    entry.syncRateLimits(counted)
    #expect(limiter.venueUsed(0) == 4_321 && limiter.venueUsed(1) == 1 && limiter.venueUsed(2) == 1)
    // rateLimits are advice: of another shape they are skipped and the answer still reads; a
    // window past a year is none.
    for odd in [
      #"{"id":"p1","status":200,"result":{"orderId":5},"rateLimits":null}"#,
      #"{"id":"p1","status":200,"result":{"orderId":5},"rateLimits":[7,{"rateLimitType":1,"interval":"DAY","intervalNum":"x","count":null}]}"#,
      #"{"id":"p1","status":200,"result":{"orderId":5},"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"DAY","intervalNum":999999,"count":5}]}"#,
    ] {
      #expect(btc.decode(Array(odd.utf8)) == NT_OK, "\(odd)")
      let o = btc.message.pointee.answer
      #expect(o.order_id == 5)
      let r = withUnsafeBytes(of: o.rates) {
        Array($0.bindMemory(to: nt_rate_count.self).prefix(Int(o.rate_count_n)))
      }
      #expect(r.allSatisfy { $0.window_ms == 0 || $0.count == -1 }, "\(odd)")
      entry.syncRateLimits(o)  // nothing to adopt, and no trap
    }
    #expect(btc.decode(try sample("wsapi_response_order_cancel.json")) == NT_OK)
    a = btc.message.pointee.answer
    #expect(a.order_status == UInt8(NT_ORDER_CANCELED.rawValue) && a.order_id == 12_569_099_453)
    #expect(btc.fills.isEmpty && a.executed_qty == 1_000)
    #expect(btc.decode(try sample("wsapi_response_order_place_ack.json")) == NT_OK)
    a = btc.message.pointee.answer
    #expect(a.order_id > 0 && a.order_status == 0, "an ACK names the order, not its state")
    #expect(btc.decode(try sample("wsapi_response_error_-2010.json")) == NT_OK)
    a = btc.message.pointee.answer
    #expect(a.status == 400 && a.error_code == -2010 && a.order_id == -1 && a.has_result == 0)
    #expect(btc.decode(try sample("wsapi_response_error_418_banned.json")) == NT_OK)
    a = btc.message.pointee.answer
    #expect(a.status == 418 && a.error_code == -1003 && a.retry_after_ms == 1_659_146_400_000)
  }

  /// A FULL answer with its keys (and each fill's) in reverse order reads the same; more fills
  /// than the decoder holds fail the answer instead of dropping some.
  @Test func orderAnswersInAnyKeyOrderAndTheFillLimit() throws {
    let btc = BinanceAccountDecoder(
      instrument: Instrument(symbol: "BTCUSDT", priceScale: 8, quantityScale: 8, tickSize: 1, lotSize: 1),
      fillCapacity: 2)
    let obj =
      try JSONSerialization.jsonObject(with: Data(try sample("wsapi_response_order_place_full.json")))
      as! [String: Any]
    func reversed(_ v: Any) -> String {
      if let o = v as? [String: Any] {
        return "{" + o.keys.sorted().reversed().map { "\"\($0)\":" + reversed(o[$0]!) }.joined(separator: ",")
          + "}"
      }
      if let a = v as? [Any] { return "[" + a.map(reversed).joined(separator: ",") + "]" }
      let d = try! JSONSerialization.data(withJSONObject: [v], options: [.fragmentsAllowed])
      return String(String(decoding: d, as: UTF8.self).dropFirst().dropLast())
    }
    let text = reversed(obj)
    #expect(text.hasPrefix("{\"status\""))
    #expect(btc.decode(Array(text.utf8)) == NT_OK)
    let a = btc.message.pointee.answer
    #expect(a.order_id == 12_569_099_453 && a.order_status == UInt8(NT_ORDER_FILLED.rawValue))
    #expect(
      btc.fills.map(\.trade_id) == [1_650_422_481, 1_650_422_482]
        && btc.fills.map(\.qty) == [635_000, 212_000])
    let one = BinanceAccountDecoder(
      instrument: Instrument(symbol: "BTCUSDT", priceScale: 8, quantityScale: 8, tickSize: 1, lotSize: 1),
      fillCapacity: 1)
    #expect(one.decode(try sample("wsapi_response_order_place_full.json")) == NT_ERR_TOO_MANY_LEVELS)
    #expect(one.message.pointee.kind == NT_ACCOUNT_NONE && one.fills.isEmpty)
    // A fill without its trade id is no fill.
    #expect(
      btc.decode(
        Array(
          #"{"id":"p1","status":200,"result":{"orderId":1,"status":"FILLED","fills":[{"price":"1","qty":"1"}]}}"#
            .utf8))
        == NT_ERR_MISSING_FIELD)
    #expect(btc.lastErrorField == "result.fills.tradeId")
  }

  /// The same event with its fields in reverse order decodes the same.
  @Test func keyOrderDoesNotMatter() throws {
    let obj =
      try JSONSerialization.jsonObject(with: Data(try sample("uds_executionReport.json"))) as! [String: Any]
    let event = obj["event"] as! [String: Any]
    func encode(_ keys: [String]) -> [UInt8] {
      let body = keys.map { k -> String in
        let v = event[k]!
        let json = String(
          decoding: try! JSONSerialization.data(withJSONObject: [v], options: [.fragmentsAllowed]),
          as: UTF8.self)
        return "\"\(k)\":" + json.dropFirst().dropLast()
      }
      return Array(("{\"event\":{" + body.joined(separator: ",") + "},\"subscriptionId\":0}").utf8)
    }
    let keys = event.keys.sorted()
    #expect(d.decode(encode(keys)) == NT_OK)
    let a = d.message.pointee.report
    #expect(d.decode(encode(keys.reversed())) == NT_OK)
    let b = d.message.pointee.report
    #expect(withUnsafeBytes(of: a) { x in withUnsafeBytes(of: b) { y in x.elementsEqual(y) } })
    #expect(a.order_id == 4_293_153 && a.price == 10_264_410)
  }

  /// Another symbol's decimals that do not fit our scales do not fail the event (it may not be
  /// ours); the field is named. Missing required fields and foreign shapes are errors.
  @Test func foreignPrecisionAndMissingFields() throws {
    let btc = BinanceAccountDecoder(
      instrument: Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1))
    #expect(btc.decode(try sample("uds_executionReport.json")) == NT_OK)
    #expect(btc.badNumber == "p" && btc.message.pointee.report.price == 0)
    #expect(
      btc.decode(Array(#"{"event":{"e":"executionReport","x":"NEW","i":1}}"#.utf8)) == NT_ERR_MISSING_FIELD)
    #expect(btc.lastErrorField == "c")
    #expect(
      btc.decode(Array(#"{"event":{"E":1}}"#.utf8)) == NT_ERR_MISSING_FIELD && btc.lastErrorField == "e")
    #expect(
      btc.decode(Array(#"{"event":{"e":"outboundAccountPosition","B":[{"a":"BTC","f":"1"}]}}"#.utf8))
        == NT_ERR_MISSING_FIELD)
    #expect(btc.decode(Array(#"{"hello":1}"#.utf8)) == NT_ERR_UNKNOWN_MESSAGE)
    #expect(btc.decode(Array(#"[1,2]"#.utf8)) == NT_ERR_UNKNOWN_MESSAGE)
    #expect(
      btc.decode(Array(#"{"event":{"e":"executionReport","c":7,"x":"NEW","i":1}}"#.utf8)) == NT_ERR_WRONG_TYPE
    )
    #expect(btc.message.pointee.kind == NT_ACCOUNT_NONE)
  }

  /// Every wire sample cut at every point and mutated at random.
  @Test func cutsAndMutationsNeverCrashAndLeaveNothing() throws {
    let samples = SharedData.files(under: "data/wire")
    #expect(samples.count > 100)
    let small = BinanceAccountDecoder(
      instrument: Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1),
      maxMessageBytes: 1 << 16, balanceCapacity: 4)
    var rng = SplitMix64(seed: 2027)
    var statuses: [UInt32: Int] = [:]
    let interesting: [UInt8] = Array(#"{}[]",:"0123456789.-eEtrufalsn\ "#.utf8) + [0, 0xff, 0xc3]
    func check(_ b: [UInt8]) {
      let st = small.decode(b)
      statuses[st.rawValue, default: 0] += 1
      let m = small.message.pointee
      if st == NT_OK {
        #expect(m.kind != NT_ACCOUNT_NONE && small.balances.count <= 4)
      } else {
        #expect(m.kind == NT_ACCOUNT_NONE && m.balances.count == 0 && m.report.client_id_len == 0)
        #expect(small.fills.isEmpty && m.answer.order_id == -1 && m.answer.status == 0)
      }
    }
    for url in samples {
      let original = [UInt8](try Data(contentsOf: url))
      var cut = 0
      while cut < original.count {
        check(Array(original[0..<cut]))
        cut += max(1, original.count / 100)
      }
      for _ in 0..<100 {
        var b = original
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
          guard !b.isEmpty else { break }
          let i = Int.random(in: 0..<b.count, using: &rng)
          switch Int.random(in: 0..<33, using: &rng) {
          case 32: b += [UInt8](repeating: UInt8(ascii: " "), count: 1 << 16)
          case 0..<8: b[i] = interesting.randomElement(using: &rng)!
          case 8..<16: b.remove(at: i)
          case 16..<24: b.insert(interesting.randomElement(using: &rng)!, at: i)
          default: b[i] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
          }
        }
        check(b)
      }
    }
    for s in [NT_OK, NT_ERR_MALFORMED_JSON, NT_ERR_WRONG_TYPE, NT_ERR_UNKNOWN_MESSAGE, NT_ERR_TOO_LARGE] {
      #expect(statuses[s.rawValue, default: 0] > 0, "never saw status \(s.rawValue): \(statuses)")
    }
  }
}
