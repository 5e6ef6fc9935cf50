import ArgumentParser
import CPlatform
import Connectors
import Engine
import Foundation
import Wire

/// How `run` and `demo` lay the engine on the machine (DESIGN.md's layouts): one thread doing the
/// wire's work and the strategy's in turn, or a wire thread and a strategy thread; whether the
/// strategy thread spins or sleeps when nothing is waiting; which CPU each thread is pinned to.
/// From the config's `runtime:` section and the command's flags; the defaults come from the CPUs
/// this process may run on.
struct RuntimeSettings: Equatable, CustomStringConvertible {
  enum Layout: String, CaseIterable {
    case oneThread = "one-thread"
    case twoThreads = "two-threads"
  }
  enum Idle: String, CaseIterable {
    /// Busy-poll: the lowest latency, a whole core for each engine thread.
    case spin
    /// The loop waits in io_uring; the strategy thread sleeps 50 µs between empty turns, and
    /// what it decides leaves at the wire loop's next wake-up (a completion, or its 100 µs timer).
    case block
  }
  var layout: Layout
  var idle: Idle
  var wireCPU: Int?
  var strategyCPU: Int?
  /// The history writer and the problem logger.
  var sideCPU: Int?
  /// Where the defaults came from ("from 2 CPUs"), or "config" / "flags".
  var origin = ""

  /// The CPUs this process may run on, in order.
  static func allowedCPUs() -> [Int] {
    var out: [Int] = []
    while true {
      let c = Int(cplat_allowed_cpu(Int32(out.count)))
      guard c >= 0 else { return out }
      out.append(c)
    }
  }

  /// Three CPUs or more: the two-thread layout, both threads spinning, the strategy thread on
  /// the last CPU and the wire thread on the one before, the side threads on the first when
  /// there are four. Fewer: one thread, blocking, unpinned — two busy threads would leave
  /// nothing for the kernel and everything else on the machine.
  static func defaults(cpus: [Int]) -> RuntimeSettings {
    let n = cpus.count
    guard n >= 3 else {
      return RuntimeSettings(
        layout: .oneThread, idle: .block, wireCPU: nil, strategyCPU: nil, sideCPU: nil,
        origin: "default for \(n) CPU\(n == 1 ? "" : "s")")
    }
    return RuntimeSettings(
      layout: .twoThreads, idle: .spin, wireCPU: cpus[n - 2], strategyCPU: cpus[n - 1],
      sideCPU: n >= 4 ? cpus[0] : nil, origin: "default for \(n) CPUs")
  }

  /// The `runtime:` section over `base` (the defaults).
  static func parse(_ n: ConfigNode, over base: RuntimeSettings) throws -> RuntimeSettings {
    guard n.exists else { return base }
    try n.only(["layout", "idle", "cpus"])
    var r = base
    r.origin = "config"
    if n.key("layout").exists {
      let v = try n.key("layout").string()
      guard let l = Layout(rawValue: v) else {
        throw n.key("layout").fail("'\(v)' is not a layout (one-thread or two-threads)")
      }
      r.layout = l
      // A layout given without CPUs: unpinned unless the defaults were for the same layout.
      if l != base.layout { (r.wireCPU, r.strategyCPU, r.sideCPU) = (nil, nil, nil) }
    }
    if n.key("idle").exists {
      let v = try n.key("idle").string()
      guard let i = Idle(rawValue: v) else {
        throw n.key("idle").fail("'\(v)' is not allowed (spin or block)")
      }
      r.idle = i
    }
    let cpus = n.key("cpus")
    if cpus.exists {
      try cpus.only(["wire", "strategy", "side"])
      func cpu(_ k: String) throws -> Int? {
        let c = cpus.key(k)
        guard c.exists else { return nil }
        return try c.int(range: 0...4095)
      }
      r.wireCPU = try cpu("wire")
      r.strategyCPU = try cpu("strategy")
      r.sideCPU = try cpu("side")
    }
    try r.check(path: n)
    return r
  }

  /// Refuses what cannot run as asked: a CPU this process may not use, the strategy thread on
  /// the wire thread's CPU, a strategy CPU for the one-thread layout.
  func check(path n: ConfigNode? = nil, allowed: [Int] = RuntimeSettings.allowedCPUs()) throws {
    func fail(_ key: String, _ message: String) -> ConfigError {
      if let n { return n.key("cpus").key(key).fail(message) }
      return ConfigError(file: "", path: "runtime.cpus.\(key)", message: message)
    }
    for (key, cpu) in [("wire", wireCPU), ("strategy", strategyCPU), ("side", sideCPU)] {
      if let cpu, !allowed.contains(cpu) {
        throw fail(key, "CPU \(cpu) is not one this process may run on (\(Self.list(allowed)))")
      }
    }
    if layout == .oneThread, strategyCPU != nil {
      throw fail("strategy", "the one-thread layout has no strategy thread (give wire: for its one thread)")
    }
    if layout == .twoThreads, let w = wireCPU, w == strategyCPU {
      throw fail("strategy", "the strategy thread and the wire thread on one CPU (\(w)) would take turns")
    }
  }

  static func list(_ cpus: [Int]) -> String {
    cpus.isEmpty ? "none" : "CPUs " + cpus.map(String.init).joined(separator: ",")
  }

  var description: String {
    func pin(_ c: Int?) -> String { c.map { "CPU \($0)" } ?? "unpinned" }
    switch layout {
    case .oneThread:
      return
        "one-thread, \(idle == .spin ? "busy-polling" : "blocking in io_uring"), \(pin(wireCPU)); side threads \(pin(sideCPU)) (\(origin))"
    case .twoThreads:
      return idle == .spin
        ? "two-threads, both spinning: wire \(pin(wireCPU)), strategy \(pin(strategyCPU)); side threads \(pin(sideCPU)) (\(origin))"
        : "two-threads: wire \(pin(wireCPU)) blocking in io_uring, strategy \(pin(strategyCPU)) sleeping when idle; side threads \(pin(sideCPU)) (\(origin))"
    }
  }

  var nodeLayout: TradingNode<BinanceSpotAdapter>.Layout { layout == .oneThread ? .oneThread : .twoThreads }
}

/// The runtime's flags (`run`, `demo`): each overrides the config's `runtime:` setting.
struct RuntimeOptions: ParsableArguments {
  @Option(help: "one-thread or two-threads (default: from the config, or from the CPU count).")
  var layout: String?

  @Option(help: "spin or block: what the strategy thread (one thread: the loop) does when idle.")
  var idle: String?

  @Option(help: "The CPU to pin the wire thread (one thread: the engine's thread) to.")
  var wireCPU: Int?

  @Option(help: "The CPU to pin the strategy thread to (two-threads).")
  var strategyCPU: Int?

  @Option(help: "The CPU to pin the side threads (history writer, problem logger) to.")
  var sideCPU: Int?

  /// `base` with the flags given applied, checked.
  func apply(to base: RuntimeSettings) throws -> RuntimeSettings {
    var r = base
    var given = false
    if let layout {
      guard let l = RuntimeSettings.Layout(rawValue: layout) else {
        throw ValidationError("--layout must be one-thread or two-threads, not '\(layout)'")
      }
      if l != r.layout { (r.wireCPU, r.strategyCPU, r.sideCPU) = (nil, nil, nil) }
      r.layout = l
      given = true
    }
    if let idle {
      guard let i = RuntimeSettings.Idle(rawValue: idle) else {
        throw ValidationError("--idle must be spin or block, not '\(idle)'")
      }
      r.idle = i
      given = true
    }
    if let wireCPU { (r.wireCPU, given) = (wireCPU, true) }
    if let strategyCPU { (r.strategyCPU, given) = (strategyCPU, true) }
    if let sideCPU { (r.sideCPU, given) = (sideCPU, true) }
    if given { r.origin = base.origin == "config" ? "config and flags" : "flags" }
    do { try r.check() } catch let e as ConfigError {
      throw ValidationError("\(e.path.replacingOccurrences(of: "runtime.cpus.", with: "--")): \(e.message)")
    }
    return r
  }
}

/// The engine's own latency, from the stamps every order sent carried (`LatencyLog`): for the
/// orders a book change caused (a diff, not a resync, not the Clock), from the frame's receive
/// completion to the order's send, and the part of it before the decision. nil: no such order.
func tickToTradeSummary(_ log: LatencyLog) -> String? {
  var total: [Int64] = []
  var stages: [[Int64]] = [[], [], [], [], []]  // recv→decoded, →applied, →decided, →queued, →sent
  for s in log.all where s.stamps.recvNs > 0 && !s.stamps.snapshot && s.sentNs >= s.stamps.recvNs {
    total.append(s.sentNs - s.stamps.recvNs)
    let t = [
      s.stamps.recvNs, s.stamps.decodedNs, s.stamps.appliedNs, s.stamps.decidedNs, s.queuedNs, s.sentNs,
    ]
    guard t.allSatisfy({ $0 > 0 }), zip(t, t.dropFirst()).allSatisfy({ $0 <= $1 }) else { continue }
    for i in 0..<5 { stages[i].append(t[i + 1] - t[i]) }
  }
  guard !total.isEmpty else { return nil }
  total.sort()
  for i in 0..<5 { stages[i].sort() }
  func p(_ v: [Int64], _ q: Double) -> String {
    guard !v.isEmpty else { return "-" }
    return String(format: "%.1f", Double(v[min(v.count - 1, Int(Double(v.count) * q))]) / 1e3)
  }
  let kept = log.dropped > 0 ? " (the first \(log.capacity) orders kept)" : ""
  return
    "tick-to-trade, book change → order sent, \(total.count) orders\(kept): p50 \(p(total, 0.5)) µs, p99 \(p(total, 0.99)), p99.9 \(p(total, 0.999)), max \(p(total, 1)); stages p50: decoded \(p(stages[0], 0.5)), applied \(p(stages[1], 0.5)), decided \(p(stages[2], 0.5)), queued \(p(stages[3], 0.5)) (signed, framed, sealed), sent \(p(stages[4], 0.5)) (the submit) µs"
}

/// The process's peak resident set (getrusage), in MiB.
func peakRSSMiB() -> Double {
  var u = rusage()
  getrusage(RUSAGE_SELF.rawValue, &u)
  return Double(u.ru_maxrss) / 1024
}

/// Which malloc this process runs on: jemalloc when it is linked in (its `mallctl` is there),
/// with its version; otherwise glibc's.
func allocatorName() -> String {
  // nil: RTLD_DEFAULT, every object loaded.
  guard let sym = dlsym(nil, "mallctl") else { return "glibc malloc" }
  typealias MallCtl =
    @convention(c) (
      UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?, UnsafeMutableRawPointer?,
      Int
    ) -> Int32
  let mallctl = unsafeBitCast(sym, to: MallCtl.self)
  var version: UnsafePointer<CChar>? = nil
  var size = MemoryLayout<UnsafePointer<CChar>?>.size
  guard mallctl("version", &version, &size, nil, 0) == 0, let version else { return "jemalloc" }
  return "jemalloc " + String(cString: version).split(separator: "-").first.map(String.init)!
}
