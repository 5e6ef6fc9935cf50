import Synchronization

/// A reference price that comes from outside the strategy's own market — a custom HTTP feed, or
/// another market's ticker — written by the thread that fetches it and read by the strategy
/// thread: two words, no lock. A price older than the reader's limit reads as none, so a strategy
/// never quotes around a feed that has gone quiet.
public final class ExternalPrice: Sendable, Equatable {
  let bits = Atomic<UInt64>(0)
  let atNs = Atomic<Int64>(0)

  public init() {}

  /// Sets the price (a price raw of the strategy's instrument, fractional allowed) as of `now`.
  public func set(priceRaw: Double, now: Int64) {
    bits.store(priceRaw.bitPattern, ordering: .relaxed)
    atNs.store(now, ordering: .releasing)
  }

  /// The price when one was set within `maxAgeNs` of `now`, else nil.
  public func read(now: Int64, maxAgeNs: Int64) -> Double? {
    let at = atNs.load(ordering: .acquiring)
    guard at > 0, now - at <= maxAgeNs else { return nil }
    let p = Double(bitPattern: bits.load(ordering: .relaxed))
    return p > 0 ? p : nil
  }

  /// When the price was last set (0: never).
  public var updatedNs: Int64 { atNs.load(ordering: .acquiring) }

  public static func == (a: ExternalPrice, b: ExternalPrice) -> Bool { a === b }
}
