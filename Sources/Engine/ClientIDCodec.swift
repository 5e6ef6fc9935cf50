/// How one venue spells our client order ids: an order's tag (the engine's number for it) to the
/// bytes sent as the client order id, and back. The only writer of client-id bytes: the host makes
/// the ids it tracks with it, and an order entry writes the same bytes into its requests and reads
/// tags back out of answers and account events with it.
///
/// Two spellings cover the venues we know:
/// - `decimal`: a prefix, then the tag in decimal ("nt5eed7e57-40000000001"). Binance spot and
///   futures allow 36 characters of `[.A-Z:/a-z0-9_-]`, Bybit 36 of letters, digits, `-` and `_`;
///   a venue that allows only letters and digits gets a prefix of letters and digits.
/// - `hex128`: a 128-bit id as "0x" and 32 lowercase hex digits, the prefix in the high 64 bits
///   and the tag in the low 64 (venues whose client ids are 128-bit values).
///
/// A codec is checked when it is made: its prefix uses only the venue's characters and the
/// longest id it can write (the prefix and a 20-digit tag) fits the venue's limit, so no tag can
/// ever produce an id the venue refuses.
public struct ClientIDCodec: Sendable, Equatable {
  public enum Format: Sendable, Equatable {
    case decimal
    case hex128(prefix: UInt64)
  }
  public let format: Format
  /// The bytes every id starts with ("0x" for `hex128`).
  public let prefix: [UInt8]
  /// The longest id this codec writes.
  public var maxLength: Int {
    switch format {
    case .decimal: prefix.count + 20
    case .hex128: 34
    }
  }

  public struct Invalid: Error, CustomStringConvertible, Equatable {
    public let description: String
  }

  /// A prefix, then the tag in decimal; `allowed` says which bytes the venue accepts in an id
  /// and `limit` how long one may be.
  public init(decimalPrefix: String, limit: Int, allowed: (UInt8) -> Bool) throws {
    let p = Array(decimalPrefix.utf8)
    if let bad = p.first(where: { !allowed($0) }) {
      throw Invalid(
        description:
          "client id prefix \"\(decimalPrefix)\": the venue does not allow \"\(String(decoding: [bad], as: UTF8.self))\" in an id"
      )
    }
    guard p.count + 20 <= min(limit, ClientOrderID.capacity) else {
      throw Invalid(
        description:
          "client id prefix \"\(decimalPrefix)\" is \(p.count) characters: with a 20-digit tag an id would pass the venue's \(limit)"
      )
    }
    format = .decimal
    prefix = p
  }

  /// Binance (spot and USD-M): `^[\.A-Z\:/a-z0-9_-]{1,36}$`.
  public static func binance(prefix: String) throws -> ClientIDCodec {
    try ClientIDCodec(decimalPrefix: prefix, limit: 36) { c in
      isAlphanumeric(c) || c == UInt8(ascii: ".") || c == UInt8(ascii: ":") || c == UInt8(ascii: "/")
        || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
    }
  }

  /// Bybit v5 `orderLinkId`: up to 36 of letters, digits, `-` and `_`.
  public static func bybit(prefix: String) throws -> ClientIDCodec {
    try ClientIDCodec(decimalPrefix: prefix, limit: 36) { c in
      isAlphanumeric(c) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
    }
  }

  /// A venue that takes only letters and digits.
  public static func alphanumeric(prefix: String, limit: Int) throws -> ClientIDCodec {
    try ClientIDCodec(decimalPrefix: prefix, limit: limit, allowed: isAlphanumeric)
  }

  /// 128-bit ids in hex: `prefix` in the high 64 bits (a run's random number), the tag in the low.
  public static func hex128(prefix: UInt64) -> ClientIDCodec { ClientIDCodec(hex: prefix) }

  private init(hex: UInt64) {
    format = .hex128(prefix: hex)
    prefix = Array("0x".utf8)
  }

  /// An unchecked decimal codec (tests, harnesses, and hosts given only a prefix): the prefix is
  /// cut so that every id fits `ClientOrderID`.
  public init(unchecked decimalPrefix: String) {
    format = .decimal
    prefix = Array(decimalPrefix.utf8.prefix(ClientOrderID.capacity - 20))
  }

  static func isAlphanumeric(_ c: UInt8) -> Bool {
    (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
  }

  static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

  /// The id of `tag`, written in place (no allocation).
  @inline(__always)
  public func id(tag: UInt64) -> ClientOrderID {
    switch format {
    case .decimal:
      return prefix.withUnsafeBytes { ClientOrderID(prefix: $0, tag: tag) }
    case .hex128(let high):
      var b: (UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0)
      return withUnsafeMutableBytes(of: &b) { w in
        w[0] = UInt8(ascii: "0")
        w[1] = UInt8(ascii: "x")
        for i in 0..<16 {
          w[2 + i] = Self.hexDigits[Int((high >> UInt64(60 - 4 * i)) & 0xF)]
          w[18 + i] = Self.hexDigits[Int((tag >> UInt64(60 - 4 * i)) & 0xF)]
        }
        return ClientOrderID(bytes: UnsafeRawBufferPointer(rebasing: w[0..<34]))
      }
    }
  }

  /// The tag of an id this codec wrote; nil for any other id (another prefix or run, a foreign
  /// order, a malformed value).
  public func tag(of id: UnsafeRawBufferPointer) -> UInt64? {
    switch format {
    case .decimal:
      // "…-007" is not an id we wrote (we write 7 as "7"): leading zeros are refused.
      if id.count > prefix.count + 1 && id[prefix.count] == UInt8(ascii: "0") { return nil }
      return ClientOrderID.tag(of: id, prefix: prefix)
    case .hex128(let high):
      guard id.count == 34, id[0] == UInt8(ascii: "0"),
        id[1] == UInt8(ascii: "x") || id[1] == UInt8(ascii: "X")
      else { return nil }
      func value(_ from: Int) -> UInt64? {
        var v: UInt64 = 0
        for i in from..<(from + 16) {
          let c = id[i]
          let d: UInt8
          switch c {
          case 48...57: d = c - 48
          case 97...102: d = c - 87
          case 65...70: d = c - 55
          default: return nil
          }
          v = v << 4 | UInt64(d)
        }
        return v
      }
      guard value(2) == high else { return nil }
      return value(18)
    }
  }

  public func tag(of id: ClientOrderID) -> UInt64? { id.withBytes { tag(of: $0) } }
}
