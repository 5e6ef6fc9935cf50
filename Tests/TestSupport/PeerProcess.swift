import Foundation
import Glibc

/// A peer program (Python `websockets`, curl, openssl) run as a subprocess with its output read.
public final class PeerProcess: @unchecked Sendable {
  public let process = Process()
  let out = Pipe()
  var output = ""
  var exited = false
  let lock = NSLock()

  /// `environment` is added to this process's; `directory` is the working directory.
  public init(
    _ executable: String, _ args: [String], environment: [String: String] = [:], directory: String? = nil
  )
    throws
  {
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = args
    if !environment.isEmpty {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
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

  public var text: String {
    lock.lock()
    defer { lock.unlock() }
    return output
  }

  /// Waits (bounded) for a line starting with `prefix`; returns the rest of it.
  public func waitForLine(_ prefix: String, timeout: Double = 20) -> String? {
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

  public func stop() {
    if process.isRunning { process.terminate() }
    // Foundation's isRunning can lag behind; make sure the peer is gone before waiting on it.
    if process.processIdentifier > 0 && !exited { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    exited = true
    out.fileHandleForReading.readabilityHandler = nil
  }

  public static var python: String {
    FileManager.default.fileExists(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
  }
  static let peersDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
    "Peers"
  ).path
}

/// Resolves python3 on PATH (the one with `websockets` installed by scripts/setup.sh).
public func pythonPath() -> String {
  for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
    let p = "\(dir)/python3"
    if FileManager.default.isExecutableFile(atPath: p) { return p }
  }
  return "/usr/bin/python3"
}
