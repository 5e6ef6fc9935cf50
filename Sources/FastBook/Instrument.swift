/// What the hot path needs to know about a tradable instrument: its scales, tick and lot, and
/// the mapping between prices and tick indices used by `LadderBook`.
///
/// Scales are derived from the tick and lot sizes (a tick of "0.01" gives price scale 2) unless
/// given. Instruments are mapped to small integers (`InstrumentIndex`) at start-up; the hot path
/// indexes, it does not hash symbols.
public struct Instrument: Sendable, Hashable {
  public let symbol: String
  /// Decimal places of a price raw.
  public let priceScale: Int
  /// Decimal places of a quantity raw.
  public let quantityScale: Int
  /// The price increment, as a raw at `priceScale` (> 0).
  public let tickSize: Int64
  /// The quantity increment, as a raw at `quantityScale` (> 0).
  public let lotSize: Int64

  /// Trusting constructor for values we built ourselves.
  public init(symbol: String, priceScale: Int, quantityScale: Int, tickSize: Int64, lotSize: Int64) {
    precondition(priceScale >= 0 && priceScale <= FixedPoint.maxScale)
    precondition(quantityScale >= 0 && quantityScale <= FixedPoint.maxScale)
    precondition(tickSize > 0 && lotSize > 0)
    self.symbol = symbol
    self.priceScale = priceScale
    self.quantityScale = quantityScale
    self.tickSize = tickSize
    self.lotSize = lotSize
  }

  /// Checked constructor from exchange strings (`tickSize: "0.01000000"`, `stepSize: "0.00001000"`).
  /// Scales default to the significant decimals of the tick and lot; larger scales may be asked for.
  public init(
    symbol: String, tickSize: String, lotSize: String, priceScale: Int? = nil, quantityScale: Int? = nil
  ) throws(FixedPointError) {
    guard let pd = FixedPoint.significantDecimals(tickSize),
      let qd = FixedPoint.significantDecimals(lotSize)
    else { throw .malformed }
    let ps = priceScale ?? pd
    let qs = quantityScale ?? qd
    guard ps <= FixedPoint.maxScale else { throw .scaleOutOfRange(ps) }
    guard qs <= FixedPoint.maxScale else { throw .scaleOutOfRange(qs) }
    let t = try FixedPoint.parse(tickSize, scale: ps)
    let l = try FixedPoint.parse(lotSize, scale: qs)
    guard t > 0, l > 0 else { throw .negative }
    self.init(symbol: symbol, priceScale: ps, quantityScale: qs, tickSize: t, lotSize: l)
  }

  /// Tick index of a price we know lies on the grid (trusting; traps in debug if off-tick).
  @inlinable
  public func tick(of price: Price) -> Int64 {
    if tickSize == 1 { return price.raw }
    assert(price.raw % tickSize == 0, "price off the tick grid")
    return price.raw / tickSize
  }

  /// Tick index of an outside price; throws `.offTick` when it is not on the grid.
  @inlinable
  public func checkedTick(of price: Price) throws(FixedPointError) -> Int64 {
    if tickSize == 1 { return price.raw }
    let (q, r) = price.raw.quotientAndRemainder(dividingBy: tickSize)
    guard r == 0 else { throw .offTick }
    return q
  }

  /// The price at a tick index.
  @inlinable
  public func price(atTick tick: Int64) -> Price { Price(raw: tick &* tickSize) }

  /// Parses an outside price string into a tick index, exactly.
  public func parseTick(_ text: some StringProtocol) throws(FixedPointError) -> Int64 {
    try checkedTick(of: Price(text, scale: priceScale))
  }

  /// Parses an outside quantity string, exactly.
  public func parseQuantity(_ text: some StringProtocol) throws(FixedPointError) -> Quantity {
    try Quantity(text, scale: quantityScale)
  }

  public func format(_ price: Price) -> String { price.formatted(scale: priceScale) }
  public func format(_ quantity: Quantity) -> String { quantity.formatted(scale: quantityScale) }
  public func formatTick(_ tick: Int64) -> String { format(price(atTick: tick)) }
}

/// An instrument's small-integer id, assigned at start-up.
@frozen
public struct InstrumentIndex: Hashable, Sendable, BitwiseCopyable {
  public var value: UInt16
  @inlinable public init(_ value: UInt16) { self.value = value }
}
