import FastBook
import Foundation
import Venue
import Wire

/// The instrument both harnesses trade.
let harnessInstrument = Instrument(
  symbol: "BTCUSDT", priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1)

/// The Venue both harnesses trade against: BTCUSDT at 0.01 / 0.00001 (no order-count limit),
/// accounts funded with 1,000,000,000 USDT and 100,000 BTC, one HMAC API key for account 1, on
/// `loop` over TLS with `certs`, its weight limit set to `weightLimitPerMinute`.
func harnessVenue(
  loop: EventLoop, certs: (ca: String, cert: String, key: String), apiKey: String, secret: String,
  fundedAccounts: [Int], faults: FaultPlan? = nil, weightLimitPerMinute: Int
) throws -> VenueHost {
  let inst = harnessInstrument
  var sym = VenueSymbol(name: inst.symbol, baseAsset: "BTC", quoteAsset: "USDT", instrument: inst)
  sym.minQty = 1
  sym.maxNumOrders = 0
  let engine = MatchingEngine(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
  engine.addSymbol(sym)
  let unit: Int128 = 1_000_000_000_000_000_000
  for account in fundedAccounts {
    engine.deposit(account: account, asset: "USDT", units: 1_000_000_000 * unit)
    engine.deposit(account: account, asset: "BTC", units: 100_000 * unit)
  }
  let host = try VenueHost(
    loop: loop, engine: engine,
    credentials: [VenueCredential(apiKey: apiKey, account: 1, hmacSecret: secret)],
    tls: TLSContext(server: certs.cert, keyFile: certs.key), faults: faults)
  host.rest.weightLimitOverride(weightLimitPerMinute)
  host.rest.orderLimitOverride(1_000_000)  // the harnesses test tracking; pacing has its own test
  return host
}
