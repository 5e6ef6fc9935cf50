// The tracker's indexes: orders by tag (a slot table), by client id (a read-only view), and each
// order's trade ids for de-duplication.

/// The tracker's orders by client id, as a read-only view (nothing is copied).
public struct OrderTable {
  let tracker: OrderTracker
  public subscript(id: ClientOrderID) -> InFlightOrder? {
    tracker.slotOfID[id].map { tracker.slots[Int($0)] }
  }
  public var count: Int { tracker.slotOfID.count }
  public var isEmpty: Bool { tracker.slotOfID.isEmpty }
  /// Every tracked order, in slot order.
  public var values: [InFlightOrder] { tracker.slotOfID.values.sorted().map { tracker.slots[Int($0)] } }
}

/// Tag → slot: open addressing with linear probing and backward-shift deletion (no tombstones),
/// keys spread by a multiplicative (Fibonacci) hash. Half full at most; grows by doubling.
struct TagTable {
  var keys: [UInt64]
  var values: [Int32]  // -1: empty
  var count = 0
  var shift: UInt64
  var mask: Int

  init(capacity: Int) {
    var n = 16
    while n < capacity * 2 { n <<= 1 }
    keys = Array(repeating: 0, count: n)
    values = Array(repeating: -1, count: n)
    mask = n - 1
    shift = UInt64(64 - n.trailingZeroBitCount)
  }

  @inline(__always) func home(_ k: UInt64) -> Int {
    Int(truncatingIfNeeded: (k &* 0x9E37_79B9_7F4A_7C15) >> shift)
  }

  @inline(__always) func find(_ k: UInt64) -> Int32? {
    var i = home(k)
    while true {
      let v = values[i]
      if v < 0 { return nil }
      if keys[i] == k { return v }
      i = (i + 1) & mask
    }
  }

  /// Adds `k` (the caller checked it is absent).
  mutating func insert(_ k: UInt64, _ v: Int32) {
    if (count + 1) * 2 > values.count { grow() }
    var i = home(k)
    while values[i] >= 0 { i = (i + 1) & mask }
    keys[i] = k
    values[i] = v
    count += 1
  }

  mutating func remove(_ k: UInt64) {
    var i = home(k)
    while true {
      if values[i] < 0 { return }
      if keys[i] == k { break }
      i = (i + 1) & mask
    }
    // Pull later entries of the run back over the hole when their home is not between the hole
    // and them, so every entry stays reachable from its home without tombstones.
    var j = i
    while true {
      j = (j + 1) & mask
      if values[j] < 0 { break }
      let h = home(keys[j])
      let stays = i <= j ? (i < h && h <= j) : (i < h || h <= j)
      if !stays {
        keys[i] = keys[j]
        values[i] = values[j]
        i = j
      }
    }
    values[i] = -1
    count -= 1
  }

  mutating func grow() {
    let old = zip(keys, values).filter { $0.1 >= 0 }
    self = TagTable(capacity: values.count)
    for (k, v) in old { insert(k, v) }
  }
}

/// The trade ids of one order's fills, for de-duplication: the first four inline (most orders
/// fill once or a few times, and the first fill must not allocate on the order path), a set
/// beyond.
struct TradeIDSet: Sendable {
  var inline: (Int64, Int64, Int64, Int64) = (0, 0, 0, 0)
  var inlineCount = 0
  var more: Set<Int64>? = nil

  var count: Int { inlineCount + (more?.count ?? 0) }

  func contains(_ id: Int64) -> Bool {
    switch inlineCount {
    case 4: if inline.3 == id { return true } else { fallthrough }
    case 3: if inline.2 == id { return true } else { fallthrough }
    case 2: if inline.1 == id { return true } else { fallthrough }
    case 1: if inline.0 == id { return true }
    default: break
    }
    return more?.contains(id) ?? false
  }

  /// Adds `id` (the caller checked it is new).
  mutating func insert(_ id: Int64) {
    switch inlineCount {
    case 0: inline.0 = id
    case 1: inline.1 = id
    case 2: inline.2 = id
    case 3: inline.3 = id
    default:
      if more == nil { more = [] }
      more!.insert(id)
      return
    }
    inlineCount += 1
  }
}
