/// A price: `raw × 10^-scale`, with the scale carried by the `Instrument`.
///
/// Eight bytes, compared and added as integers. Two prices are only comparable when they belong
/// to the same instrument; nothing in the type stops mixing scales, so hot-path code works on one
/// instrument at a time and converts at the edges with `Instrument`.
@frozen
public struct Price: Hashable, Comparable, Sendable, BitwiseCopyable {
  public var raw: Int64

  /// Trusting constructor, for raws we computed ourselves.
  @inlinable public init(raw: Int64) { self.raw = raw }

  /// Checked constructor for outside input: exact, never rounded (see `FixedPoint`).
  @inlinable
  public init(_ text: some StringProtocol, scale: Int) throws(FixedPointError) {
    self.raw = try FixedPoint.parse(text, scale: scale)
  }

  @inlinable public static func < (a: Price, b: Price) -> Bool { a.raw < b.raw }

  /// The exact decimal string at `scale`.
  public func formatted(scale: Int) -> String { FixedPoint.format(raw, scale: scale) }

  /// The value as a `Double`, for reports and config only (never the hot path).
  public func doubleValue(scale: Int) -> Double { Double(raw) / Double(FixedPoint.pow10(scale)) }
}

/// A quantity: `raw × 10^-scale`, never negative, with the scale carried by the `Instrument`.
/// A zero quantity on a book level means "delete the level", as on Binance's wire.
@frozen
public struct Quantity: Hashable, Comparable, Sendable, BitwiseCopyable {
  public var raw: Int64

  /// Trusting constructor; traps on a negative raw (a bug, not input).
  @inlinable public init(raw: Int64) {
    precondition(raw >= 0, "negative quantity")
    self.raw = raw
  }

  /// Checked constructor for outside input: exact, never rounded, never negative.
  @inlinable
  public init(_ text: some StringProtocol, scale: Int) throws(FixedPointError) {
    let r = try FixedPoint.parse(text, scale: scale)
    guard r >= 0 else { throw .negative }
    self.raw = r
  }

  @inlinable public static func < (a: Quantity, b: Quantity) -> Bool { a.raw < b.raw }
  @inlinable public static var zero: Quantity { Quantity(raw: 0) }
  @inlinable public var isZero: Bool { raw == 0 }

  public func formatted(scale: Int) -> String { FixedPoint.format(raw, scale: scale) }
  public func doubleValue(scale: Int) -> Double { Double(raw) / Double(FixedPoint.pow10(scale)) }
}
