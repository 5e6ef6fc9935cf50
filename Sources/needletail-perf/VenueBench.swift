import CPlatform
import CSimdJSON
import Connectors
import FastBook
import Venue

/// `venue [SECONDS]`: matching-engine throughput on the synthetic flow (orders/s, fills/s) and
/// replay speed of the real spot capture into the venue (book events/s).
func benchVenue(files: [String]) throws {
  // 1. Synthetic flow plus our own random limit orders, no network.
  let e = MatchingEngine()
  var s = VenueSymbol(
    name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT",
    instrument: Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1))
  s.maxNumOrders = 0
  e.addSymbol(s)
  let unit: Int128 = 1_000_000_000_000_000_000
  e.deposit(account: 1, asset: "USDT", units: 1_000_000_000 * unit)
  e.deposit(account: 1, asset: "BTC", units: 1_000_000 * unit)
  var p = SyntheticMarket.Parameters()
  p.startTicks = 6_000_000
  let market = SyntheticMarket(engine: e, symbol: "BTCUSDT", parameters: p)
  for _ in 0..<100 { market.step(seconds: 0.01) }
  var rng: UInt64 = 7
  var placed = 0
  let trades0 = e.trades.count
  let t0 = cplat_now_ns()
  for i in 0..<200_000 {
    rng ^= rng << 13
    rng ^= rng >> 7
    rng ^= rng << 17
    var o = NewOrder(account: 1, symbol: "BTCUSDT", side: rng & 1 == 0 ? .BUY : .SELL, type: .LIMIT)
    let off = Int64(rng >> 8 % 40) - 20
    o.priceTicks = Int64(market.fairTicks) + (o.side == .BUY ? -off : off)
    o.quantity = Int64(1 + (rng >> 20) % 50)
    o.timeInForce = (rng >> 30) & 3 == 0 ? .IOC : .GTC
    if (try? e.place(o)) != nil { placed += 1 }
    if i % 64 == 0, let open = e.openOrders(account: 1).first {
      _ = try? e.cancel(account: 1, symbol: "BTCUSDT", orderId: open.orderId)
    }
    if i % 100 == 0 { market.step(seconds: 0.001) }
  }
  let t1 = cplat_now_ns()
  let secs = Double(t1 - t0) / 1e9
  print(
    "venue_orders=\(placed) venue_fills=\(e.trades.count - trades0) venue_orders_per_s=\(Int(Double(placed) / secs))"
      + " venue_fills_per_s=\(Int(Double(e.trades.count - trades0) / secs))")

  // 2. The real capture replayed into the venue's book.
  guard let inst = try BinanceCaptureReplay.inferInstrument(files: files) else { return }
  let r = MatchingEngine()
  var rs = VenueSymbol(name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", instrument: inst)
  rs.maxNumOrders = 0
  r.addSymbol(rs)
  struct Sink: BookEventSink {
    let engine: MatchingEngine
    var events = 0
    mutating func emit(_ e: BookEvent) {
      events += 1
      if e.kind == .level {
        engine.setMarketLevel(
          symbol: "BTCUSDT", side: e.side == .bid ? .BUY : .SELL, ticks: e.tick, quantity: e.quantity)
      }
    }
  }
  // Decode first (not timed), then time the venue side.
  var batches: [(UnsafePointer<nt_depth>?, [nt_level], [nt_level], Bool, Int64)] = []
  let dec = BinanceMarketDecoder(instrument: inst, maxMessageBytes: 1 << 20, levelCapacity: 5000)
  var depths: [nt_depth] = []
  for f in files {
    let g = try GzipLineReader(path: f)
    while let line = g.nextLine() {
      let (_, json) = splitCaptureLine(line)
      guard dec.decode(json.baseAddress!, count: json.count, readable: json.count + Int(NT_PADDING)) == NT_OK
      else { continue }
      let m = dec.message.pointee
      if m.kind == NT_MSG_DEPTH_UPDATE || m.kind == NT_MSG_DEPTH_SNAPSHOT {
        depths.append(m.depth)
        batches.append(
          (nil, Array(dec.bids), Array(dec.asks), m.kind == NT_MSG_DEPTH_SNAPSHOT, m.depth.last_update_id))
      }
    }
  }
  var sync = BinanceBookSync(rule: .spot, instrument: inst, sink: Sink(engine: r))
  let t2 = cplat_now_ns()
  for (i, b) in batches.enumerated() {
    b.1.withUnsafeBufferPointer { bids in
      b.2.withUnsafeBufferPointer { asks in
        if b.3 {
          if case .awaitingSnapshot = sync.state {
            sync.onSnapshot(lastUpdateID: b.4, bids: bids, asks: asks, localTimeNs: 0)
          }
        } else {
          withUnsafePointer(to: depths[i]) { sync.onDiff($0, bids: bids, asks: asks, localTimeNs: 0) }
        }
      }
    }
  }
  let t3 = cplat_now_ns()
  let events = sync.sink.events
  sync.deallocate()
  print(
    "venue_replay_events=\(events) venue_replay_events_per_s=\(Int(Double(events) / (Double(t3 - t2) / 1e9)))"
  )
}
