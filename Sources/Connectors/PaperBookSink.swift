import Engine
import FastBook

/// Paper mode's book tap on the wire thread: every book event goes on to the real sink (the ring
/// to the strategy thread) and into the `PaperExchange`'s own book; after each batch of a live
/// book the paper exchange re-examines its resting orders. Without a paper exchange (live mode)
/// it only passes events on, so a session has one sink type for both modes. Public trades go to
/// the paper exchange's queue model (they fill resting paper orders) and on to the strategy.
public struct PaperBookSink<Inner: BookEventSink>: BookEventSink {
  public var inner: Inner
  public let paper: PaperExchange?

  public init(inner: Inner, paper: PaperExchange?) {
    self.inner = inner
    self.paper = paper
  }

  @inline(__always)
  public mutating func emit(_ event: BookEvent) {
    if let paper {
      if event.kind == .trade {
        paper.onTrade(
          tick: event.tick, quantity: event.quantity, aggressor: event.side == .bid ? .buy : .sell)
      } else if paper.applier.apply(event), paper.applier.isLive {
        paper.onBook()
      }
    }
    inner.emit(event)
  }
}
