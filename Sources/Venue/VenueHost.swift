import CPlatform
import Foundation
import Wire

/// What one listener of the venue serves. Binance spot splits them over three hosts
/// (`api.binance.com`, `stream.binance.com:9443`, `ws-api.binance.com`); a local venue can serve
/// all three on one port, or each on its own address and port like the real exchange.
public enum VenueRole: String, Sendable, CaseIterable {
  /// `/api/v3/...` over HTTPS.
  case rest
  /// Market streams: `/ws/<stream>` and `/stream?streams=...`.
  case streams
  /// The WebSocket API: `/ws-api/v3`.
  case wsAPI = "ws_api"
}

/// One address the venue listens on and the roles it answers there. A request for another role's
/// path gets what the real exchange's other hosts give it: 404 (REST) or a refused upgrade.
public struct VenueListener: Sendable, Equatable {
  public var host: String
  public var port: UInt16
  public var roles: Set<VenueRole>
  public init(host: String = "127.0.0.1", port: UInt16 = 0, roles: Set<VenueRole> = Set(VenueRole.allCases)) {
    self.host = host
    self.port = port
    self.roles = roles
  }
}

/// Everything the venue serves, on one event loop: REST, market streams and the WebSocket API,
/// behind one HTTPS listener or one per role, with the outside market moving.
public final class VenueHost {
  public let loop: EventLoop
  public let engine: MatchingEngine
  public let rest: VenueREST
  public let streams: VenueStreams
  public let api: VenueWSAPI
  /// One server per listener, in the order given.
  public let servers: [HTTPServer]
  public let listeners: [VenueListener]
  public let market: SyntheticMarket?
  /// The first listener's server (the only one for a venue on one port).
  public var server: HTTPServer { servers[0] }
  public var port: UInt16 { servers[0].port }
  /// Requests (upgrades included) refused because they asked a listener for a role it does not serve.
  public private(set) var wrongRole = 0

  /// The port that serves `role` (the first listener with it).
  public func port(for role: VenueRole) -> UInt16? {
    zip(listeners, servers).first { $0.0.roles.contains(role) }?.1.port
  }

  /// All three roles on one port of 127.0.0.1.
  public convenience init(
    loop: EventLoop, engine: MatchingEngine, credentials: [VenueCredential], tls: TLSContext,
    port: UInt16 = 0,
    market: SyntheticMarket.Parameters? = nil, faults: FaultPlan? = nil
  ) throws(WireError) {
    try self.init(
      loop: loop, engine: engine, credentials: credentials, tls: tls, listeners: [VenueListener(port: port)],
      market: market, faults: faults)
  }

  public init(
    loop: EventLoop, engine: MatchingEngine, credentials: [VenueCredential], tls: TLSContext,
    listeners: [VenueListener],
    market: SyntheticMarket.Parameters? = nil, faults: FaultPlan? = nil
  ) throws(WireError) {
    precondition(!listeners.isEmpty, "a venue needs at least one listener")
    self.loop = loop
    self.engine = engine
    self.listeners = listeners
    rest = VenueREST(
      engine: engine, credentials: credentials, clockMs: { Int64(Date().timeIntervalSince1970 * 1000) })
    if let faults { rest.faults = FaultInjector(faults) }
    streams = VenueStreams(loop: loop, engine: engine)
    api = VenueWSAPI(rest: rest)
    var servers: [HTTPServer] = []
    for l in listeners {
      let s = try HTTPServer(loop: loop, host: l.host, port: l.port, tls: tls) { _, _ in
        (HTTPResponseHead(status: 500), [])
      }
      servers.append(s)
    }
    self.servers = servers
    if let p = market, let sym = engine.symbols.keys.sorted().first {
      self.market = SyntheticMarket(engine: engine, symbol: sym, parameters: p)
    } else {
      self.market = nil
    }
    for (l, server) in zip(listeners, servers) { route(server, roles: l.roles) }
    // Fills of our orders by the outside market (a replayed capture's) reach the account streams.
    engine.onMarketFill = { [unowned rest] in rest.notifyEvents([$0]) }
    if let m = self.market {
      m.onEvents = { [unowned rest] in rest.notifyEvents($0) }
      func tick() {
        m.step(seconds: 0.01)
        loop.schedule(after: 10_000_000) { tick() }
      }
      tick()
    }
  }

  /// Stops listening and closes every connection, on every listener.
  public func close() {
    for s in servers { s.close() }
  }

  private func route(_ server: HTTPServer, roles: Set<VenueRole>) {
    let (rest, streams, api, loop) = (self.rest, self.streams, self.api, self.loop)
    server.deferredHandler = { [unowned self, unowned loop] head, body, respond in
      guard roles.contains(.rest) else {
        self.wrongRole += 1
        respond(
          (
            HTTPResponseHead(
              status: 404, headers: HTTPHeaders([("Content-Type", "application/json;charset=UTF-8")])),
            Array(#"{"code":-1000,"msg":"Unknown path: this host does not serve the REST API."}"#.utf8)
          ))
        return
      }
      rest.handleWithFaults(loop: loop, head, body, respond)
    }
    // A refused upgrade is answered (and counted) by the request handler above.
    server.onUpgrade = { stream, head in
      (roles.contains(.streams) && streams.accept(stream, head))
        || (roles.contains(.wsAPI) && api.accept(stream, head))
    }
  }

  /// Writes a local CA and a server certificate into `dataDir` (openssl CLI) and returns their
  /// (ca, certificate, key) paths. The certificate names localhost, 127.0.0.1 and each of `names`
  /// (host names or IP addresses: the real exchange's names when a network namespace maps them
  /// here). What is there is kept: the CA always (clients already trust it), the certificate when
  /// it names the same hosts; otherwise a new certificate is signed by that CA.
  public static func ensureCertificates(dataDir: String, names: [String] = []) throws -> (
    ca: String, cert: String, key: String
  ) {
    let fm = FileManager.default
    try fm.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
    let ca = dataDir + "/ca.pem"
    let cert = dataDir + "/server.pem"
    let key = dataDir + "/server.key"
    let namesFile = dataDir + "/server.names"
    var all = ["localhost", "127.0.0.1"]
    for n in names where !all.contains(n) { all.append(n) }
    for n in all where n.isEmpty || !n.allSatisfy({ $0.isLetter || $0.isNumber || "-.:".contains($0) }) {
      throw WireError.tls("'\(n)' is not a host name or IP address for the venue's certificate")
    }
    let listed = all.joined(separator: "\n") + "\n"
    // A certificate from before names were recorded names the default two.
    let had =
      (try? String(contentsOfFile: namesFile, encoding: .utf8)) ?? (names.isEmpty ? listed : "")
    let haveCA = fm.fileExists(atPath: ca) && fm.fileExists(atPath: dataDir + "/ca.key")
    if fm.fileExists(atPath: cert) && fm.fileExists(atPath: key) && fm.fileExists(atPath: ca) && had == listed
    {
      return (ca, cert, key)
    }
    let san = all.map { n in
      n.allSatisfy({ $0.isNumber || $0 == "." }) || n.contains(":") ? "IP:\(n)" : "DNS:\(n)"
    }.joined(separator: ",")
    let makeCA =
      haveCA
      ? ""
      : """
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 825 -subj "/CN=Needletail local venue CA" 2>/dev/null
      """
    let script = """
      set -e
      umask 077
      \(makeCA)
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj "/CN=\(all.count > 2 ? all[2] : "localhost")" 2>/dev/null
      printf "subjectAltName=\(san)\\n" > san.ext
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 825 -extfile san.ext 2>/dev/null
      rm -f server.csr san.ext
      """
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", script]
    p.currentDirectoryURL = URL(fileURLWithPath: dataDir)
    try p.run()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else {
      throw WireError.tls("could not create certificates in \(dataDir) (is the openssl command installed?)")
    }
    try listed.write(toFile: namesFile, atomically: true, encoding: .utf8)
    return (ca, cert, key)
  }
}
