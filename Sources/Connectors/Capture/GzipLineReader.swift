import CSimdJSON
import CZlib

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

  public init(path: String, maxLineBytes: Int = 8 << 20) throws {
    guard let f = gzopen(path, "rb") else { throw OpenError.cannotOpen(path) }
    gzbuffer(f, 1 << 20)
    self.path = path
    file = f
    capacity = max(maxLineBytes, 1 << 16) * 2
    buffer = .allocate(capacity: capacity + Int(NT_PADDING))
    buffer.initialize(repeating: 0, count: capacity + Int(NT_PADDING))
  }

  deinit {
    gzclose(file)
    buffer.deallocate()
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

  func findNewline() -> Int? {
    var i = start
    while i < end {
      if buffer[i] == 10 { return i }
      i += 1
    }
    return nil
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
        let r = gzread(file, buffer, UInt32(capacity))
        if r <= 0 {
          eof = true
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
    let r = gzread(file, buffer + end, UInt32(capacity - end))
    if r < 0 {
      var errnum: Int32 = 0
      readError = String(cString: gzerror(file, &errnum))
      eof = true
      return
    }
    if r == 0 {
      eof = true
      // A gzip stream that stops before its end reads as a short file; zlib says so here.
      var errnum: Int32 = 0
      let text = gzerror(file, &errnum)
      if errnum != Z_OK, let text { readError = String(cString: text) }
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
