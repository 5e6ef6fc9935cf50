import Backtest
import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import TestSupport
import Testing
import Venue
import Wire

@testable import needletail

/// The same strategy over the same capture two ways: in the backtest (`Backtester`: the tape
/// through the book sync, runtime and tracker, the simulated exchange filling on its queue
/// model) and live against the Venue replaying that capture (`VenueReplay`, the replayed-flow
/// mode of `needletail venue --replay`): a trading node on the Binance connector over TLS on
/// loopback — REST snapshot, diff stream, WebSocket-API order entry, the account stream — on
/// the capture's clock, stepped in lockstep with the venue: each message is played, then the
/// loop runs until the node has applied the venue's book and every request and fill is answered
/// and tracked. The backtest runs with what that lockstep is: no feed latency (the exchange sees a
/// message when we do), no order latency, the risk-averse queue, partial fills.
///
/// What may differ, and why (the test checks each):
/// - **The venue's public book holds our own orders**, as any real venue's does; the backtest's
///   book is the capture's. At a tick where one of ours is the best price at the venue (the
///   market's side thinned past it), the live quoter quotes from it and the two runs place that
///   side at different prices. Such ticks are counted; at every other tick both place the same
///   orders, and every order placed alike in both runs fills alike (time, price, quantity).
/// - The venue queues our orders at one price behind each other in its level (FIFO); the
///   backtest counts our earlier orders' quantity at entry. The quoter cancels before it re-quotes,
///   so two of its orders never share a price here.
@Suite(.serialized) struct VenueParityTests {
  struct Placed: Hashable, CustomStringConvertible {
    var ns: Int64, tag: UInt64, side: TradeSide, price: Int64
    var description: String { "#\(tag) \(side) \(price) at \(ns)" }
  }
  struct Filled: Hashable, CustomStringConvertible {
    var ns: Int64, tag: UInt64, price: Int64, quantity: Int64
    var description: String { "#\(tag) \(quantity) at \(price), \(ns)" }
  }

  /// The grid quoter, recording what it placed and the best prices it quoted from.
  final class Recorder: Strategy {
    let inner: GridQuoter
    var placed: [Placed] = []
    var seen: [Int64: (bid: Int64?, ask: Int64?)] = [:]
    var fillEvents = 0
    var book: LadderBook?
    /// Live: the prices of our orders resting at the venue, read at each tick.
    var ours: () -> Set<Int64> = { [] }
    var oursAt: [Int64: Set<Int64>] = [:]
    init(_ inner: GridQuoter) { self.inner = inner }
    func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) {
      self.book = book
      inner.onBook(book, now: now, intents: &intents)
    }
    func onTick(now: Int64, intents: inout Intents) {
      let before = intents.places.count
      inner.onTick(now: now, intents: &intents)
      for p in intents.places[before...] {
        placed.append(Placed(ns: now, tag: p.tag, side: p.side, price: p.price))
      }
      if intents.places.count > before {
        seen[now] = (book?.bestBid?.tick, book?.bestAsk?.tick)
        oursAt[now] = ours()
      }
    }
    func onOrder(_ event: TrackerEvent, tag: UInt64, now: Int64, intents: inout Intents) {
      if case .filled = event { fillEvents += 1 }
    }
  }

  static let files = [SharedData.url("data/market/binance-spot/btcusdt_20240808.gz").path]

  static func instrument() throws -> Instrument {
    let inferred = try #require(try BinanceCaptureReplay.inferInstrument(files: files))
    var lot: Int64 = 1
    for _ in 0..<(inferred.quantityScale - 5) { lot *= 10 }  // 0.00001 BTC, spot's step
    return Instrument(
      symbol: "BTCUSDT", priceScale: inferred.priceScale, quantityScale: inferred.quantityScale,
      tickSize: inferred.tickSize, lotSize: lot)
  }

  static let tickNs: Int64 = 1_000_000_000

  @Test func theGridQuoterFillsTheSameOrdersInTheBacktestAndAtTheReplayingVenue() throws {
    let inst = try Self.instrument()
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("parity-\(getpid()).nttape").path
    try BinanceCaptureTape.record(files: Self.files, instrument: inst, to: path)
    let tape = try MarketTape(path: path)
    unlink(path)
    let quantity = 100 * inst.lotSize  // 0.001 BTC: trades at our price fill it in pieces
    let rule = TradingRule(tickSize: inst.tickSize, stepSize: inst.lotSize)

    // The backtest.
    let btQuoter = Recorder(GridQuoter(quantity: quantity, tickSize: inst.tickSize))
    var s = Backtester.Settings()
    s.queue = .riskAverse
    s.fills = .partial
    s.latency = .constant(entryNs: 0, responseNs: 0)
    s.clockTickNs = Self.tickNs
    let bt = Backtester(
      tape: tape, instrument: inst, strategy: btQuoter, tradingRule: rule, limits: RiskLimits(),
      clientIDs: ClientIDCodec(unchecked: "bt"), settings: s,
      exchangeSeesReceived: { BinanceCaptureTape.bookFeed(.spot, instrument: inst, into: $0) }
    ) { BinanceCaptureTape.bookFeed(.spot, instrument: inst, sink: $0) }
    btQuoter.inner.tracker = bt.host.tracker
    bt.run()
    let btFills = bt.fills.map {
      Filled(ns: $0.exchangeNs, tag: $0.tag, price: $0.price, quantity: $0.quantity)
    }

    // The venue replaying the capture, on the capture's clock.
    let time = SimulatedTime(startNs: Backtester.startNs(tape))
    let engine = MatchingEngine(clock: { time.nowNs / 1_000_000 })
    var sym = VenueSymbol(name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", instrument: inst)
    sym.maxNumOrders = 0
    sym.minQty = inst.lotSize
    sym.stepQty = inst.lotSize
    engine.addSymbol(sym)
    let unit: Int128 = 1_000_000_000_000_000_000
    engine.deposit(account: 1, asset: "USDT", units: 1_000_000 * unit)
    engine.deposit(account: 1, asset: "BTC", units: 100 * unit)
    let certs = try VenueHost.ensureCertificates(
      dataDir: FileManager.default.temporaryDirectory.appendingPathComponent("needletail-parity-\(getpid())")
        .path)
    let loop = try EventLoop()
    defer { loop.shutdown() }
    let host = try VenueHost(
      loop: loop, engine: engine, credentials: [VenueCredential(apiKey: "k1", account: 1, hmacSecret: "s1")],
      tls: TLSContext(server: certs.cert, keyFile: certs.key))
    defer { host.close() }
    host.rest.clockMs = { time.nowNs / 1_000_000 }
    let replay = VenueReplay(tape: tape, engine: engine, symbol: "BTCUSDT", instrument: inst)
    var liveFills: [Filled] = []
    let notify = engine.onMarketFill
    engine.onMarketFill = { e in
      if let t = e.trade, let tag = UInt64(e.order.clientOrderId.dropFirst(4)) {
        liveFills.append(
          Filled(ns: time.nowNs, tag: tag, price: t.priceTicks * inst.tickSize, quantity: t.qty))
      }
      notify?(e)
    }
    // The venue plays up to the capture's snapshot before the node connects (the backtest's book
    // is not live before it either).
    var centre: Int64 = 0
    while let t = replay.nextNs, !replay.isSynced {
      time.advance(to: t)
      replay.playNext()
    }
    centre = engine.depth(symbol: "BTCUSDT", limit: 1).bids.first?.tick ?? 0
    #expect(centre > 0)

    // The node, on the Binance connector, on the capture's clock.
    let liveQuoter = Recorder(GridQuoter(quantity: quantity, tickSize: inst.tickSize))
    let tracker = OrderTracker()
    let node = try BinanceSession(
      loop: loop, endpoint: .init(host: "127.0.0.1", port: host.port, serverName: "localhost"),
      tls: TLSContext(client: certs.ca), apiKey: "k1", secret: "s1", instrument: inst, strategy: liveQuoter,
      rule: rule, limits: RiskLimits(), prefix: "par-", tracker: tracker,
      clock: Clock(tickNs: Self.tickNs, start: Backtester.startNs(tape)), bookWindowTicks: 1 << 16,
      centreTick: centre, time: time)
    liveQuoter.inner.tracker = tracker
    liveQuoter.ours = { Set(engine.openOrders(account: 1, symbol: "BTCUSDT").map(\.priceTicks)) }
    node.start()
    defer { node.stop() }
    #expect(node.run(timeoutNs: 20_000_000_000) { node.ready })

    func applied() -> Bool {
      guard case .synced(let u) = node.marketData.sync.state else { return false }
      return u == engine.bookUpdateID(symbol: "BTCUSDT")
    }
    /// Runs the loop until the node holds the venue's book and every request and fill is done.
    func settle() -> Bool {
      node.run(timeoutNs: 10_000_000_000, wakeNs: 200_000) {
        if !applied() { host.streams.emitNow() }
        return applied() && node.pendingRequests == 0 && liveQuoter.fillEvents == liveFills.count
      }
    }
    var stuck = 0
    while let t = replay.nextNs {
      // The Clock's ticks before the message (the backtest ticks after every event of its time).
      while node.runtime.clock.nextTickNs < t {
        time.advance(to: node.runtime.clock.nextTickNs)
        if !settle() { stuck += 1 }
      }
      time.advance(to: t)
      replay.playNext()
      host.streams.emitNow()
      if !settle() { stuck += 1 }
      if stuck > 3 { break }
    }
    #expect(stuck == 0, "the node kept up with the venue at every step")
    #expect(replay.isDone)

    // Orders: placed alike at every tick where both runs quoted from the same best prices.
    let btPlaced = Set(btQuoter.placed)
    let livePlaced = Set(liveQuoter.placed.filter { $0.ns <= btQuoter.placed.last?.ns ?? 0 })
    let onlyBt = btPlaced.subtracting(livePlaced)
    let onlyLive = livePlaced.subtracting(btPlaced)
    var explained = 0
    for p in onlyBt.union(onlyLive) {
      let b = btQuoter.seen[p.ns]
      let l = liveQuoter.seen[p.ns]
      // The live quoter quoted from a different best price on that side than the backtest, and
      // that best was an order of ours at the venue.
      let live = p.side == .buy ? l?.bid : l?.ask
      let differs = p.side == .buy ? b?.bid != l?.bid : b?.ask != l?.ask
      if differs, let live, liveQuoter.oursAt[p.ns]?.contains(live) == true {
        explained += 1
      } else {
        Issue.record("placed in one run only, not explained by our own order at the venue's best: \(p)")
      }
    }
    // Fills of the orders placed alike: equal, piece for piece.
    let alike = Set(btPlaced.intersection(livePlaced).map(\.tag))
    let btAlike = btFills.filter { alike.contains($0.tag) }.sorted { ($0.ns, $0.tag) < ($1.ns, $1.tag) }
    let liveAlike = liveFills.filter { alike.contains($0.tag) }.sorted { ($0.ns, $0.tag) < ($1.ns, $1.tag) }
    #expect(btAlike == liveAlike)
    if btAlike != liveAlike {
      let bs = Set(btAlike)
      let ls = Set(liveAlike)
      print("backtest only: \(bs.subtracting(ls).sorted { $0.ns < $1.ns }.prefix(10))")
      print("venue only: \(ls.subtracting(bs).sorted { $0.ns < $1.ns }.prefix(10))")
    }
    #expect(btPlaced.count > 500 && btAlike.count > 100)
    // No order was left waiting at the end that the other run did not have.
    #expect(liveQuoter.placed.count == btQuoter.placed.count)
    print(
      "parity: \(btPlaced.count) orders in the backtest, \(livePlaced.count) at the venue, \(alike.count) alike; \(explained) placed differently where the venue's best was our own order; fills of the alike: \(btAlike.count) backtest, \(liveAlike.count) venue; all fills \(btFills.count) / \(liveFills.count); \(replay.messages) messages, \(replay.trades) trades"
    )
  }

  /// `needletail venue --replay` as a user runs it, on both spot files back to back (fast): the
  /// venue says when the capture is played, and its REST depth, read by curl, is the capture's
  /// final book — every level of it (the manifest's 1,971 bids and 2,962 asks), its top equal to
  /// the book the production sync rebuilds from the same files.
  @Test func theVenueCommandReplaysACaptureToItsFinalBook() throws {
    if BinaryVenue.missing() { return }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nt-replay-\(UUID().uuidString)")
      .path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let config = VenueConfig.example.replacingOccurrences(
      of: "data_dir: .needletail/venue", with: "data_dir: \(dir)/venue")
    try config.write(toFile: dir + "/venue.yml", atomically: true, encoding: .utf8)
    let files = ["btcusdt_20240808.gz", "btcusdt_20240809.gz"].map {
      SharedData.url("data/market/binance-spot/\($0)").path
    }
    let venue = try PeerProcess(
      BinaryVenue.binary,
      ["venue", "--config", dir + "/venue.yml", "--port", "0", "--replay"] + files + [
        "--speed", "2000", "--duration", "120",
      ],
      environment: ["NEEDLETAIL_VENUE_SECRET": "s3cret", "XDG_CACHE_HOME": dir + "/cache"], directory: dir)
    defer { venue.stop() }
    let listening = try #require(venue.waitForLine("venue listening on https://127.0.0.1:", timeout: 60))
    let port = try #require(listening.split(separator: " ").first.map(String.init))
    let done = try #require(venue.waitForLine("replay finished: ", timeout: 60), "\(venue.text)")
    #expect(done.hasPrefix("26400 messages, 19904 trades"), "\(done)")  // every trade of the manifest
    #expect(!venue.text.contains("s3cret"))
    let curl = try PeerProcess(
      "/usr/bin/curl",
      [
        "-s", "-o", dir + "/depth.json", "--cacert", dir + "/venue/ca.pem",
        "https://127.0.0.1:\(port)/api/v3/depth?symbol=BTCUSDT&limit=5000",
      ])
    curl.process.waitUntilExit()
    let body = try Data(contentsOf: URL(fileURLWithPath: dir + "/depth.json"))
    let json = try #require(try JSONSerialization.jsonObject(with: body) as? [String: Any])
    let bids = try #require(json["bids"] as? [[String]])
    let asks = try #require(json["asks"] as? [[String]])
    #expect(bids.count == 1971 && asks.count == 2962)
    // The production sync's final book of the same files.
    let inst = try #require(try BinanceCaptureReplay.inferInstrument(files: files))
    let tape = try MarketTape(path: try Self.recorded(files, inst))
    final class Top { var bid = 0.0, ask = 0.0 }
    struct TopSink: BookEventSink {
      let top: Top
      let engine: MatchingEngine
      mutating func emit(_ e: BookEvent) {
        if e.kind == .level {
          engine.setMarketLevel(
            symbol: "BTCUSDT", side: e.side == .bid ? .BUY : .SELL, ticks: e.tick, quantity: e.quantity)
        }
      }
    }
    let engine = MatchingEngine()
    engine.addSymbol(VenueSymbol(name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", instrument: inst))
    let feed = BinanceCaptureTape.bookFeed(.spot, instrument: inst, into: TopSink(top: Top(), engine: engine))
    var o = tape.bodyStart
    while o < tape.end {
      feed.replay(tape, at: o, localNs: 0)
      o = tape.next(after: o)
    }
    let d = engine.depth(symbol: "BTCUSDT", limit: 1)
    func price(_ tick: Int64) -> Double { Double(tick * inst.tickSize) / pow(10, Double(inst.priceScale)) }
    #expect(Double(bids[0][0]) == price(d.bids[0].tick) && Double(asks[0][0]) == price(d.asks[0].tick))
  }

  static func recorded(_ files: [String], _ inst: Instrument) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("parity-top-\(getpid()).nttape")
      .path
    try BinanceCaptureTape.record(files: files, instrument: inst, to: path)
    return path
  }
}
