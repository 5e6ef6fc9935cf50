/// A reliable byte stream (TCP, or TLS over TCP) with callbacks. Protocols above it (HTTP,
/// WebSocket) are written against this, so TLS slots in between without them knowing.
public protocol ByteStream: AnyObject {
  var delegate: (any ByteStreamDelegate)? { get set }
  /// Queues bytes for sending (copied). Throws when the outbound limit would be exceeded.
  func write(_ bytes: UnsafeRawBufferPointer) throws(WireError)
  /// Queues `count` bytes written in place by `fill` (no intermediate copy).
  func write(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) throws(WireError)
  /// Sends what is queued, then closes. `didClose(nil)` follows.
  func close()
  /// Closes now, dropping what is queued; `didClose(error)` follows.
  func abort(_ error: WireError)
  var isOpen: Bool { get }
  /// The loop the stream's I/O and timers run on (a TLS stream: its transport's).
  var eventLoop: EventLoop { get }
  /// Monotonic time of the last byte received from the network, 0 before any (a TLS stream: its
  /// transport's, so a record still being assembled counts as life). Keep-alives read it.
  var lastReceiveNs: Int64 { get }
}

public protocol ByteStreamDelegate: AnyObject {
  func streamDidOpen(_ stream: any ByteStream)
  /// Bytes arrived. They may be modified in place (WebSocket unmasking does) and are valid only
  /// during the call.
  func stream(_ stream: any ByteStream, didReceive bytes: UnsafeMutableRawBufferPointer)
  func streamDidClose(_ stream: any ByteStream, error: WireError?)
}

extension ByteStream {
  public func write(_ bytes: [UInt8]) throws(WireError) {
    // withUnsafeBytes rethrows untyped errors: carry the typed one out by hand.
    var failure: WireError?
    bytes.withUnsafeBytes { b in
      do throws(WireError) { try write(b) } catch { failure = error }
    }
    if let failure { throw failure }
  }
  public func write(_ text: String) throws(WireError) { try write(Array(text.utf8)) }
}

/// Outbound bytes: the half the kernel is sending never moves; appends go to the other half,
/// which grows (reallocating) only while it is not in flight. Capacity is kept, so a steady
/// stream of messages allocates nothing.
struct OutboundBuffer {
  struct Half {
    var base: UnsafeMutableRawPointer
    var capacity: Int
    var start = 0
    var end = 0
    var count: Int { end - start }
    init(capacity: Int) {
      base = .allocate(byteCount: capacity, alignment: 64)
      self.capacity = capacity
    }
    mutating func reserve(_ n: Int) {
      if start > 0 && end == start {
        start = 0
        end = 0
      }
      if end + n <= capacity { return }
      var cap = capacity
      while cap - count < n { cap *= 2 }
      let nb = UnsafeMutableRawPointer.allocate(byteCount: cap, alignment: 64)
      nb.copyMemory(from: base + start, byteCount: count)
      base.deallocate()
      base = nb
      end = count
      start = 0
      capacity = cap
    }
  }

  var inflight: Half
  var pending: Half
  let limit: Int

  init(initialCapacity: Int = 16 * 1024, limit: Int = 64 * 1024 * 1024) {
    inflight = Half(capacity: initialCapacity)
    pending = Half(capacity: initialCapacity)
    self.limit = limit
  }

  func deallocate() {
    inflight.base.deallocate()
    pending.base.deallocate()
  }

  var queued: Int { inflight.count + pending.count }

  mutating func append(count n: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) throws(WireError) {
    if queued + n > limit { throw .sendBufferFull(limit: limit) }
    pending.reserve(n)
    fill(UnsafeMutableRawBufferPointer(start: pending.base + pending.end, count: n))
    pending.end += n
  }

  /// The next region to hand the kernel, swapping halves when the in-flight one is done.
  mutating func nextToSend() -> UnsafeRawBufferPointer? {
    if inflight.count == 0 {
      if pending.count == 0 { return nil }
      swap(&inflight, &pending)
      pending.start = 0
      pending.end = 0
    }
    return UnsafeRawBufferPointer(start: inflight.base + inflight.start, count: inflight.count)
  }

  mutating func sent(_ n: Int) { inflight.start += n }
}
