import FastBook

/// A price level of one side, as the diff stream names it.
public struct LevelKey: Hashable, Sendable {
  public var side: OrderSide
  public var ticks: Int64
}

/// One symbol's resting orders: price levels, each a FIFO of order ids.
///
/// Each side is stored with its best level at the *end* of the array (bids ascending, asks
/// descending), found by binary search: changes near the touch — most of them — move little
/// memory; `bids`/`asks` read best first.
final class SymbolBook {
  struct Level {
    var price: Int64
    var ids: [Int64]
    var head = 0
    var isEmpty: Bool { head >= ids.count }
  }
  var bidStore: [Level] = []  // ascending: best bid last
  var askStore: [Level] = []  // descending: best ask last

  var bids: ReversedCollection<[Level]> { bidStore.reversed() }
  var asks: ReversedCollection<[Level]> { askStore.reversed() }

  func crosses(side: OrderSide, ticks: Int64) -> Bool {
    side == .BUY
      ? (askStore.last.map { $0.price <= ticks } ?? false)
      : (bidStore.last.map { $0.price >= ticks } ?? false)
  }

  /// The first order in time at the best price of the side opposite `side`.
  func best(opposite side: OrderSide) -> (orderId: Int64, price: Int64)? {
    guard let l = side == .BUY ? askStore.last : bidStore.last else { return nil }
    return (l.ids[l.head], l.price)
  }

  /// Index of the level at `ticks`, or where it would go, in a store ordered by `ascending`.
  static func search(_ store: [Level], _ ticks: Int64, ascending: Bool) -> (index: Int, found: Bool) {
    var lo = 0
    var hi = store.count
    while lo < hi {
      let mid = (lo + hi) / 2
      let p = store[mid].price
      if p == ticks { return (mid, true) }
      if ascending ? p < ticks : p > ticks { lo = mid + 1 } else { hi = mid }
    }
    return (lo, false)
  }

  func add(orderId: Int64, side: OrderSide, ticks: Int64) {
    if side == .BUY {
      let (i, found) = Self.search(bidStore, ticks, ascending: true)
      if found {
        bidStore[i].ids.append(orderId)
      } else {
        bidStore.insert(Level(price: ticks, ids: [orderId]), at: i)
      }
    } else {
      let (i, found) = Self.search(askStore, ticks, ascending: false)
      if found {
        askStore[i].ids.append(orderId)
      } else {
        askStore.insert(Level(price: ticks, ids: [orderId]), at: i)
      }
    }
  }

  func remove(orderId: Int64, side: OrderSide, ticks: Int64) {
    func drop(_ levels: inout [Level], ascending: Bool) {
      let (i, found) = Self.search(levels, ticks, ascending: ascending)
      guard found else { return }
      if levels[i].ids[levels[i].head] == orderId {
        levels[i].head += 1
      } else if let k = levels[i].ids[levels[i].head...].firstIndex(of: orderId) {
        levels[i].ids.remove(at: k)
      }
      if levels[i].isEmpty { levels.remove(at: i) }
    }
    if side == .BUY { drop(&bidStore, ascending: true) } else { drop(&askStore, ascending: false) }
  }

  /// The level at a price, if any.
  func level(_ side: OrderSide, _ ticks: Int64) -> Level? {
    let store = side == .BUY ? bidStore : askStore
    let (i, found) = Self.search(store, ticks, ascending: side == .BUY)
    return found ? store[i] : nil
  }

  /// Resting quantity a `side` order with limit `limit` could take.
  func volume(side: OrderSide, limit: Int64, engine: MatchingEngine) -> Int64 {
    var total: Int64 = 0
    for l in side == .BUY ? asks : bids {
      if side == .BUY ? l.price > limit : l.price < limit { break }
      total += engine.remainingQty(l.ids[l.head...])
    }
    return total
  }
}

extension MatchingEngine {
  func remainingQty(_ ids: ArraySlice<Int64>) -> Int64 { ids.reduce(0) { $0 + (orders[$1]?.remaining ?? 0) } }
}

extension SymbolBook {
  /// Quote needed to buy `qty` now (walking the asks), as a raw at priceScale + quantityScale.
  func cost(buying qty: Int64, sym: VenueSymbol, engine: MatchingEngine) -> Int128 {
    var left = qty
    var total: Int128 = 0
    for l in asks where left > 0 {
      let take = min(left, engine.remainingQty(l.ids[l.head...]))
      total += engine.notional(sym, l.price, take)
      left -= take
    }
    return total
  }

  /// Quantity a MARKET SELL by quote amount would need (walking the bids), at most.
  func quantity(selling quote: Int128, sym: VenueSymbol, engine: MatchingEngine) -> Int64 {
    var left = quote
    var qty: Int64 = 0
    for l in bids where left > 0 {
      let avail = engine.remainingQty(l.ids[l.head...])
      let perLot = engine.notional(sym, l.price, sym.stepQty)
      let lots = min(Int64(left / perLot), avail / sym.stepQty)
      qty += lots * sym.stepQty
      left -= engine.notional(sym, l.price, lots * sym.stepQty)
      if lots * sym.stepQty < avail { break }
    }
    return qty
  }
}
