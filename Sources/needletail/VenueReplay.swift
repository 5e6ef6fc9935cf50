import ArgumentParser
import Backtest
import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import Venue

/// The scales a capture is written in (from its first depth snapshot), or a CLI error saying why
/// not (`dialect` names the capture format in it).
func captureInstrument(files: [String], symbol: String, dialect: String) throws -> Instrument {
  let inferred: Instrument?
  do {
    inferred = try BinanceCaptureReplay.inferInstrument(files: files, symbol: symbol)
  } catch {
    throw ValidationError("cannot read the captures: \(error)")
  }
  guard let inferred else {
    throw ValidationError(
      "no depth snapshot in \(files.joined(separator: ", ")): not a \(dialect) capture, or damaged (the instrument's scales come from its first snapshot)"
    )
  }
  return inferred
}

/// The tape of `files` at `instrument`'s scales: from `cacheDirectory` when one was made from
/// these very bytes (its key), else recorded there now. Returns it and a line saying which.
func cachedTape(files: [String], instrument: Instrument, cacheDirectory cache: String) throws -> (
  MarketTape, String
) {
  let key = try BinanceCaptureTape.key(files: files, instrument: instrument)
  try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
  let stem = ((files[0] as NSString).lastPathComponent as NSString).deletingPathExtension
  let tapePath = cache + "/" + stem + "-" + String(key, radix: 16) + ".nttape"
  if let t = try? MarketTape(path: tapePath), t.header.key == key {
    return (t, "tape: \(tapePath) (cached)")
  }
  let t0 = cplat_now_ns()
  do {
    try BinanceCaptureTape.record(files: files, instrument: instrument, to: tapePath)
  } catch {
    throw ValidationError("cannot read the captures: \(error)")
  }
  return (
    try MarketTape(path: tapePath),
    String(format: "tape: %@ (recorded in %.2f s)", tapePath, Double(cplat_now_ns() - t0) / 1e9)
  )
}

/// The Venue's replayed-flow mode: a capture's market, as its tape (the production decoder's
/// output), played into the venue's matching engine as the outside market. The messages go
/// through the venue's book sync (a snapshot joined to the diffs by their update ids, as the
/// exchange's own book evolved — not the file's order, in which the first diffs precede the
/// snapshot they follow), and what it gives is the market account's resting quantity at each
/// level; every trade is the market's taker against our orders by queue position. Messages play
/// on the receive clock (shifted as the backtest shifts it): a venue beside the trader, with no
/// feed latency. The venue's clock is the caller's to set to the capture's time.
///
/// `needletail venue --replay` paces it by the wall clock (`play(untilNs:)` from a timer); the
/// parity test steps it message by message in lockstep with a trading node (`playNext`).
final class VenueReplay {
  let tape: MarketTape
  let engine: MatchingEngine
  let symbol: String
  /// The receive clock's shift (the backtest's: no message received before it happened).
  let localShiftNs: Int64
  let feed: any TapeBookFeed
  let counts: Counts
  private(set) var at: Int
  private(set) var messages = 0
  var trades: Int { counts.trades }
  /// The capture time of the message last played (ns).
  private(set) var nowNs: Int64

  final class Counts {
    var trades = 0
  }

  /// The sync's events as the outside market's levels and trades.
  struct Sink: BookEventSink {
    let engine: MatchingEngine
    let symbol: String
    let counts: Counts
    mutating func emit(_ e: BookEvent) {
      let side: OrderSide = e.side == .bid ? .BUY : .SELL
      switch e.kind {
      case .level:
        engine.setMarketLevel(symbol: symbol, side: side, ticks: e.tick, quantity: e.quantity)
      case .snapshotBegin:
        // The snapshot replaces the market's whole book (ours stays).
        engine.clearMarket(symbol: symbol, side: .BUY, from: Int64.min)
        engine.clearMarket(symbol: symbol, side: .SELL, from: Int64.max)
      case .trade:
        counts.trades += 1
        engine.marketTrade(symbol: symbol, priceTicks: e.tick, quantity: e.quantity, aggressor: side)
      case .batchEnd, .reset:
        break
      }
    }
  }

  init(
    tape: MarketTape, engine: MatchingEngine, symbol: String, instrument: Instrument,
    rule: BinanceSyncRule = .spot
  ) {
    self.tape = tape
    self.engine = engine
    self.symbol = symbol
    let counts = Counts()
    self.counts = counts
    feed = BinanceCaptureTape.bookFeed(
      rule, instrument: instrument, into: Sink(engine: engine, symbol: symbol, counts: counts))
    localShiftNs = Backtester.localShift(tape)
    at = tape.bodyStart
    nowNs = Backtester.startNs(tape)
    engine.marketCrossesFill = true
  }

  var isDone: Bool { at >= tape.end }

  /// The capture time of the next message (nil at the end).
  var nextNs: Int64? {
    at < tape.end ? tape.message(at: at).pointee.localNs &+ localShiftNs : nil
  }

  /// Plays the next message into the engine; false at the end.
  @discardableResult
  func playNext() -> Bool {
    guard at < tape.end else { return false }
    let t = tape.message(at: at).pointee.localNs &+ localShiftNs
    nowNs = max(nowNs, t)
    feed.replay(tape, at: at, localNs: t)
    messages += 1
    at = tape.next(after: at)
    tape.release(before: at)
    return true
  }

  /// Plays every message received before `t` (capture time).
  func play(untilNs t: Int64) {
    while let n = nextNs, n <= t { playNext() }
  }

  /// Whether the market's book is synced to the capture (after its first snapshot).
  var isSynced: Bool { feed.isSynced }
}
