import Engine
import Foundation
import Testing

@Suite struct ClientIDCodecTests {
  func tag(_ c: ClientIDCodec, _ s: String) -> UInt64? {
    var s = s
    return s.withUTF8 { c.tag(of: UnsafeRawBufferPointer($0)) }
  }

  /// The production spelling on Binance: every tag, the largest included, makes an id within the
  /// venue's 36 characters and its alphabet, and reads back to the same tag.
  @Test func binanceIdsRoundTripWithinTheVenuesRules() throws {
    let c = try ClientIDCodec.binance(prefix: "nt5eed7e57-")
    var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
    var tags: [UInt64] = [0, 1, 9, 10, 99_999, 100_000, 100_001, 40_000_000_000, .max - 1, .max]
    for _ in 0..<10_000 {
      rng ^= rng << 13
      rng ^= rng >> 7
      rng ^= rng << 17
      tags.append(rng >> (rng % 64))
    }
    let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/-".utf8)
    for t in tags {
      let id = c.id(tag: t)
      #expect(id.value == "nt5eed7e57-\(t)")
      #expect(id.count <= 36 && id.value.utf8.allSatisfy(allowed.contains))
      #expect(c.tag(of: id) == t)
    }
    #expect(c.maxLength == 31)
  }

  /// Ids the codec did not write are not ours: another prefix, a leading zero, a non-digit, a
  /// tag past UInt64, nothing after the prefix.
  @Test func foreignIdsHaveNoTag() throws {
    let c = try ClientIDCodec.binance(prefix: "nt01-")
    #expect(tag(c, "nt01-42") == 42)
    #expect(tag(c, "nt01-0") == 0)
    for s in [
      "nt02-42", "nt01-042", "nt01-4x2", "nt01-", "nt01", "web_abc123", "nt01-18446744073709551616",
      "NT01-42", "",
    ] {
      #expect(tag(c, s) == nil, "\(s)")
    }
  }

  /// A prefix the venue would refuse is refused when the codec is made, with the reason.
  @Test func badPrefixesAreRefusedUpFront() {
    #expect(throws: ClientIDCodec.Invalid.self) { try ClientIDCodec.binance(prefix: "nt 01-") }
    #expect(throws: ClientIDCodec.Invalid.self) { try ClientIDCodec.binance(prefix: "nt+01-") }
    // 17 characters and a 20-digit tag make 37: one too many for Binance.
    #expect(throws: ClientIDCodec.Invalid.self) { try ClientIDCodec.binance(prefix: "abcdefghijklmnopq") }
    #expect(throws: Never.self) { try ClientIDCodec.binance(prefix: "abcdefghijklmnop") }
    #expect(throws: ClientIDCodec.Invalid.self) { try ClientIDCodec.bybit(prefix: "nt:01") }
    #expect(throws: ClientIDCodec.Invalid.self) { try ClientIDCodec.alphanumeric(prefix: "nt-01", limit: 32) }
    do {
      _ = try ClientIDCodec.binance(prefix: "nt\"01")
      Issue.record("accepted a quote")
    } catch {
      #expect("\(error)".contains("does not allow \"\"\""), "\(error)")
    }
  }

  /// A venue that takes only letters and digits: ids are the prefix and the digits, nothing else.
  @Test func alphanumericIds() throws {
    let c = try ClientIDCodec.alphanumeric(prefix: "nt5eed", limit: 32)
    for t: UInt64 in [0, 7, 123_456_789, .max] {
      let id = c.id(tag: t).value
      #expect(id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) })
      #expect(tag(c, id) == t)
    }
  }

  /// 128-bit ids in hex: "0x", the run's 64 bits, the tag's 64 bits; upper-case hex reads back the
  /// same; another run's ids and malformed values have no tag.
  @Test func hex128Ids() {
    let c = ClientIDCodec.hex128(prefix: 0x5eed_7e57_0000_00ab)
    #expect(c.id(tag: 1).value == "0x5eed7e57000000ab0000000000000001")
    #expect(c.id(tag: .max).value == "0x5eed7e57000000abffffffffffffffff")
    for t: UInt64 in [0, 1, 255, 100_001, 40_000_000_000, .max] {
      #expect(c.tag(of: c.id(tag: t)) == t)
      #expect(tag(c, c.id(tag: t).value.uppercased().replacingOccurrences(of: "0X", with: "0x")) == t)
    }
    #expect(tag(c, "0x5eed7e57000000ac0000000000000001") == nil, "another run")
    #expect(tag(c, "0x5eed7e57000000ab000000000000001") == nil, "31 digits")
    #expect(tag(c, "0x5eed7e57000000ab000000000000000g") == nil)
    #expect(tag(c, "1x5eed7e57000000ab0000000000000001") == nil)
    #expect(c.maxLength == 34)
  }
}
