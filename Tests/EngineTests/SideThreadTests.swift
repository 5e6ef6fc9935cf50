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
    let side = SideThread<SideRecord>(capacity: 64) { seen.tags.append($0.tag) }
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

@Suite struct ProblemLogTests {
  /// A connector's problem report is counted at once and becomes one log line on the side thread:
  /// kind, length, the message's first bytes (control bytes masked) and what was done about it.
  @Test func aReportIsCountedAndLoggedOnTheSideThread() {
    final class Lines: @unchecked Sendable { var all: [String] = [] }
    let lines = Lines()
    let side = SideThread<SideRecord>(capacity: 16) { r in ProblemLog.describe(r).map { lines.all.append($0) }
    }
    let log = ProblemLog(post: side.post)
    log.report(
      .malformedMarketMessage, .bookResync, message: Array("{\"e\":\"depthUpdate\",\"U\":1,\"u\"".utf8))
    log.report(.malformedRESTBody, .outcomeUnknown, message: [0x7B, 0x0A, 0xFF])
    log.report(.malformedRESTBody, .outcomeUnknown, message: [])
    side.start()
    side.stop()
    #expect(log[.malformedMarketMessage] == 1 && log[.malformedRESTBody] == 2 && log.total == 3)
    #expect(
      lines.all == [
        "malformed market-stream message (28 bytes, starting \"{\"e\":\"depthUpdat…\"): book reset, snapshot requested",
        "malformed REST response body (3 bytes, starting \"{..\"): outcome unknown until a status query",
        "malformed REST response body (0 bytes, starting \"\"): outcome unknown until a status query",
      ])
    #expect(ProblemLog.describe(SideRecord(code: 7)) == nil, "other records are not problems")
  }
}
