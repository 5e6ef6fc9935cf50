import CSimdJSON
import Engine
import FastBook
import Foundation
import Wire

/// Account events from Binance spot's WebSocket API (`userDataStream.subscribe.signature`, the
/// only user-data path since listen keys were retired), applied to an `OrderTracker`:
/// executionReport NEW → accepted, TRADE → a fill (by trade id, so duplicates are harmless),
/// CANCELED/EXPIRED → cancelled, REJECTED → failed; outboundAccountPosition → balances. Events can
/// be lost, repeated or reordered; the order manager's reconciliation covers what this misses.
public final class BinanceUserStream {
  /// How requests are signed: an HMAC secret, or an Ed25519 private key (the 32-byte seed;
  /// Binance's recommended key type for the WebSocket API). Never printed.
  public enum Key: Sendable {
    case hmac(secret: String)
    case ed25519(privateKeySeed: [UInt8])
  }

  public let socket: ReconnectingWebSocket
  let apiKey: String
  /// The key as used: an HMAC key prepared once (the secret string is not kept), or the seed.
  enum Signer {
    case hmac(HMACSHA256Key)
    case ed25519([UInt8])
  }
  let signer: Signer
  /// Subscriptions the venue refused (bad signature, unknown key…), with its last message.
  public private(set) var refusals = 0
  public private(set) var lastRefusal: String?
  /// Where account events go: straight into a tracker on this thread, or — in the runtime —
  /// into the exec ring to the strategy thread that owns the tracker.
  public enum Target {
    case tracker(OrderTracker)
    /// Orders whose ids `clientIDs` wrote (the strategy host's); events for other client ids
    /// (orders placed elsewhere on the account) are counted in `foreignEvents`.
    case ring(SPSCRing<ExecEvent>, clientIDs: ClientIDCodec)
  }
  public let target: Target
  /// The ring target's codec (reads each event's tag from its id bytes, without a String).
  let clientIDs: ClientIDCodec?
  /// Reads every message of the stream (no Foundation on this path).
  let decoder: BinanceAccountDecoder
  /// Account events for orders this engine did not place (ring target only).
  public private(set) var foreignEvents = 0
  /// Events dropped because the exec ring was full.
  public private(set) var execRingFull = 0
  let instrument: Instrument
  public var nowNs: () -> Int64
  /// The subscription's request timestamp is read on this (wall time).
  public var time: any TimeSource = LiveTime.shared
  /// Added to the time source's wall clock for the subscription's `timestamp` (the server-time
  /// offset from the time sync).
  public var timeOffsetMs: Int64 = 0
  public private(set) var subscribed = false
  public private(set) var events = 0
  /// When the last account event arrived (`nowNs` clock), 0 before any.
  public private(set) var lastEventNs: Int64 = 0
  public private(set) var malformed = 0
  /// Malformed events are reported here (counted, and logged through its side thread).
  public let problems = ProblemLog()
  /// Called when an event could not be read: it may have changed an order, so the caller should
  /// reconcile orders with the venue (as after a resubscription).
  public var onStateInDoubt: (() -> Void)?
  /// The balances the stream reported last (units of 10⁻⁸).
  public private(set) var balances = BinanceStreamBalances()
  var nextID = 1
  /// Called after each (re)subscription: the moment to reconcile what was missed.
  public var onSubscribed: (() -> Void)?

  public convenience init(
    loop: EventLoop, host: String, port: UInt16, tls: TLSContext?, serverName: String, apiKey: String,
    secret: String,
    tracker: OrderTracker, instrument: Instrument, nowNs: @escaping () -> Int64
  ) {
    self.init(
      loop: loop, host: host, port: port, tls: tls, serverName: serverName, apiKey: apiKey,
      key: .hmac(secret: secret), tracker: tracker, instrument: instrument, nowNs: nowNs)
  }

  public convenience init(
    loop: EventLoop, host: String, port: UInt16, tls: TLSContext?, serverName: String, apiKey: String,
    key: Key, tracker: OrderTracker, instrument: Instrument, nowNs: @escaping () -> Int64
  ) {
    self.init(
      loop: loop, host: host, port: port, tls: tls, serverName: serverName, apiKey: apiKey, key: key,
      target: .tracker(tracker), instrument: instrument, nowNs: nowNs)
  }

  public init(
    loop: EventLoop, host: String, port: UInt16, tls: TLSContext?, serverName: String, apiKey: String,
    key: Key, target: Target, instrument: Instrument, nowNs: @escaping () -> Int64,
    path: String = "/ws-api/v3"
  ) {
    socket = ReconnectingWebSocket(
      loop: loop, target: .init(host: host, port: port, path: path, tlsServerName: serverName),
      tls: tls,
      backoff: Backoff(baseNs: 50_000_000, capNs: 5_000_000_000))
    self.apiKey = apiKey
    switch key {
    case .hmac(let secret): signer = .hmac(HMACSHA256Key(secret: secret))
    case .ed25519(let seed): signer = .ed25519(seed)
    }
    self.target = target
    if case .ring(_, let ids) = target { clientIDs = ids } else { clientIDs = nil }
    decoder = BinanceAccountDecoder(instrument: instrument)
    self.instrument = instrument
    self.nowNs = nowNs
    socket.onOpen = { [weak self] ws in self?.subscribe(ws) }
    socket.onMessage = { [weak self] _, payload in self?.received(payload) }
    socket.onDisconnect = { [weak self] _, _ in self?.subscribed = false }
  }

  public func start() { socket.start() }
  public func stop() { socket.close() }

  func subscribe(_ ws: WebSocket) {
    let ts = time.wallMs + timeOffsetMs
    let payload = "apiKey=\(apiKey)&timestamp=\(ts)"  // params sorted by name
    let sig: String
    switch signer {
    case .hmac(let k): sig = k.hex(payload)
    case .ed25519(let seed):
      guard let raw = Signing.signEd25519(privateKeySeed: seed, payload: payload) else {
        refusals += 1
        lastRefusal = "the Ed25519 private key is not a 32-byte seed"
        return
      }
      sig = Base64.encode(raw)  // [A-Za-z0-9+/=]: nothing to escape in JSON
    }
    let id = nextID
    nextID += 1
    try? ws.send(
      text:
        "{\"id\":\"sub-\(id)\",\"method\":\"userDataStream.subscribe.signature\",\"params\":{\"apiKey\":\"\(apiKey)\",\"timestamp\":\(ts),\"signature\":\"\(sig)\"}}"
    )
  }

  /// An event that could not be read: counted, reported, and order state put in doubt.
  func unreadable(_ payload: UnsafeRawBufferPointer) {
    malformed += 1
    problems.report(.malformedUserEvent, .reconcileOrders, message: payload)
    onStateInDoubt?()
  }

  /// Valid JSON this stream does not know (neither an event nor an answer): counted, skipped.
  public private(set) var unknownMessages = 0

  func received(_ payload: UnsafeRawBufferPointer) {
    let st = decoder.decode(payload)
    if st == NT_ERR_UNKNOWN_MESSAGE {
      unknownMessages += 1
      return
    }
    guard st == NT_OK else { return unreadable(payload) }
    let m = decoder.message
    switch m.pointee.kind {
    case NT_ACCOUNT_ANSWER:
      let a = m.pointee.answer
      if a.has_result != 0 && a.subscription_id >= 0 {
        subscribed = true
        onSubscribed?()
        return
      }
      let isSubscribe = BinanceAccountDecoder.withText(a.id, count: Int(a.id_len)) {
        $0.starts(with: "sub-".utf8)
      }
      if isSubscribe && a.has_error != 0 {
        refusals += 1
        lastRefusal =
          "\(a.error_code) \(BinanceAccountDecoder.string(a.error_msg, count: Int(a.error_msg_len)))"
      }
    case NT_ACCOUNT_EXECUTION_REPORT:
      events += 1
      lastEventNs = nowNs()
      execution(m, payload)
    case NT_ACCOUNT_POSITION:
      events += 1
      lastEventNs = nowNs()
      for b in decoder.balances { balances.update(b) }
    default:
      // balanceUpdate (a deposit or withdrawal: the next position event carries the balance),
      // and events this engine does not act on.
      events += 1
      lastEventNs = nowNs()
    }
  }

  /// An executionReport: to an `ExecEvent` for the order it names.
  func execution(_ m: UnsafePointer<nt_account_msg>, _ payload: UnsafeRawBufferPointer) {
    let r = m.pointee.report
    // For a cancel, "C" carries the original client id.
    let useOrig = r.orig_client_id_len > 0
    let (idField, idCount) =
      useOrig ? (r.orig_client_id, r.orig_client_id_len) : (r.client_id, r.client_id_len)
    var tag: UInt64 = 0  // ring target: the strategy host's tag of the order
    if case .ring = target {
      guard
        let t = BinanceAccountDecoder.withText(
          idField, count: Int(idCount),
          {
            clientIDs?.tag(of: $0)
          })
      else {
        foreignEvents += 1
        return
      }
      tag = t
    }
    let venueID = r.order_id
    let x: ExecEvent
    switch nt_exec_type(UInt32(r.exec_type)) {
    case NT_EXEC_NEW:
      guard venueID != 0 else { return }
      x = ExecEvent(kind: .accepted, tag: tag, venueOrderID: venueID)
    case NT_EXEC_TRADE:
      let bad = decoder.badNumber
      guard r.trade_id >= 0, bad != "L", bad != "l", r.last_price % instrument.tickSize == 0 else {
        return unreadable(payload)
      }
      x = ExecEvent(
        kind: .filled, tag: tag, venueOrderID: venueID, tradeID: r.trade_id, price: r.last_price,
        quantity: r.last_qty, taker: r.is_maker == 0)
    case NT_EXEC_CANCELED, NT_EXEC_EXPIRED, NT_EXEC_TRADE_PREVENTION:
      x = ExecEvent(kind: .cancelled, tag: tag)
    case NT_EXEC_REJECTED:
      x = ExecEvent(kind: .rejected, tag: tag)
    default:
      return
    }
    switch target {
    case .tracker(let t):
      let id = BinanceAccountDecoder.withText(idField, count: Int(idCount)) { ClientOrderID(bytes: $0) }
      let reason =
        r.reject_reason_len > 0
        ? BinanceAccountDecoder.string(r.reject_reason, count: Int(r.reject_reason_len)) : "REJECTED"
      t.apply(x, to: id, now: nowNs(), rejectReason: reason)
    case .ring(let ring, _):
      if !ring.tryPush(x) { execRingFull += 1 }
    }
  }

}
