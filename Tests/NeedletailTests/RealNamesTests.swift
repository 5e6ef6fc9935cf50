import Engine
import Foundation
import Persistence
import TestSupport
import Testing

/// A network namespace of the test's own: only its loopback, and a hosts file (iproute2 bind-mounts
/// `/etc/netns/<name>/hosts` over `/etc/hosts` for what runs under `ip netns exec`). Nothing run
/// in it can reach another address. Removed when released.
final class NetworkNamespace {
  static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }
  /// Root and iproute2: what creating a namespace needs.
  static var usable: Bool { getuid() == 0 && ip != nil }

  let name: String
  init(hosts: [(address: String, name: String)]) throws {
    name = "nt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try Self.run(["netns", "add", name])
    let dir = "/etc/netns/\(name)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try ("127.0.0.1 localhost\n" + hosts.map { "\($0.address) \($0.name)\n" }.joined())
      .write(toFile: dir + "/hosts", atomically: true, encoding: .utf8)
    try Self.run(["netns", "exec", name, "ip", "link", "set", "lo", "up"])
  }

  deinit {
    try? Self.run(["netns", "del", name])
    try? FileManager.default.removeItem(atPath: "/etc/netns/\(name)")
  }

  /// `command` run inside the namespace, output kept.
  func start(_ command: [String], environment: [String: String] = [:]) throws -> PeerProcess {
    try PeerProcess(Self.ip!, ["netns", "exec", name] + command, environment: environment)
  }

  static func run(_ args: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: ip!)
    p.arguments = args
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
      throw ValidationFailure("ip \(args.joined(separator: " ")) exited \(p.terminationStatus)")
    }
  }
}

struct ValidationFailure: Error, CustomStringConvertible {
  var description: String
  init(_ d: String) { description = d }
}

/// `needletail run` on Binance's own host names and its unchanged profile (only a CA file added),
/// against the venue serving each service on its own address and port, as Binance does, inside a
/// namespace whose hosts file sends those names to loopback addresses: it connects to the three
/// hosts, quotes, is filled, cancels, is killed with orders working, and a second run on the same
/// history reconciles them; then ccxt, on its own unchanged Binance host names, reads the same
/// account and finds the history's trades, no order left open and the balances the run printed.
@Suite(.serialized) struct RealNamesTests {
  /// The hosts and ports of each profile, from Binance's documentation (not from our constants).
  static let profiles: [String: [(role: String, name: String, port: Int)]] = [
    "mainnet": [
      ("rest", "api.binance.com", 443), ("streams", "stream.binance.com", 9443),
      ("ws_api", "ws-api.binance.com", 443),
    ],
    "testnet": [
      ("rest", "testnet.binance.vision", 443), ("streams", "stream.testnet.binance.vision", 9443),
      ("ws_api", "ws-api.testnet.binance.vision", 443),
    ],
  ]

  @Test(
    .enabled(if: NetworkNamespace.usable, "needs root and iproute2 to create a network namespace"),
    arguments: ["mainnet", "testnet"])
  func theUnchangedProfileTradesBinancesNamesInANamespace(profile: String) throws {
    if BinaryVenue.missing() { return }
    let services = try #require(Self.profiles[profile])
    let ns = try NetworkNamespace(
      hosts: services.enumerated().map { (address: "127.0.0.\($0.offset + 2)", name: $0.element.name) })
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nt-names-\(UUID().uuidString)")
      .path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (key, secret) = ("nt-names-key", "nt-names-secret-\(UInt32.random(in: 0...UInt32.max))")
    let env = ["NT_NAMES_KEY": key, "NT_NAMES_SECRET": secret]

    // The venue: each service on its own address and port, a certificate naming each host.
    let listen = services.enumerated().map {
      "  \($0.element.role): {host: 127.0.0.\($0.offset + 2), port: \($0.element.port), name: \($0.element.name)}"
    }.joined(separator: "\n")
    try """
    listen:
    \(listen)
    data_dir: \(dir)/venue
    symbols:
      - {name: BTCUSDT, base: BTC, quote: USDT, tick_size: "0.01", lot_size: "0.00001", min_notional: "5"}
    accounts:
      - {api_key: \(key), secret_env: NT_NAMES_SECRET, balances: {USDT: "100000", BTC: "1"}}
    market:
      synthetic: {seed: 7, start_price: "60000", volatility_ticks_per_second: 40, market_rate: 80}
    """.write(toFile: dir + "/venue.yml", atomically: true, encoding: .utf8)
    let venue = try ns.start(
      [BinaryVenue.binary, "venue", "--config", dir + "/venue.yml", "--duration", "150"], environment: env)
    defer { venue.stop() }
    #expect(venue.waitForLine("symbols: ") != nil, "the venue did not start: \(venue.text)")
    for (i, s) in services.enumerated() {
      #expect(
        venue.text.contains("venue listening on https://127.0.0.\(i + 2):\(s.port) (\(s.name))"),
        "\(s.role) is not on its own listener: \(venue.text)")
    }

    // The run config: the profile as a user writes it, only the CA file added.
    let profileKey = profile == "mainnet" ? "" : "profile: \(profile), "
    let config = dir + "/mm.yml"
    try """
    mode: live
    exchange: {name: binance, \(profileKey)ca_file: "\(dir)/venue/ca.pem", api_key_env: NT_NAMES_KEY, secret_env: NT_NAMES_SECRET}
    market: BTCUSDT
    clock_tick: 0.2
    duration: 0
    status_every: 60
    strategy: pure_market_making
    pure_market_making: {bid_spread: 0.001, ask_spread: 0.001, order_amount: "0.01", order_refresh_time: 1, filled_order_delay: 1}
    """.write(toFile: config, atomically: true, encoding: .utf8)
    let db = dir + "/history.sqlite"

    // Run 1: until it has been filled and has cancelled, then SIGKILL with its quotes working.
    let run1 = try ns.start([BinaryVenue.binary, "run", config, "--db", db], environment: env)
    let reader = try TradeStore(path: db)
    let end = Date().addingTimeInterval(60)
    func progress() -> (fills: Int, cancelled: Int, working: Int) {
      let orders = (try? reader.orders(symbol: "BTCUSDT")) ?? []
      return (
        (try? reader.fills(symbol: "BTCUSDT").count) ?? 0, orders.filter { $0.state == .cancelled }.count,
        orders.filter { $0.state == .open || $0.state == .partiallyFilled }.count
      )
    }
    while Date() < end && run1.process.isRunning {
      let p = progress()
      if p.fills >= 1 && p.cancelled >= 1 && p.working >= 1 { break }
      Thread.sleep(forTimeInterval: 0.1)
    }
    let before = progress()
    #expect(run1.process.isRunning, "run 1 stopped: \(run1.text)")
    #expect(
      before.fills >= 1 && before.cancelled >= 1 && before.working >= 1,
      "run 1 in 60 s: \(before.fills) fills, \(before.cancelled) cancelled, \(before.working) working; \(run1.text)"
    )
    #expect(run1.text.contains("binance spot at \(services[0].name):443"), "\(run1.text)")
    kill(run1.process.processIdentifier, SIGKILL)
    run1.stop()

    // Run 2 on the same history: settles what run 1 left working, trades a little, stops flat.
    let run2 = try ns.start(
      [BinaryVenue.binary, "run", config, "--db", db, "--duration", "3"], environment: env)
    let deadline = Date().addingTimeInterval(60)
    while run2.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
    let out2 = run2.text
    run2.stop()
    #expect(run2.process.terminationStatus == 0, "run 2: \(out2)")
    #expect(out2.contains("history \(db):"), "run 2 said nothing of run 1's orders: \(out2)")
    let orders = try reader.orders(symbol: "BTCUSDT")
    #expect(
      orders.allSatisfy { [.filled, .cancelled, .failed].contains($0.state) },
      "left unsettled: \(orders.filter { ![.filled, .cancelled, .failed].contains($0.state) })")

    // ccxt on its own Binance names reads the account: the history's trades, nothing open, the
    // balances run 2 ended with.
    let peer = try ns.start(
      [
        pythonPath(),
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().path + "/Peers/ccxt_account.py",
        profile, dir + "/venue/ca.pem", key, secret, "BTC/USDT",
      ])
    let until = Date().addingTimeInterval(60)
    while peer.process.isRunning && Date() < until { Thread.sleep(forTimeInterval: 0.05) }
    peer.stop()
    let line = peer.text.split(separator: "\n").last.map(String.init) ?? ""
    let answer = try #require(
      try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "ccxt: \(peer.text)")
    #expect(answer["error"] == nil, "ccxt: \(peer.text)")
    #expect((answer["hosts"] as? [String])?.contains(services[0].name) == true, "ccxt's hosts: \(line)")
    func number(_ s: Any?) -> Decimal { Decimal(string: "\(s ?? "")") ?? .nan }
    let theirs = ((answer["trades"] as? [[String: Any]]) ?? []).map {
      "\($0["id"] ?? "") \($0["side"] ?? "") \(number($0["price"])) \(number($0["qty"]))"
    }.sorted()
    let run = try #require(try reader.runs().first)
    let ours = try reader.fills(symbol: "BTCUSDT").map {
      "\($0.tradeID) \($0.side == .buy ? "buy" : "sell") \(Decimal($0.price) / pow(10, run.priceScale)) \(Decimal($0.quantity) / pow(10, run.quantityScale))"
    }.sorted()
    #expect(!ours.isEmpty && theirs == ours, "venue trades \(theirs), history fills \(ours)")
    #expect(answer["open_orders"] as? Int == 0, "orders left open: \(line)")
    // "inventory: BTC 1.00000 → 1.00070, USDT 100000.00 → 99957.40": printed at 5 and 2 decimals.
    let inventory = try #require(out2.split(separator: "\n").first { $0.hasPrefix("inventory: ") })
    let after = inventory.split(separator: ",").map { $0.split(separator: " ").last.map(String.init) ?? "" }
    let balance = answer["balance"] as? [String: Double] ?? [:]
    #expect(
      after.count == 2 && abs((Double(after[0]) ?? -1) - (balance["BTC"] ?? -2)) < 1e-5
        && abs((Double(after[1]) ?? -1) - (balance["USDT"] ?? -2)) < 0.01,
      "run 2 ended with \(inventory); ccxt reads \(balance)")
  }
}
