import Connectors
import Foundation
import TestSupport
import Testing

@Suite struct GzipLineReaderTests {
  func temp(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("needletail-\(UUID().uuidString)-\(name)")
      .path
  }

  /// Lines of every length, across many buffer refills, come back byte for byte; a line longer
  /// than the limit is skipped and counted; the last line needs no newline.
  @Test func linesSurviveRefillsAndOversizeLinesAreCounted() throws {
    var rng = SplitMix64(seed: 5)
    var lines: [String] = []
    for i in 0..<20_000 {
      let n = Int.random(in: 0...700, using: &rng)
      lines.append("\(i) " + String(repeating: Character(UnicodeScalar(UInt8(97 + i % 26))), count: n))
    }
    let oversize = String(repeating: "x", count: 300_000)  // > 2 × 64 KiB buffer
    var content = lines[0..<10_000].joined(separator: "\n") + "\n" + oversize + "\n"
    content += lines[10_000...].joined(separator: "\n")  // no trailing newline
    let path = temp("lines.txt")
    try content.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let reader = try GzipLineReader(path: path, maxLineBytes: 64 << 10)
    var got: [String] = []
    while let l = reader.nextLine() {
      // The promised padding after each line is readable.
      _ = l.baseAddress.map { $0.load(fromByteOffset: l.count + 63, as: UInt8.self) }
      got.append(String(decoding: l, as: UTF8.self))
    }
    #expect(reader.oversizeLines == 1)
    #expect(got.count == lines.count)
    #expect(got == lines)
  }

  @Test func gzipIsReadToo() throws {
    let plain = temp("g.txt")
    try "1 {\"a\":1}\n2 {\"b\":2}\n".write(toFile: plain, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: plain) }
    let gz = Process()
    gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
    gz.arguments = ["-k", "-f", plain]
    try gz.run()
    gz.waitUntilExit()
    defer { try? FileManager.default.removeItem(atPath: plain + ".gz") }
    let reader = try GzipLineReader(path: plain + ".gz")
    var got: [(Int64, String)] = []
    while let l = reader.nextLine() {
      let (ts, json) = splitCaptureLine(l)
      got.append((ts, String(decoding: json, as: UTF8.self)))
    }
    #expect(got.map(\.0) == [1, 2])
    #expect(got.map(\.1) == ["{\"a\":1}", "{\"b\":2}"])
  }

  @Test func missingFileIsAClearError() {
    #expect(throws: GzipLineReader.OpenError.self) { try GzipLineReader(path: "/nonexistent/capture.gz") }
  }
}
