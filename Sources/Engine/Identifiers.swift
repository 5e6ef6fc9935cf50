/// Client order ids are ours (sent as newClientOrderId); venue order ids are the exchange's.
///
/// Held inline: up to `capacity` bytes of ASCII in eight words and a length, never on the heap,
/// so making, hashing and comparing one allocates nothing however long the id is (a `String`
/// past 15 bytes would: the production ids, "nt" + 8 hex + "-" + tag, are 16 bytes and more once
/// the tag passes 10,000). Venues cap their ids well below it (Binance 36 characters, Bybit 36,
/// a 128-bit id in hex is 32); a longer text (only ever a foreign id) keeps its first
/// `capacity` bytes.
public struct ClientOrderID: Hashable, Sendable, BitwiseCopyable, CustomStringConvertible {
  public static let capacity = 64
  @usableFromInline var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (
    0, 0, 0, 0, 0, 0, 0, 0
  )
  public private(set) var count: UInt8 = 0

  public init(_ value: String) {
    var v = value
    v.withUTF8 { set(UnsafeRawBufferPointer($0)) }
  }

  /// The id whose bytes these are (a venue's answer read in place).
  public init(bytes: UnsafeRawBufferPointer) { set(bytes) }

  /// `prefix` then `tag` in decimal, written in place.
  public init(prefix: UnsafeRawBufferPointer, tag: UInt64) {
    var digits = 1
    var x = tag
    while x >= 10 {
      x /= 10
      digits += 1
    }
    let n = min(prefix.count, Self.capacity - digits)
    withUnsafeMutableBytes(of: &words) { w in
      if n > 0 { w.baseAddress!.copyMemory(from: prefix.baseAddress!, byteCount: n) }
      var t = tag
      var i = n + digits - 1
      while i >= n {
        w[i] = UInt8(48 + t % 10)
        t /= 10
        i -= 1
      }
    }
    count = UInt8(n + digits)
  }

  mutating func set(_ bytes: UnsafeRawBufferPointer) {
    let n = min(bytes.count, Self.capacity)
    withUnsafeMutableBytes(of: &words) { w in
      if n > 0 { w.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: n) }
    }
    count = UInt8(n)
  }

  /// The id's bytes, valid during `body`.
  @inlinable
  public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try withUnsafeBytes(of: words) { try body(UnsafeRawBufferPointer(rebasing: $0[0..<Int(count)])) }
  }

  /// The tag of an id made as `prefix` + decimal tag (`init(prefix:tag:)`), from its bytes; nil
  /// for any other id (another prefix, no digits, a non-digit, a tag past UInt64).
  public static func tag(of id: UnsafeRawBufferPointer, prefix: [UInt8]) -> UInt64? {
    let n = prefix.count
    guard id.count > n, id.count <= n + 20, id.starts(with: prefix) else { return nil }
    var t: UInt64 = 0
    for c in id[n...] {
      guard c >= 48, c <= 57 else { return nil }
      let (m, o1) = t.multipliedReportingOverflow(by: 10)
      let (a, o2) = m.addingReportingOverflow(UInt64(c - 48))
      if o1 || o2 { return nil }
      t = a
    }
    return t
  }

  /// The id as text (allocates past 15 bytes: for requests built off the hot path, logs, files).
  public var value: String { withBytes { String(decoding: $0, as: UTF8.self) } }
  public var description: String { value }

  @inlinable
  public static func == (a: ClientOrderID, b: ClientOrderID) -> Bool {
    // The bytes past `count` are always zero, so the words compare the ids.
    a.count == b.count && a.words.0 == b.words.0 && a.words.1 == b.words.1 && a.words.2 == b.words.2
      && a.words.3 == b.words.3 && a.words.4 == b.words.4 && a.words.5 == b.words.5
      && a.words.6 == b.words.6 && a.words.7 == b.words.7
  }

  @inlinable
  public func hash(into h: inout Hasher) {
    // Only the words the id uses.
    let used = (Int(count) + 7) / 8
    withUnsafeBytes(of: words) { h.combine(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<(used * 8)])) }
    h.combine(count)
  }
}

public struct VenueOrderID: Hashable, Sendable, CustomStringConvertible {
  public var value: Int64
  public init(_ value: Int64) { self.value = value }
  public var description: String { String(value) }
}

public enum TradeSide: Sendable, Hashable, BitwiseCopyable { case buy, sell }
