import Engine
import FastBook
import Foundation
import Testing
import Venue
import Wire

/// A Venue in the test process (its loop pumped by the test) and the real `needletail` binary,
/// built beside this test bundle, started in a child process to trade it: accounts 1 (the
/// binary's, key and secret as given) and 9 (someone else), each with 1,000,000 USDT and 100 of
/// every base asset.
final class BinaryVenue {
  static var binary: String {
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
      "needletail"
    ).path
  }
  /// True (and the test records why) when the binary is not there to run.
  static func missing() -> Bool {
    if FileManager.default.isExecutableFile(atPath: binary) { return false }
    Issue.record("no needletail binary at \(binary): build it first (swift build --build-tests builds it)")
    return true
  }

  let dir: String
  let certs: (ca: String, cert: String, key: String)
  let loop: EventLoop
  let engine = MatchingEngine(clock: { Int64(Date().timeIntervalSince1970 * 1000) })
  let host: VenueHost
  let key: String
  let secret: String

  /// `symbols`: (name, base asset); `adjust` changes each before it is listed (fees, limits).
  init(
    symbols: [(String, String)] = [("BTCUSDT", "BTC")], key: String = "k1", secret: String = "s1",
    faults: FaultPlan? = nil, adjust: (inout VenueSymbol) -> Void = { _ in }
  ) throws {
    dir = FileManager.default.temporaryDirectory.appendingPathComponent("nt-bin-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    certs = try VenueHost.ensureCertificates(dataDir: dir + "/venue")
    loop = try EventLoop()
    self.key = key
    self.secret = secret
    let unit: Int128 = 1_000_000_000_000_000_000
    for (name, base) in symbols {
      var sym = VenueSymbol(
        name: name, baseAsset: base, quoteAsset: "USDT",
        instrument: Instrument(symbol: name, priceScale: 2, quantityScale: 5, tickSize: 1, lotSize: 1))
      sym.minQty = 1
      adjust(&sym)
      engine.addSymbol(sym)
      for account in [1, 9] { engine.deposit(account: account, asset: base, units: 100 * unit) }
    }
    for account in [1, 9] { engine.deposit(account: account, asset: "USDT", units: 1_000_000 * unit) }
    host = try VenueHost(
      loop: loop, engine: engine, credentials: [VenueCredential(apiKey: key, account: 1, hmacSecret: secret)],
      tls: TLSContext(server: certs.cert, keyFile: certs.key), faults: faults)
  }

  deinit {
    host.close()
    loop.shutdown()
  }

  /// Account 9 rests `lots` at each (symbol, side, ticks).
  func rest(_ orders: [(String, OrderSide, Int64)], lots: Int64 = 50_000) throws {
    for (symbol, side, ticks) in orders {
      var o = NewOrder(account: 9, symbol: symbol, side: side, type: .LIMIT)
      o.priceTicks = ticks
      o.quantity = lots
      _ = try engine.place(o)
    }
  }

  /// Account 9 trades `lots` at market into the book, told on the account stream as the venue does.
  func trade(_ side: OrderSide, lots: Int64, symbol: String = "BTCUSDT") throws {
    var o = NewOrder(account: 9, symbol: symbol, side: side, type: .MARKET)
    o.quantity = lots
    host.rest.notifyEvents(try engine.place(o).events)
  }

  /// A live run config for this venue (key and secret from NT_TEST_KEY / NT_TEST_SECRET) with
  /// `body` after the exchange line; returns its path.
  func config(_ body: String, name: String = "mm.yml") throws -> String {
    let path = dir + "/" + name
    try """
    mode: live
    exchange: {host: 127.0.0.1, port: \(host.port), server_name: localhost, ca_file: "\(certs.ca)", api_key_env: NT_TEST_KEY, secret_env: NT_TEST_SECRET}

    """.appending(body).write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// Starts the binary with `args`, the key and secret in its environment, stdout and stderr into
  /// `output`;
  /// `override` replaces any of those variables (a wrong secret, another key).
  func start(_ args: [String], output: Pipe, override: [String: String] = [:]) throws -> Process {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Self.binary)
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    env["NT_TEST_KEY"] = key
    env["NT_TEST_SECRET"] = secret
    env.merge(override) { $1 }
    p.environment = env
    p.standardOutput = output
    p.standardError = output
    try p.run()
    return p
  }

  /// Pumps the venue until the binary exits (killed after `timeoutNs`); its status and output.
  func finish(_ p: Process, output: Pipe, timeoutNs: Int64 = 60_000_000_000) -> (status: Int32, text: String)
  {
    loop.run(timeoutNs: timeoutNs) { !p.isRunning }
    if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    p.waitUntilExit()
    return (
      p.terminationStatus, String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    )
  }
}

/// Runs `executable` with `arguments` to its end, this process's environment with `environment`
/// over it; its exit status and its standard output and error together.
func runToEnd(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> (
  status: Int32, output: String
) {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: executable)
  p.arguments = arguments
  p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  let out = Pipe()
  p.standardOutput = out
  p.standardError = out
  try p.run()
  let text = out.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  return (p.terminationStatus, String(decoding: text, as: UTF8.self))
}
