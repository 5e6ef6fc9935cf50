import Testing
import Venue

@testable import needletail

@Suite struct VenueConfigTests {
  let env = ["NEEDLETAIL_VENUE_SECRET": "s3cret"]

  @Test func theEmbeddedExampleParses() throws {
    let c = try VenueConfig.parse(VenueConfig.example, file: "example", environment: env)
    #expect(
      c.port == 8443 && c.weightLimit == 6000 && c.weightWindowSeconds == 60 && c.ordersPer10Seconds == 100)
    #expect(c.symbols.map(\.name) == ["BTCUSDT"] && c.symbols[0].instrument.tickSize == 1)
    #expect(c.symbols[0].minNotional == 50_000_000)  // 5 USDT at scale 2 + 5 = 7
    #expect(c.accounts.first?.secret == "s3cret" && c.accounts.first?.balances.count == 2)
    #expect(c.synthetic?.startTicks == 6_000_000)
    #expect(
      c.faults.lostResponseAfterAccept == 0 && c.faults.force418 == 0 && c.faults.retryAfterSeconds == 1)
  }

  /// One listener for all three roles by default; a role given its own address gets its own
  /// listener, roles on the same address and port share one, and the certificate names them all.
  @Test func rolesOnTheirOwnListeners() throws {
    let sym = "symbols:\n  - {name: X, base: A, quote: B, tick_size: \"0.01\", lot_size: \"1\"}\n"
    let one = try VenueConfig.parse(sym, file: "v.yml", environment: [:])
    #expect(one.listeners == [VenueListener(host: "127.0.0.1", port: 8443)])
    #expect(one.certificateNames == ["127.0.0.1"])
    let split = try VenueConfig.parse(
      sym + """
        listen:
          port: 8443
          rest: {host: 127.0.0.2, port: 443, name: api.binance.com}
          ws_api: {host: 127.0.0.2, port: 443, name: ws-api.binance.com}
        """, file: "v.yml", environment: [:])
    #expect(
      split.listeners == [
        VenueListener(host: "127.0.0.2", port: 443, roles: [.rest, .wsAPI]),
        VenueListener(host: "127.0.0.1", port: 8443, roles: [.streams]),
      ])
    #expect(split.certificateNames == ["127.0.0.2", "127.0.0.1", "api.binance.com", "ws-api.binance.com"])
    #expect(throws: ConfigError.self) {
      try VenueConfig.parse(sym + "listen: {rest: {host: 127.0.0.2}}\n", file: "v.yml", environment: [:])
    }
    #expect(throws: ConfigError.self) {
      try VenueConfig.parse(sym + "listen: {streams: {port: 1, nmae: x}}\n", file: "v.yml", environment: [:])
    }
  }

  @Test func errorsNameTheKeyTheValueAndWhatIsAllowed() {
    func message(_ yaml: String, env: [String: String] = [:]) -> String {
      do {
        _ = try VenueConfig.parse(yaml, file: "v.yml", environment: env)
        return "accepted"
      } catch {
        return "\(error)"
      }
    }
    let sym = "symbols:\n  - {name: X, base: A, quote: B, tick_size: \"0.01\", lot_size: \"1\"}\n"
    #expect(
      message("colour: red\n" + sym)
        == "v.yml: colour: unknown key; allowed here: listen, data_dir, weight_limit, weight_window_seconds, orders_per_10_seconds, symbols, accounts, market, faults"
    )
    #expect(
      message(sym + "faults: {drop_user_event: 2}\n")
        == "v.yml: faults.drop_user_event: 2 is not allowed (a probability between 0 and 1)")
    #expect(
      message(sym + "listen: {port: 70000}\n")
        == "v.yml: listen.port: 70000 is out of range (allowed 0...65535)")
    #expect(
      message(sym + "faults: {retry_after_seconds: 0}\n")
        == "v.yml: faults.retry_after_seconds: 0 is out of range (allowed 1...3600)")
    #expect(message(sym + "weight_limit: lots\n") == "v.yml: weight_limit: 'lots' is not a whole number")
    #expect(message("symbols: []\n") == "v.yml: symbols: at least one symbol is required")
    #expect(
      message(sym + "accounts:\n  - {api_key: k, secret_env: MISSING_SECRET}\n").contains(
        "MISSING_SECRET is not set"))
    #expect(
      message(sym + "accounts:\n  - {api_key: k}\n")
        == "v.yml: accounts[0]: secret_env or secret_file is required")
    #expect(
      message("symbols:\n  - {name: X, base: A, quote: B, tick_size: \"abc\", lot_size: \"1\"}\n").contains(
        "tick_size"))
    // The secret's value never appears in an error.
    #expect(
      !message(
        sym + "accounts:\n  - {api_key: k, secret_env: S, balances: {USDT: \"-1\"}}\n",
        env: ["S": "topsecret"]
      ).contains("topsecret"))
  }
}
