import CSimdJSON
import Engine
import FastBook

/// Reads Binance captures (the format of shared/data/market: `<local ns> <raw JSON>` lines, gzip,
/// streamed) into `MarketRow`s with the production decoder: each depth diff gives one row per
/// level (bids, then asks); a REST snapshot gives a `clear` of the bids (at its lowest bid), its
/// bid levels, a `clear` of the asks (at its highest ask), its ask levels; a trade gives one row
/// (the aggressor's side). Venue time is the message's transaction time `T` where it has one
/// (futures), else its event time `E`, in ns; the snapshot's `T` too (spot snapshots have neither:
/// the receive time). bookTickers are not rows. These are the rows hftbacktest's Binance
/// converters make from the same lines, in file order, before any sorting — see
/// docs/backtest/hftbacktest-semantics.md.
///
/// Lines that do not decode are counted by status (`decodeErrors`), never fatal.
public final class BinanceCaptureRows {
  public let instrument: Instrument
  let readers: [GzipLineReader]
  let decoder: BinanceMarketDecoder
  public private(set) var lines = 0
  public private(set) var unknownMessages = 0
  public private(set) var bookTickers = 0
  /// Lines that did not decode (malformed, cut short, fields off the instrument's scales).
  public var decodeErrors: Int { decoder.totalErrors }

  public init(files: [String], instrument: Instrument) throws {
    self.instrument = instrument
    readers = try files.map { try GzipLineReader(path: $0) }
    decoder = BinanceMarketDecoder(instrument: instrument, maxMessageBytes: 8 << 20, levelCapacity: 10_000)
  }

  /// Calls `body` with every row, file after file, line after line.
  public func forEach(_ body: (MarketRow) -> Void) {
    for reader in readers {
      while let line = reader.nextLine() {
        lines += 1
        let (local, json) = splitCaptureLine(line)
        if json.isEmpty { continue }
        let st = decoder.decode(json.baseAddress!, count: json.count, readable: json.count + Int(NT_PADDING))
        guard st == NT_OK else {
          if st == NT_ERR_UNKNOWN_MESSAGE { unknownMessages += 1 }
          continue
        }
        let m = decoder.message.pointee
        switch m.kind {
        case NT_MSG_DEPTH_UPDATE:
          let d = m.depth
          let t = Self.venueNs(transactionMs: d.transaction_time_ms, eventMs: d.event_time_ms, local: local)
          for l in decoder.bids { body(row(.level, .bid, t, local, l)) }
          for l in decoder.asks { body(row(.level, .ask, t, local, l)) }
        case NT_MSG_DEPTH_SNAPSHOT:
          let d = m.depth
          let t = Self.venueNs(transactionMs: d.transaction_time_ms, eventMs: d.event_time_ms, local: local)
          let lowest = decoder.bids.map(\.price).min() ?? 0
          let highest = decoder.asks.map(\.price).max() ?? 0
          body(MarketRow(kind: .clear, side: .bid, exchangeNs: t, localNs: local, price: lowest, quantity: 0))
          for l in decoder.bids { body(row(.snapshotLevel, .bid, t, local, l)) }
          body(
            MarketRow(kind: .clear, side: .ask, exchangeNs: t, localNs: local, price: highest, quantity: 0))
          for l in decoder.asks { body(row(.snapshotLevel, .ask, t, local, l)) }
        case NT_MSG_TRADE:
          let tr = m.trade
          let t = Self.venueNs(transactionMs: tr.trade_time_ms, eventMs: tr.event_time_ms, local: local)
          // The buyer was the maker: a seller took liquidity.
          body(
            MarketRow(
              kind: .trade, side: tr.buyer_is_maker != 0 ? .ask : .bid, exchangeNs: t, localNs: local,
              price: tr.price, quantity: tr.qty))
        case NT_MSG_BOOK_TICKER:
          bookTickers += 1
        default:
          unknownMessages += 1
        }
      }
    }
  }

  @inline(__always)
  func row(_ k: MarketRow.Kind, _ s: Side, _ t: Int64, _ local: Int64, _ l: nt_level) -> MarketRow {
    MarketRow(kind: k, side: s, exchangeNs: t, localNs: local, price: l.price, quantity: l.qty)
  }

  static func venueNs(transactionMs: Int64, eventMs: Int64, local: Int64) -> Int64 {
    transactionMs >= 0 ? transactionMs &* 1_000_000 : eventMs >= 0 ? eventMs &* 1_000_000 : local
  }
}
