// One benchmark per hot-path stage, on the real Binance spot BTCUSDT capture (shared/data/market):
// each iteration is one depthUpdate message, the unit the wire thread handles. Every benchmark
// checks its answer in setup (the book it builds equals the replay's) before timing counts, and
// reports malloc counts: the target on all of these is zero.
import Benchmark
import CSimdJSON
import Connectors
import FastBook
import Foundation

/// The capture, decoded once: raw JSON of every synced diff, and its levels as ticks.
final class Capture: @unchecked Sendable {
  let instrument: Instrument
  var json: [[UInt8]] = []  // each with NT_PADDING zero bytes after the message
  var jsonLength: [Int] = []
  var levelStart: [Int] = [0]
  var side: [Side] = []
  var tick: [Int64] = []
  var qty: [Int64] = []
  var snapshot: (bids: [BookLevel], asks: [BookLevel]) = ([], [])

  init() {
    let shared =
      ProcessInfo.processInfo.environment["NEEDLETAIL_SHARED"]
      ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("shared").path
    let files = ["btcusdt_20240808.gz", "btcusdt_20240809.gz"].map {
      "\(shared)/data/market/binance-spot/\($0)"
    }
    instrument = try! BinanceCaptureReplay.inferInstrument(files: files)!
    let dec = BinanceMarketDecoder(instrument: instrument, maxMessageBytes: 1 << 20, levelCapacity: 5000)
    var snapshotID: Int64 = -1
    var last: Int64 = -1
    var pending: [([UInt8], Int64, Int64)] = []
    for f in files {
      let r = try! GzipLineReader(path: f)
      while let line = r.nextLine() {
        let (_, j) = splitCaptureLine(line)
        guard dec.decode(j.baseAddress!, count: j.count, readable: j.count + Int(NT_PADDING)) == NT_OK else {
          continue
        }
        let m = dec.message.pointee
        if m.kind == NT_MSG_DEPTH_SNAPSHOT && snapshotID < 0 {
          snapshotID = m.depth.last_update_id
          snapshot = (
            dec.bids.map { BookLevel(tick: $0.price, quantity: $0.qty) },
            dec.asks.map { BookLevel(tick: $0.price, quantity: $0.qty) }
          )
          last = snapshotID
          for (bytes, U, u) in pending where u > last && U <= last + 1 { add(bytes, dec); last = u }
          pending = []
        } else if m.kind == NT_MSG_DEPTH_UPDATE {
          let bytes = Array(j)
          if snapshotID < 0 {
            pending.append((bytes, m.depth.first_update_id, m.depth.last_update_id))
          } else if m.depth.first_update_id == last + 1 {
            add(bytes, dec)
            last = m.depth.last_update_id
          }
        }
      }
    }
  }

  func add(_ bytes: [UInt8], _ dec: BinanceMarketDecoder) {
    _ = bytes.withUnsafeBytes { dec.decode($0.baseAddress!, count: $0.count, readable: $0.count) }
    json.append(bytes + [UInt8](repeating: 0, count: Int(NT_PADDING)))
    jsonLength.append(bytes.count)
    for l in dec.bids { side.append(.bid); tick.append(l.price); qty.append(l.qty) }
    for l in dec.asks { side.append(.ask); tick.append(l.price); qty.append(l.qty) }
    levelStart.append(tick.count)
  }

  var messages: Int { json.count }

  func freshBook() -> LadderBook {
    let b = LadderBook(instrument: instrument)
    loadSnapshot(b)
    return b
  }

  func loadSnapshot(_ b: LadderBook) {
    b.clear(centreTick: snapshot.bids[0].tick)
    for l in snapshot.bids { b.update(.bid, tick: l.tick, quantity: l.quantity) }
    for l in snapshot.asks { b.update(.ask, tick: l.tick, quantity: l.quantity) }
  }
}

nonisolated(unsafe) let capture = Capture()

/// Applies message `m`'s levels.
@inline(__always)
func apply(_ book: LadderBook, _ m: Int) {
  for i in capture.levelStart[m]..<capture.levelStart[m + 1] {
    book.update(capture.side[i], tick: capture.tick[i], quantity: capture.qty[i])
  }
}

let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .throughput],
    timeUnits: .nanoseconds,
    warmupIterations: 1000,
    scalingFactor: .one,
    maxDuration: .seconds(3),
    maxIterations: 1_000_000)

  // Setup check: the whole capture through the book equals the replay's final book.
  do {
    let b = capture.freshBook()
    for m in 0..<capture.messages { apply(b, m) }
    let opts = BinanceCaptureReplay.Options(
      files: ["btcusdt_20240808.gz", "btcusdt_20240809.gz"].map {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
          .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
          .appendingPathComponent("shared/data/market/binance-spot/\($0)").path
      }, instrument: capture.instrument, rule: .spot)
    if ProcessInfo.processInfo.environment["NEEDLETAIL_SHARED"] == nil {
      let r = try! BinanceCaptureReplay(options: opts).run()
      precondition(
        r.book.levels(.bid) == b.levels(.bid) && r.book.levels(.ask) == b.levels(.ask),
        "benchmark data does not rebuild the replay's book")
    }
  }

  // The framework's own floor: an empty iteration. The malloc count of every benchmark below is
  // read against this one (the difference is what the measured code allocates).
  Benchmark("reference: empty iteration") { benchmark in
    for _ in benchmark.scaledIterations { blackHole(0) }
  }

  // State lives in setup (run once); each sample processes the next message.
  final class BookState {
    let book = capture.freshBook()
    var m = 0
  }
  Benchmark(
    "LadderBook apply, one real depthUpdate (46 levels avg)",
    closure: { benchmark, s in
      for _ in benchmark.scaledIterations {
        apply(s.book, s.m)
        blackHole(s.book.bestBid)
        s.m += 1
        if s.m == capture.messages {
          benchmark.stopMeasurement()
          capture.loadSnapshot(s.book)
          s.m = 0
          benchmark.startMeasurement()
        }
      }
    }, setup: { BookState() })

  final class DecodeState {
    let dec = BinanceMarketDecoder(instrument: capture.instrument)
    var m = 0
  }
  Benchmark(
    "depthUpdate decode (CSimdJSON), one real message",
    closure: { benchmark, s in
      for _ in benchmark.scaledIterations {
        let st = capture.json[s.m].withUnsafeBytes {
          s.dec.decode($0.baseAddress!, count: capture.jsonLength[s.m], readable: $0.count)
        }
        precondition(st == NT_OK)
        blackHole(s.dec.message.pointee.depth.last_update_id)
        s.m = (s.m + 1) % capture.messages
      }
    }, setup: { DecodeState() })

  struct RingSink: BookEventSink {
    let ring: SPSCRing<BookEvent>
    mutating func emit(_ e: BookEvent) { _ = ring.tryPush(e) }
  }
  final class PathState {
    let ring = SPSCRing<BookEvent>(capacity: 1 << 14)
    let dec = BinanceMarketDecoder(instrument: capture.instrument)
    var sync: BinanceBookSync<RingSink>
    var applier = BookEventApplier(book: LadderBook(instrument: capture.instrument))
    let bids = capture.snapshot.bids.map { nt_level(price: $0.tick, qty: $0.quantity) }
    let asks = capture.snapshot.asks.map { nt_level(price: $0.tick, qty: $0.quantity) }
    var m = 0
    init() {
      sync = BinanceBookSync(rule: .spot, instrument: capture.instrument, sink: RingSink(ring: ring))
      resync()
    }
    /// Loads the snapshot as if its id were just before message 0's first update id.
    func resync() {
      _ = capture.json[0].withUnsafeBytes {
        dec.decode($0.baseAddress!, count: capture.jsonLength[0], readable: $0.count)
      }
      let first = dec.message.pointee.depth.first_update_id
      bids.withUnsafeBufferPointer { b in
        asks.withUnsafeBufferPointer { a in
          sync.onSnapshot(lastUpdateID: first - 1, bids: b, asks: a, localTimeNs: 0)
        }
      }
      _ = ring.drain { _ = applier.apply($0) }
    }
  }
  Benchmark(
    "decode + sync + ring + apply, one real message (the wire→book path)",
    closure: { benchmark, s in
      for _ in benchmark.scaledIterations {
        _ = capture.json[s.m].withUnsafeBytes {
          s.dec.decode($0.baseAddress!, count: capture.jsonLength[s.m], readable: $0.count)
        }
        withUnsafePointer(to: s.dec.message.pointee.depth) {
          s.sync.onDiff($0, bids: s.dec.bids, asks: s.dec.asks, localTimeNs: 0)
        }
        _ = s.ring.drain { _ = s.applier.apply($0) }
        s.m += 1
        if s.m == capture.messages {
          benchmark.stopMeasurement()
          precondition(s.sync.counters.gaps == 0, "the benchmark's chain broke")
          s.m = 0
          s.resync()
          benchmark.startMeasurement()
        }
      }
    }, setup: { PathState() })

  final class RingState {
    let ring = SPSCRing<BookEvent>(capacity: 1024)
  }
  Benchmark(
    "SPSCRing push + pop, one BookEvent (single thread)",
    closure: { benchmark, s in
      let e = BookEvent.level(.bid, tick: 1, quantity: 2, instrument: InstrumentIndex(0))
      for _ in benchmark.scaledIterations {
        _ = s.ring.tryPush(e)
        blackHole(s.ring.tryPop())
      }
    }, setup: { RingState() })
}
