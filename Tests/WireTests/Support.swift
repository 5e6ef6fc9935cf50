import Foundation
import Glibc
import Wire

/// This process's open TCP sockets whose local or remote port is `port`. Tests run in parallel
/// in one process, so a plain descriptor count would see other tests' files; sockets on a test's
/// own listener port are its own.
func openSockets(port: UInt16) -> Int {
  var inodes = Set<String>()
  for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
    guard let text = try? String(contentsOfFile: table, encoding: .utf8) else { continue }
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

/// A peer program (Python `websockets`, curl, openssl) run as a subprocess with its output read.
final class PeerProcess: @unchecked Sendable {
  let process = Process()
  let out = Pipe()
  var output = ""
  var exited = false
  let lock = NSLock()

  init(_ executable: String, _ args: [String]) throws {
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = args
    process.standardOutput = out
    process.standardError = out
    out.fileHandleForReading.readabilityHandler = { [weak self] h in
      let d = h.availableData
      guard let self, !d.isEmpty else { return }
      self.lock.lock()
      self.output += String(decoding: d, as: UTF8.self)
      self.lock.unlock()
    }
    try process.run()
  }

  var text: String {
    lock.lock()
    defer { lock.unlock() }
    return output
  }

  /// Waits (bounded) for a line starting with `prefix`; returns the rest of it.
  func waitForLine(_ prefix: String, timeout: Double = 20) -> String? {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
      if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) {
        return String(line.dropFirst(prefix.count))
      }
      if !process.isRunning { break }
      Thread.sleep(forTimeInterval: 0.02)
    }
    return nil
  }

  func stop() {
    if process.isRunning { process.terminate() }
    // Foundation's isRunning can lag behind; make sure the peer is gone before waiting on it.
    if process.processIdentifier > 0 && !exited { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    exited = true
    out.fileHandleForReading.readabilityHandler = nil
  }

  static var python: String {
    FileManager.default.fileExists(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
  }
  static let peersDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
    "Peers"
  ).path
}

/// Resolves python3 on PATH (the one with `websockets` installed by scripts/setup.sh).
func pythonPath() -> String {
  for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
    let p = "\(dir)/python3"
    if FileManager.default.isExecutableFile(atPath: p) { return p }
  }
  return "/usr/bin/python3"
}
