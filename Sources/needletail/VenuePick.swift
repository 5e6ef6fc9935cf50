import ArgumentParser
import CPlatform
import Connectors
import Engine
import FastBook
import Strategies
import Wire

/// Where the CLI picks a venue: the one place it names a connector. Binance spot is the venue of
/// `run` (the exchange, or a local `needletail venue` with its CA) and of `demo` (its embedded
/// venue). Everything after the pick — account, recovery, history, trading, the session watch —
/// goes through the venue boundary (`TradingNode`, `VenueAdapter`, `VenueAccountQueries`).
struct BinanceSpotPick {
  /// The kind the history records for accounts on this venue.
  static let kind = "binance-spot"
  let loop: EventLoop
  let endpoints: BinanceSpotAdapter.Endpoints
  let tls: TLSContext
  let info: BinanceExchangeInfo.SymbolInfo

  /// Reads the symbol's instrument, trading rule and request limits from exchangeInfo, as a live
  /// run gets them (a CLI error saying why when it cannot).
  init(loop: EventLoop, endpoints: BinanceSpotAdapter.Endpoints, tls: TLSContext, symbol: String) throws {
    self.loop = loop
    self.tls = tls
    self.endpoints = endpoints
    do {
      info = try BinanceSession.exchangeInfo(loop: loop, endpoint: endpoints.rest, tls: tls, symbol: symbol)
    } catch {
      throw RunFailure("\(error)")
    }
  }

  var symbol: SymbolInfo {
    SymbolInfo(
      instrument: info.instrument, rule: info.rule, baseAsset: info.baseAsset, quoteAsset: info.quoteAsset)
  }

  /// The trading node on this venue for `strategy`, on the venue's own request limits.
  func node(
    apiKey: String, secret: String, strategy: Strategy, limits: RiskLimits, prefix: String,
    tracker: OrderTracker,
    clock: Clock, centreTick: Int64, paper: PaperExchange.QueueModel? = nil, sharePercent: Int = 100,
    layout: TradingNode<BinanceSpotAdapter>.Layout = .oneThread
  ) -> TradingNode<BinanceSpotAdapter> {
    var rateLimits = info.rateLimits
    rateLimits.sharePercent = sharePercent
    return BinanceSession(
      loop: loop, endpoints: endpoints, tls: tls, apiKey: apiKey, secret: secret, instrument: info.instrument,
      strategy: strategy, rule: info.rule, limits: limits, prefix: prefix, tracker: tracker, clock: clock,
      centreTick: centreTick, paper: paper, rateLimits: rateLimits, layout: layout)
  }
}
