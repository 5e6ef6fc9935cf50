import FastBook

/// The simulated exchange's view of the book, level by level, with hftbacktest's update rules
/// (its hash-map depth, 2.4.x) so that the best prices, and the quantities the queue models read,
/// are the ones its exchange sees:
/// - a level whose quantity rounds to 0 lots is removed; otherwise the quantity is kept as sent;
/// - removing the best level searches inward for the next one (down for bids, up for asks),
///   bounded by the lowest bid / highest ask ever seen;
/// - an update that crosses the other side only moves the other side's best price (the crossed
///   levels stay, as on the venue's feed they are about to be deleted);
/// - a clear removes a side from a price to its best (a snapshot follows it).
/// Prices are ticks; quantities `Double`s in the instrument's units.
public struct ExchangeDepth {
  public static let noBid = Int64.min
  public static let noAsk = Int64.max
  public let lot: Double
  var bids = TickMap()
  var asks = TickMap()
  public private(set) var bestBid = ExchangeDepth.noBid
  public private(set) var bestAsk = ExchangeDepth.noAsk
  var lowBid = ExchangeDepth.noAsk
  var highAsk = ExchangeDepth.noBid

  public init(lot: Double) { self.lot = lot }

  /// What an update did: the level's price, the side's best before and after, the level's
  /// quantity before and after.
  public struct Change: Equatable {
    public var tick: Int64
    public var previousBest: Int64
    public var best: Int64
    public var previousQuantity: Double
    public var quantity: Double
  }

  public func quantity(_ side: Side, at tick: Int64) -> Double {
    side == .bid ? bids[tick] : asks[tick]
  }

  public mutating func update(_ side: Side, tick: Int64, quantity: Double) -> Change {
    side == .bid ? updateBid(tick, quantity) : updateAsk(tick, quantity)
  }

  mutating func updateBid(_ t: Int64, _ q: Double) -> Change {
    let previous = bids[t]
    let before = bestBid
    if roundedLots(q / lot) == 0 {
      bids[t] = 0
      if t == bestBid {
        bestBid = below(bids, from: bestBid, to: lowBid)
        if bestBid == Self.noBid { lowBid = Self.noAsk }
      }
    } else {
      bids[t] = q
      if t > bestBid {
        bestBid = t
        if bestBid >= bestAsk { bestAsk = above(asks, from: bestBid, to: highAsk) }
      }
      lowBid = min(lowBid, t)
    }
    return Change(tick: t, previousBest: before, best: bestBid, previousQuantity: previous, quantity: q)
  }

  mutating func updateAsk(_ t: Int64, _ q: Double) -> Change {
    let previous = asks[t]
    let before = bestAsk
    if roundedLots(q / lot) == 0 {
      asks[t] = 0
      if t == bestAsk {
        bestAsk = above(asks, from: bestAsk, to: highAsk)
        if bestAsk == Self.noAsk { highAsk = Self.noBid }
      }
    } else {
      asks[t] = q
      if t < bestAsk {
        bestAsk = t
        if bestBid >= bestAsk { bestBid = below(bids, from: bestAsk, to: lowBid) }
      }
      highAsk = max(highAsk, t)
    }
    return Change(tick: t, previousBest: before, best: bestAsk, previousQuantity: previous, quantity: q)
  }

  /// Clears a side from `tick` to its best (a snapshot of that side follows); nil: both sides.
  public mutating func clear(_ side: Side?, from tick: Int64) {
    switch side {
    case nil:
      self = ExchangeDepth(lot: lot)
    case .bid?:
      if bestBid != Self.noBid, tick <= bestBid {
        for t in tick...bestBid { bids[t] = 0 }
      }
      bestBid = below(bids, from: tick &- 1, to: lowBid)
      if bestBid == Self.noBid { lowBid = Self.noAsk }
    case .ask?:
      if bestAsk != Self.noAsk, bestAsk <= tick {
        for t in bestAsk...tick { asks[t] = 0 }
      }
      bestAsk = above(asks, from: tick &+ 1, to: highAsk)
      if bestAsk == Self.noAsk { highAsk = Self.noBid }
    }
  }

  /// The first tick below `start` (exclusive) down to `end` (inclusive) with a level.
  func below(_ m: TickMap, from start: Int64, to end: Int64) -> Int64 {
    guard end != Self.noAsk, start != Self.noBid else { return Self.noBid }
    var t = start &- 1
    while t >= end {
      if m[t] > 0 { return t }
      t -= 1
    }
    return Self.noBid
  }

  /// The first tick above `start` (exclusive) up to `end` (inclusive) with a level.
  func above(_ m: TickMap, from start: Int64, to end: Int64) -> Int64 {
    guard end != Self.noBid, start != Self.noAsk else { return Self.noAsk }
    var t = start &+ 1
    while t <= end {
      if m[t] > 0 { return t }
      t += 1
    }
    return Self.noAsk
  }
}

/// Quantities by tick (0: no level): a flat window of ticks around the first one stored (a book's
/// levels cluster around its price), a dictionary for ticks outside it. Copy-on-write like any
/// array; one per side of one book.
struct TickMap {
  static let window = 1 << 17
  var base: Int64?
  var near = [Double](repeating: 0, count: TickMap.window)
  var far: [Int64: Double] = [:]

  subscript(t: Int64) -> Double {
    get {
      if let b = base {
        let i = t &- b
        if i >= 0 && i < Int64(Self.window) { return near[Int(i)] }
      }
      return far[t] ?? 0
    }
    set {
      if base == nil { base = t &- Int64(Self.window / 2) }
      let i = t &- base!
      if i >= 0 && i < Int64(Self.window) {
        near[Int(i)] = newValue
      } else {
        far[t] = newValue == 0 ? nil : newValue
      }
    }
  }
}
