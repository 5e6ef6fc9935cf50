import Engine
import FastBook

/// The local side of a backtest: a tape's messages into a venue's book sync, exactly as its live
/// feed hands decoded messages over — diffs and snapshots to the sync (which buffers, checks the
/// venue's sequence rule, resets on a gap), trades straight to the sink. The backtest holds it as
/// this protocol so that the sync, generic over the venue's rule, is specialized where the venue
/// makes it (`BinanceCaptureTape.bookFeed`) rather than run unspecialized in the backtest.
public protocol TapeBookFeed: AnyObject {
  /// The message at `offset` of `tape`, received at `localNs`.
  func replay(_ tape: MarketTape, at offset: Int, localNs: Int64)
  var snapshots: Int { get }
  var gaps: Int { get }
  var snapshotMismatches: Int { get }
  var droppedStale: Int { get }
  var isSynced: Bool { get }
}

/// `TapeBookFeed` over a `BookSync` with the venue's rule, into the runtime's ring (or any sink:
/// a simulated exchange's or venue's view of the same market).
public final class TapeBookSync<Rule: SequenceRule, Sink: BookEventSink>: TapeBookFeed {
  public private(set) var sync: BookSync<Rule, Sink>
  let tickSize: Int64

  public init(rule: Rule, instrument: Instrument, sink: Sink) {
    sync = BookSync(rule: rule, instrument: instrument, sink: sink)
    tickSize = max(1, instrument.tickSize)
  }

  deinit { sync.deallocate() }

  @inline(__always)
  public func replay(_ tape: MarketTape, at offset: Int, localNs: Int64) {
    let m = tape.message(at: offset).pointee
    switch m.kind {
    case .diff:
      sync.onDiff(m.update, bids: tape.bids(at: offset), asks: tape.asks(at: offset), localTimeNs: localNs)
    case .snapshot:
      sync.onSnapshot(
        lastUpdateID: m.update.last, bids: tape.bids(at: offset), asks: tape.asks(at: offset),
        localTimeNs: localNs)
    case .trade:
      sync.sink.emit(
        .trade(
          aggressor: m.side, tick: m.price / tickSize, quantity: m.quantity, exchangeTimeNs: m.exchangeNs,
          instrument: sync.instrumentIndex))
    }
  }

  public var snapshots: Int { sync.counters.snapshots }
  public var gaps: Int { sync.counters.gaps }
  public var snapshotMismatches: Int { sync.counters.snapshotMismatches }
  public var droppedStale: Int { sync.counters.droppedStale }
  public var isSynced: Bool {
    if case .synced = sync.state { return true }
    return false
  }
}
