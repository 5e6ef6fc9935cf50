/// Exact conversion between decimal strings and fixed-point `Int64` raws.
///
/// A fixed-point value is `raw × 10^-scale`. The scale belongs to the instrument (DESIGN.md:
/// prices and quantities are `Int64` with a per-instrument scale), so the value types stay
/// eight bytes and the hot path does integer arithmetic only.
///
/// Policy for outside input (wire, config): nothing is ever rounded.
/// - Digits past `scale` are accepted only when they are zeros (`"61837.63000000"` at scale 2
///   is exactly 6183763); a non-zero digit there is `FixedPointError.tooPrecise`.
/// - A value whose raw does not fit in `Int64` is `FixedPointError.overflow`.
/// - Empty input, a stray character, a lone sign or dot, or an exponent is `.malformed`.
/// The same rules are implemented in C for the decoders (`nt_parse_fixed` in CSimdJSON) and the
/// two are tested against each other.
public enum FixedPoint {
  /// The largest scale supported: 10^18 is the largest power of ten in `Int64`.
  public static let maxScale = 18

  /// `10^n` for n in 0...18.
  @inlinable
  public static func pow10(_ n: Int) -> Int64 {
    precondition(n >= 0 && n <= maxScale, "scale out of range")
    var r: Int64 = 1
    for _ in 0..<n { r &*= 10 }
    return r
  }

  /// Parses a decimal string (`-?digits[.digits]`) into a raw at `scale`.
  public static func parse(_ text: some StringProtocol, scale: Int) throws(FixedPointError) -> Int64 {
    var utf8 = Array(text.utf8)
    return try utf8.withUnsafeMutableBufferPointer { (buf) throws(FixedPointError) -> Int64 in
      try parse(UnsafeBufferPointer(buf), scale: scale)
    }
  }

  /// Parses ASCII bytes; see the type's documentation for the rules.
  public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, scale: Int) throws(FixedPointError)
    -> Int64
  {
    guard scale >= 0 && scale <= maxScale else { throw .scaleOutOfRange(scale) }
    var i = 0
    let n = bytes.count
    var negative = false
    if i < n && (bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+")) {
      negative = bytes[i] == UInt8(ascii: "-")
      i += 1
    }
    var magnitude: UInt64 = 0
    var digits = 0
    var fractionDigits = 0
    var seenDot = false
    // Accumulate as a negative-capable magnitude: the limit is Int64.max, or Int64.max + 1
    // for a negative value.
    let limit: UInt64 = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
    while i < n {
      let c = bytes[i]
      if c == UInt8(ascii: ".") {
        if seenDot { throw .malformed }
        seenDot = true
        i += 1
        continue
      }
      guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { throw .malformed }
      let d = UInt64(c &- UInt8(ascii: "0"))
      digits += 1
      if seenDot {
        if fractionDigits == scale {
          if d != 0 { throw .tooPrecise }
          i += 1
          continue
        }
        fractionDigits += 1
      }
      let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
      let (m2, o2) = m.addingReportingOverflow(d)
      if o1 || o2 || m2 > limit { throw .overflow }
      magnitude = m2
      i += 1
    }
    if digits == 0 { throw .malformed }
    // Scale up the fraction digits that were not written.
    var k = fractionDigits
    while k < scale {
      let (m, o) = magnitude.multipliedReportingOverflow(by: 10)
      if o || m > limit { throw .overflow }
      magnitude = m
      k += 1
    }
    if negative {
      return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
    }
    return Int64(magnitude)
  }

  /// Formats a raw at `scale` with exactly `scale` fraction digits (`6183763` at 2 → `"61837.63"`).
  public static func format(_ raw: Int64, scale: Int) -> String {
    precondition(scale >= 0 && scale <= maxScale, "scale out of range")
    let negative = raw < 0
    let magnitude = raw.magnitude
    if scale == 0 { return (negative ? "-" : "") + String(magnitude) }
    let p = UInt64(pow10(scale))
    let whole = magnitude / p
    var frac = String(magnitude % p)
    if frac.count < scale { frac = String(repeating: "0", count: scale - frac.count) + frac }
    return (negative ? "-" : "") + String(whole) + "." + frac
  }

  /// Number of significant fraction digits in a decimal string ("0.01000000" → 2, "5" → 0).
  /// Used to derive an instrument's scale from its tick or lot size. Returns nil when malformed.
  public static func significantDecimals(_ text: some StringProtocol) -> Int? {
    guard let dot = text.firstIndex(of: ".") else {
      return text.allSatisfy(\.isASCIIDigit) && !text.isEmpty ? 0 : nil
    }
    let frac = text[text.index(after: dot)...]
    guard frac.allSatisfy(\.isASCIIDigit) else { return nil }
    var count = frac.count
    for c in frac.reversed() {
      if c == "0" { count -= 1 } else { break }
    }
    return count
  }
}

extension Character {
  @usableFromInline var isASCIIDigit: Bool { isASCII && isNumber }
}

/// Why a decimal string could not become a fixed-point value. Never rounded: see `FixedPoint`.
public enum FixedPointError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Not `-?digits[.digits]`.
  case malformed
  /// A non-zero digit past the instrument's scale.
  case tooPrecise
  /// The raw value does not fit in `Int64`.
  case overflow
  /// The scale itself is outside 0...18.
  case scaleOutOfRange(Int)
  /// A value that must not be negative was.
  case negative
  /// A price that is not a whole number of ticks.
  case offTick

  public var description: String {
    switch self {
    case .malformed: "not a decimal number"
    case .tooPrecise: "more decimals than the instrument's scale allows (never rounded)"
    case .overflow: "value does not fit in a 64-bit fixed-point integer"
    case .scaleOutOfRange(let s): "scale \(s) outside 0...\(FixedPoint.maxScale)"
    case .negative: "value must not be negative"
    case .offTick: "price is not a multiple of the tick size"
    }
  }
}
