import CSimdJSON
import Connectors
import FastBook
import Foundation
import TestSupport
import Testing

@testable import Venue

/// The real spot capture's files, its instrument, and a venue engine with that symbol.
func captureVenue() throws -> (files: [String], instrument: Instrument, engine: MatchingEngine) {
  let files = ["btcusdt_20240808.gz", "btcusdt_20240809.gz"].map {
    SharedData.url("data/market/binance-spot/\($0)").path
  }
  let inst = try #require(try BinanceCaptureReplay.inferInstrument(files: files))
  var sym = VenueSymbol(name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", instrument: inst)
  sym.maxNumOrders = 0
  let engine = MatchingEngine()
  engine.addSymbol(sym)
  return (files, inst, engine)
}

/// Feeds a capture through the decoder into `sync` (every diff, and the snapshot while it waits
/// for one); `afterDiff` runs after each diff, `other` gets every other message.
func feedCapture<S: BookEventSink>(
  _ files: [String], decoder dec: BinanceMarketDecoder, sync: inout BinanceBookSync<S>,
  afterDiff: () throws -> Void = {},
  other: (nt_binance_msg) -> Void
) throws {
  for f in files {
    let r = try GzipLineReader(path: f)
    while let line = r.nextLine() {
      let (ts, json) = splitCaptureLine(line)
      guard dec.decode(json.baseAddress!, count: json.count, readable: json.count + Int(NT_PADDING)) == NT_OK
      else {
        continue
      }
      let m = dec.message.pointee
      switch m.kind {
      case NT_MSG_DEPTH_UPDATE:
        withUnsafePointer(to: m.depth) { sync.onDiff($0, bids: dec.bids, asks: dec.asks, localTimeNs: ts) }
        try afterDiff()
      case NT_MSG_DEPTH_SNAPSHOT:
        if case .awaitingSnapshot = sync.state {
          sync.onSnapshot(
            lastUpdateID: m.depth.last_update_id, bids: dec.bids, asks: dec.asks, localTimeNs: ts)
        }
      default:
        other(m)
      }
    }
  }
}

/// The real spot capture, replayed into the venue as the outside market's quotes.
@Suite struct VenueCaptureTests {
  /// At every bookTicker-confirmed point the venue's top of book equals the capture's, exactly.
  @Test func replayedCaptureReproducesTheTopOfBook() throws {
    let (files, inst, engine) = try captureVenue()

    /// Applies the sync's clean batches to the venue; records the venue's top at each diff's end.
    struct VenueSink: BookEventSink {
      let engine: MatchingEngine
      var tops: [Int64: TopOfBook] = [:]
      mutating func emit(_ e: BookEvent) {
        switch e.kind {
        case .level:
          engine.setMarketLevel(
            symbol: "BTCUSDT", side: e.side == .bid ? .BUY : .SELL, ticks: e.tick, quantity: e.quantity)
        case .batchEnd where !e.isSnapshotEnd:
          let d = engine.depth(symbol: "BTCUSDT", limit: 1)
          tops[e.updateID] = TopOfBook(updateID: e.updateID, bid: d.bids.first, ask: d.asks.first)
        default: break
        }
      }
    }
    let dec = BinanceMarketDecoder(instrument: inst, maxMessageBytes: 1 << 20, levelCapacity: 5000)
    var sync = BinanceBookSync(rule: .spot, instrument: inst, sink: VenueSink(engine: engine))
    defer { sync.deallocate() }
    var tickers: [Int64: TopOfBook] = [:]
    try feedCapture(files, decoder: dec, sync: &sync) { m in
      if m.kind == NT_MSG_BOOK_TICKER {
        tickers[m.ticker.update_id] = TopOfBook(
          updateID: m.ticker.update_id, bid: BookLevel(tick: m.ticker.bid_price, quantity: m.ticker.bid_qty),
          ask: BookLevel(tick: m.ticker.ask_price, quantity: m.ticker.ask_qty))
      }
    }
    #expect(sync.counters.gaps == 0 && sync.counters.applied == 6493)
    var confirmed = 0
    var mismatched = 0
    for (u, top) in sync.sink.tops {
      guard let t = tickers[u] else { continue }
      if t == top { confirmed += 1 } else { mismatched += 1 }
    }
    #expect(confirmed == 1072 && mismatched == 0)
    // The whole final book, too.
    let d = engine.depth(symbol: "BTCUSDT", limit: 10_000)
    #expect(d.bids.count == 1971 && d.asks.count == 2962)
  }
}

@Suite struct VenueQueueTests {
  /// Our bid joins the back of the best bid's queue during the real capture; replayed trades fill
  /// it only once the quantity that was ahead of it has traded (or a trade goes through its price).
  @Test func ourOrderFillsByQueuePositionAgainstReplayedTrades() throws {
    let (files, inst, engine) = try captureVenue()
    let unit: Int128 = 1_000_000_000_000_000_000
    engine.deposit(account: 1, asset: "USDT", units: 1_000_000 * unit)
    let supply = engine.totalSupply("USDT")
    struct Sink: BookEventSink {
      let engine: MatchingEngine
      mutating func emit(_ e: BookEvent) {
        if e.kind == .level {
          engine.setMarketLevel(
            symbol: "BTCUSDT", side: e.side == .bid ? .BUY : .SELL, ticks: e.tick, quantity: e.quantity)
        }
      }
    }
    let dec = BinanceMarketDecoder(instrument: inst, maxMessageBytes: 1 << 20, levelCapacity: 5000)
    var sync = BinanceBookSync(rule: .spot, instrument: inst, sink: Sink(engine: engine))
    defer { sync.deallocate() }
    var diffs = 0
    var ours: VenueOrder? = nil
    var queueAtJoin: Int64 = 0
    var tradedAtPrice: Int64 = 0
    var throughBeforeFill = false
    var firstFillAfter: Int64? = nil
    try feedCapture(
      files, decoder: dec, sync: &sync,
      afterDiff: {
        diffs += 1
        if diffs == 200, let best = engine.depth(symbol: "BTCUSDT", limit: 1).bids.first {
          var o = NewOrder(account: 1, symbol: "BTCUSDT", side: .BUY, type: .LIMIT)
          o.priceTicks = best.tick
          o.quantity = 50_000_000  // 0.5 BTC
          ours = try engine.place(o).order
          queueAtJoin = ours!.queueAhead
        }
      }
    ) { m in
      guard m.kind == NT_MSG_TRADE else { return }
      let aggressor: OrderSide = m.trade.buyer_is_maker == 1 ? .SELL : .BUY
      if let o = ours, aggressor == .SELL {
        if m.trade.price == o.priceTicks { tradedAtPrice += m.trade.qty }
        if m.trade.price < o.priceTicks && firstFillAfter == nil { throughBeforeFill = true }
      }
      let fills = engine.marketTrade(
        symbol: "BTCUSDT", priceTicks: m.trade.price, quantity: m.trade.qty, aggressor: aggressor)
      if !fills.isEmpty && firstFillAfter == nil { firstFillAfter = tradedAtPrice }
    }
    let o = try engine.order(account: 1, symbol: "BTCUSDT", orderId: try #require(ours).orderId)
    #expect(queueAtJoin > 0, "it joined behind the level's existing quantity")
    #expect(o.executedQty > 0, "the real flow reached it")
    // Unless a trade went through its price first, it filled only after the queue ahead traded.
    if !throughBeforeFill, let after = firstFillAfter { #expect(after > queueAtJoin) }
    #expect(engine.myTrades(account: 1, symbol: "BTCUSDT").allSatisfy { $0.priceTicks == o.priceTicks })
    #expect(engine.totalSupply("USDT") == supply, "nothing created or destroyed")
  }
}
