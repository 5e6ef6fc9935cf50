import CPlatform
import CRing
import Glibc

/// A TCP connection on an `EventLoop`: connect with a timeout, multishot receives, ordered sends
/// with partial sends resumed, TCP_NODELAY, and a clean close that leaves no descriptor behind.
public final class TCPConnection: Channel, ByteStream {
  public enum State: Sendable { case connecting, open, closing, closed }

  public weak var delegate: (any ByteStreamDelegate)?
  public private(set) var state: State
  public var isOpen: Bool { state == .open }
  public var eventLoop: EventLoop { loop }
  var out = OutboundBuffer()
  var sending = false
  var recvArmed = false
  /// One-shot receive buffer where the loop has no buffer ring.
  var ownRecv: UnsafeMutableRawBufferPointer?
  var addr = sockaddr_storage()
  var addrLen: socklen_t = 0
  var connectTimeout = __kernel_timespec()
  var closeError: WireError?
  public private(set) var bytesReceived = 0
  public private(set) var bytesSent = 0
  /// Monotonic time of the last byte received (for idle and half-open detection).
  public private(set) var lastReceiveNs: Int64 = 0

  init(loop: EventLoop, fd: Int32, state: State) {
    self.state = state
    super.init(loop: loop, fd: fd)
    if !loop.usesBufferRing {
      ownRecv = UnsafeMutableRawBufferPointer.allocate(byteCount: loop.recvBufferSize, alignment: 64)
    }
  }

  deinit {
    out.deallocate()
    ownRecv?.deallocate()
  }

  /// Resolves `host` (numeric or a name: resolving blocks, so do it at start-up) and connects.
  public static func connect(
    loop: EventLoop, host: String, port: UInt16, timeoutNs: Int64 = 5_000_000_000,
    delegate: (any ByteStreamDelegate)?
  ) throws(WireError) -> TCPConnection {
    var (storage, len, family) = try resolve(host: host, port: port)
    let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw .system(op: "socket", errno: errno) }
    setNoDelay(fd)
    let c = TCPConnection(loop: loop, fd: fd, state: .connecting)
    c.delegate = delegate
    c.addr = storage
    c.addrLen = len
    c.connectTimeout.tv_sec = timeoutNs / 1_000_000_000
    c.connectTimeout.tv_nsec = timeoutNs % 1_000_000_000
    withUnsafeMutablePointer(to: &storage) { _ in }
    let s = loop.sqe()
    withUnsafePointer(to: &c.addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { io_uring_prep_connect(s, fd, $0, c.addrLen) }
    }
    s.pointee.user_data = loop.userData(c, .connect)
    s.pointee.flags |= CRING_IOSQE_IO_LINK
    let t = loop.sqe()
    io_uring_prep_link_timeout(t, &c.connectTimeout, 0)
    t.pointee.user_data = loop.userData(c, .timeout)
    io_uring_submit(loop.ring)  // the timespec is read at submission
    return c
  }

  static func setNoDelay(_ fd: Int32) {
    var one: Int32 = 1
    setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
  }

  static func resolve(host: String, port: UInt16) throws(WireError) -> (sockaddr_storage, socklen_t, Int32) {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var res: UnsafeMutablePointer<addrinfo>? = nil
    let rc = getaddrinfo(host, String(port), &hints, &res)
    guard rc == 0, let ai = res else { throw .addressInvalid("\(host):\(port)") }
    defer { freeaddrinfo(res) }
    var storage = sockaddr_storage()
    withUnsafeMutableBytes(of: &storage) { dst in
      dst.copyMemory(
        from: UnsafeRawBufferPointer(start: ai.pointee.ai_addr, count: Int(ai.pointee.ai_addrlen)))
    }
    return (storage, ai.pointee.ai_addrlen, ai.pointee.ai_family)
  }

  /// Starts receiving and tells the delegate the stream is open.
  func becameOpen() {
    state = .open
    lastReceiveNs = cplat_now_ns()
    armRecv()
    delegate?.streamDidOpen(self)
    flush()
  }

  func armRecv() {
    guard fd >= 0, state == .open || state == .closing else { return }
    loop.submitRecv(self, fd: fd, buffer: ownRecv?.baseAddress, length: ownRecv?.count ?? 0)
    recvArmed = true
  }

  // MARK: writing

  public func write(_ bytes: UnsafeRawBufferPointer) throws(WireError) {
    try write(count: bytes.count) { $0.copyMemory(from: bytes) }
  }

  public func write(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) throws(WireError) {
    guard state == .open || state == .connecting else { throw .closedByPeer }
    try out.append(count: count, fill)
    if state == .open { flush() }
  }

  func flush() {
    guard !sending, fd >= 0, let region = out.nextToSend() else { return }
    sending = true
    loop.submitSend(self, fd: fd, region.baseAddress!, region.count)
  }

  // MARK: closing

  public func close() {
    switch state {
    case .closed, .closing: return
    case .connecting:
      abort(.shutdown)
    case .open:
      state = .closing
      if !sending && out.queued == 0 { finishClose(error: nil) }
    }
  }

  public func abort(_ error: WireError) {
    if state == .closed { return }
    finishClose(error: error)
  }

  /// Shuts the socket down (waking any pending receive), cancels what io_uring still holds for
  /// it, closes the descriptor and leaves the loop.
  func finishClose(error: WireError?) {
    if state == .closed { return }
    state = .closed
    if fd >= 0 {
      shutdown(fd, Int32(SHUT_RDWR))
      let s = loop.sqe()
      io_uring_prep_cancel_fd(s, fd, UInt32(IORING_ASYNC_CANCEL_ALL))
      s.pointee.user_data = 0  // slot 0 / op 0: ignored by dispatch
      io_uring_submit(loop.ring)
      Glibc.close(fd)
      fd = -1
    }
    loop.unregister(self)
    delegate?.streamDidClose(self, error: error)
  }

  override func forceClose(error: WireError?) {
    if state == .closed { return }
    state = .closed
    super.forceClose(error: error)
    delegate?.streamDidClose(self, error: error)
  }

  // MARK: completions

  override func complete(
    op: EventLoop.Op, result: Int32, flags: UInt32, buffer: UnsafeMutableRawBufferPointer?
  ) {
    switch op {
    case .connect:
      if result == 0 {
        becameOpen()
      } else {
        finishClose(error: WireError.from(op: "connect", errno: -result))
      }
    case .timeout:
      break  // the link timeout's own completion; the connect reports -ECANCELED if it fired
    case .recv:
      if result > 0 {
        bytesReceived += Int(result)
        lastReceiveNs = cplat_now_ns()
        let data = buffer ?? UnsafeMutableRawBufferPointer(rebasing: ownRecv![0..<Int(result)])
        delegate?.stream(self, didReceive: data)
        if state == .closed { return }
        // Multishot stays armed while F_MORE is set; one-shot always needs re-arming.
        if buffer == nil || flags & UInt32(IORING_CQE_F_MORE) == 0 { armRecv() }
      } else if result == 0 {
        finishClose(error: state == .closing ? nil : .closedByPeer)
      } else if result == -ENOBUFS {
        armRecv()  // buffers come back as handlers return; try again
      } else if result == -ECANCELED {
        if state != .closed { armRecv() }
      } else {
        finishClose(error: WireError.from(op: "recv", errno: -result))
      }
    case .send:
      sending = false
      if result < 0 {
        finishClose(error: WireError.from(op: "send", errno: -result))
        return
      }
      bytesSent += Int(result)
      out.sent(Int(result))  // a partial send resumes from here
      if out.queued > 0 {
        flush()
      } else if state == .closing {
        finishClose(error: nil)
      }
    default:
      break
    }
  }
}

/// A listening TCP socket that accepts with multishot accept.
public final class TCPListener: Channel {
  public let port: UInt16
  let onAccept: (TCPConnection) -> Void
  var closedFlag = false

  /// Listens on `host:port` (port 0 picks a free one; read `port`). `onAccept` gets each new
  /// connection, already open; set its delegate there.
  public init(
    loop: EventLoop, host: String = "127.0.0.1", port: UInt16 = 0, backlog: Int32 = 128,
    onAccept: @escaping (TCPConnection) -> Void
  ) throws(WireError) {
    let (storage, len, family) = try TCPConnection.resolve(host: host, port: port)
    let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw .system(op: "socket", errno: errno) }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var st = storage
    let b = withUnsafePointer(to: &st) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) }
    }
    guard b == 0 else {
      let e = errno
      Glibc.close(fd)
      throw .system(op: "bind", errno: e)
    }
    guard listen(fd, backlog) == 0 else {
      let e = errno
      Glibc.close(fd)
      throw .system(op: "listen", errno: e)
    }
    var bound = sockaddr_storage()
    var blen = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &bound) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &blen) }
    }
    let p = withUnsafeBytes(of: &bound) { raw -> UInt16 in
      UInt16(raw[2]) << 8 | UInt16(raw[3])  // sin_port / sin6_port, network order
    }
    self.port = p
    self.onAccept = onAccept
    super.init(loop: loop, fd: fd)
    arm()
  }

  func arm() {
    let s = loop.sqe()
    io_uring_prep_multishot_accept(s, fd, nil, nil, Int32(SOCK_CLOEXEC.rawValue))
    s.pointee.user_data = loop.userData(self, .accept)
  }

  override func complete(
    op: EventLoop.Op, result: Int32, flags: UInt32, buffer: UnsafeMutableRawBufferPointer?
  ) {
    guard op == .accept, !closedFlag else { return }
    if result >= 0 {
      TCPConnection.setNoDelay(result)
      let c = TCPConnection(loop: loop, fd: result, state: .connecting)
      onAccept(c)
      c.becameOpen()
    }
    if flags & UInt32(IORING_CQE_F_MORE) == 0 && fd >= 0 { arm() }
  }

  /// Stops listening and closes the socket.
  public func close() {
    if closedFlag { return }
    closedFlag = true
    if fd >= 0 {
      shutdown(fd, Int32(SHUT_RDWR))
      let s = loop.sqe()
      io_uring_prep_cancel_fd(s, fd, UInt32(IORING_ASYNC_CANCEL_ALL))
      s.pointee.user_data = 0
      io_uring_submit(loop.ring)
      Glibc.close(fd)
      fd = -1
    }
    loop.unregister(self)
  }
}
