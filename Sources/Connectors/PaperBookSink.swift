import Engine
import FastBook

/// Paper mode's book tap on the wire thread: every book event goes on to the real sink (the ring
/// to the strategy thread) and into the `PaperExchange`'s own book; after each batch of a live
/// book the paper exchange re-examines its resting orders. Without a paper exchange (live mode)
/// it only passes events on, so a session has one sink type for both modes.
public struct PaperBookSink<Inner: BookEventSink>: BookEventSink {
  public var inner: Inner
  public let paper: PaperExchange?

  public init(inner: Inner, paper: PaperExchange?) {
    self.inner = inner
    self.paper = paper
  }

  @inline(__always)
  public mutating func emit(_ event: BookEvent) {
    if let paper, paper.applier.apply(event), paper.applier.isLive { paper.onBook() }
    inner.emit(event)
  }
}
