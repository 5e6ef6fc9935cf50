import FastBook

/// The tick-to-trade probe: on every book batch it places one immediate-or-cancel order at the
/// touch (a buy at the best bid or a sell at the best ask — it rests nowhere and fills against
/// nothing on a book that is not crossed), tagged with the batch's update id so the venue can
/// match the order to the depth frame that caused it. Snapshots (resyncs) are not book changes
/// from the venue's stream and are skipped. It measures the engine, not a trading idea.
public final class ProbeStrategy: Strategy {
  /// Where the probe reads the current batch's update id (the host stamps it per batch).
  public weak var host: StrategyHost?
  public let quantity: Int64
  public let side: TradeSide
  public private(set) var placed = 0
  /// Batches skipped: a snapshot re-using an update id already tagged, or a one-sided book.
  public private(set) var skipped = 0
  var lastTag: UInt64 = 0

  public init(quantity: Int64, side: TradeSide = .buy) {
    self.quantity = quantity
    self.side = side
  }

  public func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {
    guard let h = host, h.stamps.updateID > 0, !h.stamps.snapshot else { return }
    let tag = UInt64(h.stamps.updateID)
    guard tag > lastTag, let level = book.best(side == .buy ? .bid : .ask) else {
      skipped += 1
      return
    }
    lastTag = tag
    placed += 1
    intents.place(
      PlaceIntent(
        tag: tag, side: side, price: level.tick &* book.instrument.tickSize, quantity: quantity,
        immediateOrCancel: true))
  }
}
