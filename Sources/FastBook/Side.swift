/// A side of the book. The raw value indexes per-side storage.
@frozen
public enum Side: UInt8, Sendable, BitwiseCopyable, CaseIterable {
  case bid = 0
  case ask = 1

  @inlinable public var opposite: Side { self == .bid ? .ask : .bid }
}

/// One price level: a tick index and a quantity raw (see `Instrument`).
@frozen
public struct BookLevel: Hashable, Sendable, BitwiseCopyable {
  public var tick: Int64
  public var quantity: Int64
  @inlinable public init(tick: Int64, quantity: Int64) {
    self.tick = tick
    self.quantity = quantity
  }
}
