import Connectors
import Engine
import FastBook
import Foundation
import TestSupport
import Testing
import Venue
import Wire

/// The live book path against the venue: skipped diffs and forced disconnects; the book is reset
/// and rebuilt each time and ends equal to the venue's.
@Suite(.serialized) struct BinanceMarketDataTests {
  final class BookSink: BookEventSink {
    var applier: BookEventApplier
    var resets = 0
    init(book: LadderBook) { applier = BookEventApplier(book: book) }
    func emit(_ e: BookEvent) {
      if e.kind == .reset { resets += 1 }
      _ = applier.apply(e)
    }
  }
  struct SinkRef: BookEventSink {
    let sink: BookSink
    mutating func emit(_ e: BookEvent) { sink.emit(e) }
  }

  @Test func bookSurvivesGapsAndDisconnects() throws {
    let certs = try VenueHost.ensureCertificates(
      dataDir: FileManager.default.temporaryDirectory.appendingPathComponent(
        "needletail-md-\(UUID().uuidString)"
      ).path)
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let inst = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)
    var sym = VenueSymbol(name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", instrument: inst)
    sym.maxNumOrders = 0
    let engine = MatchingEngine(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
    engine.addSymbol(sym)
    var market = SyntheticMarket.Parameters()
    market.startTicks = 6_000_000
    market.seed = 3
    let host = try VenueHost(
      loop: loop, engine: engine, credentials: [], tls: TLSContext(server: certs.cert, keyFile: certs.key),
      market: market)
    host.streams.forcedDisconnectNs = 1_500_000_000
    // A skipped diff every 0.7 s.
    var stopFaults = false
    func skipLater() {
      loop.schedule(after: 700_000_000) {
        if stopFaults { return }
        host.streams.skipNextDiff = true
        skipLater()
      }
    }
    skipLater()
    let book = LadderBook(instrument: inst)
    let sink = BookSink(book: book)
    let md = BinanceMarketData(
      loop: loop, host: "127.0.0.1", port: host.port, tls: try TLSContext(client: certs.ca),
      serverName: "localhost",
      symbol: "BTCUSDT", instrument: inst, sink: SinkRef(sink: sink))
    md.start()
    loop.run(timeoutNs: 4_000_000_000) { false }
    // Stop the faults; the market keeps moving, so compare the moment our book's update id equals
    // the venue's (between two diffs).
    stopFaults = true
    let venueID = { engine.bookUpdateID(symbol: "BTCUSDT") }
    var frozen = false
    #expect(
      loop.run(timeoutNs: 10_000_000_000) {
        if case .synced(let u) = md.sync.state, u == venueID() { frozen = true }
        return frozen
      })
    let ours = (book.levels(.bid, limit: 50), book.levels(.ask, limit: 50))
    let theirs = engine.depth(symbol: "BTCUSDT", limit: 50)
    #expect(
      ours.0 == theirs.bids && ours.1 == theirs.asks, "the book equals the venue's at the same update id")
    #expect(md.sync.counters.gaps >= 2, "skipped diffs were detected: \(md.sync.counters)")
    #expect(md.snapshotsFetched >= 3 && sink.resets >= 2)
    #expect(md.reconnects >= 1, "forced disconnects were survived")
    md.stop()
  }
}
