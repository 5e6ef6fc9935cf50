import FastBook
import TestSupport
import Testing

@Suite struct FixedPointTests {
  @Test func parsesExactlyWithTrailingZeros() throws {
    #expect(try FixedPoint.parse("61837.63000000", scale: 2) == 6_183_763)
    #expect(try FixedPoint.parse("0.00009000", scale: 5) == 9)
    #expect(try FixedPoint.parse("1001", scale: 0) == 1001)
    #expect(try FixedPoint.parse("61773.6", scale: 1) == 617_736)
    #expect(try FixedPoint.parse("5", scale: 8) == 500_000_000)
    #expect(try FixedPoint.parse(".5", scale: 1) == 5)
    #expect(try FixedPoint.parse("5.", scale: 1) == 50)
    #expect(try FixedPoint.parse("-0.01", scale: 2) == -1)
    #expect(try FixedPoint.parse("0.00000000", scale: 8) == 0)
  }

  @Test func neverRounds() {
    #expect(throws: FixedPointError.tooPrecise) { try FixedPoint.parse("61837.635", scale: 2) }
    #expect(throws: FixedPointError.tooPrecise) { try FixedPoint.parse("0.000000001", scale: 8) }
  }

  @Test func rejectsMalformed() {
    for s in ["", "-", ".", "1.2.3", "1e5", "abc", " 1", "1 ", "--1", "+"] {
      #expect(throws: FixedPointError.malformed, "\(s)") { try FixedPoint.parse(s, scale: 2) }
    }
  }

  @Test func detectsOverflowAtTheEdges() throws {
    #expect(try FixedPoint.parse("9223372036854775807", scale: 0) == Int64.max)
    #expect(try FixedPoint.parse("-9223372036854775808", scale: 0) == Int64.min)
    #expect(throws: FixedPointError.overflow) { try FixedPoint.parse("9223372036854775808", scale: 0) }
    #expect(throws: FixedPointError.overflow) { try FixedPoint.parse("92233720368.54775808", scale: 8) }
    #expect(throws: FixedPointError.overflow) { try FixedPoint.parse("100000000000", scale: 8) }
    #expect(throws: FixedPointError.scaleOutOfRange(19)) { try FixedPoint.parse("1", scale: 19) }
  }

  @Test func formatRoundTrips() throws {
    var rng = SplitMix64(seed: 7)
    for _ in 0..<20_000 {
      let scale = Int.random(in: 0...12, using: &rng)
      let raw = Int64.random(in: -1_000_000_000_000...1_000_000_000_000, using: &rng)
      let s = FixedPoint.format(raw, scale: scale)
      #expect(try FixedPoint.parse(s, scale: scale) == raw)
    }
    #expect(FixedPoint.format(6_183_763, scale: 2) == "61837.63")
    #expect(FixedPoint.format(-1, scale: 3) == "-0.001")
    #expect(FixedPoint.format(Int64.min, scale: 8) == "-92233720368.54775808")
  }

  /// One parser and one writer for every width: `Int128` raws (balances in 10⁻⁸ units) follow
  /// the same rules, keep the sign of values above -1, and reach both ends of the type.
  @Test func wideRawsParseAndWriteWithTheSameRules() throws {
    #expect(try FixedPoint.parse("-0.5", scale: 8, as: Int128.self) == -50_000_000)
    #expect(try FixedPoint.parse("-1.5", scale: 8, as: Int128.self) == -150_000_000)
    #expect(try FixedPoint.parse("-0", scale: 8, as: Int128.self) == 0)
    // 10¹² SHIB at 10⁻⁸: past Int64.
    #expect(
      try FixedPoint.parse("1000000000000.00000000", scale: 8, as: Int128.self) == 100_000_000_000_000_000_000
    )
    #expect(throws: FixedPointError.overflow) { try FixedPoint.parse("1000000000000.00000000", scale: 8) }
    #expect(throws: FixedPointError.tooPrecise) {
      try FixedPoint.parse("0.000000001", scale: 8, as: Int128.self)
    }
    for s in ["", "-", "1e5", "--1", "0x10"] {
      #expect(throws: FixedPointError.malformed, "\(s)") {
        try FixedPoint.parse(s, scale: 8, as: Int128.self)
      }
    }
    #expect(FixedPoint.format(Int128.min, scale: 8) == "-1701411834604692317316873037158.84105728")
    #expect(try FixedPoint.parse(FixedPoint.format(Int128.min, scale: 8), scale: 8, as: Int128.self) == .min)
    #expect(try FixedPoint.parse(FixedPoint.format(Int128.max, scale: 0), scale: 0, as: Int128.self) == .max)
    #expect(throws: FixedPointError.overflow) {
      try FixedPoint.parse("170141183460469231731687303715884105728", scale: 0, as: Int128.self)
    }
    var rng = SplitMix64(seed: 11)
    for _ in 0..<20_000 {
      let scale = Int.random(in: 0...18, using: &rng)
      let raw =
        Int128(Int64.random(in: .min ... .max, using: &rng))
        * Int128(Int64.random(in: .min ... .max, using: &rng))
      #expect(
        try FixedPoint.parse(FixedPoint.format(raw, scale: scale), scale: scale, as: Int128.self) == raw)
    }
  }

  /// The in-place writer (what order requests are built with) for every edge, with its length,
  /// and never past `maxWidth`.
  @Test func theInPlaceWriterCoversEveryValue() {
    func written(_ raw: Int64, _ scale: Int) -> String {
      var buf = [UInt8](repeating: 0xFF, count: 64)
      let n = buf.withUnsafeMutableBytes { FixedPoint.write(raw, scale: scale, into: $0.baseAddress!) }
      #expect(n <= FixedPoint.maxWidth(Int64.self) + scale && buf[n] == 0xFF)
      return String(decoding: buf[0..<n], as: UTF8.self)
    }
    #expect(written(0, 0) == "0" && written(0, 3) == "0.000" && written(5, 2) == "0.05")
    #expect(written(-50, 2) == "-0.50" && written(12_345, 2) == "123.45")
    #expect(written(Int64.min, 0) == "-9223372036854775808")
    #expect(written(Int64.min, 18) == "-9.223372036854775808")
    #expect(written(Int64.max, 18) == "9.223372036854775807")
    #expect(written(1, 18) == "0.000000000000000001")
  }

  @Test func quantityRejectsNegative() {
    #expect(throws: FixedPointError.negative) { try Quantity("-1", scale: 2) }
  }

  @Test func instrumentDerivesScalesAndTicks() throws {
    let spot = try Instrument(symbol: "BTCUSDT", tickSize: "0.01000000", lotSize: "0.00001000")
    #expect(spot.priceScale == 2 && spot.quantityScale == 5 && spot.tickSize == 1 && spot.lotSize == 1)
    #expect(try spot.parseTick("61837.63000000") == 6_183_763)
    let usdm = try Instrument(symbol: "BTCUSDT", tickSize: "0.10", lotSize: "0.001", priceScale: 2)
    #expect(usdm.tickSize == 10)
    #expect(try usdm.parseTick("61800.20") == 618_002)
    #expect(throws: FixedPointError.offTick) { try usdm.parseTick("61800.25") }
    #expect(usdm.formatTick(618_002) == "61800.20")
    let half = try Instrument(symbol: "X", tickSize: "0.5", lotSize: "1")
    #expect(half.priceScale == 1 && half.tickSize == 5)
    #expect(try half.parseTick("10.5") == 21)
    #expect(throws: FixedPointError.malformed) { try Instrument(symbol: "X", tickSize: "abc", lotSize: "1") }
    #expect(throws: FixedPointError.negative) { try Instrument(symbol: "X", tickSize: "0", lotSize: "1") }
  }
}
