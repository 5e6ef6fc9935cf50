import FastBook
import Glibc
import Synchronization

/// A fixed-size record for the side thread (logging, persistence): a code and four numbers, so
/// the hot threads hand it over by copy and never format text themselves.
@frozen
public struct SideRecord: BitwiseCopyable, Sendable, Equatable {
  public var code: UInt32
  public var tag: UInt64
  public var a: Int64
  public var b: Int64
  public var c: Int64
  public init(code: UInt32, tag: UInt64 = 0, a: Int64 = 0, b: Int64 = 0, c: Int64 = 0) {
    self.code = code
    self.tag = tag
    self.a = a
    self.b = b
    self.c = c
  }
}

/// The side thread: drains a ring of fixed-size records (`SideRecord` for logs, `JournalRecord`
/// for the trade history) and hands each to `handle` (which may format, write files, talk to
/// SQLite — it is off the hot path), then calls `batchEnd` once per drained batch (a database
/// commits there). It sleeps briefly when idle rather than spinning, so it costs the pinned
/// threads nothing. A full ring drops the record and counts it: a hot thread never waits for the
/// side thread.
public final class SideThread<Record: BitwiseCopyable>: @unchecked Sendable {
  public let ring: SPSCRing<Record>
  let handle: (Record) -> Void
  let batchEnd: (() -> Void)?
  let stopping = Atomic<Bool>(false)
  var thread: NativeThread?
  public private(set) var dropped = 0
  public private(set) var handled = 0

  public init(
    capacity: Int = 1 << 14, batchEnd: (() -> Void)? = nil, handle: @escaping (Record) -> Void
  ) {
    ring = SPSCRing(capacity: capacity)
    self.handle = handle
    self.batchEnd = batchEnd
  }

  /// A producer that may wait (a backtest, which must keep every record): a full ring waits for
  /// the side thread instead of dropping. Off for the live threads.
  public var waitWhenFull = false

  /// Called from the one producing thread.
  @inline(__always)
  public func post(_ r: Record) {
    if ring.tryPush(r) { return }
    if waitWhenFull && thread != nil {
      while !ring.tryPush(r) { usleep(50) }
      return
    }
    dropped &+= 1
  }

  /// Starts the side thread, pinned to `cpu` when given (`pinned` says whether that worked).
  public func start(cpu: Int? = nil) {
    thread = NativeThread(name: "nt-side", cpu: cpu) { [self] in
      while true {
        let n = ring.drain { r in
          handle(r)
          handled &+= 1
        }
        if n > 0 {
          batchEnd?()
        } else {
          if stopping.load(ordering: .acquiring) && ring.count == 0 { return }
          usleep(200)
        }
      }
    }
  }

  /// Handles what is queued, then ends the thread.
  public func stop() {
    stopping.store(true, ordering: .releasing)
    thread?.join()
    thread = nil
  }
}
