import ArgumentParser
import Connectors
import Engine
import Foundation
import Logging

// Logging for `run` and `demo`, through swift-log. The hot threads never log: connectors post
// fixed-size problem records to a side thread, which formats them and hands them to a Logger;
// the CLI's loop logs what changed in the session's state (connections, resyncs,
// reconciliations, rate limits, halts) at most ten times a second. Status tables stay on
// standard output; log lines go to standard error or a file.

/// Where log lines go: standard error, or a file opened for appending with mode 0600.
final class LogSink: @unchecked Sendable {
  let fd: Int32
  let owned: Bool
  let lock = NSLock()

  init(path: String?) throws(LogSetupError) {
    guard let path else {
      fd = 2
      owned = false
      return
    }
    let f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    guard f >= 0 else {
      throw LogSetupError(message: "cannot open log file \(path): \(String(cString: strerror(errno)))")
    }
    fd = f
    owned = true
  }

  deinit { if owned { close(fd) } }

  func write(_ line: String) {
    lock.lock()
    defer { lock.unlock() }
    var s = line
    s.withUTF8 { b in
      var off = 0
      while off < b.count {
        let n = Foundation.write(fd, b.baseAddress! + off, b.count - off)
        if n <= 0 { return }
        off += n
      }
    }
  }
}

struct LogSetupError: Error, CustomStringConvertible {
  let message: String
  var description: String { message }
}

/// Replaces every occurrence of a secret (API key, API secret) with `***`, so no log line can
/// carry one, whatever a message or its metadata quotes.
struct Redactor: Sendable {
  let secrets: [String]
  init(secrets: [String]) {
    // Longest first, so a secret containing another is hidden whole; very short strings would
    // blank out ordinary words, and a real key is never that short.
    self.secrets = secrets.filter { $0.count >= 6 }.sorted { $0.count > $1.count }
  }
  func apply(_ s: String) -> String {
    var out = s
    for secret in secrets where out.contains(secret) {
      out = out.replacingOccurrences(of: secret, with: "***")
    }
    return out
  }
}

/// A swift-log handler writing one line per message: UTC time to the millisecond, level, label,
/// message, then the metadata as sorted key=value pairs; secrets redacted.
struct LineLogHandler: LogHandler {
  let label: String
  let sink: LogSink
  let redactor: Redactor
  var logLevel: Logger.Level
  var metadata: Logger.Metadata = [:]

  init(label: String, sink: LogSink, redactor: Redactor, level: Logger.Level) {
    self.label = label
    self.sink = sink
    self.redactor = redactor
    self.logLevel = level
  }

  subscript(metadataKey key: String) -> Logger.Metadata.Value? {
    get { metadata[key] }
    set { metadata[key] = newValue }
  }

  func log(event: LogEvent) {
    var all = metadata
    if let m = event.metadata { all.merge(m) { $1 } }
    let pairs = all.keys.sorted().map { "\($0)=\(all[$0]!)" }.joined(separator: " ")
    let line =
      "\(Self.timestamp()) \(event.level) \(label): \(event.message)\(pairs.isEmpty ? "" : " " + pairs)"
    sink.write(redactor.apply(line) + "\n")
  }

  static func timestamp() -> String {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    var t = time_t(ts.tv_sec)
    var tm = tm()
    gmtime_r(&t, &tm)
    return String(
      format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1,
      Int(tm.tm_mday),
      Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec), Int(ts.tv_nsec / 1_000_000))
  }
}

enum Logs {
  /// Installs the line handler as the process's swift-log backend (once: swift-log allows one
  /// bootstrap per process) and returns a logger for `label`.
  static func start(level: Logger.Level, file: String?, secrets: [String], label: String) throws -> Logger {
    let sink = try LogSink(path: file)
    let redactor = Redactor(secrets: secrets)
    LoggingSystem.bootstrap { LineLogHandler(label: $0, sink: sink, redactor: redactor, level: level) }
    return Logger(label: label)
  }

  /// `--log-level`'s values, as swift-log names them.
  static func level(_ name: String) throws -> Logger.Level {
    guard let l = Logger.Level(rawValue: name.lowercased()) else {
      throw LogSetupError(
        message:
          "--log-level: \"\(name)\" is not a level; one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))"
      )
    }
    return l
  }
}

/// The side thread that turns the connectors' problem records into warnings. Posting is done on
/// the one thread the connectors run on (single producer); formatting happens here.
final class ProblemLogThread {
  let side: SideThread<SideRecord>

  init(logger: Logger) {
    side = SideThread<SideRecord>(capacity: 1 << 12) { r in
      guard let line = ProblemLog.describe(r) else { return }
      logger.warning("\(line)")
    }
  }

  /// Every connector of the session reports here from now on.
  func attach(_ logs: [ProblemLog]) {
    for p in logs { p.post = side.post }
  }

  func start(cpu: Int? = nil) { side.start(cpu: cpu) }

  /// Logs what is queued, then ends the thread; says how many reports the full ring dropped.
  func stop(logger: Logger) {
    side.stop()
    if side.dropped > 0 { logger.warning("\(side.dropped) problem reports dropped (the log ring was full)") }
  }
}

/// Watches a session's counters from the CLI's loop and logs each change an operator should know
/// about: a connection lost or made again, the book resynchronised, orders reconciled with the
/// venue, the account stream refused, a 429 back-off or a 418 halt, orders the gate refused.
final class SessionWatch<Adapter: VenueAdapter> {
  struct Counts: Equatable {
    var marketConnects = 0
    var marketDisconnects = 0
    var entryConnects = 0
    var entryDisconnects = 0
    var userConnects = 0
    var userDisconnects = 0
    var resets = 0
    var reconciliations = 0
    var userRefusals = 0
    var responses429 = 0
    var responses418 = 0
    var gateRefusals = 0
    var ruleRefusals = 0
    var ruleChanges = 0
    var ruleScaleChanges = 0
  }
  let session: TradingNode<Adapter>
  let logger: Logger
  var last = Counts()
  var nextCheckNs: Int64 = 0
  /// Set when the engine closes its connections itself (the end of a run): their closing is
  /// not a loss.
  var closing = false

  init(session: TradingNode<Adapter>, logger: Logger) {
    self.session = session
    self.logger = logger
  }

  /// The counters; `strategySide: false` leaves the strategy thread's (book resets,
  /// reconciliations, refusals) as last seen — in the two-thread layout they are read only while
  /// that thread is stopped.
  func counts(strategySide: Bool = true) -> Counts {
    let s = session
    let (feed, entry, user) = (
      s.adapter.feed.connection, s.adapter.entry.connection, s.adapter.account.connection
    )
    guard strategySide else {
      var c = last
      (c.marketConnects, c.marketDisconnects) = (feed.connects, feed.disconnects)
      (c.entryConnects, c.entryDisconnects) = (entry.connects, entry.disconnects)
      (c.userConnects, c.userDisconnects) = (user.connects, user.disconnects)
      c.userRefusals = s.adapter.account.refusals
      (c.responses429, c.responses418) = (s.adapter.limiter.responses429, s.adapter.limiter.responses418)
      (c.ruleChanges, c.ruleScaleChanges) = (s.ruleChangesPosted, s.ruleScaleChanges)
      return c
    }
    return Counts(
      marketConnects: feed.connects, marketDisconnects: feed.disconnects,
      entryConnects: entry.connects, entryDisconnects: entry.disconnects,
      userConnects: user.connects, userDisconnects: user.disconnects,
      resets: s.runtime.applier.resets, reconciliations: s.runtime.reconciliations,
      userRefusals: s.adapter.account.refusals, responses429: s.adapter.limiter.responses429,
      responses418: s.adapter.limiter.responses418,
      gateRefusals: s.host.gate.refusals.reduce(0, +), ruleRefusals: s.host.ruleRefusals,
      ruleChanges: s.ruleChangesPosted, ruleScaleChanges: s.ruleScaleChanges)
  }

  /// Cheap to call on every loop turn: it looks at the counters ten times a second (`force`: now).
  func poll(now: Int64, force: Bool = false, strategySide: Bool = true) {
    guard force || now >= nextCheckNs else { return }
    nextCheckNs = now + 100_000_000
    let c = counts(strategySide: strategySide)
    guard c != last else { return }
    let p = last
    last = c
    let s = session
    func connection(_ name: String, _ connects: (Int, Int), _ disconnects: (Int, Int), error: String?) {
      if disconnects.1 > disconnects.0 && !closing {
        logger.warning(
          "\(name) connection lost", metadata: ["error": "\(error ?? "-")", "times": "\(disconnects.1)"])
      }
      if connects.1 > connects.0 {
        if connects.0 == 0 {
          logger.info("\(name) connected")
        } else {
          logger.notice("\(name) connected again", metadata: ["connects": "\(connects.1)"])
        }
      }
    }
    connection(
      "market data", (p.marketConnects, c.marketConnects), (p.marketDisconnects, c.marketDisconnects),
      error: s.adapter.feed.connection.lastError.map { "\($0)" })
    connection(
      "order entry", (p.entryConnects, c.entryConnects), (p.entryDisconnects, c.entryDisconnects),
      error: s.adapter.entry.connection.lastError.map { "\($0)" })
    connection(
      "account stream", (p.userConnects, c.userConnects), (p.userDisconnects, c.userDisconnects),
      error: s.adapter.account.connection.lastError.map { "\($0)" })
    if c.resets > p.resets {
      logger.notice("order book reset: rebuilding from a snapshot", metadata: ["resets": "\(c.resets)"])
    }
    if c.reconciliations > p.reconciliations {
      logger.notice("orders reconciled with the venue", metadata: ["rounds": "\(c.reconciliations)"])
    }
    if c.userRefusals > p.userRefusals {
      logger.error("account stream refused", metadata: ["reason": "\(s.adapter.account.lastRefusal ?? "-")"])
    }
    if c.responses429 > p.responses429 {
      logger.warning("rate limited (429): waiting out Retry-After", metadata: ["times": "\(c.responses429)"])
    }
    if c.ruleChanges > p.ruleChanges, let r = s.lastPostedRule {
      logger.notice(
        "the venue's trading rule changed: orders are checked against the new one",
        metadata: [
          "tick": "\(r.tickSize)", "step": "\(r.stepSize)", "min_qty": "\(r.minQuantity)",
          "max_qty": "\(r.maxQuantity)", "min_notional": "\(r.minNotional)",
        ])
    }
    if c.ruleScaleChanges > p.ruleScaleChanges {
      logger.error("the venue changed the market's price or quantity decimals: restart to trade it correctly")
    }
    if c.responses418 > p.responses418 {
      logger.critical(
        "IP banned (418): trading halted", metadata: ["reason": "\(s.adapter.limiter.haltReason)"])
    }
    if c.gateRefusals > p.gateRefusals || c.ruleRefusals > p.ruleRefusals {
      let risk = zip(RiskRefusal.allCases, s.host.gate.refusals).filter { $0.1 > 0 }.map {
        "\($0.0): \($0.1)"
      }
      logger.warning(
        "orders refused before sending",
        metadata: ["rule": "\(c.ruleRefusals)", "risk": "\(risk.joined(separator: ", "))"])
    }
  }
}

/// `--log-level` and `--log-file`, shared by the commands that trade.
struct LogOptions: ParsableArguments {
  @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
  var logLevel = "info"

  @Option(help: "Append log lines to this file (created 0600) instead of standard error.")
  var logFile: String?

  func validate() throws {
    do {
      _ = try Logs.level(logLevel)
    } catch let e as LogSetupError {
      throw ValidationError(e.message)
    }
  }

  /// Starts logging for the process; `secrets` never appear in a line.
  func start(secrets: [String], label: String) throws -> Logger {
    do {
      return try Logs.start(level: Logs.level(logLevel), file: logFile, secrets: secrets, label: label)
    } catch let e as LogSetupError {
      throw ValidationError(e.message)
    }
  }
}
