import CPlatform
import CRing
import Glibc

/// One io_uring per thread: submissions, completions, a provided-buffer ring for receives, and
/// timers. Everything that owns a file descriptor is a `Channel` registered in a slot table;
/// completions find their channel through the packed `user_data`.
///
/// ## user_data layout (64 bits)
/// ```
///  bits  0-31  slot index in the channel table
///  bits 32-47  slot generation: a completion for a slot that was reused since is dropped
///  bits 48-55  operation (Op)
/// ```
///
/// ## Receive buffers
/// Where the kernel has provided-buffer rings (5.19+), receives are multishot: one SQE per
/// connection, the kernel picks a buffer per completion, and the buffer goes back to the ring as
/// soon as the channel's handler returns (handlers copy what they keep). Elsewhere each
/// connection reads into its own buffer with one-shot recv.
///
/// Not thread-safe: create it, use it and run it on one thread.
public final class EventLoop {
  public enum WaitMode: Sendable {
    /// Spin on the completion queue: lowest latency, burns the core (pin the thread).
    case busyPoll
    /// Block in the kernel until a completion or the next timer.
    case block
  }

  public struct Configuration: Sendable {
    public var entries: UInt32 = 512
    public var recvBufferSize = 64 * 1024
    public var recvBufferCount: UInt32 = 256
    /// COOP_TASKRUN | TASKRUN_FLAG: completions are reaped without an interrupt per packet.
    public var cooperativeTaskRun = true
    /// Use a provided-buffer ring with multishot recv when the kernel has it.
    public var useBufferRing = true
    public init() {}
  }

  enum Op: UInt8 {
    case recv = 1
    case send = 2
    case accept = 3
    case connect = 4
    case timeout = 5
    case cancel = 6
  }

  let ring: UnsafeMutablePointer<io_uring>
  let bufRing: UnsafeMutablePointer<io_uring_buf_ring>?
  let bufPool: UnsafeMutableRawPointer?
  public let recvBufferSize: Int
  let recvBufferCount: UInt32
  static let bufferGroup: UInt16 = 1
  /// Whether receives use the provided-buffer ring (else per-connection buffers).
  public let usesBufferRing: Bool

  var channels: [Channel?] = []
  var generations: [UInt16] = []
  var freeSlots: [UInt32] = []
  var timers = TimerHeap()
  var nextTimerID: UInt64 = 1
  var cancelledTimers = Set<UInt64>()
  var closed = false
  /// Receives that found no free buffer (the ring was drained faster than handlers returned).
  public private(set) var bufferExhaustions = 0
  /// When the receive completion being handled now was reaped (CLOCK_MONOTONIC ns, one clock read
  /// per receive): a message handler's "received at", the first stage of tick-to-trade.
  public private(set) var lastRecvNs: Int64 = 0

  public init(configuration: Configuration = Configuration()) throws(WireError) {
    var err: Int32 = 0
    var flags: UInt32 = 0
    if configuration.cooperativeTaskRun { flags |= IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG }
    var r = cring_queue_new(configuration.entries, flags, &err)
    if r == nil && flags != 0 {
      r = cring_queue_new(configuration.entries, 0, &err)  // older kernels: plain setup
    }
    guard let ring = r else { throw .system(op: "io_uring_queue_init", errno: -err) }
    self.ring = ring
    recvBufferSize = configuration.recvBufferSize
    recvBufferCount = configuration.recvBufferCount
    var br: UnsafeMutablePointer<io_uring_buf_ring>? = nil
    var pool: UnsafeMutableRawPointer? = nil
    if configuration.useBufferRing {
      br = cring_setup_buf_ring(ring, configuration.recvBufferCount, Int32(Self.bufferGroup), &err)
      if let br {
        let p = UnsafeMutableRawPointer.allocate(
          byteCount: Int(configuration.recvBufferCount) * configuration.recvBufferSize, alignment: 4096)
        pool = p
        let mask = io_uring_buf_ring_mask(configuration.recvBufferCount)
        for i in 0..<Int(configuration.recvBufferCount) {
          io_uring_buf_ring_add(
            br, p + i * configuration.recvBufferSize, UInt32(configuration.recvBufferSize), UInt16(i), mask,
            Int32(i))
        }
        io_uring_buf_ring_advance(br, Int32(configuration.recvBufferCount))
      }
    }
    bufRing = br
    bufPool = pool
    usesBufferRing = br != nil
  }

  deinit { shutdown() }

  /// Closes every channel and tears the ring down. Idempotent.
  public func shutdown() {
    if closed { return }
    closed = true
    for case let ch? in channels { ch.forceClose(error: .shutdown) }
    if let br = bufRing { _ = cring_free_buf_ring(ring, br, recvBufferCount, Int32(Self.bufferGroup)) }
    bufPool?.deallocate()
    cring_queue_free(ring)
  }

  // MARK: channels

  func register(_ ch: Channel) {
    if let s = freeSlots.popLast() {
      channels[Int(s)] = ch
      ch.slot = s
    } else {
      ch.slot = UInt32(channels.count)
      channels.append(ch)
      generations.append(0)
    }
    ch.generation = generations[Int(ch.slot)]
  }

  func unregister(_ ch: Channel) {
    let s = Int(ch.slot)
    guard s < channels.count, channels[s] === ch else { return }
    channels[s] = nil
    generations[s] &+= 1
    freeSlots.append(ch.slot)
  }

  /// Open channels (for tests and shutdown checks).
  public var channelCount: Int { channels.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

  @inline(__always)
  func userData(_ ch: Channel, _ op: Op) -> UInt64 {
    UInt64(ch.slot) | UInt64(ch.generation) << 32 | UInt64(op.rawValue) << 48
  }

  /// An SQE, submitting queued ones first if the queue is full.
  @inline(__always)
  func sqe() -> UnsafeMutablePointer<io_uring_sqe> {
    if let s = io_uring_get_sqe(ring) { return s }
    io_uring_submit(ring)
    guard let s = io_uring_get_sqe(ring) else { fatalError("io_uring SQ full after submit") }
    return s
  }

  func submitRecv(_ ch: Channel, fd: Int32, buffer: UnsafeMutableRawPointer?, length: Int) {
    let s = sqe()
    if usesBufferRing {
      io_uring_prep_recv_multishot(s, fd, nil, 0, 0)
      s.pointee.flags |= CRING_IOSQE_BUFFER_SELECT
      s.pointee.buf_group = Self.bufferGroup
    } else {
      io_uring_prep_recv(s, fd, buffer, length, 0)
    }
    s.pointee.user_data = userData(ch, .recv)
  }

  func submitSend(_ ch: Channel, fd: Int32, _ p: UnsafeRawPointer, _ n: Int) {
    let s = sqe()
    io_uring_prep_send(s, fd, p, n, Int32(MSG_NOSIGNAL))
    s.pointee.user_data = userData(ch, .send)
  }

  func recycle(bufferID: UInt16) {
    guard let br = bufRing, let pool = bufPool else { return }
    io_uring_buf_ring_add(
      br, pool + Int(bufferID) * recvBufferSize, UInt32(recvBufferSize), bufferID,
      io_uring_buf_ring_mask(recvBufferCount), 0)
    io_uring_buf_ring_advance(br, 1)
  }

  // MARK: timers

  /// Runs `body` once after `nanoseconds`; returns an id for `cancelTimer`.
  @discardableResult
  public func schedule(after nanoseconds: Int64, _ body: @escaping () -> Void) -> UInt64 {
    let id = nextTimerID
    nextTimerID += 1
    timers.push(TimerHeap.Entry(deadline: cplat_now_ns() + nanoseconds, id: id, body: body))
    return id
  }

  public func cancelTimer(_ id: UInt64) {
    cancelledTimers.insert(id)
    repeating[id] = nil
  }

  final class Repeat {
    var fire: (() -> Void)?
  }
  var repeating: [UInt64: Repeat] = [:]

  /// Runs `body` every `nanoseconds` until it returns false or the timer is cancelled. The
  /// closure is made once: re-arming allocates nothing (a `schedule(after:)` chain allocates a
  /// closure per firing — keep-alives would allocate on the wire thread every interval).
  @discardableResult
  public func schedule(every nanoseconds: Int64, _ body: @escaping () -> Bool) -> UInt64 {
    let id = nextTimerID
    nextTimerID += 1
    let r = Repeat()
    repeating[id] = r
    r.fire = { [unowned self, weak r] in
      guard let r, self.repeating[id] != nil else { return }
      guard body(), let again = r.fire, self.repeating[id] != nil else {
        self.repeating[id] = nil
        return
      }
      self.timers.push(TimerHeap.Entry(deadline: cplat_now_ns() + nanoseconds, id: id, body: again))
    }
    timers.push(TimerHeap.Entry(deadline: cplat_now_ns() + nanoseconds, id: id, body: r.fire!))
    return id
  }

  func fireTimers(now: Int64) {
    while let top = timers.peek, top.deadline <= now {
      let t = timers.pop()!
      if cancelledTimers.remove(t.id) != nil { continue }
      t.body()
    }
  }

  // MARK: running

  /// Processes completions and timers until `done()` is true or `timeoutNs` passes.
  /// Returns false on timeout.
  @discardableResult
  public func run(mode: WaitMode = .block, timeoutNs: Int64 = .max, until done: () -> Bool) -> Bool {
    let end = timeoutNs == .max ? Int64.max : cplat_now_ns() + timeoutNs
    while !done() {
      let now = cplat_now_ns()
      if now >= end { return false }
      fireTimers(now: now)
      if done() { break }
      var next = min(end, timers.peek?.deadline ?? .max)
      if case .busyPoll = mode { next = now }  // never sleep
      poll(waitUntil: next)
    }
    io_uring_submit(ring)
    return true
  }

  /// Hands queued submissions (sends) to the kernel now rather than at the next poll: an order's
  /// send leaves at once instead of after the rest of the current completion batch.
  public func submitNow() { io_uring_submit(ring) }

  /// Runs until `done()`, with a deadline; for tests and tools.
  public func runOnce() { poll(waitUntil: cplat_now_ns()) }

  func poll(waitUntil deadline: Int64) {
    io_uring_submit(ring)
    var cqe: UnsafeMutablePointer<io_uring_cqe>? = nil
    if io_uring_peek_cqe(ring, &cqe) != 0 || cqe == nil {
      let now = cplat_now_ns()
      if deadline <= now { return }
      var ts = __kernel_timespec()
      let wait = min(deadline - now, 1_000_000_000)
      ts.tv_sec = wait / 1_000_000_000
      ts.tv_nsec = wait % 1_000_000_000
      let r = io_uring_wait_cqe_timeout(ring, &cqe, &ts)
      if r != 0 || cqe == nil { return }
    }
    // Reap everything available.
    while let c = cqe {
      let ud = c.pointee.user_data
      let res = c.pointee.res
      let flags = c.pointee.flags
      io_uring_cqe_seen(ring, c)
      dispatch(ud, res, flags)
      cqe = nil
      if io_uring_peek_cqe(ring, &cqe) != 0 { break }
    }
  }

  func dispatch(_ ud: UInt64, _ res: Int32, _ flags: UInt32) {
    let slot = Int(ud & 0xFFFF_FFFF)
    let gen = UInt16((ud >> 32) & 0xFFFF)
    guard let op = Op(rawValue: UInt8((ud >> 48) & 0xFF)) else { return }
    let hasBuffer = flags & UInt32(IORING_CQE_F_BUFFER) != 0
    let bid = UInt16(flags >> UInt32(IORING_CQE_BUFFER_SHIFT))
    guard slot < channels.count, let ch = channels[slot], generations[slot] == gen else {
      if hasBuffer { recycle(bufferID: bid) }  // a stale receive still returns its buffer
      return
    }
    if op == .recv { lastRecvNs = cplat_now_ns() }
    if op == .recv && hasBuffer {
      if res == -ENOBUFS { bufferExhaustions += 1 }
      let data = UnsafeMutableRawBufferPointer(
        start: bufPool! + Int(bid) * recvBufferSize, count: max(Int(res), 0))
      ch.complete(op: op, result: res, flags: flags, buffer: data)
      recycle(bufferID: bid)
    } else {
      if op == .recv && res == -ENOBUFS { bufferExhaustions += 1 }
      ch.complete(op: op, result: res, flags: flags, buffer: nil)
    }
  }
}

/// Anything with a file descriptor driven by the loop.
public class Channel {
  unowned let loop: EventLoop
  var slot: UInt32 = 0
  var generation: UInt16 = 0
  public internal(set) var fd: Int32

  init(loop: EventLoop, fd: Int32) {
    self.loop = loop
    self.fd = fd
    loop.register(self)
  }

  func complete(op: EventLoop.Op, result: Int32, flags: UInt32, buffer: UnsafeMutableRawBufferPointer?) {}

  /// Closes the descriptor now and leaves the loop; late completions are dropped.
  func forceClose(error: WireError?) {
    if fd >= 0 {
      Glibc.close(fd)
      fd = -1
    }
    loop.unregister(self)
  }
}

/// A binary min-heap of timers by deadline.
struct TimerHeap {
  struct Entry {
    var deadline: Int64
    var id: UInt64
    var body: () -> Void
  }
  var items: [Entry] = []
  var peek: Entry? { items.first }
  mutating func push(_ e: Entry) {
    items.append(e)
    var i = items.count - 1
    while i > 0 {
      let p = (i - 1) / 2
      if items[p].deadline <= items[i].deadline { break }
      items.swapAt(p, i)
      i = p
    }
  }
  mutating func pop() -> Entry? {
    guard !items.isEmpty else { return nil }
    items.swapAt(0, items.count - 1)
    let top = items.removeLast()
    var i = 0
    while true {
      let l = 2 * i + 1
      let r = l + 1
      var m = i
      if l < items.count && items[l].deadline < items[m].deadline { m = l }
      if r < items.count && items[r].deadline < items[m].deadline { m = r }
      if m == i { break }
      items.swapAt(i, m)
      i = m
    }
    return top
  }
}
