/// Binance's rules for joining a REST snapshot to the diff stream.
public enum BinanceSyncRule: SequenceRule {
  /// Spot: drop diffs with u <= lastUpdateId; the first kept diff must have
  /// U <= lastUpdateId+1 <= u; then every diff must have U == previous u + 1.
  case spot
  /// USD-M / COIN-M futures: drop diffs with u < lastUpdateId; the first kept diff must have
  /// U <= lastUpdateId <= u; then every diff must have pu == previous u.
  case futures

  @inline(__always)
  public func isStale(_ d: DepthUpdate, last: Int64) -> Bool {
    self == .spot ? d.last <= last : d.last < last
  }
  @inline(__always)
  public func brackets(_ d: DepthUpdate, snapshot last: Int64) -> Bool {
    self == .spot ? (d.first <= last &+ 1 && last &+ 1 <= d.last) : (d.first <= last && last <= d.last)
  }
  @inline(__always)
  public func chains(_ d: DepthUpdate, after last: Int64) -> Bool {
    self == .spot ? d.first == last &+ 1 : d.prev == last
  }
}

/// Binance's book synchronizer (spot or futures by its rule).
public typealias BinanceBookSync<Sink: BookEventSink> = BookSync<BinanceSyncRule, Sink>
