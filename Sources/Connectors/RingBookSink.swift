import CPlatform
import FastBook

/// The runtime's book sink: book events go into the SPSC ring the strategy thread polls.
///
/// When the ring is full the wire thread waits for room (spinning; counted in `fullWaits`)
/// instead of dropping: a dropped level would leave the strategy's book wrong, and the strategy
/// thread, busy-polling, drains the ring in microseconds. Size the ring to hold the largest
/// snapshot (levels + 2) so even that never waits long.
public struct RingBookSink: BookEventSink {
  public let ring: SPSCRing<BookEvent>
  public private(set) var fullWaits = 0
  public private(set) var emitted = 0

  public init(ring: SPSCRing<BookEvent>) { self.ring = ring }

  @inline(__always)
  public mutating func emit(_ event: BookEvent) {
    emitted &+= 1
    if ring.tryPush(event) { return }
    fullWaits &+= 1
    while !ring.tryPush(event) { cplat_cpu_relax() }
  }
}
