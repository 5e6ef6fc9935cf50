import Connectors
import Engine
import FastBook
import Foundation
import TestSupport
import Testing

/// The rows a backtest replays, read from a real capture by the production decoder, against the
/// rows hftbacktest 2.4.4's own Binance-futures converter makes from the same file (installed by
/// scripts/setup.sh in `.build-peers/hftbacktest`): its exchange-side stream equals ours sorted
/// by venue time, its local-side stream ours sorted by receive time after the same shift of the
/// receive clock — row for row, kind, side, time, price and quantity.
@Suite(.serialized) struct CaptureRowsTests {
  static let hbtPython = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent(".build-peers/hftbacktest/bin/python").path

  static let peers = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
    "Peers"
  ).path

  struct Row: Equatable, CustomStringConvertible {
    var kind: MarketRow.Kind
    var side: Side
    var ns: Int64
    var price: Int64
    var quantity: Int64
    var description: String { "\(kind) \(side) t=\(ns) px=\(price) q=\(quantity)" }
  }

  @Test func rowsEqualHftbacktestsConversionOfTheSameCapture() throws {
    let capture = SharedData.url("data/market/binance-usdm/btcusdt_20240808.gz").path
    try #require(
      FileManager.default.isExecutableFile(atPath: Self.hbtPython),
      "hftbacktest is not installed: run scripts/setup.sh (\(Self.hbtPython))")
    let instrument = try #require(try BinanceCaptureReplay.inferInstrument(files: [capture]))
    let out = FileManager.default.temporaryDirectory.appendingPathComponent(
      "nt-hbt-rows-\(UUID().uuidString).bin")
    defer { try? FileManager.default.removeItem(at: out) }
    let peer = try PeerProcess(
      Self.hbtPython,
      [
        Self.peers + "/hbt_rows.py", capture, out.path, String(instrument.priceScale),
        String(instrument.quantityScale),
      ])
    defer { peer.stop() }
    try #require(peer.waitForLine("READY ", timeout: 120) != nil, "hftbacktest: \(peer.text)")
    let raw = try Data(contentsOf: out)
    let theirs: [[Int64]] = raw.withUnsafeBytes { b in
      let v = b.bindMemory(to: Int64.self)
      return stride(from: 0, to: v.count, by: 5).map { Array(v[$0..<$0 + 5]) }
    }

    let path = out.path + ".nttape"
    defer { unlink(path) }
    let header = try BinanceCaptureTape.record(files: [capture], instrument: instrument, to: path)
    var ours: [MarketRow] = []
    let tape = try MarketTape(path: path)
    tape.forEachRow { ours.append($0) }
    #expect(header.decodeErrors == 0 && header.skippedLines > 0 && tape.header == header)
    #expect(Int(header.rows) == ours.count)
    #expect(header.minLagNs == ours.map { $0.localNs - $0.exchangeNs }.min())
    // hftbacktest moves the receive clock forward when it runs behind the venue's (this
    // recorder's clock was ~1.27 s behind): by the largest lag, so that no row arrives before
    // it happened.
    let lag = ours.map { $0.localNs - $0.exchangeNs }.min() ?? 0
    let shift = lag < 0 ? -lag : 0
    #expect(shift > 1_000_000_000, "the capture's known clock offset")

    func convert(_ r: [Int64], local: Bool) -> Row? {
      let ev = UInt64(bitPattern: r[0])
      guard ev & (local ? 1 << 30 : 1 << 31) != 0 else { return nil }
      let kind: MarketRow.Kind
      switch ev & 0xFF {
      case 1: kind = .level
      case 2: kind = .trade
      case 3: kind = .clear
      case 4: kind = .snapshotLevel
      default: return nil
      }
      return Row(
        kind: kind, side: ev & (1 << 29) != 0 ? .bid : .ask, ns: local ? r[2] : r[1], price: r[3],
        quantity: r[4])
    }
    for local in [false, true] {
      let want = theirs.compactMap { convert($0, local: local) }
      // A stable sort: rows of one time keep their file order.
      let sorted = ours.enumerated().sorted {
        let a = local ? $0.element.localNs : $0.element.exchangeNs
        let b = local ? $1.element.localNs : $1.element.exchangeNs
        return a != b ? a < b : $0.offset < $1.offset
      }.map(\.element)
      let got = sorted.map {
        Row(
          kind: $0.kind, side: $0.side, ns: local ? $0.localNs + shift : $0.exchangeNs, price: $0.price,
          quantity: $0.quantity)
      }
      #expect(got.count == want.count, "\(local ? "local" : "exchange") rows")
      if let i = (0..<min(got.count, want.count)).first(where: { got[$0] != want[$0] }) {
        Issue.record("\(local ? "local" : "exchange") row \(i): ours \(got[i]), hftbacktest \(want[i])")
      }
    }
  }
}
