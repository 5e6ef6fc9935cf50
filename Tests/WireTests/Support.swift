import Foundation
import Glibc
import TestSupport
import Wire

/// This process's open TCP sockets whose local or remote port is `port`. Tests run in parallel
/// in one process, so a plain descriptor count would see other tests' files; sockets on a test's
/// own listener port are its own.
func openSockets(port: UInt16) -> Int {
  var inodes = Set<String>()
  for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
    guard let text = readProcFile(table) else { continue }
    for line in text.split(separator: "\n").dropFirst() {
      let f = line.split(separator: " ", omittingEmptySubsequences: true)
      guard f.count > 9 else { continue }
      let ports = [f[1], f[2]].compactMap { $0.split(separator: ":").last.flatMap { UInt16($0, radix: 16) } }
      if ports.contains(port) && f[9] != "0" { inodes.insert(String(f[9])) }
    }
  }
  guard let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return -1 }
  return fds.filter { fd in
    guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"),
      target.hasPrefix("socket:[")
    else { return false }
    return inodes.contains(String(target.dropFirst(8).dropLast()))
  }.count
}

extension PeerProcess {
  static let peersDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
    "Peers"
  ).path
}

func debugSockets(port: UInt16) -> String {
  var out: [String] = []
  for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
    guard let text = readProcFile(table) else { continue }
    for line in text.split(separator: "\n").dropFirst() where line.contains(String(format: ":%04X", port)) {
      out.append(
        String(line.split(separator: " ", omittingEmptySubsequences: true).prefix(10).joined(separator: " ")))
    }
  }
  return out.joined(separator: " | ")
}

/// Reads a /proc file whole. procfs files report size 0, and a one-shot read of them stops at the
/// first page: read until end of file.
func readProcFile(_ path: String) -> String? {
  guard let f = fopen(path, "r") else { return nil }
  defer { fclose(f) }
  var data: [UInt8] = []
  var buf = [UInt8](repeating: 0, count: 65536)
  while true {
    let n = fread(&buf, 1, buf.count, f)
    if n <= 0 { break }
    data += buf[0..<n]
  }
  return String(decoding: data, as: UTF8.self)
}
