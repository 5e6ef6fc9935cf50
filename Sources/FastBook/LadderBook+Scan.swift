// Bitmap scans over the window, in logical order (base first). The window's words sit in a ring:
// logical word l lives in physical word (base/64 + l) mod W/64, so a scan may wrap once.

extension LadderBook {
  @inlinable @inline(__always)
  var baseWord: Int { Int(truncatingIfNeeded: (state.pointee.base &>> 6)) & wordMask }

  /// Highest occupied window tick strictly below `tick` (base <= tick <= base+W), or nil.
  @usableFromInline
  func windowTick(below side: Side, _ tick: Int64) -> Int64? {
    let base = state.pointee.base
    let off = tick &- base
    let b = bitsPtr(side)
    let lw = Int(truncatingIfNeeded: off &>> 6)
    let bit = Int(truncatingIfNeeded: off & 63)
    if bit != 0 && lw < wordCount {
      let m = b[(baseWord &+ lw) & wordMask] & ((1 &<< UInt64(bit)) &- 1)
      if m != 0 { return base &+ Int64(lw &* 64 &+ 63 &- m.leadingZeroBitCount) }
    }
    guard let l = highestWord(side, below: lw) else { return nil }
    let word = b[(baseWord &+ l) & wordMask]
    return base &+ Int64(l &* 64 &+ 63 &- word.leadingZeroBitCount)
  }

  /// Lowest occupied window tick strictly above `tick` (base-1 <= tick < base+W), or nil.
  @usableFromInline
  func windowTick(above side: Side, _ tick: Int64) -> Int64? {
    let base = state.pointee.base
    let off = tick &- base
    let b = bitsPtr(side)
    var start = -1
    if off >= 0 {
      let lw = Int(truncatingIfNeeded: off &>> 6)
      let bit = Int(truncatingIfNeeded: off & 63)
      if bit < 63 {
        let m = b[(baseWord &+ lw) & wordMask] & (~0 &<< UInt64(bit &+ 1))
        if m != 0 { return base &+ Int64(lw &* 64 &+ m.trailingZeroBitCount) }
      }
      start = lw
    }
    guard let l = lowestWord(side, above: start) else { return nil }
    let word = b[(baseWord &+ l) & wordMask]
    return base &+ Int64(l &* 64 &+ word.trailingZeroBitCount)
  }

  /// Highest logical word in [0, lw) with any bit set, through the summary bitmap.
  @usableFromInline
  func highestWord(_ side: Side, below lw: Int) -> Int? {
    let s = summaryPtr(side)
    let bw = baseWord
    var l = lw &- 1
    while l >= 0 {
      let pw = (bw &+ l) & wordMask
      let off = pw & 63
      let m = s[pw &>> 6] & (off == 63 ? ~0 : ((1 &<< UInt64(off &+ 1)) &- 1))
      if m != 0 {
        let cand = l &- (off &- (63 &- m.leadingZeroBitCount))
        return cand >= 0 ? cand : nil
      }
      l &-= off &+ 1
    }
    return nil
  }

  /// Lowest logical word in (lw, W/64) with any bit set, through the summary bitmap.
  @usableFromInline
  func lowestWord(_ side: Side, above lw: Int) -> Int? {
    let s = summaryPtr(side)
    let bw = baseWord
    var l = lw &+ 1
    while l < wordCount {
      let pw = (bw &+ l) & wordMask
      let off = pw & 63
      let m = s[pw &>> 6] & (~0 &<< UInt64(off))
      if m != 0 {
        let cand = l &+ (m.trailingZeroBitCount &- off)
        return cand < wordCount ? cand : nil
      }
      l &+= 64 &- off
    }
    return nil
  }

  /// Best window tick of a side by a full scan (used after re-centring).
  func scanWindowBest(_ side: Side) -> Int64? {
    let base = state.pointee.base
    return side == .bid
      ? windowTick(below: .bid, base &+ Int64(windowTicks)) : windowTick(above: .ask, base &- 1)
  }
}
