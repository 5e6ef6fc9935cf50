import Foundation
import Persistence
import Testing

/// The README's main command, as a user who comes back runs it: the real `needletail demo` three
/// times into one history file. Each demo's venue is new (its trade ids start again at 1), and
/// every run must still end with its history equal to its venue's record, and `needletail history`
/// must show each run's fills as its venue counted them.
@Suite(.serialized) struct DemoTests {
  /// Runs the binary with `args` to its end (killed after 120 s); its status and output.
  func needletail(_ args: [String]) throws -> (status: Int32, text: String) {
    let out = FileManager.default.temporaryDirectory.appendingPathComponent(
      "nt-demo-\(UUID().uuidString).txt")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    let handle = try FileHandle(forWritingTo: out)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: BinaryVenue.binary)
    p.arguments = args
    p.standardOutput = handle
    p.standardError = handle
    try p.run()
    let deadline = Date().addingTimeInterval(120)
    while p.isRunning && Date() < deadline { usleep(50_000) }
    if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    p.waitUntilExit()
    try handle.close()
    return (p.terminationStatus, try String(contentsOf: out, encoding: .utf8))
  }

  /// The first match of `pattern` in `text`: its capture groups.
  func groups(_ pattern: String, _ text: String) -> [String]? {
    guard let re = try? NSRegularExpression(pattern: pattern),
      let m = re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text))
    else { return nil }
    return (1..<m.numberOfRanges).map { String(text[Range(m.range(at: $0), in: text)!]) }
  }

  @Test func threeDemosIntoOneHistoryEachAgreeWithTheirVenue() throws {
    if BinaryVenue.missing() { return }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nt-demo-\(UUID().uuidString)")
      .path
    let db = dir + "/demo.sqlite"
    var records: [(run: String, trades: String, bought: String, sold: String)] = []
    for i in 1...3 {
      let (status, text) = try needletail([
        "demo", "--duration", "6", "--status-every", "60", "--seed", "1", "--data-dir", dir, "--db", db,
      ])
      #expect(status == 0, "demo \(i): \(text)")
      #expect(text.contains("history vs venue: the same"), "demo \(i): \(text)")
      guard
        let venue = groups(#"venue's record: (\d+) trades \(bought ([0-9.]+), sold ([0-9.]+)\)"#, text),
        let run = groups(#"history: run (\d+) in "#, text)
      else {
        Issue.record("demo \(i) printed no venue record or history line: \(text)")
        continue
      }
      #expect(run[0] == "\(i)")
      records.append((run[0], venue[0], venue[1], venue[2]))
    }
    #expect(records.count == 3)
    #expect(records.contains { $0.trades != "0" }, "no demo traded: the test shows nothing")
    // `needletail history`, run by run: each run's fills and quantities are its venue's.
    for r in records {
      let (status, text) = try needletail(["history", db, "--run", r.run])
      #expect(status == 0, "\(text)")
      #expect(text.contains("run \(r.run) (demo, BTCUSDT on demo 127.0.0.1:"), "\(text)")
      #expect(text.contains(" \(r.trades) fills\n"), "run \(r.run): venue had \(r.trades) trades: \(text)")
      #expect(text.contains("bought \(r.bought) BTC, sold \(r.sold) BTC"), "\(text)")
      #expect(!text.contains("CONFLICTS"), "\(text)")
    }
    let runs = try RunHistory.load(try TradeStore(path: db))
    #expect(runs.map(\.fills).map(String.init) == records.map(\.trades))
    #expect(Set(runs.map(\.run.venueID)).count == 3, "each demo's venue is a venue of its own")
  }
}
