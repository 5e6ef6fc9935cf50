extension LadderBook {
  /// Verifies the layout invariant in the type's documentation; traps on the first violation.
  /// Compiled into debug builds only (a no-op in release). O(W + overflow slots).
  public func checkInvariants() {
    #if DEBUG
      let base = state.pointee.base
      precondition(base & 63 == 0, "base not 64-aligned")
      for side in Side.allCases {
        let q = qtyPtr(side)
        let b = bitsPtr(side)
        let s = summaryPtr(side)
        let ss = sideState(side).pointee
        var count = 0
        var best: Int64? = nil
        for pw in 0..<wordCount {
          var expect: UInt64 = 0
          for bit in 0..<64 where q[pw * 64 + bit] != 0 {
            precondition(q[pw * 64 + bit] > 0, "negative quantity in window")
            expect |= 1 << UInt64(bit)
          }
          precondition(b[pw] == expect, "bitmap word \(pw) disagrees with quantities")
          precondition(((s[pw >> 6] >> UInt64(pw & 63)) & 1 == 1) == (expect != 0), "summary bit \(pw) wrong")
          count += expect.nonzeroBitCount
        }
        precondition(count == ss.windowCount, "window count \(ss.windowCount) != \(count)")
        if count > 0 { best = scanWindowBest(side) }
        precondition((best ?? (side == .bid ? Self.noBid : Self.noAsk)) == ss.windowBest, "window best stale")
        let o = over(side)
        var ocount = 0
        var above = 0
        for i in 0...o.slotMask where o.keys[i] != OverflowLevels.empty {
          let k = o.keys[i]
          ocount += 1
          precondition(k < base || k >= base + Int64(windowTicks), "overflow level \(k) inside the window")
          precondition(o.values[i] > 0, "overflow level without quantity")
          precondition(o.get(k) == o.values[i], "overflow level \(k) unreachable")
          if isBeyondTouchEdge(side, k) { above += 1 }
        }
        precondition(ocount == o.count, "overflow count wrong")
        precondition(above == ss.aboveCount, "above-window count wrong")
        precondition(o.count <= overflowCapacity, "overflow over capacity")
      }
    #endif
  }
}
