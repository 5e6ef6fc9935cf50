import CPlatform

/// Where the engine's time comes from: the one place a clock is read. Live, the machine's clocks;
/// in a backtest, the data's time, so the same runtime, host, strategies, tracker, rate limits
/// and Clock run on recorded timestamps without knowing it.
///
/// Two readings, because they answer different questions:
/// - `nowNs` orders events and measures intervals (the Clock, timeouts, ages, latency stamps).
///   Live it is CLOCK_MONOTONIC: it never jumps when the wall clock is stepped.
/// - `wallNs` is Unix time, for what is defined in calendar terms: a venue's request timestamps,
///   a strategy's trading hours, the history's times.
///
/// Class-bound, so holding one costs a reference and reading it one indirect call — no
/// allocation, no lock. The strategy thread and the wire thread may each hold the same live
/// source; a simulated source belongs to the one thread that advances it.
public protocol TimeSource: AnyObject {
  /// Monotonic nanoseconds (an arbitrary origin live; the data's time in a backtest).
  var nowNs: Int64 { get }
  /// Nanoseconds since the Unix epoch.
  var wallNs: Int64 { get }
}

extension TimeSource {
  /// Unix milliseconds (venue request timestamps).
  @inline(__always)
  public var wallMs: Int64 { wallNs / 1_000_000 }
  /// The wall time of a monotonic reading taken from this source.
  @inline(__always)
  public func wall(ofNow ns: Int64) -> Int64 { ns &+ (wallNs &- nowNs) }
}

/// The machine's clocks (CLOCK_MONOTONIC and CLOCK_REALTIME through the vDSO: no syscall).
/// Stateless: `LiveTime.shared` serves every thread.
public final class LiveTime: TimeSource, @unchecked Sendable {
  public static let shared = LiveTime()
  public init() {}
  @inline(__always)
  public var nowNs: Int64 { cplat_now_ns() }
  @inline(__always)
  public var wallNs: Int64 { cplat_wall_ns() }
}

/// Time that moves only when told: a backtest advances it to each record's timestamp, a test to
/// whatever it checks. Both readings are the same Unix time, so a strategy's hours and a
/// history's times are the data's. It never goes back: an earlier time is ignored and counted
/// (`backwards`), because a capture's out-of-order timestamp must not run the Clock backwards.
public final class SimulatedTime: TimeSource {
  public private(set) var ns: Int64
  /// Times refused because they were earlier than the current one.
  public private(set) var backwards = 0

  /// Starts at `startNs` (Unix ns).
  public init(startNs: Int64 = 0) { ns = startNs }

  @inline(__always)
  public var nowNs: Int64 { ns }
  @inline(__always)
  public var wallNs: Int64 { ns }

  /// Moves to `t` if it is not earlier than now.
  public func advance(to t: Int64) {
    if t >= ns { ns = t } else { backwards &+= 1 }
  }

  /// Moves forward by `d` nanoseconds (negative: ignored and counted).
  public func advance(by d: Int64) { advance(to: ns &+ d) }
}
