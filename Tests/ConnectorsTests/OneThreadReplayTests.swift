import CSimdJSON
import Connectors
import Engine
import FastBook
import Foundation
import Testing

/// The one-thread layout (`run`, `demo`): the wire loop both fills the book ring and polls the
/// strategy, so a snapshot and the diffs replayed after it that do not fit the ring must be
/// drained into the book by the same thread — spinning for room would never end.
@Suite struct OneThreadReplayTests {
  final class Counting: Strategy {
    var books = 0
    func onBook(_ book: LadderBook, now: Int64, intents: inout Intents) { books += 1 }
  }

  @Test func aReplayLargerThanTheBookRingIsAppliedInFull() throws {
    let inst = Instrument(symbol: "T", priceScale: 2, quantityScale: 2, tickSize: 1, lotSize: 1)
    let strategy = Counting()
    let host = StrategyHost(
      strategy: strategy, symbol: "T", rule: TradingRule(tickSize: 1, stepSize: 1), limits: RiskLimits(),
      tracker: OrderTracker(), prefix: "r-")
    let runtime = StrategyRuntime(
      host: host, book: LadderBook(instrument: inst, windowTicks: 4096, centreTick: 1_000),
      clock: Clock(tickNs: 1_000_000_000, start: 0), bookRingCapacity: 64)
    let decoder = BinanceMarketDecoder(instrument: inst)
    var sync = BinanceBookSync(rule: .spot, instrument: inst, sink: runtime.sameThreadBookSink)
    // The same messages into a plain book, for the expected result.
    var reference = BookEventApplier(book: LadderBook(instrument: inst, windowTicks: 4096, centreTick: 1_000))
    var referenceSync = BinanceBookSync(rule: .spot, instrument: inst, sink: RecordingSink())

    func feed(_ json: String) {
      #expect(decoder.decode(Array(json.utf8)) == NT_OK, "\(json)")
      let m = decoder.message
      if m.pointee.kind == NT_MSG_DEPTH_SNAPSHOT {
        let id = m.pointee.depth.last_update_id
        sync.onSnapshot(lastUpdateID: id, bids: decoder.bids, asks: decoder.asks, localTimeNs: 0)
        referenceSync.onSnapshot(lastUpdateID: id, bids: decoder.bids, asks: decoder.asks, localTimeNs: 0)
      } else {
        withUnsafePointer(to: m.pointee.depth) {
          sync.onDiff($0, bids: decoder.bids, asks: decoder.asks, localTimeNs: 0)
          referenceSync.onDiff($0, bids: decoder.bids, asks: decoder.asks, localTimeNs: 0)
        }
      }
      for e in referenceSync.sink.events { _ = reference.apply(e) }
      referenceSync.sink.events.removeAll()
    }
    func level(_ ticks: Int, _ qty: Int) -> String {
      #"["\#(ticks / 100).\#(String(format: "%02d", ticks % 100))","\#(qty)"]"#
    }

    // 60 diffs buffered before the snapshot, three bid and two ask levels each: about 360 events
    // replayed, and the snapshot's own 100 levels, into a ring of 64.
    for i in 0..<60 {
      let u = 101 + i
      let bids = (0..<3).map { level(990 - (i * 3 + $0) % 40, 1 + i) }.joined(separator: ",")
      let asks = (0..<2).map { level(1_010 + (i * 2 + $0) % 40, 2 + i) }.joined(separator: ",")
      feed(#"{"e":"depthUpdate","E":1,"s":"T","U":\#(u),"u":\#(u),"b":[\#(bids)],"a":[\#(asks)]}"#)
    }
    let snapBids = (0..<50).map { level(999 - $0, 5) }.joined(separator: ",")
    let snapAsks = (0..<50).map { level(1_001 + $0, 7) }.joined(separator: ",")
    let done = DispatchSemaphore(value: 0)
    // On a thread of its own, so that a replay that spins forever fails the test rather than
    // hanging the run.
    let worker = NativeThread(name: "nt-replay", cpu: nil) {
      feed(#"{"lastUpdateId":100,"bids":[\#(snapBids)],"asks":[\#(snapAsks)]}"#)
      runtime.pollOnce()
      done.signal()
    }
    guard done.wait(timeout: .now() + 20) == .success else {
      Issue.record("the replay into a full ring never finished (the one-thread layout spun on its own ring)")
      return
    }
    worker.join()
    #expect(sync.sink.fullWaits > 0, "the replay fitted the ring: the test shows nothing")
    #expect(runtime.applier.isLive)
    let got = runtime.book
    let want = reference.book
    #expect(got.bestBid == want.bestBid && got.bestAsk == want.bestAsk)
    for t in Int64(900)...1_100 {
      #expect(
        got.quantity(.bid, at: t) == want.quantity(.bid, at: t)
          && got.quantity(.ask, at: t) == want.quantity(.ask, at: t), "level \(t)")
    }
    // The strategy saw the snapshot's batch and each replayed diff's.
    #expect(strategy.books == 61)
  }
}
