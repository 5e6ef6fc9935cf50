import FastBook
import TestSupport
import Testing

/// The simple reference: two dictionaries, sorted on demand.
struct ReferenceBook {
  var sides: [[Int64: Int64]] = [[:], [:]]
  mutating func update(_ side: Side, _ tick: Int64, _ qty: Int64) {
    if qty == 0 { sides[Int(side.rawValue)][tick] = nil } else { sides[Int(side.rawValue)][tick] = qty }
  }
  func levels(_ side: Side) -> [BookLevel] {
    let d = sides[Int(side.rawValue)]
    let keys = side == .bid ? d.keys.sorted(by: >) : d.keys.sorted()
    return keys.map { BookLevel(tick: $0, quantity: d[$0]!) }
  }
  func best(_ side: Side) -> BookLevel? {
    let d = sides[Int(side.rawValue)]
    guard let t = side == .bid ? d.keys.max() : d.keys.min() else { return nil }
    return BookLevel(tick: t, quantity: d[t]!)
  }
}

let spot = Instrument(symbol: "TEST", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)

@Suite struct LadderBookPropertyTests {
  /// Random operations on both books; they must agree after every step.
  @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
  func agreesWithReference(seed: UInt64) {
    var rng = SplitMix64(seed: seed)
    let book = LadderBook(instrument: spot, windowTicks: 4096, overflowCapacity: 4096, centreTick: 1_000_000)
    var ref = ReferenceBook()
    var centre: Int64 = 1_000_000
    var scratch = [BookLevel](repeating: BookLevel(tick: 0, quantity: 0), count: 8)
    for step in 0..<30_000 {
      let r = Int.random(in: 0..<1000, using: &rng)
      let side: Side = Bool.random(using: &rng) ? .bid : .ask
      var tick: Int64
      var qty = Int64.random(in: 1...1_000_000, using: &rng)
      switch r {
      case 0..<550:  // near the touch, on the proper side of the centre
        let d = Int64.random(in: 0...300, using: &rng)
        tick = side == .bid ? centre - 1 - d : centre + d
      case 550..<800:  // delete a level that exists (or an absent one near the touch)
        let levels = ref.sides[Int(side.rawValue)]
        if let k = levels.keys.randomElement(using: &rng), Bool.random(using: &rng) {
          tick = k
        } else {
          tick = centre + Int64.random(in: -400...400, using: &rng)
        }
        qty = 0
      case 800..<880:  // far away, outside the window, on the far side
        let d = Int64.random(in: 3000...60_000, using: &rng)
        tick = side == .bid ? centre - d : centre + d
      case 880..<900:  // delete something absent far away
        tick = centre + Int64.random(in: -2_000_000...2_000_000, using: &rng)
        qty = 0
      case 900..<960:  // the touch drifts
        centre += Int64.random(in: -200...200, using: &rng)
        let d = Int64.random(in: 0...5, using: &rng)
        tick = side == .bid ? centre - 1 - d : centre + d
      case 960..<990:  // a crossing update, left for the caller to see
        tick = centre + Int64.random(in: -20...20, using: &rng)
      case 990..<998:  // a jump far outside the window
        centre += Int64.random(in: -1_000_000...1_000_000, using: &rng)
        tick = side == .bid ? centre - 1 : centre
      default:  // clear everything
        book.clear()
        ref = ReferenceBook()
        continue
      }
      let ok = book.update(side, tick: tick, quantity: qty)
      ref.update(side, tick, qty)
      #expect(ok, "overflow full at step \(step)")
      // After every step: bests, counts, top-8 of both sides.
      for s in Side.allCases {
        #expect(book.best(s) == ref.best(s), "seed \(seed) step \(step) best \(s)")
        #expect(book.count(s) == ref.sides[Int(s.rawValue)].count, "seed \(seed) step \(step) count \(s)")
        let n = scratch.withUnsafeMutableBufferPointer { book.depth(s, into: $0) }
        let want = Array(ref.levels(s).prefix(8))
        #expect(Array(scratch[0..<n]) == want, "seed \(seed) step \(step) depth \(s)")
      }
      #expect(book.quantity(side, at: tick) == qty)
      if step % 500 == 0 {
        book.checkInvariants()
        for s in Side.allCases {
          #expect(book.levels(s) == ref.levels(s), "seed \(seed) step \(step) full \(s)")
        }
      }
    }
    book.checkInvariants()
    for s in Side.allCases { #expect(book.levels(s) == ref.levels(s)) }
    #expect(book.recentreCount > 10, "the test must exercise re-centring")
    #expect(book.isExact)
  }

  @Test func queriesMatchReferenceWalks() {
    var rng = SplitMix64(seed: 99)
    let book = LadderBook(instrument: spot, windowTicks: 4096, overflowCapacity: 4096, centreTick: 50_000)
    var ref = ReferenceBook()
    for _ in 0..<3000 {
      let side: Side = Bool.random(using: &rng) ? .bid : .ask
      let d = Int64.random(in: 0...9000, using: &rng)
      let tick = side == .bid ? 50_000 - 1 - d : 50_000 + d
      let q = Int64.random(in: 0...500, using: &rng)
      #expect(book.update(side, tick: tick, quantity: q))
      ref.update(side, tick, q)
    }
    for side in Side.allCases {
      let levels = ref.levels(side)
      for volume in [1, 100, 5_000, 100_000, 10_000_000] as [Int64] {
        var remaining = volume
        var notional: Int128 = 0
        var worst: Int64? = nil
        for lv in levels where remaining > 0 {
          let take = min(lv.quantity, remaining)
          remaining -= take
          notional += Int128(lv.tick) * Int128(take)
          worst = lv.tick
        }
        let w = book.walk(side, volume: volume)
        #expect(w.worstTick == worst && w.notional == notional && w.complete == (remaining == 0))
        #expect(w.quantity == volume - remaining)
      }
      for limit in [49_000, 49_990, 50_000, 50_010, 51_000, 60_000] as [Int64] {
        let inside = levels.filter { side == .bid ? $0.tick >= limit : $0.tick <= limit }
        let v = book.volume(side, upTo: limit)
        #expect(v.quantity == inside.reduce(0) { $0 + $1.quantity })
        #expect(v.notional == inside.reduce(Int128(0)) { $0 + Int128($1.tick) * Int128($1.quantity) })
      }
    }
    let bb = ref.best(.bid)!.tick
    let ba = ref.best(.ask)!.tick
    #expect(book.spreadTicks == ba - bb)
    #expect(book.midTicksTimesTwo == ba + bb)
    #expect(!book.isCrossed)
  }

  @Test func crossedBookIsReported() {
    let book = LadderBook(instrument: spot, centreTick: 100)
    book.update(.bid, tick: 100, quantity: 5)
    book.update(.ask, tick: 101, quantity: 5)
    #expect(!book.isCrossed)
    book.update(.ask, tick: 100, quantity: 1)
    #expect(book.isCrossed)
    #expect(book.spreadTicks == 0)
  }

  @Test func overflowFullIsReportedNeverDropped() {
    let book = LadderBook(instrument: spot, windowTicks: 4096, overflowCapacity: 4, centreTick: 0)
    book.update(.bid, tick: 0, quantity: 1)
    for i in 0..<4 { #expect(book.update(.bid, tick: -100_000 - Int64(i), quantity: 1)) }
    #expect(book.isExact)
    #expect(!book.update(.bid, tick: -200_000, quantity: 1))
    #expect(!book.isExact)
    #expect(book.quantity(.bid, at: -200_000) == 0)
    #expect(book.count(.bid) == 5)
    // Updating a level already held still works, and clear() restores exactness.
    #expect(book.update(.bid, tick: -100_000, quantity: 7))
    book.clear()
    #expect(book.isExact && book.count(.bid) == 0)
  }

  @Test func absentDeletesAreCounted() {
    let book = LadderBook(instrument: spot, centreTick: 0)
    book.update(.ask, tick: 5, quantity: 0)
    book.update(.ask, tick: 10_000_000, quantity: 0)
    #expect(book.absentDeleteCount == 2)
    #expect(book.count(.ask) == 0 && book.bestAsk == nil)
  }
}
