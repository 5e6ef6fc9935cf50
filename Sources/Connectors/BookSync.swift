import CSimdJSON
import FastBook

/// Where a book sync sends its events: an SPSC ring in the live runtime, a book directly in tests.
public protocol BookEventSink {
  mutating func emit(_ event: BookEvent)
}

/// A venue's rule for joining a snapshot to its diff stream, over the venue-neutral header of a
/// diff (`DepthUpdate`): which diffs a snapshot already contains, whether a diff brackets the
/// snapshot (the first one applied after it), and whether a diff chains onto the one before.
public protocol SequenceRule: Sendable {
  /// The diff is already in a snapshot (or a book) whose last update id is `last`.
  func isStale(_ d: DepthUpdate, last: Int64) -> Bool
  /// The diff may be the first applied after a snapshot whose last update id is `last`.
  func brackets(_ d: DepthUpdate, snapshot last: Int64) -> Bool
  /// The diff follows the one whose last update id was `last`, with nothing missed between.
  func chains(_ d: DepthUpdate, after last: Int64) -> Bool
}

/// A diff's sequence header, whatever the venue: its first and last update ids, the last id of
/// the diff before it (when the venue says; else 0), and the venue's event time.
@frozen
public struct DepthUpdate: Sendable, Equatable {
  public var first: Int64
  public var last: Int64
  public var prev: Int64
  public var eventMs: Int64
  public init(first: Int64, last: Int64, prev: Int64 = 0, eventMs: Int64 = -1) {
    self.first = first
    self.last = last
    self.prev = prev
    self.eventMs = eventMs
  }
  /// The header of a decoded diff (`nt_depth`: any venue's decoder fills the same fields).
  @inline(__always)
  public init(_ d: nt_depth) {
    self.init(
      first: d.first_update_id, last: d.last_update_id, prev: d.prev_update_id, eventMs: d.event_time_ms)
  }
}

/// Keeps one instrument's book in sync with a venue, by the venue's `SequenceRule`: buffers diffs
/// until a snapshot arrives, drops stale ones, checks the update-id chain, and on a gap resets the
/// book (to be rebuilt from a new snapshot, never patched). Emits clean batches to a
/// `BookEventSink`.
///
/// Runs on the wire thread. Capacity: up to `bufferedDiffCapacity` diffs and
/// `bufferedLevelCapacity` levels wait for a snapshot; when full the oldest buffered diff is
/// discarded (counted), which at worst makes the next snapshot report a mismatch and resync.
public struct BookSync<Rule: SequenceRule, Sink: BookEventSink> {
  public enum State: Equatable, Sendable {
    /// No snapshot applied since start or the last reset: diffs are buffered.
    case awaitingSnapshot
    /// A snapshot was applied and every diff since chained onto it.
    case synced(lastUpdateID: Int64)
  }

  public struct Counters: Equatable, Sendable {
    public var snapshots = 0
    public var diffs = 0
    public var applied = 0
    public var droppedStale = 0
    public var buffered = 0
    public var bufferOverflows = 0
    public var gaps = 0
    public var snapshotMismatches = 0
    public var invalidations = 0
    public var offTickLevels = 0
    public var levels = 0
  }

  public let rule: Rule
  public let instrument: Instrument
  public let instrumentIndex: InstrumentIndex
  public var sink: Sink
  public private(set) var state: State = .awaitingSnapshot
  /// Synced from a snapshot that no buffered diff joined yet: the next diff must bracket it.
  var awaitingFirstDiff = false
  public private(set) var counters = Counters()

  // The diff buffer: a ring of headers over a ring of levels, pre-allocated.
  struct Pending {
    var first: Int64, last: Int64, prev: Int64, eventMs: Int64, localNs: Int64
    var bidStart: Int, bidCount: Int, askStart: Int, askCount: Int
  }
  let pending: UnsafeMutablePointer<Pending>
  let pendingLevels: UnsafeMutablePointer<nt_level>
  public let bufferedDiffCapacity: Int
  public let bufferedLevelCapacity: Int
  var pendingHead = 0  // oldest
  var pendingCount = 0
  var levelHead = 0  // first level of the oldest pending diff
  var levelUsed = 0

  public init(
    rule: Rule, instrument: Instrument, instrumentIndex: InstrumentIndex = InstrumentIndex(0),
    sink: Sink, bufferedDiffCapacity: Int = 4096, bufferedLevelCapacity: Int = 1 << 18
  ) {
    self.rule = rule
    self.instrument = instrument
    self.instrumentIndex = instrumentIndex
    self.sink = sink
    self.bufferedDiffCapacity = bufferedDiffCapacity
    self.bufferedLevelCapacity = bufferedLevelCapacity
    pending = .allocate(capacity: bufferedDiffCapacity)
    pendingLevels = .allocate(capacity: bufferedLevelCapacity)
  }

  /// Frees the buffers; the sync must not be used afterwards.
  public func deallocate() {
    pending.deallocate()
    pendingLevels.deallocate()
  }

  // MARK: inputs

  /// A decoded diff (`message.kind == NT_MSG_DEPTH_UPDATE`) with its levels.
  @inline(__always)
  public mutating func onDiff(
    _ d: UnsafePointer<nt_depth>, bids: UnsafeBufferPointer<nt_level>, asks: UnsafeBufferPointer<nt_level>,
    localTimeNs: Int64, decodedTimeNs: Int64 = 0
  ) {
    onDiff(
      DepthUpdate(d.pointee), bids: bids, asks: asks, localTimeNs: localTimeNs, decodedTimeNs: decodedTimeNs)
  }

  /// A diff, by its header, with its levels.
  public mutating func onDiff(
    _ d: DepthUpdate, bids: UnsafeBufferPointer<nt_level>, asks: UnsafeBufferPointer<nt_level>,
    localTimeNs: Int64, decodedTimeNs: Int64 = 0
  ) {
    counters.diffs += 1
    switch state {
    case .awaitingSnapshot:
      buffer(d, bids: bids, asks: asks, localTimeNs: localTimeNs)
    case .synced(let last):
      var chained = rule.chains(d, after: last)
      if awaitingFirstDiff && !chained {
        // The first diff after a snapshot that nothing buffered: the rule for the first event is
        // that it brackets the snapshot (Binance spot: U ≤ lastUpdateId+1 ≤ u), not that it
        // chains — a diff sent before the snapshot was taken can cover both sides of it.
        chained = rule.brackets(d, snapshot: last)
      }
      if !chained {
        if d.last <= last {
          counters.droppedStale += 1  // a duplicate or replay of something already applied
          return
        }
        counters.gaps += 1
        reset(.sequenceGap)
        buffer(d, bids: bids, asks: asks, localTimeNs: localTimeNs)
        return
      }
      awaitingFirstDiff = false
      emitDiff(
        bids: bids, asks: asks, last: d.last, eventMs: d.eventMs,
        localNs: localTimeNs, decodedNs: decodedTimeNs)
    }
  }

  /// A decoded REST snapshot: replaces the book, then replays buffered diffs that chain onto it.
  public mutating func onSnapshot(
    lastUpdateID: Int64, bids: UnsafeBufferPointer<nt_level>, asks: UnsafeBufferPointer<nt_level>,
    localTimeNs: Int64
  ) {
    counters.snapshots += 1
    // Centre the window on the touch so loading does not re-centre level by level.
    let centre: Int64
    if let b = bids.first, let a = asks.first {
      centre = (tick(b.price) ?? 0) / 2 + (tick(a.price) ?? 0) / 2
    } else if let b = bids.first {
      centre = tick(b.price) ?? 0
    } else {
      centre = asks.first.flatMap { tick($0.price) } ?? 0
    }
    sink.emit(.snapshotBegin(centreTick: centre, updateID: lastUpdateID, instrument: instrumentIndex))
    emitLevels(.bid, bids)
    emitLevels(.ask, asks)
    sink.emit(
      .batchEnd(
        updateID: lastUpdateID, exchangeTimeNs: -1, localTimeNs: localTimeNs, instrument: instrumentIndex,
        isSnapshot: true))
    var last = lastUpdateID
    var first = true
    while pendingCount > 0 {
      let p = pending[pendingHead]
      let b = UnsafeBufferPointer(start: pendingLevels + p.bidStart, count: p.bidCount)
      let a = UnsafeBufferPointer(start: pendingLevels + p.askStart, count: p.askCount)
      popPending()
      if first {
        let header = DepthUpdate(first: p.first, last: p.last, prev: p.prev, eventMs: p.eventMs)
        if rule.isStale(header, last: last) {
          counters.droppedStale += 1
          continue
        }
        if !rule.brackets(header, snapshot: last) {
          counters.snapshotMismatches += 1
          dropAllPending()
          reset(.snapshotMismatch)
          return
        }
        first = false
      } else {
        if !rule.chains(DepthUpdate(first: p.first, last: p.last, prev: p.prev), after: last) {
          counters.gaps += 1
          dropAllPending()
          reset(.sequenceGap)
          return
        }
      }
      emitDiff(bids: b, asks: a, last: p.last, eventMs: p.eventMs, localNs: p.localNs)
      last = p.last
    }
    // Nothing buffered joined the snapshot: the next diff is the first and must bracket it.
    awaitingFirstDiff = first
    state = .synced(lastUpdateID: last)
  }

  /// Something on the book's stream could not be decoded (or the connection dropped): the book
  /// may be wrong, so it is reset and waits for a new snapshot.
  public mutating func invalidate(_ reason: ResetReason) {
    counters.invalidations += 1
    reset(reason)
  }

  // MARK: internals

  @inline(__always)
  func tick(_ priceRaw: Int64) -> Int64? {
    let ts = instrument.tickSize
    if ts == 1 { return priceRaw }
    let (q, r) = priceRaw.quotientAndRemainder(dividingBy: ts)
    return r == 0 ? q : nil
  }

  @inline(__always)
  mutating func emitLevels(_ side: Side, _ levels: UnsafeBufferPointer<nt_level>) {
    for lv in levels {
      guard let t = tick(lv.price) else {
        counters.offTickLevels += 1
        continue
      }
      sink.emit(.level(side, tick: t, quantity: lv.qty, instrument: instrumentIndex))
    }
    counters.levels &+= levels.count
  }

  @inline(__always)
  mutating func emitDiff(
    bids: UnsafeBufferPointer<nt_level>, asks: UnsafeBufferPointer<nt_level>, last: Int64, eventMs: Int64,
    localNs: Int64, decodedNs: Int64 = 0
  ) {
    emitLevels(.bid, bids)
    emitLevels(.ask, asks)
    sink.emit(
      .batchEnd(
        updateID: last, exchangeTimeNs: eventMs >= 0 ? eventMs &* 1_000_000 : -1, localTimeNs: localNs,
        instrument: instrumentIndex, decodedTimeNs: decodedNs))
    counters.applied += 1
    state = .synced(lastUpdateID: last)
  }

  mutating func reset(_ reason: ResetReason) {
    state = .awaitingSnapshot
    sink.emit(.reset(reason: reason, instrument: instrumentIndex))
  }

  mutating func buffer(
    _ d: DepthUpdate, bids: UnsafeBufferPointer<nt_level>, asks: UnsafeBufferPointer<nt_level>,
    localTimeNs: Int64
  ) {
    let need = bids.count + asks.count
    if need > bufferedLevelCapacity {
      counters.bufferOverflows += 1
      dropAllPending()
      return
    }
    // Make room: discard the oldest diffs (a later snapshot then reports a mismatch if it needed them).
    while pendingCount == bufferedDiffCapacity || bufferedLevelCapacity - levelUsed < need
      || !levelSpanFits(need)
    {
      counters.bufferOverflows += 1
      popPending()
    }
    // Levels are stored contiguously; skip the tail of the level ring when a diff would wrap.
    var start = (levelHead + levelUsed) % bufferedLevelCapacity
    if start + need > bufferedLevelCapacity {
      levelUsed += bufferedLevelCapacity - start
      start = 0
    }
    for i in 0..<bids.count { pendingLevels[start + i] = bids[i] }
    for i in 0..<asks.count { pendingLevels[start + bids.count + i] = asks[i] }
    levelUsed += need
    let slot = (pendingHead + pendingCount) % bufferedDiffCapacity
    pending[slot] = Pending(
      first: d.first, last: d.last, prev: d.prev, eventMs: d.eventMs, localNs: localTimeNs, bidStart: start,
      bidCount: bids.count,
      askStart: start + bids.count, askCount: asks.count)
    pendingCount += 1
    counters.buffered += 1
  }

  /// Whether `need` contiguous levels fit after the used span (counting a skipped tail).
  func levelSpanFits(_ need: Int) -> Bool {
    if pendingCount == 0 { return need <= bufferedLevelCapacity }
    let start = (levelHead + levelUsed) % bufferedLevelCapacity
    if start + need <= bufferedLevelCapacity {
      return levelUsed + need <= bufferedLevelCapacity
    }
    return levelUsed + (bufferedLevelCapacity - start) + need <= bufferedLevelCapacity
  }

  mutating func popPending() {
    guard pendingCount > 0 else { return }
    let p = pending[pendingHead]
    pendingHead = (pendingHead + 1) % bufferedDiffCapacity
    pendingCount -= 1
    if pendingCount == 0 {
      levelHead = 0
      levelUsed = 0
    } else {
      let next = pending[pendingHead].bidStart
      let freed = (next - levelHead + bufferedLevelCapacity) % bufferedLevelCapacity
      levelHead = next
      levelUsed -= freed
      _ = p
    }
  }

  mutating func dropAllPending() {
    pendingHead = 0
    pendingCount = 0
    levelHead = 0
    levelUsed = 0
  }
}
