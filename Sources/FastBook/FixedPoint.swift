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
    try parse(bytes, scale: scale, as: Int64.self)
  }

  /// Parses a decimal string into a raw of any signed width (`Int128` for balances in units of
  /// 10⁻⁸, which pass `Int64` for large holdings); same rules.
  public static func parse<T: FixedWidthInteger & SignedInteger>(
    _ text: some StringProtocol, scale: Int, as type: T.Type
  ) throws(FixedPointError) -> T {
    var utf8 = Array(text.utf8)
    return try utf8.withUnsafeMutableBufferPointer { (buf) throws(FixedPointError) -> T in
      try parse(UnsafeBufferPointer(buf), scale: scale, as: type)
    }
  }

  /// The one decimal parser (the C decoders' `nt_parse_fixed` follows the same rules and is
  /// tested against it): `[-+]?digits[.digits]` into a raw at `scale`, never rounded.
  @inlinable
  public static func parse<T: FixedWidthInteger & SignedInteger>(
    _ bytes: UnsafeBufferPointer<UInt8>, scale: Int, as _: T.Type
  ) throws(FixedPointError) -> T {
    guard scale >= 0 && scale <= maxScale else { throw .scaleOutOfRange(scale) }
    var i = 0
    let n = bytes.count
    var negative = false
    if i < n && (bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+")) {
      negative = bytes[i] == UInt8(ascii: "-")
      i += 1
    }
    var magnitude: T.Magnitude = 0
    var digits = 0
    var fractionDigits = 0
    var seenDot = false
    // The limit is T.max, or T.max + 1 (|T.min|) for a negative value.
    let limit: T.Magnitude = negative ? T.Magnitude(T.max) + 1 : T.Magnitude(T.max)
    while i < n {
      let c = bytes[i]
      if c == UInt8(ascii: ".") {
        if seenDot { throw .malformed }
        seenDot = true
        i += 1
        continue
      }
      guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") else { throw .malformed }
      let d = T.Magnitude(c &- UInt8(ascii: "0"))
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
      return magnitude == T.Magnitude(T.max) + 1 ? T.min : -T(magnitude)
    }
    return T(magnitude)
  }

  /// The most bytes `write` produces for a raw of `T` (sign, digits, dot).
  @inlinable
  public static func maxWidth<T: FixedWidthInteger & SignedInteger>(_: T.Type) -> Int {
    // Decimal digits of T.max: bitWidth · log10(2), rounded up, plus a leading zero, "-" and ".".
    T.bitWidth * 30103 / 100_000 + 1 + 3
  }

  /// The one decimal writer: `raw` at `scale` with exactly `scale` fraction digits into `out`
  /// (room for `maxWidth(T.self)` bytes), never exponent notation; every value including
  /// `T.min`. Allocates nothing. Returns the bytes written.
  @inlinable @inline(__always)
  public static func write<T: FixedWidthInteger & SignedInteger>(
    _ raw: T, scale: Int, into out: UnsafeMutableRawPointer
  ) -> Int {
    var m = raw.magnitude
    var digits = 1
    var t = m / 10
    while t > 0 {
      digits += 1
      t /= 10
    }
    let total = max(digits, scale + 1)  // at least one whole digit
    let sign = raw < 0 ? 1 : 0
    let length = sign + total + (scale > 0 ? 1 : 0)
    if sign == 1 { out.storeBytes(of: UInt8(ascii: "-"), as: UInt8.self) }
    var pos = length - 1
    for k in 0..<total {
      if scale > 0 && k == scale {
        out.storeBytes(of: UInt8(ascii: "."), toByteOffset: pos, as: UInt8.self)
        pos -= 1
      }
      out.storeBytes(of: UInt8(48 + UInt8(truncatingIfNeeded: m % 10)), toByteOffset: pos, as: UInt8.self)
      m /= 10
      pos -= 1
    }
    return length
  }

  /// Formats a raw at `scale` with exactly `scale` fraction digits (`6183763` at 2 → `"61837.63"`).
  public static func format(_ raw: Int64, scale: Int) -> String { format(raw, scale: scale, as: Int64.self) }

  /// `format` for any signed width (`Int128` balances).
  public static func format<T: FixedWidthInteger & SignedInteger>(_ raw: T, scale: Int, as _: T.Type = T.self)
    -> String
  {
    precondition(scale >= 0 && scale <= maxScale, "scale out of range")
    let width = maxWidth(T.self) + scale
    return String(unsafeUninitializedCapacity: width) { buf in
      write(raw, scale: scale, into: UnsafeMutableRawPointer(buf.baseAddress!))
    }
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

  /// Number of fraction digits written in a decimal string, trailing zeros included
  /// ("0.00001000" → 8, "5" → 0): the precision a venue writes its numbers at. Nil when malformed.
  public static func writtenDecimals(_ text: some StringProtocol) -> Int? {
    guard significantDecimals(text) != nil else { return nil }
    guard let dot = text.firstIndex(of: ".") else { return 0 }
    return text.distance(from: text.index(after: dot), to: text.endIndex)
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
