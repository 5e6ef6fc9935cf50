import ArgumentParser
import CPlatform
import Connectors
import Engine
import FastBook
import Foundation
import Logging
import Persistence
import Strategies
import Synchronization
import Venue
import Wire

/// `needletail demo`: the embedded venue with synthetic flow on its own thread, and pure market
/// making trading it over real sockets (TLS, WebSocket streams, WebSocket API orders, REST
/// reconciliation) in the live runtime, for a bounded time, with a live status.
struct Demo: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Run pure market making against an embedded simulated venue for a while.",
    discussion: """
      Starts the simulated Binance-spot venue on 127.0.0.1 (a random port, TLS with a local CA) \
      with synthetic participants moving BTCUSDT around 60,000, and trades it with pure market \
      making through the same connector and runtime a live run uses. Prints a status every few \
      seconds (balances, active orders with spread and age, inventory, PnL), then cancels \
      everything and prints the fills and PnL, checked against the venue's own record.
      """)

  @Option(help: "How long to trade, in seconds.")
  var duration: Double = 20

  @Option(help: "Seconds between status lines.")
  var statusEvery: Double = 5

  @Option(help: "The synthetic market's seed (same seed, same market).")
  var seed: UInt64 = 1

  @Option(help: "Where the venue's local CA and certificate are written.")
  var dataDir: String = ".needletail/demo"

  @Option(help: "The trade history (SQLite; default: demo.sqlite in the data directory).")
  var db: String?

  @OptionGroup var runtimeOptions: RuntimeOptions

  @OptionGroup var logging: LogOptions

  func validate() throws {
    guard duration > 0, duration <= 86_400 else {
      throw ValidationError("--duration must be in (0, 86400] seconds, not \(duration)")
    }
    guard statusEvery > 0 else { throw ValidationError("--status-every must be above 0, not \(statusEvery)") }
  }

  mutating func run() throws {
    let instrument = Instrument(symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)
    // A fresh key and secret for this run; the secret is never printed.
    let apiKey = "demo-\(UInt32.random(in: 0...UInt32.max))"
    let secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
    let log = try logging.start(secrets: [apiKey, secret], label: "needletail.demo")
    let rt = try runtimeOptions.apply(to: RuntimeSettings.defaults(cpus: RuntimeSettings.allowedCPUs()))
    let venue = try EmbeddedVenue(
      instrument: instrument, apiKey: apiKey, secret: secret, seed: seed, dataDir: dataDir)
    defer { venue.stop() }
    say(
      "needletail demo: venue on https://127.0.0.1:\(venue.port) (BTCUSDT, synthetic flow, seed \(seed)); pure market making for \(duration) s"
    )

    let loop = try EventLoop()
    defer { loop.shutdown() }
    let tls = try TLSContext(client: venue.certs.ca)
    // The trading rule from the venue's exchangeInfo, as a live run gets it.
    let pick = try BinanceSpotPick(
      loop: loop, endpoints: .single(.init(host: "127.0.0.1", port: venue.port, serverName: "localhost")),
      tls: tls,
      symbol: "BTCUSDT")
    let info = pick.symbol
    // The client holds what exchangeInfo says (quantities at the 8 decimals Binance writes), not
    // the venue's own scales: the two sides share only the wire's decimal strings.
    let client = info.instrument
    let ms: Int64 = 1_000_000
    var c = PureMarketMakingConfig()
    c.bidSpread = 0.00005
    c.askSpread = 0.00005
    c.orderLevels = 2
    c.orderLevelSpread = 0.00005
    c.orderAmount = try FixedPoint.parse("0.005", scale: client.quantityScale)
    c.orderRefreshTimeNs = 2_000 * ms
    c.orderRefreshTolerance = 0.00002
    c.filledOrderDelayNs = 500 * ms
    c.inventorySkew = true
    c.minimumSpread = 0.00001
    let fees = FeeSchema(makerRate: 100_000, takerRate: 100_000)
    let pmm = PureMarketMaking(
      config: c, rule: info.rule, instrument: client,
      portfolio: Portfolio(
        base: 0, quote: 0, fees: fees, priceScale: client.priceScale, quantityScale: client.quantityScale))
    var limits = RiskLimits()
    limits.maxOpenOrders = 20
    limits.maxOrdersPerSecond = 50
    limits.priceBandBps = 200
    let tracker = OrderTracker(notFoundLimit: 3, retainFinishedNs: .max, cancelRetryNs: 2_000 * ms)
    let prefix = newClientIDPrefix()
    let session = pick.node(
      apiKey: apiKey, secret: secret, strategy: pmm, limits: limits, prefix: prefix, tracker: tracker,
      clock: Clock(tickNs: 100 * ms, start: cplat_now_ns()), centreTick: 6_000_000, layout: rt.nodeLayout)
    say("runtime: \(rt)")
    let balances: [String: (free: Int128, locked: Int128)]
    do { balances = try session.fetchAccount().balances } catch { throw RunFailure("\(error)") }
    pmm.portfolio = Portfolio(
      base: (balances["BTC"]?.free ?? 0) + (balances["BTC"]?.locked ?? 0),
      quote: (balances["USDT"]?.free ?? 0) + (balances["USDT"]?.locked ?? 0), fees: fees,
      priceScale: client.priceScale, quantityScale: client.quantityScale)
    // The history: each demo's venue ends with it, so what an interrupted earlier demo left open
    // is closed as lost; this run's orders and fills are written by the side thread.
    let dbPath = db ?? dataDir + "/demo.sqlite"
    // A new venue each run: its trade ids start again, so it is a venue of its own in the history.
    let venueID = VenueIdentity.ephemeral(
      kind: "demo", environment: "127.0.0.1:\(venue.port)", nowNs: Int64(Date().timeIntervalSince1970 * 1e9))
    if let note = try TradeHistory.recover(path: dbPath, asking: nil, instrument: client, venue: venueID) {
      log.notice("history \(dbPath): \(note)")
    }
    let writer = try startHistory(
      path: dbPath,
      run: RunInfo(
        startedAtNs: Int64(Date().timeIntervalSince1970 * 1e9), mode: "demo", venue: venueID,
        symbol: "BTCUSDT",
        baseAsset: "BTC", quoteAsset: "USDT", priceScale: client.priceScale,
        quantityScale: client.quantityScale, fees: fees, prefix: prefix,
        startBase: pmm.portfolio.base, startQuote: pmm.portfolio.quote), host: session.host, log: log,
      sideCPU: rt.sideCPU)
    defer { writer.stop() }
    let (status, flat) = try trade(
      session: session, pmm: pmm, tracker: tracker, instrument: client, duration: duration,
      statusEvery: statusEvery, runtime: rt, log: log)
    let record = venue.stopAndRead(account: 1, quantityScale: client.quantityScale)
    status.summary(record: record, allCancelled: flat)
    let history = try finishHistory(writer, path: dbPath)
    let historyAgrees = history.map { record.agrees(with: $0) } ?? false
    say(
      "history vs venue: \(historyAgrees ? "the same" : "DIFFERENT"): \(history?.fills ?? 0) fills (venue \(record.trades)), bought \(status.qty(history?.bought ?? 0)) / sold \(status.qty(history?.sold ?? 0)) BTC, balances \(historyAgrees ? "equal" : "differ")"
    )
    if !status.agrees(record) || !historyAgrees { throw ExitCode(1) }
  }
}

/// Set by SIGINT/SIGTERM: trading stops, orders are cancelled, the summary is printed.
let interrupted = Atomic<Bool>(false)

/// Trades `session` (its strategy `pmm`) until `duration` seconds pass (0: until interrupted),
/// printing a status every `statusEvery` seconds; then cancels everything (waiting at most 5 s for
/// the venue to confirm) and closes the connections. Returns the status printer (for the summary)
/// and whether every order was confirmed done.
///
/// In the two-thread layout (`runtime`) this thread is the wire thread and the strategy runs on
/// its own; what belongs to the strategy thread (book, tracker, portfolio) is read here only
/// while it is stopped: it runs in stretches that end at each status line (or the end, an
/// interrupt, the strategy stopping itself), and starts again after the line is printed.
func trade<Adapter: VenueAdapter>(
  session: TradingNode<Adapter>, pmm: any MarketMakingStrategy, tracker: OrderTracker, instrument: Instrument,
  duration: Double, statusEvery: Double, runtime rt: RuntimeSettings, log: Logger
) throws -> (StatusPrinter, Bool) {
  let start = pmm.portfolio
  signal(SIGINT) { _ in interrupted.store(true, ordering: .relaxed) }
  signal(SIGTERM) { _ in interrupted.store(true, ordering: .relaxed) }
  // This thread runs the wire loop (and, in one thread, the strategy): pinned as configured.
  if let cpu = rt.wireCPU, cplat_pin_current_thread(Int32(cpu)) != 0 {
    throw RunFailure("could not pin the wire thread to CPU \(cpu)")
  }
  // What the connectors find malformed is logged from a side thread; what changes in the
  // session (connections, resyncs, reconciliations, rate limits) from this loop.
  let problems = ProblemLogThread(logger: Logger(label: "needletail.connector"))
  problems.attach(session.problemLogs)
  problems.start(cpu: rt.sideCPU)
  defer { problems.stop(logger: log) }
  let watch = SessionWatch(session: session, logger: Logger(label: "needletail.session"))
  // Every order sent is stamped on the wire thread (the first 65,536 kept: about 5 MB).
  let latency = session.paper == nil ? LatencyLog(capacity: 1 << 16) : nil
  session.adapter.entry.latency = latency
  let twoThreads = session.layout == .twoThreads
  // spin: the loop busy-polls (in two threads the wire loop too: nothing else would hand it what
  // the strategy decided until its next completion or timer); block: it waits in io_uring.
  let loopMode: EventLoop.WaitMode = rt.idle == .spin ? .busyPoll : .block
  /// The strategy stopped itself (read on the strategy thread, seen on this one).
  let strategyStopped = StopFlag()
  var strategyPinned = true
  /// Runs the node until `wire()` (on this thread, wire-side state only) holds or `settled()`
  /// (strategy-side state, read while the strategy is stopped) holds, at most `timeoutNs`; in
  /// the two-thread layout in stretches of at most `sliceNs`.
  func drive(timeoutNs: Int64, sliceNs: Int64, wire: () -> Bool, settled: () -> Bool) -> Bool {
    guard twoThreads else {
      return session.run(mode: loopMode, timeoutNs: timeoutNs) {
        watch.poll(now: cplat_now_ns())
        return wire() || settled()
      }
    }
    let end = cplat_now_ns() &+ timeoutNs
    while true {
      let now = cplat_now_ns()
      let left = end - now
      guard left > 0 else { return settled() }
      let stopped = strategyStopped
      let met = session.runTwoThreads(
        strategyCPU: rt.strategyCPU, idle: rt.idle == .spin ? .spin : .sleep(microseconds: 50),
        mode: loopMode, timeoutNs: min(left, sliceNs),
        onStrategy: { if pmm.stoppedReason != nil { stopped.set() } },
        until: {
          watch.poll(now: cplat_now_ns(), strategySide: false)
          return wire()
        })
      if rt.strategyCPU != nil && !session.strategyPinned { strategyPinned = false }
      watch.poll(now: cplat_now_ns(), force: true)
      if met || settled() { return true }
    }
  }
  session.start()
  guard
    drive(
      timeoutNs: 15_000_000_000, sliceNs: 100_000_000, wire: { interrupted.load(ordering: .relaxed) },
      settled: { session.ready }),
    session.ready
  else {
    throw RunFailure(
      "not ready within 15 s: book \(session.runtime.applier.isLive ? "live" : "not synced"), order entry \(session.adapter.entry.isOpen ? "open" : "closed"), account stream \(session.adapter.account.isSubscribed ? "subscribed" : "not subscribed")\(session.adapter.account.lastRefusal.map { " (\($0))" } ?? "")"
    )
  }
  if !strategyPinned, let cpu = rt.strategyCPU {
    throw RunFailure("could not pin the strategy thread to CPU \(cpu)")
  }
  let t0 = cplat_now_ns()
  let end = duration > 0 ? t0 + Int64(duration * 1e9) : Int64.max
  var nextStatus = t0 + Int64(statusEvery * 1e9)
  let status = StatusPrinter(pmm: pmm, instrument: instrument, start: start, t0: t0)
  log.info("trading", metadata: ["duration_s": "\(duration > 0 ? "\(duration)" : "until interrupted")"])
  while true {
    let now = cplat_now_ns()
    if now >= end || interrupted.load(ordering: .relaxed) || pmm.stoppedReason != nil { break }
    let until = min(end, nextStatus)
    _ = drive(
      timeoutNs: until - now, sliceNs: .max,
      wire: { cplat_now_ns() >= until || interrupted.load(ordering: .relaxed) || strategyStopped.isSet },
      settled: { pmm.stoppedReason != nil })
    let after = cplat_now_ns()
    if after >= nextStatus {
      // The next line a full interval on (a slow print does not make the lines pile up).
      nextStatus = max(nextStatus + Int64(statusEvery * 1e9), after + 1)
      status.print(now: after, host: session.host)
    }
  }
  if let why = pmm.stoppedReason {
    say("stopped: \(why)")
    log.warning("strategy stopped", metadata: ["reason": "\(why)"])
  } else if interrupted.load(ordering: .relaxed) {
    log.notice("interrupted: cancelling every order")
  }
  // Stop: cancel everything, wait (bounded) for the venue to confirm.
  session.host.perform(referencePrice: StrategyHost.mid(session.runtime.book), now: cplat_now_ns()) {
    pmm.stop(reason: "stopped by the operator", intents: &$0)
  }
  let flat = drive(
    timeoutNs: 5_000_000_000, sliceNs: 50_000_000, wire: { false },
    settled: { pmm.orders.isEmpty && !tracker.orders.values.contains { !$0.state.isDone } })
  watch.poll(now: cplat_now_ns(), force: true)
  if !flat {
    let open = tracker.orders.values.filter { !$0.state.isDone }.map { "\($0.clientOrderID)" }
    log.error(
      "not every order was confirmed done within 5 s: check the exchange",
      metadata: ["orders": "\(open.joined(separator: ","))"])
  }
  watch.closing = true
  session.stop()
  _ = drive(timeoutNs: 200_000_000, sliceNs: 200_000_000, wire: { false }, settled: { false })
  log.info("connections closed")
  status.print(now: cplat_now_ns(), host: session.host)
  if let latency, let line = tickToTradeSummary(latency) { say(line) }
  say(String(format: "memory: peak RSS %.1f MiB (%@)", peakRSSMiB(), allocatorName()))
  return (status, flat)
}

/// A flag the strategy thread sets and the wire thread reads.
final class StopFlag: Sendable {
  let flag = Atomic<Bool>(false)
  func set() { flag.store(true, ordering: .releasing) }
  var isSet: Bool { flag.load(ordering: .acquiring) }
}

/// What the venue recorded for the demo's account.
struct VenueRecord {
  var trades: Int
  var bought: Int64
  var sold: Int64
  var base: Int128
  var quote: Int128
  var openOrders: Int
}

extension VenueRecord {
  /// The history of the same run says the same: every trade, both directions, the balances.
  func agrees(with h: RunHistory) -> Bool {
    h.fills == trades && h.bought == bought && h.sold == sold && h.endBase == base && h.endQuote == quote
      && h.inFlight == 0 && openOrders == 0
  }
}

/// The simulated venue on a thread of its own (its own event loop), with synthetic flow.
final class EmbeddedVenue: @unchecked Sendable {
  let certs: (ca: String, cert: String, key: String)
  private(set) var port: UInt16 = 0
  let stopping = Atomic<Bool>(false)
  var thread: NativeThread?
  var engine: MatchingEngine?
  var startError: String?

  init(instrument: Instrument, apiKey: String, secret: String, seed: UInt64, dataDir: String) throws {
    certs = try VenueHost.ensureCertificates(dataDir: dataDir)
    let ready = DispatchSemaphore(value: 0)
    let certs = self.certs
    thread = NativeThread(name: "nt-venue", cpu: nil) { [self] in
      do {
        let loop = try EventLoop()
        let engine = MatchingEngine(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
        var sym = VenueSymbol(name: "BTCUSDT", baseAsset: "BTC", quoteAsset: "USDT", instrument: instrument)
        sym.minQty = 1
        sym.maxQty = 900_000_000
        sym.minNotional = 5 * 10_000_000  // 5 USDT at price scale 2 + quantity scale 5
        let unit: Int128 = 1_000_000_000_000_000_000
        engine.addSymbol(sym)
        engine.deposit(account: 1, asset: "USDT", units: 30_000 * unit)
        engine.deposit(account: 1, asset: "BTC", units: unit / 2)
        var p = SyntheticMarket.Parameters()
        p.seed = seed
        p.startTicks = 6_000_000
        p.volatilityTicksPerSecond = 300
        p.meanDepthTicks = 400
        p.limitRate = 300
        p.cancelRate = 200
        p.marketRate = 25
        p.maxLots = 1_500
        let host = try VenueHost(
          loop: loop, engine: engine,
          credentials: [VenueCredential(apiKey: apiKey, account: 1, hmacSecret: secret)],
          tls: TLSContext(server: certs.cert, keyFile: certs.key), market: p)
        self.engine = engine
        self.port = host.port
        ready.signal()
        loop.run(timeoutNs: .max) { self.stopping.load(ordering: .acquiring) }
        host.close()
        loop.shutdown()
      } catch {
        self.startError = "\(error)"
        ready.signal()
      }
    }
    ready.wait()
    if let e = startError { throw RunFailure("the embedded venue did not start: \(e)") }
  }

  /// Stops the venue's thread, then reads its record (safe: the thread has ended).
  /// The account's record at the venue, its quantities rescaled to the client's `quantityScale`.
  func stopAndRead(account: Int, quantityScale: Int) -> VenueRecord {
    stop()
    let e = engine!
    let up = FixedPoint.pow10(
      quantityScale - (e.symbols["BTCUSDT"]?.instrument.quantityScale ?? quantityScale))
    let trades = e.myTrades(account: account, symbol: "BTCUSDT").map { t in
      var t = t
      t.qty *= up
      return t
    }
    let btc = e.balance(account: account, asset: "BTC")
    let usdt = e.balance(account: account, asset: "USDT")
    return VenueRecord(
      trades: trades.count, bought: trades.filter { $0.buyerAccount == account }.reduce(0) { $0 + $1.qty },
      sold: trades.filter { $0.sellerAccount == account }.reduce(0) { $0 + $1.qty },
      base: btc.free + btc.locked,
      quote: usdt.free + usdt.locked, openOrders: e.openOrders(account: account).count)
  }

  func stop() {
    stopping.store(true, ordering: .releasing)
    thread?.join()
    thread = nil
  }
}

/// Hummingbot-style status: balances, active orders with spread and age, inventory, PnL.
final class StatusPrinter {
  let pmm: any MarketMakingStrategy
  let inst: Instrument
  let start: Portfolio
  let t0: Int64

  init(pmm: any MarketMakingStrategy, instrument: Instrument, start: Portfolio, t0: Int64) {
    self.pmm = pmm
    self.inst = instrument
    self.start = start
    self.t0 = t0
  }

  func px(_ raw: Int64) -> String { FixedPoint.format(raw, scale: inst.priceScale) }
  func qty(_ raw: Int64) -> String { FixedPoint.format(raw, scale: inst.quantityScale) }
  /// A price·quantity raw as quote with 2 decimals (cut, not rounded).
  func quote(_ raw: Int128) -> String {
    let scale = inst.priceScale + inst.quantityScale
    guard scale > 2 else { return FixedPoint.format(Int64(raw), scale: scale) }
    return FixedPoint.format(Int64(raw / Int128(FixedPoint.pow10(scale - 2))), scale: 2)
  }
  /// Asset units (10⁻¹⁸) with `decimals` shown (cut, not rounded).
  func units(_ u: Int128, _ decimals: Int) -> String {
    FixedPoint.format(Int64(u / Int128(FixedPoint.pow10(Portfolio.unitScale - decimals))), scale: decimals)
  }

  var mark: Int64 { Int64(pmm.referencePrice() ?? 0) }

  func pnl() -> (realized: Int128, unrealized: Int128, total: Int128) {
    let p = pmm.portfolio
    let total = p.value(mark: mark) - start.value(mark: mark)
    return (p.realized, p.unrealized(mark: mark), total)
  }

  func print(now: Int64, host h: StrategyHost) {
    let p = pmm.portfolio
    let (r, u, total) = pnl()
    say(
      String(
        format:
          "[%6.1fs] mid %@ | BTC %@ USDT %@ | fills %d (bought %@, sold %@) | PnL %@ USDT (realized %@, open %@, fees %@) | orders placed %d, cancels %d",
        Double(now - t0) / 1e9, px(mark), units(p.base, 5), units(p.quote, 2), p.fills, qty(p.boughtQuantity),
        qty(p.soldQuantity), quote(total), quote(r), quote(u), quote(p.feesInQuote), pmm.placed,
        pmm.cancelsSent))
    let active = pmm.orders.values.sorted { $0.price > $1.price }
    for q in active {
      let spread = mark > 0 ? (Double(q.price) - Double(mark)) / Double(mark) * 100 : 0
      say(
        String(
          format: "           %@ %@ @ %@  spread %+.3f%%  age %.1fs%@", q.side == .buy ? "buy " : "sell",
          qty(q.remaining), px(q.price), spread, Double(now - q.createdNs) / 1e9,
          q.hanging ? "  hanging" : (q.cancelling ? "  cancelling" : "")))
    }
    if h.gate.refusals.contains(where: { $0 > 0 }) || h.ruleRefusals > 0 {
      say(
        "           refused: rule \(h.ruleRefusals), risk \(zip(RiskRefusal.allCases, h.gate.refusals).filter { $0.1 > 0 }.map { "\($0.0): \($0.1)" })"
      )
    }
  }

  func summary(record: VenueRecord?, allCancelled: Bool) {
    let p = pmm.portfolio
    let (r, u, total) = pnl()
    say(
      "done: \(p.fills) fills, bought \(qty(p.boughtQuantity)) BTC, sold \(qty(p.soldQuantity)) BTC, volume \(quote(p.volume)) USDT, fees \(quote(p.feesInQuote)) USDT"
    )
    say(
      "PnL: \(quote(total)) USDT at mid \(px(mark)) (realized \(quote(r)), open position \(qty(p.position)) BTC worth \(quote(u)) over its cost, fees paid included in balances)"
    )
    say(
      "inventory: BTC \(units(start.base, 5)) → \(units(p.base, 5)), USDT \(units(start.quote, 2)) → \(units(p.quote, 2))"
    )
    guard let record else {
      if !allCancelled { say("WARNING: not every cancel was confirmed within 5 s: check the exchange") }
      return
    }
    say(
      "venue's record: \(record.trades) trades (bought \(qty(record.bought)), sold \(qty(record.sold))), \(record.openOrders) orders open; balances \(agrees(record) ? "equal to" : "DIFFERENT from") the strategy's to the unit\(allCancelled ? "" : "; not every cancel was confirmed in time")"
    )
  }

  func agrees(_ r: VenueRecord) -> Bool {
    let p = pmm.portfolio
    return r.trades == p.fills && r.bought == p.boughtQuantity && r.sold == p.soldQuantity && r.base == p.base
      && r.quote == p.quote && r.openOrders == 0
  }
}
