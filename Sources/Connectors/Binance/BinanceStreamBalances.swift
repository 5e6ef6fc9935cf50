import CSimdJSON
import FastBook
import Glibc

/// The balances the account stream reported last (`outboundAccountPosition`), per asset, in units
/// of 10⁻⁸ (Binance's precision). Kept without allocating once an asset has been seen: the asset's
/// bytes are held inline and compared as bytes, the amounts parsed straight to fixed point — the
/// stream gets a position event with every fill and every lock, so a String per field would
/// allocate on the wire thread at the rate of the account's trading.
public struct BinanceStreamBalances {
  struct Entry {
    var asset: nt_balance
    var free: Int128
    var locked: Int128
  }
  var entries: [Entry] = []
  /// Balance lines whose amount was not a decimal Binance writes (skipped, the old value kept).
  public private(set) var unreadable = 0

  public init() {}

  /// The last reported (free, locked) of `asset`, or nil when the stream has not reported it.
  public subscript(asset: String) -> (free: Int128, locked: Int128)? {
    for e in entries where Self.name(e.asset) == asset { return (e.free, e.locked) }
    return nil
  }

  /// Every reported asset and its balance.
  public var all: [String: (free: Int128, locked: Int128)] {
    var out: [String: (free: Int128, locked: Int128)] = [:]
    for e in entries { out[Self.name(e.asset)] = (e.free, e.locked) }
    return out
  }

  static func name(_ b: nt_balance) -> String {
    BinanceAccountDecoder.string(b.asset, count: Int(b.asset_len))
  }

  static func amount<T>(_ field: T, count: Int) -> Int128? {
    BinanceAccountDecoder.withText(field, count: count) { raw in
      try? FixedPoint.parse(raw.assumingMemoryBound(to: UInt8.self), scale: 8, as: Int128.self)
    }
  }

  /// Takes one balance line of a position event.
  public mutating func update(_ b: nt_balance) {
    guard let free = Self.amount(b.free, count: Int(b.free_len)),
      let locked = Self.amount(b.locked, count: Int(b.locked_len))
    else {
      unreadable += 1
      return
    }
    let n = Int(b.asset_len)
    for i in entries.indices where entries[i].asset.asset_len == b.asset_len {
      let same = withUnsafeBytes(of: entries[i].asset.asset) { a in
        withUnsafeBytes(of: b.asset) { c in memcmp(a.baseAddress!, c.baseAddress!, n) == 0 }
      }
      if same {
        entries[i].free = free
        entries[i].locked = locked
        return
      }
    }
    entries.append(Entry(asset: b, free: free, locked: locked))
  }
}
