import Backtest
import CPlatform
import Connectors
import Engine
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
