/// An L2 order book for one instrument, pre-allocated at init: a price-indexed array window per
/// side with O(1) level updates, plus an exact overflow store for levels outside the window.
///
/// ## Layout and invariant
/// ```
///  tick space:  ... overflow ... | base ............ base+W-1 | ... overflow ...
///                                 └─ window: W ticks, base % 64 == 0 ─┘
///  window slot of a tick t (base <= t < base+W):  p = t & (W-1)     (independent of base)
///  qty[side][p]      quantity raw, 0 = no level
///  bits[side][p>>6]  bit (p&63) set  <=>  qty[side][p] != 0
///  summary[side][w>>6] bit (w&63) set <=> bits[side][w] != 0
///  overflow[side]    every level of that side outside [base, base+W), exactly (OverflowLevels)
///  windowBest[side]  best occupied window tick (bid: highest, ask: lowest), or the sentinel
///  aboveCount[side]  overflow levels on the touch side of the window
///                    (bids >= base+W, asks < base): when > 0 the best is in the overflow
/// ```
/// Because a slot depends only on the tick, re-centring the window moves only the occupied levels
/// that leave or enter it; nothing is shifted. `checkInvariants()` verifies all of the above in
/// debug builds.
///
/// ## Capacity
/// - `windowTicks` (W, a power of two, at least 4,096) ticks per side in the array; default 65,536
///   (±327 USDT around the touch at a 0.01 tick). Memory: 2 × (8·W + W/8 + W/512) bytes.
/// - `overflowCapacity` levels per side outside the window; default 16,384. When an update would
///   store one more, `update` returns false, stores nothing, and `isExact` becomes false until
///   `clear()`: the caller must rebuild the book (a connector resyncs from a snapshot). Nothing is
///   ever dropped silently.
/// - No allocation after init, on any path (the far-level walk sorts into pre-allocated scratch).
///
/// ## Re-centring
/// When the touch drifts into the outer eighth of the window, an update lands beyond the touch
/// side of the window, or a side of the window empties while levels remain outside it, the
/// window is re-centred on the mid (O(levels moved + overflow slots), counted in `recentreCount`).
///
/// Not thread-safe: one owner thread (the strategy thread, DESIGN.md).
public final class LadderBook {
  public let instrument: Instrument
  /// W: ticks per side held in the array window.
  public let windowTicks: Int
  /// Levels per side that can be held outside the window.
  public let overflowCapacity: Int

  @usableFromInline let tickMask: Int64
  @usableFromInline let wordCount: Int  // W / 64
  @usableFromInline let wordMask: Int
  @usableFromInline let margin: Int64  // W / 8
  @usableFromInline let qty: (UnsafeMutablePointer<Int64>, UnsafeMutablePointer<Int64>)
  @usableFromInline let bits: (UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt64>)
  @usableFromInline let summary: (UnsafeMutablePointer<UInt64>, UnsafeMutablePointer<UInt64>)
  @usableFromInline let overflow: (OverflowLevels, OverflowLevels)
  @usableFromInline let state: UnsafeMutablePointer<State>
  @usableFromInline let sides: UnsafeMutablePointer<SideState>  // [bid, ask]

  @usableFromInline
  struct SideState {
    @usableFromInline var windowBest: Int64
    @usableFromInline var windowCount: Int = 0
    @usableFromInline var aboveCount: Int = 0
    /// Cached best of the overflow (bid: highest, ask: lowest); valid only when `farBestValid`.
    @usableFromInline var farBest: Int64 = 0
    @usableFromInline var farBestValid = false
  }

  @usableFromInline
  struct State {
    @usableFromInline var base: Int64 = 0
    @usableFromInline var low: Int64 = 0  // base + margin
    @usableFromInline var high: Int64 = 0  // base + W - margin
    @usableFromInline var exact = true
    @usableFromInline var recentres = 0
    @usableFromInline var absentDeletes = 0
  }

  @usableFromInline static let noBid = Int64.min
  @usableFromInline static let noAsk = Int64.max

  /// Creates an empty book. `centreTick` places the initial window (re-centring moves it later).
  public init(
    instrument: Instrument, windowTicks: Int = 65_536, overflowCapacity: Int = 16_384,
    centreTick: Int64 = 0
  ) {
    precondition(
      windowTicks >= 4096 && windowTicks & (windowTicks - 1) == 0, "W must be a power of two >= 4096")
    precondition(overflowCapacity > 0)
    self.instrument = instrument
    self.windowTicks = windowTicks
    self.overflowCapacity = overflowCapacity
    tickMask = Int64(windowTicks - 1)
    wordCount = windowTicks / 64
    wordMask = wordCount - 1
    margin = Int64(windowTicks / 8)
    func array<T>(_ n: Int, _ v: T) -> UnsafeMutablePointer<T> {
      let p = UnsafeMutablePointer<T>.allocate(capacity: n)
      p.initialize(repeating: v, count: n)  // touches every page now, not on the hot path
      return p
    }
    qty = (array(windowTicks, 0), array(windowTicks, 0))
    bits = (array(wordCount, 0), array(wordCount, 0))
    summary = (array(wordCount / 64, 0), array(wordCount / 64, 0))
    overflow = (OverflowLevels(capacity: overflowCapacity), OverflowLevels(capacity: overflowCapacity))
    state = .allocate(capacity: 1)
    state.initialize(to: State())
    sides = .allocate(capacity: 2)
    sides.initialize(to: SideState(windowBest: Self.noBid))
    (sides + 1).initialize(to: SideState(windowBest: Self.noAsk))
    setBase(alignedBase(centre: centreTick))
  }

  deinit {
    qty.0.deallocate()
    qty.1.deallocate()
    bits.0.deallocate()
    bits.1.deallocate()
    summary.0.deallocate()
    summary.1.deallocate()
    overflow.0.deallocate()
    overflow.1.deallocate()
    state.deallocate()
    sides.deallocate()
  }

  // MARK: small accessors

  @inlinable @inline(__always)
  func qtyPtr(_ s: Side) -> UnsafeMutablePointer<Int64> { s == .bid ? qty.0 : qty.1 }
  @inlinable @inline(__always)
  func bitsPtr(_ s: Side) -> UnsafeMutablePointer<UInt64> { s == .bid ? bits.0 : bits.1 }
  @inlinable @inline(__always)
  func summaryPtr(_ s: Side) -> UnsafeMutablePointer<UInt64> { s == .bid ? summary.0 : summary.1 }
  @inlinable @inline(__always)
  func over(_ s: Side) -> OverflowLevels { s == .bid ? overflow.0 : overflow.1 }
  @inlinable @inline(__always)
  func sideState(_ s: Side) -> UnsafeMutablePointer<SideState> { sides + Int(s.rawValue) }

  @usableFromInline var base: Int64 { state.pointee.base }

  func alignedBase(centre: Int64) -> Int64 {
    let (b, o) = centre.subtractingReportingOverflow(Int64(windowTicks / 2))
    let start = o ? Int64.min / 2 : b
    return start & ~63
  }

  func setBase(_ b: Int64) {
    state.pointee.base = b
    state.pointee.low = b &+ margin
    state.pointee.high = b &+ Int64(windowTicks) &- margin
  }

  // MARK: status

  /// False after an update could not be stored (overflow full); the book must be rebuilt.
  public var isExact: Bool { state.pointee.exact }
  /// How many times the window moved.
  public var recentreCount: Int { state.pointee.recentres }
  /// Deletes of levels that were not in the book (Binance sends these; counted, harmless).
  public var absentDeleteCount: Int { state.pointee.absentDeletes }
  /// The first tick of the window.
  public var windowBase: Int64 { state.pointee.base }
  /// Levels on a side (window and overflow).
  public func count(_ side: Side) -> Int { sideState(side).pointee.windowCount + over(side).count }
  /// Levels on a side currently held outside the window.
  public func overflowCount(_ side: Side) -> Int { over(side).count }
}
