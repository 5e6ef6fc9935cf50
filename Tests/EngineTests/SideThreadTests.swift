import Engine
import Synchronization
import Testing

@Suite struct SideThreadTests {
  /// The side thread hands every record to its handler in the order posted, finishes what is
  /// queued when stopped, and a post into a full ring is dropped and counted (the poster never
  /// waits).
  @Test func recordsArriveInOrderAndAFullRingDropsAndCounts() {
    final class Seen: @unchecked Sendable { var tags: [UInt64] = [] }
    let seen = Seen()
    let side = SideThread(capacity: 64) { seen.tags.append($0.tag) }
    for i in 0..<70 { side.post(SideRecord(code: 1, tag: UInt64(i))) }  // not started: the ring fills
    #expect(side.dropped == 70 - side.ring.capacity)
    side.start()
    var posted = side.ring.capacity
    for i in 100..<5_100 {
      // Spaced so the ring never fills: every one of these must arrive.
      while side.ring.freeCount == 0 {}
      side.post(SideRecord(code: 2, tag: UInt64(i)))
      posted += 1
    }
    side.stop()
    #expect(side.handled == posted)
    #expect(seen.tags == Array(0..<UInt64(side.ring.capacity)) + Array(100..<5_100))
  }
}
