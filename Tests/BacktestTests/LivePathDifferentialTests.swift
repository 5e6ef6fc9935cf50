import Connectors
import Engine
import FastBook
import Foundation
import TestSupport
import Testing

@testable import Backtest

/// The grid quoter on the live path — the capture's tape through Binance's book sync, the book
/// ring, the strategy host, the tracker and the Clock on data time (`Backtester`) — against
/// hftbacktest 2.4.4 running the same quoter (its converter, its own book, 1 ms latency each way,
/// no partial fills). Every fill must be the same: exchange time, side, price, quantity.
///
/// What may differ, and why: our strategy sees the book the venue's sequence rule has synced (it
/// goes live at the capture's first snapshot); hftbacktest's local book applies every row from the
/// first, snapshot or not. So hftbacktest can quote in the steps before the first snapshot and we
/// cannot; the orders it places there are the only ones allowed to differ, and the test checks
/// that they are all before our first order.
@Suite(.serialized) struct LivePathDifferentialTests {
  nonisolated(unsafe) static let tape: Result<(tape: MarketTape, instrument: Instrument), any Error> = Result
  {
    let capture = SharedData.url("data/market/binance-usdm/btcusdt_20240808.gz").path
    guard let inferred = try BinanceCaptureReplay.inferInstrument(files: [capture]) else {
      throw GridQuoterDifferentialTests.ReferenceError(description: "no snapshot in \(capture)")
    }
    var lot: Int64 = 1
    for _ in 0..<(inferred.quantityScale - 3) { lot *= 10 }
    let instrument = Instrument(
      symbol: "BTCUSDT", priceScale: inferred.priceScale, quantityScale: inferred.quantityScale,
      tickSize: inferred.tickSize, lotSize: lot)
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("live-\(getpid()).nttape").path
    try BinanceCaptureTape.record(files: [capture], instrument: instrument, to: path)
    let tape = try MarketTape(path: path)
    unlink(path)  // the mapping stays
    return (tape, instrument)
  }

  static func run(_ model: QueueModel) throws -> Backtester {
    let (tape, instrument) = try tape.get()
    let quoter = GridQuoter(quantity: instrument.lotSize, tickSize: instrument.tickSize)
    var s = Backtester.Settings()
    s.queue = model
    s.fills = .whole  // hftbacktest's no-partial-fill exchange
    s.clockTickNs = 100_000_000
    s.clockFromFirstEvent = true
    let bt = Backtester(
      tape: tape, instrument: instrument, strategy: quoter,
      tradingRule: TradingRule(tickSize: instrument.tickSize, stepSize: instrument.lotSize),
      limits: RiskLimits(), clientIDs: ClientIDCodec(unchecked: "bt"), settings: s
    ) { BinanceCaptureTape.bookFeed(.futures, instrument: instrument, sink: $0) }
    quoter.tracker = bt.host.tracker
    bt.run()
    return bt
  }

  @Test(arguments: GridQuoterDifferentialTests.models)
  func theGridQuoterFillsAsInHftbacktestOnTheLivePath(_ model: QueueModel) throws {
    let theirs = try #require(try GridQuoterDifferentialTests.reference.get()[model.description])
    let bt = try Self.run(model)
    let (_, instrument) = try Self.tape.get()
    struct F: Equatable, CustomStringConvertible {
      var ns: Int64, id: UInt64, side: TradeSide, tick: Int64
      var description: String { "#\(id) \(side) \(tick) at \(ns)" }
    }
    // Fills at one exchange time in order number (the exchange makes them in its own order).
    let mine = bt.fills.map {
      F(ns: $0.exchangeNs, id: $0.tag, side: $0.side, tick: $0.price / instrument.tickSize)
    }
    .sorted { ($0.ns, $0.id) < ($1.ns, $1.id) }
    #expect(bt.fills.allSatisfy { $0.quantity == instrument.lotSize && $0.maker })
    let firstOurs = bt.fills.map(\.sentNs).min() ?? 0
    let theirFills = theirs.filter { $0.status == .filled }.sorted {
      ($0.exchangeNs, $0.id) < ($1.exchangeNs, $1.id)
    }
    .map { F(ns: $0.exchangeNs, id: $0.id, side: $0.side, tick: $0.tick) }
    #expect(mine.count > 300, "\(mine.count) fills")
    // hftbacktest quoted in the steps before the first snapshot (its book had diffs by then):
    // its order numbers run ahead of ours by those orders, none of which filled.
    let early = (theirFills.first?.id ?? 0) - (mine.first?.id ?? 0)
    #expect(early % 2 == 0 && early < 20, "\(early) orders before our book was live")
    let before = theirs.filter { $0.id <= early }
    #expect(
      before.count == Int(early) && before.allSatisfy { $0.status != .filled && $0.exchangeNs < firstOurs })
    let ours = mine.map { F(ns: $0.ns, id: $0.id + early, side: $0.side, tick: $0.tick) }
    #expect(bt.lateRows == 0 && bt.sync.gaps == 0)
    #expect(bt.host.tracker.invalidTransitions == 0)
    if ours != theirFills {
      let n = min(ours.count, theirFills.count)
      let i = (0..<n).first { ours[$0] != theirFills[$0] } ?? n
      Issue.record(
        "fills: ours \(ours.count), hftbacktest \(theirFills.count); first difference at \(i): ours \(i < ours.count ? ours[i].description : "-"), theirs \(i < theirFills.count ? theirFills[i].description : "-"); our first order at \(firstOurs)"
      )
    }
  }
}
