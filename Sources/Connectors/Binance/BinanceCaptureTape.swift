import CSimdJSON
import Engine
import FastBook

/// Records Binance captures (the format of shared/data/market: `<local ns> <raw JSON>` lines,
/// gzip, streamed) onto a `MarketTape` with the production decoder: depth diffs with their
/// sequence headers and levels, REST snapshots, trades. Venue time is the message's transaction
/// time `T` where it has one (futures), else its event time `E`, in ns; the snapshot's `T` too
/// (spot snapshots have neither: the receive time). bookTickers are not kept. The tape's rows are
/// the rows hftbacktest's Binance converters make from the same lines, in file order, before any
/// sorting — see docs/backtest/hftbacktest-semantics.md.
///
/// Lines that do not decode are counted (`TapeHeader.decodeErrors`), never fatal.
public enum BinanceCaptureTape {
  /// Changes whenever what this reader writes for the same lines changes (old tapes go stale).
  public static let readerVersion: UInt64 = 0xB1_0001

  /// The key of a tape of `files` at `instrument`'s scales.
  public static func key(files: [String], instrument: Instrument) throws -> UInt64 {
    try MarketTape.key(files: files, instrument: instrument, reader: readerVersion)
  }

  /// Reads `files` in order onto a new tape at `path`. Throws when a file cannot be opened or read
  /// as gzip, or the tape cannot be written.
  @discardableResult
  public static func record(files: [String], instrument: Instrument, to path: String) throws -> TapeHeader {
    // Every file can be opened before anything is written; each is then read with a reader of
    // its own, one at a time (a reader holds a 16 MiB line buffer).
    for f in files { _ = try GzipLineReader(path: f, maxLineBytes: 1 << 16) }
    let writer = try TapeWriter(
      path: path, key: try key(files: files, instrument: instrument), instrument: instrument)
    let decoder = BinanceMarketDecoder(
      instrument: instrument, maxMessageBytes: 8 << 20, levelCapacity: 10_000)
    var oversize = 0
    for file in files {
      let reader = try GzipLineReader(path: file, inflateAhead: true)
      while let line = reader.nextLine() {
        let (local, json) = splitCaptureLine(line)
        writer.countLine(localNs: local)
        if json.isEmpty || local < 0 {
          writer.countDecodeError()
          continue
        }
        let st = decoder.decode(json.baseAddress!, count: json.count, readable: json.count + Int(NT_PADDING))
        guard st == NT_OK else {
          if st == NT_ERR_UNKNOWN_MESSAGE { writer.countSkipped() } else { writer.countDecodeError() }
          continue
        }
        let m = decoder.message.pointee
        switch m.kind {
        case NT_MSG_DEPTH_UPDATE, NT_MSG_DEPTH_SNAPSHOT:
          let d = m.depth
          let t = venueNs(transactionMs: d.transaction_time_ms, eventMs: d.event_time_ms, local: local)
          writer.append(
            TapeMessage(
              kind: m.kind == NT_MSG_DEPTH_UPDATE ? .diff : .snapshot, localNs: local, exchangeNs: t,
              update: DepthUpdate(d)),
            bids: decoder.bids, asks: decoder.asks)
        case NT_MSG_TRADE:
          let tr = m.trade
          let t = venueNs(transactionMs: tr.trade_time_ms, eventMs: tr.event_time_ms, local: local)
          // The buyer was the maker: a seller took liquidity.
          writer.append(
            TapeMessage(
              kind: .trade, side: tr.buyer_is_maker != 0 ? .ask : .bid, localNs: local, exchangeNs: t,
              price: tr.price, quantity: tr.qty),
            bids: UnsafeBufferPointer(start: nil, count: 0), asks: UnsafeBufferPointer(start: nil, count: 0))
        default:
          writer.countSkipped()  // bookTicker
        }
      }
      if let e = reader.readError { throw MarketTape.OpenError.damagedCapture(reader.path, e) }
      oversize += reader.oversizeLines
    }
    writer.countOversize(oversize)
    try writer.finish()
    return writer.header
  }

  static func venueNs(transactionMs: Int64, eventMs: Int64, local: Int64) -> Int64 {
    transactionMs >= 0 ? transactionMs &* 1_000_000 : eventMs >= 0 ? eventMs &* 1_000_000 : local
  }
}

extension BinanceCaptureTape {
  /// The backtest's local side for a Binance tape: Binance's book sync (spot or futures rule).
  public static func bookFeed(_ rule: BinanceSyncRule, instrument: Instrument, sink: RingBookSink)
    -> any TapeBookFeed
  {
    TapeBookSync(rule: rule, instrument: instrument, sink: sink)
  }

  /// The same sync into another sink (the market as a simulated exchange or venue holds it).
  public static func bookFeed<S: BookEventSink>(_ rule: BinanceSyncRule, instrument: Instrument, into sink: S)
    -> any TapeBookFeed
  {
    TapeBookSync(rule: rule, instrument: instrument, sink: sink)
  }
}
