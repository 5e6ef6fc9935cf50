import Engine
import FastBook
import Foundation
import Wire

/// A strategy trading one Binance spot symbol live, wired as DESIGN.md's runtime in the
/// one-thread layout: on the wire loop, market data fills the book ring, orders go out over the
/// WebSocket API, account events and order answers come back through the exec ring,
/// reconciliation runs over REST; every `turn()` is one pass of the strategy thread's work
/// (`StrategyRuntime.pollOnce`) followed by sending what it decided. Public trades come through
/// the book ring like the book's changes. In paper mode the order entry, account stream and
/// reconciler stay idle and a `PaperExchange` answers the orders from the live book.
///
/// What the operator sees of it is the counters of its parts; `ready` says when the book is live
/// and both order connections are up.
public final class BinanceSession {
  public struct Endpoint: Sendable {
    public var host: String
    public var port: UInt16
    /// The name the TLS certificate is checked against.
    public var serverName: String
    public init(host: String, port: UInt16, serverName: String) {
      self.host = host
      self.port = port
      self.serverName = serverName
    }
  }

  public let loop: EventLoop
  public let host: StrategyHost
  public let runtime: StrategyRuntime
  public let marketData: BinanceMarketData<PaperBookSink<RingBookSink>>
  /// Paper mode: orders are filled here against the live book instead of going to the venue.
  public let paper: PaperExchange?
  public let entry: BinanceWSOrderEntry
  public let user: BinanceUserStream
  public let rest: BinanceSpotREST
  public let reconciler: BinanceRuntimeReconciler
  public let poller: RuntimeStatusPoller
  public let instrument: Instrument

  /// `prefix` starts every client order id; make it unique per run (ids must never repeat).
  public init(
    loop: EventLoop, endpoint: Endpoint, tls: TLSContext?, apiKey: String, secret: String,
    instrument: Instrument, strategy: Strategy, rule: TradingRule, limits: RiskLimits,
    prefix: String, tracker: OrderTracker = OrderTracker(), clock: Clock,
    bookWindowTicks: Int = 1 << 14, centreTick: Int64, paper paperModel: PaperExchange.QueueModel? = nil,
    time: any TimeSource = LiveTime.shared, answerTimeoutNs: Int64 = 5_000_000_000
  ) {
    self.loop = loop
    self.instrument = instrument
    let symbol = instrument.symbol
    host = StrategyHost(
      strategy: strategy, symbol: symbol, rule: rule, limits: limits, tracker: tracker, prefix: prefix,
      time: time)
    runtime = StrategyRuntime(
      host: host,
      book: LadderBook(instrument: instrument, windowTicks: bookWindowTicks, centreTick: centreTick),
      clock: clock)
    let (h, port, name) = (endpoint.host, endpoint.port, endpoint.serverName)
    let execIn = runtime.execIn
    let paper = paperModel.map {
      PaperExchange(
        instrument: instrument,
        book: LadderBook(instrument: instrument, windowTicks: bookWindowTicks, centreTick: centreTick),
        execOut: execIn, model: $0)
    }
    self.paper = paper
    // Binance limits by IP: the order entry, the reconciler's REST and the snapshot fetcher
    // answer to one limiter, so a 429/418 any of them is given holds all of them back.
    rest = BinanceSpotREST(
      http: HTTPClient(loop: loop, host: h, port: port, tls: tls, serverName: name),
      apiKey: apiKey, secret: secret, instrument: instrument)
    marketData = BinanceMarketData(
      loop: loop, host: h, port: port, tls: tls, serverName: name, symbol: symbol,
      instrument: instrument, sink: PaperBookSink(inner: runtime.sameThreadBookSink, paper: paper),
      limiter: rest.limiter)
    entry = BinanceWSOrderEntry(
      loop: loop, host: h, port: port, tls: tls, serverName: name, apiKey: apiKey, secret: secret,
      instrument: instrument, clientIDPrefix: prefix, execOut: runtime.execIn, limiter: rest.limiter,
      answerTimeoutNs: answerTimeoutNs)
    entry.time = time
    reconciler = BinanceRuntimeReconciler(
      rest: rest, symbol: symbol, clientIDPrefix: prefix, execOut: runtime.execIn)
    entry.reconciler = reconciler
    user = BinanceUserStream(
      loop: loop, host: h, port: port, tls: tls, serverName: name, apiKey: apiKey,
      key: .hmac(secret: secret), target: .ring(runtime.execIn, clientIDPrefix: prefix),
      instrument: instrument, nowNs: { time.nowNs })
    user.time = time
    rest.time = time
    poller = RuntimeStatusPoller(runtime: runtime)
    clock.add(poller)
    // The wire loop is the exec ring's one producer: these run on it. Events may have been
    // missed — one unreadable, or the stream resubscribed after a drop — so the strategy thread
    // reconciles before placing again.
    user.onStateInDoubt = { [unowned self] in stateInDoubt() }
    user.onSubscribed = { [unowned self] in
      accountSubscriptions += 1
      if accountSubscriptions > 1 { stateInDoubt() }
    }
  }

  /// Times the account stream subscribed (more than once: it was dropped and came back).
  public private(set) var accountSubscriptions = 0
  /// Told (on the wire loop) each time order state was put in doubt.
  public var onStateInDoubt: (() -> Void)?

  func stateInDoubt() {
    _ = runtime.execIn.tryPush(ExecEvent(kind: .stateInDoubt, tag: 0))
    onStateInDoubt?()
  }

  public func start() {
    marketData.start()
    guard paper == nil else { return }
    entry.start()
    user.start()
  }

  public func stop() {
    marketData.stop()
    entry.stop()
    user.stop()
  }

  /// Every connector's bad-input counters and log hook (market data, REST, account stream, order
  /// entry): set their `post` to a side thread to have each report logged.
  public var problemLogs: [ProblemLog] {
    [marketData.problems, rest.problems, user.problems, entry.problems]
  }

  /// The book is live and both order connections are up (paper: the book is live).
  public var ready: Bool { runtime.applier.isLive && (paper != nil || (entry.isOpen && user.subscribed)) }

  /// One pass of the strategy thread's work, then what it decided goes out.
  public func turn() {
    runtime.pollOnce()
    if let paper {
      while let o = runtime.ordersOut.tryPop() { _ = paper.send(o) }
    } else {
      while let o = runtime.ordersOut.tryPop() { _ = entry.send(o) }
      entry.poll(now: runtime.time.nowNs)
    }
  }

  /// Order requests not answered yet: queued for the wire side, sent over the WebSocket API,
  /// or the reconciler's over REST.
  public var pendingRequests: Int { runtime.ordersOut.count + entry.pending.count + rest.pending }

  /// Runs the loop, a turn at every wake-up, until `condition` holds or `timeoutNs` passes.
  /// A timer wakes the loop every `wakeNs` so the Clock ticks even when the venue is quiet.
  @discardableResult
  public func run(timeoutNs: Int64, wakeNs: Int64 = 1_000_000, until condition: () -> Bool) -> Bool {
    Self.run([self], timeoutNs: timeoutNs, wakeNs: wakeNs, until: condition)
  }

  /// The same for several sessions sharing one loop (a strategy trading two venues on one
  /// thread, e.g. cross-exchange market making): each takes its turn at every wake-up.
  @discardableResult
  public static func run(
    _ sessions: [BinanceSession], timeoutNs: Int64, wakeNs: Int64 = 1_000_000, until condition: () -> Bool
  ) -> Bool {
    guard let loop = sessions.first?.loop else { return condition() }
    precondition(sessions.allSatisfy { $0.loop === loop }, "sessions run together share one loop")
    var waking = true
    func wake() {
      guard waking else { return }
      _ = loop.schedule(after: wakeNs) { wake() }
    }
    wake()
    defer { waking = false }
    return loop.run(timeoutNs: timeoutNs) {
      for s in sessions { s.turn() }
      return condition()
    }
  }

  /// Why a set-up call before trading failed.
  public struct SetupError: Error, CustomStringConvertible {
    public var description: String
  }

  /// GET /api/v3/exchangeInfo for one symbol: its instrument and trading rule (blocking on
  /// `loop`, before trading starts).
  public static func exchangeInfo(
    loop: EventLoop, endpoint: Endpoint, tls: TLSContext?, symbol: String, timeoutNs: Int64 = 5_000_000_000
  ) throws(SetupError) -> BinanceExchangeInfo.SymbolInfo {
    let http = HTTPClient(
      loop: loop, host: endpoint.host, port: endpoint.port, tls: tls, serverName: endpoint.serverName)
    defer { http.close() }
    var body: [UInt8]?
    var failure: String?
    http.request(
      HTTPRequestHead(method: "GET", target: "/api/v3/exchangeInfo?symbol=\(symbol)"), timeoutNs: timeoutNs
    ) { r in
      switch r {
      case .success(let resp) where resp.head.status == 200: body = resp.body
      case .success(let resp): failure = "HTTP \(resp.head.status)"
      case .failure(let e): failure = "\(e)"
      }
    }
    _ = loop.run(timeoutNs: timeoutNs + 1_000_000_000) { body != nil || failure != nil }
    guard let body else { throw SetupError(description: "exchangeInfo failed: \(failure ?? "no answer")") }
    do {
      return try BinanceExchangeInfo.parse(body, symbol: symbol)
    } catch {
      throw SetupError(description: "exchangeInfo unreadable: \(error)")
    }
  }

  /// Balances from GET /api/v3/account, in units of 10⁻¹⁸ per asset (nil: the call failed).
  public func fetchBalances(timeoutNs: Int64 = 5_000_000_000) -> [String: (free: Int128, locked: Int128)]? {
    fetchAccount(timeoutNs: timeoutNs)?.balances
  }

  /// GET /api/v3/account: the balances (units of 10⁻¹⁸), the account's commission rates
  /// (`commissionRates`; nil when the answer has none) and the venue's id of the account (`uid`;
  /// nil when absent), or nil when there is no answer.
  public func fetchAccount(timeoutNs: Int64 = 5_000_000_000) -> (
    balances: [String: (free: Int128, locked: Int128)], fees: FeeSchema?, account: String?
  )? {
    var result: (balances: [String: (free: Int128, locked: Int128)], fees: FeeSchema?, account: String?)?
    var done = false
    rest.account { outcome in
      done = true
      guard case .ok(let body) = outcome, let units8 = BinanceOrderManager.balances(body) else { return }
      result = (
        units8.mapValues { ($0.free * 10_000_000_000, $0.locked * 10_000_000_000) },
        BinanceOrderManager.commissionRates(body), BinanceOrderManager.accountID(body)
      )
    }
    _ = loop.run(timeoutNs: timeoutNs) { done }
    return result
  }
}
