import CSimdJSON
import FastBook
import Foundation
import TestSupport

/// Owns a decoder and level storage; decodes through the C API exactly as a caller would.
final class Harness {
  let decoder: OpaquePointer
  let bids: UnsafeMutablePointer<nt_level>
  let asks: UnsafeMutablePointer<nt_level>
  let capacity: Int
  var msg = nt_binance_msg()
  var error = nt_error()

  init(maxBytes: Int = 1 << 20, levels: Int = 5000) {
    decoder = nt_decoder_new(maxBytes)!
    capacity = levels
    bids = .allocate(capacity: max(levels, 1))
    asks = .allocate(capacity: max(levels, 1))
  }

  deinit {
    nt_decoder_free(decoder)
    bids.deallocate()
    asks.deallocate()
  }

  /// Decodes `bytes`; `padded` gives the input NT_PADDING readable bytes of slack in place.
  @discardableResult
  func decode(_ bytes: [UInt8], priceScale: Int32 = 8, qtyScale: Int32 = 8, padded: Bool = false) -> nt_status
  {
    msg.depth.bids = nt_levels(items: bids, capacity: UInt32(capacity), count: 0)
    msg.depth.asks = nt_levels(items: asks, capacity: UInt32(capacity), count: 0)
    var input = bytes
    let len = input.count
    if padded { input += [UInt8](repeating: 0, count: Int(NT_PADDING)) }
    return input.withUnsafeBufferPointer { buf in
      buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { p in
        nt_binance_decode(decoder, p, len, buf.count, priceScale, qtyScale, &msg, &error)
      }
    }
  }

  func bidLevels() -> [nt_level] { (0..<Int(msg.depth.bids.count)).map { bids[$0] } }
  func askLevels() -> [nt_level] { (0..<Int(msg.depth.asks.count)).map { asks[$0] } }
}

/// The independent oracle: Foundation's JSON parser and FastBook's FixedPoint.
enum Oracle {
  static func object(_ bytes: [UInt8]) -> [String: Any] {
    let o = try! JSONSerialization.jsonObject(with: Data(bytes)) as! [String: Any]
    return (o["data"] as? [String: Any]) ?? o
  }
  static func fixed(_ s: Any?, _ scale: Int = 8) -> Int64 {
    try! FixedPoint.parse(s as! String, scale: scale)
  }
  static func levels(_ a: Any?) -> [(Int64, Int64)] {
    (a as! [[String]]).map { (fixed($0[0]), fixed($0[1])) }
  }
  static func int(_ a: Any?) -> Int64 { (a as! NSNumber).int64Value }
}
