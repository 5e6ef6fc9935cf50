import CSimdJSON
import Connectors
import Engine
import FastBook
import Foundation
import TestSupport
import Testing

/// Paper mode on real Binance data: the capture's diffs and trades drive a `PaperExchange` through
/// the same sync and sink the live wire thread uses, while a quoting loop joins the best bid and
/// ask and cancels what has not filled. The exec events go into a real `OrderTracker`.
@Suite(.serialized) struct PaperCaptureTests {
  struct Outcome {
    var placed = 0
    var filledQuantity: Int64 = 0
    var fills = 0
    var partiallyFilledOrders = 0
    var naiveFilledQuantity: Int64 = 0
    var trackerFilled: Int64 = 0
    var tracker: OrderTracker
  }

  func run(_ model: PaperExchange.QueueModel) throws -> Outcome {
    let files = ["binance-spot/btcusdt_20240808.gz", "binance-spot/btcusdt_20240809.gz"].map {
      SharedData.url("data/market/\($0)").path
    }
    let inst = try #require(try BinanceCaptureReplay.inferInstrument(files: files, symbol: "BTCUSDT"))
    let ring = SPSCRing<ExecEvent>(capacity: 1 << 12)
    let paper = PaperExchange(
      instrument: inst, book: LadderBook(instrument: inst, windowTicks: 1 << 20, centreTick: 0),
      execOut: ring,
      model: model)
    struct Null: BookEventSink { mutating func emit(_ event: BookEvent) {} }
    var sync = BinanceBookSync(
      rule: .spot, instrument: inst, sink: PaperBookSink(inner: Null(), paper: paper))
    defer { sync.deallocate() }
    let decoder = BinanceMarketDecoder(instrument: inst, maxMessageBytes: 8 << 20, levelCapacity: 10_000)
    let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: .max)
    var out = Outcome(tracker: tracker)
    // The naive model, for comparison: an order fills whole at the first trade at or through it.
    struct Live {
      var tag: UInt64
      var side: TradeSide
      var tick: Int64
      var quantity: Int64
      var placedAtDiff: Int
      var naiveFilled: Bool
    }
    var live: [Live] = []
    var nextTag: UInt64 = 1
    var diffs = 0
    let lot = 5_000 * inst.lotSize  // 0.05 BTC at the capture's step

    func drain() {
      while let x = ring.tryPop() {
        let id = ClientOrderID("p-\(x.tag)")
        tracker.apply(x, to: id, now: 0)
      }
    }
    func place(_ side: TradeSide, _ tick: Int64) {
      let tag = nextTag
      nextTag += 1
      tracker.track(
        ClientOrderID("p-\(tag)"), symbol: "BTCUSDT", side: side, price: tick * inst.tickSize, quantity: lot,
        now: 0)
      paper.send(WireOrder(kind: .place, tag: tag, side: side, price: tick * inst.tickSize, quantity: lot))
      live.append(
        Live(tag: tag, side: side, tick: tick, quantity: lot, placedAtDiff: diffs, naiveFilled: false))
      out.placed += 1
    }

    for file in files {
      let reader = try GzipLineReader(path: file)
      while let line = reader.nextLine() {
        let (ts, json) = splitCaptureLine(line)
        if json.isEmpty { continue }
        guard
          decoder.decode(json.baseAddress!, count: json.count, readable: json.count + Int(NT_PADDING))
            == NT_OK
        else { continue }
        let m = decoder.message
        switch m.pointee.kind {
        case NT_MSG_DEPTH_SNAPSHOT:
          if case .synced = sync.state { continue }
          sync.onSnapshot(
            lastUpdateID: m.pointee.depth.last_update_id, bids: decoder.bids, asks: decoder.asks,
            localTimeNs: ts)
        case NT_MSG_DEPTH_UPDATE:
          withUnsafePointer(to: m.pointee.depth) {
            sync.onDiff($0, bids: decoder.bids, asks: decoder.asks, localTimeNs: ts)
          }
          drain()
          guard case .synced = sync.state else { continue }
          diffs += 1
          // Quote every 40 diffs (~4 s) at the touch; cancel what is still open after 300 (~30 s).
          for o in live where diffs - o.placedAtDiff >= 300 {
            if tracker.orders[ClientOrderID("p-\(o.tag)")]?.state.isDone == false,
              tracker.cancelRequested(ClientOrderID("p-\(o.tag)"), now: 0)
            {
              paper.send(WireOrder(kind: .cancel, tag: o.tag))
            }
          }
          live.removeAll { diffs - $0.placedAtDiff >= 300 }
          if diffs % 40 == 0, let b = paper.book.bestBid, let a = paper.book.bestAsk {
            place(.buy, b.tick)
            place(.sell, a.tick)
          }
          drain()
        case NT_MSG_TRADE:
          let t = m.pointee.trade
          let tick = t.price / inst.tickSize
          let aggressor: TradeSide = t.buyer_is_maker != 0 ? .sell : .buy
          paper.onTrade(tick: tick, quantity: t.qty, aggressor: aggressor)
          for i in live.indices where !live[i].naiveFilled {
            let o = live[i]
            let hit =
              o.side == .buy ? aggressor == .sell && tick <= o.tick : aggressor == .buy && tick >= o.tick
            if hit {
              live[i].naiveFilled = true
              out.naiveFilledQuantity += o.quantity
            }
          }
          drain()
        default: break
        }
      }
    }
    out.filledQuantity = paper.filledQuantity
    out.fills = paper.fills
    out.trackerFilled = tracker.orders.values.reduce(0) { $0 + $1.filledQuantity }
    out.partiallyFilledOrders = tracker.orders.values.filter { $0.tradeIDCount > 1 }.count
    return out
  }

  @Test func queuePositionOnTheRealCaptureFillsLessThanTheTouchAndTheTrackerAgrees() throws {
    let prop = try run(.proportional)
    let averse = try run(.riskAverse)
    print(
      "paper on btcusdt capture: \(prop.placed) orders; filled proportional \(prop.filledQuantity) in \(prop.fills) fills, risk-averse \(averse.filledQuantity) in \(averse.fills), at-the-touch \(prop.naiveFilledQuantity); orders filled in more than one piece \(prop.partiallyFilledOrders)"
    )
    for o in [prop, averse] {
      #expect(o.placed > 100)
      #expect(o.trackerFilled == o.filledQuantity, "every paper fill reached the tracker once")
      #expect(o.tracker.invalidTransitions == 0, "\(o.tracker.invalidTransitions)")
      #expect(o.tracker.unknownOrderUpdates == 0 && o.tracker.overfills == 0)
      #expect(
        o.tracker.orders.values.allSatisfy {
          $0.state.isDone || $0.state == .open || $0.state == .partiallyFilled
        })
    }
    #expect(
      prop.fills > 0 && prop.partiallyFilledOrders > 0,
      "queues and partial fills, not whole fills at the touch")
    #expect(averse.filledQuantity <= prop.filledQuantity, "cancellations from behind only delay fills")
    #expect(prop.filledQuantity < prop.naiveFilledQuantity, "waiting in the queue fills less than the touch")
  }
}
