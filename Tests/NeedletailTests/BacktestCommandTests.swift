import Foundation
import Persistence
import TestSupport
import Testing

/// `needletail backtest` as a user runs it: the printed example config on the shared capture,
/// twice (the second run reads the cached tape) — the same results byte for byte, the history
/// readable by `needletail history`; bad lines counted and harmless; missing and damaged files
/// refused with a clear error; the HTML report rendered by headless Chromium with the summary's
/// figures in its charts.
@Suite(.serialized) struct BacktestCommandTests {
  static let capture = SharedData.url("data/market/binance-usdm/btcusdt_20240808.gz").path

  struct Outcome {
    var status: Int32
    var out: String
    var err: String
  }

  /// Runs the binary with `args` (and `env` added) to its end (killed after 300 s).
  static func needletail(_ args: [String], env: [String: String] = [:], cwd: String? = nil) throws -> Outcome
  {
    let dir = FileManager.default.temporaryDirectory
    let out = dir.appendingPathComponent("nt-bt-\(UUID().uuidString).out")
    let err = dir.appendingPathComponent("nt-bt-\(UUID().uuidString).err")
    defer {
      try? FileManager.default.removeItem(at: out)
      try? FileManager.default.removeItem(at: err)
    }
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    let ho = try FileHandle(forWritingTo: out)
    let he = try FileHandle(forWritingTo: err)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: BinaryVenue.binary)
    p.arguments = args
    p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    p.standardOutput = ho
    p.standardError = he
    try p.run()
    let deadline = Date().addingTimeInterval(300)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    p.waitUntilExit()
    try ho.close()
    try he.close()
    return Outcome(
      status: p.terminationStatus, out: try String(contentsOf: out, encoding: .utf8),
      err: try String(contentsOf: err, encoding: .utf8))
  }

  static func scratch() throws -> String {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("nt-bt-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
  }

  /// The example config, written where a user would save it, with its cache in `dir`.
  static func exampleConfig(in dir: String) throws -> String {
    let r = try needletail(["backtest", "--print-example-config"])
    #expect(r.status == 0)
    let path = dir + "/bt.yml"
    let text = r.out.split(separator: "\n", omittingEmptySubsequences: false).map {
      $0.contains("# cache_dir:") ? "  cache_dir: \(dir)/cache" : String($0)
    }.joined(separator: "\n")
    #expect(text != r.out, "the example names its cache_dir setting")
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  static func number(_ pattern: String, _ text: String) -> Double? {
    guard let re = try? NSRegularExpression(pattern: pattern),
      let m = re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
      let r = Range(m.range(at: 1), in: text)
    else { return nil }
    return Double(text[r])
  }

  @Test func theExampleRunsTwiceWithTheSameResultsAndAHistory() throws {
    if BinaryVenue.missing() { return }
    let dir = try Self.scratch()
    let config = try Self.exampleConfig(in: dir)
    let db = dir + "/bt.sqlite"
    var outs: [Outcome] = []
    var reports: [Data] = []
    for i in 1...2 {
      let r = try Self.needletail([
        "backtest", config, "--data", Self.capture, "--db", db, "--report", dir + "/report\(i).html",
      ])
      #expect(r.status == 0, "run \(i): \(r.out) \(r.err)")
      outs.append(r)
      reports.append(try Data(contentsOf: URL(fileURLWithPath: dir + "/report\(i).html")))
    }
    #expect(outs[0].err.contains("(recorded in"), "\(outs[0].err)")
    #expect(outs[1].err.contains("(cached)"), "\(outs[1].err)")
    #expect(outs[0].out == outs[1].out, "the same config and data give the same results")
    #expect(reports[0] == reports[1], "and the same report")
    let out = outs[0].out
    let fills = Self.number(#"fills (\d+) \("#, out) ?? 0
    #expect(fills > 10, "\(out)")
    #expect(out.contains("bad lines 0 "), "\(out)")
    #expect(out.contains("0 gaps"), "\(out)")
    // The history, as `needletail history` shows it: each run's fills.
    for run in ["1", "2"] {
      let h = try Self.needletail(["history", db, "--run", run])
      #expect(h.status == 0, "\(h.out) \(h.err)")
      #expect(h.out.contains("run \(run) (backtest, BTCUSDT on backtest btcusdt_20240808.gz"), "\(h.out)")
      #expect(h.out.contains(" \(Int(fills)) fills\n"), "\(h.out)")
    }
    let runs = try RunHistory.load(try TradeStore(path: db))
    #expect(runs.map(\.fills) == [Int(fills), Int(fills)])
  }

  /// GLFT, the fourth strategy, from a config: it quotes both sides, fills, and keeps its
  /// inventory within max_position orders of its target.
  @Test func glftRunsInTheBacktestAndHoldsItsInventory() throws {
    if BinaryVenue.missing() { return }
    let dir = try Self.scratch()
    let example = try String(contentsOfFile: try Self.exampleConfig(in: dir), encoding: .utf8)
    let head = example[..<example.range(of: "strategy: pure_market_making")!.lowerBound]
    let tail = example[example.range(of: "fees:")!.lowerBound...]
    let config = dir + "/glft.yml"
    try
      (head.replacingOccurrences(of: "USDT: \"10000\"", with: "USDT: \"6000\"")
        + """
        strategy: glft_market_making
        glft_market_making:
          risk_aversion: 0.05
          order_amount: "0.002"
          max_position: 3
          inventory_target_base_pct: 50
          volatility_window: 60
          intensity_window: 60
          warmup: 30

        """ + tail).write(toFile: config, atomically: true, encoding: .utf8)
    let r = try Self.needletail(["backtest", config, "--report", "none", "--db", dir + "/g.sqlite"])
    #expect(r.status == 0, "\(r.out) \(r.err)")
    #expect(r.out.contains("glft_market_making on BTCUSDT"), "\(r.out)")
    let fills = Self.number(#"fills (\d+) \("#, r.out) ?? 0
    #expect(fills > 20, "\(r.out)")
    let low = Self.number(#"inventory (-?[0-9.]+) \.\."#, r.out) ?? .nan
    let high = Self.number(#"\.\. (-?[0-9.]+) BTC"#, r.out) ?? .nan
    // The start is within an order of the target; the range is at most max_position orders on
    // either side of it, and one order more (a fill can land as the limit is reached).
    #expect(low < 0 && high > 0, "both sides filled: \(r.out)")
    #expect(low >= -0.002 * 5 && high <= 0.002 * 5, "\(r.out)")
  }

  /// A user's own live latency feeds their backtest: a `demo` (the real order entry over the
  /// WebSocket API against the venue) records each order's round trip in its history,
  /// `history --export-latency` writes them, and a backtest with `latency: { file: }` runs on
  /// them — and records its own round trips, on the data's time.
  @Test func liveRoundTripsFeedTheBacktestsLatency() throws {
    if BinaryVenue.missing() { return }
    let dir = try Self.scratch()
    let demo = try Self.needletail([
      "demo", "--duration", "4", "--status-every", "60", "--seed", "2", "--data-dir", dir + "/demo", "--db",
      dir + "/demo.sqlite",
    ])
    #expect(demo.status == 0, "\(demo.out) \(demo.err)")
    let csv = dir + "/latency.csv"
    let export = try Self.needletail(["history", dir + "/demo.sqlite", "--export-latency", csv])
    #expect(export.status == 0, "\(export.out) \(export.err)")
    let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
    #expect(lines.first == "request_ns,exchange_ns,response_ns" && lines.count > 3, "\(lines)")
    let orders = try RunHistory.load(try TradeStore(path: dir + "/demo.sqlite")).first?.orders ?? 0
    for l in lines.dropFirst() {
      let f = l.split(separator: ",").compactMap { Int64($0) }
      // Sent before answered, the venue's event between them (the venue shares our clock here),
      // a loopback round trip well under a second.
      #expect(f.count == 3 && f[0] < f[2] && f[0] <= f[1] + 1_000_000 && f[1] <= f[2] + 1_000_000, "\(l)")
      #expect(f[2] - f[0] < 1_000_000_000, "\(l)")
    }
    #expect(
      lines.count - 1 <= orders && lines.count - 1 >= orders / 2, "\(lines.count - 1) of \(orders) orders")
    let config = try String(contentsOfFile: try Self.exampleConfig(in: dir), encoding: .utf8)
      .replacingOccurrences(of: "latency: { entry_ms: 1, response_ms: 1 }", with: "latency: { file: \(csv) }")
    try config.write(toFile: dir + "/lat.yml", atomically: true, encoding: .utf8)
    let bt = try Self.needletail([
      "backtest", dir + "/lat.yml", "--report", "none", "--db", dir + "/bt.sqlite",
    ])
    #expect(bt.status == 0, "\(bt.out) \(bt.err)")
    #expect(bt.out.contains("latency from latency.csv (\(lines.count - 1) round trips"), "\(bt.out)")
    let sent = Self.number(#"orders: (\d+) sent"#, bt.out) ?? 0
    let trips = try TradeStore(path: dir + "/bt.sqlite").roundTrips()
    #expect(sent > 0 && trips.count == Int(sent), "\(trips.count) round trips for \(sent) orders")
    #expect(trips.allSatisfy { $0.requestNs < $0.exchangeNs && $0.exchangeNs < $0.responseNs })
  }

  /// The first `n` lines of the shared capture, as plain text.
  static func captureLines(_ n: Int) throws -> [String] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", "gzip -dc '\(capture)' | head -n \(n)"]
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
  }

  @Test func badLinesAreCountedAndChangeNothingElse() throws {
    if BinaryVenue.missing() { return }
    let dir = try Self.scratch()
    let config = try Self.exampleConfig(in: dir)
    let lines = try Self.captureLines(6000)
    #expect(lines.count == 6000)
    let clean = dir + "/clean.txt"
    try (lines.joined(separator: "\n") + "\n").write(toFile: clean, atomically: true, encoding: .utf8)
    // The same lines with bad ones among them: not JSON, cut short, an unknown event, no
    // timestamp, a field off the instrument's scale, an empty line.
    var bad = lines
    let stamp = lines[3000].split(separator: " ")[0]
    bad.insert("\(stamp) {\"e\":\"depthUpdate\",\"E\":17231", at: 3000)
    bad.insert("\(stamp) not json at all", at: 2000)
    bad.insert("{\"e\":\"trade\"}", at: 1500)
    bad.insert("\(stamp) {\"e\":\"aggTrade\",\"E\":1,\"s\":\"BTCUSDT\"}", at: 1000)
    bad.insert("", at: 500)
    let dirty = dir + "/dirty.txt"
    try (bad.joined(separator: "\n") + "\n").write(toFile: dirty, atomically: true, encoding: .utf8)
    let a = try Self.needletail([
      "backtest", config, "--data", clean, "--report", "none", "--db", dir + "/a.sqlite",
    ])
    let b = try Self.needletail([
      "backtest", config, "--data", dirty, "--report", "none", "--db", dir + "/b.sqlite",
    ])
    #expect(a.status == 0 && b.status == 0, "\(a.err) \(b.err)")
    #expect(a.out.contains("bad lines 0 (0 unreadable"), "\(a.out)")
    #expect(b.out.contains("bad lines 4 (4 unreadable"), "\(b.out)")
    // Everything but the data line is the same: the bad lines took nothing away.
    func results(_ s: String) -> [String] {
      s.split(separator: "\n").map(String.init).filter { !$0.contains("data:") && !$0.contains("backtest:") }
    }
    #expect(results(a.out) == results(b.out), "\(a.out)\n\(b.out)")
    #expect((Self.number(#"fills (\d+) \("#, a.out) ?? 0) > 0, "\(a.out)")
  }

  @Test func missingOrDamagedFilesAreClearErrors() throws {
    if BinaryVenue.missing() { return }
    let dir = try Self.scratch()
    let config = try Self.exampleConfig(in: dir)
    let missing = try Self.needletail(["backtest", config, "--data", dir + "/nope.gz"])
    #expect(missing.status != 0)
    #expect(missing.err.contains("cannot read capture file \(dir)/nope.gz: no such file"), "\(missing.err)")
    // A gzip file cut short: read up to the cut, then refused by name.
    let whole = try Data(contentsOf: URL(fileURLWithPath: Self.capture))
    let cut = dir + "/cut.gz"
    try whole.prefix(whole.count / 3).write(to: URL(fileURLWithPath: cut))
    let c = try Self.needletail([
      "backtest", config, "--data", cut, "--report", "none", "--db", dir + "/c.sqlite",
    ])
    #expect(c.status != 0)
    #expect(c.err.contains("capture file \(cut) is damaged"), "\(c.out) \(c.err)")
    // Not a capture at all.
    let junk = dir + "/junk.gz"
    var rng = SystemRandomNumberGenerator()
    try Data((0..<100_000).map { _ in UInt8.random(in: 0...255, using: &rng) }).write(
      to: URL(fileURLWithPath: junk))
    let j = try Self.needletail([
      "backtest", config, "--data", junk, "--report", "none", "--db", dir + "/j.sqlite",
    ])
    #expect(j.status != 0)
    #expect(j.err.contains("no depth snapshot in \(junk)"), "\(j.err)")
    #expect(!j.err.contains("Fatal error") && !c.err.contains("Fatal error"))
    // A config without a backtest section.
    let plain = dir + "/plain.yml"
    let text = try String(contentsOfFile: config, encoding: .utf8)
    try String(text[..<text.range(of: "\nbacktest:")!.lowerBound]).write(
      toFile: plain, atomically: true, encoding: .utf8)
    let p = try Self.needletail(["backtest", plain])
    #expect(p.status != 0 && p.err.contains("no backtest: section"), "\(p.err)")
  }

  static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  /// Headless Chromium with `args`, in a network namespace of its own (it reaches nothing but
  /// the file it is given).
  static func chromium(_ args: [String]) throws -> (status: Int32, out: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
    p.arguments =
      [
        "--net", chromium!, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--user-data-dir="
          + FileManager.default.temporaryDirectory.appendingPathComponent("nt-chromium-\(UUID().uuidString)")
          .path,
        "--virtual-time-budget=5000",
      ] + args
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  @Test(.enabled(if: chromium != nil, "Debian's chromium is not installed (.ci/run installs it)"))
  func theReportRendersInChromiumWithTheSummarysFigures() throws {
    if BinaryVenue.missing() { return }
    let dir = try Self.scratch()
    let config = try Self.exampleConfig(in: dir)
    let report = dir + "/report.html"
    let r = try Self.needletail([
      "backtest", config, "--data", Self.capture, "--db", dir + "/r.sqlite", "--report", report,
    ])
    #expect(r.status == 0, "\(r.err)")
    let dom = try Self.chromium(["--dump-dom", "file://" + report])
    #expect(dom.status == 0)
    let html = dom.out
    #expect(html.contains("data-drawn=\"yes\""), "the report's script ran")
    func attr(_ id: String, _ name: String) -> Double? {
      Self.number("id=\"\(id)\"[^>]*data-\(name)=\"(-?[0-9.eE+-]+)\"", html)
        ?? Self.number("data-\(name)=\"(-?[0-9.eE+-]+)\"[^>]*id=\"\(id)\"", html)
    }
    let pnl = try #require(Self.number(#"PnL (-?[0-9.]+) USDT"#, r.out))
    let fills = try #require(Self.number(#"fills (\d+) \("#, r.out))
    let queue = try #require(Self.number(#"queue ahead at entry of maker fills (-?[0-9.]+) BTC"#, r.out))
    let invLow = try #require(Self.number(#"inventory (-?[0-9.]+) \.\."#, r.out))
    let invHigh = try #require(Self.number(#"\.\. (-?[0-9.]+) BTC"#, r.out))
    // The charts' figures, as the page drew them, equal the printed summary (to its decimals).
    #expect(abs((attr("chart-pnl", "final") ?? .nan) - pnl) < 1e-4 + 1e-9, "pnl chart vs \(pnl)")
    #expect(attr("chart-mid", "fills") == fills)
    #expect(attr("chart-latency", "count") == fills)
    #expect(abs((attr("chart-queue", "mean") ?? .nan) - queue) < 1e-6 + 1e-9)
    #expect(abs((attr("chart-inventory", "min") ?? .nan) - invLow) < 1e-6 + 1e-9)
    #expect(abs((attr("chart-inventory", "max") ?? .nan) - invHigh) < 1e-6 + 1e-9)
    // The screenshot is a picture, not a blank page.
    let png = dir + "/report.png"
    let shot = try Self.chromium(["--screenshot=" + png, "--window-size=1280,1400", "file://" + report])
    #expect(shot.status == 0)
    let stats = Process()
    stats.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
    stats.arguments = [
      URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Peers/png_stats.py")
        .path,
      png,
    ]
    let pipe = Pipe()
    stats.standardOutput = pipe
    try stats.run()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    stats.waitUntilExit()
    let nonWhite = Self.number(#"nonwhite (\d+)"#, text) ?? 0
    let colours = Self.number(#"colours (\d+)"#, text) ?? 0
    #expect(nonWhite > 20_000 && colours > 8, "screenshot: \(text)")
  }
}
