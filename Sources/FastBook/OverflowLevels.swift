/// The levels of one book side that lie outside `LadderBook`'s array window, kept exactly.
///
/// Invariant (checked by `checkInvariants()` in debug builds):
/// ```
///  keys[i] == OverflowLevels.empty      slot i is free
///  keys[i] == tick, values[i] == qty>0  level `tick` is held, reachable from its home slot
///                                        hash(tick) by linear probing with no free slot between
///  count <= capacity = slots / 2         load factor at most 1/2
/// ```
/// An open-addressing table with linear probing and backward-shift deletion (no tombstones), so
/// insert, update and delete are O(1) expected and nothing is allocated after init. Order is not
/// kept: far levels are rarely walked, and a walk that reaches them sorts a copy in `sorted`.
/// Full (`count == capacity`): `upsert` of a new tick returns false and stores nothing.
@usableFromInline
struct OverflowLevels {
  @usableFromInline static let empty = Int64.min

  @usableFromInline let keys: UnsafeMutablePointer<Int64>
  @usableFromInline let values: UnsafeMutablePointer<Int64>
  /// Scratch for sorted walks: `capacity` levels, ascending by tick while `sortedValid`.
  @usableFromInline let sorted: UnsafeMutablePointer<BookLevel>
  @usableFromInline let header: UnsafeMutablePointer<Header>
  @usableFromInline let slotMask: Int
  @usableFromInline let capacity: Int

  @usableFromInline
  struct Header {
    @usableFromInline var count = 0
    @usableFromInline var sortedValid = false
  }

  init(capacity: Int) {
    precondition(capacity > 0)
    var slots = 2
    while slots < capacity * 2 { slots <<= 1 }
    self.capacity = capacity
    self.slotMask = slots - 1
    keys = .allocate(capacity: slots)
    keys.initialize(repeating: Self.empty, count: slots)
    values = .allocate(capacity: slots)
    values.initialize(repeating: 0, count: slots)
    sorted = .allocate(capacity: capacity)
    sorted.initialize(repeating: BookLevel(tick: 0, quantity: 0), count: capacity)
    header = .allocate(capacity: 1)
    header.initialize(to: Header())
  }

  func deallocate() {
    keys.deallocate()
    values.deallocate()
    sorted.deallocate()
    header.deallocate()
  }

  @usableFromInline var count: Int { header.pointee.count }
  @usableFromInline var slotCount: Int { slotMask + 1 }

  @inlinable @inline(__always)
  func home(_ tick: Int64) -> Int {
    // Fibonacci hashing: nearby ticks spread over the table.
    Int(truncatingIfNeeded: (UInt64(bitPattern: tick) &* 0x9E37_79B9_7F4A_7C15) >> 20) & slotMask
  }

  /// The quantity at `tick`, or 0.
  @usableFromInline
  func get(_ tick: Int64) -> Int64 {
    var i = home(tick)
    while true {
      let k = keys[i]
      if k == tick { return values[i] }
      if k == Self.empty { return 0 }
      i = (i &+ 1) & slotMask
    }
  }

  /// Sets the level; returns (stored, wasNew). A new tick when full is not stored.
  @usableFromInline
  func upsert(_ tick: Int64, _ qty: Int64) -> (stored: Bool, wasNew: Bool) {
    var i = home(tick)
    while true {
      let k = keys[i]
      if k == tick {
        values[i] = qty
        header.pointee.sortedValid = false
        return (true, false)
      }
      if k == Self.empty {
        if header.pointee.count >= capacity { return (false, true) }
        keys[i] = tick
        values[i] = qty
        header.pointee.count += 1
        header.pointee.sortedValid = false
        return (true, true)
      }
      i = (i &+ 1) & slotMask
    }
  }

  /// Removes the level; returns its quantity (0 when absent).
  @usableFromInline
  func remove(_ tick: Int64) -> Int64 {
    var i = home(tick)
    while true {
      let k = keys[i]
      if k == Self.empty { return 0 }
      if k == tick { break }
      i = (i &+ 1) & slotMask
    }
    let removed = values[i]
    // Backward-shift deletion: pull later members of the probe run into the hole.
    var hole = i
    var j = (i &+ 1) & slotMask
    while keys[j] != Self.empty {
      let h = home(keys[j])
      // Move j into the hole unless its home lies cyclically in (hole, j].
      let dist = (j &- h) & slotMask
      let holeDist = (j &- hole) & slotMask
      if dist >= holeDist {
        keys[hole] = keys[j]
        values[hole] = values[j]
        hole = j
      }
      j = (j &+ 1) & slotMask
    }
    keys[hole] = Self.empty
    values[hole] = 0
    header.pointee.count -= 1
    header.pointee.sortedValid = false
    return removed
  }

  /// Removes everything (O(slots)).
  @usableFromInline
  func removeAll() {
    keys.update(repeating: Self.empty, count: slotCount)
    values.update(repeating: 0, count: slotCount)
    header.pointee.count = 0
    header.pointee.sortedValid = false
  }

  /// The highest (or lowest) held tick, scanning the table; nil when empty.
  @usableFromInline
  func extreme(highest: Bool) -> Int64? {
    if header.pointee.count == 0 { return nil }
    var best: Int64? = nil
    for i in 0...slotMask {
      let k = keys[i]
      if k == Self.empty { continue }
      if let b = best {
        if highest ? k > b : k < b { best = k }
      } else {
        best = k
      }
    }
    return best
  }

  /// The held levels ascending by tick, in `sorted[0..<count]` (sorted in place, no allocation).
  @usableFromInline
  func ascending() -> UnsafeMutableBufferPointer<BookLevel> {
    let n = header.pointee.count
    let buf = UnsafeMutableBufferPointer(start: sorted, count: n)
    if header.pointee.sortedValid { return buf }
    var w = 0
    for i in 0...slotMask where keys[i] != Self.empty {
      buf[w] = BookLevel(tick: keys[i], quantity: values[i])
      w += 1
    }
    Self.heapSort(buf)
    header.pointee.sortedValid = true
    return buf
  }

  /// In-place heapsort by tick: no allocation, O(n log n).
  static func heapSort(_ a: UnsafeMutableBufferPointer<BookLevel>) {
    let n = a.count
    if n < 2 { return }
    func siftDown(_ start: Int, _ end: Int) {
      var root = start
      while true {
        var child = 2 * root + 1
        if child >= end { return }
        if child + 1 < end && a[child].tick < a[child + 1].tick { child += 1 }
        if a[root].tick >= a[child].tick { return }
        a.swapAt(root, child)
        root = child
      }
    }
    var s = n / 2 - 1
    while s >= 0 {
      siftDown(s, n)
      s -= 1
    }
    var e = n - 1
    while e > 0 {
      a.swapAt(0, e)
      siftDown(0, e)
      e -= 1
    }
  }
}
