import BinanceSoak
import CPlatform
// needletail-perf: the Swift side of the perf/ comparisons. Each mode mirrors one hot-path stage
// one-to-one with a C/C++ baseline in perf/baselines, checks its answer (checksums the baseline
// prints too) before its timing counts, and prints one `key=value` line per figure.
//
//   needletail-perf book PRE_DIR [REPS]        LadderBook apply over pre-parsed levels
//   needletail-perf decode JSONL [REPS]        depthUpdate decode (CSimdJSON) per message
//   needletail-perf decode-apply JSONL PRE_DIR [REPS]   decode + apply per message
//   needletail-perf ring [ITEMS]               SPSC throughput, two pinned threads
//   needletail-perf pingpong [SAMPLES]         SPSC one-way latency, two pinned threads
//   needletail-perf path FILE...               decode → sync → ring → apply over a real capture
//   needletail-perf serve-ws|serve-tls|serve-wss PORT CPU [CERT KEY]  Wire echo server (busy-poll, pinned)
//   needletail-perf rtt tcp|ws|tls|wss PORT N SIZE CPU [CA]  Wire client round trips (busy-poll, pinned)
//   needletail-perf venue FILE...              matching engine orders/s and fills/s; capture replay events/s
//   needletail-perf t2t [SAMPLES] [two-threads|one-thread] [WIRE_CPU STRATEGY_CPU [VENUE_CPU]]
//                                              tick-to-trade against the Venue (see TickToTradeBench.swift)
//   needletail-perf strategy PRE_DIR          the strategy thread's cost per book event (PMM vs no-op)
//   needletail-perf export-pre OUT_DIR FILE... real capture → pre-parsed arrays (gen_l2 format)
//
// Run under LD_PRELOAD=perf/baselines/bin/malloc_count.so, each timed loop also reports how many
// allocations it made (`*_mallocs=`); the target on every hot-path loop is 0.
import CSimdJSON
import Connectors
import FastBook
import Foundation
import Glibc

// MARK: helpers

/// Counts allocations made by `body` when the malloc_count.so shim is preloaded; nil otherwise.
func countingMallocs(_ body: () -> Void) -> UInt64? {
  typealias Enable = @convention(c) (Int32) -> Void
  typealias Read = @convention(c) () -> UInt64
  let handle = dlopen(nil, RTLD_NOW)
  guard let e = dlsym(handle, "malloc_count_enable"), let r = dlsym(handle, "malloc_count_read") else {
    body()
    return nil
  }
  let enable = unsafeBitCast(e, to: Enable.self)
  let read = unsafeBitCast(r, to: Read.self)
  let before = read()
  enable(1)
  body()
  enable(0)
  return read() - before
}

func mallocs(_ n: UInt64?) -> String { n.map(String.init) ?? "n/a" }

func fail(_ s: String) -> Never {
  FileHandle.standardError.write(Data("needletail-perf: \(s)\n".utf8))
  exit(2)
}

/// Reads a whole file into memory with NT_PADDING zero bytes after it.
func readFile(_ path: String) -> UnsafeMutableRawBufferPointer {
  guard let f = fopen(path, "rb") else { fail("cannot open \(path)") }
  defer { fclose(f) }
  fseek(f, 0, SEEK_END)
  let n = ftell(f)
  fseek(f, 0, SEEK_SET)
  let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: n + Int(NT_PADDING), alignment: 64)
  buf.initializeMemory(as: UInt8.self, repeating: 0)
  if n > 0 && fread(buf.baseAddress, 1, n, f) != n { fail("short read on \(path)") }
  return UnsafeMutableRawBufferPointer(rebasing: buf[0..<(n + Int(NT_PADDING))])
}

func readArray<T>(_ path: String, as: T.Type) -> UnsafeBufferPointer<T> {
  let raw = readFile(path)
  let count = (raw.count - Int(NT_PADDING)) / MemoryLayout<T>.stride
  return UnsafeBufferPointer(start: raw.baseAddress!.assumingMemoryBound(to: T.self), count: count)
}

func median(_ xs: [Double]) -> Double {
  let s = xs.sorted()
  return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

func percentile(_ sorted: [Int64], _ p: Double) -> Int64 {
  sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

struct Pre {
  let off, U, u: UnsafeBufferPointer<Int64>
  let side: UnsafeBufferPointer<UInt8>
  let price, qty: UnsafeBufferPointer<Int64>
  let snapBidP, snapBidQ, snapAskP, snapAskQ: UnsafeBufferPointer<Int64>
  init(_ dir: String) {
    off = readArray(dir + "/msg_off.i64", as: Int64.self)
    U = readArray(dir + "/msg_U.i64", as: Int64.self)
    u = readArray(dir + "/msg_u.i64", as: Int64.self)
    side = readArray(dir + "/lvl_side.u8", as: UInt8.self)
    price = readArray(dir + "/lvl_price.i64", as: Int64.self)
    qty = readArray(dir + "/lvl_qty.i64", as: Int64.self)
    snapBidP = readArray(dir + "/snap_bid_price.i64", as: Int64.self)
    snapBidQ = readArray(dir + "/snap_bid_qty.i64", as: Int64.self)
    snapAskP = readArray(dir + "/snap_ask_price.i64", as: Int64.self)
    snapAskQ = readArray(dir + "/snap_ask_qty.i64", as: Int64.self)
  }
  var messages: Int { off.count - 1 }
}

let instrument = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 8, tickSize: 1, lotSize: 1)

func loadSnapshot(_ book: LadderBook, _ pre: Pre) {
  let centre = (pre.snapBidP.first ?? 0) / 2 + (pre.snapAskP.first ?? 0) / 2
  book.clear(centreTick: centre)
  for i in 0..<pre.snapBidP.count { book.update(.bid, tick: pre.snapBidP[i], quantity: pre.snapBidQ[i]) }
  for i in 0..<pre.snapAskP.count { book.update(.ask, tick: pre.snapAskP[i], quantity: pre.snapAskQ[i]) }
}

/// The timed loop: every level of every message, then the top of book read once per message (as
/// a strategy reading the book after each batch); returns the checksum of those reads.
@inline(never)
func applyAll(_ book: LadderBook, _ pre: Pre) -> Int64 {
  var check: Int64 = 0
  let off = pre.off
  let side = pre.side
  let price = pre.price
  let qty = pre.qty
  var i = Int(off[0])
  for m in 0..<pre.messages {
    let end = Int(off[m + 1])
    while i < end {
      book.update(side[i] == 0 ? .bid : .ask, tick: price[i], quantity: qty[i])
      i += 1
    }
    check &+= (book.bestBid?.tick ?? 0) &+ (book.bestAsk?.tick ?? 0)
  }
  return check
}

// MARK: modes

func benchBook(_ dir: String, reps: Int, window: Int) {
  let pre = Pre(dir)
  let book = LadderBook(instrument: instrument, windowTicks: window, overflowCapacity: 1 << 15)
  var ns: [Double] = []
  var check: Int64 = 0
  var allocs: UInt64? = nil
  for _ in 0..<reps {
    loadSnapshot(book, pre)
    var t0: Int64 = 0
    var t1: Int64 = 0
    allocs = countingMallocs {
      t0 = cplat_now_ns()
      check = applyAll(book, pre)
      t1 = cplat_now_ns()
    }
    ns.append(Double(t1 - t0) / Double(pre.price.count))
    precondition(book.isExact, "book lost a level")
  }
  print("book_mallocs=\(mallocs(allocs))")
  print("book_levels=\(pre.price.count) book_messages=\(pre.messages)")
  print(
    "book_checksum=\(check) final_bids=\(book.count(.bid)) final_asks=\(book.count(.ask)) recentres=\(book.recentreCount)"
  )
  print(String(format: "book_ns_per_level_median=%.3f min=%.3f", median(ns), ns.min() ?? 0))
}

struct Lines {
  let buf: UnsafeMutableRawBufferPointer
  var starts: [Int] = []
  var lengths: [Int] = []
  init(_ path: String, depthOnly: Bool = true) {
    buf = readFile(path)
    let n = buf.count - Int(NT_PADDING)
    let key = Array("{\"e\":\"depthUpdate\"".utf8)
    var s = 0
    for i in 0..<n where buf[i] == 10 {
      if i > s && (!depthOnly || (i - s > key.count && key.indices.allSatisfy { buf[s + $0] == key[$0] })) {
        starts.append(s)
        lengths.append(i - s)
      }
      s = i + 1
    }
  }
}

func benchDecode(_ path: String, reps: Int) {
  let lines = Lines(path)
  let dec = BinanceMarketDecoder(instrument: instrument, levelCapacity: 5000)
  let base = lines.buf.baseAddress!
  var ns: [Double] = []
  var sums = (Int64(0), Int64(0), Int64(0))
  var allocs: UInt64? = nil
  for _ in 0..<reps {
    sums = (0, 0, 0)
    var t0: Int64 = 0
    allocs = countingMallocs {
      t0 = cplat_now_ns()
      for k in 0..<lines.starts.count {
        let st = dec.decode(
          base + lines.starts[k], count: lines.lengths[k], readable: lines.lengths[k] + Int(NT_PADDING))
        if st != NT_OK { fail("decode failed on message \(k): \(BinanceMarketDecoder.describe(st))") }
        let m = dec.message
        sums.0 &+= m.pointee.depth.first_update_id &+ m.pointee.depth.last_update_id
        for l in dec.bids { sums.1 &+= l.price; sums.2 &+= l.qty }
        for l in dec.asks { sums.1 &+= l.price; sums.2 &+= l.qty }
      }
    }
    let t1 = cplat_now_ns()
    ns.append(Double(t1 - t0) / Double(lines.starts.count))
  }
  print("decode_mallocs=\(mallocs(allocs))")
  print(
    "decode_messages=\(lines.starts.count) bytes_per_message=\(lines.lengths.reduce(0, +) / max(1, lines.starts.count))"
  )
  print("decode_checksum_ids=\(sums.0) decode_checksum_prices=\(sums.1) decode_checksum_qty=\(sums.2)")
  print(String(format: "decode_ns_per_message_median=%.3f min=%.3f", median(ns), ns.min() ?? 0))
}

func benchDecodeApply(_ path: String, _ dir: String, reps: Int) {
  let lines = Lines(path)
  let pre = Pre(dir)
  let dec = BinanceMarketDecoder(instrument: instrument, levelCapacity: 5000)
  let book = LadderBook(instrument: instrument, windowTicks: 1 << 16, overflowCapacity: 1 << 15)
  let base = lines.buf.baseAddress!
  var ns: [Double] = []
  var check: Int64 = 0
  var allocs: UInt64? = nil
  for _ in 0..<reps {
    loadSnapshot(book, pre)
    check = 0
    var t0: Int64 = 0
    allocs = countingMallocs {
      t0 = cplat_now_ns()
      for k in 0..<lines.starts.count {
        let st = dec.decode(
          base + lines.starts[k], count: lines.lengths[k], readable: lines.lengths[k] + Int(NT_PADDING))
        if st != NT_OK { fail("decode failed on message \(k)") }
        for l in dec.bids { book.update(.bid, tick: l.price, quantity: l.qty) }
        for l in dec.asks { book.update(.ask, tick: l.price, quantity: l.qty) }
        check &+= (book.bestBid?.tick ?? 0) &+ (book.bestAsk?.tick ?? 0)
      }
    }
    let t1 = cplat_now_ns()
    ns.append(Double(t1 - t0) / Double(lines.starts.count))
  }
  print("decode_apply_mallocs=\(mallocs(allocs))")
  print("decode_apply_checksum=\(check) final_bids=\(book.count(.bid)) final_asks=\(book.count(.ask))")
  print(String(format: "decode_apply_ns_per_message_median=%.3f min=%.3f", median(ns), ns.min() ?? 0))
}

/// Starts a pinned pthread running `body`.
final class PinnedThread {
  var thread = pthread_t()
  let body: () -> Void
  let cpu: Int32
  init(cpu: Int32, _ body: @escaping () -> Void) {
    self.cpu = cpu
    self.body = body
    let me = Unmanaged.passRetained(self).toOpaque()
    let rc = pthread_create(
      &thread, nil,
      { arg in
        let t = Unmanaged<PinnedThread>.fromOpaque(arg!).takeRetainedValue()
        _ = cplat_pin_current_thread(t.cpu)
        t.body()
        return nil
      }, me)
    precondition(rc == 0)
  }
  func join() { pthread_join(thread, nil) }
}

func benchRing(items: Int, reps: Int) {
  var rates: [Double] = []
  for _ in 0..<reps {
    let ring = SPSCRing<UInt64>(capacity: 4096)
    let n = UInt64(items)
    let producer = PinnedThread(cpu: 0) {
      var i: UInt64 = 1
      while i <= n {
        if ring.tryPush(i) { i &+= 1 } else { cplat_cpu_relax() }
      }
    }
    _ = cplat_pin_current_thread(1)
    var sum: UInt64 = 0
    var got: UInt64 = 0
    let t0 = cplat_now_ns()
    while got < n {
      if let v = ring.tryPop() {
        sum &+= v
        got &+= 1
      } else {
        cplat_cpu_relax()
      }
    }
    let t1 = cplat_now_ns()
    producer.join()
    precondition(sum == n * (n + 1) / 2, "ring lost or duplicated items")
    rates.append(Double(items) / (Double(t1 - t0) / 1e9))
  }
  print(
    String(
      format: "ring_items=%d ring_mops_median=%.2f ring_mops_max=%.2f", items, median(rates) / 1e6,
      (rates.max() ?? 0) / 1e6))
}

func benchPingPong(samples: Int) {
  let ab = SPSCRing<Int64>(capacity: 64)
  let ba = SPSCRing<Int64>(capacity: 64)
  let n = samples + 10_000
  let echo = PinnedThread(cpu: 1) {
    for _ in 0..<n {
      var v: Int64
      while true {
        if let x = ab.tryPop() { v = x; break }
        cplat_cpu_relax()
      }
      while !ba.tryPush(v) { cplat_cpu_relax() }
    }
  }
  _ = cplat_pin_current_thread(0)
  var rtt = [Int64](repeating: 0, count: n)
  for i in 0..<n {
    let t0 = cplat_now_ns()
    while !ab.tryPush(t0) { cplat_cpu_relax() }
    while true {
      if ba.tryPop() != nil { break }
      cplat_cpu_relax()
    }
    rtt[i] = cplat_now_ns() - t0
  }
  echo.join()
  let s = Array(rtt[10_000...]).sorted()  // drop the warm-up
  print(
    "pingpong_samples=\(s.count) pingpong_oneway_ns_p50=\(percentile(s, 0.5) / 2)"
      + " pingpong_oneway_ns_p99=\(percentile(s, 0.99) / 2) pingpong_oneway_ns_p999=\(percentile(s, 0.999) / 2)"
  )
}

/// The wire→book path on one thread over a real capture: decode, Binance sync, SPSC ring, apply.
/// The first pass warms up; the second is timed and its allocations counted.
func benchPath(_ files: [String]) throws {
  guard let inst = try BinanceCaptureReplay.inferInstrument(files: files),
    let rule = try BinanceCaptureReplay.inferRule(files: files)
  else { fail("no snapshot or diffs in \(files)") }
  // Load every line into memory first: file reading is not part of the path.
  var lines: [[UInt8]] = []
  var stamps: [Int64] = []
  for f in files {
    let r = try GzipLineReader(path: f)
    while let line = r.nextLine() {
      let (ts, j) = splitCaptureLine(line)
      lines.append(Array(j) + [UInt8](repeating: 0, count: Int(NT_PADDING)))
      stamps.append(ts)
    }
  }
  struct Sink: BookEventSink {
    let ring: SPSCRing<BookEvent>
    mutating func emit(_ e: BookEvent) { while !ring.tryPush(e) {} }
  }
  let ring = SPSCRing<BookEvent>(capacity: 1 << 14)
  let dec = BinanceMarketDecoder(instrument: inst, maxMessageBytes: 1 << 20, levelCapacity: 5000)
  var diffs = 0
  var ns: [Double] = []
  var allocs: UInt64? = nil
  for pass in 0..<3 {
    var sync = BinanceBookSync(rule: rule, instrument: inst, sink: Sink(ring: ring))
    var applier = BookEventApplier(book: LadderBook(instrument: inst))
    diffs = 0
    var t0: Int64 = 0
    var t1: Int64 = 0
    let counted = countingMallocs {
      t0 = cplat_now_ns()
      for k in 0..<lines.count {
        let st = lines[k].withUnsafeBytes {
          dec.decode($0.baseAddress!, count: $0.count - Int(NT_PADDING), readable: $0.count)
        }
        guard st == NT_OK else { continue }
        let m = dec.message
        if m.pointee.kind == NT_MSG_DEPTH_UPDATE {
          diffs += 1
          withUnsafePointer(to: m.pointee.depth) {
            sync.onDiff($0, bids: dec.bids, asks: dec.asks, localTimeNs: stamps[k])
          }
        } else if m.pointee.kind == NT_MSG_DEPTH_SNAPSHOT, case .awaitingSnapshot = sync.state {
          sync.onSnapshot(
            lastUpdateID: m.pointee.depth.last_update_id, bids: dec.bids, asks: dec.asks,
            localTimeNs: stamps[k])
        }
        _ = ring.drain { _ = applier.apply($0) }
      }
      t1 = cplat_now_ns()
    }
    precondition(sync.counters.gaps == 0 && applier.book.isExact)
    sync.deallocate()
    if pass > 0 {
      ns.append(Double(t1 - t0) / Double(lines.count))
      allocs = counted
    }
  }
  print("path_lines=\(lines.count) path_diffs=\(diffs)")
  print(String(format: "path_ns_per_message_median=%.1f", median(ns)) + " path_mallocs=\(mallocs(allocs))")
}

/// Exports a real capture's applied diffs (after sync) as pre-parsed arrays in gen_l2's format,
/// so the book benchmark runs on real data with the C++ baselines reading the same bytes.
func exportPre(_ out: String, _ files: [String]) throws {
  guard let inst = try BinanceCaptureReplay.inferInstrument(files: files),
    let rule = try BinanceCaptureReplay.inferRule(files: files)
  else { fail("no snapshot or diffs in \(files)") }
  struct Recorder: BookEventSink {
    var off: [Int64] = [0], U: [Int64] = [], u: [Int64] = [], E: [Int64] = []
    var side: [UInt8] = [], price: [Int64] = [], qty: [Int64] = []
    var snap: [[Int64]] = [[], [], [], []]
    var inSnapshot = false
    mutating func emit(_ e: BookEvent) {
      switch e.kind {
      case .snapshotBegin: inSnapshot = true
      case .level:
        if inSnapshot {
          snap[e.side == .bid ? 0 : 2].append(e.tick)
          snap[e.side == .bid ? 1 : 3].append(e.quantity)
        } else {
          side.append(e.side.rawValue)
          price.append(e.tick)
          qty.append(e.quantity)
        }
      case .batchEnd:
        if inSnapshot {
          inSnapshot = false
        } else {
          off.append(Int64(price.count))
          U.append(0)
          u.append(e.updateID)
          E.append(e.exchangeTimeNs)
        }
      case .reset: fail("capture has a gap: cannot export")
      case .trade: break
      }
    }
  }
  let dec = BinanceMarketDecoder(instrument: inst, maxMessageBytes: 8 << 20, levelCapacity: 10_000)
  var sync = BinanceBookSync(rule: rule, instrument: inst, sink: Recorder())
  for f in files {
    let r = try GzipLineReader(path: f)
    while let line = r.nextLine() {
      let (ts, json) = splitCaptureLine(line)
      guard dec.decode(json.baseAddress!, count: json.count, readable: json.count + Int(NT_PADDING)) == NT_OK
      else { continue }
      let m = dec.message
      if m.pointee.kind == NT_MSG_DEPTH_UPDATE {
        withUnsafePointer(to: m.pointee.depth) {
          sync.onDiff($0, bids: dec.bids, asks: dec.asks, localTimeNs: ts)
        }
      } else if m.pointee.kind == NT_MSG_DEPTH_SNAPSHOT, case .awaitingSnapshot = sync.state {
        sync.onSnapshot(
          lastUpdateID: m.pointee.depth.last_update_id, bids: dec.bids, asks: dec.asks, localTimeNs: ts)
      }
    }
  }
  let rec = sync.sink
  mkdir(out, 0o755)
  func write<T>(_ name: String, _ a: [T]) {
    guard let f = fopen(out + "/" + name, "wb") else { fail("cannot write \(out)/\(name)") }
    a.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, f) }
    fclose(f)
  }
  write("msg_off.i64", rec.off)
  write("msg_U.i64", rec.U)
  write("msg_u.i64", rec.u)
  write("msg_E.i64", rec.E)
  write("lvl_side.u8", rec.side)
  write("lvl_price.i64", rec.price)
  write("lvl_qty.i64", rec.qty)
  write("snap_bid_price.i64", rec.snap[0])
  write("snap_bid_qty.i64", rec.snap[1])
  write("snap_ask_price.i64", rec.snap[2])
  write("snap_ask_qty.i64", rec.snap[3])
  print(
    "exported \(rec.u.count) diffs, \(rec.price.count) level updates, snapshot \(rec.snap[0].count)/\(rec.snap[2].count) to \(out)"
  )
}

// MARK: main

let args = CommandLine.arguments
guard args.count >= 2 else { fail("usage: see the comment at the top of main.swift") }
switch args[1] {
case "book":
  benchBook(
    args[2], reps: args.count > 3 ? Int(args[3])! : 5, window: args.count > 4 ? Int(args[4])! : 65_536)
case "decode": benchDecode(args[2], reps: args.count > 3 ? Int(args[3])! : 5)
case "decode-apply": benchDecodeApply(args[2], args[3], reps: args.count > 4 ? Int(args[4])! : 5)
case "ring": benchRing(items: args.count > 2 ? Int(args[2])! : 50_000_000, reps: 5)
case "pingpong": benchPingPong(samples: args.count > 2 ? Int(args[2])! : 1_000_000)
case "path": try benchPath(Array(args[2...]))
case "seal": benchSeal()
case "soak", "soak-rest":
  // needletail-perf soak [orders] [seed]: the order-tracking soak with every fault class on,
  // through the path `run` trades on (BinanceSession: WebSocket API order entry, the runtime's
  // reconciliation); soak-rest: the same through the REST order manager.
  var c = OrderSoakConfig.allFaults(seed: args.count > 3 ? UInt64(args[3])! : 1)
  c.orders = args.count > 2 ? Int(args[2])! : 100_000
  if args[1] == "soak" {
    // The runtime reconciles every unknown outcome over REST, where a Retry-After is whole
    // seconds: forced 429/418s are drawn 5x rarer there than on the WebSocket API (50 ms waits).
    c.faults.restForce429 = c.faults.force429 / 5
    c.faults.restForce418 = c.faults.force418 / 5
  }
  let dir = NSTemporaryDirectory() + "needletail-soak-certs"
  let r =
    try args[1] == "soak" ? runRuntimeOrderSoak(c, certificateDir: dir) : runOrderSoak(c, certificateDir: dir)
  print(r)
  exit(r.agrees ? 0 : 1)
case "venue": try benchVenue(files: Array(args[2...]))
case "t2t": try benchTickToTrade(Array(args[2...]))
case "backtest-grid": try benchBacktestGrid(Array(args[2...]))
case "backtest-live": try benchBacktestLive(Array(args[2...]))
case "strategy": benchStrategy(args[2])
case "path-parts": benchPathParts()
case "serve-ws", "serve-tls", "serve-wss":
  try serveEcho(
    ws: args[1] != "serve-tls", port: UInt16(args[2])!, cpu: Int32(args[3])!,
    cert: args.count > 4 ? args[4] : nil,
    key: args.count > 5 ? args[5] : nil)
case "rtt":
  try rttClient(
    kind: args[2], port: UInt16(args[3])!, n: Int(args[4])!, size: Int(args[5])!, cpu: Int32(args[6])!,
    ca: args.count > 7 ? args[7] : nil)
case "export-pre": try exportPre(args[2], Array(args[3...]))
default: fail("unknown mode \(args[1])")
}
