import Foundation
import Testing

/// The systemd unit the deployment guide installs (deploy/needletail@.service), as systemd reads
/// it: `systemd-analyze verify` on an instance of it with the guide's CPU drop-in, its ExecStart
/// pointed at the binary these tests built. Any warning (a misspelt key is only a warning to
/// systemd) fails the test; a misspelt copy shows the check would see one.
@Suite(.serialized) struct DeployTests {
  static let analyzer = "/usr/bin/systemd-analyze"
  static var haveAnalyzer: Bool { FileManager.default.isExecutableFile(atPath: analyzer) }

  static var unitFile: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("deploy/needletail@.service")
  }

  /// Runs `systemd-analyze verify needletail@btcusdt.service` over `unit` and `dropIn`.
  func verify(unit: String, dropIn: String) throws -> (status: Int32, output: String) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nt-unit-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let d = dir.appendingPathComponent("needletail@btcusdt.service.d")
    try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    try unit.write(to: dir.appendingPathComponent("needletail@.service"), atomically: true, encoding: .utf8)
    try dropIn.write(to: d.appendingPathComponent("cpus.conf"), atomically: true, encoding: .utf8)
    // Our unit directory first, then the system's.
    return try runToEnd(
      Self.analyzer, ["verify", "needletail@btcusdt.service"],
      environment: ["SYSTEMD_UNIT_PATH": dir.path + ":"])
  }

  @Test(.enabled(if: haveAnalyzer, "systemd-analyze is not installed"))
  func theUnitVerifiesCleanly() throws {
    if BinaryVenue.missing() { return }
    let text = try String(contentsOf: Self.unitFile, encoding: .utf8)
    #expect(text.contains("ExecStart=/usr/local/bin/needletail run /etc/needletail/%i.yml"))
    for line in [
      "EnvironmentFile=/etc/needletail/%i.env", "Restart=on-failure", "LimitMEMLOCK=infinity",
      "KillSignal=SIGTERM", "UMask=0077",
    ] {
      #expect(text.contains(line), "the unit has \(line)")
    }
    let unit = text.replacingOccurrences(of: "/usr/local/bin/needletail", with: BinaryVenue.binary)
    let dropIn = "[Service]\nCPUAffinity=0 1\n"
    let clean = try verify(unit: unit, dropIn: dropIn)
    #expect(clean.status == 0 && clean.output.isEmpty, "\(clean.output)")
    // The check sees what systemd would ignore.
    let misspelt = try verify(
      unit: unit.replacingOccurrences(of: "LimitMEMLOCK=", with: "LimitMEMLOK="), dropIn: dropIn)
    #expect(misspelt.output.contains("Unknown key 'LimitMEMLOK'"), "\(misspelt.output)")
    let badCPUs = try verify(unit: unit, dropIn: "[Service]\nCPUAffinty=0 1\n")
    #expect(badCPUs.output.contains("Unknown key 'CPUAffinty'"), "\(badCPUs.output)")
  }
}
