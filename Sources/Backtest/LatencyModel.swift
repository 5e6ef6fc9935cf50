import Engine

/// How long an order takes in a backtest: to reach the exchange (entry) and for the exchange's
/// answer to come back (response).
public enum LatencyModel: Sendable {
  /// The same every time.
  case constant(entryNs: Int64, responseNs: Int64)
  /// Interpolated from recorded round trips (a live run's, `needletail history --export-latency`).
  case recorded(RecordedLatency)

  @inline(__always)
  func entry(at t: Int64) -> Int64 {
    switch self {
    case .constant(let e, _): return e
    case .recorded(let r): return r.entry(at: t)
    }
  }

  @inline(__always)
  func response(at t: Int64) -> Int64 {
    switch self {
    case .constant(_, let r): return r
    case .recorded(let r): return r.response(at: t)
    }
  }
}

/// Latency from recorded (request sent, exchange event, answer received) times, as hftbacktest's
/// interpolated order latency: the entry latency at a request sent at `t` is `exchange − request`
/// interpolated linearly between the recorded requests around `t`; the response latency at an
/// exchange event at `t`, `response − exchange` between the recorded events around `t`. Before
/// the first and after the last recorded time it holds the end's value.
///
/// Recorded on another day than the data (the usual case: last week's live run, yesterday's
/// capture), the record is laid on the backtest from its start (`alignedTo`) and repeated for as
/// long as the backtest runs past its length, so a busy hour's spikes stay where they were in it.
/// A negative difference (the venue's clock behind ours) counts as 0 (`negative` counts them).
public struct RecordedLatency: Sendable {
  let requestAt: [Int64]
  let entries: [Int64]
  let exchangeAt: [Int64]
  let responses: [Int64]
  /// Added to a backtest time to find the recorded time (0: the record covers the data's times).
  public let offsetNs: Int64
  /// The record's length, after which it repeats (0: it does not).
  public let spanNs: Int64
  public let count: Int
  public let negative: Int

  /// `trips` recorded; `startNs` and `endNs` the backtest's. A record that covers them is used
  /// on its own times; otherwise it starts at `startNs` and repeats.
  public init?(_ trips: [OrderRoundTrip], startNs: Int64, endNs: Int64) {
    let t = trips.filter { $0.requestNs > 0 && $0.exchangeNs > 0 && $0.responseNs > 0 }
    guard !t.isEmpty else { return nil }
    var negative = 0
    let byRequest = t.sorted { $0.requestNs < $1.requestNs }
    requestAt = byRequest.map(\.requestNs)
    entries = byRequest.map {
      let d = $0.exchangeNs - $0.requestNs
      if d < 0 { negative += 1 }
      return max(0, d)
    }
    let byExchange = t.sorted { $0.exchangeNs < $1.exchangeNs }
    exchangeAt = byExchange.map(\.exchangeNs)
    responses = byExchange.map {
      let d = $0.responseNs - $0.exchangeNs
      if d < 0 { negative += 1 }
      return max(0, d)
    }
    self.negative = negative
    count = t.count
    let first = requestAt.first!
    let last = requestAt.last!
    if first <= startNs && endNs <= last {
      offsetNs = 0
      spanNs = 0
    } else {
      offsetNs = first - startNs
      spanNs = max(1, last - first)
    }
  }

  @inline(__always)
  func recorded(_ t: Int64) -> Int64 {
    guard spanNs > 0 else { return t &+ offsetNs }
    let first = requestAt[0]
    let into = (t &+ offsetNs) &- first
    return first &+ (into >= 0 ? into % spanNs : 0)
  }

  public func entry(at t: Int64) -> Int64 { Self.interpolate(requestAt, entries, at: recorded(t)) }
  public func response(at t: Int64) -> Int64 { Self.interpolate(exchangeAt, responses, at: recorded(t)) }

  /// `ys` at `x` by linear interpolation over the sorted `xs` (held at the ends).
  static func interpolate(_ xs: [Int64], _ ys: [Int64], at x: Int64) -> Int64 {
    if x <= xs[0] { return ys[0] }
    if x >= xs[xs.count - 1] { return ys[ys.count - 1] }
    var lo = 0
    var hi = xs.count - 1
    while hi - lo > 1 {
      let mid = (lo + hi) / 2
      if xs[mid] <= x { lo = mid } else { hi = mid }
    }
    let x0 = xs[lo]
    let x1 = xs[hi]
    if x1 == x0 { return ys[hi] }
    let f = Double(x - x0) / Double(x1 - x0)
    return ys[lo] + Int64((Double(ys[hi] - ys[lo]) * f).rounded())
  }

  /// The median entry and response latencies (ns).
  public var medians: (entry: Int64, response: Int64) {
    (entries.sorted()[entries.count / 2], responses.sorted()[responses.count / 2])
  }
}
