import CPlatform
import Engine
import Foundation
import Wire

/// Polls a price over HTTP(S) and keeps an `ExternalPrice` up to date: Hummingbot's `custom_api`
/// price source (a URL answering with a number, or JSON with a `price`), and — pointed at an
/// exchange's ticker — its `external_market` (Binance's `/api/v3/ticker/bookTicker` for the mid,
/// best bid or best ask; `/api/v3/ticker/price` for the last price). Runs on an event loop (not
/// the strategy thread); a failed or unreadable answer is counted and leaves the last price to
/// age out.
public final class HTTPPriceFeed {
  public enum Field: String, Sendable {
    /// The body is a number, or JSON with `price` (string or number).
    case price
    /// JSON with `bidPrice` and `askPrice`: their mean.
    case mid
    case bestBid
    case bestAsk
  }

  public struct Source: Sendable, Equatable {
    public var useTLS: Bool
    public var host: String
    public var port: UInt16
    public var target: String
    public var field: Field
    /// The answer is the reciprocal of the price wanted (Hummingbot's `invert_custom_api_price`:
    /// an API that quotes the pair the other way round).
    public var invert = false
    /// Request headers sent with every poll (Hummingbot's `header_custom_api`: an API key).
    public var headers: [(String, String)] = []

    public static func == (a: Source, b: Source) -> Bool {
      a.useTLS == b.useTLS && a.host == b.host && a.port == b.port && a.target == b.target
        && a.field == b.field
        && a.invert == b.invert
        && a.headers.map { "\($0.0): \($0.1)" } == b.headers.map { "\($0.0): \($0.1)" }
    }

    /// From a URL (http or https, with path and query), or a description of what is wrong.
    public static func parse(_ url: String, field: Field = .price) -> Result<Source, FeedError> {
      guard let u = URLComponents(string: url), let scheme = u.scheme?.lowercased(),
        scheme == "http" || scheme == "https",
        let host = u.host, !host.isEmpty
      else { return .failure(FeedError("'\(url)' is not an http:// or https:// URL with a host")) }
      let tls = scheme == "https"
      let port = u.port ?? (tls ? 443 : 80)
      guard (1...65_535).contains(port) else {
        return .failure(FeedError("'\(url)': port \(port) is out of range"))
      }
      var target = u.percentEncodedPath.isEmpty ? "/" : u.percentEncodedPath
      if let q = u.percentEncodedQuery { target += "?" + q }
      return .success(Source(useTLS: tls, host: host, port: UInt16(port), target: target, field: field))
    }
  }

  public struct FeedError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ d: String) { description = d }
  }

  public let source: Source
  public let price: ExternalPrice
  let http: HTTPClient
  let loop: EventLoop
  /// Price raws per unit of price (10^priceScale).
  let rawsPerUnit: Double
  let intervalNs: Int64
  var stopped = false
  public private(set) var updates = 0
  public private(set) var failures = 0
  public private(set) var lastError: String?

  /// `serverName`: the TLS name to verify when it is not the URL's host (a local venue's).
  public init(
    loop: EventLoop, source: Source, tls: TLSContext?, serverName: String? = nil, priceScale: Int,
    intervalNs: Int64, into price: ExternalPrice
  ) {
    self.loop = loop
    self.source = source
    self.price = price
    self.intervalNs = intervalNs
    rawsPerUnit = pow(10, Double(priceScale))
    http = HTTPClient(
      loop: loop, host: source.host, port: source.port, tls: source.useTLS ? tls : nil, serverName: serverName
    )
  }

  /// Fetches now, then every interval until `stop`.
  public func start() {
    stopped = false
    poll()
  }

  public func stop() {
    stopped = true
    http.close()
  }

  func poll() {
    guard !stopped else { return }
    var head = HTTPRequestHead(method: "GET", target: source.target)
    head.headers.add("Accept", "application/json, text/plain")
    for (k, v) in source.headers { head.headers.add(k, v) }
    http.request(head, timeoutNs: min(intervalNs, 10_000_000_000)) { [weak self] result in
      guard let self, !self.stopped else { return }
      switch result {
      case .failure(let e):
        self.fail("\(e)")
      case .success(let r):
        if r.head.status != 200 {
          self.fail("HTTP \(r.head.status)")
        } else if let read = Self.read(r.body, field: self.source.field), !self.source.invert || read > 0 {
          let p = self.source.invert ? 1 / read : read
          self.price.set(priceRaw: p * self.rawsPerUnit, now: cplat_now_ns())
          self.updates += 1
        } else {
          self.fail(
            "no \(self.source.field.rawValue) in \"\(String(decoding: r.body.prefix(80), as: UTF8.self))\"")
        }
      }
      _ = self.loop.schedule(after: self.intervalNs) { [weak self] in self?.poll() }
    }
  }

  func fail(_ why: String) {
    failures += 1
    lastError = why
  }

  /// The price in an answer's body (units of the quote asset), or nil.
  public static func read(_ body: [UInt8], field: Field) -> Double? {
    func number(_ v: Any?) -> Double? {
      if let s = v as? String { return Double(s.trimmingCharacters(in: .whitespaces)) }
      if let n = v as? NSNumber { return n.doubleValue }
      return nil
    }
    let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    let value: Double?
    if field == .price, let d = Double(text) {
      value = d
    } else {
      guard let obj = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else {
        return nil
      }
      let dict = obj as? [String: Any]
      switch field {
      case .price: value = dict.map { number($0["price"]) } ?? number(obj)
      case .bestBid: value = number(dict?["bidPrice"])
      case .bestAsk: value = number(dict?["askPrice"])
      case .mid:
        if let b = number(dict?["bidPrice"]), let a = number(dict?["askPrice"]) {
          value = (b + a) / 2
        } else {
          value = nil
        }
      }
    }
    guard let v = value, v.isFinite, v > 0 else { return nil }
    return v
  }
}
