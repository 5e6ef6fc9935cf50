import CPlatform
import Wire

/// Binance market streams over the venue's WebSocket endpoint: `/ws/<stream>` (raw) and
/// `/stream?streams=a/b` (combined envelope) for `<sym>@depth@100ms` (and `@depth`, 1 s), `@trade`
/// and `@bookTicker`. Diffs carry `U`/`u` from the same update-id sequence as REST `depth`'s
/// `lastUpdateId`, so a client can sync by Binance's rules. Server pings keep connections honest;
/// faults (a skipped diff, a forced disconnect) can be switched on.
public final class VenueStreams: WebSocketDelegate {
  struct Subscriber {
    var ws: WebSocket
    var streams: Set<String>
    var combined: Bool
  }

  let loop: EventLoop
  public let engine: MatchingEngine
  var subs: [ObjectIdentifier: Subscriber] = [:]
  var lastEmitted: [String: Int64] = [:]
  var lastTop: [String: String] = [:]
  var running = true
  /// Fault injection: drop the next diff of every symbol (clients must detect the gap).
  public var skipNextDiff = false
  /// Fault injection: send the next diff of every symbol cut short (not valid JSON); its update
  /// ids are spent, so a client that ignored it would have a gap.
  public var corruptNextDiff = false
  public private(set) var diffsCorrupted = 0
  /// Fault injection: close each connection this long after it opens (Binance: 24 h).
  public var forcedDisconnectNs: Int64? = nil
  public var pingIntervalNs: Int64 = 20_000_000_000
  public private(set) var diffsSent = 0
  public private(set) var diffsSkipped = 0
  /// (symbol, u) → the venue's top levels right after that diff: checkpoints for tests.
  public var onDiffEmitted: ((String, Int64) -> Void)?
  /// (symbol, u, when the frames were handed to the kernel, CLOCK_MONOTONIC ns): the start of
  /// tick-to-trade as the venue sees it. The stamp is taken after the frames are built, framed and
  /// sealed, right before the submit that sends them.
  public var onDiffSent: ((String, Int64, Int64) -> Void)?

  public init(loop: EventLoop, engine: MatchingEngine) {
    self.loop = loop
    self.engine = engine
    let previous = engine.onTrade
    engine.onTrade = { [weak self] t in
      previous?(t)
      self?.publishTrade(t)
    }
    schedule(every: 100_000_000) { [weak self] in self?.emitDiffs(fast: true) }
    schedule(every: 1_000_000_000) { [weak self] in self?.emitDiffs(fast: false) }
  }

  func schedule(every ns: Int64, _ body: @escaping () -> Void) {
    loop.schedule(after: ns) { [weak self] in
      guard let self, self.running else { return }
      body()
      self.schedule(every: ns, body)
    }
  }

  public var connectionCount: Int { subs.count }

  /// Takes an upgrade request from the HTTP server; false when the path is not a stream path.
  public func accept(_ stream: any ByteStream, _ head: HTTPRequestHead) -> Bool {
    var names: [String] = []
    var combined = false
    if head.path.hasPrefix("/ws/") {
      names = head.path.dropFirst(4).split(separator: "/").map { $0.lowercased() }
    } else if head.path == "/stream" {
      combined = true
      let q = head.query ?? ""
      for part in q.split(separator: "&") where part.hasPrefix("streams=") {
        names = part.dropFirst("streams=".count).split(separator: "/").map { $0.lowercased() }
      }
    } else {
      return false
    }
    let ws = WebSocket(server: stream, upgrade: head)
    ws.delegate = self
    subs[ObjectIdentifier(ws)] = Subscriber(ws: ws, streams: Set(names), combined: combined)
    ws.keepAlive(loop: loop, intervalNs: pingIntervalNs, timeoutNs: pingIntervalNs * 3)
    if let after = forcedDisconnectNs {
      loop.schedule(after: after) { [weak ws] in ws?.close(code: 1000, reason: "forced disconnect") }
    }
    return true
  }

  func send(_ stream: String, _ data: String) {
    for s in subs.values where s.streams.contains(stream) {
      let text = s.combined ? "{\"stream\":\(JSONWriter.string(stream)),\"data\":\(data)}" : data
      try? s.ws.send(text: text)
    }
  }

  /// Sends the diffs of whatever changed since the last emission now, instead of at the next
  /// 100 ms boundary (latency harnesses step the book and emit at once).
  public func emitNow() { emitDiffs(fast: true) }

  func emitDiffs(fast: Bool) {
    let now = engine.clock()
    var changed = false
    for (name, sym) in engine.symbols {
      let id = engine.bookUpdateID(symbol: name)
      let from = lastEmitted[name] ?? 0
      let touched = engine.takeTouched(symbol: name)
      guard id > from else { continue }
      changed = true
      lastEmitted[name] = id
      if skipNextDiff {
        diffsSkipped += 1
        continue
      }
      let bids = touched.filter { $0.side == .BUY }.sorted { $0.ticks > $1.ticks }
      let asks = touched.filter { $0.side == .SELL }.sorted { $0.ticks < $1.ticks }
      func levels(_ keys: [LevelKey]) -> String {
        JSONWriter.array(
          keys.map {
            "[\(JSONWriter.string(sym.priceString($0.ticks))),\(JSONWriter.string(sym.quantityString(engine.levelQuantity(symbol: name, side: $0.side, ticks: $0.ticks))))]"
          })
      }
      let data = JSONWriter.object([
        ("e", "\"depthUpdate\""), ("E", String(now)), ("s", JSONWriter.string(name)), ("U", String(from + 1)),
        ("u", String(id)), ("b", levels(bids)), ("a", levels(asks)),
      ])
      // Both cadences carry the same ids; the 1 s stream simply batches more.
      if corruptNextDiff {
        diffsCorrupted += 1
        let cut = String(data.prefix(data.count / 2))
        send(name.lowercased() + "@depth@100ms", cut)
        send(name.lowercased() + "@depth", cut)
      } else {
        send(name.lowercased() + "@depth@100ms", data)
        send(name.lowercased() + "@depth", data)
      }
      // The frames are built and sealed; they leave with this submit, not after the rest of the
      // turn's work. The send stamp is taken here, as the bytes go to the kernel.
      let sentNs = cplat_now_ns()
      loop.submitNow()
      diffsSent += 1
      onDiffEmitted?(name, id)
      onDiffSent?(name, id, sentNs)
      publishBookTicker(name, sym, id)
    }
    // A fault is spent on a diff, not on a turn that had nothing to send.
    if changed {
      skipNextDiff = false
      corruptNextDiff = false
    }
  }

  func publishBookTicker(_ name: String, _ sym: VenueSymbol, _ id: Int64) {
    let d = engine.depth(symbol: name, limit: 1)
    let data = JSONWriter.object([
      ("u", String(id)), ("s", JSONWriter.string(name)),
      ("b", JSONWriter.string(d.bids.first.map { sym.priceString($0.tick) } ?? "0.00000000")),
      ("B", JSONWriter.string(d.bids.first.map { sym.quantityString($0.quantity) } ?? "0.00000000")),
      ("a", JSONWriter.string(d.asks.first.map { sym.priceString($0.tick) } ?? "0.00000000")),
      ("A", JSONWriter.string(d.asks.first.map { sym.quantityString($0.quantity) } ?? "0.00000000")),
    ])
    if lastTop[name] == data { return }
    lastTop[name] = data
    send(name.lowercased() + "@bookticker", data)
  }

  func publishTrade(_ t: VenueTrade) {
    guard let sym = engine.symbols[t.symbol] else { return }
    let data = JSONWriter.object([
      ("e", "\"trade\""), ("E", String(t.time)), ("s", JSONWriter.string(t.symbol)), ("t", String(t.tradeId)),
      ("p", JSONWriter.string(sym.priceString(t.priceTicks))),
      ("q", JSONWriter.string(sym.quantityString(t.qty))),
      ("T", String(t.time)), ("m", t.buyerIsMaker ? "true" : "false"), ("M", "true"),
    ])
    send(t.symbol.lowercased() + "@trade", data)
  }

  /// Fault injection: drops every stream connection now (as a network failure would).
  public func disconnectAll() {
    for s in subs.values { s.ws.close(code: 1006, reason: "") }
  }

  public func close() {
    running = false
    for s in subs.values { s.ws.close(code: 1001, reason: "going away") }
  }

  // MARK: WebSocketDelegate

  public func webSocketDidOpen(_ ws: WebSocket) {}
  public func webSocket(_ ws: WebSocket, didReceive opcode: WebSocketOpcode, payload: UnsafeRawBufferPointer)
  {}
  public func webSocketDidClose(_ ws: WebSocket, code: UInt16, error: WireError?) {
    subs[ObjectIdentifier(ws)] = nil
  }
}
