/// The result of walking one side of the book for a volume.
@frozen
public struct VolumeWalk: Hashable, Sendable {
  /// The last (worst) level touched, or nil when the side is empty.
  public var worstTick: Int64?
  /// Quantity taken: the asked volume, or all there was when the side is too thin.
  public var quantity: Int64
  /// Σ price·quantity of what was taken, as a raw at priceScale + quantityScale.
  public var notional: Int128
  /// True when the side held the whole volume.
  public var complete: Bool

  @inlinable
  public init(worstTick: Int64?, quantity: Int64, notional: Int128, complete: Bool) {
    self.worstTick = worstTick
    self.quantity = quantity
    self.notional = notional
    self.complete = complete
  }
}

extension LadderBook {
  /// Best bid (highest), over window and overflow.
  @inlinable public var bestBid: BookLevel? { best(.bid) }
  /// Best ask (lowest), over window and overflow.
  @inlinable public var bestAsk: BookLevel? { best(.ask) }

  @inlinable @inline(__always)
  public func best(_ side: Side) -> BookLevel? {
    guard let t = bestTick(side) else { return nil }
    return BookLevel(tick: t, quantity: quantity(side, at: t))
  }

  /// Quantity at a tick (0 when there is no level). Inlined for the same reason as `update`.
  @inlinable @inline(__always)
  public func quantity(_ side: Side, at tick: Int64) -> Int64 {
    let off = tick &- state.pointee.base
    if UInt64(bitPattern: off) < UInt64(windowTicks) { return qtyPtr(side)[Int(tick & tickMask)] }
    return over(side).get(tick)
  }

  /// Ask minus bid in ticks; nil unless both sides have a level. Negative or zero when crossed.
  @inlinable
  public var spreadTicks: Int64? {
    guard let b = bestTick(.bid), let a = bestTick(.ask) else { return nil }
    return a &- b
  }

  /// Twice the mid, in ticks (exact: bid + ask); nil unless both sides have a level.
  @inlinable
  public var midTicksTimesTwo: Int64? {
    guard let b = bestTick(.bid), let a = bestTick(.ask) else { return nil }
    return b &+ a
  }

  /// The mid price as a Double, for reports and config-level logic (never the hot path).
  public var midPrice: Double? {
    guard let m2 = midTicksTimesTwo else { return nil }
    return Double(m2) * Double(instrument.tickSize) / 2 / Double(FixedPoint.pow10(instrument.priceScale))
  }

  /// True when best bid >= best ask.
  @inlinable
  public var isCrossed: Bool {
    guard let s = spreadTicks else { return false }
    return s <= 0
  }

  /// Calls `body` for each level of a side, best first, until it returns false.
  /// `body` must not change the book.
  @inlinable
  public func forEachLevel(_ side: Side, _ body: (BookLevel) -> Bool) {
    let ss = sideState(side)
    let o = over(side)
    let base = state.pointee.base
    let top = base &+ Int64(windowTicks)
    let q = qtyPtr(side)
    if side == .bid {
      var sorted = UnsafeMutableBufferPointer<BookLevel>(start: nil, count: 0)
      var i = -1
      if ss.pointee.aboveCount > 0 {
        sorted = o.ascending()
        i = sorted.count - 1
        while i >= 0 && sorted[i].tick >= top {
          if !body(sorted[i]) { return }
          i -= 1
        }
      }
      if ss.pointee.windowCount > 0 {
        var t = ss.pointee.windowBest
        while true {
          if !body(BookLevel(tick: t, quantity: q[Int(t & tickMask)])) { return }
          guard let next = windowTick(below: .bid, t) else { break }
          t = next
        }
      }
      if o.count > 0 {
        if sorted.baseAddress == nil {
          sorted = o.ascending()
          i = sorted.count - 1
          while i >= 0 && sorted[i].tick >= base { i -= 1 }
        }
        while i >= 0 {
          if !body(sorted[i]) { return }
          i -= 1
        }
      }
    } else {
      var sorted = UnsafeMutableBufferPointer<BookLevel>(start: nil, count: 0)
      var i = 0
      if ss.pointee.aboveCount > 0 {
        sorted = o.ascending()
        while i < sorted.count && sorted[i].tick < base {
          if !body(sorted[i]) { return }
          i += 1
        }
      }
      if ss.pointee.windowCount > 0 {
        var t = ss.pointee.windowBest
        while true {
          if !body(BookLevel(tick: t, quantity: q[Int(t & tickMask)])) { return }
          guard let next = windowTick(above: .ask, t) else { break }
          t = next
        }
      }
      if o.count > 0 {
        if sorted.baseAddress == nil {
          sorted = o.ascending()
          while i < sorted.count && sorted[i].tick < top { i += 1 }
        }
        while i < sorted.count {
          if !body(sorted[i]) { return }
          i += 1
        }
      }
    }
  }

  /// Copies up to `out.count` levels of a side, best first, into `out`; returns how many.
  /// No allocation.
  @inlinable
  public func depth(_ side: Side, into out: UnsafeMutableBufferPointer<BookLevel>) -> Int {
    var n = 0
    if out.isEmpty { return 0 }
    forEachLevel(side) { lv in
      out[n] = lv
      n += 1
      return n < out.count
    }
    return n
  }

  /// The top `limit` levels of a side, best first (allocates: for reports and tests).
  public func levels(_ side: Side, limit: Int = .max) -> [BookLevel] {
    var result: [BookLevel] = []
    if limit <= 0 { return result }
    forEachLevel(side) { lv in
      result.append(lv)
      return result.count < limit
    }
    return result
  }

  /// Walks a side from the best level until `volume` is taken: what a market order of that
  /// size would pay (walk `.ask` to buy, `.bid` to sell). Hummingbot's price-for-volume.
  @inlinable
  public func walk(_ side: Side, volume: Int64) -> VolumeWalk {
    var remaining = volume
    var taken: Int64 = 0
    var notional: Int128 = 0
    var worst: Int64? = nil
    let tickSize = Int128(instrument.tickSize)
    if remaining > 0 {
      forEachLevel(side) { lv in
        let take = min(lv.quantity, remaining)
        taken &+= take
        remaining &-= take
        notional &+= Int128(lv.tick) * tickSize * Int128(take)
        worst = lv.tick
        return remaining > 0
      }
    }
    return VolumeWalk(worstTick: worst, quantity: taken, notional: notional, complete: remaining <= 0)
  }

  /// Quantity and notional resting on a side at prices at least as good as `tick`
  /// (bids >= tick, asks <= tick). Hummingbot's volume-for-price.
  @inlinable
  public func volume(_ side: Side, upTo tick: Int64) -> (quantity: Int64, notional: Int128) {
    var qty: Int64 = 0
    var notional: Int128 = 0
    let tickSize = Int128(instrument.tickSize)
    forEachLevel(side) { lv in
      if side == .bid ? lv.tick < tick : lv.tick > tick { return false }
      qty &+= lv.quantity
      notional &+= Int128(lv.tick) * tickSize * Int128(lv.quantity)
      return true
    }
    return (qty, notional)
  }
}
