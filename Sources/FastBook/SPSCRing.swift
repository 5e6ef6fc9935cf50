import CPlatform
import Synchronization

/// A bounded single-producer single-consumer ring of fixed-size, trivially-copyable elements:
/// the only way threads talk in Needletail (DESIGN.md).
///
/// ## Layout
/// ```
///  line 0 (128 B, producer-owned):  head  — next index to write (Atomic<Int>)
///                                   cachedTail — producer's last read of `tail`
///  line 1 (128 B, consumer-owned):  tail  — next index to read (Atomic<Int>)
///                                   cachedHead — consumer's last read of `head`
///  slots:  capacity × Element,  index i lives in slot i & (capacity - 1)
/// ```
/// Indices only grow (an `Int` does not wrap in the life of a process); `head - tail` is the fill.
/// Each side keeps a plain copy of the other side's index and reloads it (acquire) only when the
/// copy says the ring looks full (producer) or empty (consumer), so in steady state a push or a
/// pop touches only its own cache line plus the slot. 128-byte separation keeps the adjacent-line
/// prefetcher from pairing the two lines (false sharing).
///
/// ## Capacity
/// A power of two fixed at init. Full: `tryPush` returns false and the caller decides (drop and
/// count, or wait with a `RingWaitStrategy`); empty: `tryPop` returns nil. No allocation after init.
///
/// Exactly one thread may push and one thread may pop; nothing checks this.
public final class SPSCRing<Element: BitwiseCopyable>: @unchecked Sendable {
  public let capacity: Int
  @usableFromInline let mask: Int
  @usableFromInline let memory: UnsafeMutableRawPointer
  @usableFromInline let head: UnsafeMutablePointer<Atomic<Int>>
  @usableFromInline let cachedTail: UnsafeMutablePointer<Int>
  @usableFromInline let tail: UnsafeMutablePointer<Atomic<Int>>
  @usableFromInline let cachedHead: UnsafeMutablePointer<Int>
  @usableFromInline let slots: UnsafeMutablePointer<Element>

  static var lineSize: Int { 128 }

  /// `capacity` must be a power of two, at least 2.
  public init(capacity: Int) {
    precondition(capacity >= 2 && capacity & (capacity - 1) == 0, "capacity must be a power of two >= 2")
    self.capacity = capacity
    mask = capacity - 1
    let line = Self.lineSize
    let align = max(line, MemoryLayout<Element>.alignment)
    memory = .allocate(byteCount: 2 * line + capacity * MemoryLayout<Element>.stride, alignment: align)
    head = memory.bindMemory(to: Atomic<Int>.self, capacity: 1)
    head.initialize(to: Atomic(0))
    cachedTail = (memory + MemoryLayout<Atomic<Int>>.stride).bindMemory(to: Int.self, capacity: 1)
    cachedTail.initialize(to: 0)
    tail = (memory + line).bindMemory(to: Atomic<Int>.self, capacity: 1)
    tail.initialize(to: Atomic(0))
    cachedHead = (memory + line + MemoryLayout<Atomic<Int>>.stride).bindMemory(to: Int.self, capacity: 1)
    cachedHead.initialize(to: 0)
    slots = (memory + 2 * line).bindMemory(to: Element.self, capacity: capacity)
  }

  deinit {
    head.deinitialize(count: 1)
    tail.deinitialize(count: 1)
    memory.deallocate()
  }

  // MARK: producer

  /// Appends one element; false when the ring is full. Producer thread only.
  @inlinable @inline(__always)
  public func tryPush(_ element: Element) -> Bool {
    // Relaxed: only this thread writes `head`.
    let h = head.pointee.load(ordering: .relaxed)
    if h &- cachedTail.pointee == capacity {
      // Acquire: the consumer's reads of the slots it released happen before we overwrite them.
      cachedTail.pointee = tail.pointee.load(ordering: .acquiring)
      if h &- cachedTail.pointee == capacity { return false }
    }
    slots[h & mask] = element
    // Release: the slot's contents are visible before the consumer can see the new head.
    head.pointee.store(h &+ 1, ordering: .releasing)
    return true
  }

  /// Appends as many of `elements` as fit, in order, published with one release; returns how many.
  @inlinable
  public func tryPush(contentsOf elements: UnsafeBufferPointer<Element>) -> Int {
    let h = head.pointee.load(ordering: .relaxed)  // own index
    var free = capacity &- (h &- cachedTail.pointee)
    if free < elements.count {
      cachedTail.pointee = tail.pointee.load(ordering: .acquiring)  // as in tryPush
      free = capacity &- (h &- cachedTail.pointee)
    }
    let n = min(free, elements.count)
    for i in 0..<n { slots[(h &+ i) & mask] = elements[i] }
    if n > 0 { head.pointee.store(h &+ n, ordering: .releasing) }  // publish all n at once
    return n
  }

  /// Free slots as the producer sees them now (acquire-reloads the consumer's index).
  public var freeCount: Int {
    let h = head.pointee.load(ordering: .relaxed)
    cachedTail.pointee = tail.pointee.load(ordering: .acquiring)
    return capacity - (h - cachedTail.pointee)
  }

  // MARK: consumer

  /// Removes the oldest element; nil when the ring is empty. Consumer thread only.
  @inlinable @inline(__always)
  public func tryPop() -> Element? {
    // Relaxed: only this thread writes `tail`.
    let t = tail.pointee.load(ordering: .relaxed)
    if t == cachedHead.pointee {
      // Acquire: pairs with the producer's release of `head`, so the slot contents are visible.
      cachedHead.pointee = head.pointee.load(ordering: .acquiring)
      if t == cachedHead.pointee { return nil }
    }
    let e = slots[t & mask]
    // Release: our read of the slot happens before the producer may reuse it.
    tail.pointee.store(t &+ 1, ordering: .releasing)
    return e
  }

  /// Removes up to `out.count` elements into `out`, releasing them with one store; returns how many.
  @inlinable
  public func tryPop(into out: UnsafeMutableBufferPointer<Element>) -> Int {
    let t = tail.pointee.load(ordering: .relaxed)  // own index
    var avail = cachedHead.pointee &- t
    if avail < out.count {
      cachedHead.pointee = head.pointee.load(ordering: .acquiring)  // as in tryPop
      avail = cachedHead.pointee &- t
    }
    let n = min(avail, out.count)
    for i in 0..<n { out[i] = slots[(t &+ i) & mask] }
    if n > 0 { tail.pointee.store(t &+ n, ordering: .releasing) }  // release all n at once
    return n
  }

  /// Hands up to `limit` elements to `body` in order, straight from the slots, and releases them
  /// with one store after the last; returns how many. `body` must not touch this ring.
  @inlinable
  public func drain(limit: Int = .max, _ body: (Element) -> Void) -> Int {
    let t = tail.pointee.load(ordering: .relaxed)  // own index
    cachedHead.pointee = head.pointee.load(ordering: .acquiring)  // see everything published
    let n = min(cachedHead.pointee &- t, limit)
    if n <= 0 { return 0 }
    for i in 0..<n { body(slots[(t &+ i) & mask]) }
    tail.pointee.store(t &+ n, ordering: .releasing)
    return n
  }

  /// Elements waiting, as the consumer sees them now.
  public var count: Int {
    let t = tail.pointee.load(ordering: .relaxed)
    cachedHead.pointee = head.pointee.load(ordering: .acquiring)
    return cachedHead.pointee - t
  }
}

/// How a thread waits on a ring that is full (producer) or empty (consumer).
///
/// - `.spin`: `pause` in a loop. Lowest latency; burns its core. Use only on a core of its own
///   (the pinned wire and strategy threads) — two spinners on one core measure the scheduler.
/// - `.yield`: `sched_yield` between tries. Gives the core to others; adds µs of wake-up.
/// - `.spinThenYield(n)`: n pauses, then yields: for threads that are usually busy.
public enum RingWaitStrategy: Sendable {
  case spin
  case yield
  case spinThenYield(Int)
}

/// Tracks one wait: call `wait()` after each failed try, `reset()` after a success.
public struct RingWaiter {
  public let strategy: RingWaitStrategy
  @usableFromInline var spins = 0
  public init(_ strategy: RingWaitStrategy) { self.strategy = strategy }

  @inlinable @inline(__always)
  public mutating func wait() {
    switch strategy {
    case .spin:
      cplat_cpu_relax()
    case .yield:
      _ = cplat_yield()
    case .spinThenYield(let n):
      if spins < n {
        spins &+= 1
        cplat_cpu_relax()
      } else {
        _ = cplat_yield()
      }
    }
  }

  @inlinable @inline(__always)
  public mutating func reset() { spins = 0 }
}

extension SPSCRing {
  /// Pushes, waiting while the ring is full.
  @inlinable
  public func push(_ element: Element, waiting strategy: RingWaitStrategy) {
    var w = RingWaiter(strategy)
    while !tryPush(element) { w.wait() }
  }

  /// Pops, waiting while the ring is empty.
  @inlinable
  public func pop(waiting strategy: RingWaitStrategy) -> Element {
    var w = RingWaiter(strategy)
    while true {
      if let e = tryPop() { return e }
      w.wait()
    }
  }
}
