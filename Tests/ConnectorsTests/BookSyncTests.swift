import CSimdJSON
import Connectors
import FastBook
import Foundation
import TestSupport
import Testing

/// Collects events; applies them to a book like the consumer thread does.
struct RecordingSink: BookEventSink {
  var events: [BookEvent] = []
  mutating func emit(_ event: BookEvent) { events.append(event) }
}

let testInstrument = Instrument(symbol: "T", priceScale: 2, quantityScale: 2, tickSize: 1, lotSize: 1)

@Suite struct BookSyncTests {
  /// Drives a sync with JSON messages through the real decoder.
  final class Driver {
    let decoder = BinanceMarketDecoder(instrument: testInstrument)
    var sync: BinanceBookSync<RecordingSink>
    let applier: BookEventApplierBox
    init(rule: BinanceSyncRule) {
      sync = BinanceBookSync(
        rule: rule, instrument: testInstrument, sink: RecordingSink(), bufferedDiffCapacity: 4)
      applier = BookEventApplierBox(book: LadderBook(instrument: testInstrument))
    }
    func feed(_ json: String) {
      let st = decoder.decode(Array(json.utf8))
      precondition(st == NT_OK, "\(json): \(BinanceMarketDecoder.describe(st))")
      let m = decoder.message
      if m.pointee.kind == NT_MSG_DEPTH_SNAPSHOT {
        sync.onSnapshot(
          lastUpdateID: m.pointee.depth.last_update_id, bids: decoder.bids, asks: decoder.asks, localTimeNs: 0
        )
      } else {
        withUnsafePointer(to: m.pointee.depth) {
          sync.onDiff($0, bids: decoder.bids, asks: decoder.asks, localTimeNs: 0)
        }
      }
      for e in sync.sink.events { _ = applier.applier.apply(e) }
      sync.sink.events.removeAll()
    }
    var book: LadderBook { applier.applier.book }
  }

  final class BookEventApplierBox {
    var applier: BookEventApplier
    init(book: LadderBook) { applier = BookEventApplier(book: book) }
  }

  static func diff(_ U: Int, _ u: Int, pu: Int? = nil, bid: String = "1.00", qty: String = "1") -> String {
    let puField = pu.map { #","pu":\#($0)"# } ?? ""
    return
      #"{"e":"depthUpdate","E":1,"s":"T","U":\#(U),"u":\#(u)\#(puField),"b":[["\#(bid)","\#(qty)"]],"a":[]}"#
  }
  static let snapshot = #"{"lastUpdateId":100,"bids":[["1.00","5"],["0.99","1"]],"asks":[["1.01","2"]]}"#

  /// A snapshot that arrives before any diff: the first diff after it is judged by Binance's
  /// first-event rule (it brackets lastUpdateId+1), not by chaining — one sent before the snapshot
  /// was taken can start below it. A first diff that starts above lastUpdateId+1 is still a gap.
  @Test func firstDiffAfterAnUnbufferedSnapshotMayBracketIt() {
    let d = Driver(rule: .spot)
    d.feed(Self.snapshot)
    d.feed(Self.diff(95, 101, bid: "0.98", qty: "3"))
    #expect(d.sync.state == .synced(lastUpdateID: 101))
    #expect(d.sync.counters.gaps == 0)
    #expect(d.book.quantity(.bid, at: 98) == 300)
    d.feed(Self.diff(90, 102))  // later diffs must chain again
    #expect(d.sync.counters.gaps == 1 && d.sync.state == .awaitingSnapshot)

    let e = Driver(rule: .spot)
    e.feed(Self.snapshot)
    e.feed(Self.diff(102, 103))
    #expect(e.sync.counters.gaps == 1 && e.sync.state == .awaitingSnapshot)

    let f = Driver(rule: .futures)
    f.feed(Self.snapshot)
    f.feed(Self.diff(95, 100, pu: 94))
    #expect(f.sync.state == .synced(lastUpdateID: 100) && f.sync.counters.gaps == 0)
    f.feed(Self.diff(101, 104, pu: 100))
    #expect(f.sync.state == .synced(lastUpdateID: 104))
  }

  @Test func spotBuffersDropsStaleAndChains() {
    let d = Driver(rule: .spot)
    d.feed(Self.diff(90, 95))  // stale once the snapshot (100) arrives
    d.feed(Self.diff(96, 102, qty: "7"))  // brackets 101
    #expect(d.sync.state == .awaitingSnapshot)
    d.feed(Self.snapshot)
    #expect(d.sync.state == .synced(lastUpdateID: 102))
    #expect(d.sync.counters.droppedStale == 1)
    #expect(d.book.bestBid == BookLevel(tick: 100, quantity: 700))
    d.feed(Self.diff(103, 105, bid: "1.00", qty: "0"))
    #expect(d.book.bestBid == BookLevel(tick: 99, quantity: 100))
    #expect(d.sync.state == .synced(lastUpdateID: 105))
  }

  @Test func spotGapResetsTheBook() {
    let d = Driver(rule: .spot)
    d.feed(Self.snapshot)
    d.feed(Self.diff(101, 103))
    d.feed(Self.diff(105, 107))  // 104 is missing
    #expect(d.sync.counters.gaps == 1)
    #expect(d.sync.state == .awaitingSnapshot)
    #expect(d.applier.applier.resets == 1)
    #expect(d.book.count(.bid) == 0 && d.book.count(.ask) == 0, "reset, never patched")
    // A duplicate of something already applied is dropped, not a gap.
    let e = Driver(rule: .spot)
    e.feed(Self.snapshot)
    e.feed(Self.diff(101, 103))
    e.feed(Self.diff(101, 103))
    #expect(e.sync.counters.gaps == 0 && e.sync.counters.droppedStale == 1)
  }

  @Test func snapshotNewerThanTheBufferIsAMismatch() {
    let d = Driver(rule: .spot)
    d.feed(Self.diff(120, 130))  // snapshot 100 needs 101 next: missing
    d.feed(Self.snapshot)
    #expect(d.sync.counters.snapshotMismatches == 1)
    #expect(d.sync.state == .awaitingSnapshot)
  }

  @Test func futuresChainsOnPreviousU() {
    let d = Driver(rule: .futures)
    d.feed(Self.diff(95, 100, pu: 94))  // U <= 100 <= u: the first one kept (futures keeps u == id)
    d.feed(Self.snapshot)
    #expect(d.sync.state == .synced(lastUpdateID: 100))
    d.feed(Self.diff(101, 110, pu: 100))
    d.feed(Self.diff(111, 120, pu: 110))
    #expect(d.sync.state == .synced(lastUpdateID: 120))
    d.feed(Self.diff(131, 140, pu: 125))
    #expect(d.sync.counters.gaps == 1 && d.sync.state == .awaitingSnapshot)
  }

  @Test func bufferKeepsTheNewestDiffsWhenFull() {
    let d = Driver(rule: .spot)
    for i in 0..<10 { d.feed(Self.diff(90 + i * 2, 91 + i * 2)) }  // 90...109, capacity 4
    #expect(d.sync.counters.bufferOverflows == 6)
    d.feed(Self.snapshot)  // 100: the kept diffs are 102-109, so 101 is missing
    #expect(d.sync.counters.snapshotMismatches == 1)
  }
}

/// Faults injected into a real capture: the replay must notice, never patch.
@Suite struct ReplayFaultTests {
  func writeLines(_ lines: [String]) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent(
      "needletail-\(UUID().uuidString).txt"
    ).path
    try lines.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func spotLines(limit: Int) throws -> [String] {
    // The first `limit` lines of the real spot capture, via the project's own reader.
    let reader = try GzipLineReader(path: SharedData.url("data/market/binance-spot/btcusdt_20240808.gz").path)
    var out: [String] = []
    while out.count < limit, let l = reader.nextLine() { out.append(String(decoding: l, as: UTF8.self)) }
    return out
  }

  @Test func aSkippedDiffIsReportedAsAGap() throws {
    var lines = try spotLines(limit: 3000)
    let diffIdx = lines.indices.filter { lines[$0].contains("depthUpdate") }
    lines.remove(at: diffIdx[40])
    let path = try writeLines(lines)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let inst = try #require(try BinanceCaptureReplay.inferInstrument(files: [path]))
    let r = try BinanceCaptureReplay(options: .init(files: [path], instrument: inst, rule: .spot)).run()
    #expect(r.sync.gaps == 1)
    #expect(r.resets == 1)
    #expect(r.state == .awaitingSnapshot)
    #expect(r.book.count(.bid) == 0, "the book is reset, not patched")
    #expect(r.bookTickerMismatches.isEmpty, "no wrong top of book was ever published")
  }

  @Test func malformedLinesAreCountedAndForceAResync() throws {
    var lines = try spotLines(limit: 2000)
    lines.insert(
      "1723161254137307667 {\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":\"depthUpd", at: 500)
    lines.insert("1723161254137307667 not json at all", at: 800)
    let path = try writeLines(lines)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let inst = try #require(try BinanceCaptureReplay.inferInstrument(files: [path]))
    let r = try BinanceCaptureReplay(options: .init(files: [path], instrument: inst, rule: .spot)).run()
    #expect(r.decodeErrors == 2)
    #expect(r.sync.invalidations == 2)
    #expect(r.state == .awaitingSnapshot)
    #expect(r.bookTickerMismatches.isEmpty)
  }
}

/// A venue whose diffs carry one update id each, one more than the last (Bybit's order book
/// stream): the synchronizer is generic over the rule, so a second venue is a rule, not a copy.
struct OneStepRule: SequenceRule {
  func isStale(_ d: DepthUpdate, last: Int64) -> Bool { d.last <= last }
  func brackets(_ d: DepthUpdate, snapshot last: Int64) -> Bool { d.last == last + 1 }
  func chains(_ d: DepthUpdate, after last: Int64) -> Bool { d.last == last + 1 }
}

@Suite struct GenericBookSyncTests {
  @Test func anotherVenuesRuleBuffersReplaysAndResetsOnAGap() {
    var sync = BookSync(rule: OneStepRule(), instrument: testInstrument, sink: RecordingSink())
    defer { sync.deallocate() }
    let none = UnsafeBufferPointer<nt_level>(start: nil, count: 0)
    var level = nt_level(price: 100, qty: 7)
    withUnsafePointer(to: &level) { p in
      let one = UnsafeBufferPointer(start: p, count: 1)
      // Diffs 10 and 11 arrive before the snapshot at 10: 10 is stale, 11 joins it.
      sync.onDiff(DepthUpdate(first: 10, last: 10), bids: one, asks: none, localTimeNs: 1)
      sync.onDiff(DepthUpdate(first: 11, last: 11), bids: one, asks: none, localTimeNs: 2)
      sync.onSnapshot(lastUpdateID: 10, bids: one, asks: none, localTimeNs: 3)
      #expect(sync.state == .synced(lastUpdateID: 11) && sync.counters.droppedStale == 1)
      sync.onDiff(DepthUpdate(first: 12, last: 12), bids: one, asks: none, localTimeNs: 4)
      #expect(sync.state == .synced(lastUpdateID: 12))
      // 13 never comes: 14 is a gap, the book is reset and waits for a snapshot.
      sync.onDiff(DepthUpdate(first: 14, last: 14), bids: one, asks: none, localTimeNs: 5)
      #expect(sync.state == .awaitingSnapshot && sync.counters.gaps == 1)
    }
    let kinds = sync.sink.events.map(\.kind)
    #expect(kinds.first == .snapshotBegin && kinds.last == .reset)
    #expect(sync.sink.events.filter { $0.kind == .batchEnd }.map(\.updateID) == [10, 11, 12])
  }
}
