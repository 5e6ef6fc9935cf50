import CPlatform
import Connectors
import Engine
import FastBook
import Wire

// needletail-perf path-parts: the in-engine tick-to-trade stages one at a time, in a loop without
// sockets (ns per operation, median of 5 rounds): the strategy step (probe → rule → gate → tracker
// → ring), the order encode + HMAC sign, the HMAC alone, and a clock read.
func benchPathParts() {
  let inst = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)
  func median(_ f: () -> Double) -> Double {
    var v: [Double] = []
    for _ in 0..<5 { v.append(f()) }
    return v.sorted()[2]
  }
  // Clock read.
  let clock = median {
    let n = 1_000_000
    var acc: Int64 = 0
    let t0 = cplat_now_ns()
    for _ in 0..<n { acc &+= cplat_now_ns() }
    let t = cplat_now_ns() - t0
    if acc == 42 { print("") }
    return Double(t) / Double(n)
  }
  print("parts_clock_read_ns=\(String(format: "%.1f", clock))")
  // HMAC over a 220-byte order payload.
  let key = HMACSHA256Key(secret: "t2t-secret-0123456789012345678901234567890123456789")
  let payload = [UInt8](
    "apiKey=t2t&newClientOrderId=t2t-123456&price=49999.99&quantity=0.00010&side=BUY&symbol=BTCUSDT&timeInForce=IOC&timestamp=1790000000000&type=LIMIT"
      .utf8)
  let out = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
  let hmac = median {
    let n = 200_000
    let t0 = cplat_now_ns()
    payload.withUnsafeBytes { p in
      for _ in 0..<n { key.signHex(p.baseAddress!, count: p.count, into: out) }
    }
    return Double(cplat_now_ns() - t0) / Double(n)
  }
  print("parts_hmac_sign_ns=\(String(format: "%.1f", hmac)) payload_bytes=\(payload.count)")
  // Strategy step: a probe reacting to a batch, through the host into a ring (drained each time).
  let n = 100_000
  let tracker = OrderTracker(capacity: 5 * n + 1024)
  tracker.prefault(count: 5 * n + 1024)
  let probe = ProbeStrategy(quantity: 10)
  var limits = RiskLimits()
  limits.maxOrderQuantity = 1_000
  limits.maxOpenOrders = .max
  limits.priceBandBps = 100
  let host = StrategyHost(
    strategy: probe, symbol: "BTCUSDT", rule: TradingRule(tickSize: 1, stepSize: 1, minQuantity: 1),
    limits: limits, tracker: tracker, prefix: "t2t-")
  probe.host = host
  let ring = SPSCRing<WireOrder>(capacity: 1024)
  host.wireOut = ring
  let book = LadderBook(instrument: inst, windowTicks: 1 << 16, overflowCapacity: 4096, centreTick: 5_000_000)
  _ = book.update(.bid, tick: 4_999_999, quantity: 100)
  _ = book.update(.ask, tick: 5_000_001, quantity: 100)
  var tag: Int64 = 1
  let step = median {
    let t0 = cplat_now_ns()
    for _ in 0..<n {
      var s = StageStamps()
      s.updateID = tag
      tag += 1
      host.stamps = s
      host.book(book, now: t0)
      _ = ring.tryPop()
    }
    return Double(cplat_now_ns() - t0) / Double(n)
  }
  print("parts_strategy_step_ns=\(String(format: "%.1f", step)) orders=\(probe.placed)")
  // Encode + sign one order (the wire side's work before the WebSocket frame).
  let execRing = SPSCRing<ExecEvent>(capacity: 16)
  let loop = try! EventLoop()
  let entry = BinanceWSOrderEntry(
    loop: loop, host: "127.0.0.1", port: 1, tls: nil, serverName: "x", apiKey: "t2t", secret: "t2t-secret",
    instrument: inst, clientIDs: ClientIDCodec(unchecked: "t2t-"), execOut: execRing)
  let encode = median {
    let m = 200_000
    let t0 = cplat_now_ns()
    for i in 0..<m {
      _ = entry.writePlace(
        WireOrder(kind: .place, tag: UInt64(100_000 + i), side: .buy, price: 4_999_999, quantity: 10))
    }
    return Double(cplat_now_ns() - t0) / Double(m)
  }
  print("parts_encode_sign_ns=\(String(format: "%.1f", encode))")
}
