import Engine
import FastBook
import Wire

// The venue boundary's wire side (DESIGN.md): what a venue's connector gives the trading node.
// Everything venue-specific — hosts, signing, message formats, sequence rules, listen keys — stays
// behind these; the node sees book events and trades going into its book ring, `WireOrder`s it
// hands over, and `ExecEvent`s coming back through its exec ring.

/// A venue's public market data for one instrument: book events and public trades into the
/// node's book sink, in the order the venue sent them, rebuilt from a snapshot after any gap.
public protocol MarketDataFeed: AnyObject {
  func start()
  func stop()
  /// A snapshot joined the diff stream, and nothing has broken the chain since.
  var isSynced: Bool { get }
  /// The stream's connection (counters and last error for the operator).
  var connection: ReconnectingWebSocket { get }
  var problems: ProblemLog { get }
}

/// A venue's order entry: `WireOrder`s in (place, cancel, and the reconciliation's status queries,
/// which it hands to its reconciler), `ExecEvent`s out through the exec ring — or, when it cannot
/// send, an immediate refusal through the ring (the order's outcome is then known: never sent).
/// Honours the venue's rate limits: nothing goes out during a Retry-After; a ban halts new orders
/// until `resumeTrading()`.
public protocol OrderEntry: AnyObject {
  func start()
  func stop()
  var isOpen: Bool { get }
  @discardableResult func send(_ o: WireOrder) -> Bool
  /// Called every wire-loop turn: answers overdue at `now` become unknown outcomes.
  func poll(now: Int64)
  /// Requests sent and not answered yet (the reconciler's included).
  var pendingRequests: Int { get }
  var canSend: Bool { get }
  var canPlace: Bool { get }
  var haltReason: String? { get }
  func resumeTrading()
  var connection: ReconnectingWebSocket { get }
  var problems: ProblemLog { get }
  /// Where each order sent is stamped (its stages, the send), on the wire thread; nil: nowhere.
  var latency: LatencyLog? { get set }
}

/// A venue's account events (order updates, fills, balances) into the exec ring. Anything that may
/// have been missed — an unreadable event, a resubscription after a drop — is told through
/// `onStateInDoubt`, and the node reconciles.
public protocol AccountStream: AnyObject {
  func start()
  func stop()
  var isSubscribed: Bool { get }
  /// Called on the wire loop each time the stream (re)subscribes.
  var onSubscribed: (() -> Void)? { get set }
  var onStateInDoubt: (() -> Void)? { get set }
  /// The venue's last refusal of a subscription, as it said it, and how many there were.
  var lastRefusal: String? { get }
  var refusals: Int { get }
  var connection: ReconnectingWebSocket { get }
  var problems: ProblemLog { get }
}

/// The rings and time a venue adapter is built on (the node's).
public struct VenueWiring {
  public let loop: EventLoop
  public let instrument: Instrument
  /// Where book events and trades go (the runtime's book ring; in paper mode through the paper
  /// exchange's tap).
  public let bookSink: PaperBookSink<RingBookSink>
  public let execOut: SPSCRing<ExecEvent>
  /// How the host spells client order ids (tag ↔ bytes): the order entry writes and reads ids
  /// with it and nothing else.
  public let clientIDs: ClientIDCodec
  public let time: any TimeSource
}

/// One venue's connector for one instrument, as the trading node uses it.
public protocol VenueAdapter: VenueAccountQueries {
  associatedtype Feed: MarketDataFeed
  associatedtype Entry: OrderEntry
  associatedtype Account: AccountStream
  var feed: Feed { get }
  var entry: Entry { get }
  var account: Account { get }
  /// The IP's (or account's) request budget, shared by every client of the adapter.
  var limiter: RateLimiter { get }
  /// Every part's bad-input counters and log hook.
  var problemLogs: [ProblemLog] { get }
  /// The venue's client-id codec for ids starting with `prefix`; throws when the venue would
  /// refuse such ids (a character it does not allow, too long with a 20-digit tag).
  static func clientIDs(prefix: String) throws -> ClientIDCodec
}
