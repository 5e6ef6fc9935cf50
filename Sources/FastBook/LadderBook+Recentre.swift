extension LadderBook {
  /// The best level of a side over window and overflow, or nil when the side is empty.
  @inlinable @inline(__always)
  func bestTick(_ side: Side) -> Int64? {
    let ss = sideState(side)
    if ss.pointee.aboveCount == 0 && ss.pointee.windowCount > 0 { return ss.pointee.windowBest }
    return farBest(side)
  }

  /// Best level of the overflow store (lazily cached; a scan after the cached one was deleted).
  @usableFromInline @inline(never)
  func farBest(_ side: Side) -> Int64? {
    let ss = sideState(side)
    if ss.pointee.farBestValid { return ss.pointee.farBest }
    guard let t = over(side).extreme(highest: side == .bid) else { return nil }
    ss.pointee.farBest = t
    ss.pointee.farBestValid = true
    return t
  }

  /// Moves the window so that it is centred on the mid (or on the only side's best).
  /// Without `force`, a move of less than W/16 is skipped, so a book whose spread is wider than
  /// the window does not thrash. Levels leaving the window go to the overflow store, levels
  /// entering it come out of the store; nothing else moves.
  @usableFromInline
  func recentre(force: Bool) {
    let bb = bestTick(.bid)
    let ba = bestTick(.ask)
    let centre: Int64
    switch (bb, ba) {
    case let (b?, a?): centre = b &+ (a &- b) / 2
    case let (b?, nil): centre = b
    case let (nil, a?): centre = a
    case (nil, nil): return
    }
    let newBase = alignedBase(centre: centre)
    let oldBase = state.pointee.base
    let d = newBase &- oldBase
    if d == 0 || (!force && d.magnitude < UInt64(margin / 2)) { return }
    let w = Int64(windowTicks)
    let oldBaseWord = baseWord
    let far = d.magnitude >= UInt64(windowTicks)
    // Touch-side levels outside the window, relative to a base (bids above it, asks below it).
    func beyondTouch(_ side: Side, _ tick: Int64, base: Int64) -> Bool {
      side == .bid ? tick >= base &+ w : tick < base
    }
    for side in Side.allCases {
      let o = over(side)
      let q = qtyPtr(side)
      let b = bitsPtr(side)
      let s = summaryPtr(side)
      let ss = sideState(side)
      // 1. Take the entering levels out of the overflow store (into its scratch).
      var entering = 0
      var aboveDelta = 0
      if o.count > 0 {
        for i in 0...o.slotMask {
          let k = o.keys[i]
          if k != OverflowLevels.empty && k >= newBase && k < newBase &+ w {
            o.sorted[entering] = BookLevel(tick: k, quantity: o.values[i])
            entering += 1
          }
        }
        for i in 0..<entering {
          let t = o.sorted[i].tick
          _ = o.remove(t)
          if beyondTouch(side, t, base: oldBase) { aboveDelta -= 1 }
        }
      }
      // 2. Move the leaving window levels into the overflow store.
      let range: Range<Int>
      if d.magnitude >= UInt64(windowTicks) {
        range = 0..<wordCount
      } else if d > 0 {
        range = 0..<Int(d / 64)
      } else {
        range = (wordCount + Int(d / 64))..<wordCount
      }
      for l in range {
        let pw = (oldBaseWord + l) & wordMask
        var word = b[pw]
        if word == 0 { continue }
        while word != 0 {
          let tick = oldBase &+ Int64(l * 64 + word.trailingZeroBitCount)
          let p = Int(tick & tickMask)
          if !o.upsert(tick, q[p]).stored { state.pointee.exact = false }
          if beyondTouch(side, tick, base: newBase) { aboveDelta += 1 }
          q[p] = 0
          ss.pointee.windowCount -= 1
          word &= word &- 1
        }
        b[pw] = 0
        s[pw >> 6] &= ~(1 << UInt64(pw & 63))
      }
      // 3. Put the entering levels into the window.
      for i in 0..<entering {
        let lv = o.sorted[i]
        let p = Int(lv.tick & tickMask)
        q[p] = lv.quantity
        let pw = p >> 6
        b[pw] |= 1 << UInt64(p & 63)
        s[pw >> 6] |= 1 << UInt64(pw & 63)
        ss.pointee.windowCount += 1
      }
      // For a move shorter than the window, no level that stayed in the overflow changes sides
      // relative to the touch edge, so the count follows from what moved; a longer jump recounts.
      if !far { ss.pointee.aboveCount += aboveDelta }
    }
    setBase(newBase)
    for side in Side.allCases {
      let ss = sideState(side)
      ss.pointee.windowBest = scanWindowBest(side) ?? (side == .bid ? Self.noBid : Self.noAsk)
      ss.pointee.farBestValid = false
      guard far else { continue }
      var above = 0
      let o = over(side)
      if o.count > 0 {
        for i in 0...o.slotMask {
          let k = o.keys[i]
          if k != OverflowLevels.empty && isBeyondTouchEdge(side, k) { above += 1 }
        }
      }
      ss.pointee.aboveCount = above
    }
    state.pointee.recentres += 1
  }
}
