import FastBook
import Foundation
import Testing

struct Sequenced: BitwiseCopyable, Equatable {
  var seq: UInt64
  var check: UInt64  // derived from seq: a torn or stale slot read shows up as a mismatch
  var pad: (UInt64, UInt64) = (0, 0)
  init(_ s: UInt64) {
    seq = s
    check = s &* 0x9E37_79B9_7F4A_7C15 ^ 0xABCD
  }
  var valid: Bool { check == seq &* 0x9E37_79B9_7F4A_7C15 ^ 0xABCD }
  static func == (a: Sequenced, b: Sequenced) -> Bool { a.seq == b.seq && a.check == b.check }
}

@Suite struct SPSCRingTests {
  @Test func fullAndEmptyAreReported() {
    let ring = SPSCRing<Int>(capacity: 4)
    #expect(ring.tryPop() == nil)
    for i in 0..<4 { #expect(ring.tryPush(i)) }
    #expect(!ring.tryPush(99))
    #expect(ring.count == 4 && ring.freeCount == 0)
    #expect(ring.tryPop() == 0)
    #expect(ring.tryPush(4))
    var out = [Int](repeating: -1, count: 8)
    let n = out.withUnsafeMutableBufferPointer { ring.tryPop(into: $0) }
    #expect(n == 4 && Array(out[0..<4]) == [1, 2, 3, 4])
    let pushed = [10, 11, 12, 13, 14, 15].withUnsafeBufferPointer { ring.tryPush(contentsOf: $0) }
    #expect(pushed == 4)
    var seen: [Int] = []
    #expect(ring.drain(limit: 3) { seen.append($0) } == 3)
    #expect(seen == [10, 11, 12])
    #expect(ring.tryPop() == 13 && ring.tryPop() == nil)
  }

  /// Two threads move tens of millions of sequenced items through a small ring (so it is full
  /// and empty often), mixing single and batch forms; none may be lost, duplicated or reordered.
  @Test(arguments: [(20_000_000, 1024), (4_000_000, 2)])
  func twoThreadStress(total: Int, capacity: Int) async {
    let ring = SPSCRing<Sequenced>(capacity: capacity)
    let producer = Thread {
      var next: UInt64 = 0
      var batch = [Sequenced](repeating: Sequenced(0), count: 7)
      var waiter = RingWaiter(.spinThenYield(64))
      while next < UInt64(total) {
        if next % 3 == 0 && next + 7 <= UInt64(total) {
          for i in 0..<7 { batch[i] = Sequenced(next + UInt64(i)) }
          let n = batch.withUnsafeBufferPointer { ring.tryPush(contentsOf: $0) }
          next += UInt64(n)
          if n == 0 { waiter.wait() } else { waiter.reset() }
        } else if ring.tryPush(Sequenced(next)) {
          next += 1
          waiter.reset()
        } else {
          waiter.wait()
        }
      }
    }
    producer.start()
    var expected: UInt64 = 0
    var errors = 0
    var out = [Sequenced](repeating: Sequenced(0), count: 5)
    var waiter = RingWaiter(.spinThenYield(64))
    var round = 0
    while expected < UInt64(total) {
      round &+= 1
      var got = 0
      switch round % 3 {
      case 0:
        if let e = ring.tryPop() {
          if e.seq != expected || !e.valid { errors += 1 }
          expected += 1
          got = 1
        }
      case 1:
        got = out.withUnsafeMutableBufferPointer { ring.tryPop(into: $0) }
        for i in 0..<got {
          if out[i].seq != expected || !out[i].valid { errors += 1 }
          expected += 1
        }
      default:
        got = ring.drain(limit: 100) { e in
          if e.seq != expected || !e.valid { errors += 1 }
          expected += 1
        }
      }
      if got == 0 { waiter.wait() } else { waiter.reset() }
    }
    #expect(errors == 0, "first error before item \(expected)")
    #expect(expected == UInt64(total))
    #expect(ring.tryPop() == nil, "nothing past the last item")
  }
}
