import CPlatform
import CSimdJSON
import FastBook
import Glibc

/// Replays Binance captures (the format of shared/data/market: `<local ns> <raw JSON>` lines,
/// gzip) through the live path: decode → book sync → SPSC ring → LadderBook.
///
/// Two layouts: `threads: 2` runs reading, decoding and sync on a producer thread and the book on
/// the calling thread, as the live runtime does; `threads: 1` runs both run-to-completion on one
/// thread through the same ring (for machines with fewer cores than spinning threads).
public struct BinanceCaptureReplay {
  public struct Options: Sendable {
    public var files: [String]
    public var instrument: Instrument
    public var rule: BinanceSyncRule
    public var threads = 2
    /// Record the top of book after every applied diff (for checks; costs an append per batch).
    public var recordTops = true
    /// CPUs to pin the producer and consumer threads to, when given.
    public var pin: (producer: Int32, consumer: Int32)? = nil
    public var ringCapacity = 1 << 16
    public var windowTicks = 1 << 16
    public var overflowCapacity = 1 << 15
    public init(files: [String], instrument: Instrument, rule: BinanceSyncRule) {
      self.files = files
      self.instrument = instrument
      self.rule = rule
    }
  }

  public struct Result {
    public var book: LadderBook
    public var sync: BinanceBookSync<RingSink>.Counters
    public var state: BinanceBookSync<RingSink>.State
    public var lines = 0
    public var bytes = 0
    public var depthMessages = 0
    public var snapshots = 0
    public var trades = 0
    public var bookTickers = 0
    public var unknownMessages = 0
    public var decodeErrors = 0
    public var decodeErrorsByStatus: [String: Int] = [:]
    public var oversizeLines = 0
    public var batches = 0
    public var resets = 0
    public var levelsApplied = 0
    public var capacityFailures = 0
    /// Top of book after each applied diff, in order (snapshots excluded).
    public var tops: [TopOfBook] = []
    /// bookTicker messages whose `u` equals an applied diff's `u`, and how many agreed.
    public var bookTickerSameU = 0
    public var bookTickerMatches = 0
    public var bookTickerMismatches: [(TopOfBook, TopOfBook)] = []
    public var seconds = 0.0
  }

  /// Pushes to the ring, waiting while it is full (the book thread always drains).
  public struct RingSink: BookEventSink {
    let ring: SPSCRing<BookEvent>
    let inline: (() -> Void)?
    @inline(__always)
    public mutating func emit(_ event: BookEvent) {
      while !ring.tryPush(event) {
        if let drain = inline { drain() } else { cplat_cpu_relax() }
      }
    }
  }

  /// Reads the first snapshot line of the files and derives an instrument: the price scale is the
  /// largest number of significant decimals among its prices (the tick grid: "61837.63000000" →
  /// 2), the quantity scale the number of decimals written on the wire ("1.54698000" → 8), since a
  /// later quantity may carry more significant digits than any in the snapshot. Tick and lot are
  /// one unit at those scales. Returns nil when no snapshot is found.
  public static func inferInstrument(files: [String], symbol: String = "") throws -> Instrument? {
    for f in files {
      let reader = try GzipLineReader(path: f)
      var lines = 0
      while let line = reader.nextLine(), lines < 100_000 {
        lines += 1
        let (_, json) = splitCaptureLine(line)
        guard let scales = snapshotScales(json) else { continue }
        return Instrument(
          symbol: symbol, priceScale: scales.price, quantityScale: scales.quantity, tickSize: 1, lotSize: 1)
      }
    }
    return nil
  }

  /// The sync rule the capture needs: futures when its diffs carry `pu`, spot otherwise; nil
  /// when no diff is found in the first 100,000 lines.
  public static func inferRule(files: [String]) throws -> BinanceSyncRule? {
    let depth = Array("\"depthUpdate\"".utf8)
    let pu = Array("\"pu\":".utf8)
    func contains(_ hay: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
      guard hay.count >= needle.count else { return false }
      return (0...(hay.count - needle.count)).contains { i in
        needle.indices.allSatisfy { hay[i + $0] == needle[$0] }
      }
    }
    for f in files {
      let reader = try GzipLineReader(path: f)
      var lines = 0
      while let line = reader.nextLine(), lines < 100_000 {
        lines += 1
        if contains(line, depth) { return contains(line, pu) ? .futures : .spot }
      }
    }
    return nil
  }

  /// Significant decimals of a snapshot's price and quantity strings, or nil when the line is not
  /// a REST depth snapshot.
  static func snapshotScales(_ json: UnsafeRawBufferPointer) -> (price: Int, quantity: Int)? {
    let key = Array("\"lastUpdateId\"".utf8)
    guard json.count > key.count, json.first == UInt8(ascii: "{") else { return nil }
    // The key must be a top-level key of the object (not inside "data").
    guard
      (0...(min(json.count, 64) - key.count)).contains(where: { i in
        key.indices.allSatisfy { json[i + $0] == key[$0] }
      })
    else { return nil }
    var priceDecimals = 0
    var qtyDecimals = 0
    var i = 0
    var found = false
    while i + 1 < json.count {
      if json[i] == UInt8(ascii: "["), json[i + 1] == UInt8(ascii: "\"") {
        i += 2
        let (pd, _, next) = decimals(json, from: i)
        i = next + 1
        guard i + 1 < json.count, json[i] == UInt8(ascii: ","), json[i + 1] == UInt8(ascii: "\"") else {
          continue
        }
        let (_, qd, after) = decimals(json, from: i + 2)
        priceDecimals = max(priceDecimals, pd)
        qtyDecimals = max(qtyDecimals, qd)
        found = true
        i = after
      } else {
        i += 1
      }
    }
    return found ? (priceDecimals, qtyDecimals) : nil
  }

  /// Significant and written fraction digits of the quoted number starting at `start`, and the
  /// index of its closing quote.
  static func decimals(_ s: UnsafeRawBufferPointer, from start: Int) -> (
    significant: Int, written: Int, end: Int
  ) {
    var i = start
    var frac = -1
    var lastNonZero = 0
    while i < s.count, s[i] != UInt8(ascii: "\"") {
      if s[i] == UInt8(ascii: ".") {
        frac = 0
      } else if frac >= 0 {
        frac += 1
        if s[i] != UInt8(ascii: "0") { lastNonZero = frac }
      }
      i += 1
    }
    return (lastNonZero, max(frac, 0), i)
  }

  public let options: Options
  public init(options: Options) { self.options = options }

  /// Runs the replay to the end of the files.
  public func run() throws -> Result {
    let opts = options
    let ring = SPSCRing<BookEvent>(capacity: opts.ringCapacity)
    let book = LadderBook(
      instrument: opts.instrument, windowTicks: opts.windowTicks, overflowCapacity: opts.overflowCapacity)
    let readers = try opts.files.map { try GzipLineReader(path: $0) }
    let consumer = Consumer(book: book, recordTops: opts.recordTops)
    let producer = Producer(
      readers: readers, instrument: opts.instrument, rule: opts.rule, ring: ring,
      inlineDrain: opts.threads == 1 ? { consumer.drain(ring) } : nil)
    let t0 = cplat_now_ns()
    if opts.threads == 1 {
      if let pin = opts.pin { _ = cplat_pin_current_thread(pin.producer) }
      producer.run()
      while consumer.drain(ring) > 0 {}
    } else {
      let done = SPSCRing<Int>(capacity: 2)
      let thread = ProducerThread(producer: producer, pin: opts.pin?.producer, done: done)
      thread.start()
      if let pin = opts.pin { _ = cplat_pin_current_thread(pin.consumer) }
      var waiter = RingWaiter(.spinThenYield(256))
      while true {
        if consumer.drain(ring) > 0 {
          waiter.reset()
          continue
        }
        if done.tryPop() != nil {
          while consumer.drain(ring) > 0 {}
          break
        }
        waiter.wait()
      }
      thread.join()
    }
    let t1 = cplat_now_ns()
    var r = Result(book: book, sync: producer.sync.counters, state: producer.sync.state)
    producer.sync.deallocate()
    r.seconds = Double(t1 - t0) / 1e9
    r.lines = producer.lines
    r.bytes = readers.reduce(0) { $0 + $1.bytesRead }
    r.oversizeLines = readers.reduce(0) { $0 + $1.oversizeLines }
    r.depthMessages = producer.depthMessages
    r.snapshots = producer.snapshots
    r.trades = producer.trades
    r.bookTickers = producer.bookTickers.count
    r.unknownMessages = producer.unknown
    r.decodeErrors = producer.decoder.totalErrors
    for s in 1..<16 where producer.decoder.errorCounts[s] > 0 {
      r.decodeErrorsByStatus[BinanceMarketDecoder.describe(nt_status(rawValue: UInt32(s))), default: 0] +=
        producer.decoder.errorCounts[s]
    }
    r.batches = consumer.applier.batches
    r.resets = consumer.applier.resets
    r.levelsApplied = consumer.applier.levelsApplied
    r.capacityFailures = consumer.applier.capacityFailures
    r.tops = consumer.tops
    for top in consumer.tops {
      guard let bt = producer.bookTickers[top.updateID] else { continue }
      r.bookTickerSameU += 1
      if bt == top { r.bookTickerMatches += 1 } else { r.bookTickerMismatches.append((top, bt)) }
    }
    return r
  }

  // MARK: the two sides

  final class Producer {
    let readers: [GzipLineReader]
    let decoder: BinanceMarketDecoder
    var sync: BinanceBookSync<RingSink>
    let instrument: Instrument
    var lines = 0
    var depthMessages = 0
    var snapshots = 0
    var trades = 0
    var unknown = 0
    var bookTickers: [Int64: TopOfBook] = [:]
    /// Single-thread layout: run the book side after each message (run to completion).
    let inlineDrain: (() -> Void)?

    init(
      readers: [GzipLineReader], instrument: Instrument, rule: BinanceSyncRule, ring: SPSCRing<BookEvent>,
      inlineDrain: (() -> Void)?
    ) {
      self.readers = readers
      self.instrument = instrument
      self.inlineDrain = inlineDrain
      decoder = BinanceMarketDecoder(instrument: instrument, maxMessageBytes: 8 << 20, levelCapacity: 10_000)
      sync = BinanceBookSync(
        rule: rule, instrument: instrument, sink: RingSink(ring: ring, inline: inlineDrain))
    }

    func tick(_ raw: Int64) -> Int64 { instrument.tickSize == 1 ? raw : raw / instrument.tickSize }

    func run() {
      for reader in readers {
        while let line = reader.nextLine() {
          lines += 1
          defer { inlineDrain?() }
          let (ts, json) = splitCaptureLine(line)
          if json.isEmpty { continue }
          let st = decoder.decode(
            json.baseAddress!, count: json.count, readable: json.count + Int(NT_PADDING))
          if st != NT_OK {
            if st == NT_ERR_UNKNOWN_MESSAGE {
              unknown += 1
            } else {
              // A line we cannot read may have been a diff: the book can no longer be trusted.
              sync.invalidate(.malformedMessage)
            }
            continue
          }
          let m = decoder.message
          switch m.pointee.kind {
          case NT_MSG_DEPTH_UPDATE:
            depthMessages += 1
            withUnsafePointer(to: m.pointee.depth) { d in
              sync.onDiff(d, bids: decoder.bids, asks: decoder.asks, localTimeNs: ts)
            }
          case NT_MSG_DEPTH_SNAPSHOT:
            snapshots += 1
            if case .synced = sync.state { continue }  // a later snapshot is only needed after a reset
            sync.onSnapshot(
              lastUpdateID: m.pointee.depth.last_update_id, bids: decoder.bids, asks: decoder.asks,
              localTimeNs: ts)
          case NT_MSG_BOOK_TICKER:
            let t = m.pointee.ticker
            bookTickers[t.update_id] = TopOfBook(
              updateID: t.update_id, bid: BookLevel(tick: tick(t.bid_price), quantity: t.bid_qty),
              ask: BookLevel(tick: tick(t.ask_price), quantity: t.ask_qty))
          case NT_MSG_TRADE:
            trades += 1
          default:
            unknown += 1
          }
        }
      }
    }
  }

  final class Consumer {
    var applier: BookEventApplier
    let recordTops: Bool
    var tops: [TopOfBook] = []

    init(book: LadderBook, recordTops: Bool) {
      applier = BookEventApplier(book: book)
      self.recordTops = recordTops
      if recordTops { tops.reserveCapacity(1 << 16) }
    }

    @discardableResult
    func drain(_ ring: SPSCRing<BookEvent>) -> Int {
      ring.drain(limit: 4096) { e in
        if applier.apply(e), recordTops, !e.isSnapshotEnd {
          tops.append(TopOfBook(updateID: e.updateID, bid: applier.book.bestBid, ask: applier.book.bestAsk))
        }
      }
    }
  }
}

/// A plain pthread for the producer, optionally pinned.
final class ProducerThread {
  let producer: BinanceCaptureReplay.Producer
  let pin: Int32?
  let done: SPSCRing<Int>
  var thread = pthread_t()

  init(producer: BinanceCaptureReplay.Producer, pin: Int32?, done: SPSCRing<Int>) {
    self.producer = producer
    self.pin = pin
    self.done = done
  }

  func start() {
    let box = Unmanaged.passRetained(self).toOpaque()
    let rc = pthread_create(
      &thread, nil,
      { arg in
        let me = Unmanaged<ProducerThread>.fromOpaque(arg!).takeRetainedValue()
        if let cpu = me.pin { _ = cplat_pin_current_thread(cpu) }
        me.producer.run()
        _ = me.done.tryPush(1)
        return nil
      }, box)
    precondition(rc == 0, "pthread_create failed: \(rc)")
  }

  func join() { pthread_join(thread, nil) }
}
