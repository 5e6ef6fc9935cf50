import Connectors
import Engine
import FastBook
import Foundation
import TestSupport
import Testing

@testable import Backtest

/// hftbacktest 2.4.4 runs the same quoter on the same capture (its own converter, its hash-map
/// book, no partial fills, 1 ms latency each way): every order — id, side, price, final status
/// (filled, cancelled, expired as a crossing post-only) and the exchange time of that event —
/// must be the same in both engines, for the risk-averse queue and two probabilistic ones.
@Suite(.serialized) struct GridQuoterDifferentialTests {
  static let models: [QueueModel] = [.riskAverse, .log2, .power(2)]

  /// hftbacktest's orders per model, from one run of the peer (its JIT compiles once).
  static let reference: Result<[String: [FixedGridQuoter.Done]], any Error> = Result {
    let capture = SharedData.url("data/market/binance-usdm/btcusdt_20240808.gz").path
    let python = CaptureRowsTests.hbtPython
    guard FileManager.default.isExecutableFile(atPath: python) else {
      throw ReferenceError(description: "hftbacktest is not installed: run scripts/setup.sh (\(python))")
    }
    let prefix = FileManager.default.temporaryDirectory.appendingPathComponent(
      "nt-hbt-grid-\(UUID().uuidString)-"
    )
    .path
    let peer = try PeerProcess(
      python, [CaptureRowsTests.peers + "/hbt_grid.py", capture, prefix] + models.map(\.description))
    defer { peer.stop() }
    guard peer.waitForLine("READY", timeout: 300) != nil else {
      throw ReferenceError(description: "hftbacktest: \(peer.text)")
    }
    var out: [String: [FixedGridQuoter.Done]] = [:]
    for m in models {
      let file = prefix + m.description.replacingOccurrences(of: ":", with: "") + ".csv"
      defer { try? FileManager.default.removeItem(atPath: file) }
      out[m.description] = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").map {
        line in
        let f = line.split(separator: ",")
        let status: SimulatedExchange.Status =
          f[3] == "FILLED" ? .filled : f[3] == "EXPIRED" ? .expired : .cancelled
        return FixedGridQuoter.Done(
          id: UInt64(f[0])!, side: f[1] == "BUY" ? .buy : .sell, tick: Int64(f[2])!, status: status,
          exchangeNs: Int64(f[4])!)
      }
    }
    return out
  }

  struct ReferenceError: Error, CustomStringConvertible { var description: String }

  static let rows: Result<(rows: [MarketRow], instrument: Instrument), any Error> = Result {
    let capture = SharedData.url("data/market/binance-usdm/btcusdt_20240808.gz").path
    guard let instrument = try BinanceCaptureReplay.inferInstrument(files: [capture]) else {
      throw ReferenceError(description: "no snapshot in \(capture)")
    }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("grid-\(getpid()).nttape").path
    defer { unlink(path) }
    try BinanceCaptureTape.record(files: [capture], instrument: instrument, to: path)
    var rows: [MarketRow] = []
    try MarketTape(path: path).forEachRow { rows.append($0) }
    return (rows, instrument)
  }

  @Test(arguments: models)
  func theGridQuoterFillsAsInHftbacktest(_ model: QueueModel) throws {
    let theirs = try #require(try Self.reference.get()[model.description])
    let (rows, instrument) = try Self.rows.get()
    let loop = BacktestEventLoop(
      rows: rows, tickSize: instrument.tickSize, quantityScale: instrument.quantityScale, lot: 0.001,
      model: model, entryNs: 1_000_000, responseNs: 1_000_000)
    let ours = FixedGridQuoter.run(loop)
    let filled = ours.filter { $0.status == .filled }.count
    #expect(ours.count == theirs.count && filled == theirs.filter { $0.status == .filled }.count)
    #expect(filled > 300 && ours.contains { $0.status == .expired }, "\(filled) fills")
    if let i = (0..<min(ours.count, theirs.count)).first(where: { ours[$0] != theirs[$0] }) {
      Issue.record("order \(i): ours \(ours[i]), hftbacktest \(theirs[i])")
    }
  }
}
