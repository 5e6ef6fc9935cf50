/// Requests sent on a connection that answers asynchronously (a venue's WebSocket API) and not
/// answered yet, each with the time it left, so an answer that never comes is noticed: after
/// `timeoutNs` the request's outcome is unknown and the order must be found out by a status query.
///
/// Fixed capacity, pre-allocated, no allocation per request. A request is named by a key (the
/// order's tag and whether it was a cancel). When the table is full a request goes unwatched
/// (counted in `unwatched`) — its order is still settled by the next reconciliation. Expiry costs
/// one comparison per call until the oldest deadline passes.
public struct PendingAnswers: ~Copyable {
  let keys: UnsafeMutablePointer<UInt64>
  let sentNs: UnsafeMutablePointer<Int64>
  public let capacity: Int
  public let timeoutNs: Int64
  public private(set) var count = 0
  /// Requests sent while the table was full.
  public private(set) var unwatched = 0
  /// Requests whose answer did not come within `timeoutNs`.
  public private(set) var expired = 0
  /// No request is older than its timeout before this (a lower bound: kept when one is answered).
  var nextExpiryNs = Int64.max

  public init(capacity: Int = 1024, timeoutNs: Int64) {
    precondition(capacity > 0 && timeoutNs > 0)
    self.capacity = capacity
    self.timeoutNs = timeoutNs
    keys = .allocate(capacity: capacity)
    sentNs = .allocate(capacity: capacity)
  }

  deinit {
    keys.deallocate()
    sentNs.deallocate()
  }

  /// The key of an order request: its tag, and whether it is a cancel.
  @inline(__always)
  public static func key(tag: UInt64, cancel: Bool) -> UInt64 { tag << 1 | (cancel ? 1 : 0) }

  @inline(__always)
  public mutating func sent(_ key: UInt64, at now: Int64) {
    guard count < capacity else {
      unwatched &+= 1
      return
    }
    keys[count] = key
    sentNs[count] = now
    count &+= 1
    nextExpiryNs = min(nextExpiryNs, now &+ timeoutNs)
  }

  /// Forgets the request; false when it was not waiting (answered after it expired, or unwatched).
  @inline(__always)
  @discardableResult
  public mutating func answered(_ key: UInt64) -> Bool { answeredSentAt(key) != nil }

  /// The same, returning when the request was sent (nil: it was not waiting).
  @inline(__always)
  public mutating func answeredSentAt(_ key: UInt64) -> Int64? {
    // Answers mostly come in order: search from the oldest.
    var i = 0
    while i < count {
      if keys[i] == key {
        count &-= 1
        // Keep the order of the rest (oldest first) so the search stays short.
        let sent = sentNs[i]
        if i < count {
          (keys + i).update(from: keys + i + 1, count: count - i)
          (sentNs + i).update(from: sentNs + i + 1, count: count - i)
        }
        if count == 0 { nextExpiryNs = .max }
        return sent
      }
      i &+= 1
    }
    return nil
  }

  /// Forgets every request (their connection is gone: no answer will come); returns how many.
  @discardableResult
  public mutating func removeAll() -> Int {
    let n = count
    count = 0
    nextExpiryNs = .max
    return n
  }

  /// Drops every request older than the timeout at `now`, calling `body` with each key; returns
  /// how many.
  @discardableResult
  public mutating func expire(now: Int64, _ body: (UInt64) -> Void) -> Int {
    if now < nextExpiryNs { return 0 }
    var kept = 0
    var dropped = 0
    var next = Int64.max
    for i in 0..<count {
      if now &- sentNs[i] >= timeoutNs {
        body(keys[i])
        dropped &+= 1
      } else {
        keys[kept] = keys[i]
        sentNs[kept] = sentNs[i]
        next = min(next, sentNs[i] &+ timeoutNs)
        kept &+= 1
      }
    }
    count = kept
    nextExpiryNs = next
    expired &+= dropped
    return dropped
  }
}
