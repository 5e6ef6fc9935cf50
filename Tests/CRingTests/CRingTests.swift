import CRing
import Glibc
import Testing

/// Real io_uring operations through the shim: what the Wire issue builds on.
@Suite struct CRingTests {
  func makeRing(flags: UInt32 = 0) throws -> UnsafeMutablePointer<io_uring> {
    var err: Int32 = 0
    guard let ring = cring_queue_new(64, flags, &err) else {
      throw RingError(message: "io_uring_queue_init failed: errno \(-err) (is io_uring disabled?)")
    }
    return ring
  }

  struct RingError: Error, CustomStringConvertible {
    var message: String; var description: String { message }
  }

  func waitCQE(_ ring: UnsafeMutablePointer<io_uring>) -> (res: Int32, data: UInt64, flags: UInt32) {
    var cqe: UnsafeMutablePointer<io_uring_cqe>? = nil
    let r = io_uring_wait_cqe(ring, &cqe)
    precondition(r == 0, "wait_cqe \(r)")
    let out = (cqe!.pointee.res, cqe!.pointee.user_data, cqe!.pointee.flags)
    io_uring_cqe_seen(ring, cqe)
    return out
  }

  @Test func sendAndRecvOverASocketPair() throws {
    let ring = try makeRing()
    defer { cring_queue_free(ring) }
    var fds: [Int32] = [0, 0]
    #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
    defer { close(fds[0]); close(fds[1]) }
    let message = Array("depthUpdate over io_uring".utf8)
    var inbox = [UInt8](repeating: 0, count: 64)
    try message.withUnsafeBytes { out in
      try inbox.withUnsafeMutableBytes { inb in
        guard let send = io_uring_get_sqe(ring) else { throw RingError(message: "no SQE") }
        io_uring_prep_send(send, fds[0], out.baseAddress, out.count, 0)
        send.pointee.user_data = 1
        // Linked: the recv starts after the send completes.
        send.pointee.flags |= CRING_IOSQE_IO_LINK
        guard let recv = io_uring_get_sqe(ring) else { throw RingError(message: "no SQE") }
        io_uring_prep_recv(recv, fds[1], inb.baseAddress, inb.count, 0)
        recv.pointee.user_data = 2
        #expect(io_uring_submit(ring) == 2)
        var results: [UInt64: Int32] = [:]
        for _ in 0..<2 {
          let c = waitCQE(ring)
          results[c.data] = c.res
        }
        #expect(results[1] == Int32(message.count))
        #expect(results[2] == Int32(message.count))
      }
    }
    #expect(Array(inbox[0..<message.count]) == message)
  }

  @Test func multishotRecvWithAProvidedBufferRing() throws {
    let ring = try makeRing()
    defer { cring_queue_free(ring) }
    var err: Int32 = 0
    let entries: UInt32 = 8
    let size = 256
    guard let br = cring_setup_buf_ring(ring, entries, 7, &err) else {
      // Kernels before 5.19 have no buffer rings; Wire falls back to plain recv there.
      print("skipped: provided buffer rings unavailable (errno \(-err))")
      return
    }
    defer { _ = cring_free_buf_ring(ring, br, entries, 7) }
    let pool = UnsafeMutableRawPointer.allocate(byteCount: Int(entries) * size, alignment: 64)
    defer { pool.deallocate() }
    for i in 0..<Int(entries) {
      io_uring_buf_ring_add(
        br, pool + i * size, UInt32(size), UInt16(i), io_uring_buf_ring_mask(entries), Int32(i))
    }
    io_uring_buf_ring_advance(br, Int32(entries))
    var fds: [Int32] = [0, 0]
    #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
    defer { close(fds[0]); close(fds[1]) }
    let sqe = io_uring_get_sqe(ring)!
    io_uring_prep_recv_multishot(sqe, fds[1], nil, 0, 0)
    sqe.pointee.flags |= CRING_IOSQE_BUFFER_SELECT
    sqe.pointee.buf_group = 7
    sqe.pointee.user_data = 42
    #expect(io_uring_submit(ring) == 1)
    for n in 0..<3 {
      let text = Array("message \(n)".utf8)
      #expect(text.withUnsafeBytes { write(fds[0], $0.baseAddress, $0.count) } == text.count)
      let c = waitCQE(ring)
      #expect(c.data == 42)
      #expect(c.res == Int32(text.count))
      #expect(c.flags & UInt32(IORING_CQE_F_BUFFER) != 0)
      #expect(c.flags & UInt32(IORING_CQE_F_MORE) != 0, "multishot stays armed")
      let bid = Int(c.flags >> UInt32(IORING_CQE_BUFFER_SHIFT))
      let got = Array(UnsafeRawBufferPointer(start: pool + bid * size, count: Int(c.res)))
      #expect(got == text)
      // Hand the buffer back to the kernel.
      io_uring_buf_ring_add(
        br, pool + bid * size, UInt32(size), UInt16(bid), io_uring_buf_ring_mask(entries), 0)
      io_uring_buf_ring_advance(br, 1)
    }
  }
}
