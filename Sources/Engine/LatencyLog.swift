/// Order latency samples kept by the wire thread: the stamps each order carried plus the moment
/// its send was submitted. Pre-allocated; when full, further samples are counted, not kept.
public final class LatencyLog: @unchecked Sendable {
  public struct Sample: BitwiseCopyable, Sendable {
    public var tag: UInt64
    public var stamps: StageStamps
    /// The request encoded, signed, framed and sealed; its send queued for the kernel.
    public var queuedNs: Int64
    /// The submit syscall returned (on loopback the kernel has delivered the bytes by then).
    public var sentNs: Int64
  }
  public let capacity: Int
  public let samples: UnsafeMutablePointer<Sample>
  public private(set) var count = 0
  public private(set) var dropped = 0

  public init(capacity: Int) {
    self.capacity = capacity
    samples = .allocate(capacity: capacity)
  }
  deinit { samples.deallocate() }

  @inline(__always)
  public func record(tag: UInt64, stamps: StageStamps, queuedNs: Int64, sentNs: Int64) {
    guard count < capacity else {
      dropped &+= 1
      return
    }
    samples[count] = Sample(tag: tag, stamps: stamps, queuedNs: queuedNs, sentNs: sentNs)
    count &+= 1
  }

  public var all: UnsafeBufferPointer<Sample> { UnsafeBufferPointer(start: samples, count: count) }
}
