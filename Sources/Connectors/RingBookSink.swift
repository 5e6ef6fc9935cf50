import CPlatform
import Engine
import FastBook

/// The runtime's book sink: book events go into the SPSC ring the strategy thread polls.
///
/// When the ring is full nothing is dropped (a dropped level would leave the strategy's book
/// wrong; counted in `fullWaits`):
/// - two threads: the wire thread spins until the strategy thread, busy-polling, makes room (it
///   drains the ring in microseconds);
/// - one thread (`drain` given): the ring's reader is this thread, so spinning would never end —
///   `drain` applies what is queued (`StrategyRuntime.drainBook`) and the push goes on. A snapshot
///   and the diffs replayed after it may be far larger than the ring.
/// Size the ring to hold the largest snapshot (levels + 2) so either is rare.
public struct RingBookSink: BookEventSink {
  public let ring: SPSCRing<BookEvent>
  /// The one-thread layout's consumer, run when the ring is full.
  let drain: (() -> Void)?
  public private(set) var fullWaits = 0
  public private(set) var emitted = 0

  /// `drain`: nil when another thread reads `ring`; the reader's drain when it is this thread.
  public init(ring: SPSCRing<BookEvent>, drain: (() -> Void)? = nil) {
    self.ring = ring
    self.drain = drain
  }

  @inline(__always)
  public mutating func emit(_ event: BookEvent) {
    emitted &+= 1
    if ring.tryPush(event) { return }
    fullWaits &+= 1
    if let drain {
      repeat { drain() } while !ring.tryPush(event)
      return
    }
    while !ring.tryPush(event) { cplat_cpu_relax() }
  }
}

extension StrategyRuntime {
  /// The book sink of the one-thread layout, where this runtime is polled from the wire loop: a
  /// full ring is drained into the book here rather than waited on.
  public var sameThreadBookSink: RingBookSink {
    RingBookSink(ring: bookIn, drain: { [unowned self] in self.drainBook() })
  }
}
