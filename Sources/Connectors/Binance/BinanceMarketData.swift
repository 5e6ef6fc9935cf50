import CPlatform
import CSimdJSON
import Engine
import FastBook
import Wire

/// One symbol's live order book from Binance: the diff stream over a (reconnecting) WebSocket,
/// the REST snapshot, and Binance's sync rules. A gap, a malformed message or a reconnect resets
/// the book and fetches a new snapshot — the book is rebuilt, never patched. Clean batches go to
/// the sink (an SPSC ring to the strategy thread in the runtime), and so do public trades
/// (`BookEvent.trade`), in the order they arrived.
public final class BinanceMarketData<Sink: BookEventSink> {
  public let symbol: String
  let loop: EventLoop
  public let socket: ReconnectingWebSocket
  let http: HTTPClient
  let decoder: BinanceMarketDecoder
  public private(set) var sync: BinanceBookSync<Sink>
  var snapshotInFlight = false
  public private(set) var snapshotsFetched = 0
  public private(set) var reconnects = 0
  public private(set) var trades = 0
  public private(set) var malformed = 0
  /// Malformed messages and snapshots are reported here (counted, and logged through its side
  /// thread when one is attached).
  public let problems = ProblemLog()
  /// Snapshot requests answered 429/418 (then retried only after the Retry-After given).
  public private(set) var rateLimited = 0
  /// The IP's limiter (share the order path's: `BinanceSpotREST.limiter`): no snapshot is asked
  /// for during a Retry-After, whichever client was given it.
  public let limiter: RateLimiter
  public var snapshotLimit = 1000

  /// `streamPath` e.g. "/stream?streams=btcusdt@depth@100ms/btcusdt@trade".
  public init(
    loop: EventLoop, host: String, port: UInt16, tls: TLSContext?, serverName: String, symbol: String,
    instrument: Instrument, rule: BinanceSyncRule = .spot, sink: Sink,
    limiter: RateLimiter = RateLimiter(),
    backoff: Backoff = Backoff(baseNs: 50_000_000, capNs: 5_000_000_000),
    streamsPath: String = "/stream", rest: (host: String, port: UInt16, serverName: String)? = nil
  ) {
    self.loop = loop
    self.limiter = limiter
    self.symbol = symbol
    let lower = symbol.lowercased()
    socket = ReconnectingWebSocket(
      loop: loop,
      target: .init(
        host: host, port: port, path: "\(streamsPath)?streams=\(lower)@depth@100ms/\(lower)@trade",
        tlsServerName: serverName),
      tls: tls, backoff: backoff)
    // The snapshot comes from the REST host (Binance serves streams and REST from different ones).
    let r = rest ?? (host, port, serverName)
    http = HTTPClient(loop: loop, host: r.host, port: r.port, tls: tls, serverName: r.serverName)
    decoder = BinanceMarketDecoder(instrument: instrument, maxMessageBytes: 4 << 20, levelCapacity: 5000)
    sync = BinanceBookSync(rule: rule, instrument: instrument, sink: sink)
    socket.onOpen = { [weak self] _ in self?.opened() }
    socket.onMessage = { [weak self] op, payload in self?.received(payload) }
    socket.onDisconnect = { [weak self] _, _ in self?.sync.invalidate(.disconnected) }
  }

  deinit { sync.deallocate() }

  public func start() { socket.start() }
  public func stop() { socket.close() }

  func opened() {
    reconnects += socket.connects > 1 ? 1 : 0
    // Buffer from now on; the snapshot comes after the stream is open (Binance's order).
    if case .synced = sync.state { sync.invalidate(.disconnected) }
    requestSnapshot()
  }

  func received(_ payload: UnsafeRawBufferPointer) {
    guard let base = payload.baseAddress else { return }
    let recvNs = loop.lastRecvNs
    let st = decoder.decode(base, count: payload.count, readable: payload.count)
    guard st == NT_OK else {
      malformed += 1
      problems.report(.malformedMarketMessage, .bookResync, message: payload)
      sync.invalidate(.malformedMessage)  // it may have been a diff
      requestSnapshot()
      return
    }
    let m = decoder.message
    switch m.pointee.kind {
    case NT_MSG_DEPTH_UPDATE:
      withUnsafePointer(to: m.pointee.depth) {
        sync.onDiff(
          $0, bids: decoder.bids, asks: decoder.asks, localTimeNs: recvNs, decodedTimeNs: cplat_now_ns())
      }
      // Not synced (start, or a gap just reset the book): fetch a snapshot to rebuild from.
      if case .awaitingSnapshot = sync.state { requestSnapshot() }
    case NT_MSG_TRADE:
      trades += 1
      let t = m.pointee.trade
      // The buyer was the maker: a seller took liquidity. Trades ride the book's ring, in the
      // order they came, whether or not the book is synced.
      sync.sink.emit(
        .trade(
          aggressor: t.buyer_is_maker != 0 ? .ask : .bid, tick: t.price / decoder.instrument.tickSize,
          quantity: t.qty, exchangeTimeNs: t.trade_time_ms &* 1_000_000, instrument: sync.instrumentIndex))
    default:
      break
    }
  }

  var retryScheduled = false
  /// The shared limiter's clock (the node's time: live, or a simulated one).
  public var time: any TimeSource = LiveTime.shared

  func requestSnapshot() {
    guard !snapshotInFlight else { return }
    let now = time.wallNs
    var pausedUntilNs = max(limiter.backoffUntil, limiter.haltedUntil)
    if now >= pausedUntilNs,
      case .waitUntil(let t) = limiter.acquire(BinanceRequest.depth(limit: snapshotLimit), now: now)
    {
      pausedUntilNs = t  // the weight budget is spent until its window turns
    }
    if now < pausedUntilNs {
      // A reconnect or a gap during a Retry-After: ask once it has passed, not before.
      if !retryScheduled {
        retryScheduled = true
        loop.schedule(after: pausedUntilNs - now) { [weak self] in
          self?.retryScheduled = false
          self?.requestSnapshot()
        }
      }
      return
    }
    snapshotInFlight = true
    http.request(
      HTTPRequestHead(method: "GET", target: "/api/v3/depth?symbol=\(symbol)&limit=\(snapshotLimit)"),
      timeoutNs: 5_000_000_000
    ) {
      [weak self] result in
      guard let self else { return }
      self.snapshotInFlight = false
      if case .success(let r) = result, r.head.status == 429 || r.head.status == 418 {
        // Binance limits by IP: every client of this engine shares the ban. Wait as told —
        // asking again early turns a 429 into a 418 and a 418 into a longer one.
        self.rateLimited += 1
        let seconds = Int(r.head.headers["retry-after"] ?? "60") ?? 60
        let msg = String(decoding: r.body, as: UTF8.self)
        if r.head.status == 418 {
          self.limiter.on418(retryAfterSeconds: seconds, now: time.wallNs, message: msg)
        } else {
          self.limiter.on429(retryAfterSeconds: seconds, now: time.wallNs)
        }
        self.requestSnapshot()  // scheduled for when the Retry-After has passed
        return
      }
      guard case .success(let r) = result, r.head.status == 200 else {
        self.loop.schedule(after: 200_000_000) { [weak self] in self?.requestSnapshot() }
        return
      }
      let st = r.body.withUnsafeBytes {
        self.decoder.decode($0.baseAddress!, count: $0.count, readable: $0.count)
      }
      guard st == NT_OK, self.decoder.message.pointee.kind == NT_MSG_DEPTH_SNAPSHOT else {
        self.malformed += 1
        self.problems.report(.malformedSnapshot, .snapshotRetry, message: r.body)
        self.loop.schedule(after: 50_000_000) { [weak self] in self?.requestSnapshot() }
        return
      }
      self.snapshotsFetched += 1
      self.sync.onSnapshot(
        lastUpdateID: self.decoder.message.pointee.depth.last_update_id, bids: self.decoder.bids,
        asks: self.decoder.asks,
        localTimeNs: 0)
      // A snapshot older than the buffered diffs: try again.
      if case .awaitingSnapshot = self.sync.state {
        self.loop.schedule(after: 50_000_000) { [weak self] in self?.requestSnapshot() }
      }
    }
  }
}
