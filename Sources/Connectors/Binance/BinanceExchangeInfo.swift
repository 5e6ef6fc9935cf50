import Engine
import FastBook
import Foundation
import Wire

/// exchangeInfo → the instrument (scales, tick, lot) and the trading rules of a symbol, parsed
/// exactly from Binance's filter strings.
public enum BinanceExchangeInfo {
  public struct SymbolInfo: Sendable, Equatable {
    public var instrument: Instrument
    public var rule: TradingRule
    public var baseAsset: String
    public var quoteAsset: String
    /// The venue's request limits (exchangeInfo's `rateLimits`; documented defaults when absent).
    public var rateLimits = BinanceRateLimits()
  }

  public enum ParseError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case missingFilter(String, String)
    case badValue(String, String)
    public var description: String {
      switch self {
      case .notFound(let s): "symbol \(s) is not in exchangeInfo"
      case .missingFilter(let s, let f): "\(s): no \(f) filter"
      case .badValue(let s, let v): "\(s): bad value \(v)"
      }
    }
  }

  /// Parses one symbol from an exchangeInfo body.
  public static func parse(_ body: [UInt8], symbol: String) throws(ParseError) -> SymbolInfo {
    guard let obj = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
      throw .notFound(symbol)
    }
    return try parse(object: obj, symbol: symbol)
  }

  /// The same from the answer already read as JSON (the REST client's `.foundation` reader).
  public static func parse(object obj: [String: Any], symbol: String) throws(ParseError) -> SymbolInfo {
    guard let symbols = obj["symbols"] as? [[String: Any]],
      let s = symbols.first(where: { $0["symbol"] as? String == symbol })
    else { throw .notFound(symbol) }
    let filters = s["filters"] as? [[String: Any]] ?? []
    func filter(_ name: String) -> [String: Any]? { filters.first { $0["filterType"] as? String == name } }
    guard let pf = filter("PRICE_FILTER"), let tick = pf["tickSize"] as? String else {
      throw .missingFilter(symbol, "PRICE_FILTER")
    }
    guard let ls = filter("LOT_SIZE"), let step = ls["stepSize"] as? String else {
      throw .missingFilter(symbol, "LOT_SIZE")
    }
    // Quantities are held at the decimals Binance writes ("0.00001000" → 8), not the lot's
    // significant ones: the venue's books and fills carry quantities finer than the lot (a level of
    // "244.56630400" on a 0.00001 step), which the lot's scale could not represent.
    let inst: Instrument
    do {
      inst = try Instrument(
        symbol: symbol, tickSize: tick, lotSize: step,
        quantityScale: FixedPoint.writtenDecimals(step).map { min($0, FixedPoint.maxScale) })
    } catch {
      throw .badValue(symbol, "\(tick)/\(step)")
    }
    func qty(_ v: Any?) throws(ParseError) -> Int64 {
      guard let t = v as? String else { return 0 }
      do { return try FixedPoint.parse(t, scale: inst.quantityScale) } catch { throw .badValue(symbol, t) }
    }
    let minQty = try qty(ls["minQty"])
    var maxQty = try qty(ls["maxQty"])
    if maxQty == 0 { maxQty = .max }
    var minNotional: Int128 = 0
    if let n = filter("NOTIONAL") ?? filter("MIN_NOTIONAL"), let t = n["minNotional"] as? String {
      do { minNotional = Int128(try FixedPoint.parse(t, scale: inst.priceScale + inst.quantityScale)) } catch
      {
        throw .badValue(symbol, t)
      }
    }
    var info = SymbolInfo(
      instrument: inst,
      rule: TradingRule(
        tickSize: inst.tickSize, stepSize: inst.lotSize, minQuantity: minQty, maxQuantity: maxQty,
        minNotional: minNotional),
      baseAsset: s["baseAsset"] as? String ?? "", quoteAsset: s["quoteAsset"] as? String ?? "")
    if let limits = obj["rateLimits"] as? [[String: Any]] {
      info.rateLimits = BinanceRateLimits(rateLimits: limits)
    }
    return info
  }
}

/// Keeps `serverTime - localTime` from `GET /api/v3/time`, using the sample with the shortest
/// round trip (its midpoint is the best estimate), for signed timestamps.
public final class BinanceTimeSync {
  public private(set) var offsetMs: Int64 = 0
  public private(set) var bestRoundTripMs: Int64 = .max
  public private(set) var samples = 0

  public init() {}

  /// One sample: local send and receive times around the server's answer.
  public func add(sentMs: Int64, receivedMs: Int64, serverMs: Int64) {
    samples += 1
    let rtt = receivedMs - sentMs
    guard rtt >= 0, rtt <= bestRoundTripMs else { return }
    bestRoundTripMs = rtt
    offsetMs = serverMs - (sentMs + rtt / 2)
  }

  /// Samples the venue once through `http`; calls `done` when answered.
  public func sample(_ http: HTTPClient, clockMs: @escaping () -> Int64, _ done: @escaping () -> Void) {
    let sent = clockMs()
    http.request(HTTPRequestHead(method: "GET", target: "/api/v3/time"), timeoutNs: 5_000_000_000) {
      [weak self] r in
      defer { done() }
      guard let self, case .success(let resp) = r,
        let obj = try? JSONSerialization.jsonObject(with: Data(resp.body)) as? [String: Any],
        let server = (obj["serverTime"] as? NSNumber)?.int64Value
      else { return }
      self.add(sentMs: sent, receivedMs: clockMs(), serverMs: server)
    }
  }
}
