import Engine
import FastBook
import Foundation
import Wire

/// Binance spot's connector for one symbol, as the trading node uses it: market data (diff
/// stream, REST snapshot, spot's sync rule) into the node's book ring, order entry over the
/// WebSocket API, the account stream (`userDataStream.subscribe.signature`) and reconciliation
/// over REST into its exec ring — all on one limiter (`rateLimits`: the venue's figures from
/// exchangeInfo), because Binance limits and bans by IP and counts new orders per account.
public final class BinanceSpotAdapter: VenueAdapter {
  public struct Endpoint: Sendable, Equatable {
    public var host: String
    public var port: UInt16
    /// The name the TLS certificate is checked against.
    public var serverName: String
    /// The WebSocket path (the WebSocket API's, or the market streams' combined-stream base);
    /// REST ignores it.
    public var path: String
    public init(host: String, port: UInt16, serverName: String, path: String = "") {
      self.host = host
      self.port = port
      self.serverName = serverName
      self.path = path
    }
  }

  /// Binance spot's three services, each on its own host: REST (`/api/v3`, the depth snapshot,
  /// exchangeInfo, reconciliation), the market streams (combined `/stream`), the WebSocket API
  /// (orders and the account stream).
  public struct Endpoints: Sendable, Equatable {
    public var rest: Endpoint
    public var streams: Endpoint
    public var wsAPI: Endpoint
    public init(rest: Endpoint, streams: Endpoint, wsAPI: Endpoint) {
      self.rest = rest
      self.streams = streams
      self.wsAPI = wsAPI
    }

    /// Everything on one host and port (a local `needletail venue` serving all three).
    public static func single(_ e: Endpoint) -> Endpoints {
      var streams = e
      streams.path = "/stream"
      var api = e
      api.path = "/ws-api/v3"
      return Endpoints(rest: e, streams: streams, wsAPI: api)
    }

    /// Binance spot's production hosts (binance-spot-api-docs, "General API Information").
    public static let mainnet = Endpoints(
      rest: Endpoint(host: "api.binance.com", port: 443, serverName: "api.binance.com"),
      streams: Endpoint(
        host: "stream.binance.com", port: 9443, serverName: "stream.binance.com", path: "/stream"),
      wsAPI: Endpoint(
        host: "ws-api.binance.com", port: 443, serverName: "ws-api.binance.com", path: "/ws-api/v3"))

    /// The spot test network's hosts (binance-spot-api-docs, testnet/general-info.md).
    public static let testnet = Endpoints(
      rest: Endpoint(host: "testnet.binance.vision", port: 443, serverName: "testnet.binance.vision"),
      streams: Endpoint(
        host: "stream.testnet.binance.vision", port: 9443, serverName: "stream.testnet.binance.vision",
        path: "/stream"),
      wsAPI: Endpoint(
        host: "ws-api.testnet.binance.vision", port: 443, serverName: "ws-api.testnet.binance.vision",
        path: "/ws-api/v3"))
  }

  public let loop: EventLoop
  public let feed: BinanceMarketData<PaperBookSink<RingBookSink>>
  public let entry: BinanceWSOrderEntry
  public let account: BinanceUserStream
  public let rest: BinanceSpotREST
  public let reconciler: BinanceRuntimeReconciler
  public var limiter: RateLimiter { rest.limiter }

  public convenience init(
    _ w: VenueWiring, endpoint: Endpoint, tls: TLSContext?, apiKey: String, secret: String,
    rateLimits: BinanceRateLimits = BinanceRateLimits(), answerTimeoutNs: Int64 = 5_000_000_000
  ) {
    self.init(
      w, endpoints: .single(endpoint), tls: tls, apiKey: apiKey, secret: secret, rateLimits: rateLimits,
      answerTimeoutNs: answerTimeoutNs)
  }

  public init(
    _ w: VenueWiring, endpoints: Endpoints, tls: TLSContext?, apiKey: String, secret: String,
    rateLimits: BinanceRateLimits = BinanceRateLimits(), answerTimeoutNs: Int64 = 5_000_000_000
  ) {
    loop = w.loop
    let (h, port, name) = (endpoints.rest.host, endpoints.rest.port, endpoints.rest.serverName)
    let s = endpoints.streams
    let a = endpoints.wsAPI
    let symbol = w.instrument.symbol
    // Binance limits by IP: the order entry, the reconciler's REST and the snapshot fetcher
    // answer to one limiter, so a 429/418 any of them is given holds all of them back.
    rest = BinanceSpotREST(
      http: HTTPClient(loop: loop, host: h, port: port, tls: tls, serverName: name),
      apiKey: apiKey, secret: secret, instrument: w.instrument, limiter: rateLimits.limiter())
    rest.time = w.time
    feed = BinanceMarketData(
      loop: loop, host: s.host, port: s.port, tls: tls, serverName: s.serverName, symbol: symbol,
      instrument: w.instrument, sink: w.bookSink, limiter: rest.limiter, streamsPath: s.path,
      rest: (h, port, name))
    entry = BinanceWSOrderEntry(
      loop: loop, host: a.host, port: a.port, tls: tls, serverName: a.serverName, apiKey: apiKey,
      secret: secret,
      instrument: w.instrument, clientIDs: w.clientIDs, execOut: w.execOut, limiter: rest.limiter,
      answerTimeoutNs: answerTimeoutNs, path: a.path)
    entry.time = w.time
    feed.time = w.time
    let time = w.time
    reconciler = BinanceRuntimeReconciler(
      rest: rest,
      lane: HTTPLane(
        loop: loop, host: h, port: port, tls: tls, serverName: name, nowNs: { time.nowNs }),
      symbol: symbol, clientIDs: w.clientIDs, execOut: w.execOut)
    entry.reconciler = reconciler
    account = BinanceUserStream(
      loop: loop, host: a.host, port: a.port, tls: tls, serverName: a.serverName, apiKey: apiKey,
      key: .hmac(secret: secret), target: .ring(w.execOut, clientIDs: w.clientIDs),
      instrument: w.instrument, nowNs: { time.nowNs }, path: a.path)
    account.time = time
  }

  public var problemLogs: [ProblemLog] { [feed.problems, rest.problems, account.problems, entry.problems] }

  /// Binance's ids: the prefix and a decimal tag, within 36 characters of `[.A-Z:/a-z0-9_-]`.
  public static func clientIDs(prefix: String) throws -> ClientIDCodec { try .binance(prefix: prefix) }

  /// The same, for a prefix the program chose itself (a bad one is a programming error).
  static func checkedClientIDs(prefix: String) -> ClientIDCodec {
    do { return try clientIDs(prefix: prefix) } catch { preconditionFailure("\(error)") }
  }
}

/// Binance spot on the trading node: `run`, `demo`, the runtime conformance harness and the
/// runtime soak trade through this.
public typealias BinanceSession = TradingNode<BinanceSpotAdapter>

extension TradingNode where Adapter == BinanceSpotAdapter {
  public typealias Endpoint = BinanceSpotAdapter.Endpoint

  /// A node on Binance spot at `endpoint` (REST, streams and the WebSocket API on one host here).
  public convenience init(
    loop: EventLoop, endpoint: Endpoint, tls: TLSContext?, apiKey: String, secret: String,
    instrument: Instrument, strategy: Strategy, rule: TradingRule, limits: RiskLimits,
    prefix: String, tracker: OrderTracker = OrderTracker(), clock: Clock,
    bookWindowTicks: Int = 1 << 14, centreTick: Int64, paper paperModel: PaperExchange.QueueModel? = nil,
    time: any TimeSource = LiveTime.shared, rateLimits: BinanceRateLimits = BinanceRateLimits(),
    answerTimeoutNs: Int64 = 5_000_000_000, layout: Layout = .oneThread
  ) {
    self.init(
      loop: loop, endpoints: .single(endpoint), tls: tls, apiKey: apiKey, secret: secret,
      instrument: instrument,
      strategy: strategy, rule: rule, limits: limits, prefix: prefix, tracker: tracker, clock: clock,
      bookWindowTicks: bookWindowTicks, centreTick: centreTick, paper: paperModel, time: time,
      rateLimits: rateLimits, answerTimeoutNs: answerTimeoutNs, layout: layout)
  }

  /// A node on Binance spot's three services at `endpoints`.
  public convenience init(
    loop: EventLoop, endpoints: BinanceSpotAdapter.Endpoints, tls: TLSContext?, apiKey: String,
    secret: String,
    instrument: Instrument, strategy: Strategy, rule: TradingRule, limits: RiskLimits,
    prefix: String, tracker: OrderTracker = OrderTracker(), clock: Clock,
    bookWindowTicks: Int = 1 << 14, centreTick: Int64, paper paperModel: PaperExchange.QueueModel? = nil,
    time: any TimeSource = LiveTime.shared, rateLimits: BinanceRateLimits = BinanceRateLimits(),
    answerTimeoutNs: Int64 = 5_000_000_000, layout: Layout = .oneThread
  ) {
    self.init(
      loop: loop, instrument: instrument, strategy: strategy, rule: rule, limits: limits,
      clientIDs: BinanceSpotAdapter.checkedClientIDs(prefix: prefix),
      tracker: tracker, clock: clock, bookWindowTicks: bookWindowTicks, centreTick: centreTick,
      paper: paperModel, time: time, layout: layout
    ) {
      BinanceSpotAdapter(
        $0, endpoints: endpoints, tls: tls, apiKey: apiKey, secret: secret, rateLimits: rateLimits,
        answerTimeoutNs: answerTimeoutNs)
    }
  }

  public var marketData: BinanceMarketData<PaperBookSink<RingBookSink>> { adapter.feed }

  /// The venue's clock against ours, from `GET /api/v3/time` (the sample with the shortest of
  /// `samples` round trips), applied to every signed request — REST, the WebSocket API's orders,
  /// the account stream's subscription — so that a host whose clock is off is not refused with
  /// -1021. Blocking on the loop (before `start()`); nil when the venue did not answer. Returns
  /// the offset (ms, server minus ours) and the round trip it was measured over.
  @discardableResult
  public func syncServerTime(samples: Int = 5, timeoutNs: Int64 = 5_000_000_000) -> (
    offsetMs: Int64, roundTripMs: Int64
  )? {
    let sync = BinanceTimeSync()
    let time = adapter.rest.time
    for _ in 0..<samples {
      // Weight 1 each, on the shared budget (at start it is fresh; a spent one stops sampling).
      guard case .go = adapter.limiter.acquire(BinanceRequest.time, now: time.wallNs) else { break }
      var done = false
      sync.sample(adapter.rest.http, clockMs: { time.wallMs }) { done = true }
      _ = loop.run(timeoutNs: timeoutNs) { done }
    }
    guard sync.bestRoundTripMs != .max else { return nil }
    setTimeOffset(sync.offsetMs)
    return (sync.offsetMs, sync.bestRoundTripMs)
  }

  /// Re-measures the offset every `everyNs` in the background (one sample each time), and at
  /// once when the venue refuses a signed request with -1021 — an order over the WebSocket API,
  /// a REST call, a reconciliation query (our clock drifted between samples) — at most once a
  /// second. A sample is skipped while the request budget is spent or a Retry-After runs.
  public func keepServerTimeSynced(everyNs: Int64 = 600_000_000_000) {
    let time = adapter.rest.time
    var lastNs = Int64.min / 2
    let resample = { [weak self] in
      guard let self else { return }
      lastNs = time.nowNs
      guard case .go = self.adapter.limiter.acquire(BinanceRequest.time, now: time.wallNs) else { return }
      let s = BinanceTimeSync()
      s.sample(self.adapter.rest.http, clockMs: { time.wallMs }) { [weak self] in
        guard let self, s.samples > 0, s.bestRoundTripMs != .max else { return }
        self.setTimeOffset(s.offsetMs)
      }
    }
    let refused = {
      if time.nowNs - lastNs >= 1_000_000_000 { resample() }
    }
    adapter.entry.onClockRefusal = refused
    adapter.rest.onClockRefusal = refused
    _ = loop.schedule(every: everyNs) { [weak self] in
      guard self != nil else { return false }
      resample()
      return true
    }
  }

  /// Reads the symbol's trading rule from exchangeInfo again every `everyNs` (Hummingbot: every
  /// 30 minutes) and at once after the venue refuses an order with a filter failure (-1013, at
  /// most once per `minGapNs`), on the wire loop; a rule that differs is handed to the strategy
  /// thread (`StrategyHost.ruleUpdates`), which quantizes and checks every order against it from
  /// its next turn. The request goes through the REST client's queue (its weight, Retry-After,
  /// 429/418 and the venue's counts, as every REST call).
  /// The scales are the instrument's identity: a venue that changes them is reported
  /// (`ruleScaleChanges`), not followed — that takes a restart.
  public func keepTradingRulesFresh(
    symbol: String, rule initial: TradingRule, everyNs: Int64 = 1_800_000_000_000,
    minGapNs: Int64 = 10_000_000_000
  ) {
    let time = adapter.rest.time
    let rest = adapter.rest
    let instrument = self.instrument
    let mailbox = host.ruleUpdates
    var known = initial
    var lastNs = Int64.min / 2
    var inFlight = false
    let refresh = { [weak self] in
      guard let self, !inFlight else { return }
      lastNs = time.nowNs
      inFlight = true
      self.ruleRefreshes += 1
      rest.send(
        "GET", "/api/v3/exchangeInfo", [("symbol", symbol)], signed: false, kind: BinanceRequest.exchangeInfo
      ) { [weak self] outcome in
        inFlight = false
        guard let self else { return }
        guard case .ok(let body) = outcome, let obj = body as? [String: Any],
          let info = try? BinanceExchangeInfo.parse(object: obj, symbol: symbol)
        else {
          self.ruleRefreshFailures += 1
          return
        }
        guard info.instrument.priceScale == instrument.priceScale,
          info.instrument.quantityScale == instrument.quantityScale
        else {
          self.ruleScaleChanges += 1
          return
        }
        if info.rule != known {
          known = info.rule
          self.ruleChangesPosted += 1
          self.lastPostedRule = info.rule
          mailbox.post(info.rule)
        }
      }
    }
    adapter.entry.onFilterRefusal = { [weak self] in
      // Once the venue has changed the scales, a refusal says nothing a refresh could mend.
      guard let self, self.ruleScaleChanges == 0 else { return }
      if time.nowNs - lastNs >= minGapNs { refresh() }
    }
    _ = loop.schedule(every: everyNs) { [weak self] in
      guard self != nil else { return false }
      refresh()
      return true
    }
  }

  func setTimeOffset(_ ms: Int64) {
    adapter.rest.timeOffsetMs = ms
    adapter.entry.timeOffsetMs = ms
    adapter.account.timeOffsetMs = ms
    adapter.limiter.venueClockOffsetNs = ms * 1_000_000
  }
  public var entry: BinanceWSOrderEntry { adapter.entry }
  public var user: BinanceUserStream { adapter.account }
  public var rest: BinanceSpotREST { adapter.rest }
  public var reconciler: BinanceRuntimeReconciler { adapter.reconciler }

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
}

extension BinanceSpotAdapter {
  /// GET /api/v3/account: the balances, the account's `commissionRates` and its `uid`.
  public func fetchAccount(timeoutNs: Int64 = 5_000_000_000) throws(VenueCallError) -> AccountSnapshot {
    let call = "GET /api/v3/account"
    var result: Result<AccountSnapshot, VenueCallError>?
    rest.account { outcome in
      switch outcome {
      case .ok(let body):
        if let units8 = BinanceOrderManager.balances(body) {
          result = .success(
            AccountSnapshot(
              balances: units8.mapValues { ($0.free * 10_000_000_000, $0.locked * 10_000_000_000) },
              fees: BinanceOrderManager.commissionRates(body), account: BinanceOrderManager.accountID(body)))
        } else {
          result = .failure(VenueCallError(call: call, message: "the answer had no balances"))
        }
      case .refused(let code, let message, let status):
        result = .failure(VenueCallError(call: call, code: code, message: message, httpStatus: status))
      case .limited(let status, let retryAfter, let message):
        result = .failure(
          VenueCallError(
            call: call, message: "rate limited (HTTP \(status), retry after \(retryAfter) s): \(message)",
            httpStatus: status))
      case .unknown(let why):
        result = .failure(VenueCallError(call: call, message: why))
      }
    }
    _ = loop.run(timeoutNs: timeoutNs) { result != nil }
    guard let result else {
      throw VenueCallError(call: call, message: "no answer in \(timeoutNs / 1_000_000_000) s")
    }
    return try result.get()
  }
}

extension BinanceMarketData: MarketDataFeed {
  public var isSynced: Bool { if case .synced = sync.state { true } else { false } }
  public var connection: ReconnectingWebSocket { socket }
}

extension BinanceWSOrderEntry: OrderEntry {
  /// WebSocket API answers outstanding, and the reconciler's REST requests.
  public var pendingRequests: Int {
    guard let r = reconciler else { return pending.count }
    return pending.count + r.queued + (r.lane.busy ? 1 : 0) + r.rest.pending
  }
  public var connection: ReconnectingWebSocket { socket }
}

extension BinanceUserStream: AccountStream {
  public var isSubscribed: Bool { subscribed }
  public var connection: ReconnectingWebSocket { socket }
}
