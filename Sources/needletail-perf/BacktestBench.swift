import Backtest
import CPlatform
import CZlib
import Connectors
import Engine
import FastBook
import Glibc

/// `needletail-perf backtest-grid CAPTURE [MODEL] [REPS]`: the fixed-grid quoter (the differential
/// test's strategy) through the backtest's event loop and simulated exchange. Times reading the
/// capture into rows (gzip, production decoder) once, then the backtest on those rows in memory
/// (the "prepared input" measurement) `REPS` times; prints medians.
func benchBacktestGrid(_ args: [String]) throws {
  let capture = args[0]
  let model = args.count > 1 ? QueueModel(config: args[1]) ?? .riskAverse : .riskAverse
  let reps = args.count > 2 ? Int(args[2]) ?? 5 : 5
  guard let instrument = try BinanceCaptureReplay.inferInstrument(files: [capture]) else {
    print("no snapshot in \(capture)")
    return
  }
  let t0 = cplat_now_ns()
  let tapePath = "/tmp/needletail-bench-\(getpid()).nttape"
  defer { unlink(tapePath) }
  try BinanceCaptureTape.record(files: [capture], instrument: instrument, to: tapePath)
  var rows: [MarketRow] = []
  try MarketTape(path: tapePath).forEachRow { rows.append($0) }
  let readNs = cplat_now_ns() - t0
  var runs: [Int64] = []
  var fills = 0
  var orders = 0
  for _ in 0..<reps {
    let s = cplat_now_ns()
    let loop = BacktestEventLoop(
      rows: rows, tickSize: instrument.tickSize, quantityScale: instrument.quantityScale, lot: 0.001,
      model: model, entryNs: 1_000_000, responseNs: 1_000_000)
    let done = FixedGridQuoter.run(loop)
    runs.append(cplat_now_ns() - s)
    fills = done.filter { $0.status == .filled }.count
    orders = done.count
  }
  runs.sort()
  let median = Double(runs[runs.count / 2]) / 1e9
  print("backtest_rows=\(rows.count) backtest_orders=\(orders) backtest_fills=\(fills) model=\(model)")
  print(
    String(
      format: "backtest_read_s=%.3f backtest_run_median_s=%.3f backtest_run_min_s=%.3f ns_per_row=%.0f",
      Double(readNs) / 1e9, median, Double(runs[0]) / 1e9, median * 1e9 / Double(rows.count)))
}

/// `needletail-perf backtest-live CAPTURE [MODEL] [REPS]`: the grid quoter on the live path (the
/// `Backtester`: the tape through Binance's book sync, the book ring, the strategy host, the
/// tracker and the Clock, against the simulated exchange) — what `needletail backtest` runs.
/// Times, each as a median of `REPS`: inflating the gzip capture with zlib alone (reading every
/// byte, nothing else); recording the tape from it (inflate + production decoder + write); the
/// backtest on the recorded tape (prepared input, as a parameter sweep runs); and the two in a
/// row (from the raw gzip file).
func benchBacktestLive(_ args: [String]) throws {
  let capture = args[0]
  let model = args.count > 1 ? QueueModel(config: args[1]) ?? .riskAverse : .riskAverse
  let reps = args.count > 2 ? Int(args[2]) ?? 5 : 5
  guard let inferred = try BinanceCaptureReplay.inferInstrument(files: [capture]) else {
    print("no snapshot in \(capture)")
    return
  }
  var lot: Int64 = 1
  for _ in 0..<max(0, inferred.quantityScale - 3) { lot *= 10 }
  let instrument = Instrument(
    symbol: "BTCUSDT", priceScale: inferred.priceScale, quantityScale: inferred.quantityScale,
    tickSize: inferred.tickSize, lotSize: lot)
  let tapePath = "/tmp/needletail-bench-live-\(getpid()).nttape"
  defer { unlink(tapePath) }
  func median(_ xs: [Int64]) -> Double { Double(xs.sorted()[xs.count / 2]) / 1e9 }
  var inflate: [Int64] = []
  var record: [Int64] = []
  var run: [Int64] = []
  var fills = 0
  var orders = 0
  var rows: Int64 = 0
  // `run` as a fourth argument: only the backtest on a tape recorded once (for profiling).
  let runOnly = args.count > 3 && args[3] == "run"
  if runOnly { try BinanceCaptureTape.record(files: [capture], instrument: instrument, to: tapePath) }
  for _ in 0..<reps {
    var s = cplat_now_ns()
    if runOnly {
      run.append(try runTape())
      continue
    }
    let f = gzopen(capture, "rb")!
    gzbuffer(f, 1 << 20)
    let buf = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
    var total = 0
    while true {
      let n = gzread(f, buf, 1 << 20)
      if n <= 0 { break }
      total += Int(n)
    }
    gzclose(f)
    buf.deallocate()
    inflate.append(cplat_now_ns() - s)
    s = cplat_now_ns()
    let h = try BinanceCaptureTape.record(files: [capture], instrument: instrument, to: tapePath)
    record.append(cplat_now_ns() - s)
    rows = h.rows
    run.append(try runTape())
    _ = total
  }
  func runTape() throws -> Int64 {
    let s = cplat_now_ns()
    let tape = try MarketTape(path: tapePath)
    let quoter = GridQuoter(quantity: instrument.lotSize, tickSize: instrument.tickSize)
    var settings = Backtester.Settings()
    settings.queue = model
    settings.fills = .whole
    settings.clockTickNs = 100_000_000
    settings.clockFromFirstEvent = true
    let bt = Backtester(
      tape: tape, instrument: instrument, strategy: quoter,
      tradingRule: TradingRule(tickSize: instrument.tickSize, stepSize: instrument.lotSize),
      limits: RiskLimits(), clientIDs: ClientIDCodec(unchecked: "bt"), settings: settings
    ) { BinanceCaptureTape.bookFeed(.futures, instrument: instrument, sink: $0) }
    quoter.tracker = bt.host.tracker
    bt.run()
    fills = bt.fills.count
    orders = bt.ordersSent
    rows = tape.header.rows
    return cplat_now_ns() - s
  }
  if runOnly {
    print(String(format: "backtest_live_run_s=%.3f fills=%d orders=%d", median(run), fills, orders))
    return
  }
  let total = zip(record, run).map { $0 + $1 }
  print(
    "backtest_live_rows=\(rows) backtest_live_orders=\(orders) backtest_live_fills=\(fills) model=\(model)")
  print(
    String(
      format:
        "zlib_inflate_s=%.3f tape_record_s=%.3f backtest_live_run_s=%.3f backtest_live_ns_per_row=%.0f from_gzip_s=%.3f from_gzip_vs_inflate=%.2f",
      median(inflate), median(record), median(run), median(run) * 1e9 / Double(max(1, rows)), median(total),
      median(total) / median(inflate)))
}
