import Connectors
import Testing

@Suite struct PendingAnswersTests {
  /// Answers in any order forget their requests; what is left past its deadline expires, once,
  /// and the rest keep their own deadlines; a full table counts what it cannot watch.
  @Test func requestsExpireOnlyWhenTheirAnswerIsOverdue() {
    var p = PendingAnswers(capacity: 3, timeoutNs: 100)
    let place7 = PendingAnswers.key(tag: 7, cancel: false)
    let cancel7 = PendingAnswers.key(tag: 7, cancel: true)
    let place8 = PendingAnswers.key(tag: 8, cancel: false)
    #expect(place7 != cancel7)
    p.sent(place7, at: 0)
    p.sent(cancel7, at: 10)
    p.sent(place8, at: 50)
    p.sent(PendingAnswers.key(tag: 9, cancel: false), at: 60)
    #expect(p.count == 3 && p.unwatched == 1)
    let first = p.answered(cancel7)
    let again = p.answered(cancel7)
    #expect(first && !again)
    let early = p.expire(now: 99) { _ in Issue.record("nothing is due yet") }
    #expect(early == 0)
    var expired: [UInt64] = []
    let due = p.expire(now: 100) { expired.append($0) }
    #expect(due == 1 && expired == [place7] && p.count == 1)
    let between = p.expire(now: 149) { _ in }
    let second = p.expire(now: 150) { expired.append($0) }
    #expect(between == 0 && second == 1 && expired == [place7, place8])
    #expect(p.count == 0 && p.expired == 2)
    let late = p.answered(place8)
    #expect(!late, "an answer after expiry finds nothing to forget")
    p.sent(place7, at: 200)
    let dropped = p.removeAll()
    let after = p.expire(now: 1_000) { _ in }
    #expect(dropped == 1 && after == 0)
  }
}
