import CPlatform
import Foundation
import Wire

/// Everything the venue serves, on one event loop: REST, market streams and the WebSocket API
/// behind one HTTPS listener, with the outside market moving.
public final class VenueHost {
  public let loop: EventLoop
  public let engine: MatchingEngine
  public let rest: VenueREST
  public let streams: VenueStreams
  public let api: VenueWSAPI
  public let server: HTTPServer
  public let market: SyntheticMarket?
  public var port: UInt16 { server.port }

  public init(
    loop: EventLoop, engine: MatchingEngine, credentials: [VenueCredential], tls: TLSContext,
    port: UInt16 = 0,
    market: SyntheticMarket.Parameters? = nil, faults: FaultPlan? = nil
  ) throws(WireError) {
    self.loop = loop
    self.engine = engine
    rest = VenueREST(
      engine: engine, credentials: credentials, clockMs: { Int64(Date().timeIntervalSince1970 * 1000) })
    if let faults { rest.faults = FaultInjector(faults) }
    streams = VenueStreams(loop: loop, engine: engine)
    api = VenueWSAPI(rest: rest)
    server = try HTTPServer(loop: loop, port: port, tls: tls) { _, _ in (HTTPResponseHead(status: 500), []) }
    let rest = self.rest
    let streams = self.streams
    let api = self.api
    server.deferredHandler = { [unowned loop] in rest.handleWithFaults(loop: loop, $0, $1, $2) }
    server.onUpgrade = { streams.accept($0, $1) || api.accept($0, $1) }
    // Fills of our orders by the outside market (a replayed capture's) reach the account streams.
    engine.onMarketFill = { [unowned rest] in rest.notifyEvents([$0]) }
    if let p = market, let sym = engine.symbols.keys.sorted().first {
      let m = SyntheticMarket(engine: engine, symbol: sym, parameters: p)
      m.onEvents = { [unowned rest] in rest.notifyEvents($0) }
      self.market = m
      func tick() {
        m.step(seconds: 0.01)
        loop.schedule(after: 10_000_000) { tick() }
      }
      tick()
    } else {
      self.market = nil
    }
  }

  /// Writes a local CA and a certificate for localhost/127.0.0.1 into `dataDir` unless they are
  /// there (openssl CLI); returns (ca, certificate, key) paths.
  public static func ensureCertificates(dataDir: String) throws -> (ca: String, cert: String, key: String) {
    let fm = FileManager.default
    try fm.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
    let ca = dataDir + "/ca.pem"
    let cert = dataDir + "/server.pem"
    let key = dataDir + "/server.key"
    if fm.fileExists(atPath: cert) && fm.fileExists(atPath: key) && fm.fileExists(atPath: ca) {
      return (ca, cert, key)
    }
    let script = """
      set -e
      umask 077
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 825 -subj "/CN=Needletail local venue CA" 2>/dev/null
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj "/CN=localhost" 2>/dev/null
      printf "subjectAltName=DNS:localhost,IP:127.0.0.1\\n" > san.ext
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
    return (ca, cert, key)
  }
}
