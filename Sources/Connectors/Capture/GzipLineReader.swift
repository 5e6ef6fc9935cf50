import CPlatform
import CSimdJSON
import CZlib
import Engine
import Glibc
import Synchronization

/// Reads a capture file line by line: gzip, or plain text (zlib reads both). Each line is handed
/// out in place with at least `NT_PADDING` readable bytes after it, so the decoders parse it
/// without a copy.
///
/// Capacity: lines up to `maxLineBytes` (default 8 MiB); a longer line is skipped and counted in
/// `oversizeLines`.
public final class GzipLineReader {
  public enum OpenError: Error, CustomStringConvertible {
    case cannotOpen(String)
    public var description: String {
      switch self {
      case .cannotOpen(let p): "cannot open capture file \(p)"
      }
    }
  }

  public let path: String
  let file: gzFile
  let buffer: UnsafeMutablePointer<UInt8>
  let capacity: Int
  var start = 0
  var end = 0
  var eof = false
  public private(set) var oversizeLines = 0
  public private(set) var bytesRead = 0
  public private(set) var readError: String? = nil

  /// Inflating on a thread of its own (`inflateAhead`), or nil: inflated by `nextLine` itself.
  let ahead: InflateAhead?

  /// `inflateAhead`: a thread inflates the file a few megabytes ahead of the reader (the reader
  /// then only splits lines), for a consumer whose own work per line is as long as inflating it.
  public init(path: String, maxLineBytes: Int = 8 << 20, inflateAhead: Bool = false) throws {
    guard let f = gzopen(path, "rb") else { throw OpenError.cannotOpen(path) }
    gzbuffer(f, 1 << 20)
    self.path = path
    file = f
    ahead = inflateAhead ? InflateAhead(file: f) : nil
    capacity = max(maxLineBytes, 1 << 16) * 2
    buffer = .allocate(capacity: capacity + Int(NT_PADDING))
    buffer.initialize(repeating: 0, count: capacity + Int(NT_PADDING))
  }

  deinit {
    ahead?.stop()
    gzclose(file)
    buffer.deallocate()
  }

  /// zlib's gzread, or the inflating thread's next bytes.
  @inline(__always)
  func inflate(into dst: UnsafeMutablePointer<UInt8>, count: Int) -> Int32 {
    if let ahead { return ahead.read(into: dst, max: count) }
    return gzread(file, dst, UInt32(count))
  }

  /// The last zlib error of the stream (a cut-short gzip file shows here at its end).
  func streamError() -> String? {
    if let ahead { return ahead.error }
    var errnum: Int32 = 0
    let text = gzerror(file, &errnum)
    return errnum != Z_OK ? text.map { String(cString: $0) } : nil
  }

  /// The next line without its newline, valid until the next call; nil at the end of the file.
  /// The memory after the line is readable for at least NT_PADDING bytes.
  public func nextLine() -> UnsafeRawBufferPointer? {
    while true {
      if let nl = findNewline() {
        let line = UnsafeRawBufferPointer(start: buffer + start, count: nl - start)
        start = nl + 1
        return line
      }
      if eof {
        if start < end {
          let line = UnsafeRawBufferPointer(start: buffer + start, count: end - start)
          buffer[end] = 0
          start = end
          return line
        }
        return nil
      }
      refill()
    }
  }

  @inline(__always)
  func findNewline() -> Int? {
    guard start < end, let p = memchr(buffer + start, 10, end - start) else { return nil }
    return buffer.distance(to: p.assumingMemoryBound(to: UInt8.self))
  }

  func refill() {
    if start > 0 {
      let n = end - start
      if n > 0 { (buffer).update(from: buffer + start, count: n) }
      start = 0
      end = n
    }
    if end == capacity {
      // One line fills the whole buffer: drop it up to its newline.
      oversizeLines += 1
      end = 0
      while true {
        let r = inflate(into: buffer, count: capacity)
        if r <= 0 {
          eof = true
          if let e = streamError() { readError = e }
          return
        }
        bytesRead += Int(r)
        if let nl = (0..<Int(r)).first(where: { buffer[$0] == 10 }) {
          let rest = Int(r) - nl - 1
          buffer.update(from: buffer + nl + 1, count: rest)
          end = rest
          return
        }
      }
    }
    let r = inflate(into: buffer + end, count: capacity - end)
    if r < 0 {
      readError = streamError() ?? "read error"
      eof = true
      return
    }
    if r == 0 {
      eof = true
      // A gzip stream that stops before its end reads as a short file; zlib says so here.
      if let e = streamError() { readError = e }
    }
    bytesRead += Int(r)
    end += Int(r)
    // Keep the padding after the data readable and deterministic.
    for i in 0..<Int(NT_PADDING) { buffer[end + i] = 0 }
  }
}

/// Splits a capture line `<local_receive_time_ns> <json>` (the hftbacktest collector format);
/// a line that starts with `{` is all JSON with no timestamp (-1).
@inlinable
public func splitCaptureLine(_ line: UnsafeRawBufferPointer) -> (
  localTimeNs: Int64, json: UnsafeRawBufferPointer
) {
  var i = 0
  var ts: Int64 = 0
  while i < line.count, line[i] >= 48, line[i] <= 57, i < 19 {
    ts = ts &* 10 &+ Int64(line[i] &- 48)
    i += 1
  }
  if i > 0 && i < line.count && line[i] == 32 {
    return (ts, UnsafeRawBufferPointer(rebasing: line[(i + 1)...]))
  }
  return (-1, line)
}

/// Inflates a gzip file on a thread of its own into a ring of one-megabyte slots, ahead of one
/// reader (`read`, on the reader's thread). The file is the owner's: `stop()` before closing it.
final class InflateAhead: @unchecked Sendable {
  static let slots = 8
  static let slotBytes = 1 << 20
  let file: gzFile
  let data: UnsafeMutablePointer<UInt8>
  /// Bytes in each slot: > 0 data, 0 the end, −1 an error (`error` says which).
  let counts: UnsafeMutablePointer<Int>
  let produced = Atomic<Int>(0)
  let consumed = Atomic<Int>(0)
  let stopping = Atomic<Bool>(false)
  /// Set by the inflating thread before it publishes its last slot.
  private(set) var error: String?
  var thread: NativeThread?
  // The reader's place.
  var offset = 0
  var done = false

  init(file: gzFile) {
    self.file = file
    data = .allocate(capacity: Self.slots * Self.slotBytes)
    counts = .allocate(capacity: Self.slots)
    counts.initialize(repeating: 0, count: Self.slots)
    thread = NativeThread(name: "nt-inflate", cpu: nil) { [unowned self] in self.inflateAll() }
  }

  deinit {
    stop()
    data.deallocate()
    counts.deallocate()
  }

  func stop() {
    stopping.store(true, ordering: .releasing)
    thread?.join()
    thread = nil
  }

  func inflateAll() {
    var n = 0
    while true {
      while n - consumed.load(ordering: .acquiring) == Self.slots {
        if stopping.load(ordering: .acquiring) { return }
        usleep(20)
      }
      if stopping.load(ordering: .acquiring) { return }
      let i = n % Self.slots
      let r = Int(gzread(file, data + i * Self.slotBytes, UInt32(Self.slotBytes)))
      if r <= 0 {
        var errnum: Int32 = 0
        let text = gzerror(file, &errnum)
        if errnum != Z_OK, let text { error = String(cString: text) }
        counts[i] = r < 0 ? -1 : 0
      } else {
        counts[i] = r
      }
      n += 1
      produced.store(n, ordering: .releasing)
      if r <= 0 { return }
    }
  }

  /// Up to `max` bytes into `dst`, as gzread answers: the count, 0 at the end, −1 on an error.
  func read(into dst: UnsafeMutablePointer<UInt8>, max: Int) -> Int32 {
    if done { return 0 }
    let c = consumed.load(ordering: .relaxed)
    var spins = 0
    while produced.load(ordering: .acquiring) == c {
      spins += 1
      if spins < 64 { cplat_cpu_relax() } else { sched_yield() }
    }
    let i = c % Self.slots
    let count = counts[i]
    if count <= 0 {
      done = true
      return Int32(count)
    }
    let n = min(max, count - offset)
    dst.update(from: data + i * Self.slotBytes + offset, count: n)
    offset += n
    if offset == count {
      offset = 0
      consumed.store(c + 1, ordering: .releasing)
    }
    return Int32(n)
  }
}
